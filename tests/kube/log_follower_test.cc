// LogCursor (pure: timestamps, splitting, the dedupe rule) and FollowLog
// over a scripted transport: breaks, overlaps, partial lines, stop.
#include "kube/log_follower.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_transport.h"

namespace ctask::kube {
namespace {

using namespace std::chrono_literals;
using fakes::FakeReply;
using fakes::FakeTransport;
using fakes::Reply;
using fakes::StreamReply;

constexpr const char* kT1 = "2026-11-23T15:04:05.100000000Z";
constexpr const char* kT2 = "2026-11-23T15:04:05.200000000Z";
constexpr const char* kT3 = "2026-11-23T15:04:06.000000001Z";
constexpr const char* kT4 = "2026-11-23T15:04:07.500000000Z";

std::string L(const char* ts, std::string_view text) {
  return std::string(ts) + " " + std::string(text) + "\n";
}

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
  const std::string empty_line = std::string(kT1) + " \n";
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

class FollowLogTest : public ::testing::Test {
 protected:
  FollowLogTest() {
    auto transport = std::make_unique<FakeTransport>();
    fake_ = transport.get();
    ClientOptions options;
    options.qps = 0;
    client_ = std::make_unique<KubeClient>(std::move(transport), "https://k8s.test", nullptr, options);
  }

  // still_running answers these in turn, then false.
  StillRunning Running(std::vector<bool> answers) {
    return [this, answers = std::move(answers)]() -> Result<bool> {
      const size_t i = running_calls_++;
      return i < answers.size() ? answers[i] : false;
    };
  }
  // The backoffs asked for, in order (the fake clock records them).
  std::vector<std::chrono::nanoseconds> Sleeps() const { return clock_.Sleeps(); }
  Status Follow(const StillRunning& running, LogFollowOptions options = {}) {
    return FollowLog(*client_, "y", "p", options, running, sink_.callback(), {}, clock_);
  }

  FakeTransport* fake_;
  std::unique_ptr<KubeClient> client_;
  Sink sink_;
  size_t running_calls_ = 0;
  fakes::FakeClock clock_;
};

FakeReply Broken(std::vector<std::string> chunks) {
  FakeReply reply = StreamReply(std::move(chunks));
  reply.end_error = Error(ErrorCode::kUnavailable, "connection reset by peer");
  return reply;
}

TEST_F(FollowLogTest, ResumesAfterBreakWithEachLineOnce) {
  fake_->Push(Broken({L(kT1, "a") + L(kT2, "b"), std::string(kT3) + " c-part"}));
  fake_->Push(StreamReply({L(kT2, "b") + L(kT3, "c-part and rest") + L(kT4, "d")}));
  Status followed = Follow(Running({true, false}));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"a\n", "b\n", "c-part and rest\n", "d\n"}));
  const std::vector<http::Request> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].url, "https://k8s.test/api/v1/namespaces/y/pods/p/log?follow=true&timestamps=true");
  EXPECT_EQ(sent[1].url,
            "https://k8s.test/api/v1/namespaces/y/pods/p/log?follow=true&timestamps=true&sinceTime=2026-11-23T15%3A04%"
            "3A05Z");
  EXPECT_EQ(Sleeps(), (std::vector<std::chrono::nanoseconds>{200ms}));
}

TEST_F(FollowLogTest, CleanEndWhileRunningRefollows) {
  fake_->Push(StreamReply({L(kT1, "a") + L(kT2, "b") + L(kT2, "c")}));
  fake_->Push(StreamReply({L(kT2, "b") + L(kT2, "c") + L(kT2, "d")}));
  Status followed = Follow(Running({true, false}));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"a\n", "b\n", "c\n", "d\n"}));
}

TEST_F(FollowLogTest, StillRunningFalseEndsAndDeliversHeldLine) {
  fake_->Push(StreamReply({L(kT1, "a"), std::string(kT2) + " last words"}));
  Status followed = Follow(Running({}));
  ASSERT_TRUE(followed.has_value());
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"a\n", "last words"}));
  EXPECT_EQ(fake_->requests().size(), 1u);
  EXPECT_TRUE(Sleeps().empty());
}

