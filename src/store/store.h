// Store: where the reconciler reads and writes ContainerTasks, for both
// backends: the state directory of the Docker backend (FileStore), the API
// server for the Kubernetes backend (backends/kubernetes/task_store.h), and
// in tests the in-memory fake (tests/fakes/memory_store.h). For each task it
// keeps the task itself (metadata, spec and status, as the API would return
// it) and the full log of its latest attempt run (the artifact
// status.artifacts.log points at).
//
// Contract:
//  - Tasks are keyed by (namespace, name). Both must be DNS-1123 labels; any
//    other key is refused with kInvalidArgument before it touches storage, so
//    a key can never name something outside the store.
//  - Put replaces the whole record atomically: a reader, or the next process
//    after a crash, sees the old record or the new one, never a mix.
//  - Optimistic concurrency, as the API server's: every Put stores
//    metadata.resourceVersion as the stored one plus one. A Put whose
//    resourceVersion is set and differs from the stored record's is refused
//    with kConflict (re-read, then retry); an empty one replaces
//    unconditionally (a create, or a forced replace).
//  - Get of an absent task is kNotFound. A record that cannot be read back
//    (corrupted on disk, edited by hand) is kInternal, and the message names
//    where it lives so a user can inspect or remove it.
//  - List returns every task sorted by namespace, then name. A record that
//    cannot be read is an entry carrying its error: one bad record never
//    hides the others, and never fails the whole listing.
//  - Delete removes the record and its log; deleting an absent task succeeds,
//    so a reconcile that deletes twice is harmless.
//  - OpenLog starts a new log artifact for a task, replacing the previous
//    one: the artifact is the log of the latest attempt run. The log is
//    written as it arrives, so ReadLog sees it grow (`ctask logs --follow`
//    polls ReadLog with the offset it has reached).
//  - Nothing throws; every failure is a Result error.
//
// Thread-safety: a Store may be used from several threads at once. Calls on
// different tasks are independent; concurrent Puts of the same task leave one
// of them whole. A LogWriter belongs to one thread (the one copying the
// attempt's output), while other threads may ReadLog the same task.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "util/error.h"

namespace ctask::store {

// What a finished log artifact holds: the values for status.artifacts.log.
struct LogSummary {
  std::string kind = "File";  // status.artifacts.log.kind: File (FileStore) or ConfigMap
  std::string location;       // where the artifact lives (the file's path, the ConfigMap's name)
  int64_t size_bytes = 0;     // the artifact's size, truncation marker included
  std::string sha256;         // hex SHA-256 of the artifact's bytes, marker included
  bool truncated = false;     // output beyond the limit was dropped
  int64_t dropped_bytes = 0;
};

// Writes one attempt run's output into the task's log artifact, keeping at
// most `limit_bytes` of it (spec.logs.archiveLimitBytes). Output beyond the
// limit is dropped and counted; Close() then appends the marker line
//   "\n[ctask: log truncated: <N> bytes dropped]\n"
// (kTruncationMarkerFormat) so that anyone reading the artifact knows it was
// cut and by how much. The marker is outside the limit: a truncated artifact
// is limit_bytes plus the marker long.
//
// Destroying a writer without Close() closes the file as it is, without a
// marker or a final sync, as a crash would leave it.
//
// Thread-safety: not synchronised; one thread writes.
class LogWriter {
 public:
  virtual ~LogWriter() = default;

  // Writes `bytes` through to the artifact (up to the limit). An I/O error
  // (disk full, ...) is returned and the writer stays usable.
  virtual Status Append(std::string_view bytes) = 0;

