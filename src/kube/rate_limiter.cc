#include "kube/rate_limiter.h"

#include <algorithm>

namespace ctask::kube {

RateLimiter::RateLimiter(double qps, int burst, const Clock& clock)
    : clock_(clock), bucket_(qps, burst, clock_.Steady()) {}

std::chrono::nanoseconds RateLimiter::Reserve() {
  std::lock_guard lock(mu_);
  return bucket_.Reserve(clock_.Steady());
}

bool RateLimiter::Wait(const std::stop_token& stop) {
  const std::chrono::nanoseconds delay = Reserve();
  // A stop wakes the sleep at once. The reserved token is not given back:
  // a stopping caller sends nothing more, so the budget errs on the safe side.
  return clock_.SleepFor(delay, stop);
}

}  // namespace ctask::kube
