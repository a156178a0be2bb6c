#include "backends/kubernetes/observe_job.h"

#include <string>

#include "api/kueue.h"
#include "render/job.h"
#include "util/time.h"

namespace ctask::backends {
namespace {

using api::Json;
using runtime::Observation;
using runtime::WorkloadState;

std::string Str(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<Timestamp> Time(const Json& object, const char* key) {
  const std::string text = Str(object, key);
  if (text.empty()) return std::nullopt;
  return ParseRfc3339(text);
}

const Json* Path(const Json& object, std::initializer_list<const char*> keys) {
  const Json* at = &object;
  for (const char* key : keys) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

// The Job's condition of `type` with status True, or nullptr.
const Json* TrueCondition(const Json& job, const char* type) {
  const Json* conditions = Path(job, {"status", "conditions"});
  if (conditions == nullptr || !conditions->is_array()) return nullptr;
  for (const Json& c : *conditions) {
    if (c.is_object() && Str(c, "type") == type && Str(c, "status") == "True") return &c;
  }
  return nullptr;
}

// The task's container status in the pod, or nullptr.
const Json* TaskContainer(const Json& pod) {
  const Json* statuses = Path(pod, {"status", "containerStatuses"});
  if (statuses == nullptr || !statuses->is_array()) return nullptr;
  for (const Json& s : *statuses) {
    if (s.is_object() && Str(s, "name") == render::kContainerName) return &s;
  }
  return nullptr;
}

struct WaitingCause {
  const char* reason;  // nullptr: not a cause, just not started yet
  bool permanent;
};

WaitingCause Classify(const std::string& kubelet_reason) {
  if (kubelet_reason == "InvalidImageName" || kubelet_reason == "ErrImageNeverPull") {
    return {runtime::kReasonImagePullFailed, true};
  }
  if (kubelet_reason == "ErrImagePull" || kubelet_reason == "ImagePullBackOff" ||
      kubelet_reason == "RegistryUnavailable" || kubelet_reason == "SignatureValidationFailed" ||
      kubelet_reason == "ImageInspectError") {
    return {runtime::kReasonImagePullFailed, false};
  }
  if (kubelet_reason == "CreateContainerConfigError") return {runtime::kReasonConfigError, false};
  if (kubelet_reason == "CreateContainerError" || kubelet_reason == "RunContainerError" ||
      kubelet_reason == "PreCreateHookError" || kubelet_reason == "PreStartHookError") {
    return {runtime::kReasonContainerCreateFailed, false};
  }
  return {nullptr, false};  // ContainerCreating, PodInitializing, ...
}

// The kubelet's message when it evicted the pod ("" otherwise). The container
// it stopped reads as an ordinary exit (137, reason Error): only the pod says
// why.
std::string EvictionMessage(const Json& status) {
  if (Str(status, "reason") != "Evicted") return "";
  const std::string message = Str(status, "message");
  return message.empty() ? "evicted" : message;
}

void ObservePod(const Json& pod, Observation& o) {
  o.pod_name = Str(pod.value("metadata", Json::object()), "name");
  const Json* container = TaskContainer(pod);
  const Json* state = container != nullptr ? Path(*container, {"state"}) : nullptr;
  const Json& status = pod.value("status", Json::object());
  if (state != nullptr && state->contains("terminated")) {
    const Json& t = (*state)["terminated"];
    o.state = WorkloadState::kExited;
    if (t.contains("exitCode") && t["exitCode"].is_number_integer()) o.exit_code = t["exitCode"].get<int32_t>();
    o.oom_killed = Str(t, "reason") == "OOMKilled";
    o.termination_message = Str(t, "message");
    o.started_at = Time(t, "startedAt");
    o.finished_at = Time(t, "finishedAt");
    o.evicted = EvictionMessage(status);
    return;
  }
  if (state != nullptr && state->contains("running")) {
    o.state = WorkloadState::kRunning;
    o.started_at = Time((*state)["running"], "startedAt");
    return;
  }
  if (Str(status, "phase") == "Failed") {
    // Failed before or without a container status: the pod's own deadline,
    // an eviction, a node lost.
    o.state = WorkloadState::kExited;
    o.deadline_exceeded = Str(status, "reason") == "DeadlineExceeded";
    o.evicted = EvictionMessage(status);
    o.termination_message = Str(status, "message");
    return;
  }
  o.state = WorkloadState::kWaiting;
  if (state != nullptr && state->contains("waiting")) {
    const Json& w = (*state)["waiting"];
    const std::string kubelet_reason = Str(w, "reason");
    const WaitingCause cause = Classify(kubelet_reason);
    if (cause.reason != nullptr) {
      o.waiting_reason = cause.reason;
      o.waiting_permanent = cause.permanent;
      const std::string message = Str(w, "message");
      o.waiting_message = kubelet_reason + (message.empty() ? "" : ": " + message);
    }
    return;
  }
  if (const Json* conditions = Path(pod, {"status", "conditions"}); conditions != nullptr && conditions->is_array()) {
    for (const Json& c : *conditions) {
      if (Str(c, "type") == "PodScheduled" && Str(c, "status") == "False" && Str(c, "reason") == "Unschedulable") {
        o.waiting_reason = runtime::kReasonUnschedulable;
        o.waiting_message = Str(c, "message");
      }
    }
  }
}

}  // namespace

std::string KueueQueueOf(const Json& job) {
  const Json& meta = job.value("metadata", Json::object());
  auto labels = meta.find("labels");
  if (labels == meta.end() || !labels->is_object()) return "";
  auto queue = labels->find(api::kKueueQueueNameLabel);
  return queue != labels->end() && queue->is_string() ? queue->get<std::string>() : "";
}

runtime::Observation ObserveAttempt(int attempt, const std::optional<Json>& job, const std::optional<Json>& pod) {
  Observation o;
  o.attempt = attempt;
  if (!job) return o;
  const Json& meta = job->value("metadata", Json::object());
  o.workload_name = Str(meta, "name");
  const std::string kueue_queue = KueueQueueOf(*job);
  o.created_at = Time(job->value("status", Json::object()), "startTime");
  // A Job Kueue has just unsuspended may not show its new startTime yet:
  // its creation (before the wait for Kueue) is no start, so the caller's
  // now stands in until the Job controller writes it.
  if (!o.created_at && kueue_queue.empty()) o.created_at = Time(meta, "creationTimestamp");

  // A Job Kueue admits, suspended and not finished: Kueue holds it (not yet
  // admitted, or preempted and its pod on the way out).
  const bool suspended = job->value("spec", Json::object()).value("suspend", false);
  if (!kueue_queue.empty() && suspended && TrueCondition(*job, "Complete") == nullptr &&
      TrueCondition(*job, "Failed") == nullptr) {
    o.state = WorkloadState::kWaiting;
    o.held_for_admission = true;
    o.waiting_reason = runtime::kReasonWaitingForKueue;
    o.waiting_message =
        "Job " + o.workload_name + " is suspended until Kueue admits it (LocalQueue " + kueue_queue + ")";
    return o;
  }

  if (pod) {
    ObservePod(*pod, o);
    if (o.state == WorkloadState::kExited) {
      if (const Json* failed = TrueCondition(*job, "Failed"); failed && Str(*failed, "reason") == "DeadlineExceeded") {
        o.deadline_exceeded = true;
      }
      return o;
    }
  }
  // The pod alone does not say it ended (it is gone, or the Job has given up
  // on it): the Job's own verdict.
  if (const Json* failed = TrueCondition(*job, "Failed")) {
    o.state = WorkloadState::kExited;
    o.deadline_exceeded = Str(*failed, "reason") == "DeadlineExceeded";
    if (o.termination_message.empty()) o.termination_message = Str(*failed, "message");
    o.finished_at = Time(job->value("status", Json::object()), "completionTime");
    return o;
  }
  if (!pod && TrueCondition(*job, "Complete") != nullptr) {
    o.state = WorkloadState::kExited;
    o.exit_code = 0;
    o.finished_at = Time(job->value("status", Json::object()), "completionTime");
    return o;
  }
  if (!pod && job->value("spec", Json::object()).value("suspend", false)) {
    o.state = WorkloadState::kExited;  // stopped: no exit code to report
    return o;
  }
  if (!pod) o.state = WorkloadState::kWaiting;
  return o;
}

runtime::Observation ObservePodAttempt(int attempt, const std::optional<Json>& pod) {
  Observation o;
  o.attempt = attempt;
  if (!pod) return o;
  // No Job: workload_name stays empty, so the status names no Job that
  // does not exist (pod_name names the pod).
  o.created_at = Time(pod->value("metadata", Json::object()), "creationTimestamp");
  ObservePod(*pod, o);
  if (o.state == WorkloadState::kExited && Str(pod->value("status", Json::object()), "reason") == "DeadlineExceeded") {
    o.deadline_exceeded = true;
  }
  return o;
}

std::optional<Json> CurrentPod(const std::vector<Json>& pods) {
  const Json* best = nullptr;
  bool best_live = false;
  std::string best_created;
  for (const Json& pod : pods) {
    const Json& meta = pod.value("metadata", Json::object());
    const bool live = !meta.contains("deletionTimestamp") || meta["deletionTimestamp"].is_null();
    const std::string created = Str(meta, "creationTimestamp");
    if (best == nullptr || (live && !best_live) || (live == best_live && created >= best_created)) {
      best = &pod;
      best_live = live;
      best_created = created;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace ctask::backends