TEST_F(FollowLogTest, BreakThenEndedReadsTheRestOnce) {
  fake_->Push(Broken({L(kT1, "a")}));
  fake_->Push(StreamReply({L(kT1, "a") + L(kT2, "b")}));
  Status followed = Follow(Running({false, false}));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"a\n", "b\n"}));
  const std::vector<http::Request> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].url.find("follow=true"), std::string::npos) << sent[1].url;
}

TEST_F(FollowLogTest, TimestampsKeptWhenAsked) {
  fake_->Push(StreamReply({L(kT1, "a")}));
  LogFollowOptions options;
  options.timestamps = true;
  options.container = "main";
  ASSERT_TRUE(Follow(Running({}), options).has_value());
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{L(kT1, "a")}));
  EXPECT_EQ(fake_->requests()[0].url,
            "https://k8s.test/api/v1/namespaces/y/pods/p/log?container=main&follow=true&timestamps=true");
}

TEST_F(FollowLogTest, FirstWindowReusedUntilALineArrives) {
  fake_->Push(Broken({}));
  fake_->Push(StreamReply({}));
  LogFollowOptions options;
  options.tail_lines = 5;
  ASSERT_TRUE(Follow(Running({true, false}), options).has_value());
  const std::vector<http::Request> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[1].url.find("tailLines=5"), std::string::npos);
}

TEST_F(FollowLogTest, BackoffDoublesCapsAndResetsAfterData) {
  for (int i = 0; i < 6; ++i) fake_->Push(Broken({}));
  fake_->Push(Broken({L(kT1, "a")}));
  fake_->Push(StreamReply({}));
  Status followed = Follow(Running(std::vector<bool>(7, true)));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(Sleeps(), (std::vector<std::chrono::nanoseconds>{200ms, 400ms, 800ms, 1600ms, 3200ms, 5000ms, 200ms}));
}

TEST_F(FollowLogTest, PodGoneIsNotFound) {
  fake_->Push(Reply(404, R"({"kind":"Status","code":404,"reason":"NotFound","message":"pods \"p\" not found"})"));
  Status followed = Follow(Running({true}));
  ASSERT_FALSE(followed.has_value());
  EXPECT_EQ(followed.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(running_calls_, 0u);
}

TEST_F(FollowLogTest, StillRunningErrorIsReturned) {
  fake_->Push(StreamReply({}));
  Status followed = Follow([]() -> Result<bool> { return MakeError(ErrorCode::kPermissionDenied, "forbidden"); });
  ASSERT_FALSE(followed.has_value());
  EXPECT_EQ(followed.error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(FollowLogTest, ReaderReturningFalseIsCancelled) {
  fake_->Push(StreamReply({L(kT1, "a") + L(kT2, "b")}));
  int calls = 0;
  Status followed = FollowLog(
      *client_, "y", "p", {}, Running({}), [&](std::string_view) { return ++calls, false; }, {}, clock_);
  ASSERT_FALSE(followed.has_value());
  EXPECT_EQ(followed.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST_F(FollowLogTest, StopDuringStreamReturnsPromptly) {
  FakeReply quiet = StreamReply({L(kT1, "a")});
  quiet.hold_until_stop = true;
  fake_->Push(std::move(quiet));
  std::stop_source stop;
  std::atomic<bool> got_line = false;
  Status followed;
  std::jthread follower([&] {
    followed = FollowLog(
        *client_, "y", "p", {}, Running({true}),
        [&](std::string_view) {
          got_line = true;
          got_line.notify_all();
          return true;
        },
        stop.get_token(), clock_);
  });
  got_line.wait(false);
  stop.request_stop();
  follower.join();
  ASSERT_FALSE(followed.has_value());
  EXPECT_EQ(followed.error().code(), ErrorCode::kCancelled);
}

TEST_F(FollowLogTest, StopDuringBackoffReturnsPromptly) {
  fake_->Push(Broken({}));
  std::stop_source stop;
  // The stop comes while the follower waits out its backoff; the real
  // clock's sleep ends on it at once (tests/util/clock_test.cc).
  clock_.OnSleep([&](std::chrono::nanoseconds, const std::stop_token&) {
    stop.request_stop();
    return true;
  });
  Status followed = FollowLog(*client_, "y", "p", {}, Running({true}), sink_.callback(), stop.get_token(), clock_);
  ASSERT_FALSE(followed.has_value());
  EXPECT_EQ(followed.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(Sleeps(), (std::vector<std::chrono::nanoseconds>{200ms}));
}

}  // namespace
}  // namespace ctask::kube
