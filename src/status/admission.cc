#include "status/admission.h"

#include "api/kueue.h"
#include "status/decide.h"

namespace ctask::status {

const api::Condition* AdmittedCondition(const api::ContainerTaskStatus& status) {
  for (const api::Condition& c : status.conditions) {
    if (c.type == kConditionAdmitted) return &c;
  }
  return nullptr;
}

bool IsKueueManaged(const api::ContainerTask& task) {
  return !api::KueueQueueName(task.metadata.labels).empty();
}

namespace {

// A fan-out task's record: its items take the slots, never the task itself.
bool IsFanOutRecord(const api::ContainerTask& task) {
  return !task.item && (task.spec.completions.has_value() || !task.spec.items.empty());
}

}  // namespace

bool HoldsSlot(const api::ContainerTask& task) {
  if (IsFanOutRecord(task)) return false;
  const api::ContainerTaskStatus& st = task.status;
  if (const api::Condition* admitted = AdmittedCondition(st)) return admitted->status == "True";
  return st.attempts > 0 && !IsTerminal(st.phase) && st.phase != api::phase::kSuspended;
}

bool WantsSlot(const api::ContainerTask& task) {
  // Held back by its dependencies: not in any queue until they succeed.
  if (task.status.reason == "WaitingForDependencies") return false;
  return !IsFanOutRecord(task) && !HoldsSlot(task) && !IsTerminal(task.status.phase) && !task.spec.suspend &&
         !task.spec.cancel && !task.metadata.deletion_timestamp;
}

}  // namespace ctask::status
