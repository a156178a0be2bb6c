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
