#include "util/log.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "util/field_error.h"
#include "util/time.h"
#include "util/utf8.h"

namespace ctask::log {
namespace {

// What Configure and SetClock set, replaced whole (copy on write) so a line
// being written keeps the state it started with.
struct State {
  Format format = Format::kText;
  Level level = Level::kInfo;
  std::shared_ptr<spdlog::logger> writer;
  Clock clock;
};

std::shared_ptr<spdlog::logger> MakeWriter(std::ostream* sink) {
  // Single-threaded sinks: state_mu serialises every write, across
  // Configure calls too (two sinks of one stream would each have their own
  // mutex and could interleave).
  spdlog::sink_ptr out;
  if (sink == nullptr) {
    out = std::make_shared<spdlog::sinks::stderr_sink_st>();
  } else {
    // force_flush: a line is in the stream when the call returns.
    out = std::make_shared<spdlog::sinks::ostream_sink_st>(*sink, /*force_flush=*/true);
  }
  auto writer = std::make_shared<spdlog::logger>("ctask", std::move(out));
  // Lines arrive formatted; spdlog adds only the end of line. Levels are
  // filtered before formatting, so spdlog lets everything through.
  writer->set_pattern("%v");
  writer->set_level(spdlog::level::trace);
  return writer;
}

// Guards the state and every write: after Configure returns, no line goes
// to the sink it replaced.
std::mutex state_mu;
std::shared_ptr<const State>& StateRef() {
  static std::shared_ptr<const State> state = [] {
    auto initial = std::make_shared<State>();
    initial->writer = MakeWriter(nullptr);
    return std::shared_ptr<const State>(std::move(initial));
  }();
  return state;
}

std::shared_ptr<const State> Current() {
  std::lock_guard lock(state_mu);
  return StateRef();
}

spdlog::level::level_enum SpdlogLevel(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string_view LevelName(Level level, Format format) {
  switch (level) {
    case Level::kDebug:
      return format == Format::kJson ? "debug" : "DEBUG";
    case Level::kInfo:
      return format == Format::kJson ? "info" : "INFO";
    case Level::kWarn:
      return format == Format::kJson ? "warn" : "WARN";
    case Level::kError:
      return format == Format::kJson ? "error" : "ERROR";
  }
  return "?";
}

// "2026-11-23T18:00:00.123Z": UTC, milliseconds.
std::string FormatTimestamp(std::chrono::system_clock::time_point ts) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(ts);
  const auto seconds = std::chrono::floor<std::chrono::seconds>(ms);
  std::string out = FormatRfc3339(Timestamp(seconds));  // ends in 'Z'
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>((ms - seconds).count()));
  out.insert(out.size() - 1, frac);
  return out;
}

// Code points Go's strconv.IsPrint refuses besides the C0/C1 controls: the
// spaces other than U+0020, invisible format characters and the bidi
// controls that could make a line read differently from what it holds.
bool Unprintable(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f) ||
         (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 || cp == 0xfeff ||
         (cp >= 0xfff9 && cp <= 0xfffb);
}

void AppendHex(std::string& out, const char* prefix, unsigned value, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, width, value);
  out += buf;
}

// Go's strconv.Quote escapes without the surrounding quotes; `quotes` also
// escapes '"' and '\' (inside a quoted value), a bare message leaves them.
std::string Escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(text, i, &cp);
    if (n == 0) {  // not UTF-8: the byte, as Go writes it
      AppendHex(out, "\\x", static_cast<unsigned char>(text[i]), 2);
      ++i;
      continue;
    }
    switch (cp) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      case '"':
        out += quotes ? "\\\"" : "\"";
        break;
      case '\\':
        out += quotes ? "\\\\" : "\\";
        break;
      default:
        if (cp < 0x80 && Unprintable(cp)) {
          AppendHex(out, "\\x", static_cast<unsigned>(cp), 2);
        } else if (Unprintable(cp)) {
          AppendHex(out, "\\u", static_cast<unsigned>(cp), 4);
        } else {
          out.append(text.substr(i, n));
        }
    }
    i += n;
  }
  return out;
}

// As slog's text handler: quoted when empty or holding a space, '"', '=' or
// anything unprintable (or not UTF-8).
bool NeedsQuotes(std::string_view text) {
  if (text.empty()) return true;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(text, i, &cp);
    if (n == 0 || cp == ' ' || cp == '"' || cp == '=' || Unprintable(cp)) return true;
    i += n;
  }
  return false;
}

std::string TextToken(std::string_view text) {
  return NeedsQuotes(text) ? "\"" + Escape(text, /*quotes=*/true) + "\"" : std::string(text);
}

