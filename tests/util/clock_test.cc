// The real clock's contract (a stop ends a sleep; whole-second wall
// timestamps) and the fake clock the other suites drive time with.
#include "util/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>
#include <thread>

#include "fakes/fake_clock.h"

namespace ctask {
namespace {

using namespace std::chrono_literals;

TEST(RealClockTest, AStoppedSleepReturnsFalseAtOnce) {
  std::stop_source stop;
  stop.request_stop();
  EXPECT_FALSE(RealClock().SleepFor(1h, stop.get_token()));
}

TEST(RealClockTest, AStopEndsALongSleep) {
  // Whether the stop lands before the sleep starts or during it, the sleep
  // returns false; a sleep that ignored it would hang the test for an hour.
  std::stop_source stop;
  bool slept = true;
  std::jthread sleeper([&] { slept = RealClock().SleepFor(1h, stop.get_token()); });
  stop.request_stop();
  sleeper.join();
  EXPECT_FALSE(slept);
}

TEST(RealClockTest, AZeroSleepReturnsTrue) {
  EXPECT_TRUE(RealClock().SleepFor(0ns, {}));
}

TEST(WallTimestampTest, WholeSecondsOfTheClocksWallTime) {
  const auto t = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 18h + 999ms;
  fakes::FakeClock clock(t);
  EXPECT_EQ(FormatRfc3339(WallTimestamp(clock)), "2026-11-23T18:00:00Z");
}

TEST(FakeClockTest, AdvanceMovesBothTimesAndSetWallOnlyTheWall) {
  fakes::FakeClock clock;
  const auto wall = clock.Now();
  const auto steady = clock.Steady();
  clock.Advance(1500ms);
  EXPECT_EQ(clock.Now() - wall, 1500ms);
  EXPECT_EQ(clock.Steady() - steady, 1500ms);
  clock.SetWall(wall - 1h);
  EXPECT_EQ(clock.Now(), wall - 1h);
  EXPECT_EQ(clock.Steady() - steady, 1500ms);
}

TEST(FakeClockTest, SleepForRecordsAndAdvancesWithoutBlocking) {
  fakes::FakeClock clock;
  const auto steady = clock.Steady();
  EXPECT_TRUE(clock.SleepFor(1h, {}));
  EXPECT_TRUE(clock.SleepFor(2s, {}));
  EXPECT_EQ(clock.Steady() - steady, 1h + 2s);
  EXPECT_EQ(clock.Sleeps(), (std::vector<std::chrono::nanoseconds>{1h, 2s}));
}

TEST(FakeClockTest, AStopOrAHookEndsTheSleepWithoutAdvancing) {
  fakes::FakeClock clock;
  const auto steady = clock.Steady();
  std::stop_source stop;
  clock.OnSleep([&](std::chrono::nanoseconds, const std::stop_token&) {
    stop.request_stop();
    return true;
  });
  EXPECT_FALSE(clock.SleepFor(1s, stop.get_token()));
  clock.OnSleep([](std::chrono::nanoseconds, const std::stop_token&) { return false; });
  EXPECT_FALSE(clock.SleepFor(1s, {}));
  EXPECT_EQ(clock.Steady(), steady);
  EXPECT_EQ(clock.Sleeps().size(), 2u);
}

}  // namespace
}  // namespace ctask
