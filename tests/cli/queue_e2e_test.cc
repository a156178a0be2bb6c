// Admission end to end on the real dockerd: `ctask operator --backend docker`
// and `ctask run` with --max-running, --queue-max-running and TaskQueue
// manifests. A sampler reads every record (the Admitted condition: who holds
// a slot) and every running container of the test all through each test, so
// a limit exceeded for a moment is caught, not only at the end. Waits are
// bounded by hang guards only.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "docker_e2e.h"

namespace ctask::cli {
namespace {

using namespace e2e;  // the fixture, fs, json and the binary helpers

// The queue of a task named "<queue>-<n>".
std::string QueueOf(const std::string& name) {
  return name.substr(0, name.rfind('-'));
}

bool Admitted(const json& record) {
  if (!record.is_object() || !record.contains("status")) return false;
  for (const json& c : record["status"].value("conditions", json::array())) {
    if (c.value("type", "") == "Admitted") return c.value("status", "") == "True";
  }
  return false;
}

// Polls the records and containers of one namespace every 20 ms on its own
// thread: the most slots ever held and containers ever running, overall and
// per queue, and the order in which tasks were first seen admitted.
class Sampler {
 public:
  Sampler(fs::path records, docker::DockerClient& docker, std::string ns)
      : records_(std::move(records)), docker_(docker), ns_(std::move(ns)), thread_([this] { Run(); }) {}
  ~Sampler() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int max_held() const { return max_held_; }
  int max_running() const { return max_running_; }
  int max_held_in(const std::string& queue) {
    std::lock_guard lock(mu_);
    return max_held_per_queue_[queue];
  }
  int held_now() const { return held_now_; }
  std::vector<std::string> admission_order() {
    std::lock_guard lock(mu_);
    std::vector<std::string> flat;
    for (const std::vector<std::string>& batch : batches_) flat.insert(flat.end(), batch.begin(), batch.end());
    return flat;
  }
  // The same, as seen sample by sample: tasks first seen admitted in one
  // sample (20 ms) are one batch, whose inner order is unknown.
  std::vector<std::vector<std::string>> admission_batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  void Run() {
    while (!stop_) {
      Sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // The names whose records say Admitted, read one file after another.
  std::set<std::string> ReadAdmitted() const {
    std::set<std::string> admitted;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(records_, ec)) {
      const json record = json::parse(ReadFile(entry.path() / "task.json"), nullptr, false);
      if (Admitted(record)) admitted.insert(entry.path().filename().string());
    }
    return admitted;
  }

  // One pass over the files is no snapshot: a slot handed from A to B
  // between the reads of A and B would count both. So two passes, and a
  // slot counts only if held in both: each such task held its slot from
  // its first read to its second, and every first read comes before every
  // second, so all of them held one at once (between the passes).
  void Sample() {
    const std::set<std::string> first = ReadAdmitted();
    const std::set<std::string> second = ReadAdmitted();
    std::map<std::string, int> held_per_queue;
    int held = 0;
    for (const std::string& name : first) {
      if (second.count(name) == 0) continue;
      ++held;
      ++held_per_queue[QueueOf(name)];
    }
    int running = 0;
    if (auto containers = docker_.ListContainers({"ctask.io/namespace=" + ns_})) {
      for (const json& c : *containers) running += c.value("State", "") == "running" ? 1 : 0;
    }
    std::lock_guard lock(mu_);
    std::vector<std::string> newly;  // seen in one sample: a tie, in name order (a set's)
    for (const std::string& name : first) {
      if (seen_.insert(name).second) newly.push_back(name);
    }
    if (!newly.empty()) batches_.push_back(std::move(newly));
    held_now_ = held;
    max_held_ = std::max<int>(max_held_, held);
    max_running_ = std::max<int>(max_running_, running);
    for (const auto& [queue, n] : held_per_queue) max_held_per_queue_[queue] = std::max(max_held_per_queue_[queue], n);
  }

  const fs::path records_;
  docker::DockerClient& docker_;
  const std::string ns_;
  std::atomic<bool> stop_{false};
  std::atomic<int> max_held_{0};
  std::atomic<int> max_running_{0};
  std::atomic<int> held_now_{0};
  std::mutex mu_;
  std::map<std::string, int> max_held_per_queue_;  // guarded by mu_
  std::set<std::string> seen_;                     // guarded by mu_
  std::vector<std::vector<std::string>> batches_;  // guarded by mu_
  std::thread thread_;                             // last: starts once the rest exists
};

class QueueE2eTest : public DockerE2eTest {
 protected:
  void SetUp() override {
    DockerE2eTest::SetUp();
    tasks_ = dir_ / "tasks";
    fs::create_directories(tasks_);
    fs::create_directories(Records());
  }

