// EventBudget: client-go's per-object spam filter, and the operator-wide
// budget for Normal events that Warnings are exempt from.
#include "kube/event_budget.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace ctask::kube {
namespace {

using namespace std::chrono_literals;
using Verdict = EventBudget::Verdict;

const TokenBucket::Clock::time_point kT0{};

TEST(EventBudgetTest, ABurstOfNormalEventsOverManyObjectsIsThinnedToTheOperatorsBudget) {
  EventBudget budget({}, kT0);
  int written = 0;
  for (int i = 0; i < 1000; ++i) {
    if (budget.Admit("task-" + std::to_string(i), false, kT0) == Verdict::kWrite) ++written;
  }
  EXPECT_EQ(written, 50);  // the burst
  // Then 5 per second.
  written = 0;
  for (int i = 0; i < 100; ++i) {
    if (budget.Admit("later-" + std::to_string(i), false, kT0 + 2s) == Verdict::kWrite) ++written;
  }
  EXPECT_EQ(written, 10);
}

TEST(EventBudgetTest, WarningsAreExemptFromTheOperatorsBudget) {
  EventBudget budget({}, kT0);
  for (int i = 0; i < 60; ++i) (void)budget.Admit("n-" + std::to_string(i), false, kT0);
  EXPECT_EQ(budget.Admit("n-x", false, kT0), Verdict::kOverNormalBudget);
  EXPECT_EQ(budget.Admit("failed-task", true, kT0), Verdict::kWrite);
}

TEST(EventBudgetTest, OneObjectGets25ThenOnePerFiveMinutes) {
  EventBudget budget({}, kT0);
  for (int i = 0; i < 25; ++i) ASSERT_EQ(budget.Admit("flapping", true, kT0), Verdict::kWrite) << i;
  EXPECT_EQ(budget.Admit("flapping", true, kT0), Verdict::kOverObjectBudget);
  EXPECT_EQ(budget.Admit("flapping", true, kT0 + 299s), Verdict::kOverObjectBudget);
  EXPECT_EQ(budget.Admit("flapping", true, kT0 + 600s), Verdict::kWrite);
  EXPECT_EQ(budget.Admit("another", true, kT0), Verdict::kWrite);  // its own allowance
}

TEST(EventBudgetTest, RefusalsRunUpNoDebt) {
  // A bucket that only ever refuses while empty gives tokens again as
  // soon as they are earned, however many were refused meanwhile.
  EventBudget budget({.normal_qps = 1, .normal_burst = 1}, kT0);
  EXPECT_EQ(budget.Admit("a", false, kT0), Verdict::kWrite);
  for (int i = 0; i < 1000; ++i) (void)budget.Admit("b" + std::to_string(i), false, kT0 + 500ms);
  EXPECT_EQ(budget.Admit("c", false, kT0 + 1s), Verdict::kWrite);
}

TEST(EventBudgetTest, KeepsBucketsForTheMostRecentObjectsOnly) {
  EventBudget budget({.max_objects = 3}, kT0);
  for (const char* o : {"a", "b", "c", "d", "e"}) (void)budget.Admit(o, true, kT0);
  EXPECT_EQ(budget.objects(), 3u);
}

}  // namespace
}  // namespace ctask::kube
