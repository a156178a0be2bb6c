// The Kueue path end to end: `ctask operator --backend kubernetes` beside a
// real Kueue controller (hack/cluster/kueue.sh: its webhooks on loopback)
// and the fake kubelet as the node. A task labelled
// kueue.x-k8s.io/queue-name gets a Job created suspended; Kueue admits it
// (unsuspends the Job) within its ClusterQueue's quota, or preempts it for a
// task of higher priority; ctask reports what Kueue does and never writes
// the Job's spec.suspend itself. hack/test.sh runs these with Kueue up
// (ctest -L kueue); each test has its own ClusterQueue and LocalQueue.
#include <gtest/gtest.h>

#include <algorithm>

#include "operator/operator_fixture.h"
#include "status/admission.h"

namespace ctask::testing {
namespace {

class KueueE2eTest : public KubeOperatorTest {
 protected:
  bool StartsOperator() const override { return false; }

  void SetUp() override {
    KubeOperatorTest::SetUp();
    if (HasFatalFailure()) return;
    BinaryResult crd = Kubectl({"get", "crd", "clusterqueues.kueue.x-k8s.io"});
    ASSERT_EQ(crd.exit_code, 0) << "Kueue is not installed: run hack/cluster/build-kueue.sh and "
                                   "hack/cluster/kueue.sh up (hack/test.sh does)\n"
                                << Said(crd);
    cluster_queue_ = "cq-" + ns();
  }

  void TearDown() override {
    // Tasks (and so Jobs and Workloads) go with the namespace; the
    // ClusterQueue is cluster-scoped.
    Kubectl({"delete", "clusterqueue", cluster_queue_, "--ignore-not-found", "--wait=false"});
    KubeOperatorTest::TearDown();
  }

  void Apply(const std::string& yaml) {
    BinaryResult applied = RunCommand({"kubectl", "apply", "--server-side", "-f", "-"}, yaml, kKubectlGuard);
    ASSERT_EQ(applied.exit_code, 0) << Said(applied) << yaml;
  }

