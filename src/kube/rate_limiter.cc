#include "kube/rate_limiter.h"

#include <algorithm>

#include "util/sleep.h"

namespace ctask::kube {

RateLimiter::RateLimiter(double qps, int burst) : bucket_(qps, burst, TokenBucket::Clock::now()) {}

bool RateLimiter::Wait(const std::stop_token& stop) {
  std::chrono::nanoseconds delay;
  {
    std::lock_guard lock(mu_);
    delay = bucket_.Reserve(TokenBucket::Clock::now());
  }
  // A stop wakes the sleep at once. The reserved token is not given back:
  // a stopping caller sends nothing more, so the budget errs on the safe side.
  return SleepFor(delay, stop);
}

}  // namespace ctask::kube
