#include "kube/event_budget.h"

namespace ctask::kube {

EventBudget::EventBudget(EventBudgetOptions options, TokenBucket::Clock::time_point now)
    : options_(options), normal_(options.normal_qps, options.normal_burst, now) {}

EventBudget::PerObject& EventBudget::BucketOf(const std::string& object, TokenBucket::Clock::time_point now) {
  auto it = buckets_.find(object);
  if (it != buckets_.end()) {
    recent_.splice(recent_.begin(), recent_, it->second.age);
    return it->second;
  }
  if (buckets_.size() >= options_.max_objects && !recent_.empty()) {
    buckets_.erase(recent_.back());
    recent_.pop_back();
  }
  recent_.push_front(object);
  auto [added, fresh] = buckets_.emplace(
      object, PerObject{TokenBucket(options_.per_object_qps, options_.per_object_burst, now), recent_.begin()});
  return added->second;
}

EventBudget::Verdict EventBudget::Admit(const std::string& object, bool warning, TokenBucket::Clock::time_point now) {
  PerObject& own = BucketOf(object, now);
  // The operator-wide budget first: a Normal event it drops must not use
  // up its object's allowance too.
  if (!warning && !normal_.TryTake(now)) return Verdict::kOverNormalBudget;
  if (!own.bucket.TryTake(now)) return Verdict::kOverObjectBudget;
  return Verdict::kWrite;
}

}  // namespace ctask::kube
