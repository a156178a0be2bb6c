#include "reconcile/poll_source.h"

#include <gtest/gtest.h>

#include <atomic>

namespace ctask::reconcile {
namespace {

TEST(PollSourceTest, EveryPolledKeyReachesTheQueueAndStopEndsThePolling) {
  WorkQueue queue;
  std::atomic<int> polls{0};
  PollSource source(queue, std::chrono::milliseconds(1), [&] {
    const int n = ++polls;
    return n <= 2 ? std::vector<std::string>{"ns/task-" + std::to_string(n)} : std::vector<std::string>{};
  });
  source.Start();
  std::optional<std::string> first = queue.Get();
  std::optional<std::string> second = queue.Get();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, "ns/task-1");
  EXPECT_EQ(*second, "ns/task-2");
  source.Stop();
  const int after_stop = polls.load();
  source.Stop();  // twice is harmless
  EXPECT_EQ(polls.load(), after_stop) << "no poll after Stop returned";
}

}  // namespace
}  // namespace ctask::reconcile
