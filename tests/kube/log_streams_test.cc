// LogStreams over a scripted transport on a virtual clock
// (fakes/scripted_stream_loop.h): breaks, overlaps, partial lines, the
// backoff, stop — each follow's contract (log_streams.h), and many follows
// on one loop.
#include "kube/log_streams.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "fakes/fake_transport.h"
#include "fakes/scripted_stream_loop.h"
#include "kube/log_lines.h"

namespace ctask::kube {
namespace {

using namespace std::chrono_literals;
using fakes::FakeReply;
using fakes::FakeTransport;
using fakes::Reply;
using fakes::StreamReply;

using testing::kT1;
using testing::kT2;
using testing::kT3;
using testing::kT4;
using testing::L;

FakeReply Broken(std::vector<std::string> chunks) {
  FakeReply reply = StreamReply(std::move(chunks));
  reply.end_error = Error(ErrorCode::kUnavailable, "connection reset by peer");
  return reply;
}

class LogStreamsTest : public ::testing::Test {
 protected:
  LogStreamsTest() {
    auto transport = std::make_unique<FakeTransport>();
    fake_ = transport.get();
    ClientOptions options;
    options.qps = 0;
    client_ = std::make_unique<KubeClient>(std::move(transport), "https://k8s.test", nullptr, options);
    loop_ = std::make_unique<fakes::ScriptedStreamLoop>(*fake_);
    streams_ = std::make_unique<LogStreams>(*client_, *loop_);
  }

  // still_running answers these in turn, then false.
  StillRunning Running(std::vector<bool> answers) {
    return [this, answers = std::move(answers)]() -> Result<bool> {
      const size_t i = running_calls_++;
      return i < answers.size() ? answers[i] : false;
    };
  }
  LogStreams::FindPod Pod(std::string name = "p") {
    return [name]() -> Result<std::string> { return name; };
  }
  LineCallback Collect() {
    return [this](std::string_view line) {
      lines_.emplace_back(line);
      return true;
    };
  }
  // Follows pod y/p to its end; the outcome.
  Status Follow(const StillRunning& running, LogFollowOptions options = {}, LineCallback on_line = {}) {
    std::optional<Status> ended;
    streams_->Follow("y", Pod(), std::move(options), running, on_line ? std::move(on_line) : Collect(),
                     [&](Status s) { ended = std::move(s); });
    loop_->RunUntilIdle();
    EXPECT_TRUE(ended.has_value()) << "the follow never ended";
    EXPECT_EQ(streams_->following(), 0u);
    return ended.value_or(Status{});
  }

  FakeTransport* fake_;
  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<fakes::ScriptedStreamLoop> loop_;
  std::unique_ptr<LogStreams> streams_;
  std::vector<std::string> lines_;
  size_t running_calls_ = 0;
};

TEST_F(LogStreamsTest, ResumesAfterBreakWithEachLineOnce) {
  fake_->Push(Broken({L(kT1, "a") + L(kT2, "b"), std::string(kT3) + " c-part"}));
  fake_->Push(StreamReply({L(kT2, "b") + L(kT3, "c-part and rest") + L(kT4, "d")}));
  Status followed = Follow(Running({true, false}));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(lines_, (std::vector<std::string>{"a\n", "b\n", "c-part and rest\n", "d\n"}));
  const std::vector<http::Request> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].url, "https://k8s.test/api/v1/namespaces/y/pods/p/log?follow=true&timestamps=true");
  EXPECT_EQ(sent[1].url,
            "https://k8s.test/api/v1/namespaces/y/pods/p/log?follow=true&timestamps=true&sinceTime=2026-11-23T15%3A04%"
            "3A05Z");
  EXPECT_EQ(loop_->delays(), (std::vector<std::chrono::milliseconds>{200ms}));
}

TEST_F(LogStreamsTest, CleanEndWhileRunningRefollows) {
  fake_->Push(StreamReply({L(kT1, "a") + L(kT2, "b") + L(kT2, "c")}));
  fake_->Push(StreamReply({L(kT2, "b") + L(kT2, "c") + L(kT2, "d")}));
  // Running when the stream ends, and still when looked at again.
  Status followed = Follow(Running({true, true, false}));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(lines_, (std::vector<std::string>{"a\n", "b\n", "c\n", "d\n"}));
  EXPECT_EQ(fake_->requests().size(), 2u);
}

