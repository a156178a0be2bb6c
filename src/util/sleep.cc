#include "util/sleep.h"

#include <condition_variable>
#include <mutex>

namespace ctask {

bool SleepFor(std::chrono::nanoseconds duration, const std::stop_token& stop) {
  if (stop.stop_requested()) return false;
  if (duration <= std::chrono::nanoseconds::zero()) return true;
  std::mutex mu;
  std::condition_variable_any sleeper;
  std::unique_lock lock(mu);
  sleeper.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

}  // namespace ctask