  // Appends the truncation marker when output was dropped, makes the
  // artifact durable and says what it holds. The writer is finished after
  // Close, whatever it returns; a second Close or a later Append is
  // kFailedPrecondition.
  virtual Result<LogSummary> Close() = 0;
};
using LogWriterPtr = std::unique_ptr<LogWriter>;

// printf-style with one %lld: the marker Close() appends to a cut log.
inline constexpr const char* kTruncationMarkerFormat = "\n[ctask: log truncated: %lld bytes dropped]\n";
std::string TruncationMarker(int64_t dropped_bytes);

// The Store contract's key check: namespace and name must be DNS-1123
// labels, which rules out "", ".", "..", "/" and anything else that could
// name something outside a store. kInvalidArgument naming the field.
Status ValidateTaskKey(std::string_view ns, std::string_view name);

// One task of a List: either the task or why its record cannot be read.
struct ListEntry {
  std::string namespace_;
  std::string name;
  std::string location;  // where the record lives, for messages
  Result<api::ContainerTask> task;
};

// The read half of a Store, for commands that only look (`ctask get`,
// `ctask logs`): implemented by every Store, and by readers that can never
// write (the Kubernetes backend's ApiTaskReader).
class TaskReader {
 public:
  virtual ~TaskReader() = default;

  virtual Result<api::ContainerTask> Get(std::string_view ns, std::string_view name) = 0;

  // Every stored task, sorted by (namespace, name). An error result means the
  // store itself could not be read; unreadable records are entries.
  virtual Result<std::vector<ListEntry>> List() = 0;

  // List's entries handed to `visit` one at a time, in List's order; a
  // reader that can decode them one by one (the Kubernetes backend's,
  // from its informer) never holds them all at once. An error: as List's.
  virtual Status ForEach(const std::function<void(ListEntry)>& visit) {
    Result<std::vector<ListEntry>> all = List();
    if (!all) return std::unexpected(all.error());
    for (ListEntry& entry : *all) visit(std::move(entry));
    return {};
  }

  // The task's log artifact from byte `offset` to its current end, or to an
  // implementation's bound per call (FileStore: 16 MiB; artifacts are far
  // smaller) after which the caller asks again from where it got to. Empty
  // when offset is at or past the end. kNotFound when the task has no log.
  virtual Result<std::string> ReadLog(std::string_view ns, std::string_view name, uint64_t offset) = 0;

  // A fan-out task's item `item`: its log artifact (as ReadLog), and the
  // task's results document (docs/fan-out.md). kNotFound while there is
  // none; kUnimplemented where a store keeps none.
  virtual Result<std::string> ReadItemLog(std::string_view ns, std::string_view name, int32_t item, uint64_t offset);
  virtual Result<std::string> ReadResults(std::string_view ns, std::string_view name);
};
using TaskReaderPtr = std::unique_ptr<TaskReader>;

class Store : public TaskReader {
 public:
  // Stores `task` (metadata.namespace and metadata.name are its key),
  // replacing any previous record of it.
  virtual Status Put(const api::ContainerTask& task) = 0;

  // Removes the task's record and log. Succeeds when there is nothing to
  // remove.
  virtual Status Delete(std::string_view ns, std::string_view name) = 0;

  // Starts the task's log artifact afresh for a new attempt run. The task
  // need not have a record yet. limit_bytes below zero counts as zero.
  virtual Result<LogWriterPtr> OpenLog(std::string_view ns, std::string_view name, int64_t limit_bytes) = 0;

  // As OpenLog, for item `item` of a fan-out task: each item's latest
  // attempt has its own artifact, removed with the task.
  virtual Result<LogWriterPtr> OpenItemLog(std::string_view ns, std::string_view name, int32_t item,
                                           int64_t limit_bytes);

  // Replaces the task's results document (each finished item's outcome and
  // termination message, docs/fan-out.md) atomically, and says where it is.
  virtual Result<LogSummary> PutResults(const api::ContainerTask& task, std::string_view document);

  // The input files of a task that runs after others (spec.runAfter,
  // docs/fan-out.md): file name ("<task>.json") -> content, all replaced.
  virtual Status PutInputs(const api::ContainerTask& task, const std::map<std::string, std::string>& files);
};
using StorePtr = std::unique_ptr<Store>;

}  // namespace ctask::store
