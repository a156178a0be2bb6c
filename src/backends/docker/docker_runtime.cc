#include "backends/docker/docker_runtime.h"

#include <thread>

#include "api/names.h"
#include "render/labels.h"
#include "util/field_error.h"

namespace ctask::backends {
namespace {

// The client's stream names in the runtime's words.
runtime::LogStream RuntimeStream(docker::LogStream stream) {
  return stream == docker::LogStream::kStderr ? runtime::LogStream::kStderr : runtime::LogStream::kStdout;
}

std::string Namespace(const api::ContainerTask& task) {
  return api::NamespaceOrDefault(task.metadata.namespace_);
}

std::string ContainerName(const api::ContainerTask& task, int attempt) {
  return api::DerivedContainerName(Namespace(task), task.metadata.name, attempt, api::ItemIndexOf(task.item));
}

// Start failures are remembered per container name and task UID, so a task
// re-created under the same name starts clean.
std::string FailureKey(const api::ContainerTask& task, int attempt) {
  return ContainerName(task, attempt) + "/" + task.metadata.uid;
}

std::string Label(const api::Json& inspect, const char* key) {
  const api::Json* labels = nullptr;
  if (inspect.contains("Config") && inspect["Config"].is_object() && inspect["Config"].contains("Labels")) {
    labels = &inspect["Config"]["Labels"];
  }
  if (labels == nullptr || !labels->is_object() || !labels->contains(key) || !(*labels)[key].is_string()) return "";
  return (*labels)[key].get<std::string>();
}

// Docker writes "0001-01-01T00:00:00Z" for a time that has not happened.
std::optional<Timestamp> DockerTime(const api::Json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return std::nullopt;
  std::optional<Timestamp> t = ParseRfc3339(object[key].get<std::string>());
  if (!t || t->time_since_epoch().count() <= 0) return std::nullopt;
  return t;
}

bool IsOurs(const api::Json& inspect) {
  return Label(inspect, render::kLabelManagedBy) == render::kManagedByValue;
}

// Whether the inspected container belongs to this task (the same UID). A
// task without a UID (never stored) claims any ctask container of its name.
bool BelongsTo(const api::Json& inspect, const api::ContainerTask& task) {
  return IsOurs(inspect) && (task.metadata.uid.empty() || Label(inspect, render::kLabelTaskUid) == task.metadata.uid);
}

// Five looks 200 ms apart: the OOM event follows the exit within
// milliseconds; a second is far beyond what it takes and costs only tasks
// that were SIGKILLed anyway.
constexpr int kOomSettleLooks = 5;
constexpr std::chrono::milliseconds kOomSettleInterval{200};

bool MayBeUnreportedOom(const runtime::Observation& o, const api::ContainerTask& task) {
  return o.state == runtime::WorkloadState::kExited && o.exit_code == 137 && !o.oom_killed &&
         task.spec.resources.limits.contains(api::kResourceMemory);
}

}  // namespace

Status CheckNonRootUser(const std::string& image, const std::string& user) {
  const std::string uid = user.substr(0, user.find(':'));
  const std::string fix =
      ": set spec.securityContext.runAsUser to a non-zero UID, or use an image with a non-root USER";
  if (uid.empty() || uid == "root" || uid == "0") {
    return MakeError(ErrorCode::kFailedPrecondition, "spec.securityContext.runAsNonRoot is true but image " +
                                                         QuoteValue(image) + " runs as root" + fix);
  }
  if (uid.find_first_not_of("0123456789") != std::string::npos) {
    return MakeError(ErrorCode::kFailedPrecondition, "spec.securityContext.runAsNonRoot is true but image " +
                                                         QuoteValue(image) + " names its user (" + QuoteValue(uid) +
                                                         "), so ctask cannot tell it is not root" + fix);
  }
  return {};
}

runtime::Observation ObservationFromInspect(const api::Json& inspect, int attempt) {
  runtime::Observation o;
  o.attempt = attempt;
  o.workload_name = inspect.value("Name", "");
  if (o.workload_name.starts_with('/')) o.workload_name.erase(0, 1);
  o.container_id = inspect.value("Id", "");
  o.created_at = DockerTime(inspect, "Created");
  const api::Json state = inspect.contains("State") ? inspect["State"] : api::Json::object();
  const std::string status = state.is_object() ? state.value("Status", "") : "";
  const std::string error = state.is_object() ? state.value("Error", "") : "";
  o.started_at = DockerTime(state, "StartedAt");
  o.finished_at = DockerTime(state, "FinishedAt");
  if (status == "created" && error.empty()) {
    o.state = runtime::WorkloadState::kWaiting;
    o.never_started = true;
    return o;
  }
  if (status == "running" || status == "paused" || status == "restarting") {
    o.state = runtime::WorkloadState::kRunning;
    return o;
  }
  // exited, dead, removing; or created with an error: the runtime could not
  // start the command (not found, not executable). Kubernetes reports that as
  // a terminated container (StartError, exit 128); so do we, with Docker's
  // exit code (126/127) when it gives one.
  o.state = runtime::WorkloadState::kExited;
  const int64_t code = state.is_object() ? state.value("ExitCode", int64_t{0}) : 0;
  o.exit_code = static_cast<int32_t>(!error.empty() && code == 0 ? 128 : code);
  o.oom_killed = state.is_object() && state.value("OOMKilled", false);
  o.termination_message = error;
  if (!o.finished_at) o.finished_at = o.started_at ? o.started_at : o.created_at;
  return o;
}

DockerRuntime::DockerRuntime(docker::DockerClient& client, DockerRuntimeOptions options)
    : client_(client), options_(std::move(options)), termination_(options_.termination_log_dir) {
  if (!options_.configs) options_.configs = std::make_shared<ConfigSet>();
}

Status DockerRuntime::RecordStartFailure(const api::ContainerTask& task, int attempt, const char* reason,
                                         const Error& error) {
  const Timestamp now = WallTimestamp(*options_.clock);
  std::lock_guard lock(mu_);
  start_failures_.try_emplace(FailureKey(task, attempt), StartFailure{reason, error.message(), now});
  return MakeError(ErrorCode::kFailedPrecondition, error.message());
}

bool DockerRuntime::RecentlySeen(std::map<std::string, std::chrono::steady_clock::time_point>& seen,
                                 const std::string& key, bool consume) {
  std::lock_guard lock(mu_);
  auto it = seen.find(key);
  if (it == seen.end()) return false;
  const bool recent = std::chrono::steady_clock::now() - it->second < kRecentlySeen;
  if (consume || !recent) seen.erase(it);
  return recent;
}

void DockerRuntime::Saw(std::map<std::string, std::chrono::steady_clock::time_point>& seen, const std::string& key) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  // Bounded: what is older than the window is worth nothing.
  if (seen.size() >= 1024) std::erase_if(seen, [&](const auto& entry) { return now - entry.second >= kRecentlySeen; });
  seen.insert_or_assign(key, now);
}

