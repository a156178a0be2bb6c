// Observation: what a backend saw of one attempt's workload, in words that
// mean the same for a Kubernetes pod and a Docker container. The status
// computation (src/status/) reads only this, never a backend's own types, so
// both backends report the same phases and reasons.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/time.h"

namespace ctask::runtime {

enum class WorkloadState {
  kAbsent,   // nothing exists for this attempt
  kWaiting,  // created, not started: pulling an image, scheduling, bad config
  kRunning,  // the container runs
  kExited,   // the container ended (exit_code says how)
};

inline std::string_view WorkloadStateName(WorkloadState state) {
  switch (state) {
    case WorkloadState::kAbsent:
      return "Absent";
    case WorkloadState::kWaiting:
      return "Waiting";
    case WorkloadState::kRunning:
      return "Running";
    case WorkloadState::kExited:
      return "Exited";
  }
  return "Unknown";
}

// Waiting reasons, in the same words for every backend: what
// Observation::waiting_reason says, and what a task that fails before it
// starts gets as status.reason.
inline constexpr const char* kReasonImagePullFailed = "ImagePullFailed";  // the image cannot be had
inline constexpr const char* kReasonConfigError = "ConfigError";  // a Secret/ConfigMap key, a host path, the user
inline constexpr const char* kReasonContainerCreateFailed = "ContainerCreateFailed";  // the runtime refused it
inline constexpr const char* kReasonUnschedulable = "Unschedulable";                  // no node takes the pod
inline constexpr const char* kReasonWaitingForKueue = "WaitingForKueue";  // Kueue holds the Job (held_for_admission)

struct Observation {
  int attempt = 0;
  WorkloadState state = WorkloadState::kAbsent;
  std::string workload_name;  // Job name, or container name; empty for a bare pod (a fan-out item's)
  std::string pod_name;       // Kubernetes only
  std::string container_id;   // Docker only

  // kWaiting: why it has not started, as a backend-neutral reason
  // (ImagePullFailed, ConfigError, Unschedulable, ...) with the backend's words
  // in waiting_message. A reason here fails the task at once when it is
  // permanent (waiting_permanent) or after pendingTimeoutSeconds otherwise.
  std::string waiting_reason;
  std::string waiting_message;
  bool waiting_permanent = false;
  // kWaiting: the workload exists but an admission controller outside ctask
  // (Kueue) holds it suspended — not yet admitted, or preempted. Not a
  // start that is stuck: pendingTimeoutSeconds does not run, and a
  // preempted attempt is not a failure.
  bool held_for_admission = false;
  // kWaiting: the workload was created and never started — the process that
  // created it stopped before it started it (kill -9 between the two). Not
  // a start that is stuck: Apply starts it.
  bool never_started = false;

  // kExited
  std::optional<int32_t> exit_code;
  bool oom_killed = false;
  bool deadline_exceeded = false;  // the backend stopped it for the deadline
  // The node evicted it (Kubernetes: pod reason Evicted, e.g. an emptyDir
  // beyond its sizeLimit, node memory pressure): the kubelet's message.
  std::string evicted;
  std::string termination_message;

  // When the workload was created, or last released to start (a Job's
  // status.startTime, reset when it is unsuspended): pendingTimeoutSeconds
  // counts from here.
  std::optional<Timestamp> created_at;
  std::optional<Timestamp> started_at;
  std::optional<Timestamp> finished_at;
};

// Whether the workload is live: waiting to start or running (what a stop
// acts on, and what keeps a finished task's slot and an item in progress).
inline bool IsLive(const std::optional<Observation>& o) {
  return o && (o->state == WorkloadState::kRunning || o->state == WorkloadState::kWaiting);
}

}  // namespace ctask::runtime
