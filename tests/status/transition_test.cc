#include "status/transition.h"

#include <gtest/gtest.h>

namespace ctask::status {
namespace {

api::ContainerTaskStatus S(std::string phase, std::string reason, std::string message = "m") {
  api::ContainerTaskStatus s;
  s.phase = std::move(phase);
  s.reason = std::move(reason);
  s.message = std::move(message);
  return s;
}

TEST(TransitionEventTest, OnlyARealChangeIsAnEvent) {
  EXPECT_EQ(TransitionEvent(S("Running", "Running", "a"), S("Running", "Running", "b")), std::nullopt)
      << "a message alone is not a transition";
  EXPECT_EQ(TransitionEvent(S("", ""), S("", "")), std::nullopt);
}

TEST(SkippedStartEventTest, AFirstAttemptFirstWrittenPastStartingStillGetsItsStart) {
  api::ContainerTaskStatus running = S("Running", "Running");
  running.attempts = 1;
  const std::optional<TaskEvent> start = SkippedStartEvent(S("", ""), running);
  ASSERT_TRUE(start.has_value());
  EXPECT_EQ(start->type, "Normal");
  EXPECT_EQ(start->reason, "Starting");
  EXPECT_EQ(start->message, "starting attempt 1");

  api::ContainerTaskStatus starting = S("Pending", "Starting");
  starting.attempts = 1;
  EXPECT_EQ(SkippedStartEvent(S("", ""), starting), std::nullopt) << "TransitionEvent says Starting itself";
  api::ContainerTaskStatus retried = S("Running", "Running");
  retried.attempts = 2;
  api::ContainerTaskStatus queued = S("Queued", "Retrying");
  queued.attempts = 2;
  EXPECT_EQ(SkippedStartEvent(queued, retried), std::nullopt) << "a retry's start is written first";
}

TEST(TransitionEventTest, TypeAndReasonFollowTheNewStatus) {
  struct Case {
    api::ContainerTaskStatus before, after;
    std::string type, reason;
  };
  const Case cases[] = {
      {S("", ""), S("Pending", "Starting"), "Normal", "Starting"},
      {S("Pending", "Starting"), S("Pending", "ImagePullFailed"), "Warning", "ImagePullFailed"},
      {S("Pending", "Starting"), S("Running", "Running"), "Normal", "Running"},
      {S("Running", "Running"), S("Succeeded", "Completed"), "Normal", "Completed"},
      {S("Running", "Running"), S("Failed", "OOMKilled"), "Warning", "OOMKilled"},
      {S("Running", "Running"), S("Queued", "Retrying"), "Normal", "Retrying"},
      {S("Running", "Running"), S("Cancelled", "Cancelled"), "Normal", "Cancelled"},
      {S("Running", "Running"), S("Suspended", "Suspended"), "Normal", "Suspended"},
  };
  for (const Case& c : cases) {
    std::optional<TaskEvent> e = TransitionEvent(c.before, c.after);
    ASSERT_TRUE(e) << c.after.reason;
    EXPECT_EQ(e->type, c.type) << c.after.reason;
    EXPECT_EQ(e->reason, c.reason);
    EXPECT_EQ(e->message, "m");
  }
}

}  // namespace
}  // namespace ctask::status