Status DockerRuntime::EnsureImage(const api::ContainerTask& task) {
  const std::string& image = task.spec.image;
  const std::string& policy = task.spec.image_pull_policy;
  if (policy != "Always") {
    if (RecentlySeen(images_present_, image, /*consume=*/false)) return {};
    Result<api::Json> present = client_.InspectImage(image);
    if (present) {
      Saw(images_present_, image);
      return {};
    }
    if (present.error().code() != ErrorCode::kNotFound) return std::unexpected(present.error());
    if (policy == "Never") {
      return MakeError(ErrorCode::kNotFound, "image " + QuoteValue(image) +
                                                 " is not present locally and spec.imagePullPolicy is Never: "
                                                 "build or load it (docker build, docker load)");
    }
  }
  auto progress = [&](const api::Json& message) {
    if (options_.on_pull_progress) options_.on_pull_progress(image, message);
  };
  Status pulled = client_.PullImage(image, progress);
  if (pulled) Saw(images_present_, image);
  if (!pulled) {
    return MakeError(pulled.error().code(), "image " + QuoteValue(image) + " could not be pulled (" +
                                                pulled.error().message() +
                                                "): build it locally, or make its registry reachable");
  }
  return {};
}

std::optional<Status> DockerRuntime::SettleExistingContainer(const api::ContainerTask& task, int attempt,
                                                             const std::string& name) {
  Result<api::Json> existing = client_.InspectContainer(name);
  if (!existing) {
    if (existing.error().code() == ErrorCode::kNotFound) return std::nullopt;
    return Status(std::unexpected(existing.error()));
  }
  if (BelongsTo(*existing, task)) {
    runtime::Observation o = ObservationFromInspect(*existing, attempt);
    if (o.state != runtime::WorkloadState::kWaiting) return Status{};  // started once already
    return client_.StartContainer(o.container_id);
  }
  if (!IsOurs(*existing)) {
    return RecordStartFailure(
        task, attempt, runtime::kReasonConfigError,
        Error(ErrorCode::kFailedPrecondition,
              "a container named " + QuoteValue(name) + " exists and is not managed by ctask: remove or rename it"));
  }
  if (ObservationFromInspect(*existing, attempt).state == runtime::WorkloadState::kRunning) {
    // Another task of this name (another state directory, another
    // operator) runs it: never stop someone else's work.
    return RecordStartFailure(task, attempt, runtime::kReasonConfigError,
                              Error(ErrorCode::kFailedPrecondition,
                                    "container " + QuoteValue(name) + " of another task named " + task.metadata.name +
                                        " (uid " + Label(*existing, render::kLabelTaskUid) +
                                        ") is running: wait for it, or give this task another name or namespace"));
  }
  Status removed = client_.RemoveContainer(existing->value("Id", name), /*force=*/true);
  if (!removed) return removed;
  return std::nullopt;
}

