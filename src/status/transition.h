// TransitionEvent: the Event a status change deserves. Pure, so the rule
// "an event on every transition, and only on a real one" (the Job
// controller's) is a table test, and both backends emit the same events.
//
// A transition is a change of phase or reason. The event's reason is the
// new status reason (CamelCase: Starting, Running, Completed, OOMKilled,
// Retrying, ...), its message the status message. Type Warning when the
// task failed or is held up by a named cause (ImagePullFailed, ConfigError,
// ...), Normal otherwise.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include "api/types.h"

namespace ctask::status {

struct TaskEvent {
  std::string type;  // "Normal" | "Warning"
  std::string reason;
  std::string message;
};

std::optional<TaskEvent> TransitionEvent(const api::ContainerTaskStatus& before, const api::ContainerTaskStatus& after);

// The Starting event of a first attempt whose first written status is
// already past Starting: the operator creates a first workload before any
// status (reconcile/task_reconciler.cc), so the status that first says so
// may show it running, or done. The start still happened and still gets
// its event, before TransitionEvent's.
std::optional<TaskEvent> SkippedStartEvent(const api::ContainerTaskStatus& before,
                                           const api::ContainerTaskStatus& after);

// The Event of a task admitted after waiting for a slot (Admitted went from
// False to True): reason Admitted, with how long it waited. A task admitted
// at once gets none; its Starting event says enough.
std::optional<TaskEvent> AdmissionEvent(const api::ContainerTaskStatus& before, const api::ContainerTaskStatus& after);

}  // namespace ctask::status
