#include "backends/kubernetes/pod_runtime.h"

#include "api/names.h"
#include "backends/kubernetes/observe_job.h"
#include "backends/kubernetes/slim.h"
#include "render/pod.h"

namespace ctask::backends {

namespace resources = kube::resources;
using api::Json;
using runtime::Observation;

namespace {

bool Deleting(const Json& object) {
  const Json& meta = object.value("metadata", Json::object());
  auto it = meta.find("deletionTimestamp");
  return it != meta.end() && !it->is_null();
}

}  // namespace

PodRuntime::PodRuntime(kube::KubeClient& client, const kube::Informer& pods, kube::EventRecorder& events,
                       kube::LogStreams* logs, const Clock& clock)
    : client_(client), pods_(pods), events_(events), logs_(logs), clock_(clock) {}

std::optional<Json> PodRuntime::FindPod(const api::ContainerTask& task, int attempt) {
  const std::string key = AttemptKey(task, attempt);
  return created_.Find(key, pods_.Get(key));
}

Status PodRuntime::Apply(const api::ContainerTask& task, int attempt) {
  const std::string ns = TaskNamespace(task);
  const std::string name = AttemptName(task, attempt);
  auto refuse_foreign = [&] {
    return refused_.Refuse(events_, task, attempt, kReasonPodNameTaken,
                           "pod " + name +
                               " exists and is not controlled by this task; ctask never touches it: delete or rename "
                               "that pod (or this task) to run attempt " +
                               std::to_string(attempt));
  };
  if (std::optional<Json> pod = FindPod(task, attempt)) {
    if (ControlledBy(*pod, task.metadata.uid)) return {};  // adopted
    return refuse_foreign();
  }

  Result<Json> rendered = render::RenderPod(task, AttemptOptions(task, attempt, WallTimestamp(clock_)));
  if (!rendered) return refused_.Refuse(events_, task, attempt, "CannotRender", rendered.error().message());
  if (Status isolated = EnsureNetworkPolicy(client_, task); !isolated) return isolated;
  Result<std::optional<Json>> created =
      CreateOwned(client_, resources::Pods(), ns, name, *rendered, task.metadata.uid, "Pod");
  if (!created) return std::unexpected(created.error());
  if (!*created) return refuse_foreign();
  SlimPod(**created);
  created_.Remember(ns + "/" + name, std::move(**created));
  return {};
}

Result<Observation> PodRuntime::Observe(const api::ContainerTask& task, int attempt) {
  if (std::optional<Observation> refused = refused_.Observe(task, attempt)) return *refused;
  std::optional<Json> pod = FindPod(task, attempt);
  if (pod && !ControlledBy(*pod, task.metadata.uid)) {
    return PermanentWait(attempt, kReasonPodNameTaken,
                         "pod " + AttemptName(task, attempt) + " exists and is not controlled by this task");
  }
  return ObservePodAttempt(attempt, pod);
}

Status PodRuntime::DeletePod(const std::string& ns, const Json& pod, std::optional<int64_t> grace) {
  const Json& meta = pod.value("metadata", Json::object());
  kube::DeleteOptions options;
  options.precondition_uid = meta.value("uid", "");
  options.grace_period_seconds = grace;
  Status deleted = client_.Delete(resources::Pods(), ns, meta.value("name", ""), options);
  // Gone already, or a new pod of the name (a uid that no longer matches).
  if (!deleted && deleted.error().code() != ErrorCode::kNotFound && deleted.error().code() != ErrorCode::kConflict) {
    return deleted;
  }
  return {};
}

Status PodRuntime::Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds grace) {
  std::optional<Json> pod = FindPod(task, attempt);
  if (!pod || !ControlledBy(*pod, task.metadata.uid) || Deleting(*pod)) return {};
  const Observation o = ObservePodAttempt(attempt, pod);
  if (o.state == runtime::WorkloadState::kExited) return {};  // stopped already: its status and log stay
  if (Status deleted = DeletePod(TaskNamespace(task), *pod, grace.count()); !deleted) return deleted;
  // A pod created here and deleted before the cache ever held it must not
  // be kept as created: it would be observed waiting, live, for good.
  created_.Forget(AttemptKey(task, attempt));
  return {};
}

Status PodRuntime::Delete(const api::ContainerTask& task, int attempt) {
  refused_.Forget(task, attempt);
  const std::string ns = TaskNamespace(task);
  const std::string name = AttemptName(task, attempt);
  created_.Forget(ns + "/" + name);
  std::optional<Json> pod = pods_.Get(ns + "/" + name);
  if (!pod) {
    // Not in the cache: absent, or created a moment ago. Ask.
    Result<Json> got = client_.Get(resources::Pods(), ns, name);
    if (!got) return got.error().code() == ErrorCode::kNotFound ? Status() : Status(std::unexpected(got.error()));
    pod = std::move(*got);
  }
  if (!ControlledBy(*pod, task.metadata.uid)) return {};
  return DeletePod(ns, *pod, std::nullopt);
}

Status PodRuntime::DeleteAll(const api::ContainerTask& task) {
  if (task.metadata.uid.empty()) return {};
  const std::string ns = TaskNamespace(task);
  for (const Json& pod : pods_.ByIndex(task.metadata.uid)) {
    // A Job's pod is the Job's (its controller), deleted with it.
    if (pod.value("metadata", Json::object()).value("namespace", "") != ns) continue;
    if (!ControlledBy(pod, task.metadata.uid) || Deleting(pod)) continue;
    if (Status deleted = DeletePod(ns, pod, std::nullopt); !deleted) return deleted;
  }
  return {};
}

std::unique_ptr<runtime::LogFollow> PodRuntime::StartFollow(const api::ContainerTask& task, int attempt,
                                                            runtime::LogCallback on_data, runtime::LogEnd on_end,
                                                            std::chrono::milliseconds delay) {
  if (logs_ == nullptr) return nullptr;
  return FollowPodLog(*logs_, pods_, task, attempt, std::move(on_data), std::move(on_end), delay);
}

}  // namespace ctask::backends
