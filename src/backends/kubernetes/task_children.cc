#include "backends/kubernetes/task_children.h"

#include <algorithm>

#include "api/names.h"
#include "backends/kubernetes/observe_job.h"
#include "reconcile/outcome.h"
#include "render/labels.h"

namespace ctask::backends {

using api::Json;
using runtime::Observation;
using runtime::WorkloadState;

namespace {

std::string Label(const Json& object, const char* key) {
  const Json& labels = object.value("metadata", Json::object()).value("labels", Json::object());
  auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::vector<std::string> AttemptIndex(const Json& object) {
  const std::string uid = Label(object, render::kLabelTaskUid);
  const std::string attempt = Label(object, render::kLabelAttempt);
  if (uid.empty() || attempt.empty()) return {};
  const std::string item = Label(object, render::kLabelItem);
  return {uid + "/" + (item.empty() ? "" : "i" + item + "/") + attempt, uid};
}

std::string AttemptIndexValue(const api::ContainerTask& task, int attempt) {
  const std::string item = task.item ? "i" + std::to_string(task.item->index) + "/" : "";
  return task.metadata.uid + "/" + item + std::to_string(attempt);
}

Json TaskReference(const api::ContainerTask& task) {
  Json ref = Json::object();
  ref["apiVersion"] = api::kApiVersion;
  ref["kind"] = api::kKind;
  ref["metadata"] = {{"name", task.metadata.name}, {"namespace", TaskNamespace(task)}, {"uid", task.metadata.uid}};
  return ref;
}

bool ControlledBy(const Json& object, const std::string& uid) {
  const Json& refs = object.value("metadata", Json::object()).value("ownerReferences", Json::array());
  if (!refs.is_array()) return false;
  return std::any_of(refs.begin(), refs.end(), [&](const Json& ref) {
    return ref.is_object() && ref.value("controller", false) && ref.value("uid", "") == uid;
  });
}

std::string TaskNamespace(const api::ContainerTask& task) {
  return api::NamespaceOrDefault(task.metadata.namespace_);
}

std::string AttemptName(const api::ContainerTask& task, int attempt) {
  return api::DerivedJobName(task.metadata.name, attempt, api::ItemIndexOf(task.item));
}

std::string AttemptKey(const api::ContainerTask& task, int attempt) {
  return TaskNamespace(task) + "/" + AttemptName(task, attempt);
}

render::JobOptions AttemptOptions(const api::ContainerTask& task, int attempt, Timestamp now) {
  render::JobOptions options;
  options.attempt = attempt;
  if (task.spec.timeout_seconds) {
    const Timestamp start = task.status.start_time.value_or(now);
    const int64_t left = (start + std::chrono::seconds(*task.spec.timeout_seconds) - now).count();
    options.active_deadline_seconds = std::max<int64_t>(left, 1);
  }
  return options;
}

Status EnsureNetworkPolicy(kube::KubeClient& client, const api::ContainerTask& task) {
  if (!task.spec.network.isolated) return {};
  Result<Json> policy =
      client.Create(kube::resources::NetworkPolicies(), TaskNamespace(task), render::RenderNetworkPolicy(task));
  if (policy || policy.error().code() == ErrorCode::kAlreadyExists) return {};
  if (reconcile::IsTerminalError(policy.error())) {
    return std::unexpected(ExplainRefusedChild(policy.error(), "NetworkPolicy"));
  }
  return std::unexpected(policy.error());
}

Result<std::optional<Json>> CreateOwned(kube::KubeClient& client, const kube::Resource& resource, const std::string& ns,
                                        const std::string& name, const Json& object, const std::string& task_uid,
                                        std::string_view child) {
  Result<Json> created = client.Create(resource, ns, object);
  if (created) return std::optional<Json>(std::move(*created));
  if (reconcile::IsTerminalError(created.error())) return std::unexpected(ExplainRefusedChild(created.error(), child));
  if (created.error().code() != ErrorCode::kAlreadyExists) return std::unexpected(created.error());
  Result<Json> existing = client.Get(resource, ns, name);
  if (!existing) return std::unexpected(existing.error());
  if (!ControlledBy(*existing, task_uid)) return std::optional<Json>();
  return std::optional<Json>(std::move(*existing));
}

Error ExplainRefusedChild(const Error& error, std::string_view child) {
  std::string message = error.message();
  if (error.code() == ErrorCode::kInvalidArgument) {
    // The field paths are the server's; the container's fields are the
    // task's spec fields of the same name.
    for (std::string_view container : {"spec.template.spec.containers[0].", "spec.containers[0]."}) {
      const size_t at = message.find(container);
      if (at == std::string::npos) continue;
      size_t end = message.find_first_of(": ", at);
      if (end == std::string::npos) end = message.size();
      message += "; in the task that is spec." + message.substr(at + container.size(), end - at - container.size());
      break;
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

runtime::Observation PermanentWait(int attempt, std::string reason, std::string message) {
  Observation o;
  o.attempt = attempt;
  o.state = WorkloadState::kWaiting;
  o.waiting_reason = std::move(reason);
  o.waiting_message = std::move(message);
  o.waiting_permanent = true;
  return o;
}

std::optional<Json> CreatedNotSeen::Find(const std::string& key, std::optional<Json> cached) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (cached) {
    if (it != objects_.end()) objects_.erase(it);
    return cached;
  }
  if (it != objects_.end()) return it->second;
  return std::nullopt;
}

void CreatedNotSeen::Remember(const std::string& key, Json object) {
  std::lock_guard lock(mu_);
  objects_[key] = std::move(object);
}

void CreatedNotSeen::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  objects_.erase(key);
}

Status RefusedAttempts::Refuse(kube::EventRecorder& events, const api::ContainerTask& task, int attempt,
                               std::string reason, std::string message) {
  events.Record(TaskReference(task), "Warning", reason, message);
  Error error(ErrorCode::kFailedPrecondition, message);
  std::lock_guard lock(mu_);
  refused_[AttemptIndexValue(task, attempt)] = Refusal{std::move(reason), std::move(message)};
  return std::unexpected(std::move(error));
}

std::optional<Observation> RefusedAttempts::Observe(const api::ContainerTask& task, int attempt) {
  std::lock_guard lock(mu_);
  auto it = refused_.find(AttemptIndexValue(task, attempt));
  if (it == refused_.end()) return std::nullopt;
  return PermanentWait(attempt, it->second.reason, it->second.message);
}

void RefusedAttempts::Forget(const api::ContainerTask& task, int attempt) {
  std::lock_guard lock(mu_);
  refused_.erase(AttemptIndexValue(task, attempt));
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

std::unique_ptr<runtime::LogFollow> FollowPodLog(kube::LogStreams& logs, const kube::Informer& pods,
                                                 const api::ContainerTask& task, int attempt,
                                                 runtime::LogCallback on_data, runtime::LogEnd on_end,
                                                 std::chrono::milliseconds delay) {
  const std::string ns = TaskNamespace(task);
  // The pod is looked for when the follow begins, on the loop: read from
  // the informer's cache, as is whether it still runs.
  auto pod_name = std::make_shared<std::string>();
  auto find_pod = [&pods, index = AttemptIndexValue(task, attempt), attempt, pod_name]() -> Result<std::string> {
    std::optional<Json> pod = CurrentPod(pods.ByIndex(index));
    if (!pod) return MakeError(ErrorCode::kUnavailable, "attempt " + std::to_string(attempt) + " has no pod yet");
    *pod_name = pod->value("metadata", Json::object()).value("name", "");
    return *pod_name;
  };
  auto still_running = [&pods, ns, attempt, pod_name]() -> Result<bool> {
    std::optional<Json> now = pods.Get(ns + "/" + *pod_name);
    if (!now) return false;  // gone: its log is gone with it
    const Observation o = ObservePodAttempt(attempt, now);
    return o.state == WorkloadState::kRunning || o.state == WorkloadState::kWaiting;
  };
  auto on_line = [on_data = std::move(on_data)](std::string_view line) {
    return on_data(runtime::LogStream::kStdout, line);
  };
  kube::LogFollowOptions options;
  options.container = render::kContainerName;
  const kube::LogStreams::FollowId id =
      logs.Follow(ns, std::move(find_pod), std::move(options), std::move(still_running), std::move(on_line),
                  std::move(on_end), delay);
  return std::make_unique<StreamsFollow>(logs, id);
}

}  // namespace ctask::backends
