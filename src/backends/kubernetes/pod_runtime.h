// PodRuntime: the Kubernetes backend behind runtime::Runtime for the items
// of a fan-out task (docs/fan-out.md) — one bare pod per attempt of an item
// (render/pod.h), owned by the task, observed through the operator's Pod
// informer — and behind runtime::LogSource, following that pod's log.
// KubeRuntime (kube_runtime.h) sends it the items; everything else is
// JobRuntime's.
//
// Contract (runtime.h's, made concrete, as JobRuntime's with a pod in the
// Job's place):
//  - Apply creates the attempt's pod (and, for spec.network.isolated, the
//    task's NetworkPolicy first) unless it exists. A pod of that name
//    controlled by this task is adopted; one controlled by anything else is
//    never touched: a Warning event (PodNameTaken) on the task, and Observe
//    reports the attempt Waiting, permanently, naming the pod.
//  - Observe reads only the Pod informer's cache (and pods this process
//    created that the cache has not shown yet), never the API server.
//  - Stop deletes the pod with `grace` for its container to exit after
//    SIGTERM (a pod cannot be suspended). The kubelet reports the killed
//    container, then the pod is gone: the item was already decided (failed,
//    cancelled, suspended) before it was stopped, so nothing is lost with it.
//  - Delete and DeleteAll delete the attempt's pod, and every pod the task
//    controls. Absent or foreign is success.
//  - StartFollow follows the pod's log as JobRuntime does.
//
// Thread-safety: every method may be called from several workers at once.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "backends/kubernetes/task_children.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/log_streams.h"
#include "runtime/runtime.h"
#include "util/clock.h"

namespace ctask::backends {

inline constexpr const char* kReasonPodNameTaken = "PodNameTaken";

class PodRuntime : public runtime::Runtime, public runtime::LogSource {
 public:
  // All references must outlive the runtime; `pods` is the informer of the
  // operator's Pods, indexed with AttemptIndex; `logs` (may be null) follows
  // their logs.
  PodRuntime(kube::KubeClient& client, const kube::Informer& pods, kube::EventRecorder& events, kube::LogStreams* logs,
             const Clock& clock = RealClock());

  Status Apply(const api::ContainerTask& task, int attempt) override;
  Result<runtime::Observation> Observe(const api::ContainerTask& task, int attempt) override;
  Status Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds grace) override;
  Status Delete(const api::ContainerTask& task, int attempt) override;
  Status DeleteAll(const api::ContainerTask& task) override;
  std::unique_ptr<runtime::LogFollow> StartFollow(const api::ContainerTask& task, int attempt,
                                                  runtime::LogCallback on_data, runtime::LogEnd on_end,
                                                  std::chrono::milliseconds delay) override;

 private:
  // The attempt's pod: from the cache, else one this process just created.
  std::optional<api::Json> FindPod(const api::ContainerTask& task, int attempt);
  Status DeletePod(const std::string& ns, const api::Json& pod, std::optional<int64_t> grace);

  kube::KubeClient& client_;
  const kube::Informer& pods_;
  kube::EventRecorder& events_;
  kube::LogStreams* const logs_;
  const Clock& clock_;
  CreatedNotSeen created_;
  RefusedAttempts refused_;
};

}  // namespace ctask::backends
