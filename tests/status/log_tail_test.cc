// LogTail: the bounded tail of an attempt's output that goes into
// status.logTail. Output arrives in pieces cut anywhere, so most cases feed
// the same text whole, byte by byte and in odd-sized pieces and expect the
// same Text().
#include "status/log_tail.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "util/utf8.h"

namespace ctask::status {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Text() after feeding `text` in pieces of `piece` bytes (0: whole).
std::string Tail(size_t max_lines, size_t max_bytes, std::string_view text, size_t piece = 0) {
  LogTail tail(max_lines, max_bytes);
  if (piece == 0) {
    tail.Append(text);
  } else {
    for (size_t i = 0; i < text.size(); i += piece) tail.Append(text.substr(i, piece));
  }
  return tail.Text();
}

// The same text in every splitting gives the same tail; returns it.
std::string TailAnySplit(size_t max_lines, size_t max_bytes, std::string_view text) {
  const std::string whole = Tail(max_lines, max_bytes, text);
  for (size_t piece : {1, 2, 3, 5, 7, 64, 4097}) {
    EXPECT_EQ(Tail(max_lines, max_bytes, text, piece), whole)
        << "pieces of " << piece << " bytes, max_lines " << max_lines << ", max_bytes " << max_bytes;
  }
  return whole;
}

TEST(LogTailTest, KeepsTheLastLines) {
  EXPECT_EQ(TailAnySplit(3, 4096, "1\n2\n3\n4\n5\n"), "3\n4\n5\n");
  EXPECT_EQ(TailAnySplit(3, 4096, "1\n2\n"), "1\n2\n");
  EXPECT_EQ(TailAnySplit(3, 4096, ""), "");
}

TEST(LogTailTest, AnUnfinishedLastLineCountsAsALine) {
  EXPECT_EQ(TailAnySplit(3, 4096, "1\n2\n3\n4\npartial"), "3\n4\npartial");
  EXPECT_EQ(TailAnySplit(1, 4096, "1\n2\nno newline"), "no newline");
}

TEST(LogTailTest, ZeroTailLinesKeepsNothing) {
  EXPECT_EQ(TailAnySplit(0, 4096, "1\n2\n3"), "");
  EXPECT_EQ(TailAnySplit(0, 4096, "1\n2\n3\n"), "");
}

TEST(LogTailTest, TheByteBoundCutsTheOldestLineWithAMarker) {
  // 8 lines of 6 bytes, 10 lines allowed, 20 bytes: "..." and the last 17.
  const std::string text = "line1\nline2\nline3\nline4\nline5\nline6\nline7\nline8\n";
  const std::string tail = TailAnySplit(10, 20, text);
  EXPECT_EQ(tail, "...ine6\nline7\nline8\n");
  EXPECT_LE(tail.size(), 20u);
}

TEST(LogTailTest, NoMarkerWhenNothingIsCut) {
  EXPECT_EQ(TailAnySplit(10, 12, "abc\ndefgh\n"), "abc\ndefgh\n");
  EXPECT_EQ(TailAnySplit(10, 10, "abc\ndefgh\n"), "abc\ndefgh\n");  // exactly the bound
}

TEST(LogTailTest, ALongCompleteLineKeepsItsEnd) {
  // One line far beyond the byte bound, then the task exits: the tail is the
  // line's end, marked, not nothing.
  const std::string line = Repeat("x", 100) + "END\n";
  EXPECT_EQ(TailAnySplit(5, 16, line), "..." + Repeat("x", 9) + "END\n");
  // And the lines after it still fit beside it.
  EXPECT_EQ(TailAnySplit(5, 16, line + "ok\n"), "..." + Repeat("x", 6) + "END\nok\n");
}

TEST(LogTailTest, ASingleEndlessLineIsBoundedAndMarked) {
  const size_t max_bytes = 64;
  LogTail tail(20, max_bytes);
  std::string last;
  for (int i = 0; i < 100000; ++i) {
    last = "chunk" + std::to_string(i) + ";";
    tail.Append(last);
    if (i % 997 == 0) {
      const std::string text = tail.Text();
      ASSERT_LE(text.size(), max_bytes) << "after " << i;
      if (i > 100) {
        EXPECT_TRUE(text.starts_with("...")) << text;
      }
      EXPECT_TRUE(text.ends_with(last)) << text;
    }
  }
  const std::string text = tail.Text();
  EXPECT_EQ(text.size(), max_bytes);
  EXPECT_TRUE(text.starts_with("...")) << text;
  EXPECT_TRUE(text.ends_with("chunk99999;")) << text;
}

TEST(LogTailTest, AnEndlessLineCutAtTheBoundIsStillMarked) {
  // 25 bytes of one unfinished line with a 10-byte bound: 15 were dropped.
  EXPECT_EQ(TailAnySplit(5, 10, Repeat("a", 25)), "..." + Repeat("a", 7));
  EXPECT_EQ(TailAnySplit(5, 10, Repeat("a", 21)), "..." + Repeat("a", 7));
}

TEST(LogTailTest, CharactersSplitAcrossPiecesStayWhole) {
  // "é" (2 bytes), "€" (3), "😀" (4), cut by pieces of every size.
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n";
  EXPECT_EQ(TailAnySplit(5, 4096, text), text);
}

TEST(LogTailTest, InvalidUtf8IsReplaced) {
  EXPECT_EQ(TailAnySplit(5, 4096,
                         "a\xFF"
                         "b\n\x80\n"),
            "a" + kFffd + "b\n" + kFffd + "\n");
  const std::string cut_char = "ok \xE2\x82";  // a character the program never finished
  EXPECT_EQ(TailAnySplit(5, 4096, cut_char), "ok " + kFffd + kFffd);
}

TEST(LogTailTest, TheByteCutNeverSplitsACharacter) {
  // Cutting 3-byte characters at every offset leaves whole characters only.
  for (size_t max_bytes = 4; max_bytes < 20; ++max_bytes) {
    const std::string tail = TailAnySplit(5, max_bytes, Repeat("\xE2\x82\xAC", 20) + "\n");
    EXPECT_LE(tail.size(), max_bytes);
    EXPECT_TRUE(tail.starts_with("...")) << tail;
    EXPECT_EQ(tail.find(kFffd), std::string::npos) << "max_bytes " << max_bytes << ": " << tail;
    EXPECT_TRUE(IsValidUtf8(tail));
  }
}

TEST(LogTailTest, ReplacementCharactersDoNotBreakTheBound) {
  // Each invalid byte becomes 3 bytes; the bound holds on the result.
  const std::string tail = TailAnySplit(5, 10, Repeat("\xFF", 20) + "\n");
  EXPECT_EQ(tail, "..." + kFffd + kFffd + "\n");
}

TEST(LogTailTest, TextIsNeverAboveMaxBytesAndAlwaysValid) {
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7FFF;
  };
  const std::vector<std::string> atoms = {
      "a", "bc", "\n", "\n\n", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xFF", "\x80", "\xE2", Repeat("z", 50)};
  for (size_t max_bytes : {1, 2, 3, 4, 5, 8, 13, 64, 200}) {
    for (size_t max_lines : {0, 1, 2, 5, 50}) {
      LogTail tail(max_lines, max_bytes);
      for (int i = 0; i < 400; ++i) {
        std::string piece;
        for (uint32_t n = next() % 4; n > 0; --n) piece += atoms[next() % atoms.size()];
        tail.Append(piece);
        const std::string text = tail.Text();
        ASSERT_LE(text.size(), max_bytes) << "max_bytes " << max_bytes << " max_lines " << max_lines;
        ASSERT_TRUE(IsValidUtf8(text)) << "max_bytes " << max_bytes << " max_lines " << max_lines;
        if (max_lines == 0) {
          ASSERT_EQ(text, "");
        }
      }
    }
  }
}

}  // namespace
}  // namespace ctask::status
