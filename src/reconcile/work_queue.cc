#include "reconcile/work_queue.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "util/backoff.h"

namespace ctask::reconcile {

using std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// ---- RateLimiter ----

RateLimiter::RateLimiter(RateLimitOptions options, TimePoint now)
    : options_(options), bucket_(std::max(options.qps, 1), options.burst, now) {}

nanoseconds RateLimiter::When(const std::string& key, TimePoint now) {
  int& failures = failures_[key];
  nanoseconds backoff = Backoff(failures);
  if (failures < std::numeric_limits<int>::max()) ++failures;
  return std::max(backoff, bucket_.Reserve(now));
}

void RateLimiter::Forget(const std::string& key) {
  failures_.erase(key);
}

int RateLimiter::NumRequeues(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

nanoseconds RateLimiter::Backoff(int failures) const {
  return ExponentialBackoff(options_.base_delay, options_.max_delay, failures);
}

// ---- WorkQueue ----

WorkQueue::WorkQueue(const Clock& clock, RateLimitOptions limits) : clock_(clock), limiter_(limits, clock_.Steady()) {}

void WorkQueue::Add(const std::string& key, Priority priority) {
  std::lock_guard lock(mu_);
  AddLocked(key, priority);
}

void WorkQueue::AddAfter(const std::string& key, nanoseconds delay, Priority priority) {
  std::lock_guard lock(mu_);
  AddAfterLocked(key, delay, priority);
}

void WorkQueue::AddRateLimited(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (observer_.retried) observer_.retried();
  AddAfterLocked(key, limiter_.When(key, clock_.Steady()));
}

void WorkQueue::CountFailure(const std::string& key) {
  std::lock_guard lock(mu_);
  limiter_.When(key, clock_.Steady());
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  limiter_.Forget(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  return limiter_.NumRequeues(key);
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock lock(mu_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    TimePoint now = clock_.Steady();
    PromoteDueLocked(now);
    if (std::optional<std::string> next = ready_.Pop()) {
      std::string key = std::move(*next);
      dirty_.erase(key);
      processing_.insert(key);
      ReportDepthLocked();
      if (auto added = added_at_.find(key); added != added_at_.end()) {
        if (observer_.waited) observer_.waited(now - added->second);
        added_at_.erase(added);
      }
      // A promotion may have readied several keys while other callers sleep
      // on a later deadline: pass the wake-up on.
      if (!ready_.empty()) cv_.notify_one();
      return key;
    }
    DropStaleLocked();
    if (waiting_.empty()) {
      cv_.wait(lock);
    } else {
      // The wait is measured on the real steady clock (wait_for) whatever
      // clock_ is; a fake clock that jumps is followed by Poke.
      cv_.wait_for(lock, waiting_.top().due - now);
    }
  }
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard lock(mu_);
  if (processing_.erase(key) == 0) return;
  Priority priority = Priority::kNormal;
  if (auto it = requeue_priority_.find(key); it != requeue_priority_.end()) {
    priority = it->second;
    requeue_priority_.erase(it);
  }
  if (dirty_.contains(key)) {
    ready_.Push(key, priority);
    ReportDepthLocked();
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

int WorkQueue::Len() const {
  std::lock_guard lock(mu_);
  TimePoint now = clock_.Steady();
  size_t ready = ready_.size();
  for (const auto& [key, due] : waiting_due_) {
    if (due <= now && !processing_.contains(key)) ++ready;
  }
  return static_cast<int>(ready);
}

void WorkQueue::Poke() {
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

void WorkQueue::SetObserver(QueueObserver observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
  if (!observer_.waited) added_at_.clear();
  ReportDepthLocked();
}

void WorkQueue::ReportDepthLocked() {
  if (observer_.depth) observer_.depth(static_cast<int>(ready_.size()));
}

void WorkQueue::AddLocked(const std::string& key, Priority priority) {
  if (shutting_down_) return;
  // Now is earlier than any pending due time: the delayed entry is moot.
  waiting_due_.erase(key);
  const bool processing = processing_.contains(key);
  if (!dirty_.insert(key).second) {
    // Waiting already: at most moved up.
    if (processing) {
      Priority& later = requeue_priority_[key];
      later = std::max(later, priority);
    } else {
      ready_.Push(key, priority);
    }
    return;
  }
  if (observer_.added) observer_.added();
  if (observer_.waited) added_at_.emplace(key, clock_.Steady());
  if (processing) {
    requeue_priority_[key] = priority;  // Done re-queues it
    return;
  }
  ready_.Push(key, priority);
  ReportDepthLocked();
  cv_.notify_one();
}

void WorkQueue::AddAfterLocked(const std::string& key, nanoseconds delay, Priority priority) {
  if (shutting_down_) return;
  if (delay <= nanoseconds::zero()) {
    AddLocked(key, priority);
    return;
  }
  // Queued, or due again on Done: either is sooner than any delay.
  if (dirty_.contains(key)) return;
  TimePoint due = clock_.Steady() + delay;
  auto [it, inserted] = waiting_due_.try_emplace(key, due);
  if (!inserted) {
    if (it->second <= due) return;  // the earlier due time wins
    it->second = due;               // the old heap entry goes stale
  }
  waiting_.push(Delayed{due, next_seq_++, key});
  // Every blocked Get recomputes its deadline: the earliest may have moved.
  cv_.notify_all();
}

void WorkQueue::PromoteDueLocked(TimePoint now) {
  while (!waiting_.empty() && waiting_.top().due <= now) {
    Delayed entry = waiting_.top();
    waiting_.pop();
    auto it = waiting_due_.find(entry.key);
    if (it == waiting_due_.end() || it->second != entry.due) continue;  // stale
    waiting_due_.erase(it);
    AddLocked(entry.key, Priority::kNormal);
    // Waiting for a worker began when the key came due, not when a Get
    // noticed.
    if (auto added = added_at_.find(entry.key); added != added_at_.end()) added->second = entry.due;
  }
}

void WorkQueue::DropStaleLocked() {
  while (!waiting_.empty()) {
    const Delayed& top = waiting_.top();
    auto it = waiting_due_.find(top.key);
    if (it != waiting_due_.end() && it->second == top.due) return;
    waiting_.pop();
  }
}

}  // namespace ctask::reconcile
