// JobRuntime: the Kubernetes backend behind runtime::Runtime — one batch/v1
// Job per attempt (render/job.h), observed through the operator's informers
// — and behind runtime::LogSource, following the attempt's pod log.
//
// Contract (runtime.h's, made concrete):
//  - Apply creates the attempt's Job (and, for spec.network.isolated, the
//    task's deny-all NetworkPolicy) unless it exists. A Job of that name
//    controlled by this task (ownerReference with the task's UID) is
//    adopted: nothing is created twice, across restarts and stale caches.
//    A Job of that name controlled by anything else is never touched: a
//    Warning event (JobNameTaken) on the task, and Observe reports the
//    attempt Waiting, permanently, naming the Job — the task fails saying so.
//    A task that cannot be rendered for Kubernetes (a Docker-only
//    workspace) is kFailedPrecondition, observed the same way.
//  - Observe reads only the informers' caches (and Jobs this process created
//    that the cache has not shown yet), never the API server.
//  - Stop suspends the Job: the Job controller deletes its pod (gracefully)
//    and the Job stays, with its history, until Delete.
//  - Delete deletes the attempt's Job with background propagation (the
//    garbage collector removes its pod). Absent or foreign is success.
//  - StartFollow follows the attempt's pod log on the operator's log loop
//    (kube/log_streams.h: one thread for every follow, across stream
//    breaks, each line once) until the container has terminated. Without a
//    loop (a transport that has none) it returns null: logs are not
//    followed. Kubernetes interleaves stdout and stderr into one log; it is
//    reported as stdout.
//
// Thread-safety: every method may be called from several workers at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backends/kubernetes/task_children.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/log_streams.h"
#include "runtime/runtime.h"
#include "util/clock.h"

namespace ctask::backends {

inline constexpr const char* kReasonJobNameTaken = "JobNameTaken";

class JobRuntime : public runtime::Runtime, public runtime::LogSource {
 public:
  // All references must outlive the runtime; `jobs` and `pods` are the
  // informers of the operator's Jobs and Pods, indexed with AttemptIndex;
  // `logs` (may be null) follows the pods' logs.
  JobRuntime(kube::KubeClient& client, const kube::Informer& jobs, const kube::Informer& pods,
             kube::EventRecorder& events, kube::LogStreams* logs, const Clock& clock = RealClock());

  Status Apply(const api::ContainerTask& task, int attempt) override;
  Result<runtime::Observation> Observe(const api::ContainerTask& task, int attempt) override;
  Status Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds grace) override;
  Status Delete(const api::ContainerTask& task, int attempt) override;
  Status DeleteAll(const api::ContainerTask& task) override;
  std::unique_ptr<runtime::LogFollow> StartFollow(const api::ContainerTask& task, int attempt,
                                                  runtime::LogCallback on_data, runtime::LogEnd on_end,
                                                  std::chrono::milliseconds delay) override;

 private:
  // The attempt's Job: from the cache, else one this process just created.
  std::optional<api::Json> FindJob(const api::ContainerTask& task, int attempt);
  std::optional<api::Json> FindPod(const api::ContainerTask& task, int attempt) const;

  kube::KubeClient& client_;
  const kube::Informer& jobs_;
  const kube::Informer& pods_;
  kube::EventRecorder& events_;
  kube::LogStreams* const logs_;
  const Clock& clock_;

  CreatedNotSeen created_;
  RefusedAttempts refused_;
};

}  // namespace ctask::backends
