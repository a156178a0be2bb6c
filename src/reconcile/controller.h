// Controller: worker threads that take keys off a WorkQueue and reconcile
// them, the controller-runtime loop. What each result asks of the queue is
// reconcile/outcome.h's contract: a clean pass forgets the key's backoff and
// comes back when the result asks (a deadline, a backoff, a TTL) or when
// someone Adds the key (a file changed, a log follow ended); a conflict comes
// back at once; a transient error backs off; a terminal error is not retried.
//
// Thread-safety: Start and Stop from one thread; the queue and the reconciler
// are shared with the workers.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "reconcile/task_reconciler.h"
#include "reconcile/work_queue.h"
#include "util/clock.h"

namespace ctask::reconcile {

// Told the outcome of every reconcile, on the worker's thread.
using ResultListener = std::function<void(const std::string& key, const Result<ReconcileResult>& result)>;
// Told how long every reconcile took, and its outcome (for metrics).
using DurationListener = std::function<void(const Result<ReconcileResult>& result, std::chrono::nanoseconds duration)>;

class Controller {
 public:
  // `reconciler`, `queue` and `clock` (which times each reconcile) must
  // outlive the controller.
  Controller(TaskReconciler& reconciler, WorkQueue& queue, int workers, ResultListener on_result = {},
             DurationListener on_duration = {}, const Clock& clock = RealClock());
  ~Controller();  // Stop()

  void Start();
  // Shuts the queue down and waits for the workers to finish their key.
  void Stop();

 private:
  void Work();

  TaskReconciler& reconciler_;
  WorkQueue& queue_;
  const int workers_;
  const ResultListener on_result_;
  const DurationListener on_duration_;
  const Clock& clock_;
  std::vector<std::jthread> threads_;
};

// Splits "namespace/name"; a key without "/" is in "default".
std::pair<std::string, std::string> SplitKey(const std::string& key);

}  // namespace ctask::reconcile
