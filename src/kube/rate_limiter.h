// RateLimiter: the client-side request budget (QPS with a burst), as
// client-go's flowcontrol token bucket: a burst of requests goes at once,
// then they are spaced to the sustained rate. It keeps one misbehaving
// controller loop from flooding the API server, which would throttle every
// other client with 429s.
//
// TokenBucket (util/token_bucket.h) is the arithmetic, pure and driven by
// the caller's clock so it is tested without sleeping; RateLimiter adds the
// waiting.
//
// Thread-safety: TokenBucket is a plain value (not thread-safe);
// RateLimiter is safe to call from many threads.
#pragma once

#include <chrono>
#include <mutex>
#include <stop_token>

#include "util/clock.h"
#include "util/token_bucket.h"

namespace ctask::kube {

// The arithmetic, shared with the work queue (util/token_bucket.h).
using ::ctask::TokenBucket;

class RateLimiter {
 public:
  // `clock` (its Steady time refills the bucket; waits are its SleepFor)
  // must outlive the limiter.
  RateLimiter(double qps, int burst, const Clock& clock = RealClock());

  // Waits for the caller's turn. Returns false, at once, if `stop` is
  // requested while waiting (the request should not be sent then).
  bool Wait(const std::stop_token& stop);

  // Takes the caller's turn without waiting: how long until it comes (zero:
  // now). For a caller that must not block (a StreamLoop's thread) and
  // schedules its request instead.
  std::chrono::nanoseconds Reserve();

 private:
  const Clock& clock_;
  std::mutex mu_;
  TokenBucket bucket_;  // guarded by mu_
};

}  // namespace ctask::kube
