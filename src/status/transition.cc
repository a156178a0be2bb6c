#include "status/transition.h"

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

}  // namespace ctask::status
