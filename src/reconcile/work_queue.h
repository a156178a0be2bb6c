// WorkQueue: the controller's queue of object keys ("default/hello") waiting
// to be reconciled, modelled on client-go's rate-limiting, delaying workqueue
// as controller-runtime uses it. Workers loop: Get a key, reconcile it, then
// Forget it (success) or AddRateLimited it (transient failure), and always
// Done it.
//
// Contract:
//  - Dedup: a key is queued at most once. Adding a queued key does nothing
//    but raise its priority; the reconcile is level-based, so one pass
//    covers every Add before it.
//  - Priority: keys are handed out highest priority first, FIFO within
//    one, the oldest every kOldestEvery-th time (ready_keys.h).
//  - One worker per key: a key handed out by Get is "processing" until
//    Done(key). Adding it meanwhile marks it dirty, and Done re-queues it, so
//    no key is ever reconciled by two workers at once and no Add is lost.
//  - Delays: AddAfter(key, d) queues the key once d has passed. The earliest
//    due time wins: a shorter delay replaces a pending longer one, a longer
//    one (or a delayed add of a key already queued) changes nothing, and an
//    immediate Add cancels a pending delay.
//  - Rate limiting: AddRateLimited delays the key by the larger of a per-key
//    exponential backoff and an overall token bucket (RateLimiter below),
//    client-go's DefaultControllerRateLimiter. Forget(key) clears the key's
//    backoff once it has reconciled cleanly.
//  - Shutdown: ShutDown makes every Get, blocked or future, return nullopt at
//    once, even with keys still queued: the reconcile is level-based, so a
//    dropped key is found again by the next start's full listing. Adds after
//    ShutDown are ignored; Done still works, so workers can finish their key.
//
// Time is the Steady() time of an injected Clock (util/clock.h), so tests
// drive delays with a fake clock and never sleep. Nothing runs in the
// background: delayed keys become ready when a Get (or Len) looks at the
// clock. A blocked Get sleeps on a condition variable until the earliest due
// time by the clock, measured on the real steady clock; a Clock that jumps
// (a test's fake clock) must be followed by Poke() so blocked Get callers
// look again.
//
// Observer: optional callbacks (QueueObserver below) that make the queue
// measurable — adds, retries, depth, time spent queued — without the queue
// knowing about metrics. Unset, nothing changes.
//
// Thread-safety: every method may be called from any thread. One mutex
// guards all queue state; it is held only for bookkeeping and while calling
// the Clock or the observer, never while a caller's key is being reconciled.
// The Clock and the observer must therefore not call back into the queue
// (that would deadlock) and must not block: the observer is called under the
// lock, as client-go calls its queue metrics, so that depth updates reach it
// in the order they happened.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "reconcile/ready_keys.h"
#include "util/clock.h"
#include "util/token_bucket.h"

namespace ctask::reconcile {

// client-go's DefaultControllerRateLimiter values.
//
// 100ms first retry: a conflict or a momentarily unavailable API server is
// usually gone by then, so a quick retry resolves most failures cheaply.
inline constexpr std::chrono::milliseconds kDefaultBaseDelay{100};
// 60s cap: ten doublings in, a broken object is retried once a minute, so a
// fix made by a user shows within a minute without the failing key spinning.
inline constexpr std::chrono::seconds kDefaultMaxDelay{60};
// 10 qps, burst 100: bounds what the controller as a whole sends the API
// server after a mass failure (an outage that fails every key at once),
// while a burst of ordinary retries passes undelayed.
inline constexpr int kDefaultQps = 10;
inline constexpr int kDefaultBurst = 100;

struct RateLimitOptions {
  std::chrono::nanoseconds base_delay = kDefaultBaseDelay;
  std::chrono::nanoseconds max_delay = kDefaultMaxDelay;
  int qps = kDefaultQps;  // token refill rate; must be > 0
  int burst = kDefaultBurst;
};

// How long a failed key waits before its next try: the max of
//  - per key: base_delay * 2^(failures so far), capped at max_delay
//    (util/backoff.h), and
//  - overall: a token bucket (qps, burst) like golang.org/x/time/rate: it
//    starts full, every retry takes a token, tokens may go into debt, and the
//    wait is the time until the debt is repaid.
// Every When counts as a failure of the key and takes a token.
//
// Thread-safety: none; WorkQueue calls it under its own lock.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimitOptions options, std::chrono::steady_clock::time_point now);

  std::chrono::nanoseconds When(const std::string& key, std::chrono::steady_clock::time_point now);
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

 private:
  std::chrono::nanoseconds Backoff(int failures) const;

  RateLimitOptions options_;
  std::unordered_map<std::string, int> failures_;
  TokenBucket bucket_;  // the overall budget (util/token_bucket.h)
};

