#include "backends/kubernetes/kube_runtime.h"

#include "api/kueue.h"

namespace ctask::backends {

bool RunsAsPod(const api::ContainerTask& task) {
  return task.item && api::KueueQueueName(api::KueueLabels(task.metadata)).empty();
}

KubeRuntime::KubeRuntime(kube::KubeClient& client, const kube::Informer& jobs, const kube::Informer& pods,
                         kube::EventRecorder& events, kube::LogStreams* logs, const Clock& clock)
    : jobs_(jobs),
      jobs_runtime_(client, jobs, pods, events, logs, clock),
      pods_runtime_(client, pods, events, logs, clock) {}

runtime::Runtime& KubeRuntime::For(const api::ContainerTask& task, int attempt) {
  if (!RunsAsPod(task)) return jobs_runtime_;
  if (jobs_.Get(AttemptKey(task, attempt))) return jobs_runtime_;  // begun as a Job by an earlier operator
  return pods_runtime_;
}

Status KubeRuntime::Apply(const api::ContainerTask& task, int attempt) {
  return For(task, attempt).Apply(task, attempt);
}

Result<runtime::Observation> KubeRuntime::Observe(const api::ContainerTask& task, int attempt) {
  return For(task, attempt).Observe(task, attempt);
}

Status KubeRuntime::Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds grace) {
  return For(task, attempt).Stop(task, attempt, grace);
}

Status KubeRuntime::Delete(const api::ContainerTask& task, int attempt) {
  return For(task, attempt).Delete(task, attempt);
}

Status KubeRuntime::DeleteAll(const api::ContainerTask& task) {
  if (Status jobs = jobs_runtime_.DeleteAll(task); !jobs) return jobs;
  return pods_runtime_.DeleteAll(task);
}

std::unique_ptr<runtime::LogFollow> KubeRuntime::StartFollow(const api::ContainerTask& task, int attempt,
                                                             runtime::LogCallback on_data, runtime::LogEnd on_end,
                                                             std::chrono::milliseconds delay) {
  // Both follow the attempt's pod, found by its labels, whoever made it.
  return pods_runtime_.StartFollow(task, attempt, std::move(on_data), std::move(on_end), delay);
}

}  // namespace ctask::backends
