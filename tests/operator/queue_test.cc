// Admission on the real control plane: `ctask operator --backend kubernetes`
// with --max-running / --queue-max-running and TaskQueue objects applied
// with kubectl, the fake kubelet as the node. A sampler lists the tasks all
// through each test (the Admitted condition: who holds a slot), so a limit
// passed for a moment is caught, not only at the end; the pods are run and
// ended by the test as tasks are admitted.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "operator/operator_fixture.h"
#include "status/admission.h"

namespace ctask::testing {
namespace {

std::string QueueOf(const std::string& name) {
  return name.substr(0, name.rfind('-'));
}

// Lists the namespace's tasks every 30 ms on its own thread: the most slots
// ever held, overall and per queue, and the batches in which tasks were
// first seen admitted.
class Sampler {
 public:
  Sampler(kube::KubeClient& client, std::string ns) : client_(client), ns_(std::move(ns)), thread_([this] { Run(); }) {}
  ~Sampler() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int max_held() const { return max_held_; }
  int held_now() const { return held_now_; }
  int max_held_in(const std::string& queue) {
    std::lock_guard lock(mu_);
    return max_per_queue_[queue];
  }
  std::vector<std::vector<std::string>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::vector<std::string> order() {
    std::vector<std::string> flat;
    for (const auto& batch : batches()) flat.insert(flat.end(), batch.begin(), batch.end());
    return flat;
  }

 private:
  void Run() {
    while (!stop_) {
      Sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  }
  void Sample() {
    Result<kube::ObjectList> tasks = client_.List(kube::resources::ContainerTasks(), ns_);
    if (!tasks) return;
    int held = 0;
    std::map<std::string, int> per_queue;
    std::vector<std::string> newly;
    std::lock_guard lock(mu_);
    for (const api::Json& task : tasks->items) {
      const std::string name = task["metadata"].value("name", "");
      const api::ContainerTask decoded{{}, {}, api::DecodeStatus(task.value("status", api::Json::object()))};
      const api::Condition* admitted = status::AdmittedCondition(decoded.status);
      if (admitted == nullptr || admitted->status != "True") continue;
      ++held;
      ++per_queue[task["spec"].value("queueName", "default")];
      if (seen_.insert(name).second) newly.push_back(name);
    }
    std::sort(newly.begin(), newly.end());
    if (!newly.empty()) batches_.push_back(std::move(newly));
    held_now_ = held;
    max_held_ = std::max<int>(max_held_, held);
    for (const auto& [queue, n] : per_queue) max_per_queue_[queue] = std::max(max_per_queue_[queue], n);
  }

  kube::KubeClient& client_;
  const std::string ns_;
  std::atomic<bool> stop_{false};
  std::atomic<int> max_held_{0};
  std::atomic<int> held_now_{0};
  std::mutex mu_;
  std::map<std::string, int> max_per_queue_;       // guarded by mu_
  std::set<std::string> seen_;                     // guarded by mu_
  std::vector<std::vector<std::string>> batches_;  // guarded by mu_
  std::thread thread_;                             // last: starts once the rest exists
};

class QueueE2eTest : public KubeOperatorTest {
 protected:
  bool StartsOperator() const override { return false; }

  void ApplyQueue(const std::string& name, int max_running) {
    const std::string yaml = "apiVersion: ctask.io/v1alpha1\nkind: TaskQueue\nmetadata:\n  name: " + name +
                             "\n  namespace: " + ns() + "\nspec:\n  maxRunning: " + std::to_string(max_running) + "\n";
    BinaryResult applied = RunCommand({"kubectl", "apply", "-f", "-"}, yaml, kKubectlGuard);
    ASSERT_EQ(applied.exit_code, 0) << Said(applied);
  }

  std::string Scrape() {
    const int port = MetricsPort(operators_.front().first);
    EXPECT_GT(port, 0);
    return RunCommand({"curl", "-sS", "--noproxy", "*", "http://127.0.0.1:" + std::to_string(port) + "/metrics"}, "",
                      kKubectlGuard)
        .out;
  }

