// The clocks ctask reads, named once. Code that decides from time takes a
// clock as a plain injected function (std::function<Timestamp()> for the
// wall clock status timestamps use, std::function<steady_clock::time_point()>
// for intervals, as WorkQueue's Clock), as the Job controller injects its
// clock; these are the real ones the binaries pass, and tests pass their own
// (tests/fakes/).
//
// Thread-safety: plain functions.
#pragma once

#include <chrono>

#include "util/time.h"

namespace ctask {

// The wall clock as status timestamps use it: whole seconds, UTC.
inline Timestamp WallClock() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace ctask
