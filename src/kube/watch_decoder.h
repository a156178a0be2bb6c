// WatchDecoder: turns a watch response body, as it arrives in arbitrary
// chunks, into watch events. The API server streams one JSON object per line:
// {"type":"ADDED","object":{...}}; chunk boundaries are the network's, so a
// line may arrive in pieces and a chunk may hold many lines.
//
// A decoder may leave fields out of each event's object as it parses it
// (`skipped`): those subtrees are never built, where a transform applied
// afterwards frees what was built. An informer whose cache keeps little of
// each object (backends/kubernetes/slim.h) then parses its events for a
// fraction of the allocations: a Job's managedFields and pod template are
// most of a Job event.
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

// A field of an object as the keys of the objects that lead to it, e.g.
// {"metadata", "managedFields"}. Paths do not go through arrays.
using FieldPath = std::vector<std::string>;

class WatchDecoder {
 public:
  explicit WatchDecoder(std::vector<FieldPath> skipped = {});

  // The complete events in `chunk` plus what was buffered before it.
  // kUnavailable for a line that is not a watch event (the stream is broken:
  // start a new watch) or one past kMaxWatchLineBytes.
  Result<std::vector<WatchEvent>> Feed(std::string_view chunk);

  // Bytes held of an incomplete line.
  size_t Pending() const { return buffer_.size(); }

 private:
  api::Json Parse(std::string_view line) const;

  std::vector<FieldPath> skipped_;
  size_t deepest_ = 0;  // the longest skipped path
  std::string buffer_;
};

}  // namespace ctask::kube
