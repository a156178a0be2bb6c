// KubeRuntime: the Kubernetes backend's runtime::Runtime and LogSource —
// which of its two runtimes acts for a task.
//  - A fan-out item (task.item) runs as bare pods (PodRuntime, render/pod.h):
//    the Job controller's requests per one-pod Job would set the pace of a
//    large fan-out, and the operator decides every retry and stop itself.
//  - Everything else runs as Jobs (JobRuntime), and so do the items of a
//    task Kueue admits: Kueue admits Jobs (api/kueue.h).
//  - An item whose attempt already has a Job (started by an operator from
//    before items ran as pods) is carried on as a Job: the attempt is not
//    run twice across an upgrade.
// DeleteAll asks both: a task's Jobs and its bare pods.
//
// Thread-safety: as its two runtimes'.
#pragma once

#include "backends/kubernetes/job_runtime.h"
#include "backends/kubernetes/pod_runtime.h"

namespace ctask::backends {

class KubeRuntime : public runtime::Runtime, public runtime::LogSource {
 public:
  // As JobRuntime's and PodRuntime's: every reference outlives the runtime.
  KubeRuntime(kube::KubeClient& client, const kube::Informer& jobs, const kube::Informer& pods,
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
  runtime::Runtime& For(const api::ContainerTask& task, int attempt);

  const kube::Informer& jobs_;
  JobRuntime jobs_runtime_;
  PodRuntime pods_runtime_;
};

// Whether `task`'s attempts run as bare pods (PodRuntime) rather than Jobs:
// a fan-out item not admitted by Kueue.
bool RunsAsPod(const api::ContainerTask& task);

}  // namespace ctask::backends
