// The operator survives what operators meet: being killed mid-run (every
// task still finishes exactly once, with no second Job) and a hand-over
// between two replicas (leader election on a Lease).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>

#include "operator/operator_fixture.h"

namespace ctask::testing {
namespace {

TEST_F(KubeOperatorTest, AKilledOperatorsSuccessorFinishesEveryTaskExactlyOnce) {
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

class LeaderE2eTest : public KubeOperatorTest {
 protected:
  bool StartsOperator() const override { return false; }

  Background& StartReplica(const std::string& name) {
    return StartOperator(name, {"--leader-elect", "--leader-election-namespace", ns(), "--leader-election-id",
                                "ctask-e2e", "--leader-election-lease-duration", "3s",
                                "--leader-election-renew-deadline", "2s", "--leader-election-retry-period", "300ms"});
  }

  // The Lease's holder, "" when none.
  std::string Holder() {
    Result<api::Json> lease = client().Get(kube::resources::Leases(), ns(), "ctask-e2e");
    if (!lease) return "";
    return (*lease)["spec"].value("holderIdentity", "");
  }

  // Which of the replicas holds the Lease (identity ends in "-<pid>").
  std::string Leader(const std::vector<std::string>& replicas) {
    const std::string holder = Holder();
    for (const std::string& name : replicas) {
      if (!holder.empty() && holder.ends_with("-" + std::to_string(Operator(name).pid()))) return name;
    }
    return "";
  }

  void RunToSuccess(const std::string& task) {
    ApplyTask(task);
    const std::string pod = PodOf(task + "-1");
    Run(pod);
    Exit(pod, 0);
    WaitPhase(task, "Succeeded");
  }
};

TEST_F(LeaderE2eTest, OneReplicaActsAndAStandbyTakesOverOnSigtermAndOnSigkill) {
  StartReplica("a");
  StartReplica("b");
  std::string leader;
  ASSERT_TRUE(WaitFor([&] { return !(leader = Leader({"a", "b"})).empty(); })) << "holder " << Holder();
  const std::string standby = leader == "a" ? "b" : "a";
  RunToSuccess("one");
  EXPECT_NE(Operator(leader).err().find("leading:"), std::string::npos);
  EXPECT_EQ(Operator(standby).err().find("leading:"), std::string::npos) << "the standby never acted";

  // SIGTERM: the leader drains and releases; the standby takes over at once.
  const auto terminated = std::chrono::steady_clock::now();
  Operator(leader).Signal(SIGTERM);
  EXPECT_EQ(Operator(leader).Wait(), 0) << Operator(leader).err();
  ASSERT_TRUE(WaitFor([&] { return Leader({standby}) == standby; })) << "holder " << Holder();
  EXPECT_LT(std::chrono::steady_clock::now() - terminated, std::chrono::seconds(30));
  RunToSuccess("two");

  // SIGKILL: no release; a third replica takes over once the Lease expires.
  StartReplica("c");
  Operator(standby).Signal(SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return Leader({"c"}) == "c"; })) << "holder " << Holder();
  RunToSuccess("three");
  EXPECT_EQ(JobNames().size(), 3u) << "one Job per task across three leaders";
}

}  // namespace
}  // namespace ctask::testing
