// Quantity parsing checked against Kubernetes' own rules: the expectations
// below come from k8s.io/apimachinery/pkg/api/resource (quantity.go and the
// tables in quantity_test.go), with our documented differences marked.

#include "api/quantity.h"

#include <gtest/gtest.h>

// GCC 12 under ASan warns falsely (maybe-uninitialized) inside <regex>.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>

namespace ctask::api {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct QuantityCase {
  std::string_view input;
  // For valid input: Value(), MilliValue() and Canonical(); error is empty.
  int64_t value;
  int64_t milli;
  std::string_view canonical;
  // For invalid input: a fragment of the expected error message.
  std::string_view error;
};

// Valid rows have an empty `error`; invalid rows leave the numbers at 0.
const QuantityCase kCases[] = {
    // Plain numbers and signs.
    {"0", 0, 0, "0", ""},
    {"-0", 0, 0, "0", ""},
    {"1", 1, 1000, "1", ""},
    {"+1", 1, 1000, "1", ""},  // Kubernetes' String() keeps "+1" (fast-path cache)
    {"-1", -1, -1000, "-1", ""},
    {"007", 7, 7000, "7", ""},
    {".5", 1, 500, "500m", ""},
    {"5.", 5, 5000, "5", ""},
    {"1.", 1, 1000, "1", ""},
    {"1.5", 2, 1500, "1500m", ""},
    {"-1.5", -2, -1500, "-1500m", ""},  // away from zero, as Kubernetes' int64 path
    {"1.500", 2, 1500, "1500m", ""},    // Kubernetes' String() keeps "1.500"
    {"9.01", 10, 9010, "9010m", ""},
    {"0.001", 1, 1, "1m", ""},
    {"0.0005k", 1, 500, "500m", ""},
    {".0001k", 1, 100, "100m", ""},
    // Decimal SI suffixes.
    {"1n", 1, 1, "1n", ""},
    {"5n", 1, 1, "5n", ""},
    {"1u", 1, 1, "1u", ""},
    {"100m", 1, 100, "100m", ""},
    {"1500m", 2, 1500, "1500m", ""},
    {"1000m", 1, 1000, "1", ""},
    {"1k", 1000, 1000000, "1k", ""},
    {"50k", 50000, 50000000, "50k", ""},
    {"1000", 1000, 1000000, "1k", ""},
    {"100.035k", 100035, 100035000, "100035", ""},
    {"1000M", 1000000000, 1000000000000, "1G", ""},
    {"1.G", 1000000000, 1000000000000, "1G", ""},
    {"10.035M", 10035000, 10035000000, "10035k", ""},
    {"6.987654321G", 6987654321, 6987654321000, "6987654321", ""},
    {"5.444T", 5444000000000, 5444000000000000, "5444G", ""},
    {"2.5P", 2500000000000000, 2500000000000000000, "2500T", ""},
    {"1E", 1000000000000000000, kMax, "1E", ""},
    {"1.01E", 1010000000000000000, kMax, "1010P", ""},
    // Decimal values are not capped (Kubernetes keeps them exactly); the
    // int64 accessors saturate where Kubernetes would overflow.
    {"12E", kMax, kMax, "12E", ""},
    {"1000000000000000000000", kMax, kMax, "1e21", ""},
    {"1000E", kMax, kMax, "1e21", ""},
    {"99999999999999999999999999999", kMax, kMax, "99999999999999999999999999999", ""},
    {"-99999999999999999999999999999", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min(),
     "-99999999999999999999999999999", ""},
    // Decimal exponents.
    {"1e3", 1000, 1000000, "1e3", ""},
    {"1E3", 1000, 1000000, "1e3", ""},  // Kubernetes' String() keeps "1E3"
    {"1e+3", 1000, 1000000, "1e3", ""},
    {"1e-3", 1, 1, "1e-3", ""},
    {"1E-3", 1, 1, "1e-3", ""},
    {"1e0", 1, 1000, "1", ""},
    {"1.2e3", 1200, 1200000, "1200", ""},
    {"1.3E+6", 1300000, 1300000000, "1300e3", ""},
    {"1.53E12", 1530000000000, 1530000000000000, "1530e9", ""},
    {"1.7E18", 1700000000000000000, kMax, "1700e15", ""},
    {"0.5e-2", 1, 5, "5e-3", ""},
    {"1e21", kMax, kMax, "1e21", ""},
    {"0e99999", 0, 0, "0", ""},
    // Finer than a nano: rounded away from zero to the next nano.
    {"0.1n", 1, 1, "1n", ""},
    {"-0.1n", -1, -1, "-1n", ""},
    {"0.9n", 1, 1, "1n", ""},
    {"3.001n", 1, 1, "4n", ""},
    {"1.1E-9", 1, 1, "2e-9", ""},
    {"0.5e-9", 1, 1, "1e-9", ""},
    {"0.0000000001", 1, 1, "1n", ""},
    {"0.00000000050", 1, 1, "1n", ""},
    {"0.00000012345", 1, 1, "124n", ""},
    {"1e-1000", 1, 1, "1e-9", ""},
    // Binary SI suffixes.
    {"0Ki", 0, 0, "0", ""},
    {"1Ki", 1024, 1024000, "1Ki", ""},
    {"1Mi", 1048576, 1048576000, "1Mi", ""},
    {"128Mi", 134217728, 134217728000, "128Mi", ""},
    {"1024Mi", 1073741824, 1073741824000, "1Gi", ""},
    {"1Gi", 1073741824, 1073741824000, "1Gi", ""},
    {"1.5Gi", 1610612736, 1610612736000, "1536Mi", ""},
    {"-1.5Gi", -1610612736, -1610612736000, "-1536Mi", ""},
    {"0.5Mi", 524288, 524288000, "512Ki", ""},
    {"0.5Ki", 512, 512000, "512", ""},  // below 1Ki: shown in decimal
    {"1025Mi", 1074790400, 1074790400000, "1025Mi", ""},
    {"100.035Ki", 102436, 102435840, "102435840m", ""},  // a fraction: decimal
    {"0.05Gi", 53687092, 53687091200, "53687091200m", ""},
    {".001Ki", 2, 1024, "1024m", ""},
    {".000001Ki", 1, 2, "1024u", ""},
    {".000000001Ki", 1, 1, "1024n", ""},
    {".000000000001Ki", 1, 1, "2n", ""},
    {"5Ti", 5497558138880, 5497558138880000, "5Ti", ""},
    {"4Pi", 4503599627370496, 4503599627370496000, "4Pi", ""},
    {"1Ei", 1152921504606846976, kMax, "1Ei", ""},
    // Binary values are capped, silently, at 2^63-1 as in Kubernetes.
    {"8Ei", kMax, kMax, "9223372036854775807", ""},
    {"9Ei", kMax, kMax, "9223372036854775807", ""},
    {"-8Ei", -kMax, std::numeric_limits<int64_t>::min(), "-9223372036854775807", ""},
    {"9223372036854775807Ki", kMax, kMax, "9223372036854775807", ""},
    {"1000000000000000000000000000000000000000000Ei", kMax, kMax, "9223372036854775807", ""},

    // Rejected by Kubernetes too.
    {"", 0, 0, "", "it is empty"},
    {" ", 0, 0, "", "must not contain spaces"},
    {" 1", 0, 0, "", "must not contain spaces"},
    {"1 ", 0, 0, "", "must not contain spaces"},
    {"1 Gi", 0, 0, "", "must not contain spaces"},
    {"1\n", 0, 0, "", "must not contain spaces"},
    {"1Gii", 0, 0, "", "unknown suffix \"Gii\""},
    {"1GI", 0, 0, "", "unknown suffix \"GI\""},
    {"1K", 0, 0, "", "use k for 1000 or Ki for 1024"},
    {"1ki", 0, 0, "", "unknown suffix \"ki\""},
    {"1i", 0, 0, "", "unknown suffix \"i\""},
    {".5i", 0, 0, "", "unknown suffix \"i\""},
    {"-3.01i", 0, 0, "", "unknown suffix \"i\""},
    {"0.1mi", 0, 0, "", "unknown suffix \"mi\""},
    {"0.1am", 0, 0, "", "unknown suffix \"am\""},
    {"1Mb", 0, 0, "", "unknown suffix \"Mb\""},
    {"1k1", 0, 0, "", "unknown suffix \"k1\""},
    {"0x10", 0, 0, "", "unknown suffix \"x10\""},
    {"1_000", 0, 0, "", "unknown suffix \"_000\""},
    {"1Ee3", 0, 0, "", "unknown suffix \"Ee3\""},
    {"1+1.0M", 0, 0, "", "unknown suffix \"+1.0M\""},
    {"1.2.3", 0, 0, "", "more than one decimal point"},
    {"1.1.M", 0, 0, "", "more than one decimal point"},
    {"1e", 0, 0, "", "invalid exponent \"e\""},
    {"1e+", 0, 0, "", "invalid exponent \"e+\""},
    {"-3.01e-", 0, 0, "", "invalid exponent \"e-\""},
    {"1e1.5", 0, 0, "", "invalid exponent \"e1.5\""},  // the CRD pattern allows it
    {"1e3k", 0, 0, "", "invalid exponent \"e3k\""},
    {"--1", 0, 0, "", "must start with a number"},
    {"+-1", 0, 0, "", "must start with a number"},
    {"ki", 0, 0, "", "must start with a number"},
    {"K", 0, 0, "", "must start with a number"},
    {"aoeu", 0, 0, "", "must start with a number"},
    {"\xef\xbc\x91", 0, 0, "", "must start with a number"},  // fullwidth digit one
    {"1e99999999999999999999", 0, 0, "", "out of range"},
    // Accepted by Kubernetes' scanner, rejected here (see quantity.h).
    {"+", 0, 0, "", "must start with a number"},                         // Kubernetes: 0
    {"-", 0, 0, "", "must start with a number"},                         // Kubernetes: 0
    {".", 0, 0, "", "must start with a number"},                         // Kubernetes: 0
    {"Gi", 0, 0, "", "must start with a number"},                        // Kubernetes: 0
    {"m", 0, 0, "", "must start with a number"},                         // Kubernetes: 0
    {"1e2147483648", 0, 0, "", "out of range"},                          // Kubernetes: int32 wrap, 1e-2147483648
    {"1e4294967296", 0, 0, "", "out of range"},                          // Kubernetes: int32 wrap, 1
    {"1e1000", 0, 0, "", "quantity too large"},                          // Kubernetes: kept exactly
    {"100000000000000000000000000000", 0, 0, "", "quantity too large"},  // 1e29
    {"1e2147483647", 0, 0, "", "quantity too large"},
    {"-1e29", 0, 0, "", "quantity too large"},
};

TEST(QuantityTest, MatchesKubernetes) {
  for (const QuantityCase& c : kCases) {
    SCOPED_TRACE(std::string("input: \"") + std::string(c.input) + "\"");
    Result<Quantity> q = ParseQuantity(c.input);
    if (!c.error.empty()) {
      ASSERT_FALSE(q.has_value()) << "parsed as " << q->Canonical();
      EXPECT_EQ(q.error().code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(q.error().message().find(c.error), std::string::npos) << q.error().message();
      continue;
    }
    ASSERT_TRUE(q.has_value()) << q.error().message();
    EXPECT_EQ(q->Value(), c.value);
    EXPECT_EQ(q->MilliValue(), c.milli);
    EXPECT_EQ(q->Canonical(), c.canonical);
    EXPECT_EQ(q->original, c.input);
    EXPECT_EQ(q->IsNegative(), c.input.starts_with("-") && !q->IsZero());
    // Canonical text parses back to the same value and is a fixed point.
    Result<Quantity> again = ParseQuantity(q->Canonical());
    ASSERT_TRUE(again.has_value()) << again.error().message();
    EXPECT_EQ(again->Compare(*q), 0);
    EXPECT_EQ(again->Canonical(), q->Canonical());
    // Whatever we accept, the CRD schema pattern accepts too.
    EXPECT_TRUE(std::regex_search(std::string(c.input), std::regex(std::string(kQuantityPattern))));
  }
}

TEST(QuantityTest, ErrorMessageSaysWhatIsWrongAndWhatIsValid) {
  Result<Quantity> q = ParseQuantity("1Gii");
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().message(),
            "invalid quantity \"1Gii\": unknown suffix \"Gii\" (valid suffixes are n, u, m, k, "
            "M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<integer>); use a number with an optional "
            "suffix such as 500m, 128Mi, 1Gi or 2");
}

TEST(QuantityTest, ErrorMessageStaysBoundedForHugeInput) {
  std::string huge(1 << 20, '7');
  huge += "x";
  Result<Quantity> q = ParseQuantity(huge);
  ASSERT_FALSE(q.has_value());
  EXPECT_LT(q.error().message().size(), 400u);
}

TEST(QuantityTest, HugeInputsAreLinearAndExact) {
  // A million fraction digits times 2^60: exact, and rounded up to the nano.
  std::string text = "0." + std::string(1 << 20, '0') + "1Ei";
  Result<Quantity> q = ParseQuantity(text);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->Canonical(), "1n");
  Result<Quantity> big = ParseQuantity(std::string(1 << 20, '9') + "Ki");
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->Value(), kMax);
  Result<Quantity> zeros = ParseQuantity(std::string(1 << 20, '0') + "1k");
  ASSERT_TRUE(zeros.has_value());
  EXPECT_EQ(zeros->Canonical(), "1k");
}

