// Small shared helpers: base64, RFC 3339 times, field paths and quoting.
#include <gtest/gtest.h>

#include "util/base64.h"
#include "util/error.h"
#include "util/field_error.h"
#include "util/time.h"

namespace ctask {
namespace {

TEST(Base64Test, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(DecodeBase64(EncodeBase64(bytes)), bytes) << "length " << i;
    bytes += static_cast<char>(i * 37);
  }
}

TEST(Base64Test, KnownVectors) {
  EXPECT_EQ(EncodeBase64("hunter2"), "aHVudGVyMg==");
  EXPECT_EQ(DecodeBase64("aHVudGVyMg=="), "hunter2");
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_EQ(DecodeBase64("aHVu\ndGVy\r\nMg=="), "hunter2");  // Go skips line breaks
}

TEST(Base64Test, RefusesWhatGoRefuses) {
  for (const char* bad : {"a", "aHVudGVyMg=", "aHVu dGVy", "aHVudGVyMg==\t", "a===", "****", "aHVudGVyMg==aGk="}) {
    EXPECT_EQ(DecodeBase64(bad), std::nullopt) << bad;
  }
}

TEST(TimeTest, FormatsAndParses) {
  std::optional<Timestamp> t = ParseRfc3339("2026-11-23T09:17:20Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-23T09:17:20Z");
  EXPECT_EQ(ParseRfc3339("2026-11-23T10:17:20.123456+01:00"), t);
  EXPECT_EQ(ParseRfc3339("2026-11-23T08:47:20-00:30"), t);
  EXPECT_EQ(FormatRfc3339(Timestamp{}), "1970-01-01T00:00:00Z");
}

TEST(TimeTest, RefusesMalformed) {
  for (const char* bad :
       {"", "2026-11-23", "2026-11-23T09:17:20", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T09:17:20.Z", "2026-11-23T09:17:20Zjunk", "2026-11-23T09:17:20+0100", "２026-11-23T09:17:20Z"}) {
    EXPECT_EQ(ParseRfc3339(bad), std::nullopt) << bad;
  }
}

TEST(FieldErrorTest, PathsAndQuoting) {
  EXPECT_EQ(ChildPath("", "spec"), "spec");
  EXPECT_EQ(ChildPath("spec", "image"), "spec.image");
  EXPECT_EQ(IndexPath("spec.env", 2), "spec.env[2]");
  EXPECT_EQ(KeyPath("spec.nodeSelector", "a.b/c"), "spec.nodeSelector[a.b/c]");
  EXPECT_EQ((FieldError{"spec.image", "required"}).ToString(), "spec.image: required");
  EXPECT_EQ(QuoteValue("a\"b\n\xff"), "\"a\\\"b\\x0a\\xff\"");
  EXPECT_EQ(QuoteValue(std::string(100, 'x'), 4), "\"xxxx...\"");
}

TEST(ErrorTest, ContextReadsOutsideIn) {
  Error e(ErrorCode::kInvalidArgument, "spec.image: required");
  EXPECT_EQ(e.WithContext("doc 2").WithContext("x.yaml").message(), "x.yaml: doc 2: spec.image: required");
  EXPECT_EQ(e.ToString(), "InvalidArgument: spec.image: required");
}

}  // namespace
}  // namespace ctask
