// SleepFor: a sleep that a stop token cuts short, for backoffs and rate
// limits in threads that must stop promptly.
//
// Thread-safety: a plain function.
#pragma once

#include <chrono>
#include <stop_token>

namespace ctask {

// Sleeps `duration`, or less if `stop` is requested. Returns false when it
// was stopped (before or during the sleep).
bool SleepFor(std::chrono::nanoseconds duration, const std::stop_token& stop);

}  // namespace ctask