  bool Admitted(const std::string& name) {
    const api::ContainerTaskStatus s = TaskStatus(name);
    const api::Condition* admitted = status::AdmittedCondition(s);
    return admitted != nullptr && admitted->status == "True";
  }

  // Runs and ends (exit 0) the pod of every admitted task still Pending,
  // until every task in `names` has succeeded.
  void DriveToSuccess(const std::vector<std::string>& names) {
    std::set<std::string> ended;
    ASSERT_TRUE(WaitFor([&] {
      bool all = true;
      for (const std::string& name : names) {
        const api::ContainerTaskStatus s = TaskStatus(name);
        if (s.phase == "Succeeded") continue;
        all = false;
        // Only a task waiting for its pod: one the test ran itself ends by
        // the test's hand.
        if (ended.contains(name) || s.phase != "Pending" || !JobExists(name + "-" + std::to_string(s.attempts))) {
          continue;
        }
        const std::string pod = PodOf(name + "-" + std::to_string(s.attempts));
        Run(pod);
        WaitPhase(name, "Running");  // seen running: its boot time is measured
        Exit(pod, 0);
        ended.insert(name);
      }
      return all;
    }));
  }
};

TEST_F(QueueE2eTest, LimitsHoldSlotsGoRoundTheQueuesAndFirstComeFirstServedWithinOne) {
  StartOperator("operator", {"--max-running", "2", "--queue-max-running", "1"});
  std::vector<std::string> names;
  for (int i = 1; i <= 3; ++i) {
    for (const char* queue : {"alpha", "beta", "gamma"}) {
      names.push_back(std::string(queue) + "-" + std::to_string(i));
      ApplyTask(names.back(), "  queueName: " + std::string(queue) + "\n");
    }
  }
  Sampler sampler(client(), ns());
  ASSERT_TRUE(WaitFor([&] { return sampler.held_now() == 2 && TaskStatus("gamma-3").phase == "Queued"; }));
  // Queued: a reason and a message to act on; Reconciling, so GitOps tools
  // keep waiting.
  const api::ContainerTaskStatus queued = TaskStatus("gamma-3");
  EXPECT_EQ(queued.phase, "Queued");
  EXPECT_EQ(queued.reason, "WaitingForCapacity");
  EXPECT_TRUE(queued.message.starts_with("position ") &&
              queued.message.find(" in queue gamma; ") != std::string::npos &&
              queued.message.find("/2 in all") != std::string::npos)
      << queued.message;
  std::map<std::string, std::string> conditions;
  for (const api::Condition& c : queued.conditions) conditions[c.type] = c.status;
  EXPECT_EQ(conditions["Reconciling"], "True");
  EXPECT_EQ(conditions["Succeeded"], "Unknown");
  EXPECT_EQ(conditions["Admitted"], "False");
  EXPECT_TRUE(JobNames().size() == 2u) << "no Job for a queued task";
  // The gauges (published every 5 s): gamma has waiting tasks, 2 hold slots.
  std::string gauges;
  EXPECT_TRUE(WaitFor([&] {
    gauges = Scrape();
    return gauges.find("ctask_queue_tasks{queue=\"" + ns() + "/gamma\",state=\"waiting\"} 3") != std::string::npos ||
           gauges.find("ctask_queue_tasks{queue=\"" + ns() + "/gamma\",state=\"waiting\"} 2") != std::string::npos;
  })) << gauges;

  DriveToSuccess(names);
  sampler.Stop();
  EXPECT_EQ(sampler.max_held(), 2);
  for (const char* queue : {"alpha", "beta", "gamma"}) EXPECT_EQ(sampler.max_held_in(queue), 1) << queue;
  std::map<std::string, int> starts;
  size_t started = 0;
  for (const auto& batch : sampler.batches()) {
    for (const std::string& name : batch) ++starts[QueueOf(name)];
    started += batch.size();
    if (started > 6) break;  // from then on a queue may have run dry
    int lo = 1 << 20, hi = 0;
    for (const char* queue : {"alpha", "beta", "gamma"}) {
      lo = std::min(lo, starts[queue]);
      hi = std::max(hi, starts[queue]);
    }
    EXPECT_LE(hi - lo, 1) << "after " << started << " starts";
  }
  std::map<std::string, std::vector<std::string>> per_queue;
  for (const std::string& name : sampler.order()) per_queue[QueueOf(name)].push_back(name);
  for (const auto& [queue, order] : per_queue) {
    EXPECT_EQ(order, (std::vector<std::string>{queue + "-1", queue + "-2", queue + "-3"})) << queue;
  }
  EXPECT_EQ(JobNames().size(), names.size()) << "one Job each";

  // Metrics per queue: time in the queue and boot time for each admission.
  const std::string metrics = Scrape();
  for (const char* queue : {"alpha", "beta", "gamma"}) {
    const std::string label = "{queue=\"" + ns() + "/" + queue + "\"}";
    EXPECT_NE(metrics.find("ctask_queue_wait_seconds_count" + label + " 3"), std::string::npos) << queue << metrics;
    EXPECT_NE(metrics.find("ctask_queue_boot_seconds_count" + label + " 3"), std::string::npos) << queue << metrics;
  }
  const std::vector<std::string> events = Events("gamma-3");
  EXPECT_NE(std::find(events.begin(), events.end(), "Normal Admitted"), events.end())
      << ::testing::PrintToString(events);
}

TEST_F(QueueE2eTest, TimeInTheQueueIsNotPendingTimeAndAQueuedTaskCanBeCancelledSuspendedOrDeleted) {
  StartOperator("operator", {"--max-running", "1"});
  ApplyTask("first");
  ASSERT_TRUE(WaitFor([&] { return Admitted("first"); }));
  Run(PodOf("first-1"));
  ApplyTask("late", "  pendingTimeoutSeconds: 1\n");
  WaitPhase("late", "Queued");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(TaskStatus("late").phase, "Queued") << "3 s queued, pendingTimeoutSeconds 1: not a failure";
  PatchSpec("late", R"({"cancel":true})");
  const api::ContainerTaskStatus cancelled = WaitPhase("late", "Cancelled");
  EXPECT_EQ(cancelled.attempts, 0);
  EXPECT_FALSE(JobExists("late-1"));

  // Suspended and deleted while queued: out of the queue, no Job ever.
  ApplyTask("paused");
  ApplyTask("gone");
  WaitPhase("paused", "Queued");
  WaitPhase("gone", "Queued");
  PatchSpec("paused", R"({"suspend":true})");
  EXPECT_EQ(WaitPhase("paused", "Suspended").attempts, 0);
  BinaryResult deleted = Kubectl({"delete", "containertask", "gone", "-n", ns(), "--timeout=60s"});
  ASSERT_EQ(deleted.exit_code, 0) << Said(deleted);
  EXPECT_FALSE(TaskJson("gone").has_value());
  EXPECT_FALSE(JobExists("paused-1"));
  EXPECT_FALSE(JobExists("gone-1"));
  EXPECT_EQ(TaskStatus("first").phase, "Running");
}

TEST_F(QueueE2eTest, ATaskQueueRaisedAdmitsAtOnceLoweredLetsRunningTasksFinishAndDeletedFallsBack) {
  ApplyQueue("q", 1);
  StartOperator("operator", {"--queue-max-running", "2"});
  std::vector<std::string> names;
  for (int i = 1; i <= 6; ++i) {
    names.push_back("q-" + std::to_string(i));
    ApplyTask(names.back(), "  queueName: q\n");
  }
  Sampler sampler(client(), ns());
  ASSERT_TRUE(WaitFor([&] { return Admitted("q-1") && TaskStatus("q-6").phase == "Queued"; }));
  const std::string q1_pod = PodOf("q-1-1");
  Run(q1_pod);

  // Raised: two more start while q-1 still runs.
  ApplyQueue("q", 3);
  ASSERT_TRUE(WaitFor([&] { return sampler.held_now() == 3; }));
  // Running is written up to a second or two after the pod starts
  // (status::WriteWait): waited for, not read at once.
  EXPECT_TRUE(WaitFor([&] { return TaskStatus("q-1").phase == "Running"; })) << TaskStatus("q-1").phase;
  EXPECT_TRUE(Admitted("q-2") && Admitted("q-3"));

  // Lowered to 1 while three hold slots: nothing is stopped; until two of
  // them end, nothing more starts.
  ApplyQueue("q", 1);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(sampler.held_now(), 3);
  Exit(q1_pod, 0);
  const std::string q2_pod = PodOf("q-2-1");
  Run(q2_pod);
  Exit(q2_pod, 0);
  WaitPhase("q-2", "Succeeded");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(sampler.held_now(), 1) << "q-3 only";
  EXPECT_EQ(TaskStatus("q-4").phase, "Queued");

  // Deleted: back to --queue-max-running 2.
  BinaryResult deleted = Kubectl({"delete", "taskqueue", "q", "-n", ns()});
  ASSERT_EQ(deleted.exit_code, 0) << Said(deleted);
  ASSERT_TRUE(WaitFor([&] { return sampler.held_now() == 2; }));
  DriveToSuccess(names);
  sampler.Stop();
  EXPECT_EQ(sampler.max_held(), 3);
  EXPECT_EQ(sampler.order().front(), "q-1");
}

TEST_F(QueueE2eTest, AKilledOperatorsSuccessorCountsTheSlotsTakenBeforeAdmitting) {
  StartOperator("operator", {"--max-running", "1"});
  const std::vector<std::string> names = {"k-1", "k-2", "k-3"};
  for (const std::string& name : names) ApplyTask(name);
  Sampler sampler(client(), ns());
  ASSERT_TRUE(WaitFor([&] { return Admitted("k-1") && TaskStatus("k-3").phase == "Queued"; }));
  const std::string pod = PodOf("k-1-1");
  Run(pod);
  WaitPhase("k-1", "Running");

  Operator().Signal(SIGKILL);
  ASSERT_EQ(Operator().Wait(), -1) << "killed";
  StartOperator("successor", {"--max-running", "1"});
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(TaskStatus("k-2").phase, "Queued") << "k-1's slot is counted from its record";
  Exit(pod, 0);
  DriveToSuccess(names);
  sampler.Stop();
  EXPECT_EQ(sampler.max_held(), 1);
  EXPECT_EQ(sampler.order(), names);
  std::vector<std::string> jobs = JobNames();
  std::sort(jobs.begin(), jobs.end());
  EXPECT_EQ(jobs, (std::vector<std::string>{"k-1-1", "k-2-1", "k-3-1"}));
}

TEST_F(QueueE2eTest, ALeaderHandOverKeepsTheLimit) {
  auto replica = [&](const std::string& name) {
    StartOperator(name, {"--max-running", "1", "--leader-elect", "--leader-election-namespace", ns(),
                         "--leader-election-id", "ctask-queue", "--leader-election-lease-duration", "3s",
                         "--leader-election-renew-deadline", "2s", "--leader-election-retry-period", "300ms"});
  };
  replica("a");
  replica("b");
  const std::vector<std::string> names = {"h-1", "h-2", "h-3"};
  for (const std::string& name : names) ApplyTask(name);
  Sampler sampler(client(), ns());
  ASSERT_TRUE(WaitFor([&] { return Admitted("h-1") && TaskStatus("h-2").phase == "Queued"; }));
  const std::string pod = PodOf("h-1-1");
  Run(pod);
  // Whoever leads is killed; the other takes the Lease once it expires.
  for (const char* name : {"a", "b"}) {
    if (Operator(name).err().find("leading:") != std::string::npos) Operator(name).Signal(SIGKILL);
  }
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_EQ(TaskStatus("h-2").phase, "Queued");
  Exit(pod, 0);
  DriveToSuccess(names);
  sampler.Stop();
  EXPECT_EQ(sampler.max_held(), 1);
  EXPECT_EQ(sampler.order(), names);
  EXPECT_EQ(JobNames().size(), 3u);
}

}  // namespace
}  // namespace ctask::testing
