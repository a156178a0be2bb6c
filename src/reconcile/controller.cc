#include "reconcile/controller.h"

#include "api/names.h"
#include "reconcile/outcome.h"

namespace ctask::reconcile {

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {api::kDefaultNamespace, key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

Controller::Controller(TaskReconciler& reconciler, WorkQueue& queue, int workers, ResultListener on_result,
                       DurationListener on_duration, const Clock& clock)
    : reconciler_(reconciler),
      queue_(queue),
      workers_(std::max(workers, 1)),
      on_result_(std::move(on_result)),
      on_duration_(std::move(on_duration)),
      clock_(clock) {}

Controller::~Controller() {
  Stop();
}

void Controller::Start() {
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { Work(); });
}

void Controller::Stop() {
  queue_.ShutDown();
  threads_.clear();  // joins
}

void Controller::Work() {
  while (std::optional<std::string> key = queue_.Get()) {
    const auto [ns, name] = SplitKey(*key);
    const auto started = clock_.Steady();
    Result<ReconcileResult> result = reconciler_.Reconcile(ns, name);
    if (on_duration_) on_duration_(result, clock_.Steady() - started);
    const QueueCalls calls = PlanQueueCalls(result, queue_.NumRequeues(*key));
    if (calls.forget) queue_.Forget(*key);
    if (calls.count_failure) queue_.CountFailure(*key);
    if (calls.add_now) queue_.Add(*key);
    if (calls.add_rate_limited) queue_.AddRateLimited(*key);
    if (calls.add_after) queue_.AddAfter(*key, *calls.add_after, calls.add_after_priority);
    if (on_result_) on_result_(*key, result);
    queue_.Done(*key);
  }
}

}  // namespace ctask::reconcile
