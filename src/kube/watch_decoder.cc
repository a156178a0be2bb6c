#include "kube/watch_decoder.h"

#include <utility>

namespace ctask::kube {

Result<std::vector<WatchEvent>> WatchDecoder::Feed(std::string_view chunk) {
  buffer_.append(chunk);
  std::vector<WatchEvent> events;
  size_t start = 0;
  for (size_t end = buffer_.find('\n'); end != std::string::npos; end = buffer_.find('\n', start)) {
    std::string_view line(buffer_.data() + start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    api::Json parsed = api::Json::parse(line, nullptr, /*allow_exceptions=*/false);
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
