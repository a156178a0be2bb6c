#include "status/index_set.h"

#include <charconv>

namespace ctask::status {
namespace {

bool ParseIndex(std::string_view text, int32_t& out) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && out >= 0;
}

}  // namespace

std::set<int32_t> ParseIndexSet(std::string_view text) {
  std::set<int32_t> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t dash = part.find('-');
    int32_t first = 0;
    int32_t last = 0;
    if (dash == std::string_view::npos) {
      if (ParseIndex(part, first)) out.insert(first);
      continue;
    }
    if (!ParseIndex(part.substr(0, dash), first) || !ParseIndex(part.substr(dash + 1), last) || last < first) continue;
    // A hand-edited "0-2000000000" must not make a set of two billion.
    if (last - first > 1'000'000) continue;
    for (int32_t i = first; i <= last; ++i) out.insert(i);
  }
  return out;
}

std::string FormatIndexSet(const std::set<int32_t>& indexes) {
  std::string out;
  for (auto it = indexes.begin(); it != indexes.end();) {
    const int32_t first = *it;
    int32_t last = first;
    for (++it; it != indexes.end() && *it == last + 1; ++it) last = *it;
    if (!out.empty()) out += ',';
    out += std::to_string(first);
    if (last != first) out += '-' + std::to_string(last);
  }
  return out;
}

}  // namespace ctask::status
