#include "backends/kubernetes/job_runtime.h"

#include <algorithm>

#include "api/names.h"
#include "backends/kubernetes/observe_job.h"
#include "backends/kubernetes/slim.h"
#include "reconcile/outcome.h"
#include "render/job.h"
#include "render/labels.h"

namespace ctask::backends {

using kube::DeleteOptions;

namespace resources = kube::resources;
namespace {

using api::Json;
using runtime::Observation;
using runtime::WorkloadState;

std::string Namespace(const api::ContainerTask& task) {
  return api::NamespaceOrDefault(task.metadata.namespace_);
}

std::string JobKey(const api::ContainerTask& task, int attempt) {
  return Namespace(task) + "/" + api::DerivedJobName(task.metadata.name, attempt, api::ItemIndexOf(task.item));
}

std::string Label(const Json& object, const char* key) {
  const Json& labels = object.value("metadata", Json::object()).value("labels", Json::object());
  auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Seconds left of spec.timeoutSeconds, for the Job's activeDeadlineSeconds:
// the Job controller then enforces the deadline even while the operator is
// down. At least 1: a Job with none left fails at once.
std::optional<int64_t> DeadlineLeft(const api::ContainerTask& task, Timestamp now) {
  if (!task.spec.timeout_seconds) return std::nullopt;
  const Timestamp start = task.status.start_time.value_or(now);
  const int64_t left = (start + std::chrono::seconds(*task.spec.timeout_seconds) - now).count();
  return std::max<int64_t>(left, 1);
}

// The API server refused a child of the task as invalid (422) or the
// operator may not create it (403, RBAC): terminal (reconcile/outcome.h),
// with words that say what to fix. The Job's field paths are the server's;
// its container's fields are the task's spec fields of the same name.
Error ExplainRefusedChild(const Error& error, std::string_view child) {
  std::string message = error.message();
  if (error.code() == ErrorCode::kInvalidArgument) {
    constexpr std::string_view kContainer = "spec.template.spec.containers[0].";
    if (const size_t at = message.find(kContainer); at != std::string::npos) {
      size_t end = message.find_first_of(": ", at);
      if (end == std::string::npos) end = message.size();
      message += "; in the task that is spec." + message.substr(at + kContainer.size(), end - at - kContainer.size());
    }
    return Error(error.code(), "the API server refused the " + std::string(child) +
                                   " rendered from the task as invalid: " + message + ": fix the task's spec")
        .WithHttp(error.http_status(), error.reason());
  }
  // RBAC says "cannot <verb> resource"; an admission policy's refusal is
  // also a 403, and no grant fixes that.
  if (message.find("cannot ") != std::string::npos && message.find(" resource ") != std::string::npos) {
    message += ": grant the operator this permission (its ClusterRole, manifests/rbac.yaml)";
  }
  return Error(error.code(), message).WithHttp(error.http_status(), error.reason());
}

}  // namespace

std::vector<std::string> AttemptIndex(const Json& object) {
  const std::string uid = Label(object, render::kLabelTaskUid);
  const std::string attempt = Label(object, render::kLabelAttempt);
  if (uid.empty() || attempt.empty()) return {};
  const std::string item = Label(object, render::kLabelItem);
  return {uid + "/" + (item.empty() ? "" : "i" + item + "/") + attempt};
}

std::string AttemptIndexValue(const api::ContainerTask& task, int attempt) {
  const std::string item = task.item ? "i" + std::to_string(task.item->index) + "/" : "";
  return task.metadata.uid + "/" + item + std::to_string(attempt);
}

Json TaskReference(const api::ContainerTask& task) {
  Json ref = Json::object();
  ref["apiVersion"] = api::kApiVersion;
  ref["kind"] = api::kKind;
  ref["metadata"] = {{"name", task.metadata.name}, {"namespace", Namespace(task)}, {"uid", task.metadata.uid}};
  return ref;
}

bool ControlledBy(const Json& object, const std::string& uid) {
  const Json& refs = object.value("metadata", Json::object()).value("ownerReferences", Json::array());
  if (!refs.is_array()) return false;
  return std::any_of(refs.begin(), refs.end(), [&](const Json& ref) {
    return ref.is_object() && ref.value("controller", false) && ref.value("uid", "") == uid;
  });
}

JobRuntime::JobRuntime(kube::KubeClient& client, const kube::Informer& jobs, const kube::Informer& pods,
                       kube::EventRecorder& events, kube::LogStreams* logs, const Clock& clock)
    : client_(client), jobs_(jobs), pods_(pods), events_(events), logs_(logs), clock_(clock) {}

std::optional<Json> JobRuntime::FindJob(const api::ContainerTask& task, int attempt) {
  const std::string key = JobKey(task, attempt);
  std::optional<Json> cached = jobs_.Get(key);
  std::lock_guard lock(mu_);
  auto it = created_.find(key);
  if (cached) {
    if (it != created_.end()) created_.erase(it);
    return cached;
  }
  if (it != created_.end()) return it->second;
  return std::nullopt;
}

std::optional<Json> JobRuntime::FindPod(const api::ContainerTask& task, int attempt) const {
  return CurrentPod(pods_.ByIndex(AttemptIndexValue(task, attempt)));
}

Status JobRuntime::Refuse(const api::ContainerTask& task, int attempt, Refusal refusal) {
  events_.Record(TaskReference(task), "Warning", refusal.reason, refusal.message);
  const std::string message = refusal.message;
  {
    std::lock_guard lock(mu_);
    refused_[AttemptIndexValue(task, attempt)] = std::move(refusal);
  }
  return MakeError(ErrorCode::kFailedPrecondition, message);
}

Status JobRuntime::Apply(const api::ContainerTask& task, int attempt) {
  const std::string ns = Namespace(task);
  const std::string name = api::DerivedJobName(task.metadata.name, attempt, api::ItemIndexOf(task.item));
  auto foreign = [&](const Json& /*job*/) {
    return Refusal{kReasonJobNameTaken, "Job " + name +
                                            " exists and is not controlled by this task; ctask never "
                                            "touches it: delete or rename that Job (or this task) to run attempt " +
                                            std::to_string(attempt)};
  };
  if (std::optional<Json> job = FindJob(task, attempt)) {
    if (ControlledBy(*job, task.metadata.uid)) return {};  // adopted
    return Refuse(task, attempt, foreign(*job));
  }

  render::JobOptions options;
  options.attempt = attempt;
  options.active_deadline_seconds = DeadlineLeft(task, WallTimestamp(clock_));
  Result<Json> rendered = render::RenderJob(task, options);
  if (!rendered) {
    return Refuse(task, attempt, Refusal{"CannotRender", rendered.error().message()});
  }
  if (task.spec.network.isolated) {
    Result<Json> policy = client_.Create(resources::NetworkPolicies(), ns, render::RenderNetworkPolicy(task));
    if (!policy && reconcile::IsTerminalError(policy.error())) {
      return std::unexpected(ExplainRefusedChild(policy.error(), "NetworkPolicy"));
    }
    if (!policy && policy.error().code() != ErrorCode::kAlreadyExists) return std::unexpected(policy.error());
  }
  Result<Json> created = client_.Create(resources::Jobs(), ns, *rendered);
  if (!created) {
    if (reconcile::IsTerminalError(created.error()))
      return std::unexpected(ExplainRefusedChild(created.error(), "Job"));
    if (created.error().code() != ErrorCode::kAlreadyExists) return std::unexpected(created.error());
    // The cache is behind: the Job exists. Ours is adopted; another's refused.
    Result<Json> existing = client_.Get(resources::Jobs(), ns, name);
    if (!existing) return std::unexpected(existing.error());
    if (!ControlledBy(*existing, task.metadata.uid)) return Refuse(task, attempt, foreign(*existing));
    created = std::move(existing);
  }
  SlimJob(*created);
  std::lock_guard lock(mu_);
  created_[ns + "/" + name] = std::move(*created);
  return {};
}

Result<Observation> JobRuntime::Observe(const api::ContainerTask& task, int attempt) {
  {
    std::lock_guard lock(mu_);
    auto it = refused_.find(AttemptIndexValue(task, attempt));
    if (it != refused_.end()) {
      Observation o;
      o.attempt = attempt;
      o.state = WorkloadState::kWaiting;
      o.waiting_reason = it->second.reason;
      o.waiting_message = it->second.message;
      o.waiting_permanent = true;
      return o;
    }
  }
  std::optional<Json> job = FindJob(task, attempt);
  if (job && !ControlledBy(*job, task.metadata.uid)) {
    Observation o;
    o.attempt = attempt;
    o.state = WorkloadState::kWaiting;
    o.waiting_reason = kReasonJobNameTaken;
    o.waiting_message = "Job " + api::DerivedJobName(task.metadata.name, attempt, api::ItemIndexOf(task.item)) +
                        " exists and is not controlled by this task";
    o.waiting_permanent = true;
    return o;
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
  Result<Json> patched =
      client_.MergePatch(resources::Jobs(), Namespace(task),
                         api::DerivedJobName(task.metadata.name, attempt, api::ItemIndexOf(task.item)), patch);
  if (!patched && patched.error().code() != ErrorCode::kNotFound) return std::unexpected(patched.error());
  if (patched) {
    SlimJob(*patched);
    std::lock_guard lock(mu_);
    created_[JobKey(task, attempt)] = std::move(*patched);
  }
  return {};
}

Status JobRuntime::DeleteAll(const api::ContainerTask& task) {
  const std::string ns = Namespace(task);
  for (const Json& job : jobs_.List()) {
    if (Label(job, render::kLabelTaskUid) != task.metadata.uid || task.metadata.uid.empty()) continue;
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
  {
    std::lock_guard lock(mu_);
    refused_.erase(AttemptIndexValue(task, attempt));
    created_.erase(JobKey(task, attempt));
  }
  const std::string ns = Namespace(task);
  const std::string name = api::DerivedJobName(task.metadata.name, attempt, api::ItemIndexOf(task.item));
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

namespace {

// A follow on the log loop; destroying it stops it there.
class StreamsFollow : public runtime::LogFollow {
 public:
  StreamsFollow(kube::LogStreams& streams, kube::LogStreams::FollowId id) : streams_(streams), id_(id) {}
  ~StreamsFollow() override { streams_.Stop(id_); }

 private:
  kube::LogStreams& streams_;
  const kube::LogStreams::FollowId id_;
};

}  // namespace

std::unique_ptr<runtime::LogFollow> JobRuntime::StartFollow(const api::ContainerTask& task, int attempt,
                                                            runtime::LogCallback on_data, runtime::LogEnd on_end,
                                                            std::chrono::milliseconds delay) {
  if (logs_ == nullptr) return nullptr;
  const std::string ns = Namespace(task);
  // The pod is looked for when the follow begins, on the loop: read from
  // the informer's cache, as is whether it still runs.
  auto pod_name = std::make_shared<std::string>();
  auto find_pod = [this, index = AttemptIndexValue(task, attempt), attempt, pod_name]() -> Result<std::string> {
    std::optional<Json> pod = CurrentPod(pods_.ByIndex(index));
    if (!pod) return MakeError(ErrorCode::kUnavailable, "attempt " + std::to_string(attempt) + " has no pod yet");
    *pod_name = pod->value("metadata", Json::object()).value("name", "");
    return *pod_name;
  };
  auto still_running = [this, ns, attempt, pod_name]() -> Result<bool> {
    std::optional<Json> now = pods_.Get(ns + "/" + *pod_name);
    if (!now) return false;  // gone: its log is gone with it
    const Observation o = ObserveAttempt(attempt, Json::object(), now);
    return o.state == WorkloadState::kRunning || o.state == WorkloadState::kWaiting;
  };
  auto on_line = [on_data = std::move(on_data)](std::string_view line) {
    return on_data(runtime::LogStream::kStdout, line);
  };
  kube::LogFollowOptions options;
  options.container = render::kContainerName;
  const kube::LogStreams::FollowId id =
      logs_->Follow(ns, std::move(find_pod), std::move(options), std::move(still_running), std::move(on_line),
                    std::move(on_end), delay);
  return std::make_unique<StreamsFollow>(*logs_, id);
}

}  // namespace ctask::backends
