// TreeBuilder: assembles one document's JSON tree from a reader's
// start/key/value/end events (yaml_reader.h, json_reader.h), checking what
// both formats must: nesting at most kMaxNestingDepth, no duplicate keys, and
// YAML 1.1 merge keys ("<<") applied the way go-yaml v2 does (explicit keys
// win over merged ones, earlier sources over later ones, merged keys go where
// the "<<" was). Iterative, so deep input costs heap, not stack; the depth
// check is also what stops a recursive parser (yaml-cpp) early.
//
// Also records where the elements of a root "items" sequence start, so that
// the documents of a List kind keep their own line numbers.
//
// Internal to src/api. Thread-safety: one builder per parse; not
// synchronised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/json.h"
#include "api/parse_error.h"
#include "util/error.h"

namespace ctask::api::internal {

// Size of a subtree: what copying it costs, and how deep it reaches.
struct Stats {
  uint64_t nodes = 0;
  uint64_t bytes = 0;
  int height = 0;  // nesting levels of containers (0 for a scalar)
};

Stats LeafStats(const Json& value);

// A container just ended.
struct Closed {
  Json value;
  Stats stats;
  std::size_t anchor;
  int64_t line;
};

// A document as a reader finished it, before ParseDocuments replaces a List
// by its items.
struct BuiltDocument {
  Json value;
  int index;                        // 1-based position in the stream
  int64_t line;                     // where it starts
  std::vector<int64_t> item_lines;  // where the elements of a root "items" sequence start
};

// What a reader returns.
using ReadResult = std::expected<std::vector<BuiltDocument>, ParseFailure>;

class TreeBuilder {
 public:
  // Ready for the next document.
  void Reset();

  int depth() const { return static_cast<int>(stack_.size()); }
  // Whether the next scalar is a mapping key.
  bool ExpectingKey() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().has_key; }
  // Whether a container with this (non-zero) anchor is still open.
  bool IsOpen(std::size_t anchor) const;

  // Starts a mapping or sequence; refused beyond kMaxNestingDepth.
  Status Open(bool is_map, int64_t line, std::size_t anchor);
  // The next key of the open mapping ("<<" when `merge`); a duplicate is
  // refused naming both lines.
  Status Key(std::string key, int64_t line, bool merge);
  // A scalar, or a copy made for an alias.
  Status Leaf(Json value, const Stats& stats, int64_t line);
  // Ends the innermost container; the caller attaches it (after copying it
  // for an anchor).
  Result<Closed> Close();
  // Adds a finished value to the open container, or makes it the root.
  Status Attach(Json value, const Stats& stats, int64_t line);

  bool has_root() const { return has_root_; }
  Json TakeRoot() { return std::move(root_); }
  int64_t root_line() const { return root_line_; }
  // Lines where the elements of a root "items" sequence start (List kinds).
  const std::vector<int64_t>& item_lines() const { return item_lines_; }

 private:
  struct Frame {
    bool is_map = false;
    Json value;
    Stats stats;
    int64_t line = 0;
    std::size_t anchor = 0;
    // Mappings only.
    bool has_key = false;
    bool key_is_merge = false;
    std::string key;
    std::unordered_map<std::string, int64_t> key_lines;
    std::vector<Json> merges;
    std::size_t merge_position = 0;
  };

  void NoteValueStart(int64_t line);
  static void ApplyMerges(Frame& frame);

  std::vector<Frame> stack_;
  Json root_;
  bool has_root_ = false;
  int64_t root_line_ = 0;
  std::vector<int64_t> item_lines_;
};

}  // namespace ctask::api::internal