std::string KeyOf(const std::string& key) {
  return key == "ts" || key == "level" || key == "msg" ? key + "_" : key;
}

// Replaces the value of a field already there (keeping its place), or
// appends it.
void Set(Fields& fields, Field field) {
  for (Field& f : fields) {
    if (f.key == field.key) {
      f.value = std::move(field.value);
      return;
    }
  }
  fields.push_back(std::move(field));
}

}  // namespace

Result<Format> ParseFormat(std::string_view text) {
  if (text == "text") return Format::kText;
  if (text == "json") return Format::kJson;
  return InvalidArgument("--log-format: " + QuoteValue(text) + " is not a log format; use text or json");
}

Result<Level> ParseLevel(std::string_view text) {
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn") return Level::kWarn;
  if (text == "error") return Level::kError;
  return InvalidArgument("--log-level: " + QuoteValue(text) + " is not a log level; use debug, info, warn or error");
}

void Configure(Format format, Level level, std::ostream* sink) {
  auto writer = MakeWriter(sink);
  std::lock_guard lock(state_mu);
  auto next = std::make_shared<State>(*StateRef());
  next->format = format;
  next->level = level;
  next->writer = std::move(writer);
  StateRef() = std::move(next);
}

void SetClock(Clock clock) {
  std::lock_guard lock(state_mu);
  auto next = std::make_shared<State>(*StateRef());
  next->clock = std::move(clock);
  StateRef() = std::move(next);
}

std::string FormatLine(Format format, std::chrono::system_clock::time_point ts, Level level, std::string_view msg,
                       const Fields& fields) {
  Fields unique;
  unique.reserve(fields.size());
  for (const Field& f : fields) Set(unique, {KeyOf(f.key), f.value});

  if (format == Format::kJson) {
    nlohmann::ordered_json line;
    line["ts"] = FormatTimestamp(ts);
    line["level"] = LevelName(level, format);
    line["msg"] = msg;
    for (const Field& f : unique) {
      if (const auto* s = std::get_if<std::string>(&f.value)) {
        line[f.key] = *s;
      } else {
        line[f.key] = std::get<int64_t>(f.value);
      }
    }
    // Not UTF-8 becomes U+FFFD rather than an exception: a log line is
    // never worth failing for.
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }

  std::string out = FormatTimestamp(ts);
  out += ' ';
  std::string_view name = LevelName(level, format);
  out += name;
  out.append(name.size() < 5 ? 6 - name.size() : 1, ' ');
  out += Escape(msg, /*quotes=*/false);
  if (!unique.empty()) out += ' ';
  for (const Field& f : unique) {
    out += ' ';
    out += TextToken(f.key);
    out += '=';
    if (const auto* s = std::get_if<std::string>(&f.value)) {
      out += TextToken(*s);
    } else {
      out += std::to_string(std::get<int64_t>(f.value));
    }
  }
  return out;
}

Logger Logger::With(std::string key, std::string value) const {
  Logger out = *this;
  Set(out.fields_, {std::move(key), std::move(value)});
  return out;
}

Logger Logger::With(std::string key, int64_t value) const {
  Logger out = *this;
  Set(out.fields_, {std::move(key), value});
  return out;
}

void Logger::Debug(std::string_view msg, Fields extra) const {
  Write(Level::kDebug, msg, std::move(extra));
}
void Logger::Info(std::string_view msg, Fields extra) const {
  Write(Level::kInfo, msg, std::move(extra));
}
void Logger::Warn(std::string_view msg, Fields extra) const {
  Write(Level::kWarn, msg, std::move(extra));
}
void Logger::Error(std::string_view msg, Fields extra) const {
  Write(Level::kError, msg, std::move(extra));
}

bool Logger::Enabled(Level level) const {
  return level >= Current()->level;
}

void Logger::Write(Level level, std::string_view msg, Fields extra) const {
  std::shared_ptr<const State> state = Current();
  if (level < state->level) return;
  Fields all = fields_;
  for (Field& f : extra) Set(all, std::move(f));
  // Formatted outside the lock; formatted again in the rare case Configure
  // ran in between, so the line matches the sink it goes to.
  auto format = [&](const State& s) {
    const auto now = s.clock ? s.clock() : std::chrono::system_clock::now();
    return FormatLine(s.format, now, level, msg, all);
  };
  std::string line = format(*state);
  std::lock_guard lock(state_mu);
  if (StateRef() != state) {
    state = StateRef();
    if (level < state->level) return;
    line = format(*state);
  }
  state->writer->log(spdlog::source_loc{}, SpdlogLevel(level), spdlog::string_view_t(line.data(), line.size()));
}

Logger Root() {
  return Logger();
}

}  // namespace ctask::log
