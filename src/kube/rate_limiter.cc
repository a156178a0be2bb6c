#include "kube/rate_limiter.h"

#include <algorithm>

#include "util/sleep.h"

namespace ctask::kube {

TokenBucket::TokenBucket(double qps, int burst, Clock::time_point now)
    : qps_(qps), burst_(std::max(burst, 1)), tokens_(burst_), last_(now) {}

TokenBucket::Clock::duration TokenBucket::Reserve(Clock::time_point now) {
  if (qps_ <= 0) return Clock::duration::zero();
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

RateLimiter::RateLimiter(double qps, int burst) : bucket_(qps, burst, TokenBucket::Clock::now()) {}

bool RateLimiter::Wait(const std::stop_token& stop) {
  TokenBucket::Clock::duration delay;
  {
    std::lock_guard lock(mu_);
    delay = bucket_.Reserve(TokenBucket::Clock::now());
  }
  // A stop wakes the sleep at once. The reserved token is not given back:
  // a stopping caller sends nothing more, so the budget errs on the safe side.
  return SleepFor(delay, stop);
}

}  // namespace ctask::kube