  fs::path Records() const { return fs::path(state_) / "tasks" / ns_; }

  std::vector<std::string> OperatorArgs(std::vector<std::string> limits) const {
    std::vector<std::string> args = {"operator",      "--backend",    "docker", "--tasks-dir",
                                     tasks_.string(), "--state-dir",  state_,   "--scan-interval-ms",
                                     "100",           "--stop-grace", "1"};
    args.insert(args.end(), limits.begin(), limits.end());
    return args;
  }

  std::string SleepTask(const std::string& name, int seconds, const std::string& extra = "") const {
    return Task(name, std::string(kImage) + "  queueName: " + QueueOf(name) + "\n  command: [sh, -c, 'sleep " +
                          std::to_string(seconds) + "']\n" + extra);
  }

  std::string Queue(const std::string& name, int max_running) const {
    return "apiVersion: ctask.io/v1alpha1\nkind: TaskQueue\nmetadata:\n  name: " + name + "\n  namespace: " + ns_ +
           "\nspec:\n  maxRunning: " + std::to_string(max_running) + "\n";
  }

  bool AllSucceeded(const std::vector<std::string>& names) const {
    return std::all_of(names.begin(), names.end(), [&](const std::string& n) { return Phase(n) == "Succeeded"; });
  }

  fs::path tasks_;
};

TEST_F(QueueE2eTest, LimitsHoldAndQueuesTakeTurnsFirstComeFirstServed) {
  // Three queues of four, global 2, one per queue: at most two at once, and
  // the slots go round the queues; inside one, by creation then name.
  std::vector<std::string> names;
  for (const char* queue : {"alpha", "beta", "gamma"}) {
    for (int i = 1; i <= 4; ++i) names.push_back(std::string(queue) + "-" + std::to_string(i));
  }
  std::string all;
  // 3 s each: every record is written (and tracked) long before the first
  // task ends, under a loaded -j2 run too, so "every queue has work" holds.
  for (const std::string& name : names) all += SleepTask(name, 3) + "---\n";
  WriteFile(tasks_ / "tasks.yaml", all);
  Sampler sampler(Records(), *docker_, ns_);
  Background op(OperatorArgs({"--max-running", "2", "--queue-max-running", "1"}), dir_, "operator");
  ASSERT_TRUE(WaitUntil([&] { return AllSucceeded(names); })) << op.err();
  sampler.Stop();

  EXPECT_EQ(sampler.max_held(), 2) << "the global limit, reached and never passed";
  EXPECT_LE(sampler.max_running(), 2);
  for (const char* queue : {"alpha", "beta", "gamma"}) EXPECT_EQ(sampler.max_held_in(queue), 1) << queue;

  const std::vector<std::string> order = sampler.admission_order();
  ASSERT_EQ(order.size(), names.size()) << op.err();
  std::map<std::string, std::vector<std::string>> per_queue;
  for (const std::string& name : order) per_queue[QueueOf(name)].push_back(name);
  // Round-robin: while every queue has work (9 of 12 started), no queue is
  // more than one start ahead of another, checked after each sample.
  std::map<std::string, int> starts;
  size_t started = 0;
  for (const std::vector<std::string>& batch : sampler.admission_batches()) {
    for (const std::string& name : batch) ++starts[QueueOf(name)];
    started += batch.size();
    if (started > 9) break;
    int lo = 1 << 20, hi = 0;
    for (const char* queue : {"alpha", "beta", "gamma"}) {
      lo = std::min(lo, starts[queue]);
      hi = std::max(hi, starts[queue]);
    }
    EXPECT_LE(hi - lo, 1) << "after " << started << " starts (" << batch.back() << ")";
  }
  for (const auto& [queue, started] : per_queue) {
    EXPECT_EQ(started, (std::vector<std::string>{queue + "-1", queue + "-2", queue + "-3", queue + "-4"}))
        << "FIFO within " << queue;
  }
  for (const std::string& name : names) {
    EXPECT_EQ(Stored(name)["status"]["attempts"], 1) << name;
    EXPECT_EQ(Containers(name).size(), 1u) << name;
  }
  EXPECT_NE(op.err().find("Queued (WaitingForCapacity): position"), std::string::npos) << op.err();
}

TEST_F(QueueE2eTest, ALimitLoweredLetsRunningTasksFinishAndOneRaisedAdmitsAtOnce) {
  std::vector<std::string> names;
  for (int i = 1; i <= 6; ++i) {
    names.push_back("q-" + std::to_string(i));
    WriteFile(tasks_ / (names.back() + ".yaml"), SleepTask(names.back(), 3));
  }
  WriteFile(tasks_ / "queue.yaml", Queue("q", 2));
  Sampler sampler(Records(), *docker_, ns_);
  Background op(OperatorArgs({}), dir_, "operator");
  // Two admitted may be written before the third's record is: wait for
  // both (the third's first write is its Queued).
  ASSERT_TRUE(WaitUntil([&] { return sampler.held_now() == 2 && !Phase("q-3").empty(); })) << op.err();
  EXPECT_EQ(Phase("q-3"), "Queued");
  // The message as last written (refreshed every 30 s, or on a change of
  // the task): where it stood then.
  const std::string message = Stored("q-3")["status"].value("message", "");
  EXPECT_TRUE(message.starts_with("position ") && message.find(" in queue q; ") != std::string::npos &&
              message.find("/2 running there") != std::string::npos)
      << message;

  // Lowered to 1 while two run: both finish; then one at a time.
  WriteFile(tasks_ / "queue.yaml", Queue("q", 1));
  ASSERT_TRUE(WaitUntil([&] { return Phase("q-1") == "Succeeded" && Phase("q-2") == "Succeeded"; })) << op.err();
  EXPECT_EQ(Stored("q-1")["status"]["attempts"], 1) << "a lowered limit stops nothing";
  Sampler after(Records(), *docker_, ns_);
  ASSERT_TRUE(WaitUntil([&] { return Phase("q-3") == "Running"; })) << op.err();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(after.max_held(), 1);

  // Raised to 4: the three still waiting are admitted without waiting for
  // q-3 to end.
  WriteFile(tasks_ / "queue.yaml", Queue("q", 4));
  ASSERT_TRUE(WaitUntil([&] { return after.held_now() == 4; })) << op.err();
  EXPECT_EQ(Phase("q-3"), "Running") << "admitted while q-3 still ran";
  ASSERT_TRUE(WaitUntil([&] { return AllSucceeded(names); })) << op.err();
  after.Stop();
  sampler.Stop();
  EXPECT_EQ(after.max_held(), 4);
  EXPECT_LE(sampler.max_held(), 4);
  EXPECT_NE(op.err().find("queue " + ns_ + "/q: maxRunning 1"), std::string::npos) << op.err();
}

TEST_F(QueueE2eTest, KilledWithTasksWaitingAndRunningTheLimitHoldsAcrossTheRestart) {
  std::vector<std::string> names = {"k-1", "k-2", "k-3"};
  for (const std::string& name : names) WriteFile(tasks_ / (name + ".yaml"), SleepTask(name, 3));
  Sampler sampler(Records(), *docker_, ns_);
  const std::vector<std::string> limits = {"--max-running", "1"};
  {
    Background first(OperatorArgs(limits), dir_, "operator-1");
    ASSERT_TRUE(WaitUntil([&] {
      return Phase("k-1") == "Running" && Phase("k-2") == "Queued" && Phase("k-3") == "Queued";
    })) << first.err();
    first.Signal(SIGKILL);
    EXPECT_EQ(first.Wait(), -1) << "killed by the signal";
  }
  // The new process counts k-1's slot from its record before admitting.
  Background second(OperatorArgs(limits), dir_, "operator-2");
  ASSERT_TRUE(WaitUntil([&] { return AllSucceeded(names); })) << second.err();
  sampler.Stop();
  EXPECT_EQ(sampler.max_held(), 1);
  EXPECT_EQ(sampler.max_running(), 1);
  for (const std::string& name : names) {
    EXPECT_EQ(Stored(name)["status"]["attempts"], 1) << name;
    EXPECT_EQ(Containers(name).size(), 1u) << name;
  }
  EXPECT_EQ(sampler.admission_order(), names);
}

TEST_F(QueueE2eTest, QueuedTasksCanBeCancelledSuspendedAndDeleted) {
  WriteFile(tasks_ / "long.yaml", SleepTask("w-long", 300));
  Background op(OperatorArgs({"--max-running", "1"}), dir_, "operator");
  ASSERT_TRUE(WaitUntil([&] { return Phase("w-long") == "Running"; })) << op.err();
  for (const char* name : {"w-cancel", "w-suspend", "w-delete", "w-last"}) {
    WriteFile(tasks_ / (std::string(name) + ".yaml"), SleepTask(name, 1));
  }
  ASSERT_TRUE(WaitUntil([&] {
    return Phase("w-cancel") == "Queued" && Phase("w-suspend") == "Queued" && Phase("w-delete") == "Queued" &&
           Phase("w-last") == "Queued";
  })) << op.err();
  WriteFile(tasks_ / "w-cancel.yaml", SleepTask("w-cancel", 1, "  cancel: true\n"));
  WriteFile(tasks_ / "w-suspend.yaml", SleepTask("w-suspend", 1, "  suspend: true\n"));
  fs::remove(tasks_ / "w-delete.yaml");
  ASSERT_TRUE(WaitUntil([&] {
    return Phase("w-cancel") == "Cancelled" && Phase("w-suspend") == "Suspended" && Stored("w-delete").is_null();
  })) << Phase("w-cancel")
      << " " << Phase("w-suspend") << " " << Stored("w-delete").dump() << "\n"
      << op.err();
  for (const char* name : {"w-cancel", "w-suspend", "w-delete"}) {
    EXPECT_TRUE(Containers(name).empty()) << name << " never ran";
  }
  EXPECT_EQ(Stored("w-cancel")["status"].value("attempts", 0), 0);
  EXPECT_EQ(Phase("w-last"), "Queued");
  // The last of the three changes wakes the task then at the front to
  // rewrite its position; that write follows the change, so it is waited
  // for, well inside the 30 s queued resync that would otherwise hide a
  // missed wake.
  EXPECT_TRUE(WaitUntil(
      [&] { return Stored("w-last")["status"].value("message", "").find("position 1 of 1") != std::string::npos; },
      std::chrono::seconds(10)))
      << Stored("w-last").dump();

  // The long one is cancelled: its slot goes to w-last; the suspended one,
  // resumed, waits its turn and runs.
  WriteFile(tasks_ / "long.yaml", SleepTask("w-long", 300, "  cancel: true\n"));
  WriteFile(tasks_ / "w-suspend.yaml", SleepTask("w-suspend", 1));
  ASSERT_TRUE(WaitUntil([&] { return AllSucceeded({"w-last", "w-suspend"}); })) << op.err();
  EXPECT_EQ(Phase("w-long"), "Cancelled");
  EXPECT_EQ(Stored("w-suspend")["status"]["attempts"], 1) << "suspended before it ever ran";
}

TEST_F(QueueE2eTest, RunTakesTheTaskQueueOfItsFiles) {
  std::string text = "apiVersion: ctask.io/v1alpha1\nkind: TaskQueue\nmetadata:\n  name: default\n  namespace: " + ns_ +
                     "\nspec:\n  maxRunning: 1\n";
  for (int i = 1; i <= 3; ++i) {
    text += "---\n" + Task("r-" + std::to_string(i), std::string(kImage) + "  command: [sh, -c, 'sleep 1']\n");
  }
  const fs::path file = Manifest("run.yaml", text);
  Sampler sampler(Records(), *docker_, ns_);
  BinaryResult r = Ctask({"run", "-f", file.string()});
  sampler.Stop();
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  EXPECT_NE(r.err.find("Queued (WaitingForCapacity): position 1 of 2 in queue default; 1/1 running there"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(sampler.max_held(), 1);
  EXPECT_EQ(sampler.max_running(), 1);
  EXPECT_EQ(sampler.admission_order(), (std::vector<std::string>{"r-1", "r-2", "r-3"}));
}

TEST_F(QueueE2eTest, ABadLimitFlagIsAUsageErrorNamingIt) {
  BinaryResult r = Ctask({"run", "-f", "x.yaml", "--max-running", "0"});
  EXPECT_EQ(r.exit_code, 2) << Shown(r);
  EXPECT_NE(r.err.find("--max-running"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ctask::cli
