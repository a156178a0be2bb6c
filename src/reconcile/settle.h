// ReconcileUntilSettled: drives one task's reconcile on the calling thread
// until it is settled — finished with nothing pending, or gone — for a
// command that holds a state directory only for that task (`ctask delete`
// when no other process owns the directory; `ctask run` replacing an
// earlier record of the same name). Deleting a running task takes several
// passes (stop the container, wait for the end of its log, archive it,
// remove the container, remove the record); a single Reconcile is only the
// first of them.
//
// Between passes it waits what the result asks, at most `max_wait` (the
// log follower's end re-queues in the backend's queue, which nobody reads
// here). Transient errors are retried the same way until the deadline; a
// terminal error (outcome.h) is returned at once.
#pragma once

#include <chrono>
#include <string>

#include "reconcile/task_reconciler.h"
#include "util/clock.h"
#include "util/error.h"

namespace ctask::reconcile {

struct SettleOptions {
  // By clock->Steady().
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds max_wait{200};
  // Reads the deadline and sleeps between passes; must outlive the call.
  const Clock* clock = &RealClock();
};

// true: settled. false: the deadline passed first (the last transient
// error, if any, is dropped: the task is still being worked on).
Result<bool> ReconcileUntilSettled(TaskReconciler& reconciler, const std::string& ns, const std::string& name,
                                   const SettleOptions& options);

}  // namespace ctask::reconcile