TEST_F(LogStreamsTest, CleanEndBeforeTheCacheShowsTheExitAsksNoMore) {
  // The kubelet ended the follow because the container exited; the pod
  // update saying so reaches the cache during the backoff.
  fake_->Push(StreamReply({L(kT1, "a"), std::string(kT2) + " last words"}));
  Status followed = Follow(Running({true, false}));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(lines_, (std::vector<std::string>{"a\n", "last words"}));
  EXPECT_EQ(fake_->requests().size(), 1u);
  EXPECT_EQ(loop_->delays(), (std::vector<std::chrono::milliseconds>{200ms}));
}

TEST_F(LogStreamsTest, StillRunningErrorWhenLookingAgainIsReturned) {
  fake_->Push(StreamReply({L(kT1, "a")}));
  size_t calls = 0;
  Status followed = Follow([&]() -> Result<bool> {
    if (calls++ == 0) return true;
    return MakeError(ErrorCode::kInternal, "cache gone");
  });
  ASSERT_FALSE(followed.has_value());
  EXPECT_NE(followed.error().message().find("cache gone"), std::string::npos) << followed.error().message();
  EXPECT_EQ(fake_->requests().size(), 1u);
}

TEST_F(LogStreamsTest, StillRunningFalseEndsAndDeliversHeldLine) {
  fake_->Push(StreamReply({L(kT1, "a"), std::string(kT2) + " last words"}));
  Status followed = Follow(Running({}));
  ASSERT_TRUE(followed.has_value());
  EXPECT_EQ(lines_, (std::vector<std::string>{"a\n", "last words"}));
  EXPECT_EQ(fake_->requests().size(), 1u);
  EXPECT_TRUE(loop_->delays().empty());
}

TEST_F(LogStreamsTest, BreakThenEndedReadsTheRestOnce) {
  fake_->Push(Broken({L(kT1, "a")}));
  fake_->Push(StreamReply({L(kT1, "a") + L(kT2, "b")}));
  Status followed = Follow(Running({false, false}));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(lines_, (std::vector<std::string>{"a\n", "b\n"}));
  const std::vector<http::Request> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].url.find("follow=true"), std::string::npos) << sent[1].url;
}

TEST_F(LogStreamsTest, TimestampsKeptWhenAsked) {
  fake_->Push(StreamReply({L(kT1, "a")}));
  LogFollowOptions options;
  options.timestamps = true;
  options.container = "main";
  ASSERT_TRUE(Follow(Running({}), options).has_value());
  EXPECT_EQ(lines_, (std::vector<std::string>{L(kT1, "a")}));
  EXPECT_EQ(fake_->requests()[0].url,
            "https://k8s.test/api/v1/namespaces/y/pods/p/log?container=main&follow=true&timestamps=true");
}

TEST_F(LogStreamsTest, FirstWindowReusedUntilALineArrives) {
  fake_->Push(Broken({}));
  fake_->Push(StreamReply({}));
  LogFollowOptions options;
  options.tail_lines = 5;
  ASSERT_TRUE(Follow(Running({true, false}), options).has_value());
  const std::vector<http::Request> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[1].url.find("tailLines=5"), std::string::npos);
}

TEST_F(LogStreamsTest, BackoffDoublesCapsAndResetsAfterData) {
  for (int i = 0; i < 6; ++i) fake_->Push(Broken({}));
  fake_->Push(Broken({L(kT1, "a")}));
  fake_->Push(StreamReply({}));
  Status followed = Follow(Running(std::vector<bool>(7, true)));
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(loop_->delays(),
            (std::vector<std::chrono::milliseconds>{200ms, 400ms, 800ms, 1600ms, 3200ms, 5000ms, 200ms}));
}

