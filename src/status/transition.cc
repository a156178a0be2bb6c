#include "status/transition.h"

#include "status/admission.h"
#include "status/decide.h"

namespace ctask::status {

std::optional<TaskEvent> TransitionEvent(const api::ContainerTaskStatus& before,
                                         const api::ContainerTaskStatus& after) {
  if (after.phase.empty() || (before.phase == after.phase && before.reason == after.reason)) return std::nullopt;
  const bool held_up =
      after.phase == api::phase::kPending && !after.reason.empty() && after.reason != reason::kStarting;
  const bool warning = after.phase == api::phase::kFailed || held_up;
  return TaskEvent{warning ? "Warning" : "Normal", after.reason.empty() ? after.phase : after.reason, after.message};
}

std::optional<TaskEvent> SkippedStartEvent(const api::ContainerTaskStatus& before,
                                           const api::ContainerTaskStatus& after) {
  if (before.attempts != 0 || after.attempts == 0 || after.reason == reason::kStarting) return std::nullopt;
  return TaskEvent{"Normal", reason::kStarting, StartingMessage(after.attempts)};
}

std::optional<TaskEvent> AdmissionEvent(const api::ContainerTaskStatus& before, const api::ContainerTaskStatus& after) {
  const api::Condition* was = AdmittedCondition(before);
  const api::Condition* now = AdmittedCondition(after);
  if (was == nullptr || now == nullptr || was->status != "False" || now->status != "True") return std::nullopt;
  std::string message = now->message;
  if (after.admission_time) {
    const auto waited = *after.admission_time - was->last_transition_time;
    message += " after " + std::to_string(std::max<int64_t>(waited.count(), 0)) + "s in it";
  }
  return TaskEvent{"Normal", reason::kAdmitted, message};
}

}  // namespace ctask::status
