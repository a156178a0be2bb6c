// DockerRuntime: the Runtime (and LogSource) of the local backend. Each
// attempt is one container named DerivedContainerName(namespace, task,
// attempt) and labelled with the task, its UID and the attempt
// (render/labels.h), so a restarted process finds every container again by
// name and never creates or starts a second one for the same attempt.
//
// Contract, beyond runtime.h:
//  - Apply inspects before it acts. A container that was created but never
//    started is started; one that runs, has exited, or failed to start is left
//    alone: an attempt runs at most once.
//  - A container of the same name left by an earlier task of the same name
//    (another UID, managed by ctask) is removed before the attempt's own is
//    created, unless it is running: then the attempt fails with ConfigError
//    rather than stop another task's work (another state directory's). A same-named container ctask does not manage is
//    never touched: the attempt fails with ConfigError naming it.
//  - A task that cannot start here fails fast, not after
//    pendingTimeoutSeconds: a missing Secret/ConfigMap key or a host path
//    outside the policy (ConfigError), an image that is absent and cannot be
//    pulled (ImagePullFailed). Apply returns the error, and Observe reports the
//    attempt as Waiting with that reason, permanent, until it is stopped or
//    deleted.
//    These failures are kept in memory only: after a restart Apply meets the
//    same cause again and records it again.
//  - Image pull policy: Always pulls; Never uses only a local image; empty or
//    IfNotPresent pulls only when the image is absent, as `docker run` does.
//    (Kubernetes pulls `:latest` always; on a laptop without a registry that
//    would fail every run of a locally built image.)
//  - Stop of a container that was created but never started removes it:
//    stopping does not end its waiting, and it never ran.
//  - runAsNonRoot without runAsUser is checked against the image's USER
//    before create, as the kubelet does: root, or a user named rather than
//    numbered, fails the attempt with ConfigError.
//  - Secret values reach only the create request's Env: never an error,
//    message or Observation.
//
// Thread-safety: safe for concurrent calls on different tasks (the reconcile
// queue never runs two calls for the same task at once).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "backends/docker/config_set.h"
#include "backends/docker/termination_log.h"
#include "docker/client.h"
#include "render/docker_container.h"
#include "runtime/runtime.h"
#include "util/clock.h"

namespace ctask::backends {

struct DockerRuntimeOptions {
  render::DockerPolicy policy;
  // Each pull progress message, for a terminal display; may be empty.
  std::function<void(const std::string& image, const api::Json& progress)> on_pull_progress;
  // The clock that dates start failures (for created_at); must outlive the
  // runtime.
  const Clock* clock = &RealClock();
  // The Secrets and ConfigMaps env is resolved from, owned with whoever
  // loads them (config_set.h); unset: none.
  std::shared_ptr<const ConfigSet> configs;
  // Where the containers' /dev/termination-log files live
  // (termination_log.h); empty: no termination messages.
  std::string termination_log_dir;
  // Where the store keeps a task's input file (spec.runAfter), to
  // bind-mount; unset: tasks with runAfter get no inputs.
  std::function<std::string(const api::ContainerTask& task, const std::string& file)> input_path;
};

class DockerRuntime : public runtime::Runtime, public runtime::BlockingLogSource {
 public:
  // `client` must outlive the runtime.
  DockerRuntime(docker::DockerClient& client, DockerRuntimeOptions options);

  Status Apply(const api::ContainerTask& task, int attempt) override;
  Result<runtime::Observation> Observe(const api::ContainerTask& task, int attempt) override;
  Status Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds grace) override;
  Status Delete(const api::ContainerTask& task, int attempt) override;
  Status DeleteAll(const api::ContainerTask& task) override;
  Status FollowLogs(const api::ContainerTask& task, int attempt, const runtime::LogCallback& on_data,
                    std::stop_token stop) override;

 private:
  struct StartFailure {
    std::string reason;   // ConfigError | ImagePullFailed
    std::string message;  // names the cause; never a secret value
    Timestamp at;
  };

  // Makes the image present as the pull policy says; the error is the
  // attempt's ImagePullFailed message.
  Status EnsureImage(const api::ContainerTask& task);
  // Apply's first step: an existing container of the attempt's name is ours
  // to start, a leftover to remove, or someone else's to refuse. Returns
  // Apply's outcome when that container settles it, nullopt when the name is
  // free for a new container.
  std::optional<Status> SettleExistingContainer(const api::ContainerTask& task, int attempt, const std::string& name);
  // runAsNonRoot without runAsUser: the image's user decides, as the kubelet
  // checks it.
  Status CheckImageUser(const api::ContainerTask& task, int attempt);
  // Drops the attempt's start failure, then inspects its container: nullopt
  // when there is none of this task's.
  Result<std::optional<api::Json>> ForgetAndInspect(const api::ContainerTask& task, int attempt);
  Status RecordStartFailure(const api::ContainerTask& task, int attempt, const char* reason, const Error& error);

  docker::DockerClient& client_;
  DockerRuntimeOptions options_;  // configs set in the constructor, then const

  // What a look just now saw, so the start that follows does not ask the
  // daemon again: an Observe that found no container of that name, and an
  // image found present (or pulled). Each is trusted for kRecentlySeen; a
  // create that finds the name taken or the image gone settles it the long
  // way and forgets the image.
  bool RecentlySeen(std::map<std::string, std::chrono::steady_clock::time_point>& seen, const std::string& key,
                    bool consume);
  void Saw(std::map<std::string, std::chrono::steady_clock::time_point>& seen, const std::string& key);

  const TerminationLogs termination_;
  mutable std::mutex mu_;
  std::map<std::string, StartFailure> start_failures_;                           // by container name; guarded by mu_
  std::map<std::string, std::chrono::steady_clock::time_point> absent_;          // container names; guarded by mu_
  std::map<std::string, std::chrono::steady_clock::time_point> images_present_;  // guarded by mu_
};

// How long a look's answer spares the start that follows another request.
inline constexpr std::chrono::seconds kRecentlySeen{2};

// runAsNonRoot without runAsUser, as the kubelet checks it: the image's
// USER ("uid", "uid:gid", a name, or "" for root) must be a non-zero number.
Status CheckNonRootUser(const std::string& image, const std::string& user);

// The Observation of an inspected container (GET /containers/{id}/json). Pure.
runtime::Observation ObservationFromInspect(const api::Json& inspect, int attempt);

}  // namespace ctask::backends