// What a WorkQueue reports as it works; each callback may be left empty.
// Called with the queue's lock held: keep them to a counter or gauge update,
// and never call into the queue from one.
struct QueueObserver {
  // A key became queued: an Add (or a delayed key coming due) of a key not
  // already waiting. An add that the dedup absorbs is not reported.
  std::function<void()> added;
  // AddRateLimited was called: a failed key sent back with backoff.
  std::function<void()> retried;
  // The number of keys queued and waiting for a worker (Len without the
  // delayed keys that came due but were not yet looked at), after a change.
  std::function<void(int depth)> depth;
  // A key handed out by Get, with the time it waited since it was added (a
  // delayed key: since it came due), by the queue's Clock.
  std::function<void(std::chrono::nanoseconds waited)> waited;
};

class WorkQueue {
 public:
  // `clock` must outlive the queue.
  explicit WorkQueue(const Clock& clock = RealClock(), RateLimitOptions limits = {});
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // `priority` orders the keys waiting (ready_keys.h): a key added again
  // while it waits moves up to the higher of the two.
  void Add(const std::string& key, Priority priority = Priority::kNormal);
  // delay <= 0 is Add(key, priority); a delayed key comes due at kNormal.
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay, Priority priority = Priority::kNormal);
  void AddRateLimited(const std::string& key);

  // Counts a failure of the key (and takes a token) without queueing it:
  // for a caller that requeues at once but wants the next failure to back
  // off (a conflict, reconcile/outcome.h).
  void CountFailure(const std::string& key);

  // Clears the key's failure count (its next backoff starts at base_delay).
  // Does not dequeue the key.
  void Forget(const std::string& key);
  // Failures counted for the key since the last Forget.
  int NumRequeues(const std::string& key) const;

  // Blocks until a key is ready, then hands it out (the key is processing
  // until Done). nullopt once ShutDown has been called.
  std::optional<std::string> Get();
  // Ends processing of a key Get handed out; re-queues it if it was added
  // meanwhile. A key that is not processing is ignored.
  void Done(const std::string& key);

  void ShutDown();
  bool ShuttingDown() const;

  // Keys Get would hand out now without blocking: queued keys plus delayed
  // keys whose due time has passed (not those still processing).
  int Len() const;

  // Wakes blocked Get callers to read the clock again; needed only after a
  // fake clock jumps.
  void Poke();

  // Replaces the observer (QueueObserver{} removes it). Reports start from
  // the next change; the current depth is reported at once.
  void SetObserver(QueueObserver observer);

 private:
  struct Delayed {
    std::chrono::steady_clock::time_point due;
    uint64_t seq;  // insertion order: equal due times come out FIFO
    std::string key;
    bool operator>(const Delayed& other) const { return due != other.due ? due > other.due : seq > other.seq; }
  };

  // All *Locked methods require mu_ held.
  void AddLocked(const std::string& key, Priority priority);
  void AddAfterLocked(const std::string& key, std::chrono::nanoseconds delay, Priority priority = Priority::kNormal);
  // Moves delayed keys due by `now` into the queue.
  void PromoteDueLocked(std::chrono::steady_clock::time_point now);
  // Pops heap entries superseded by an earlier due time or by an Add.
  void DropStaleLocked();
  // Tells the observer the queue's length after a change to queue_.
  void ReportDepthLocked();

  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // signalled when Get may find a key, or must stop
  bool shutting_down_ = false;  // guarded by mu_
  // Keys to hand out, by priority, then FIFO. Invariant: in dirty_, not in
  // processing_.
  ReadyKeys ready_;  // guarded by mu_
  // Processing keys added again meanwhile: the priority Done re-queues
  // them at.
  std::unordered_map<std::string, Priority> requeue_priority_;  // guarded by mu_
  // Keys that need a reconcile: queued, or processing and to be re-queued
  // on Done.
  std::unordered_set<std::string> dirty_;  // guarded by mu_
  // Keys handed out by Get and not yet Done.
  std::unordered_set<std::string> processing_;  // guarded by mu_
  // Delayed keys and their due time; a key here is never in dirty_. The heap
  // may hold stale entries for a key (superseded due times); an entry is live
  // only if it matches waiting_due_.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> waiting_due_;  // guarded by mu_
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> waiting_;          // guarded by mu_
  uint64_t next_seq_ = 0;                                                               // guarded by mu_
  RateLimiter limiter_;                                                                 // guarded by mu_
  QueueObserver observer_;                                                              // guarded by mu_
  // When each dirty key was added, for observer_.waited; kept only while an
  // observer wants it.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> added_at_;  // guarded by mu_
};

}  // namespace ctask::reconcile
