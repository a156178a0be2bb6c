// TokenBucket: a budget of events per second with a burst, as
// golang.org/x/time/rate reserves it: it starts full, every Reserve takes a
// token, tokens may go into debt, and the wait returned is the time until
// the debt is repaid — so the n-th caller past the burst waits n/qps; or,
// for what may be dropped, TryTake takes a token only when one is there. Used
// by the Kubernetes client's request budget (kube/rate_limiter.h) and by the
// work queue's overall retry budget (reconcile/work_queue.h), TryTake by
// the event budget (kube/event_budget.h).
//
// Integer nanoseconds throughout (a token is worth 1s/qps of credit), so
// the arithmetic is exact and tests compare durations with ==. Driven by the
// caller's clock: nothing here sleeps.
//
// Thread-safety: a plain value; the caller serialises.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>

namespace ctask {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // qps <= 0 means unlimited; burst < 1 is taken as 1.
  TokenBucket(double qps, int burst, Clock::time_point now)
      : interval_(qps > 0 ? std::chrono::nanoseconds(std::llround(1e9 / qps)) : std::chrono::nanoseconds::zero()),
        capacity_(interval_ * std::max(burst, 1)),
        credit_(capacity_),
        last_(now) {}

  // Takes one token; how long the caller must wait before using it (zero
  // when one was there).
  std::chrono::nanoseconds Reserve(Clock::time_point now) {
    if (interval_ == std::chrono::nanoseconds::zero()) return interval_;
    Refill(now);
    credit_ -= interval_;
    return credit_ >= std::chrono::nanoseconds::zero() ? std::chrono::nanoseconds::zero() : -credit_;
  }

  // Takes one token if one is there, without going into debt (for a
  // caller that drops what it has no token for, as rate.Limiter's Allow).
  bool TryTake(Clock::time_point now) {
    if (interval_ == std::chrono::nanoseconds::zero()) return true;
    Refill(now);
    if (credit_ < interval_) return false;
    credit_ -= interval_;
    return true;
  }

 private:
  void Refill(Clock::time_point now) {
    if (now <= last_) return;
    credit_ = std::min(credit_ + std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_), capacity_);
    last_ = now;
  }

  std::chrono::nanoseconds interval_;  // one token's worth; zero: unlimited
  std::chrono::nanoseconds capacity_;  // the burst's worth
  std::chrono::nanoseconds credit_;    // below zero: owed to earlier callers
  Clock::time_point last_;
};

}  // namespace ctask
