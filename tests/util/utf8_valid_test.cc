// ToValidUtf8: any bytes in, valid UTF-8 out, each bad byte one U+FFFD.
#include <gtest/gtest.h>

#include <string>

#include "util/utf8.h"

namespace ctask {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(ToValidUtf8Test, KeepsValidTextAsItIs) {
  for (const std::string& text : {std::string(""), std::string("plain ascii\n"), std::string("h\xC3\xA9llo"),
                                  std::string("\xE2\x82\xAC \xF0\x9F\x98\x80"), std::string("\0x", 2)}) {
    EXPECT_EQ(ToValidUtf8(text), text);
  }
}

TEST(ToValidUtf8Test, ReplacesEachBadByte) {
  struct Case {
    const char* name;
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"lone continuation",
       "a\x80"
       "b",
       "a" + kFffd + "b"},
      {"invalid byte", "\xFF", kFffd},
      {"two invalid bytes", "\xFE\xFF", kFffd + kFffd},
      {"cut-off sequence at the end", "ok\xE2\x82", "ok" + kFffd + kFffd},
      {"cut-off sequence before ascii", "\xC3z", kFffd + "z"},
      {"overlong slash", "\xC0\xAF", kFffd + kFffd},
      {"surrogate", "\xED\xA0\x80", kFffd + kFffd + kFffd},
      {"above U+10FFFF", "\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},
      {"valid after invalid", "\xFF\xC3\xA9", kFffd + "\xC3\xA9"},
  };
  for (const Case& c : cases) {
    const std::string out = ToValidUtf8(c.in);
    EXPECT_EQ(out, c.want) << c.name;
    EXPECT_TRUE(IsValidUtf8(out)) << c.name;
  }
}

TEST(ToValidUtf8Test, EveryByteValueGivesValidOutput) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8(all)));
  EXPECT_FALSE(IsValidUtf8(all));
}

}  // namespace
}  // namespace ctask
