// KubeTaskStore: store::Store (the reconciler's record of tasks) over the
// Kubernetes API, so the one TaskReconciler serves both backends. The record
// is the ContainerTask object itself; its full log is a ConfigMap owned by
// the task.
//
// Contract, as store.h's, in API terms:
//  - Get and List read the task informer's cache (slim.h keeps spec, status,
//    annotations, finalizers), never the API server. Right after a Put the
//    cache may not show it yet; while it shows a version a Put replaced —
//    the one it started from, or the one between its metadata patch and its
//    status write — Get returns what Put wrote (own_writes.h), so the next
//    reconcile neither decides again from the older status nor writes with
//    a stale resourceVersion.
//  - Put writes what changed, conditioned on the record's resourceVersion
//    (a stale one is kConflict: the reconcile is retried from the cache):
//    metadata (ctask's annotations, and the finalizer kFinalizer, added by
//    the first Put that says the task is Running — from then on its
//    container has a log that a deletion must let it archive first; a task
//    whose first status is already its end has its log archived, and saves
//    the API server the write) by a JSON merge patch, then the status
//    through the status subresource. Spec and labels are the user's: never
//    written.
//  - Delete removes the finalizer, then deletes the task (if it is not being
//    deleted already); the garbage collector removes what it owns (Jobs,
//    the log ConfigMap, the NetworkPolicy). Gone is success.
//  - OpenLog buffers an attempt's output (at most limit_bytes, then the
//    truncation marker) and writes it at Close into the ConfigMap
//    LogConfigMapName(task), controlled by the task: key "log" in data when
//    the bytes are UTF-8, in binaryData otherwise. Close is where the
//    archive becomes durable; the reconciler marks the task finished only
//    after it. A ConfigMap of that name not controlled by the task is never
//    overwritten: Close fails naming it.
//  - ReadLog reads the ConfigMap from the API server (`ctask logs`).
//
// Thread-safety: as store.h.
#pragma once

#include <string>

#include "backends/kubernetes/own_writes.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "store/store.h"

namespace ctask::backends {

// Keeps a deleted task until its log is archived and its Jobs are gone.
inline constexpr const char* kFinalizer = "ctask.io/archive-log";

// "<task>-log", the task's log ConfigMap.
std::string LogConfigMapName(std::string_view task_name);
// "<task>-log-i<item>", item `item`'s log ConfigMap (a fan-out task), and
// "<task>-results", its results document (key results.json). A task's own
// log ConfigMap ends in "-log", so none of these is another's.
std::string ItemLogConfigMapName(std::string_view task_name, int32_t item);
std::string ResultsConfigMapName(std::string_view task_name);

// The largest archive a ConfigMap carries (the API server's object limit is
// 1 MiB with metadata); spec.logs.archiveLimitBytes is capped at 1,000,000.
inline constexpr int64_t kMaxConfigMapLogBytes = 1'000'000;

class KubeTaskStore : public store::Store {
 public:
  // `client` and `tasks` (the ContainerTask informer) must outlive the store.
  KubeTaskStore(kube::KubeClient& client, const kube::Informer& tasks);

  Status Put(const api::ContainerTask& task) override;
  Result<api::ContainerTask> Get(std::string_view ns, std::string_view name) override;
  Result<std::vector<store::ListEntry>> List() override;
  // One cached object decoded at a time (List copies the whole cache).
  Status ForEach(const std::function<void(store::ListEntry)>& visit) override;
  Status Delete(std::string_view ns, std::string_view name) override;
  Result<store::LogWriterPtr> OpenLog(std::string_view ns, std::string_view name, int64_t limit_bytes) override;
  Result<std::string> ReadLog(std::string_view ns, std::string_view name, uint64_t offset) override;
  Result<store::LogWriterPtr> OpenItemLog(std::string_view ns, std::string_view name, int32_t item,
                                          int64_t limit_bytes) override;
  Result<std::string> ReadItemLog(std::string_view ns, std::string_view name, int32_t item, uint64_t offset) override;
  Result<store::LogSummary> PutResults(const api::ContainerTask& task, std::string_view document) override;
  Result<std::string> ReadResults(std::string_view ns, std::string_view name) override;
  Status PutInputs(const api::ContainerTask& task, const std::map<std::string, std::string>& files) override;

  // Every Delta of the task informer (the backend passes them on): a write
  // of ours the cache now shows is forgotten, so a task written once and
  // not read again (a settled one) does not keep its copy for ever.
  void Observed(const kube::Delta& delta);

 private:
  // The task as Get sees it: the cache's object, unless the cache still
  // shows a version a Put of ours replaced.
  std::optional<api::Json> Current(const std::string& key);

  kube::KubeClient& client_;
  const kube::Informer& tasks_;
  OwnWrites written_;  // by "namespace/name"
};

// A store::TaskReader straight over the API server, for commands that look
// once (`ctask logs`): Get reads the task, ReadLog its log ConfigMap, List
// lists the namespace's tasks. It has no way to write.
class ApiTaskReader : public store::TaskReader {
 public:
  explicit ApiTaskReader(kube::KubeClient& client, std::string ns) : client_(client), ns_(std::move(ns)) {}

  Result<api::ContainerTask> Get(std::string_view ns, std::string_view name) override;
  Result<std::vector<store::ListEntry>> List() override;
  Result<std::string> ReadLog(std::string_view ns, std::string_view name, uint64_t offset) override;
  Result<std::string> ReadItemLog(std::string_view ns, std::string_view name, int32_t item, uint64_t offset) override;
  Result<std::string> ReadResults(std::string_view ns, std::string_view name) override;

 private:
  kube::KubeClient& client_;
  const std::string ns_;
};

// The task's archived log from its ConfigMap, from byte `offset` on;
// kNotFound while there is none.
Result<std::string> ReadLogConfigMap(kube::KubeClient& client, std::string_view ns, std::string_view task_name,
                                     uint64_t offset);

}  // namespace ctask::backends
