// ErrorReports: which reconcile errors deserve a log line, so that a key
// failing the same way on every retry is reported once, not once per
// backoff step. A key's error is reported when its message changes, again
// after the key reconciled cleanly, and never for a conflict (a requeue,
// not a problem: reconcile/outcome.h).
//
// Thread-safety: Report may be called from every worker at once.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "reconcile/outcome.h"
#include "reconcile/task_reconciler.h"

namespace ctask::reconcile {

struct ErrorReport {
  std::string message;    // the error's message
  bool terminal = false;  // not retried (outcome.h): say so, not "retrying"
  // "retrying with backoff", or "not retried: ..." for a terminal error.
  std::string what_next;
};

class ErrorReports {
 public:
  std::optional<ErrorReport> Report(const std::string& key, const Result<ReconcileResult>& result);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> last_;  // key -> last reported message; guarded by mu_
};

}  // namespace ctask::reconcile
