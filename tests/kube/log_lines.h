// Timestamped pod log lines, as `GET pods/NAME/log?timestamps=true` sends
// them, for the cursor and follow tests.
#pragma once

#include <string>
#include <string_view>

namespace ctask::kube::testing {

inline constexpr const char* kT1 = "2026-11-23T15:04:05.100000000Z";
inline constexpr const char* kT2 = "2026-11-23T15:04:05.200000000Z";
inline constexpr const char* kT3 = "2026-11-23T15:04:06.000000001Z";
inline constexpr const char* kT4 = "2026-11-23T15:04:07.500000000Z";

// "<ts> <text>\n".
inline std::string L(const char* ts, std::string_view text) {
  return std::string(ts) + " " + std::string(text) + "\n";
}

}  // namespace ctask::kube::testing
