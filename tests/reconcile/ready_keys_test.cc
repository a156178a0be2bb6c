// ReadyKeys: priority first, FIFO within one, the oldest every
// kOldestEvery-th time.
#include "reconcile/ready_keys.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ctask::reconcile {
namespace {

std::vector<std::string> Drain(ReadyKeys& keys) {
  std::vector<std::string> out;
  while (std::optional<std::string> key = keys.Pop()) out.push_back(*key);
  return out;
}

TEST(ReadyKeysTest, HigherPriorityFirstAndFirstInFirstOutWithinOne) {
  ReadyKeys keys;
  keys.Push("low-1", Priority::kLow);
  keys.Push("normal-1", Priority::kNormal);
  keys.Push("high-1", Priority::kHigh);
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys.Pop(), "high-1");
  EXPECT_EQ(keys.Pop(), "normal-1");
  EXPECT_EQ(keys.Pop(), "low-1");
  EXPECT_EQ(keys.Pop(), std::nullopt);
  EXPECT_TRUE(keys.empty());
}

TEST(ReadyKeysTest, APushOfAQueuedKeyMovesItUpNeverDown) {
  ReadyKeys keys;
  keys.Push("a", Priority::kNormal);
  keys.Push("b", Priority::kNormal);
  keys.Push("b", Priority::kLow);  // changes nothing
  keys.Push("a", Priority::kNormal);
  EXPECT_EQ(keys.size(), 2u);
  keys.Push("b", Priority::kHigh);
  EXPECT_EQ(Drain(keys), (std::vector<std::string>{"b", "a"}));
}

// A backlog of the initial list under a steady stream of urgent keys still
// moves: every kOldestEvery-th key handed out is the one queued longest.
TEST(ReadyKeysTest, TheOldestIsServedEveryFewTimesSoNothingStarves) {
  ReadyKeys keys;
  for (int i = 0; i < 3; ++i) keys.Push("backlog-" + std::to_string(i), Priority::kLow);
  std::vector<std::string> served;
  for (int i = 0; i < 12; ++i) {
    keys.Push("urgent-" + std::to_string(i), Priority::kHigh);
    served.push_back(*keys.Pop());
  }
  int backlog = 0;
  for (const std::string& key : served) backlog += key.starts_with("backlog-") ? 1 : 0;
  EXPECT_EQ(backlog, 3) << ::testing::PrintToString(served);
  EXPECT_EQ(served[kOldestEvery - 1], "backlog-0");
}

}  // namespace
}  // namespace ctask::reconcile
