// LogFollower: what following a pod's log across breaks of the API server's
// follow stream rests on. `GET pods/NAME/log?follow=true` can end while the
// container still runs (kubelet or API server restart, connection reset,
// request timeout); the follower asks again from where it stopped, so the
// caller sees each line once, none lost, none repeated. The follows
// themselves run on a loop (log_streams.h); this is the cursor that makes a
// re-follow exact, and the options.
//
// Contract:
//  - Lines are always requested with timestamps=true; each arrives as
//    "2026-11-23T15:04:05.123456789Z text\n". The follower remembers the last
//    timestamp delivered and how many lines carried exactly it. A re-follow
//    asks sinceTime = that timestamp truncated to seconds (the server's
//    precision there), then skips lines earlier than it and the first N
//    lines carrying exactly it, N being how many were delivered already.
//  - on_line receives one line per call, ending in '\n', without the
//    timestamp unless LogFollowOptions::timestamps. A line still without its
//    newline when a stream breaks is not delivered (the server sends it again
//    on the re-follow); one still without it when the log is complete is
//    delivered as it is, with no newline.
//  - When to re-follow, the backoff, and how a follow ends:
//    log_streams.h.
//
// LogCursor is the pure part (splitting, timestamps, the dedupe rule), so it
// is tested without a transport.
//
// Thread-safety: LogCursor is a plain value.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"
#include "util/time.h"

namespace ctask::kube {

// A log line's timestamp: seconds and the nanoseconds within them.
struct LogTime {
  Timestamp seconds;
  int32_t nanos = 0;
  auto operator<=>(const LogTime&) const = default;
};

// "2026-11-23T15:04:05.123456789Z" (any fraction length, or none; "Z" or an
// offset); nullopt for anything else.
std::optional<LogTime> ParseLogTime(std::string_view text);

struct TimestampedLine {
  LogTime time;
  std::string_view text;  // after the timestamp and its space, '\n' kept
};

// Splits "TIMESTAMP text\n"; nullopt when the line does not start with one.
std::optional<TimestampedLine> SplitTimestamp(std::string_view line);

// One line per call; returning false stops following (kCancelled).
using LineCallback = std::function<bool(std::string_view line)>;

class LogCursor {
 public:
  explicit LogCursor(bool keep_timestamps) : keep_timestamps_(keep_timestamps) {}

  // Passes every complete new line in `chunk` (and what was held before it)
  // to `emit`; holds an incomplete last line. False when emit returned false.
  bool Feed(std::string_view chunk, const LineCallback& emit);

  // The log is complete: delivers a held incomplete line, if new.
  bool Finish(const LineCallback& emit);

  // A new stream starts from SinceTime(): drops the held incomplete line and
  // skips what was delivered already.
  void Restart();

  // RFC 3339 seconds of the last line delivered, "" before any.
  std::string SinceTime() const;

  uint64_t lines_delivered() const { return delivered_; }

 private:
  bool Offer(std::string_view line, const LineCallback& emit);

  bool keep_timestamps_;
  std::string held_;                // an incomplete line
  std::optional<LogTime> last_;     // the latest timestamp delivered
  uint64_t delivered_at_last_ = 0;  // lines delivered carrying exactly last_
  bool resuming_ = false;           // in a re-followed stream, not yet past last_
  uint64_t skipped_at_last_ = 0;    // lines at last_ skipped since Restart
  uint64_t delivered_ = 0;
};

struct LogFollowOptions {
  std::string container;    // "" = the pod's only container
  bool timestamps = false;  // keep the timestamp at the start of each line
  // Only for the first request (and re-follows before any line arrived).
  std::string since_time;
  std::optional<int64_t> tail_lines;
};

// Whether the container still runs (the caller reads the pod's status).
using StillRunning = std::function<Result<bool>()>;

// Backoff between follows (log_streams.h; util/backoff.h).
inline constexpr std::chrono::milliseconds kFollowInitialBackoff{200};
inline constexpr std::chrono::milliseconds kFollowMaxBackoff{5'000};

}  // namespace ctask::kube
