#include "metrics/task_phases.h"

#include <gtest/gtest.h>

namespace ctask::metrics {
namespace {

using Counts = std::map<std::string, int64_t, std::less<>>;

TEST(TaskPhasesTest, EachDeltaMovesOneTaskBetweenPhases) {
  TaskPhases phases;
  EXPECT_EQ(phases.Set("ns/a", "Pending"), "");
  EXPECT_EQ(phases.Set("ns/b", "Pending"), "");
  EXPECT_EQ(phases.counts(), (Counts{{"Pending", 2}}));
  EXPECT_EQ(phases.Set("ns/a", "Running"), "Pending");
  EXPECT_EQ(phases.counts(), (Counts{{"Pending", 1}, {"Running", 1}}));
  EXPECT_EQ(phases.Set("ns/a", "Running"), "Running") << "a status write in the same phase changes nothing";
  EXPECT_EQ(phases.counts(), (Counts{{"Pending", 1}, {"Running", 1}}));
  EXPECT_EQ(phases.Set("ns/a", "Succeeded"), "Running");
  EXPECT_EQ(phases.Set("ns/b", ""), "Pending") << "deleted";
  EXPECT_EQ(phases.counts(), (Counts{{"Pending", 0}, {"Running", 0}, {"Succeeded", 1}}));
  EXPECT_EQ(phases.Set("ns/b", ""), "") << "gone twice";
  EXPECT_EQ(phases.Set("ns/c", ""), "") << "a task without a phase yet is not counted";
  EXPECT_EQ(phases.counts(), (Counts{{"Pending", 0}, {"Running", 0}, {"Succeeded", 1}}));
}

}  // namespace
}  // namespace ctask::metrics