Status DockerRuntime::CheckImageUser(const api::ContainerTask& task, int attempt) {
  if (!task.spec.security_context.run_as_non_root.value_or(false) || task.spec.security_context.run_as_user) {
    return {};
  }
  Result<api::Json> image = client_.InspectImage(task.spec.image);
  if (!image) return std::unexpected(image.error());
  const std::string user =
      image->contains("Config") && (*image)["Config"].is_object() ? (*image)["Config"].value("User", "") : "";
  if (Status non_root = CheckNonRootUser(task.spec.image, user); !non_root) {
    return RecordStartFailure(task, attempt, runtime::kReasonConfigError, non_root.error());
  }
  return {};
}

Status DockerRuntime::Apply(const api::ContainerTask& task, int attempt) {
  const std::string name = ContainerName(task, attempt);
  {
    std::lock_guard lock(mu_);
    if (start_failures_.contains(FailureKey(task, attempt))) return {};  // failed already; Observe says why
  }

  // 1. An existing container of this name settles it, or is removed; none
  //    there when this pass looked a moment ago is taken at its word.
  if (!RecentlySeen(absent_, name, /*consume=*/true)) {
    if (std::optional<Status> settled = SettleExistingContainer(task, attempt, name)) return *settled;
  }

  // 2. The create request: env resolved from the configs, policy applied,
  //    a fresh /dev/termination-log mounted.
  render::DockerPolicy policy = options_.policy;
  if (termination_.enabled()) {
    if (Status prepared = termination_.Prepare(name); !prepared) return prepared;
    policy.termination_log = termination_.PathOf(name);
  }
  if (options_.input_path) {
    for (const std::string& dep : task.spec.run_after) {
      policy.inputs.emplace_back(options_.input_path(task, dep + ".json"), dep + ".json");
    }
  }
  Result<render::DockerContainer> rendered =
      render::RenderDockerContainer(task, attempt, *options_.configs->Snapshot(), policy);
  if (!rendered) return RecordStartFailure(task, attempt, runtime::kReasonConfigError, rendered.error());

  // 3. The image, as the pull policy says, and the user it runs as.
  if (Status image = EnsureImage(task); !image) {
    if (image.error().code() == ErrorCode::kUnavailable &&
        image.error().message().find("cannot reach the Docker") != std::string::npos) {
      return image;  // the daemon itself is away: transient, not the task's fault
    }
    return RecordStartFailure(task, attempt, runtime::kReasonImagePullFailed, image.error());
  }
  if (Status user = CheckImageUser(task, attempt); !user) return user;

  // 4. Create and start. A conflict means another create won the race (a
  //    restarted process): adopt that container through step 1 next time.
  Result<std::string> id = client_.CreateContainer(name, rendered->body);
  if (!id) {
    if (id.error().code() == ErrorCode::kConflict) return {};
    // The image went since it was seen: look again next time.
    if (id.error().code() == ErrorCode::kNotFound) RecentlySeen(images_present_, task.spec.image, /*consume=*/true);
    if (id.error().code() == ErrorCode::kInvalidArgument) {
      return RecordStartFailure(task, attempt, runtime::kReasonConfigError, id.error());
    }
    return std::unexpected(id.error());
  }
  // A start the daemon refuses (400: the command is not in the image, a
  // working directory that cannot be made) fails the same way on every try.
  Status started = client_.StartContainer(*id);
  if (!started && started.error().code() == ErrorCode::kInvalidArgument) {
    return RecordStartFailure(task, attempt, runtime::kReasonConfigError, started.error());
  }
  return started;
}

