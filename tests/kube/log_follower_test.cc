// LogCursor (pure: timestamps, splitting, the dedupe rule). The follows
// built on it: log_streams_test.cc.
#include "kube/log_follower.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kube/log_lines.h"

namespace ctask::kube {
namespace {

using testing::kT1;
using testing::kT2;
using testing::kT3;
using testing::kT4;
using testing::L;

// Collects what a cursor or a follower delivers.
struct Sink {
  std::vector<std::string> lines;
  LineCallback callback() {
    return [this](std::string_view line) {
      lines.emplace_back(line);
      return true;
    };
  }
};

TEST(ParseLogTimeTest, FractionsAndOrder) {
  const std::optional<LogTime> t = ParseLogTime("2026-11-23T15:04:05.123456789Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->nanos, 123456789);
  EXPECT_EQ(ParseLogTime("2026-11-23T15:04:05.5Z")->nanos, 500000000);  // trailing zeros trimmed
  EXPECT_EQ(ParseLogTime("2026-11-23T15:04:05Z")->nanos, 0);
  EXPECT_LT(*ParseLogTime("2026-11-23T15:04:05.999Z"), *ParseLogTime("2026-11-23T15:04:06Z"));
  EXPECT_GT(*ParseLogTime("2026-11-23T15:04:05.5Z"), *ParseLogTime("2026-11-23T15:04:05.12Z"));
  EXPECT_FALSE(ParseLogTime("hello").has_value());
}

TEST(SplitTimestampTest, Splits) {
  // The split views into the line: the line must outlive it.
  const std::string line = L(kT1, "hello world");
  std::optional<TimestampedLine> split = SplitTimestamp(line);
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->text, "hello world\n");
  EXPECT_EQ(split->time, *ParseLogTime(kT1));
  std::string empty_line(kT1);
  empty_line += " \n";
  split = SplitTimestamp(empty_line);
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->text, "\n");
  EXPECT_FALSE(SplitTimestamp("no timestamp here\n").has_value());
}

TEST(LogCursorTest, SplitsChunksAndStripsTimestamps) {
  LogCursor cursor(false);
  Sink sink;
  const std::string text = L(kT1, "a") + L(kT2, "b") + L(kT3, "c");
  for (const char c : text) ASSERT_TRUE(cursor.Feed(std::string_view(&c, 1), sink.callback()));
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"a\n", "b\n", "c\n"}));
  EXPECT_EQ(cursor.SinceTime(), "2026-11-23T15:04:06Z");
  EXPECT_EQ(cursor.lines_delivered(), 3u);
}

TEST(LogCursorTest, KeepsTimestampsWhenAsked) {
  LogCursor cursor(true);
  Sink sink;
  ASSERT_TRUE(cursor.Feed(L(kT1, "a"), sink.callback()));
  EXPECT_EQ(sink.lines, (std::vector<std::string>{L(kT1, "a")}));
}

TEST(LogCursorTest, ResumeSkipsWhatWasDelivered) {
  LogCursor cursor(false);
  Sink sink;
  ASSERT_TRUE(cursor.Feed(L(kT1, "a") + L(kT2, "b"), sink.callback()));
  cursor.Restart();
  ASSERT_TRUE(cursor.Feed(L(kT1, "a") + L(kT2, "b") + L(kT3, "c"), sink.callback()));
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"a\n", "b\n", "c\n"}));
}

TEST(LogCursorTest, IdenticalTimestampsAtTheBreak) {
  LogCursor cursor(false);
  Sink sink;
  ASSERT_TRUE(cursor.Feed(L(kT1, "a") + L(kT2, "b") + L(kT2, "c"), sink.callback()));
  cursor.Restart();
  ASSERT_TRUE(cursor.Feed(L(kT1, "a") + L(kT2, "b") + L(kT2, "c") + L(kT2, "d") + L(kT3, "e"), sink.callback()));
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"a\n", "b\n", "c\n", "d\n", "e\n"}));
  // A second break, at the same timestamp again.
  cursor.Restart();
  ASSERT_TRUE(cursor.Feed(L(kT3, "e") + L(kT4, "f"), sink.callback()));
  EXPECT_EQ(sink.lines.back(), "f\n");
  EXPECT_EQ(sink.lines.size(), 6u);
}

TEST(LogCursorTest, PartialLineHeldDroppedOnRestartDeliveredOnFinish) {
  LogCursor cursor(false);
  Sink sink;
  ASSERT_TRUE(cursor.Feed(L(kT1, "a") + std::string(kT2) + " hel", sink.callback()));
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"a\n"}));
  cursor.Restart();
  ASSERT_TRUE(cursor.Feed(L(kT1, "a") + L(kT2, "hello") + std::string(kT3) + " no newline", sink.callback()));
  ASSERT_TRUE(cursor.Finish(sink.callback()));
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"a\n", "hello\n", "no newline"}));
}

TEST(LogCursorTest, EmitReturningFalseStops) {
  LogCursor cursor(false);
  int calls = 0;
  EXPECT_FALSE(cursor.Feed(L(kT1, "a") + L(kT2, "b"), [&](std::string_view) { return ++calls, false; }));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ctask::kube
