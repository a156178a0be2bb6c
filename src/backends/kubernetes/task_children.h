// What the backend's two runtimes (JobRuntime: a Job per attempt;
// PodRuntime: a pod per attempt of a fan-out item) do alike with the
// objects they create for a task: the options an attempt is rendered with,
// the NetworkPolicy created before it, the words when the API server refuses
// one, and following the attempt's pod log.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "api/types.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/log_streams.h"
#include "render/job.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/time.h"

namespace ctask::backends {

// The index the Job and Pod informers keep, from the ctask labels
// (render/labels.h): "<task uid>/<attempt>" (AttemptIndexValue; an item's
// "<task uid>/i<index>/<attempt>") and "<task uid>" (every object of the
// task, for DeleteAll without a scan of the cache); none for an object
// without them.
std::vector<std::string> AttemptIndex(const api::Json& object);
std::string AttemptIndexValue(const api::ContainerTask& task, int attempt);

// The task as an involved object for events and owner checks.
api::Json TaskReference(const api::ContainerTask& task);

// Whether `object`'s controller ownerReference is the task with `uid`.
bool ControlledBy(const api::Json& object, const std::string& uid);

// Where an attempt's object (its Job, or an item's pod) lives: the task's
// namespace, the attempt's deterministic name (api::DerivedJobName), and
// the two as the informers' cache key "namespace/name".
std::string TaskNamespace(const api::ContainerTask& task);
std::string AttemptName(const api::ContainerTask& task, int attempt);
std::string AttemptKey(const api::ContainerTask& task, int attempt);

// `attempt` with the seconds left of spec.timeoutSeconds (counted from
// status.startTime) as its activeDeadlineSeconds: the cluster then enforces
// the deadline even while the operator is down. At least 1: a workload with
// none left fails at once, the usual way.
render::JobOptions AttemptOptions(const api::ContainerTask& task, int attempt, Timestamp now);

// For spec.network.isolated, the task's deny-all NetworkPolicy, created
// unless it exists; nothing otherwise. Before the first pod, so no pod of
// the task ever runs unisolated.
Status EnsureNetworkPolicy(kube::KubeClient& client, const api::ContainerTask& task);

// Creates `object` (named `name`, `child` its kind in words); when one of
// that name exists already (the cache was behind), that one instead if the
// task with `task_uid` controls it (adopted: nothing is created twice), and
// nullopt if it is another's. A refusal is ExplainRefusedChild's error.
Result<std::optional<api::Json>> CreateOwned(kube::KubeClient& client, const kube::Resource& resource,
                                             const std::string& ns, const std::string& name, const api::Json& object,
                                             const std::string& task_uid, std::string_view child);

// The API server refused a child of the task as invalid (422) or the
// operator may not create it (403, RBAC): terminal (reconcile/outcome.h),
// with words that say what to fix. `child` names it ("Job", "Pod").
Error ExplainRefusedChild(const Error& error, std::string_view child);

// Follows `attempt`'s pod log on `logs` (kube/log_streams.h): the pod is
// found in `pods` (indexed with AttemptIndex) when the follow begins, and
// the follow ends once its container has terminated. Kubernetes interleaves
// stdout and stderr into one log; it is reported as stdout. Destroying the
// result stops the follow.
std::unique_ptr<runtime::LogFollow> FollowPodLog(kube::LogStreams& logs, const kube::Informer& pods,
                                                 const api::ContainerTask& task, int attempt,
                                                 runtime::LogCallback on_data, runtime::LogEnd on_end,
                                                 std::chrono::milliseconds delay);

// An attempt that exists and will never start, for the reason given: how
// Observe reports a refused attempt, so the task fails naming the cause.
runtime::Observation PermanentWait(int attempt, std::string reason, std::string message);

// Children this process created that the informer has not delivered yet,
// by "namespace/name": a worker looking again before the watch event
// arrives must see the child, not create it twice. Each is dropped once the
// cache holds it.
class CreatedNotSeen {
 public:
  // The child: `cached` when the cache has it (ours is dropped), else ours.
  std::optional<api::Json> Find(const std::string& key, std::optional<api::Json> cached);
  void Remember(const std::string& key, api::Json object);
  void Forget(const std::string& key);

 private:
  std::mutex mu_;
  std::map<std::string, api::Json> objects_;  // guarded by mu_
};

// Attempts that cannot run here (a foreign object holds the name, the task
// cannot be rendered for Kubernetes), by AttemptIndexValue.
class RefusedAttempts {
 public:
  // Remembers the cause and records it as a Warning event on the task;
  // returns kFailedPrecondition with its message (runtime.h's contract).
  Status Refuse(kube::EventRecorder& events, const api::ContainerTask& task, int attempt, std::string reason,
                std::string message);
  // The attempt's PermanentWait, if it was refused.
  std::optional<runtime::Observation> Observe(const api::ContainerTask& task, int attempt);
  void Forget(const api::ContainerTask& task, int attempt);

 private:
  struct Refusal {
    std::string reason;
    std::string message;
  };
  std::mutex mu_;
  std::map<std::string, Refusal> refused_;  // guarded by mu_
};

}  // namespace ctask::backends
