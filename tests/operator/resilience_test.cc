// The operator survives what operators meet: being killed mid-run (every
// task still finishes exactly once, with no second Job) and a hand-over
// between two replicas (leader election on a Lease).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>

#include "operator/operator_fixture.h"

namespace ctask::testing {
namespace {

TEST_F(OperatorE2eTest, AKilledOperatorsSuccessorFinishesEveryTaskExactlyOnce) {
  constexpr int kTasks = 6;
  std::vector<std::string> pods;
  for (int i = 0; i < kTasks; ++i) ApplyTask("t" + std::to_string(i));
  for (int i = 0; i < kTasks; ++i) pods.push_back(PodOf("t" + std::to_string(i) + "-1"));
  for (int i = 0; i < kTasks / 2; ++i) Run(pods[i], "started\n");
  for (int i = 0; i < kTasks / 2; ++i) WaitPhase("t" + std::to_string(i), "Running");

  Operator().Signal(SIGKILL);
  ASSERT_EQ(Operator().Wait(), -1) << "killed";
  // While no operator runs: two running tasks end, one more starts.
  Exit(pods[0], 0);
  Exit(pods[1], 0);
  Run(pods[kTasks / 2]);

  StartOperator("successor");
  for (int i = 2; i < kTasks; ++i) {
    if (i > kTasks / 2) Run(pods[i]);
    Exit(pods[i], 0);
  }
  for (int i = 0; i < kTasks; ++i) {
    const std::string name = "t" + std::to_string(i);
    api::ContainerTaskStatus s = WaitPhase(name, "Succeeded");
    EXPECT_EQ(s.attempts, 1) << name;
    EXPECT_EQ(s.history.size(), 1u) << name;
  }
  std::vector<std::string> jobs = JobNames();
  std::sort(jobs.begin(), jobs.end());
  std::vector<std::string> want;
  for (int i = 0; i < kTasks; ++i) want.push_back("t" + std::to_string(i) + "-1");
  EXPECT_EQ(jobs, want) << "one Job per task: nothing created twice";
}

}  // namespace
}  // namespace ctask::testing
