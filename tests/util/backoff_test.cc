// ExponentialBackoff: doubling, the cap, and the edges (no failures, a
// start above the cap, a zero start, failures enough to overflow).
#include "util/backoff.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace ctask {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(ExponentialBackoffTest, DoublesFromInitialUpToTheCap) {
  const milliseconds want[] = {100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms, 6400ms, 12800ms, 25600ms, 51200ms, 60s, 60s};
  for (int failures = 0; failures < static_cast<int>(std::size(want)); ++failures) {
    EXPECT_EQ(ExponentialBackoff(milliseconds(100), milliseconds(60s), failures), want[failures])
        << failures << " failures";
  }
}

TEST(ExponentialBackoffTest, NoFailuresIsTheInitialWait) {
  EXPECT_EQ(ExponentialBackoff(seconds(10), seconds(600), 0), 10s);
  EXPECT_EQ(ExponentialBackoff(seconds(10), seconds(600), -3), 10s);
}

TEST(ExponentialBackoffTest, TheCapHoldsWithoutOverflow) {
  EXPECT_EQ(ExponentialBackoff(nanoseconds(1), nanoseconds(60s), std::numeric_limits<int>::max()), 60s);
  const nanoseconds huge = nanoseconds::max();
  EXPECT_EQ(ExponentialBackoff(huge / 3, huge, 5), huge);
  EXPECT_EQ(ExponentialBackoff(seconds(std::numeric_limits<int64_t>::max() / 2 + 1), seconds::max(), 1),
            seconds::max());
}

TEST(ExponentialBackoffTest, AnInitialAboveTheCapIsTheCap) {
  EXPECT_EQ(ExponentialBackoff(seconds(900), seconds(600), 0), 600s);
  EXPECT_EQ(ExponentialBackoff(seconds(900), seconds(600), 4), 600s);
}

TEST(ExponentialBackoffTest, AZeroInitialStaysZero) {
  EXPECT_EQ(ExponentialBackoff(seconds(0), seconds(600), 0), 0s);
  EXPECT_EQ(ExponentialBackoff(seconds(0), seconds(600), 1000), 0s);
}

TEST(ExponentialBackoffTest, ExactPowersReachTheCapExactly) {
  EXPECT_EQ(ExponentialBackoff(milliseconds(200), milliseconds(3200), 4), 3200ms);
  EXPECT_EQ(ExponentialBackoff(milliseconds(200), milliseconds(3200), 3), 1600ms);
}

}  // namespace
}  // namespace ctask
