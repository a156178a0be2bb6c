// RateLimiter: the client-side request budget (QPS with a burst), as
// client-go's flowcontrol token bucket: a burst of requests goes at once,
// then they are spaced to the sustained rate. It keeps one misbehaving
// controller loop from flooding the API server, which would throttle every
// other client with 429s.
//
// TokenBucket is the arithmetic, pure and driven by the caller's clock so it
// is tested without sleeping; RateLimiter adds the waiting.
//
// Thread-safety: TokenBucket is a plain value (not thread-safe);
// RateLimiter is safe to call from many threads.
#pragma once

#include <chrono>
#include <mutex>
#include <stop_token>

namespace ctask::kube {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // qps <= 0 means unlimited; burst < 1 is taken as 1.
  TokenBucket(double qps, int burst, Clock::time_point now);

  // Takes one token and returns how long the caller must wait before using
  // it (zero when one was available). Reservations queue: the n-th caller
  // in a burst past the budget waits n/qps.
  Clock::duration Reserve(Clock::time_point now);

 private:
  double qps_;
  double burst_;
  double tokens_;  // may go negative: tokens already promised to waiters
  Clock::time_point last_;
};

class RateLimiter {
 public:
  RateLimiter(double qps, int burst);

  // Waits for the caller's turn. Returns false, at once, if `stop` is
  // requested while waiting (the request should not be sent then).
  bool Wait(const std::stop_token& stop);

 private:
  std::mutex mu_;
  TokenBucket bucket_;  // guarded by mu_
};

}  // namespace ctask::kube
