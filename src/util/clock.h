// Clock: the one source of time in ctask, injected wherever code reads the
// time or waits for it to pass, as the Job controller injects its `clock`
// field. The binaries pass RealClock(); tests pass a fake that moves only
// when told to (tests/fakes/fake_clock.h), so no test depends on wall time.
//
// Two time lines, for two purposes:
//  - Now(): wall time (system_clock), for what people and the API read:
//    status timestamps, Lease times, event times, log lines. It may jump.
//  - Steady(): monotonic time (steady_clock), for intervals, deadlines and
//    expiry, which must not jump when the wall clock is set.
// SleepFor waits a duration, cut short by a stop token: the waits of
// backoffs and rate limits go through it, so a fake clock can skip them.
//
// Thread-safety: an implementation must be safe to call from any thread;
// RealClock() is.
#pragma once

#include <chrono>
#include <stop_token>

#include "util/time.h"

namespace ctask {

class Clock {
 public:
  virtual ~Clock() = default;

  // Wall time.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for intervals.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;
  // Sleeps `d`, or less when `stop` is requested; returns false if stopped
  // (before or during the sleep).
  virtual bool SleepFor(std::chrono::nanoseconds d, std::stop_token stop) const = 0;
};

// The process's real clock: system_clock, steady_clock, and util/sleep.h's
// SleepFor. Lives as long as the process.
const Clock& RealClock();

// The wall time as status timestamps use it: whole seconds, UTC.
Timestamp WallTimestamp(const Clock& clock);

// WallTimestamp(RealClock()), for the command line's own use (controller/).
inline Timestamp WallClock() {
  return WallTimestamp(RealClock());
}

}  // namespace ctask
