#include "cluster/fake_kubelet_log.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "util/time.h"

namespace ctask::testing {
namespace {

// The kubelet's limits for a termination message taken from the log
// (kubecontainer.MaxContainerTerminationMessageLogLines / ...LogLength).
constexpr size_t kFallbackLines = 80;
constexpr size_t kFallbackBytes = 2048;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: %XX and '+' for a space.
std::string QueryDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Go's strconv.ParseBool, which the parameter codec uses.
std::optional<bool> ParseBool(const std::string& value) {
  if (value == "1" || value == "t" || value == "T" || value == "true" || value == "TRUE" || value == "True") {
    return true;
  }
  if (value == "0" || value == "f" || value == "F" || value == "false" || value == "FALSE" || value == "False") {
    return false;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseInt(const std::string& value) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return out;
}

}  // namespace

std::string FormatLogTimestamp(LogTimePoint time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const int64_t nanos = (time - seconds).count();
  std::string text = FormatRfc3339(Timestamp(seconds.time_since_epoch()));  // "...:05Z"
  char fraction[16];
  std::snprintf(fraction, sizeof(fraction), ".%09lldZ", static_cast<long long>(nanos));
  text.pop_back();
  return text + fraction;
}

std::vector<LogEntry> SplitIntoEntries(std::string_view text, LogTimePoint now, std::optional<LogTimePoint> after) {
  std::vector<LogEntry> entries;
  LogTimePoint next = now;
  while (!text.empty()) {
    if (after && next <= *after) next = *after + std::chrono::nanoseconds(1);
    const size_t newline = text.find('\n');
    const size_t length = newline == std::string_view::npos ? text.size() : newline + 1;
    entries.push_back({next, std::string(text.substr(0, length))});
    after = next;
    text.remove_prefix(length);
  }
  return entries;
}

Result<ContainerLogQuery> ParseContainerLogQuery(std::string_view query, LogTimePoint now) {
  ContainerLogQuery out;
  std::optional<LogTimePoint> since_time;
  std::optional<LogTimePoint> since_seconds;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string name = QueryDecode(pair.substr(0, eq));
    const std::string value = eq == std::string_view::npos ? "" : QueryDecode(pair.substr(eq + 1));
    auto bad = [&] { return InvalidArgument("Unable to decode query: " + name + "=" + value); };
    if (name == "follow" || name == "timestamps" || name == "previous") {
      std::optional<bool> flag = ParseBool(value);
      if (!flag) return bad();
      (name == "follow" ? out.follow : name == "timestamps" ? out.timestamps : out.previous) = *flag;
    } else if (name == "sinceTime") {
      std::optional<Timestamp> t = ParseRfc3339(value);
      if (!t) return bad();
      since_time = LogTimePoint(t->time_since_epoch());
    } else if (name == "sinceSeconds") {
      std::optional<int64_t> n = ParseInt(value);
      if (!n || *n < 1) return bad();
      since_seconds = now - std::chrono::seconds(*n);
    } else if (name == "tailLines" || name == "limitBytes") {
      std::optional<int64_t> n = ParseInt(value);
      if (!n) return bad();
      // ValidatePodLogOptions: tailLines >= 0, limitBytes >= 1.
      if (name == "tailLines" ? *n < 0 : *n < 1) return bad();
      (name == "tailLines" ? out.tail_lines : out.limit_bytes) = *n;
    } else if (name == "tail") {
      // The kubelet's old spelling of tailLines; "all" is no tail.
      if (value != "all") {
        std::optional<int64_t> n = ParseInt(value);
        if (!n || *n < 0) return bad();
        out.tail_lines = *n;
      }
    } else if (name == "stream") {
      if (value == "Stderr") {
        out.stdout_wanted = false;
      } else if (value != "All" && value != "Stdout") {
        return InvalidArgument("invalid stream type \"" + value + "\"");
      }
    }
    // Anything else (the parameter codec ignores unknown names) is ignored.
  }
  // NewLogOptions: sinceSeconds first, a later sinceTime wins.
  out.since = since_seconds;
  if (since_time && (!out.since || *since_time > *out.since)) out.since = since_time;
  return out;
}

size_t LogResponder::FirstEntry(size_t size) const {
  if (!query_.tail_lines) return 0;
  const auto tail = static_cast<size_t>(*query_.tail_lines);
  return size > tail ? size - tail : 0;
}

bool LogResponder::Next(const LogEntry& entry, std::string& out) {
  if (done_) return false;
  const bool starts_line = at_line_start_;
  // The kubelet tracks line starts over every entry it reads, skipped or not.
  at_line_start_ = entry.text.empty() || entry.text.back() == '\n';
  const bool skipped = (query_.since && entry.time < *query_.since) || !query_.stdout_wanted;
  if (!skipped) {
    std::string line;
    if (query_.timestamps && starts_line) line = FormatLogTimestamp(entry.time) + " ";
    line += entry.text;
    if (query_.limit_bytes) {
      const auto remain = static_cast<size_t>(*query_.limit_bytes - written_bytes_);
      if (line.size() > remain) line.resize(remain);
    }
    written_bytes_ += static_cast<int64_t>(line.size());
    out += line;
    if (query_.limit_bytes && written_bytes_ >= *query_.limit_bytes) done_ = true;
  }
  // Without follow, tailLines=N reads N entries, skipped ones included.
  ++read_entries_;
  if (query_.tail_lines && !query_.follow && read_entries_ >= *query_.tail_lines) done_ = true;
  return !done_;
}

std::string TerminationMessageFromLog(const std::vector<LogEntry>& log) {
  std::string text;
  const size_t first = log.size() > kFallbackLines ? log.size() - kFallbackLines : 0;
  for (size_t i = first; i < log.size(); ++i) text += log[i].text;
  if (text.size() > kFallbackBytes) text.erase(0, text.size() - kFallbackBytes);
  return text;
}

}  // namespace ctask::testing
