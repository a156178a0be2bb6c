// Structured logging for the operator: a message plus key/value fields, one
// line per call, in one of two formats chosen once at start-up
// (--log-format):
//
//   text (default, for people):
//     2026-11-23T18:00:00.123Z INFO  reconciled  namespace=dev name=hello attempt=2
//   json (for log pipelines), one object per line, integers stay numbers:
//     {"ts":"2026-11-23T18:00:00.123Z","level":"info","msg":"reconciled","namespace":"dev","attempt":2}
//
// Contract: every call writes exactly one line, or none when below the
// configured level. No value, key or message can break that: in the text
// format control characters and newlines are escaped (values Go-%q-quoted
// when they hold spaces, quotes, '=' or anything unprintable), and JSON
// escapes them by construction, so a value can never forge a line. Bytes that
// are not UTF-8 are escaped (text) or replaced by U+FFFD (json). Messages and
// values are written as given otherwise: callers must never log secrets.
// The keys "ts", "level" and "msg" are the line's own; a field named so is
// written with a trailing '_' ("msg_"). A field set twice keeps its first
// position and its last value.
//
// Built on spdlog, used for what it does (issue 9 weighed removing it): the
// level filter is the spdlog::logger's, lines go through a thread-safe spdlog
// sink (stderr_sink_mt, or ostream_sink_mt for a stream), and a custom
// spdlog::formatter frames every line (time stamp and level; in JSON the
// object's braces and "ts"/"level" members, written with nlohmann::json).
// What spdlog does not have is structured fields: a spdlog line carries one
// message string. So the part of the line made from the message and fields
// is built here, before the call, in the format of the logger it is passed
// to, and travels as that string; the formatter only frames it. Removing
// spdlog would save a dependency and a few lines, but DESIGN.md chose it, and
// its other sinks (files, syslog, async) stay one line away.
//
// Thread-safety: Configure and every Logger call may run on any thread at any
// time; lines from many threads never interleave (the _mt sink's mutex around
// the write of a whole line). After Configure returns, no line goes to the
// sink it replaced: it waits for the lines under way, and lines through the
// old and new sinks never overlap. A Logger is an immutable value.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/clock.h"
#include "util/error.h"

namespace ctask::log {

enum class Format { kText, kJson };
enum class Level { kDebug, kInfo, kWarn, kError };

// "text" or "json" (the values of --log-format); an error names the flag and
// the valid values.
Result<Format> ParseFormat(std::string_view text);
// "debug", "info", "warn" or "error" (the values of --log-level).
Result<Level> ParseLevel(std::string_view text);

struct Field {
  std::string key;
  std::variant<std::string, int64_t> value;
};
using Fields = std::vector<Field>;

// Process-wide: the format, the lowest level written, and where lines go
// (nullptr: stderr). `sink` must stay alive until the next Configure.
// Until the first call: text, info, stderr.
void Configure(Format format, Level level, std::ostream* sink = nullptr);

// The clock whose wall time (Clock::Now) is stamped on each line; until the
// first call, and again after SetClock(RealClock()), the real one. `clock`
// must stay alive until the next SetClock. For tests.
void SetClock(const Clock& clock);

class Logger {
 public:
  // A copy with one more field (or `key` set anew), written on every line.
  Logger With(std::string key, std::string value) const;
  Logger With(std::string key, int64_t value) const;

  // `extra` is written after the logger's own fields, for this line only.
  void Debug(std::string_view msg, Fields extra = {}) const;
  void Info(std::string_view msg, Fields extra = {}) const;
  void Warn(std::string_view msg, Fields extra = {}) const;
  void Error(std::string_view msg, Fields extra = {}) const;

  // Whether a line at `level` would be written: lets a caller skip building
  // costly fields for Debug.
  bool Enabled(Level level) const;

 private:
  void Write(Level level, std::string_view msg, Fields extra) const;

  Fields fields_;
};

// The logger with no fields.
Logger Root();

// One line as Configure's format writes it, without the newline. Exposed for
// tests; Logger calls it.
std::string FormatLine(Format format, std::chrono::system_clock::time_point ts, Level level, std::string_view msg,
                       const Fields& fields);

}  // namespace ctask::log
