// WatchDecoder: turns a watch response body, as it arrives in arbitrary
// chunks, into watch events. The API server streams one JSON object per line:
// {"type":"ADDED","object":{...}}; chunk boundaries are the network's, so a
// line may arrive in pieces and a chunk may hold many lines.
//
// Thread-safety: a plain value; one decoder per stream.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "util/error.h"

namespace ctask::kube {

struct WatchEvent {
  // ADDED, MODIFIED, DELETED, BOOKMARK (only metadata.resourceVersion is
  // meaningful) or ERROR (the object is a metav1.Status).
  std::string type;
  api::Json object;
};

// A single event larger than this ends the stream with an error instead of
// growing without bound (the API server limits objects to ~1.5 MiB in etcd).
inline constexpr size_t kMaxWatchLineBytes = size_t{16} * 1024 * 1024;

class WatchDecoder {
 public:
  // The complete events in `chunk` plus what was buffered before it.
  // kUnavailable for a line that is not a watch event (the stream is broken:
  // start a new watch) or one past kMaxWatchLineBytes.
  Result<std::vector<WatchEvent>> Feed(std::string_view chunk);

  // Bytes held of an incomplete line.
  size_t Pending() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

}  // namespace ctask::kube
