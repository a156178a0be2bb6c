// EventBudget: which Events the recorder writes, so that a burst of tasks
// does not cost the API server an Event create per transition per task.
// Two limits, both token buckets that drop what they have no token for:
//
//  - per involved object, client-go's EventCorrelator spam filter: 25 at
//    once, then one per 5 minutes (a task that flaps cannot flood its own
//    event list);
//  - across the operator, for Normal events only: 5 per second, 50 at
//    once. Warnings (a failure, a refusal, a held-up start) are exempt:
//    they are what a user looks for. Normal events of a busy operator are
//    thinned instead; a task's status, not its events, is the record of
//    what happened (DESIGN.md), so nothing a user relies on is lost.
//
// The per-object buckets are kept for the 4,096 objects heard of most
// recently (client-go's LRU bound), so memory does not grow with the
// number of tasks ever seen.
//
// Thread-safety: a plain value; the caller serialises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

#include "util/token_bucket.h"

namespace ctask::kube {

struct EventBudgetOptions {
  double normal_qps = 5;
  int normal_burst = 50;
  double per_object_qps = 1.0 / 300;
  int per_object_burst = 25;
  size_t max_objects = 4096;
};

class EventBudget {
 public:
  enum class Verdict { kWrite, kOverObjectBudget, kOverNormalBudget };

  explicit EventBudget(EventBudgetOptions options, TokenBucket::Clock::time_point now);

  // Whether an event about `object` (its uid, or namespace/name) may be
  // written now; a Write takes its tokens.
  Verdict Admit(const std::string& object, bool warning, TokenBucket::Clock::time_point now);

  size_t objects() const { return buckets_.size(); }

 private:
  struct PerObject {
    TokenBucket bucket;
    std::list<std::string>::iterator age;  // in recent_
  };
  PerObject& BucketOf(const std::string& object, TokenBucket::Clock::time_point now);

  const EventBudgetOptions options_;
  TokenBucket normal_;
  std::unordered_map<std::string, PerObject> buckets_;
  std::list<std::string> recent_;  // most recently heard of first
};

}  // namespace ctask::kube
