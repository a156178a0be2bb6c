// Quantity: a Kubernetes resource.Quantity ("500m", "128Mi", "1.5Gi", "1e3"),
// parsed the way k8s.io/apimachinery/pkg/api/resource ParseQuantity parses it,
// so that what ctask accepts, compares and prints agrees with the API server.
//
// Contract:
//  - The value is held exactly, as a signed count of nano-units (value * 1e9).
//    Like Kubernetes, a value finer than 1n is rounded away from zero to the
//    next nano ("0.1n" -> 1n, "-0.1n" -> -1n), and a binary-suffixed value is
//    silently capped at 2^63-1 ("8Ei" -> 9223372036854775807).
//  - Kubernetes keeps decimal values of any size; we keep magnitudes below
//    1e29 and reject larger ones with "quantity too large", never overflow.
//  - Where we knowingly differ from ParseQuantity (see quantity.cc for the
//    why): a number must contain a digit ("Gi", "+", "." parse as 0 in
//    Kubernetes; they fail its CRD pattern, and here); exponents outside int32
//    are rejected (Kubernetes truncates them to int32); Value/MilliValue round
//    negatives away from zero and saturate instead of overflowing.
//  - Parsing is linear in the input and allocates at most a few copies of it;
//    any input, however malformed, yields a value or an InvalidArgument error.
//
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ctask::api {

// The pattern CRD schemas (controller-gen, for resource.Quantity) validate
// quantities with. Everything ParseQuantity accepts matches it; it also lets
// through fractional exponents ("1e1.5"), which ParseQuantity rejects.
inline constexpr std::string_view kQuantityPattern =
    R"(^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$)";

// GCC's 128-bit integer; __extension__ keeps -Wpedantic quiet about it.
__extension__ using QuantityNanos = __int128;

// The largest magnitude we hold: 10^38 - 1 nano-units, just under 1e29.
inline constexpr QuantityNanos kMaxQuantityNanos =
    static_cast<QuantityNanos>(10'000'000'000'000'000'000ULL) * 10'000'000'000'000'000'000ULL - 1;

// How the quantity was written; Canonical() prints in the same family, as
// Kubernetes' String() does.
enum class QuantityFormat {
  kDecimalSI,        // n u m "" k M G T P E
  kBinarySI,         // Ki Mi Gi Ti Pi Ei
  kDecimalExponent,  // e3, E-6
};

struct Quantity {
  QuantityNanos nanos = 0;  // exact value * 10^9
  QuantityFormat format = QuantityFormat::kDecimalSI;
  std::string original;  // the text as written

  // The value in whole units, rounded away from zero ("1.2" -> 2,
  // "-1.2" -> -2), saturated to the int64 range.
  int64_t Value() const;
  // The value in milli-units, rounded away from zero ("0.1m" -> 1), saturated
  // to the int64 range.
  int64_t MilliValue() const;

  bool IsNegative() const { return nanos < 0; }
  bool IsZero() const { return nanos == 0; }
  // -1, 0 or 1 as this is less than, equal to or greater than `other`;
  // compares values, not spelling ("1Ki" == "1024").
  int Compare(const Quantity& other) const;

  // Kubernetes' canonical form (Quantity.CanonicalizeBytes): no fractional
  // digits, the largest suffix of the same family that keeps the value exact.
  // "1.5" -> "1500m", "1536Mi" -> "1536Mi", "1024Mi" -> "1Gi", "1000" -> "1k",
  // "0.5Ki" -> "512", "1e3" -> "1e3", "1000E" -> "1e21", "0" -> "0".
  // Kubernetes' String() differs only in that it sometimes returns the input
  // text unchanged when parsing took its fast path ("+1Gi", "1.500", "1E3"
  // stay as written); Canonical() always normalises.
  std::string Canonical() const;
};

// Parses `text` (no surrounding whitespace allowed, as in Kubernetes). Errors
// are InvalidArgument and read like:
//   invalid quantity "1Gii": unknown suffix "Gii"; use a number with an
//   optional suffix such as 500m, 128Mi, 1Gi or 2
Result<Quantity> ParseQuantity(std::string_view text);

}  // namespace ctask::api
