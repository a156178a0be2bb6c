#include "reconcile/settle.h"

#include <algorithm>

#include "reconcile/outcome.h"

namespace ctask::reconcile {

Result<bool> ReconcileUntilSettled(TaskReconciler& reconciler, const std::string& ns, const std::string& name,
                                   const SettleOptions& options) {
  while (true) {
    Result<ReconcileResult> result = reconciler.Reconcile(ns, name);
    if (result && result->settled) return true;
    if (!result && IsTerminalError(result.error())) return std::unexpected(result.error());
    if (options.clock->Steady() >= options.deadline) return false;
    std::chrono::milliseconds wait = options.max_wait;
    if (result && result->requeue_after) wait = std::min(wait, *result->requeue_after);
    if (!result && result.error().code() == ErrorCode::kConflict) wait = std::chrono::milliseconds(0);
    if (wait.count() > 0) options.clock->SleepFor(wait, {});
  }
}

}  // namespace ctask::reconcile
