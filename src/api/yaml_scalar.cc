#include "api/yaml_scalar.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

namespace ctask::api::internal {
namespace {

constexpr std::string_view kYamlTagPrefix = "tag:yaml.org,2002:";

}  // namespace

// A JSON-quoted, length-capped rendering of user text for messages.
std::string Quote(std::string_view text) {
  constexpr std::size_t kMaxShown = 80;
  std::string shown(text.substr(0, kMaxShown));
  std::string quoted = Json(shown).dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxShown) {
    quoted.insert(quoted.size() - 1, "...");
  }
  return quoted;
}

// The characters YAML allows in a stream (c-printable), which go-yaml enforces.
bool IsYamlPrintable(char32_t cp) {
  return cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
         (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Printable, and also safe to write unescaped inside a plain or block scalar:
// no NEL or Unicode line/paragraph separators (some parsers break lines on
// them) and no stray byte order marks.
bool IsSafeUnescaped(char32_t cp) {
  return IsYamlPrintable(cp) && cp != 0x85 && cp != 0x2028 && cp != 0x2029 && cp != 0xFEFF;
}

// ---------------------------------------------------------------------------
// Scalars.

using Resolved = std::expected<Json, std::string>;

bool IsOneOf(std::string_view text, std::initializer_list<std::string_view> words) {
  for (std::string_view word : words) {
    if (text == word) return true;
  }
  return false;
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Go's float64(3) prints as 3 in JSON, so the API server sees an integer: do
// the same with whole numbers that fit int64.
Json NumberFromDouble(double value) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (std::trunc(value) == value && value >= -kTwo63 && value < kTwo63) {
    return Json(static_cast<int64_t>(value));
  }
  return Json(value);
}

// go-yaml's float syntax: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool MatchesFloatSyntax(std::string_view s) {
  std::size_t i = 0;
  const auto digits = [&]() {
    const std::size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// Decimal exponent of the leading significant digit of a number in float
// syntax; tells overflow (> 0) from underflow when from_chars gives up.
int64_t DecimalMagnitude(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  while (i < s.size() && s[i] == '0') ++i;
  int64_t magnitude = 0;
  std::size_t int_digits = 0;
  while (i < s.size() && IsDigit(s[i])) {
    ++i;
    ++int_digits;
  }
  if (int_digits > 0) {
    magnitude = static_cast<int64_t>(int_digits) - 1;
    if (i < s.size() && s[i] == '.') ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
  } else {
    if (i < s.size() && s[i] == '.') ++i;
    int64_t zeros = 0;
    while (i < s.size() && s[i] == '0') {
      ++i;
      ++zeros;
    }
    magnitude = -zeros - 1;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    const bool negative = i < s.size() && s[i] == '-';
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    int64_t exponent = 0;
    while (i < s.size() && IsDigit(s[i])) {
      exponent = std::min<int64_t>(exponent * 10 + (s[i] - '0'), 1'000'000'000);
      ++i;
    }
    magnitude += negative ? -exponent : exponent;
  }
  return magnitude;
}

Resolved OutOfRange(std::string_view text, std::string_view what) {
  return std::unexpected(std::string(what) + " " + Quote(text) +
                         " does not fit in 64 bits; quote it if it is meant as a string");
}

// A number in float syntax (already checked by MatchesFloatSyntax).
Resolved ParseFloat(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  double value = 0;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    if (DecimalMagnitude(digits) > 0) return OutOfRange(text, "number");
    return Json(0);  // underflow: Go's ParseFloat rounds to zero too
  }
  if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(value)) {
    return std::unexpected("cannot read " + Quote(text) + " as a number");
  }
  return NumberFromDouble(value);
}

// Go's strconv.ParseInt/ParseUint with base 0, as go-yaml v2 applies them
// (after removing '_'): optional sign, then 0x / 0o / 0b prefixes or a
// leading 0 for octal. Returns nullopt if `s` is not an integer at all.
std::optional<Resolved> ParseInteger(std::string_view s, std::string_view original) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  std::string_view body = s.substr(i);
  if (body.empty()) return std::nullopt;
  unsigned base = 10;
  if (body.size() >= 2 && body[0] == '0') {
    const char p = body[1];
    if (p == 'x' || p == 'X') {
      base = 16;
      body.remove_prefix(2);
    } else if (p == 'o' || p == 'O') {
      base = 8;
      body.remove_prefix(2);
    } else if (p == 'b' || p == 'B') {
      base = 2;
      body.remove_prefix(2);
    } else {
      base = 8;  // YAML 1.1 octal: 0644
      body.remove_prefix(1);
    }
  }
  if (body.empty()) return std::nullopt;
  uint64_t magnitude = 0;
  bool overflow = false;
  for (char c : body) {
    unsigned digit = 0;
    if (IsDigit(c)) {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    if (digit >= base) return std::nullopt;
    if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / base) overflow = true;
    magnitude = magnitude * base + digit;
  }
  constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (overflow) return OutOfRange(original, "integer");
  if (negative) {
    if (magnitude > kMaxInt64 + 1) return OutOfRange(original, "integer");
    if (magnitude == kMaxInt64 + 1) return Json(std::numeric_limits<int64_t>::min());
    return Json(-static_cast<int64_t>(magnitude));
  }
  if (magnitude <= kMaxInt64) return Json(static_cast<int64_t>(magnitude));
  return Json(magnitude);
}

// What an untagged plain scalar means, per go-yaml v2's resolve().
Resolved ResolvePlain(std::string_view text) {
  if (IsOneOf(text, {"", "~", "null", "Null", "NULL"})) return Json(nullptr);
  if (IsOneOf(text, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"})) {
    return Json(true);
  }
  if (IsOneOf(text, {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"})) {
    return Json(false);
  }
  if (IsOneOf(text,
              {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"})) {
    return std::unexpected(Quote(text) + " is not a number JSON can hold; quote it if it is meant as a string");
  }
  const char first = text.front();
  if (first == '.') {
    if (MatchesFloatSyntax(text)) return ParseFloat(text);
    return Json(std::string(text));
  }
  if (first == '+' || first == '-' || IsDigit(first)) {
    std::string plain;
    plain.reserve(text.size());
    for (char c : text) {
      if (c != '_') plain += c;
    }
    if (auto integer = ParseInteger(plain, text)) return *integer;
    if (MatchesFloatSyntax(plain)) return ParseFloat(plain);
  }
  return Json(std::string(text));
}

// A scalar with its yaml-cpp tag: "?" plain, "!" quoted/block (or the
// non-specific tag), otherwise the explicit tag.
Resolved ResolveScalar(std::string_view tag, const std::string& text) {
  if (tag == "?") return ResolvePlain(text);
  if (!tag.starts_with(kYamlTagPrefix)) return Json(text);  // quoted, or a local tag
  const std::string_view name = tag.substr(kYamlTagPrefix.size());
  if (name == "binary") {
    return std::unexpected(
        std::string("!!binary is not supported (as with kubectl); write the base64 text as a plain string"));
  }
  if (name != "null" && name != "bool" && name != "int" && name != "float") {
    return Json(text);  // !!str, !!timestamp, unknown tags: the text, as go-yaml v2 does
  }
  Resolved value = ResolvePlain(text);
  if (!value) return value;
  const bool matches = name == "null"   ? value->is_null()
                       : name == "bool" ? value->is_boolean()
                       : name == "int"  ? value->is_number_integer()
                                        : value->is_number();
  if (!matches) {
    return std::unexpected("cannot read " + Quote(text) + " as !!" + std::string(name));
  }
  return value;
}

}  // namespace ctask::api::internal
