// TokenBucket arithmetic on explicit time points (no sleeping), and
// RateLimiter's waits on a fake clock: what it asks to wait, and its return
// on stop.
#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>
#include <vector>

#include "fakes/fake_clock.h"

namespace ctask::kube {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

TEST(TokenBucketTest, BurstGoesAtOnceThenSpacedAtRate) {
  const Clock::time_point t0{};
  TokenBucket bucket(10, 3, t0);
  EXPECT_EQ(bucket.Reserve(t0), Clock::duration::zero());
  EXPECT_EQ(bucket.Reserve(t0), Clock::duration::zero());
  EXPECT_EQ(bucket.Reserve(t0), Clock::duration::zero());
  // Past the burst, reservations queue at 1/qps each.
  EXPECT_EQ(bucket.Reserve(t0), Clock::duration(100ms));
  EXPECT_EQ(bucket.Reserve(t0), Clock::duration(200ms));
}

TEST(TokenBucketTest, TimeRefillsTokens) {
  const Clock::time_point t0{};
  TokenBucket bucket(10, 1, t0);
  EXPECT_EQ(bucket.Reserve(t0), Clock::duration::zero());
  EXPECT_EQ(bucket.Reserve(t0 + 100ms), Clock::duration::zero());
  EXPECT_EQ(bucket.Reserve(t0 + 150ms), Clock::duration(50ms));
}

TEST(TokenBucketTest, RefillIsCappedAtBurst) {
  const Clock::time_point t0{};
  TokenBucket bucket(10, 2, t0);
  const Clock::time_point later = t0 + 1h;
  EXPECT_EQ(bucket.Reserve(later), Clock::duration::zero());
  EXPECT_EQ(bucket.Reserve(later), Clock::duration::zero());
  EXPECT_EQ(bucket.Reserve(later), Clock::duration(100ms));
}

TEST(TokenBucketTest, BurstBelowOneIsOne) {
  const Clock::time_point t0{};
  TokenBucket bucket(10, 0, t0);
  EXPECT_EQ(bucket.Reserve(t0), Clock::duration::zero());
  EXPECT_EQ(bucket.Reserve(t0), Clock::duration(100ms));
}

TEST(TokenBucketTest, NonPositiveQpsIsUnlimited) {
  const Clock::time_point t0{};
  for (const double qps : {0.0, -1.0}) {
    TokenBucket bucket(qps, 1, t0);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(bucket.Reserve(t0), Clock::duration::zero());
  }
}

TEST(RateLimiterTest, WaitWithinBurstReturnsTrue) {
  RateLimiter limiter(1, 2);
  EXPECT_TRUE(limiter.Wait({}));
  EXPECT_TRUE(limiter.Wait({}));
}

TEST(RateLimiterTest, StopDuringWaitReturnsFalse) {
  fakes::FakeClock clock;
  RateLimiter limiter(0.0001, 1, clock);  // the second token is ~3 hours away
  ASSERT_TRUE(limiter.Wait({}));
  std::stop_source stop;
  // The stop comes while the caller waits for its token; the real clock's
  // sleep ends on it at once (tests/util/clock_test.cc).
  clock.OnSleep([&](std::chrono::nanoseconds, const std::stop_token&) {
    stop.request_stop();
    return true;
  });
  EXPECT_FALSE(limiter.Wait(stop.get_token()));
  EXPECT_EQ(clock.Sleeps(), (std::vector<std::chrono::nanoseconds>{0s, 10'000s}));
}

TEST(RateLimiterTest, AlreadyStoppedReturnsFalse) {
  RateLimiter limiter(0, 1);
  std::stop_source stop;
  stop.request_stop();
  EXPECT_FALSE(limiter.Wait(stop.get_token()));
}

}  // namespace
}  // namespace ctask::kube
