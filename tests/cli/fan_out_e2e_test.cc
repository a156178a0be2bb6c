// Fan-out end to end on the real dockerd (docs/fan-out.md): `ctask run` and
// `ctask operator --backend docker` over tasks with items. A sampler counts
// the task's running containers every 20 ms all through a test, so
// parallelism exceeded for a moment is caught, not only at the end. Waits
// are bounded by hang guards only.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "docker_e2e.h"
#include "testing/paths.h"

namespace ctask::cli {
namespace {

using namespace e2e;  // the fixture, fs, json and the binary helpers

// The most containers of one task ever seen running at once.
class RunningSampler {
 public:
  RunningSampler(docker::DockerClient& docker, std::string ns, std::string task)
      : docker_(docker), ns_(std::move(ns)), task_(std::move(task)), thread_([this] { Run(); }) {}
  ~RunningSampler() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int max_running() const { return max_running_; }

 private:
  void Run() {
    while (!stop_) {
      if (auto containers = docker_.ListContainers({"ctask.io/namespace=" + ns_, "ctask.io/task=" + task_})) {
        int running = 0;
        for (const json& c : *containers) running += c.value("State", "") == "running" ? 1 : 0;
        max_running_ = std::max<int>(max_running_, running);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  docker::DockerClient& docker_;
  const std::string ns_;
  const std::string task_;
  std::atomic<bool> stop_{false};
  std::atomic<int> max_running_{0};
  std::thread thread_;  // last: starts once the rest exists
};

class FanOutE2eTest : public DockerE2eTest {
 protected:
  // Items "item-0" to "item-<n-1>".
  static std::string Items(int n) {
    std::string out = "  items: [";
    for (int i = 0; i < n; ++i) out += (i > 0 ? ", " : "") + std::string("item-") + std::to_string(i);
    return out + "]\n";
  }

  // The containers of item `index` of task `name`.
  std::vector<json> ItemContainers(const std::string& name, int index) const {
    auto containers = docker_->ListContainers(
        {"ctask.io/namespace=" + ns_, "ctask.io/task=" + name, "ctask.io/item=" + std::to_string(index)});
    EXPECT_TRUE(containers.has_value());
    return containers ? *containers : std::vector<json>{};
  }

  json Results(const std::string& name) const {
    return json::parse(ReadFile(fs::path(state_) / "tasks" / ns_ / name / "results.json"), nullptr, false);
  }

  json FanOutStatus(const std::string& name) const {
    const json record = Stored(name);
    return record.is_object() && record.contains("status") ? record["status"].value("fanOut", json::object())
                                                           : json::object();
  }
};

TEST_F(FanOutE2eTest, TwentyItemsAtParallelismFourEndSucceededWithTwentyResults) {
  const fs::path file = Manifest(
      "map.yaml", Task("map", std::string(kImage) + Items(20) + "  parallelism: 4\n" +
                                  "  command: [sh, -c, 'echo \"$CTASK_INDEX/$CTASK_COUNT $CTASK_ITEM\"; sleep 0.3; "
                                  "printf \"%s done\" \"$CTASK_ITEM\" > /dev/termination-log']\n"));
  RunningSampler sampler(*docker_, ns_, "map");
  BinaryResult run = Ctask({"run", "-f", file.string()});
  sampler.Stop();
  ASSERT_EQ(run.exit_code, 0) << Shown(run);
  EXPECT_LE(sampler.max_running(), 4);
  EXPECT_GE(sampler.max_running(), 2) << "items ran in parallel";

  EXPECT_EQ(Phase("map"), "Succeeded");
  const json f = FanOutStatus("map");
  EXPECT_EQ(f.value("succeeded", 0), 20);
  EXPECT_EQ(f.value("succeededIndexes", ""), "0-19");
  EXPECT_EQ(f.value("failed", -1), 0);
  const json results = Results("map");
  ASSERT_TRUE(results.is_object()) << "results.json";
  ASSERT_EQ(results["items"].size(), 20u);
  for (int i = 0; i < 20; ++i) {
    const json& item = results["items"][static_cast<size_t>(i)];
    EXPECT_EQ(item.value("index", -1), i);
    EXPECT_EQ(item.value("item", ""), "item-" + std::to_string(i));
    EXPECT_EQ(item.value("result", ""), "item-" + std::to_string(i) + " done");
    EXPECT_EQ(item.value("exitCode", -1), 0);
    EXPECT_EQ(ItemContainers("map", i).size(), 1u) << "item " << i << " ran once";
  }
  // Each item's own log.
  BinaryResult log = Ctask({"logs", "map", "-n", ns_, "--index", "7"});
  EXPECT_EQ(log.exit_code, 0) << Shown(log);
  EXPECT_EQ(log.out, "7/20 item-7\n");
  BinaryResult beyond = Ctask({"logs", "map", "-n", ns_, "--index", "20"});
  EXPECT_EQ(beyond.exit_code, 2) << Shown(beyond);
  EXPECT_NE(beyond.err.find("has items 0 to 19"), std::string::npos) << beyond.err;
}

TEST_F(FanOutE2eTest, AFailingItemIsRetriedAloneAndTheTaskFailsNamingIt) {
  const fs::path file =
      Manifest("map.yaml", Task("map", std::string(kImage) + "  completions: 5\n  parallelism: 5\n  retries: 1\n" +
                                           "  retryPolicy: {backoffSeconds: 1}\n" +
                                           "  command: [sh, -c, 'test \"$CTASK_INDEX\" != 3 || exit 7']\n"));
  BinaryResult run = Ctask({"run", "-f", file.string()});
  EXPECT_NE(run.exit_code, 0) << Shown(run);
  EXPECT_EQ(Phase("map"), "Failed");
  const json record = Stored("map");
  EXPECT_EQ(record["status"].value("reason", ""), "ItemsFailed");
  EXPECT_NE(record["status"].value("message", "").find("failed indexes 3"), std::string::npos)
      << record["status"].dump();
  const json f = FanOutStatus("map");
  EXPECT_EQ(f.value("succeededIndexes", ""), "0-2,4");
  EXPECT_EQ(f.value("failedIndexes", ""), "3");
  ASSERT_FALSE(f["items"].empty());
  EXPECT_EQ(f["items"][0].value("index", -1), 3) << "failures first";
  EXPECT_EQ(f["items"][0].value("attempts", 0), 2);
  EXPECT_EQ(f["items"][0].value("exitCode", 0), 7);
  EXPECT_EQ(ItemContainers("map", 3).size(), 2u) << "item 3: the attempt and its retry";
  for (int i : {0, 1, 2, 4}) EXPECT_EQ(ItemContainers("map", i).size(), 1u) << "item " << i << " not run again";
}

TEST_F(FanOutE2eTest, FailFastStopsTheRest) {
  const fs::path file = Manifest(
      "map.yaml", Task("map", std::string(kImage) + "  completions: 10\n  parallelism: 3\n  failFast: true\n" +
                                  "  command: [sh, -c, 'if [ \"$CTASK_INDEX\" = 0 ]; then sleep 1; exit 1; fi; "
                                  "exec sleep 300']\n"));
  const auto start = std::chrono::steady_clock::now();
  BinaryResult run = Ctask({"run", "-f", file.string(), "--stop-grace", "1"});
  // Stopped in the pass after the failure, not at the running items' 30 s resync.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(25)) << "did not wait for the sleepers";
  EXPECT_NE(run.exit_code, 0) << Shown(run);
  EXPECT_EQ(Phase("map"), "Failed");
  const json record = Stored("map");
  EXPECT_NE(record["status"].value("message", "").find("item 0 failed"), std::string::npos) << record["status"].dump();
  const json f = FanOutStatus("map");
  EXPECT_EQ(f.value("failed", 0), 1);
  EXPECT_EQ(f.value("cancelled", 0), 2) << f.dump();
  EXPECT_EQ(f.value("cancelledIndexes", ""), "1-2");
  EXPECT_EQ(f.value("waiting", 0), 7) << "never started";
  for (const json& c : Containers("map")) EXPECT_NE(c.value("State", ""), "running") << c.dump();
  for (int i = 3; i < 10; ++i) EXPECT_TRUE(ItemContainers("map", i).empty()) << "item " << i << " never started";
}

TEST_F(FanOutE2eTest, ASuccessPolicyOfKSucceedsOnceKHaveAndStopsTheRest) {
  const fs::path file =
      Manifest("map.yaml", Task("map", std::string(kImage) + "  completions: 6\n  parallelism: 3\n" +
                                           "  successPolicy: {minSucceeded: 2}\n" +
                                           "  command: [sh, -c, 'if [ \"$CTASK_INDEX\" -lt 2 ]; then exit 0; fi; "
                                           "exec sleep 300']\n"));
  BinaryResult run = Ctask({"run", "-f", file.string(), "--stop-grace", "1"});
  EXPECT_EQ(run.exit_code, 0) << Shown(run);
  EXPECT_EQ(Phase("map"), "Succeeded");
  const json f = FanOutStatus("map");
  EXPECT_GE(f.value("succeeded", 0), 2);
  for (const json& c : Containers("map")) EXPECT_NE(c.value("State", ""), "running") << c.dump();
  EXPECT_NE(Stored("map")["status"].value("message", "").find("minSucceeded 2 met"), std::string::npos);
}

TEST_F(FanOutE2eTest, KilledMidFanOutEveryItemRunsExactlyOnce) {
  const fs::path tasks = dir_ / "tasks";
  fs::create_directories(tasks);
  WriteFile(tasks / "map.yaml",
            Task("map", std::string(kImage) + Items(12) + "  parallelism: 4\n" +
                            "  command: [sh, -c, 'sleep 1; printf \"%s\" \"$CTASK_ITEM\" > /dev/termination-log']\n"));
  const std::vector<std::string> args = {"operator",    "--backend",          "docker",
                                         "--tasks-dir", tasks.string(),       "--state-dir",
                                         state_,        "--scan-interval-ms", "100"};
  RunningSampler sampler(*docker_, ns_, "map");
  {
    Background first(args, dir_, "operator-1");
    ASSERT_TRUE(WaitUntil([&] {
      const json f = FanOutStatus("map");
      return f.value("succeeded", 0) >= 2 && f.value("active", 0) > 0;
    })) << first.err();
    first.Signal(SIGKILL);
    EXPECT_EQ(first.Wait(), -1) << "killed by the signal";
  }
  Background second(args, dir_, "operator-2");
  ASSERT_TRUE(WaitUntil([&] { return Phase("map") == "Succeeded"; })) << second.err();
  sampler.Stop();
  EXPECT_LE(sampler.max_running(), 4);
  for (int i = 0; i < 12; ++i) {
    const std::vector<json> containers = ItemContainers("map", i);
    ASSERT_EQ(containers.size(), 1u) << "item " << i << " ran exactly once";
  }
  const json results = Results("map");
  ASSERT_EQ(results["items"].size(), 12u);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(results["items"][static_cast<size_t>(i)].value("result", ""), "item-" + std::to_string(i));
  }
}

TEST_F(FanOutE2eTest, ItemsTakeSlotsOfTheirQueue) {
  const fs::path file = Manifest("map.yaml", Task("map", std::string(kImage) + "  completions: 6\n  parallelism: 6\n" +
                                                             "  command: [sh, -c, 'sleep 0.5']\n"));
  RunningSampler sampler(*docker_, ns_, "map");
  BinaryResult run = Ctask({"run", "-f", file.string(), "--queue-max-running", "2"});
  sampler.Stop();
  ASSERT_EQ(run.exit_code, 0) << Shown(run);
  EXPECT_EQ(Phase("map"), "Succeeded");
  EXPECT_LE(sampler.max_running(), 2) << "the queue's limit, under parallelism 6";
  EXPECT_EQ(FanOutStatus("map").value("succeeded", 0), 6);
}

TEST_F(FanOutE2eTest, BadFanOutInputIsRefusedNamingTheField) {
  const fs::path both = Manifest("both.yaml", Task("both", std::string(kImage) + "  completions: 2\n  items: [a]\n"));
  BinaryResult r = Ctask({"run", "-f", both.string()});
  EXPECT_EQ(r.exit_code, 125) << Shown(r);  // nothing was run
  EXPECT_NE(r.err.find("spec.items: set completions or items, not both"), std::string::npos) << r.err;
  const fs::path alone = Manifest("alone.yaml", Task("alone", std::string(kImage) + "  parallelism: 2\n"));
  r = Ctask({"run", "-f", alone.string()});
  EXPECT_EQ(r.exit_code, 125) << Shown(r);  // nothing was run
  EXPECT_NE(r.err.find("set completions or items too"), std::string::npos) << r.err;
  const fs::path policy = Manifest(
      "policy.yaml", Task("policy", std::string(kImage) + "  completions: 2\n  successPolicy: {minSucceeded: 3}\n"));
  r = Ctask({"run", "-f", policy.string()});
  EXPECT_EQ(r.exit_code, 125) << Shown(r);  // nothing was run
  EXPECT_NE(r.err.find("spec.successPolicy.minSucceeded"), std::string::npos) << r.err;
}

TEST_F(FanOutE2eTest, TheMapReduceExampleRunsUnchanged) {
  // The example's files as they are, but in this test's namespace (so its
  // containers are this test's to clean up).
  std::vector<std::string> args = {"run"};
  for (const char* file : {"map.yaml", "reduce.yaml"}) {
    std::string text = ReadFile(fs::path(ctask::testing::SourceDir()) / "examples" / "mapreduce" / file);
    const size_t metadata = text.find("metadata:\n");
    ASSERT_NE(metadata, std::string::npos) << file;
    text.insert(metadata + 10, "  namespace: " + ns_ + "\n");
    args.push_back("-f");
    args.push_back(Manifest(file, text).string());
  }
  BinaryResult run = Ctask(args);
  ASSERT_EQ(run.exit_code, 0) << Shown(run);
  // The reduce started only after the map had succeeded, and read every
  // map result.
  const json map = Stored("wordcount-map");
  const json reduce = Stored("wordcount-reduce");
  ASSERT_TRUE(map.is_object() && reduce.is_object());
  EXPECT_EQ(map["status"].value("phase", ""), "Succeeded");
  EXPECT_EQ(reduce["status"].value("phase", ""), "Succeeded");
  EXPECT_LE(map["status"].value("completionTime", ""), reduce["status"].value("startTime", ""));
  EXPECT_EQ(reduce["status"].value("result", ""), "33") << reduce["status"].dump();
  EXPECT_NE(run.out.find("wordcount-reduce | total words: 33"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("WaitingForDependencies"), std::string::npos) << run.err;
}

TEST_F(FanOutE2eTest, ADependencyThatFailsFailsItsDependentsNamingIt) {
  const fs::path file = Manifest(
      "deps.yaml", Task("first", std::string(kImage) + "  command: [sh, -c, 'exit 4']\n") + "---\n" +
                       Task("second", std::string(kImage) + "  runAfter: [first]\n  command: [sh, -c, 'echo ran']\n"));
  BinaryResult run = Ctask({"run", "-f", file.string()});
  EXPECT_NE(run.exit_code, 0) << Shown(run);
  const json second = Stored("second");
  EXPECT_EQ(second["status"].value("phase", ""), "Failed");
  EXPECT_EQ(second["status"].value("reason", ""), "DependencyFailed");
  EXPECT_NE(second["status"].value("message", "").find("task first failed"), std::string::npos)
      << second["status"].dump();
  EXPECT_TRUE(Containers("second").empty()) << "never ran";
}

TEST_F(FanOutE2eTest, ACycleIsInvalidAndAMissingDependencyIsWaitedForByName) {
  const fs::path cycle = Manifest("cycle.yaml", Task("a", std::string(kImage) + "  runAfter: [b]\n") + "---\n" +
                                                    Task("b", std::string(kImage) + "  runAfter: [a]\n"));
  BinaryResult run = Ctask({"run", "-f", cycle.string()});
  EXPECT_NE(run.exit_code, 0) << Shown(run);
  for (const char* name : {"a", "b"}) {
    const json record = Stored(name);
    EXPECT_EQ(record["status"].value("reason", ""), "InvalidSpec") << name;
    EXPECT_NE(record["status"].value("message", "").find("cycle"), std::string::npos) << record["status"].dump();
    EXPECT_TRUE(Containers(name).empty()) << name;
  }

  const fs::path tasks = dir_ / "tasks";
  fs::create_directories(tasks);
  WriteFile(
      tasks / "late.yaml",
      Task("late", std::string(kImage) + "  runAfter: [early]\n  command: [sh, -c, 'cat $CTASK_INPUTS/early.json']\n"));
  Background op({"operator", "--backend", "docker", "--tasks-dir", tasks.string(), "--state-dir", state_,
                 "--scan-interval-ms", "100"},
                dir_, "operator");
  ASSERT_TRUE(WaitUntil([&] { return Phase("late") == "Queued"; })) << op.err();
  EXPECT_NE(Stored("late")["status"].value("message", "").find("early (no such task yet)"), std::string::npos)
      << Stored("late")["status"].dump();
  WriteFile(tasks / "early.yaml",
            Task("early", std::string(kImage) + "  command: [sh, -c, 'printf ok > /dev/termination-log']\n"));
  ASSERT_TRUE(WaitUntil([&] { return Phase("late") == "Succeeded"; })) << op.err();
  EXPECT_NE(Artifact("late").find("\"result\":\"ok\""), std::string::npos) << Artifact("late");
}

}  // namespace
}  // namespace ctask::cli
