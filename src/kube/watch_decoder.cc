#include "kube/watch_decoder.h"

#include <algorithm>
#include <utility>

namespace ctask::kube {

WatchDecoder::WatchDecoder(std::vector<FieldPath> skipped) : skipped_(std::move(skipped)) {
  for (const FieldPath& path : skipped_) deepest_ = std::max(deepest_, path.size());
}

api::Json WatchDecoder::Parse(std::string_view line) const {
  if (skipped_.empty()) return api::Json::parse(line, nullptr, /*allow_exceptions=*/false);
  // The line is {"type": ..., "object": {...}}: a key at depth 1 is the
  // event's, the object's own keys are at depth 2, theirs at 3, and so on.
  // keys[d] is the latest key seen at depth d, so while a key at depth d is
  // parsed, keys[1..d-1] are the keys of the objects it is inside.
  constexpr size_t kObjectDepth = 2;
  std::vector<std::string> keys(kObjectDepth + deepest_);
  auto keep = [&](int depth, api::Json::parse_event_t event, api::Json& parsed) {
    if (event != api::Json::parse_event_t::key) return true;
    const auto d = static_cast<size_t>(depth);
    if (d >= keys.size()) return true;  // deeper than any skipped path
    keys[d] = parsed.get_ref<const std::string&>();
    if (d < kObjectDepth || keys[1] != "object") return true;
    for (const FieldPath& path : skipped_) {
      if (path.size() != d - kObjectDepth + 1) continue;
      if (std::equal(path.begin(), path.end(), keys.begin() + kObjectDepth)) return false;
    }
    return true;
  };
  return api::Json::parse(line, keep, /*allow_exceptions=*/false);
}

Result<std::vector<WatchEvent>> WatchDecoder::Feed(std::string_view chunk) {
  buffer_.append(chunk);
  std::vector<WatchEvent> events;
  size_t start = 0;
  for (size_t end = buffer_.find('\n'); end != std::string::npos; end = buffer_.find('\n', start)) {
    std::string_view line(buffer_.data() + start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    api::Json parsed = Parse(line);
    if (!parsed.is_object() || !parsed.contains("type") || !parsed["type"].is_string() || !parsed.contains("object") ||
        !parsed["object"].is_object()) {
      buffer_.clear();
      return MakeError(ErrorCode::kUnavailable, "the watch stream sent a line that is not a watch event (" +
                                                    std::to_string(line.size()) + " bytes)");
    }
    events.push_back(WatchEvent{parsed["type"].get<std::string>(), std::move(parsed["object"])});
  }
  buffer_.erase(0, start);
  if (buffer_.size() > kMaxWatchLineBytes) {
    buffer_.clear();
    return MakeError(ErrorCode::kUnavailable,
                     "the watch stream sent an event larger than " + std::to_string(kMaxWatchLineBytes) + " bytes");
  }
  return events;
}

}  // namespace ctask::kube
