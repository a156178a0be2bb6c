// Admission as a task's record shows it: the Admitted condition, and which
// tasks want a slot of their queue or hold one. Pure; the admitter
// (reconcile/admitter.h) decides who gets a slot, Decide writes the answer.
//
// A task holds a slot from its admission to the end of its last attempt's
// workload: through Pending, Running and the backoff before a retry, and
// while a cancelled, suspended or finished task's workload is still being
// stopped. The record says so with the Admitted condition (True), written
// before the first workload is created, so a restarted operator rebuilds
// the set of slots taken from the records alone.
#pragma once

#include <string>

#include "api/types.h"

namespace ctask::status {

inline constexpr const char* kConditionAdmitted = "Admitted";

namespace reason {
inline constexpr const char* kAdmitted = "Admitted";
inline constexpr const char* kWaitingForCapacity = "WaitingForCapacity";
}  // namespace reason

// The admitter's answer for a task that wants a slot: granted, or why not
// (reason WaitingForCapacity, and where the task stands).
struct Admission {
  // Admitted outside ctask (Kueue): no slot here, no wait here; the
  // workload's observation says whether Kueue holds it.
  bool external = false;
  bool granted = true;
  // Granted under a limit (the operator's or the queue's): the record must
  // say the slot is taken before the workload exists, so a restarted
  // operator counts it. Without one, the workload may come first.
  bool limited = false;
  std::string reason;
  std::string message;
  int64_t position = 0;  // 1-based in its queue, when refused
};

// Whether the task asks Kueue to admit it (api/kueue.h). Only a backend
// with Kueue honours it (ReconcilerOptions::kueue): then the task is never
// in ctask's book, and its Admitted condition says what Kueue did.
bool IsKueueManaged(const api::ContainerTask& task);

// A fan-out task's record neither holds nor wants a slot: each of its items
// does (status/fan_out.h gives an item's view).
//
// Whether the record says the task holds a slot: Admitted is True, or the
// task was started before the condition existed (attempts made, not
// finished, not suspended, no Admitted condition).
bool HoldsSlot(const api::ContainerTask& task);

// Whether the task needs a slot before it can start an attempt: it holds
// none, is not finished, cancelled, suspended or being deleted.
bool WantsSlot(const api::ContainerTask& task);

// The Admitted condition, or nullptr.
const api::Condition* AdmittedCondition(const api::ContainerTaskStatus& status);

}  // namespace ctask::status
