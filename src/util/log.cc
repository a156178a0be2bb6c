#include "util/log.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <utility>

#include "util/field_error.h"
#include "util/time.h"
#include "util/utf8.h"

namespace ctask::log {
namespace {

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

// Only the four levels above ever reach a sink.
Level LevelFromSpdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return Level::kDebug;
    case spdlog::level::info:
      return Level::kInfo;
    case spdlog::level::warn:
      return Level::kWarn;
    default:
      return Level::kError;
  }
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

// The part of a line that depends on its message and fields, which spdlog
// cannot carry (a log_msg holds one payload string): for text the escaped
// message and the key=value pairs, for JSON the members after "level", as
// written inside the object ("\"msg\":\"reconciled\",\"attempt\":2").
std::string Body(Format format, std::string_view msg, const Fields& fields) {
  Fields unique;
  unique.reserve(fields.size());
  for (const Field& f : fields) Set(unique, {KeyOf(f.key), f.value});

  if (format == Format::kJson) {
    nlohmann::ordered_json members;
    members["msg"] = msg;
    for (const Field& f : unique) {
      if (const auto* s = std::get_if<std::string>(&f.value)) {
        members[f.key] = *s;
      } else {
        members[f.key] = std::get<int64_t>(f.value);
      }
    }
    // Not UTF-8 becomes U+FFFD rather than an exception: a log line is
    // never worth failing for.
    std::string object = members.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    return object.substr(1, object.size() - 2);  // without the braces; the formatter writes them
  }

  std::string out = Escape(msg, /*quotes=*/false);
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

// spdlog's formatter for ctask's lines: frames the Body a Logger built with
// the line's time and level. Text: "<ts> <LEVEL padded to 5> <body>"; JSON:
// {"ts":...,"level":...,<body>}, the framing's strings written by
// nlohmann::json like the body's. One formatter per sink, for one Format.
class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(Format format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const Level level = LevelFromSpdlog(msg.level);
    std::string head;
    if (format_ == Format::kJson) {
      head = "{\"ts\":" + nlohmann::json(FormatTimestamp(msg.time)).dump() +
             ",\"level\":" + nlohmann::json(LevelName(level, format_)).dump() + ",";
    } else {
      const std::string_view name = LevelName(level, format_);
      head = FormatTimestamp(msg.time) + " " + std::string(name);
      head.append(name.size() < 5 ? 6 - name.size() : 1, ' ');
    }
    dest.append(head.data(), head.data() + head.size());
    dest.append(msg.payload.begin(), msg.payload.end());
    if (format_ == Format::kJson) dest.push_back('}');
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<LineFormatter>(format_); }

 private:
  const Format format_;
};

// What Configure and SetClock set, replaced whole.
struct State {
  Format format = Format::kText;
  std::shared_ptr<spdlog::logger> logger;  // its level is the configured one
  const Clock* clock = &RealClock();
};

std::shared_ptr<spdlog::logger> MakeLogger(Format format, Level level, std::ostream* sink) {
  spdlog::sink_ptr out;
  if (sink == nullptr) {
    out = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    // force_flush: a line is in the stream when the call returns.
    out = std::make_shared<spdlog::sinks::ostream_sink_mt>(*sink, /*force_flush=*/true);
  }
  auto logger = std::make_shared<spdlog::logger>("ctask", std::move(out));
  logger->set_formatter(std::make_unique<LineFormatter>(format));
  logger->set_level(SpdlogLevel(level));
  return logger;
}

// Two locks make Configure a clean cut between sinks. Writers hold `writing`
// shared while they use a State, so they run at once, and the sink's own
// mutex (an *_mt sink) keeps their lines whole. Configure takes `turnstile`,
// which every writer passes to start, then `writing` exclusively: it waits
// only for the writes already under way (none can start meanwhile, so it is
// never starved), and swaps the State. A line therefore never goes to a sink
// after Configure has replaced it, and lines through the old sink and the
// new one never overlap on a shared stream.
std::mutex turnstile;
std::shared_mutex writing;

std::shared_ptr<const State>& StateRef() {  // guarded by turnstile + writing (exclusive) to change
  static std::shared_ptr<const State> state = [] {
    auto initial = std::make_shared<State>();
    initial->logger = MakeLogger(Format::kText, Level::kInfo, nullptr);
    return std::shared_ptr<const State>(std::move(initial));
  }();
  return state;
}

// A writer's hold on the current State.
struct Hold {
  std::shared_lock<std::shared_mutex> lock;
  std::shared_ptr<const State> state;
};

Hold Enter() {
  std::lock_guard pass(turnstile);
  Hold hold{std::shared_lock(writing), nullptr};
  hold.state = StateRef();
  return hold;
}

template <typename Change>
void Replace(Change change) {
  std::lock_guard pass(turnstile);
  std::unique_lock exclusive(writing);
  auto next = std::make_shared<State>(*StateRef());
  change(*next);
  StateRef() = std::move(next);
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
  auto logger = MakeLogger(format, level, sink);
  Replace([&](State& state) {
    state.format = format;
    state.logger = std::move(logger);
  });
}

void SetClock(const Clock& clock) {
  Replace([&](State& state) { state.clock = &clock; });
}

std::string FormatLine(Format format, std::chrono::system_clock::time_point ts, Level level, std::string_view msg,
                       const Fields& fields) {
  // Through the formatter the sinks use, so that tests of this are tests of
  // the lines written.
  const std::string body = Body(format, msg, fields);
  const spdlog::details::log_msg log_msg(ts, spdlog::source_loc{}, "ctask", SpdlogLevel(level),
                                         spdlog::string_view_t(body.data(), body.size()));
  spdlog::memory_buf_t line;
  LineFormatter(format).format(log_msg, line);
  return std::string(line.data(), line.size() - 1);  // without the newline
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
  return Enter().state->logger->should_log(SpdlogLevel(level));
}

void Logger::Write(Level level, std::string_view msg, Fields extra) const {
  const Hold hold = Enter();
  const State& state = *hold.state;
  const spdlog::level::level_enum spdlog_level = SpdlogLevel(level);
  if (!state.logger->should_log(spdlog_level)) return;
  Fields all = fields_;
  for (Field& f : extra) Set(all, std::move(f));
  const std::string body = Body(state.format, msg, all);
  const auto now = state.clock->Now();
  state.logger->log(now, spdlog::source_loc{}, spdlog_level, spdlog::string_view_t(body.data(), body.size()));
}

Logger Root() {
  return Logger();
}

}  // namespace ctask::log
