#include "kube/log_follower.h"

#include <algorithm>
#include <utility>

namespace ctask::kube {

std::optional<LogTime> ParseLogTime(std::string_view text) {
  std::optional<Timestamp> seconds = ParseRfc3339(text);
  if (!seconds) return std::nullopt;
  LogTime out{*seconds, 0};
  // ParseRfc3339 checked the shape; a fraction, when there is one, starts at 19.
  if (text.size() > 19 && text[19] == '.') {
    int digits = 0;
    for (size_t i = 20; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (digits < 9) out.nanos = out.nanos * 10 + (text[i] - '0');
      ++digits;
    }
    for (; digits < 9; ++digits) out.nanos *= 10;
  }
  return out;
}

std::optional<TimestampedLine> SplitTimestamp(std::string_view line) {
  size_t end = line.find_first_of(" \n");
  if (end == std::string_view::npos) end = line.size();
  std::optional<LogTime> time = ParseLogTime(line.substr(0, end));
  if (!time) return std::nullopt;
  if (end < line.size() && line[end] == ' ') ++end;
  return TimestampedLine{*time, line.substr(end)};
}

bool LogCursor::Feed(std::string_view chunk, const LineCallback& emit) {
  const size_t search_from = held_.size();
  held_.append(chunk);
  size_t start = 0;
  bool go_on = true;
  for (size_t nl = held_.find('\n', search_from); nl != std::string::npos && go_on; nl = held_.find('\n', start)) {
    const std::string_view line(held_.data() + start, nl + 1 - start);
    start = nl + 1;
    go_on = Offer(line, emit);
  }
  held_.erase(0, start);
  return go_on;
}

bool LogCursor::Finish(const LineCallback& emit) {
  if (held_.empty()) return true;
  const std::string line = std::move(held_);
  held_.clear();
  return Offer(line, emit);
}

void LogCursor::Restart() {
  held_.clear();
  resuming_ = last_.has_value();
  skipped_at_last_ = 0;
}

std::string LogCursor::SinceTime() const {
  return last_ ? FormatRfc3339(last_->seconds) : std::string();
}

bool LogCursor::Offer(std::string_view line, const LineCallback& emit) {
  std::optional<TimestampedLine> split = SplitTimestamp(line);
  if (!split) {
    // Not stamped (never seen from a kubelet): it cannot be placed, so it is
    // delivered rather than risk losing it.
    ++delivered_;
    return emit(line);
  }
  if (resuming_) {
    if (split->time < *last_) return true;
    if (split->time == *last_) {
      if (skipped_at_last_ < delivered_at_last_) {
        ++skipped_at_last_;
        return true;
      }
    } else {
      resuming_ = false;
    }
  }
  if (!last_ || split->time > *last_) {
    last_ = split->time;
    delivered_at_last_ = 1;
  } else if (split->time == *last_) {
    ++delivered_at_last_;
  }
  ++delivered_;
  return emit(keep_timestamps_ ? line : split->text);
}

}  // namespace ctask::kube
