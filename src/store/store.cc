#include "store/store.h"

#include <cstdio>

namespace ctask::store {

std::string TruncationMarker(int64_t dropped_bytes) {
  char buffer[96];
  const int length =
      std::snprintf(buffer, sizeof buffer, kTruncationMarkerFormat, static_cast<long long>(dropped_bytes));
  return std::string(buffer, static_cast<std::size_t>(length));
}

}  // namespace ctask::store
