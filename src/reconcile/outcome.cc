#include "reconcile/outcome.h"

namespace ctask::reconcile {

bool IsTerminalError(const Error& error) {
  return error.code() == ErrorCode::kInvalidArgument || error.code() == ErrorCode::kPermissionDenied;
}

Outcome Classify(const Result<ReconcileResult>& result) {
  if (result) return result->requeue_after ? Outcome::kRequeueAfter : Outcome::kDone;
  if (result.error().code() == ErrorCode::kConflict) return Outcome::kConflict;
  if (IsTerminalError(result.error())) return Outcome::kTerminalError;
  return Outcome::kTransientError;
}

QueueCalls PlanQueueCalls(const Result<ReconcileResult>& result, int requeues) {
  QueueCalls calls;
  switch (Classify(result)) {
    case Outcome::kDone:
      calls.forget = true;
      break;
    case Outcome::kRequeueAfter:
      calls.forget = true;
      calls.add_after = result->requeue_after;
      calls.add_after_priority = result->requeue_priority;
      break;
    case Outcome::kConflict:
      if (requeues == 0) {
        calls.add_now = true;
        calls.count_failure = true;
      } else {
        calls.add_rate_limited = true;
      }
      break;
    case Outcome::kTransientError:
      calls.add_rate_limited = true;
      calls.report = true;
      break;
    case Outcome::kTerminalError:
      calls.forget = true;
      calls.report = true;
      break;
  }
  return calls;
}

}  // namespace ctask::reconcile
