#include "reconcile/error_reports.h"

namespace ctask::reconcile {

std::optional<ErrorReport> ErrorReports::Report(const std::string& key, const Result<ReconcileResult>& result) {
  std::lock_guard lock(mu_);
  if (result) {
    last_.erase(key);
    return std::nullopt;
  }
  if (!PlanQueueCalls(result, 0).report) return std::nullopt;
  std::string& last = last_[key];
  if (last == result.error().message()) return std::nullopt;
  last = result.error().message();
  const bool terminal = Classify(result) == Outcome::kTerminalError;
  return ErrorReport{
      last, terminal,
      terminal ? "not retried: retrying cannot fix this; the task's status says why" : "retrying with backoff"};
}

}  // namespace ctask::reconcile