Result<runtime::Observation> DockerRuntime::Observe(const api::ContainerTask& task, int attempt) {
  const std::string name = ContainerName(task, attempt);
  Result<api::Json> inspect = client_.InspectContainer(name);
  if (inspect && BelongsTo(*inspect, task)) {
    runtime::Observation o = ObservationFromInspect(*inspect, attempt);
    // The daemon learns of an OOM kill from an event that can arrive just
    // after the exit: a SIGKILLed container with a memory limit is looked
    // at again for a moment before it is called a plain failure.
    for (int look = 0; look < kOomSettleLooks && MayBeUnreportedOom(o, task); ++look) {
      std::this_thread::sleep_for(kOomSettleInterval);
      Result<api::Json> again = client_.InspectContainer(name);
      if (!again || !BelongsTo(*again, task)) break;
      o = ObservationFromInspect(*again, attempt);
    }
    // Its result, as a pod's terminated state carries it; a start error
    // (the runtime's words) takes its place when there is one.
    if (o.state == runtime::WorkloadState::kExited && o.termination_message.empty()) {
      o.termination_message = termination_.Read(name);
    }
    return o;
  }
  if (!inspect && inspect.error().code() != ErrorCode::kNotFound) return std::unexpected(inspect.error());
  if (!inspect) Saw(absent_, name);

  runtime::Observation o;
  o.attempt = attempt;
  o.workload_name = name;
  std::lock_guard lock(mu_);
  auto failure = start_failures_.find(FailureKey(task, attempt));
  if (failure != start_failures_.end()) {
    o.state = runtime::WorkloadState::kWaiting;
    o.waiting_reason = failure->second.reason;
    o.waiting_message = failure->second.message;
    o.waiting_permanent = true;
    o.created_at = failure->second.at;
  }
  return o;
}

Result<std::optional<api::Json>> DockerRuntime::ForgetAndInspect(const api::ContainerTask& task, int attempt) {
  {
    // A stopped or deleted attempt that could not start waits no more:
    // Observe says Absent.
    std::lock_guard lock(mu_);
    start_failures_.erase(FailureKey(task, attempt));
  }
  Result<api::Json> inspect = client_.InspectContainer(ContainerName(task, attempt));
  if (!inspect) {
    if (inspect.error().code() == ErrorCode::kNotFound) return std::nullopt;
    return std::unexpected(inspect.error());
  }
  if (!BelongsTo(*inspect, task)) return std::nullopt;
  return std::move(*inspect);
}

