// The fake kubelet's container log and how it serves it: the pure part of
// GET /containerLogs/{ns}/{pod}/{container}, written after the kubelet's own
// reader (k8s.io/cri-client pkg/logs/logs.go, v0.35.8), so the API server's
// pods/log proxy hands clients what a real node would.
//
// A log is a list of entries, one per line of the CRI log file: each carries
// the time the runtime read it and its text, ending in '\n' for a complete
// line or not for a partial one (a line the container wrote without its
// newline, later continued by another entry). Serving follows the kubelet:
//  - timestamps=true puts "2006-01-02T15:04:05.000000000Z " (always nine
//    fraction digits, UTC) before an entry that starts a line, not before
//    the continuation of a partial one;
//  - sinceTime / sinceSeconds drop entries older than the later of the two
//    (an entry exactly at sinceTime is kept);
//  - tailLines=N starts N entries before the end (without follow it then
//    stops after N, with follow it keeps following);
//  - limitBytes cuts the output, prefixes included, after that many bytes,
//    mid-line if need be, and ends the response;
//  - stream=Stderr gives nothing (every entry here is stdout); All, Stdout
//    or no stream give everything; anything else is refused.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace ctask::testing {

using LogClock = std::chrono::system_clock;
using LogTimePoint = std::chrono::time_point<LogClock, std::chrono::nanoseconds>;

struct LogEntry {
  LogTimePoint time;
  std::string text;  // ends in '\n' unless it is a partial line
};

// "2026-11-23T18:50:00.123456789Z": the kubelet's RFC3339NanoFixed in UTC.
std::string FormatLogTimestamp(LogTimePoint time);

// Splits text a container printed into entries, one per line, each stamped
// with `now` or later: never earlier than `after` (the log's last entry), and
// consecutive entries 1 ns apart when the clock has not moved, so the order
// of lines is the order of their timestamps.
std::vector<LogEntry> SplitIntoEntries(std::string_view text, LogTimePoint now, std::optional<LogTimePoint> after);

// The query of GET /containerLogs (the API server forwards pods/log's
// PodLogOptions this way).
struct ContainerLogQuery {
  bool follow = false;
  bool timestamps = false;
  bool previous = false;
  std::optional<LogTimePoint> since;  // from sinceTime and sinceSeconds
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> limit_bytes;
  bool stdout_wanted = true;  // false for stream=Stderr
};

// Parses "follow=true&timestamps=true&sinceTime=2026-11-23T18%3A50%3A00Z";
// kInvalidArgument (the kubelet's 400/422) for a value it would refuse.
// sinceSeconds counts back from `now`.
Result<ContainerLogQuery> ParseContainerLogQuery(std::string_view query, LogTimePoint now);

// What one response writes, fed entries in order as they arrive (a followed
// log calls Next again for each new entry).
class LogResponder {
 public:
  explicit LogResponder(ContainerLogQuery query) : query_(std::move(query)) {}

  // Where the response starts in a log that has `size` entries now.
  size_t FirstEntry(size_t size) const;

  // The bytes for `entry` (possibly none), appended to `out`. False once the
  // response is complete: limitBytes reached, or tailLines served without
  // follow; nothing more may be written then.
  bool Next(const LogEntry& entry, std::string& out);

 private:
  ContainerLogQuery query_;
  bool at_line_start_ = true;
  bool done_ = false;
  int64_t read_entries_ = 0;
  int64_t written_bytes_ = 0;
};

// The termination message the kubelet makes from the log when the container
// asks for FallbackToLogsOnError and failed without writing one: the last 80
// lines, at most the last 2048 bytes of them.
std::string TerminationMessageFromLog(const std::vector<LogEntry>& log);

}  // namespace ctask::testing
