// FakeClock: a util/clock.h Clock that moves only when the test moves it,
// as the Job controller's tests use clock.NewFakeClock. Wall time (Now) and
// steady time (Steady) start at fixed points; Advance moves both, SetWall
// sets the wall time alone (a wall clock may jump; steady time never goes
// back).
//
// SleepFor never blocks: it records the duration asked for (Sleeps()),
// advances both times by it and returns at once, so a loop that backs off
// runs its tries back to back and the test then reads which waits it asked
// for. OnSleep installs a hook called at every sleep, after it is recorded
// and outside the clock's lock: the test acts at that point (request a
// stop, wait for another thread, check a state); a hook returning false ends
// the sleep as a stop would. A stopped sleep (stop requested before, or by
// the hook) returns false without advancing. A blocked WorkQueue::Get does not sleep through the
// clock: after Advance, Poke the queue (reconcile/work_queue.h).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <stop_token>
#include <utility>
#include <vector>

#include "util/clock.h"

namespace ctask::fakes {

class FakeClock : public Clock {
 public:
  // Called by SleepFor before it advances; false ends the sleep as stopped.
  using SleepHook = std::function<bool(std::chrono::nanoseconds d, const std::stop_token& stop)>;

  // 2026-11-23T10:00:00Z, and a steady time far from zero (no epoch edge cases).
  static constexpr std::chrono::system_clock::time_point kDefaultWall{
      std::chrono::sys_days{std::chrono::year(2026) / 11 / 23} + std::chrono::hours(10)};
  static constexpr std::chrono::steady_clock::time_point kDefaultSteady{std::chrono::nanoseconds(int64_t{1} << 40)};

  explicit FakeClock(std::chrono::system_clock::time_point wall = kDefaultWall) : wall_(wall) {}

  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  std::chrono::steady_clock::time_point Steady() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }
  bool SleepFor(std::chrono::nanoseconds d, std::stop_token stop) const override {
    SleepHook hook;
    {
      std::lock_guard lock(mu_);
      sleeps_.push_back(d);
      hook = on_sleep_;
    }
    if (hook && !hook(d, stop)) return false;
    if (stop.stop_requested()) return false;
    Move(d);
    return true;
  }

  // Moves wall and steady time on by `d`.
  void Advance(std::chrono::nanoseconds d) { Move(d); }
  // Sets the wall time; steady time stays.
  void SetWall(std::chrono::system_clock::time_point wall) {
    std::lock_guard lock(mu_);
    wall_ = wall;
  }
  void OnSleep(SleepHook hook) {
    std::lock_guard lock(mu_);
    on_sleep_ = std::move(hook);
  }
  // Every SleepFor's duration, in order, stopped ones included.
  std::vector<std::chrono::nanoseconds> Sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  void Move(std::chrono::nanoseconds d) const {
    std::lock_guard lock(mu_);
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    steady_ += d;
  }

  mutable std::mutex mu_;
  mutable std::chrono::system_clock::time_point wall_;                     // guarded by mu_
  mutable std::chrono::steady_clock::time_point steady_ = kDefaultSteady;  // guarded by mu_
  mutable std::vector<std::chrono::nanoseconds> sleeps_;                   // guarded by mu_
  SleepHook on_sleep_;                                                     // guarded by mu_
};

}  // namespace ctask::fakes