Status DockerRuntime::Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds grace) {
  Result<std::optional<api::Json>> inspect = ForgetAndInspect(task, attempt);
  if (!inspect) return std::unexpected(inspect.error());
  if (!*inspect) return {};
  const std::string id = (*inspect)->value("Id", "");
  if (ObservationFromInspect(**inspect, attempt).state == runtime::WorkloadState::kWaiting) {
    // Created, never started: `docker stop` would leave it waiting for
    // ever. It never ran, so there is nothing of it to keep.
    return client_.RemoveContainer(id, /*force=*/true);
  }
  Status stopped = client_.StopContainer(id, grace);
  if (!stopped && stopped.error().code() == ErrorCode::kNotFound) return {};
  return stopped;
}

Status DockerRuntime::Delete(const api::ContainerTask& task, int attempt) {
  Result<std::optional<api::Json>> inspect = ForgetAndInspect(task, attempt);
  if (!inspect) return std::unexpected(inspect.error());
  termination_.Remove(ContainerName(task, attempt));
  if (!*inspect) return {};
  return client_.RemoveContainer((*inspect)->value("Id", ""), /*force=*/true);
}

Status DockerRuntime::DeleteAll(const api::ContainerTask& task) {
  {
    std::lock_guard lock(mu_);
    std::erase_if(start_failures_, [&](const auto& entry) { return entry.first.ends_with("/" + task.metadata.uid); });
  }
  Result<std::vector<api::Json>> containers =
      client_.ListContainers({std::string(render::kLabelTask) + "=" + task.metadata.name,
                              std::string(render::kLabelNamespace) + "=" + Namespace(task)});
  if (!containers) return std::unexpected(containers.error());
  for (const api::Json& container : *containers) {
    const api::Json labels = container.value("Labels", api::Json::object());
    // Another task of the same name (deleted and made again) is not ours.
    if (!task.metadata.uid.empty() && labels.value(render::kLabelTaskUid, "") != task.metadata.uid) continue;
    Status removed = client_.RemoveContainer(container.value("Id", ""), /*force=*/true);
    if (!removed && removed.error().code() != ErrorCode::kNotFound) return removed;
    for (const api::Json& name : container.value("Names", api::Json::array())) {
      if (name.is_string()) termination_.Remove(name.get<std::string>().substr(1));  // "/<name>"
    }
  }
  return {};
}

Status DockerRuntime::FollowLogs(const api::ContainerTask& task, int attempt, const runtime::LogCallback& on_data,
                                 std::stop_token stop) {
  const std::string name = ContainerName(task, attempt);
  Result<api::Json> inspect = client_.InspectContainer(name);
  if (!inspect) return std::unexpected(inspect.error());
  if (!BelongsTo(*inspect, task)) {
    return MakeError(ErrorCode::kNotFound, "container " + QuoteValue(name) + " is not attempt " +
                                               std::to_string(attempt) + " of task " + task.metadata.name);
  }
  const std::string id = inspect->value("Id", name);
  uint64_t delivered = 0;
  Status followed = client_.Logs(
      id, /*follow=*/true,
      [&](docker::LogStream stream, std::string_view data) {
        delivered += data.size();
        return on_data(RuntimeStream(stream), data);
      },
      stop);
  if (!followed) return followed;
  // A follow can end before the log does: when the container exits while
  // the daemon's reader is behind, dockerd closes the stream early (seen
  // with Debian's dockerd 20.10 under load: 160 KB of a 589 KB log). So read
  // the log once more without following and deliver only what the follow
  // missed; the payload comes in the same order both times.
  uint64_t seen = 0;
  return client_.Logs(
      id, /*follow=*/false,
      [&](docker::LogStream stream, std::string_view data) {
        const uint64_t start = seen;
        seen += data.size();
        if (seen <= delivered) return true;
        const size_t skip = delivered > start ? static_cast<size_t>(delivered - start) : 0;
        delivered = seen;
        return on_data(RuntimeStream(stream), data.substr(skip));
      },
      stop);
}

}  // namespace ctask::backends
