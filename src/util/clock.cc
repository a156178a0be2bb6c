#include "util/clock.h"

#include "util/sleep.h"

namespace ctask {
namespace {

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point Steady() const override { return std::chrono::steady_clock::now(); }
  bool SleepFor(std::chrono::nanoseconds d, std::stop_token stop) const override { return ctask::SleepFor(d, stop); }
};

}  // namespace

const Clock& RealClock() {
  static const SystemClock clock;
  return clock;
}

Timestamp WallTimestamp(const Clock& clock) {
  return std::chrono::floor<std::chrono::seconds>(clock.Now());
}

}  // namespace ctask
