#include "backends/kubernetes/job_runtime.h"

#include <algorithm>

#include "api/names.h"
#include "backends/kubernetes/observe_job.h"
#include "backends/kubernetes/slim.h"
#include "backends/kubernetes/task_children.h"
#include "reconcile/outcome.h"
#include "render/job.h"
#include "render/labels.h"

namespace ctask::backends {

using kube::DeleteOptions;

namespace resources = kube::resources;
namespace {

using api::Json;
using runtime::Observation;

}  // namespace

JobRuntime::JobRuntime(kube::KubeClient& client, const kube::Informer& jobs, const kube::Informer& pods,
                       kube::EventRecorder& events, kube::LogStreams* logs, const Clock& clock)
    : client_(client), jobs_(jobs), pods_(pods), events_(events), logs_(logs), clock_(clock) {}

std::optional<Json> JobRuntime::FindJob(const api::ContainerTask& task, int attempt) {
  const std::string key = AttemptKey(task, attempt);
  return created_.Find(key, jobs_.Get(key));
}

std::optional<Json> JobRuntime::FindPod(const api::ContainerTask& task, int attempt) const {
  return CurrentPod(pods_.ByIndex(AttemptIndexValue(task, attempt)));
}

Status JobRuntime::Apply(const api::ContainerTask& task, int attempt) {
  const std::string ns = TaskNamespace(task);
  const std::string name = AttemptName(task, attempt);
  auto refuse_foreign = [&] {
    return refused_.Refuse(events_, task, attempt, kReasonJobNameTaken,
                           "Job " + name +
                               " exists and is not controlled by this task; ctask never touches it: delete or rename "
                               "that Job (or this task) to run attempt " +
                               std::to_string(attempt));
  };
  if (std::optional<Json> job = FindJob(task, attempt)) {
    if (ControlledBy(*job, task.metadata.uid)) return {};  // adopted
    return refuse_foreign();
  }

  Result<Json> rendered = render::RenderJob(task, AttemptOptions(task, attempt, WallTimestamp(clock_)));
  if (!rendered) return refused_.Refuse(events_, task, attempt, "CannotRender", rendered.error().message());
  if (Status isolated = EnsureNetworkPolicy(client_, task); !isolated) return isolated;
  Result<std::optional<Json>> created =
      CreateOwned(client_, resources::Jobs(), ns, name, *rendered, task.metadata.uid, "Job");
  if (!created) return std::unexpected(created.error());
  if (!*created) return refuse_foreign();
  SlimJob(**created);
  created_.Remember(ns + "/" + name, std::move(**created));
  return {};
}

Result<Observation> JobRuntime::Observe(const api::ContainerTask& task, int attempt) {
  if (std::optional<Observation> refused = refused_.Observe(task, attempt)) return *refused;
  std::optional<Json> job = FindJob(task, attempt);
  if (job && !ControlledBy(*job, task.metadata.uid)) {
    return PermanentWait(attempt, kReasonJobNameTaken,
                         "Job " + AttemptName(task, attempt) + " exists and is not controlled by this task");
  }
  return ObserveAttempt(attempt, job, job ? FindPod(task, attempt) : std::nullopt);
}

Status JobRuntime::Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds /*grace*/) {
  std::optional<Json> job = FindJob(task, attempt);
  if (!job || !ControlledBy(*job, task.metadata.uid)) return {};
  // A Job Kueue admits has its spec.suspend written by Kueue alone (it would
  // read ours as a preemption to undo): stopping it is deleting it.
  if (!KueueQueueOf(*job).empty()) return Delete(task, attempt);
  if (job->value("spec", Json::object()).value("suspend", false)) return {};
  const Json patch = {{"spec", {{"suspend", true}}}};
  Result<Json> patched = client_.MergePatch(resources::Jobs(), TaskNamespace(task), AttemptName(task, attempt), patch);
  if (!patched && patched.error().code() != ErrorCode::kNotFound) return std::unexpected(patched.error());
  if (patched) {
    SlimJob(*patched);
    created_.Remember(AttemptKey(task, attempt), std::move(*patched));
  }
  return {};
}

Status JobRuntime::DeleteAll(const api::ContainerTask& task) {
  if (task.metadata.uid.empty()) return {};
  const std::string ns = TaskNamespace(task);
  for (const Json& job : jobs_.ByIndex(task.metadata.uid)) {
    const Json& meta = job.value("metadata", Json::object());
    if (meta.value("namespace", "") != ns || !ControlledBy(job, task.metadata.uid)) continue;
    DeleteOptions options;
    options.propagation_policy = "Background";
    options.precondition_uid = meta.value("uid", "");
    Status deleted = client_.Delete(resources::Jobs(), ns, meta.value("name", ""), options);
    if (!deleted && deleted.error().code() != ErrorCode::kNotFound && deleted.error().code() != ErrorCode::kConflict) {
      return deleted;
    }
  }
  return {};
}

Status JobRuntime::Delete(const api::ContainerTask& task, int attempt) {
  refused_.Forget(task, attempt);
  created_.Forget(AttemptKey(task, attempt));
  const std::string ns = TaskNamespace(task);
  const std::string name = AttemptName(task, attempt);
  std::optional<Json> job = jobs_.Get(ns + "/" + name);
  if (!job) {
    // Not in the cache: absent, or created a moment ago. Ask.
    Result<Json> got = client_.Get(resources::Jobs(), ns, name);
    if (!got) return got.error().code() == ErrorCode::kNotFound ? Status() : Status(std::unexpected(got.error()));
    job = std::move(*got);
  }
  const std::string uid = job->value("metadata", Json::object()).value("uid", "");
  if (!ControlledBy(*job, task.metadata.uid)) return {};
  DeleteOptions options;
  options.propagation_policy = "Background";
  options.precondition_uid = uid;
  Status deleted = client_.Delete(resources::Jobs(), ns, name, options);
  if (!deleted && deleted.error().code() != ErrorCode::kNotFound && deleted.error().code() != ErrorCode::kConflict) {
    return deleted;
  }
  return {};
}

std::unique_ptr<runtime::LogFollow> JobRuntime::StartFollow(const api::ContainerTask& task, int attempt,
                                                            runtime::LogCallback on_data, runtime::LogEnd on_end,
                                                            std::chrono::milliseconds delay) {
  if (logs_ == nullptr) return nullptr;
  return FollowPodLog(*logs_, pods_, task, attempt, std::move(on_data), std::move(on_end), delay);
}

}  // namespace ctask::backends
