// ExponentialBackoff: the wait before the next try after `failures` failed
// ones, as client-go's ItemExponentialFailureRateLimiter computes it:
// `initial` doubled once per failure, capped at `max`. The work queue's
// per-key retries, the reflector's relists, the log follower's re-follows
// and a task's retry backoff (status/decide.h) all use it.
//
// Contract: failures <= 0 gives `initial`; the result never exceeds `max`
// (so an `initial` above `max` gives `max`); a non-positive `initial` is not
// doubled. Doubling stops at the cap, so any number of failures is safe:
// no overflow, at most 63 doublings.
//
// Thread-safety: a pure function.
#pragma once

#include <algorithm>
#include <chrono>

namespace ctask {

template <typename Rep, typename Period>
constexpr std::chrono::duration<Rep, Period> ExponentialBackoff(std::chrono::duration<Rep, Period> initial,
                                                                std::chrono::duration<Rep, Period> max, int failures) {
  using Duration = std::chrono::duration<Rep, Period>;
  if (initial <= Duration::zero()) return std::min(initial, max);
  Duration delay = initial;
  for (int i = 0; i < failures && delay < max; ++i) {
    if (delay > max / 2) return max;  // doubling would pass the cap (or overflow)
    delay *= 2;
  }
  return std::min(delay, max);
}

}  // namespace ctask