TEST_F(LogStreamsTest, PodGoneIsNotFound) {
  fake_->Push(Reply(404, R"({"kind":"Status","code":404,"reason":"NotFound","message":"pods \"p\" not found"})"));
  Status followed = Follow(Running({true}));
  ASSERT_FALSE(followed.has_value());
  EXPECT_EQ(followed.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(running_calls_, 0u);
}

TEST_F(LogStreamsTest, NoPodYetEndsWithTheFinderSErrorAfterTheDelay) {
  std::optional<Status> ended;
  streams_->Follow(
      "y", []() -> Result<std::string> { return MakeError(ErrorCode::kUnavailable, "attempt 1 has no pod yet"); }, {},
      Running({}), Collect(), [&](Status s) { ended = std::move(s); }, 400ms);
  loop_->RunUntilIdle();
  ASSERT_TRUE(ended.has_value());
  ASSERT_FALSE(ended->has_value());
  EXPECT_EQ(ended->error().message(), "attempt 1 has no pod yet");
  EXPECT_EQ(loop_->delays(), (std::vector<std::chrono::milliseconds>{400ms}));
  EXPECT_TRUE(fake_->requests().empty());
}

TEST_F(LogStreamsTest, StillRunningErrorIsReturned) {
  fake_->Push(StreamReply({}));
  Status followed = Follow([]() -> Result<bool> { return MakeError(ErrorCode::kPermissionDenied, "forbidden"); });
  ASSERT_FALSE(followed.has_value());
  EXPECT_EQ(followed.error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(LogStreamsTest, ReaderReturningFalseIsCancelled) {
  fake_->Push(StreamReply({L(kT1, "a") + L(kT2, "b")}));
  int calls = 0;
  Status followed = Follow(Running({}), {}, [&](std::string_view) { return ++calls, false; });
  ASSERT_FALSE(followed.has_value());
  EXPECT_EQ(followed.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST_F(LogStreamsTest, StoppedInsideItsOwnLineCallbackNothingMoreArrives) {
  fake_->Push(StreamReply({L(kT1, "a"), L(kT2, "b")}));
  bool ended = false;
  LogStreams::FollowId id = 0;
  id = streams_->Follow(
      "y", Pod(), {}, Running({true}),
      [&](std::string_view line) {
        lines_.emplace_back(line);
        streams_->Stop(id);
        return true;
      },
      [&](Status) { ended = true; });
  loop_->RunUntilIdle();
  EXPECT_EQ(lines_, (std::vector<std::string>{"a\n"}));
  EXPECT_FALSE(ended) << "a stopped follow does not call back";
  EXPECT_EQ(streams_->following(), 0u);
  EXPECT_EQ(running_calls_, 0u);
}

TEST_F(LogStreamsTest, StoppedDuringTheBackoffAsksNoMore) {
  fake_->Push(Broken({}));
  bool ended = false;
  LogStreams::FollowId id = streams_->Follow("y", Pod(), {}, Running({true}), Collect(), [&](Status) { ended = true; });
  // The first stream breaks, still running: a re-follow is scheduled. The
  // loop runs it all here, so stop from still_running's answer instead.
  streams_->Follow(
      "y", Pod("q"), {},
      [&]() -> Result<bool> {
        streams_->Stop(id);
        return false;
      },
      Collect(), [](Status) {});
  fake_->Push(StreamReply({}));
  loop_->RunUntilIdle();
  EXPECT_FALSE(ended);
  EXPECT_EQ(fake_->requests().size(), 2u) << "one stream each, no re-follow of the stopped one";
  EXPECT_EQ(streams_->following(), 0u);
}

TEST_F(LogStreamsTest, ManyFollowsShareTheLoopEachCompleteAndApart) {
  constexpr int kPods = 50;
  for (int i = 0; i < kPods; ++i) {
    const std::string n = std::to_string(i);
    fake_->Push(Broken({L(kT1, "first " + n)}));
  }
  for (int i = 0; i < kPods; ++i) {
    const std::string n = std::to_string(i);
    fake_->Push(StreamReply({L(kT1, "first " + n) + L(kT2, "second " + n)}));
  }
  std::map<int, std::vector<std::string>> got;
  int ended = 0;
  for (int i = 0; i < kPods; ++i) {
    auto answers = std::make_shared<int>(0);
    streams_->Follow(
        "y", Pod("p" + std::to_string(i)), {}, [answers]() -> Result<bool> { return (*answers)++ == 0; },
        [&got, i](std::string_view line) {
          got[i].emplace_back(line);
          return true;
        },
        [&](Status s) { ended += s.has_value() ? 1 : 0; });
  }
  EXPECT_EQ(streams_->following(), static_cast<size_t>(kPods));
  loop_->RunUntilIdle();
  EXPECT_EQ(ended, kPods);
  EXPECT_EQ(fake_->requests().size(), static_cast<size_t>(2 * kPods));
  for (int i = 0; i < kPods; ++i) {
    // The scripted replies are served in the order asked, so follow i got
    // reply i twice over: each its own lines, once each.
    ASSERT_EQ(got[i].size(), 2u) << i;
    EXPECT_EQ(got[i][0].substr(0, 6), "first ") << i;
    EXPECT_EQ(got[i][1], "second " + got[i][0].substr(6)) << i;
  }
}

}  // namespace
}  // namespace ctask::kube