TEST(QuantityTest, CompareUsesValuesNotSpelling) {
  struct CompareCase {
    std::string_view a, b;
    int want;
  };
  const CompareCase cases[] = {
      {"0", "0", 0},
      {"100m", "50m", 1},
      {"50m", "100m", -1},
      {"10000T", "100Gi", 1},  // from Kubernetes'
                               // TestQuantityCmp
      {"1Ki", "1024", 0},
      {"1e3", "1k", 0},
      {"-1", "1", -1},
      {"0.1n", "1n", 0},
      {"8Ei", "9Ei", 0},
      {"1e21", "8Ei", 1},
  };
  for (const CompareCase& c : cases) {
    Result<Quantity> a = ParseQuantity(c.a);
    Result<Quantity> b = ParseQuantity(c.b);
    ASSERT_TRUE(a.has_value() && b.has_value()) << c.a << " " << c.b;
    EXPECT_EQ(a->Compare(*b), c.want) << c.a << " vs " << c.b;
    EXPECT_EQ(b->Compare(*a), -c.want) << c.b << " vs " << c.a;
  }
}

// Random strings over the quantity alphabet: never a crash, and we accept
// exactly what the CRD pattern accepts, less fractional exponents and values
// out of our range.
TEST(QuantityTest, AgreesWithCrdPatternOnRandomInput) {
  const std::regex pattern{std::string(kQuantityPattern)};
  constexpr std::string_view kAlphabet = "0123456789..+-eEinumkKMGTPb ";
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<size_t> length(0, 10);
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  int accepted = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string text;
    for (size_t n = length(rng); n > 0; --n) text += kAlphabet[pick(rng)];
    Result<Quantity> q = ParseQuantity(text);
    bool matches = std::regex_search(text, pattern);
    if (q.has_value()) {
      ++accepted;
      EXPECT_TRUE(matches) << text;
      Result<Quantity> again = ParseQuantity(q->Canonical());
      ASSERT_TRUE(again.has_value()) << text << " -> " << q->Canonical();
      EXPECT_EQ(again->Compare(*q), 0) << text;
    } else if (matches) {
      const std::string& message = q.error().message();
      bool explained = message.find("invalid exponent") != std::string::npos ||
                       message.find("too large") != std::string::npos ||
                       message.find("out of range") != std::string::npos;
      EXPECT_TRUE(explained) << text << ": " << message;
    }
  }
  EXPECT_GT(accepted, 1000);
}

}  // namespace
}  // namespace ctask::api
