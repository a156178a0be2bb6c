#include "api/quantity.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <utility>

#include "util/field_error.h"

namespace ctask::api {
namespace {

__extension__ using UnsignedNanos = unsigned __int128;

constexpr int64_t kNanosPerUnit = 1'000'000'000;
constexpr int64_t kNanosPerMilli = 1'000'000;

// Kubernetes caps binarySI quantities at 2^63-1 units (its maxAllowed).
constexpr UnsignedNanos kBinaryCapNanos =
    static_cast<UnsignedNanos>(std::numeric_limits<int64_t>::max()) * kNanosPerUnit;

// Digits a nano count may have and still fit below kMaxQuantityNanos.
constexpr int64_t kMaxNanoDigits = 38;

constexpr std::string_view kHint = "use a number with an optional suffix such as 500m, 128Mi, 1Gi or 2";
constexpr std::string_view kSuffixList = "n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<integer>";

std::unexpected<Error> Invalid(std::string_view text, std::string_view reason) {
  std::string message = "invalid quantity " + QuoteValue(text) + ": ";
  message += reason;
  message += "; ";
  message += kHint;
  return InvalidArgument(std::move(message));
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// A parsed suffix: the value is number * base^exponent, base 2 for binarySI
// and 10 otherwise.
struct Suffix {
  QuantityFormat format;
  int64_t exponent;
};

std::optional<Suffix> LookupSuffix(std::string_view s) {
  struct Entry {
    std::string_view text;
    QuantityFormat format;
    int exponent;
  };
  static constexpr std::array<Entry, 16> kTable = {{
      {"", QuantityFormat::kDecimalSI, 0},
      {"n", QuantityFormat::kDecimalSI, -9},
      {"u", QuantityFormat::kDecimalSI, -6},
      {"m", QuantityFormat::kDecimalSI, -3},
      {"k", QuantityFormat::kDecimalSI, 3},
      {"M", QuantityFormat::kDecimalSI, 6},
      {"G", QuantityFormat::kDecimalSI, 9},
      {"T", QuantityFormat::kDecimalSI, 12},
      {"P", QuantityFormat::kDecimalSI, 15},
      {"E", QuantityFormat::kDecimalSI, 18},
      {"Ki", QuantityFormat::kBinarySI, 10},
      {"Mi", QuantityFormat::kBinarySI, 20},
      {"Gi", QuantityFormat::kBinarySI, 30},
      {"Ti", QuantityFormat::kBinarySI, 40},
      {"Pi", QuantityFormat::kBinarySI, 50},
      {"Ei", QuantityFormat::kBinarySI, 60},
  }};
  for (const Entry& entry : kTable) {
    if (entry.text == s) return Suffix{entry.format, entry.exponent};
  }
  return std::nullopt;
}

// Interprets everything after the number. Accepts exactly what Kubernetes'
// scanner plus suffixer accept, except that an exponent must fit in int32:
// Kubernetes parses it as int64 and then truncates it to int32, so there
// "1e4294967296" equals 1 — a wrap we refuse to copy.
Result<Suffix> ParseSuffix(std::string_view text, std::string_view suffix) {
  if (std::optional<Suffix> known = LookupSuffix(suffix)) return *known;

  bool looks_like_exponent =
      (suffix == "e") || (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E') &&
                          (IsDigit(suffix[1]) || suffix[1] == '+' || suffix[1] == '-' || suffix[1] == '.'));
  if (looks_like_exponent) {
    std::string_view rest = suffix.substr(1);
    bool negative = false;
    if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
      negative = rest[0] == '-';
      rest.remove_prefix(1);
    }
    bool well_formed = !rest.empty() && std::all_of(rest.begin(), rest.end(), IsDigit);
    if (!well_formed) {
      return Invalid(text, "invalid exponent " + QuoteValue(suffix) +
                               ": write e or E followed by a whole number, as in 1e3 or 5E-3");
    }
    // Accumulate with a ceiling so that any number of digits is safe.
    constexpr int64_t kLimit = int64_t{std::numeric_limits<int32_t>::max()} + 1;
    int64_t magnitude = 0;
    for (char c : rest) {
      magnitude = std::min<int64_t>(magnitude * 10 + (c - '0'), kLimit + 1);
    }
    int64_t exponent = negative ? -magnitude : magnitude;
    if (exponent > std::numeric_limits<int32_t>::max() || exponent < std::numeric_limits<int32_t>::min()) {
      return Invalid(text, "exponent " + QuoteValue(suffix) + " is out of range");
    }
    return Suffix{QuantityFormat::kDecimalExponent, exponent};
  }

  std::string reason = "unknown suffix " + QuoteValue(suffix);
  if (suffix == "K") {
    reason += " (use k for 1000 or Ki for 1024)";
  } else {
    reason += " (valid suffixes are ";
    reason += kSuffixList;
    reason += ")";
  }
  return Invalid(text, reason);
}

// digits (most significant first, '0'..'9') *= 2^power, exactly.
void MultiplyByPowerOfTwo(std::string& digits, int64_t power) {
  while (power > 0) {
    int step = static_cast<int>(std::min<int64_t>(power, 30));
    power -= step;
    uint64_t factor = uint64_t{1} << step;
    uint64_t carry = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
      uint64_t v = static_cast<uint64_t>(*it - '0') * factor + carry;
      *it = static_cast<char>('0' + v % 10);
      carry = v / 10;
    }
    std::string head;
    while (carry > 0) {
      head.push_back(static_cast<char>('0' + carry % 10));
      carry /= 10;
    }
    std::reverse(head.begin(), head.end());
    digits.insert(0, head);
  }
}

// Moves trailing zeros of `digits` into `exponent`.
void StripTrailingZeros(std::string& digits, int64_t& exponent) {
  size_t last = digits.find_last_not_of('0');
  if (last == std::string::npos) {
    digits.clear();
    return;
  }
  exponent += static_cast<int64_t>(digits.size() - 1 - last);
  digits.resize(last + 1);
}

// <signedNumber> at the start of a quantity: [+-]? digits [. digits], with
// digits on at least one side.
struct Number {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
  size_t end = 0;  // where the suffix starts
};

Result<Number> ScanNumber(std::string_view text) {
  Number number;
  size_t pos = 0;
  if (text[pos] == '+' || text[pos] == '-') {
    number.negative = text[pos] == '-';
    ++pos;
  }
  size_t int_begin = pos;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  number.int_digits = text.substr(int_begin, pos - int_begin);
  if (pos < text.size() && text[pos] == '.') {
    size_t frac_begin = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    number.frac_digits = text.substr(frac_begin, pos - frac_begin);
  }
  // Kubernetes' scanner reads a missing number as 0, so it takes "Gi", "+"
  // and "." as zero. Its own grammar, the CRD pattern above and every user
  // who typed one of those disagree; we reject them.
  if (number.int_digits.empty() && number.frac_digits.empty()) {
    return Invalid(text, "it must start with a number, such as 1, 0.5 or .5");
  }
  if (pos < text.size() && text[pos] == '.') {
    return Invalid(text, "it has more than one decimal point");
  }
  number.end = pos;
  return number;
}

// digits * 10^exponent10 as a count of nanos (digits: no leading zeros, not
// empty); nullopt at kMaxQuantityNanos or beyond.
std::optional<UnsignedNanos> NanosOf(std::string_view digits, int64_t exponent10) {
  const int64_t nano_exponent = exponent10 + 9;
  const int64_t integer_digits = static_cast<int64_t>(digits.size()) + nano_exponent;
  if (integer_digits > kMaxNanoDigits) return std::nullopt;
  UnsignedNanos magnitude = 0;
  if (nano_exponent >= 0) {
    for (char c : digits) magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
    for (int64_t i = 0; i < nano_exponent; ++i) magnitude *= 10;
  } else {
    // Finer than a nano: keep the whole nanos, round any remainder away
    // from zero, as Kubernetes does ("if you want some resources, you
    // should get some resources").
    size_t keep = static_cast<size_t>(std::max<int64_t>(integer_digits, 0));
    for (size_t i = 0; i < keep; ++i) {
      magnitude = magnitude * 10 + static_cast<unsigned>(digits[i] - '0');
    }
    bool remainder = digits.find_first_not_of('0', keep) != std::string_view::npos;
    if (remainder) ++magnitude;
  }
  if (magnitude > static_cast<UnsignedNanos>(kMaxQuantityNanos)) return std::nullopt;
  return magnitude;
}

// digits * 10^exponent10 * 2^power as a count of nanos, capped where
// Kubernetes caps binarySI (kBinaryCapNanos) rather than refused.
UnsignedNanos BinaryNanos(std::string digits, int64_t exponent10, int64_t power) {
  // At 10^19 or more before the suffix, the value is past the cap anyway;
  // skip multiplying digits we would throw away.
  if (static_cast<int64_t>(digits.size()) + exponent10 > 19) return kBinaryCapNanos;
  MultiplyByPowerOfTwo(digits, power);
  StripTrailingZeros(digits, exponent10);
  std::optional<UnsignedNanos> nanos = NanosOf(digits, exponent10);
  if (!nanos || *nanos > kBinaryCapNanos) return kBinaryCapNanos;
  return *nanos;
}

std::string ToDecimal(UnsignedNanos value) {
  if (value == 0) return "0";
  std::string out;
  while (value > 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

UnsignedNanos Magnitude(QuantityNanos nanos) {
  // Negating in unsigned arithmetic is defined even for the most negative value.
  return nanos < 0 ? UnsignedNanos{0} - static_cast<UnsignedNanos>(nanos) : static_cast<UnsignedNanos>(nanos);
}

int64_t DivideAwayFromZeroSaturated(QuantityNanos nanos, int64_t divisor) {
  QuantityNanos quotient = nanos / divisor;
  QuantityNanos remainder = nanos % divisor;
  if (remainder > 0) ++quotient;
  if (remainder < 0) --quotient;
  if (quotient > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (quotient < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(quotient);
}

}  // namespace

int64_t Quantity::Value() const {
  return DivideAwayFromZeroSaturated(nanos, kNanosPerUnit);
}

int64_t Quantity::MilliValue() const {
  return DivideAwayFromZeroSaturated(nanos, kNanosPerMilli);
}

int Quantity::Compare(const Quantity& other) const {
  return (nanos > other.nanos) - (nanos < other.nanos);
}

std::string Quantity::Canonical() const {
  if (nanos == 0) return "0";
  std::string out = nanos < 0 ? "-" : "";
  UnsignedNanos magnitude = Magnitude(nanos);

  // Binary only for whole values of at least 1Ki; below that, or with a
  // fraction, Kubernetes switches to decimalSI so that nothing is rounded.
  if (format == QuantityFormat::kBinarySI && magnitude >= UnsignedNanos{1024} * kNanosPerUnit &&
      magnitude % kNanosPerUnit == 0) {
    static constexpr std::array<std::string_view, 7> kBinary = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    UnsignedNanos units = magnitude / kNanosPerUnit;
    size_t power = 0;
    while (units % 1024 == 0 && power + 1 < kBinary.size()) {
      units /= 1024;
      ++power;
    }
    out += ToDecimal(units);
    out += kBinary[power];
    return out;
  }

  // Decimal: a mantissa with no fraction and an exponent that is a multiple
  // of three, as large as possible (Kubernetes' AsCanonicalBytes).
  int exponent = -9;
  while (magnitude % 10 == 0) {
    magnitude /= 10;
    ++exponent;
  }
  // Each step undoes one division above, so this cannot overflow.
  while (exponent % 3 != 0) {
    magnitude *= 10;
    --exponent;
  }
  out += ToDecimal(magnitude);
  if (format == QuantityFormat::kDecimalExponent || exponent > 18) {
    // decimalSI has no suffix past E (1e18); Kubernetes falls back to "e<n>".
    if (exponent != 0) out += "e" + std::to_string(exponent);
    return out;
  }
  static constexpr std::array<std::string_view, 10> kDecimal = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
  out += kDecimal[static_cast<size_t>((exponent + 9) / 3)];
  return out;
}

Result<Quantity> ParseQuantity(std::string_view text) {
  if (text.empty()) return Invalid(text, "it is empty");
  if (std::any_of(text.begin(), text.end(), IsSpace)) {
    return Invalid(text, "it must not contain spaces");
  }
  Result<Number> number = ScanNumber(text);
  if (!number) return std::unexpected(number.error());
  Result<Suffix> suffix = ParseSuffix(text, text.substr(number->end));
  if (!suffix) return std::unexpected(suffix.error());

  Quantity quantity;
  quantity.original = std::string(text);
  quantity.format = suffix->format;
  bool binary = suffix->format == QuantityFormat::kBinarySI;

  // The exact value is sign * digits * 10^exponent10 (* 2^exponent if binary).
  std::string digits;
  digits.reserve(number->int_digits.size() + number->frac_digits.size());
  digits += number->int_digits;
  digits += number->frac_digits;
  int64_t exponent10 = -static_cast<int64_t>(number->frac_digits.size());
  if (!binary) exponent10 += suffix->exponent;
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  StripTrailingZeros(digits, exponent10);
  if (digits.empty()) return quantity;  // zero, whatever the suffix

  UnsignedNanos magnitude = 0;
  if (binary) {
    magnitude = BinaryNanos(std::move(digits), exponent10, suffix->exponent);
  } else {
    std::optional<UnsignedNanos> nanos = NanosOf(digits, exponent10);
    if (!nanos) return Invalid(text, "quantity too large: its magnitude must be below 1e29");
    magnitude = *nanos;
  }

  // A binary value below one unit is shown in decimal (Kubernetes does the
  // same when parsing).
  if (binary && magnitude < static_cast<UnsignedNanos>(kNanosPerUnit)) {
    quantity.format = QuantityFormat::kDecimalSI;
  }
  quantity.nanos = static_cast<QuantityNanos>(magnitude);
  if (number->negative) quantity.nanos = -quantity.nanos;
  return quantity;
}

}  // namespace ctask::api
