// NewUuid: RFC 4122 version 4 from getrandom(2).
#include "util/uuid.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ctask {
namespace {

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

TEST(UuidTest, HasTheVersion4Format) {
  for (int i = 0; i < 100; ++i) {
    Result<std::string> uuid = NewUuid();
    ASSERT_TRUE(uuid.has_value()) << uuid.error().message();
    const std::string& u = *uuid;
    ASSERT_EQ(u.size(), 36u) << u;
    for (size_t j = 0; j < u.size(); ++j) {
      if (j == 8 || j == 13 || j == 18 || j == 23) {
        EXPECT_EQ(u[j], '-') << u;
      } else {
        EXPECT_TRUE(IsLowerHex(u[j])) << u << " at " << j;
      }
    }
    EXPECT_EQ(u[14], '4') << "version nibble: " << u;
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << "variant bits 10xx: " << u;
  }
}

TEST(UuidTest, ThousandAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    Result<std::string> uuid = NewUuid();
    ASSERT_TRUE(uuid.has_value()) << uuid.error().message();
    EXPECT_TRUE(seen.insert(*uuid).second) << "repeated: " << *uuid;
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace ctask
