#include "api/tree_builder.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "api/document.h"
#include "api/yaml_scalar.h"

namespace ctask::api::internal {

Stats LeafStats(const Json& value) {
  return Stats{1, value.is_string() ? value.get_ref<const std::string&>().size() : 0, 0};
}

void TreeBuilder::Reset() {
  stack_.clear();
  root_ = Json();
  has_root_ = false;
  root_line_ = 0;
  item_lines_.clear();
}

bool TreeBuilder::IsOpen(std::size_t anchor) const {
  for (const Frame& frame : stack_) {
    if (anchor != 0 && frame.anchor == anchor) return true;
  }
  return false;
}

Status TreeBuilder::Open(bool is_map, int64_t line, std::size_t anchor) {
  if (depth() + 1 > kMaxNestingDepth) return std::unexpected(LineError(line, NestingMessage()));
  NoteValueStart(line);
  Frame frame;
  frame.is_map = is_map;
  frame.value = is_map ? Json::object() : Json::array();
  frame.stats = Stats{1, 0, 1};
  frame.line = line;
  frame.anchor = anchor;
  stack_.push_back(std::move(frame));
  return {};
}

Status TreeBuilder::Key(std::string key, int64_t line, bool merge) {
  if (!ExpectingKey()) return std::unexpected(LineError(line, "unexpected mapping key"));
  Frame& frame = stack_.back();
  frame.has_key = true;
  frame.key_is_merge = merge;
  if (merge) {
    frame.key.clear();
    return {};
  }
  if (auto it = frame.key_lines.find(key); it != frame.key_lines.end()) {
    return std::unexpected(
        LineError(line, "duplicate key " + Quote(key) + " (first at line " + std::to_string(it->second) + ")"));
  }
  frame.stats.bytes += key.size();
  frame.key_lines.emplace(key, line);
  frame.key = std::move(key);
  return {};
}

Status TreeBuilder::Leaf(Json value, const Stats& stats, int64_t line) {
  NoteValueStart(line);
  return Attach(std::move(value), stats, line);
}

Result<Closed> TreeBuilder::Close() {
  // Parsers pair their events; this only guards against one that does not.
  if (stack_.empty()) return std::unexpected(LineError(0, "unexpected end of a collection"));
  Frame frame = std::move(stack_.back());
  stack_.pop_back();
  if (frame.is_map && !frame.merges.empty()) ApplyMerges(frame);
  return Closed{std::move(frame.value), frame.stats, frame.anchor, frame.line};
}

Status TreeBuilder::Attach(Json value, const Stats& stats, int64_t line) {
  if (stack_.empty()) {
    root_ = std::move(value);
    root_line_ = line;
    has_root_ = true;
    return {};
  }
  Frame& frame = stack_.back();
  if (frame.is_map && !frame.has_key) {
    return std::unexpected(LineError(line, "mapping value without a key"));
  }
  frame.stats.nodes += stats.nodes;
  frame.stats.bytes += stats.bytes;
  frame.stats.height = std::max(frame.stats.height, stats.height + 1);
  if (!frame.is_map) {
    frame.value.get_ref<Json::array_t&>().push_back(std::move(value));
    return {};
  }
  frame.has_key = false;
  if (!frame.key_is_merge) {
    // ordered_map's own insert searches linearly for the key; duplicates
    // are already excluded, so append directly.
    frame.value.get_ref<Json::object_t&>().emplace_back(std::move(frame.key), std::move(value));
    return {};
  }
  // "<<: *base" or "<<: [*a, *b]": YAML 1.1 merge keys, as go-yaml v2 does.
  if (frame.merges.empty()) frame.merge_position = frame.value.size();
  if (value.is_object()) {
    frame.merges.push_back(std::move(value));
    return {};
  }
  if (value.is_array() && std::all_of(value.begin(), value.end(), [](const Json& j) { return j.is_object(); })) {
    for (Json& item : value.get_ref<Json::array_t&>()) frame.merges.push_back(std::move(item));
    return {};
  }
  return std::unexpected(LineError(line, "merge key \"<<\" needs a mapping or a list of mappings"));
}

void TreeBuilder::NoteValueStart(int64_t line) {
  if (stack_.size() == 2 && stack_[0].is_map && stack_[0].has_key && !stack_[0].key_is_merge &&
      stack_[0].key == "items" && !stack_[1].is_map) {
    item_lines_.push_back(line);
  }
}

// Explicit keys win over merged ones, earlier merge sources over later
// ones; merged keys go where the "<<" was.
void TreeBuilder::ApplyMerges(Frame& frame) {
  auto& own = frame.value.get_ref<Json::object_t&>();
  Json merged = Json::object();
  auto& out = merged.get_ref<Json::object_t&>();
  const auto split = own.begin() + static_cast<std::ptrdiff_t>(std::min(frame.merge_position, own.size()));
  for (auto it = own.begin(); it != split; ++it) out.emplace_back(it->first, std::move(it->second));
  std::unordered_set<std::string> taken;
  for (Json& source : frame.merges) {
    for (auto& [key, value] : source.get_ref<Json::object_t&>()) {
      if (frame.key_lines.contains(key) || !taken.insert(key).second) continue;
      out.emplace_back(key, std::move(value));
    }
  }
  for (auto it = split; it != own.end(); ++it) out.emplace_back(it->first, std::move(it->second));
  frame.value = std::move(merged);
}

}  // namespace ctask::api::internal
