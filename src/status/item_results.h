// The results document of a fan-out task (docs/fan-out.md): each finished
// item's outcome and termination message, the one artifact a step that
// runs after the task (runAfter) reads. Pure: JSON text in, JSON text out.
//
//   {"task": "map", "total": 20,
//    "items": [{"index": 0, "item": "a.txt", "phase": "Succeeded",
//               "reason": "Completed", "exitCode": 0, "attempts": 1,
//               "result": "..."}, ...]}
//
// Items are in index order. The document is bounded (kMaxResultsBytes, so
// it fits a ConfigMap): when the results together are larger, each result
// is cut to an equal share and marked "truncated": true.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ctask::status {

inline constexpr size_t kMaxResultsBytes = 900 * 1024;

struct ItemResult {
  int32_t index = 0;
  std::string item;  // spec.items[index]; empty with completions
  std::string phase;
  std::string reason;
  std::optional<int32_t> exit_code;
  int32_t attempts = 0;
  std::string result;  // the container's termination message
  bool truncated = false;
};

using ItemResults = std::map<int32_t, ItemResult>;

struct ResultsDocument {
  std::string text;
  bool truncated = false;
};

// The document for task `task_name` of `total` items; at most `limit` bytes
// when it can be (item values are never cut, results are).
ResultsDocument EncodeResults(std::string_view task_name, int32_t total, const ItemResults& results,
                              size_t limit = kMaxResultsBytes);

// The items of a document EncodeResults wrote; what cannot be read is
// left out (a hand-edited or foreign document gives what it can).
ItemResults DecodeResults(std::string_view text);

}  // namespace ctask::status