  // A ResourceFlavor (shared), this test's ClusterQueue with `cpu` of quota
  // for this namespace only, a LocalQueue "lq" pointing at it, and the
  // priority classes low (100) and high (1000).
  void ApplyQueues(const std::string& cpu, bool preempt_lower_priority) {
    Apply(
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ResourceFlavor\nmetadata: {name: ctask-test-flavor}\n---\n"
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: WorkloadPriorityClass\nmetadata: {name: ctask-test-low}\n"
        "value: 100\n---\n"
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: WorkloadPriorityClass\nmetadata: {name: ctask-test-high}\n"
        "value: 1000\n---\n"
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ClusterQueue\nmetadata: {name: " +
        cluster_queue_ + "}\nspec:\n  namespaceSelector:\n    matchLabels: {kubernetes.io/metadata.name: " + ns() +
        "}\n" + (preempt_lower_priority ? "  preemption: {withinClusterQueue: LowerPriority}\n" : "") +
        "  resourceGroups:\n  - coveredResources: [cpu, memory]\n    flavors:\n    - name: ctask-test-flavor\n"
        "      resources:\n      - {name: cpu, nominalQuota: \"" +
        cpu +
        "\"}\n      - {name: memory, nominalQuota: 4Gi}\n---\n"
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: LocalQueue\nmetadata: {name: lq, namespace: " +
        ns() + "}\nspec: {clusterQueue: " + cluster_queue_ + "}\n");
  }

  // A task for LocalQueue lq with the spec lines `spec` (after the image),
  // by default: asks for 600m of cpu (two do not fit in one cpu of quota),
  // pendingTimeoutSeconds 4.
  void ApplyKueueTask(const std::string& name, const std::string& priority = "",
                      const std::string& spec =
                          "  command: [sh, -c, 'echo hi']\n  pendingTimeoutSeconds: 4\n"
                          "  resources:\n    requests: {cpu: 600m, memory: 64Mi}\n") {
    const std::string yaml = "apiVersion: ctask.io/v1alpha1\nkind: ContainerTask\nmetadata:\n  name: " + name +
                             "\n  namespace: " + ns() + "\n  labels:\n    kueue.x-k8s.io/queue-name: lq\n" +
                             (priority.empty() ? "" : "    kueue.x-k8s.io/priority-class: " + priority + "\n") +
                             "spec:\n" + ImageLines() + spec;
    BinaryResult applied = RunCommand({"kubectl", "apply", "-f", "-"}, yaml, kKubectlGuard);
    ASSERT_EQ(applied.exit_code, 0) << Said(applied) << yaml;
  }

  bool JobSuspended(const std::string& job) {
    Result<api::Json> got = client().Get(kube::resources::Jobs(), ns(), job);
    return got && (*got)["spec"].value("suspend", false);
  }

  // Every field manager that ever wrote spec.suspend of the Job with an
  // update (a create sets it suspended, as Kueue wants).
  std::vector<std::string> SuspendUpdaters(const std::string& job) {
    std::vector<std::string> managers;
    Result<api::Json> got = client().Get(kube::resources::Jobs(), ns(), job);
    if (!got) return managers;
    for (const api::Json& entry : (*got)["metadata"].value("managedFields", api::Json::array())) {
      if (entry.value("operation", "") == "Create") continue;
      const std::string fields = entry.value("fieldsV1", api::Json::object()).dump();
      if (fields.find("\"f:suspend\"") != std::string::npos) managers.push_back(entry.value("manager", ""));
    }
    return managers;
  }

  std::string cluster_queue_;
};

TEST_F(KueueE2eTest, KueueAdmitsWithinItsQuotaAndCtasksOwnLimitsDoNotApply) {
  ApplyQueues("1", false);
  // ctask's own limit is 1 and a plain task holds it: the Kueue tasks are
  // not ctask's to limit.
  StartOperator("operator", {"--max-running", "1"});
  ApplyTask("plain");
  WaitPhase("plain", "Pending");
  ApplyKueueTask("k1");
  ASSERT_TRUE(WaitFor([&] { return JobExists("k1-1") && !JobSuspended("k1-1"); })) << "Kueue admits k1";
  ApplyKueueTask("k2");
  ASSERT_TRUE(WaitFor([&] { return JobExists("k2-1"); }));
  const std::string k1_pod = PodOf("k1-1");
  Run(k1_pod);
  WaitPhase("k1", "Running");

  // k2 does not fit in the quota: Kueue holds its Job suspended, and the
  // task waits Queued, past its pendingTimeoutSeconds, without failing.
  api::ContainerTaskStatus held = WaitPhase("k2", "Queued");
  std::this_thread::sleep_for(std::chrono::seconds(5));
  held = TaskStatus("k2");
  EXPECT_EQ(held.phase, "Queued");
  EXPECT_EQ(held.reason, "WaitingForKueue");
  EXPECT_NE(held.message.find("suspended until Kueue admits it (LocalQueue lq)"), std::string::npos) << held.message;
  EXPECT_TRUE(JobSuspended("k2-1"));
  const api::Condition* admitted = status::AdmittedCondition(held);
  ASSERT_NE(admitted, nullptr);
  EXPECT_EQ(admitted->status, "False");

  // k1 ends: Kueue admits k2, which runs.
  Exit(k1_pod, 0);
  WaitPhase("k1", "Succeeded");
  ASSERT_TRUE(WaitFor([&] { return !JobSuspended("k2-1"); })) << "Kueue admits k2 once k1's quota is free";
  const std::string k2_pod = PodOf("k2-1");
  Run(k2_pod);
  Exit(k2_pod, 0);
  const api::ContainerTaskStatus done = WaitPhase("k2", "Succeeded");
  EXPECT_EQ(done.attempts, 1);
  for (const char* job : {"k1-1", "k2-1"}) {
    for (const std::string& manager : SuspendUpdaters(job)) {
      EXPECT_EQ(manager.find("ctask"), std::string::npos) << job << ": spec.suspend updated by " << manager;
    }
  }
  EXPECT_EQ(TaskStatus("plain").phase, "Pending") << "the plain task was never limited by Kueue";
}

TEST_F(KueueE2eTest, APreemptedTaskGoesBackToQueuedAndRunsAgainWithoutAFailure) {
  ApplyQueues("1", true);
  StartOperator("operator");
  ApplyKueueTask("low", "ctask-test-low");
  ASSERT_TRUE(WaitFor([&] { return JobExists("low-1") && !JobSuspended("low-1"); }));
  const std::string low_pod = PodOf("low-1");
  Run(low_pod, "low started\n");
  WaitPhase("low", "Running");

  // A task of higher priority that does not fit beside it: Kueue suspends
  // low's Job again (its pod is stopped) and admits high.
  ApplyKueueTask("high", "ctask-test-high");
  api::ContainerTaskStatus preempted;
  ASSERT_TRUE(WaitFor([&] {
    preempted = TaskStatus("low");
    return preempted.phase == "Queued";
  })) << preempted.phase
      << " " << preempted.message;
  EXPECT_EQ(preempted.reason, "WaitingForKueue");
  EXPECT_TRUE(preempted.message.starts_with("preempted by Kueue")) << preempted.message;
  EXPECT_EQ(preempted.attempts, 1);
  EXPECT_TRUE(preempted.history.empty()) << "the preempted run is no failed attempt";
  EXPECT_TRUE(JobSuspended("low-1"));
  ASSERT_TRUE(WaitFor([&] { return JobExists("high-1") && !JobSuspended("high-1"); }));
  const std::string high_pod = PodOf("high-1");
  Run(high_pod);
  Exit(high_pod, 0);
  WaitPhase("high", "Succeeded");

  // low is admitted again: the same Job, a new pod, the same attempt.
  ASSERT_TRUE(WaitFor([&] { return !JobSuspended("low-1"); }));
  std::string second_pod;
  ASSERT_TRUE(WaitFor([&] {
    second_pod = PodOf("low-1");
    return !second_pod.empty() && second_pod != low_pod;
  }));
  Run(second_pod);
  Exit(second_pod, 0);
  const api::ContainerTaskStatus done = WaitPhase("low", "Succeeded");
  EXPECT_EQ(done.attempts, 1);
  ASSERT_EQ(done.history.size(), 1u);
  EXPECT_EQ(done.history[0].reason, "Completed");
  std::vector<std::string> jobs = JobNames();
  std::sort(jobs.begin(), jobs.end());
  EXPECT_EQ(jobs, (std::vector<std::string>{"high-1", "low-1"}));
  for (const std::string& manager : SuspendUpdaters("low-1")) {
    EXPECT_EQ(manager.find("ctask"), std::string::npos) << "spec.suspend updated by " << manager;
  }
}

TEST_F(KueueE2eTest, CancellingATaskKueueHoldsDeletesItsJobWithoutTouchingSuspend) {
  ApplyQueues("0.5", false);  // nothing of 600m fits: Kueue never admits it
  StartOperator("operator");
  ApplyKueueTask("never");
  const api::ContainerTaskStatus held = WaitPhase("never", "Queued");
  EXPECT_EQ(held.reason, "WaitingForKueue");
  PatchSpec("never", R"({"cancel":true})");
  const api::ContainerTaskStatus cancelled = WaitPhase("never", "Cancelled");
  EXPECT_EQ(cancelled.attempts, 1);
  ASSERT_TRUE(WaitFor([&] { return !JobExists("never-1"); })) << "stopped by deleting its Job";
}

// A fan-out task under Kueue: each item runs as a Job of its own (not a bare
// pod), created suspended with the task's LocalQueue label, and Kueue admits
// them within its quota, one at a time here (600m each in one cpu). The
// items waiting for Kueue do not fail, and ctask never writes their Jobs'
// spec.suspend.
TEST_F(KueueE2eTest, AFanOutsItemsAreJobsKueueAdmitsWithinItsQuota) {
  ApplyQueues("1", false);
  StartOperator("operator");
  ApplyKueueTask("fan", "",
                 "  command: [sh, -c, 'echo item $CTASK_INDEX']\n  completions: 3\n  parallelism: 3\n"
                 "  resources:\n    requests: {cpu: 600m, memory: 64Mi}\n");

  const std::vector<std::string> item_jobs = {"fan-i0-a1", "fan-i1-a1", "fan-i2-a1"};
  ASSERT_TRUE(WaitFor([&] {
    return std::all_of(item_jobs.begin(), item_jobs.end(), [&](const std::string& job) { return JobExists(job); });
  })) << "parallelism 3: every item's Job is created, suspended for Kueue";
  for (const std::string& job : item_jobs) {
    Result<api::Json> got = client().Get(kube::resources::Jobs(), ns(), job);
    ASSERT_TRUE(got.has_value()) << job;
    EXPECT_EQ((*got)["metadata"]["labels"].value("kueue.x-k8s.io/queue-name", ""), "lq") << job;
  }

  // Kueue admits one item at a time; each runs to a clean exit, and the
  // next is admitted once its quota is free.
  std::vector<std::string> done;
  for (int turn = 0; turn < 3; ++turn) {
    std::vector<std::string> admitted;
    ASSERT_TRUE(WaitFor([&] {
      admitted.clear();
      for (const std::string& job : item_jobs) {
        if (std::find(done.begin(), done.end(), job) == done.end() && !JobSuspended(job)) admitted.push_back(job);
      }
      return !admitted.empty();
    })) << "turn "
        << turn << ": Kueue admits the next item";
    ASSERT_EQ(admitted.size(), 1u) << "two items of 600m do not fit in one cpu";
    const std::string pod = PodOf(admitted[0]);
    Run(pod);
    Exit(pod, 0);
    done.push_back(admitted[0]);
    if (turn < 2) {
      const api::ContainerTaskStatus waiting = TaskStatus("fan");
      EXPECT_NE(waiting.phase, "Failed") << waiting.reason << ": " << waiting.message;
    }
  }

  const api::ContainerTaskStatus finished = WaitPhase("fan", "Succeeded");
  ASSERT_TRUE(finished.fan_out.has_value());
  EXPECT_EQ(finished.fan_out->succeeded, 3);
  EXPECT_EQ(finished.fan_out->failed, 0);
  std::vector<std::string> jobs = JobNames();
  std::sort(jobs.begin(), jobs.end());
  EXPECT_EQ(jobs, item_jobs) << "one Job per item, none for the task itself";
  for (const std::string& job : item_jobs) {
    for (const std::string& manager : SuspendUpdaters(job)) {
      EXPECT_EQ(manager.find("ctask"), std::string::npos) << job << ": spec.suspend updated by " << manager;
    }
  }
}

}  // namespace
}  // namespace ctask::testing
