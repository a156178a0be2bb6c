// Fan-out on the real control plane (docs/fan-out.md): `ctask operator
// --backend kubernetes`, tasks applied with kubectl, the fake kubelet as the
// node. A driver thread plays every item's pod as the test says (run, then
// exit with a code and a termination message), and counts the items' pods
// running at once all through the test. The items' pods, results ConfigMap
// and log ConfigMaps are read back through the API.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "api/names.h"
#include "operator/operator_fixture.h"

namespace ctask::testing {
namespace {

// How a driven item's pod ends: its exit code and termination message, by
// item index and attempt.
using Script = std::function<std::pair<int, std::string>(int index, int attempt, const api::Json& pod)>;

class FanOutE2eTest : public KubeOperatorTest {
 protected:
  struct ItemPod {
    int index = 0;
    int attempt = 0;
    api::Json pod;
  };
  // The pods of task `task`'s items, by name.
  std::map<std::string, ItemPod> ItemPods(const std::string& task) {
    std::map<std::string, ItemPod> out;
    Result<kube::ObjectList> pods =
        client().List(kube::resources::Pods(), ns(), kube::ListOptions{.label_selector = "ctask.io/task=" + task});
    if (!pods) return out;
    for (api::Json& pod : pods->items) {
      const api::Json labels = pod["metadata"].value("labels", api::Json::object());
      if (!labels.contains("ctask.io/item")) continue;
      const std::string name = pod["metadata"].value("name", "");
      out[name] = {std::stoi(labels.value("ctask.io/item", "0")), std::stoi(labels.value("ctask.io/attempt", "0")),
                   std::move(pod)};
    }
    return out;
  }

  // How many Jobs task `task` has (items run as bare pods: none for a fan-out).
  size_t JobsOf(const std::string& task) {
    Result<kube::ObjectList> jobs =
        client().List(kube::resources::Jobs(), ns(), kube::ListOptions{.label_selector = "ctask.io/task=" + task});
    return jobs ? jobs->items.size() : 0;
  }

  // Plays each item pod of `task` as `script` says, on its own thread,
  // until Stop: running first, then ended as the script says.
  class Driver {
   public:
    Driver(FanOutE2eTest& test, std::string task, Script script)
        : test_(test), task_(std::move(task)), script_(std::move(script)), thread_([this] { Run(); }) {}
    ~Driver() { Stop(); }
    void Stop() {
      stop_ = true;
      if (thread_.joinable()) thread_.join();
    }
    // The most item pods running at once. An item the script answers with
    // a negative code keeps running until the operator stops it.
    int max_running() const { return max_running_; }

   private:
    void Run() {
      while (!stop_) {
        for (const auto& [name, item] : test_.ItemPods(task_)) {
          if (done_.contains(name)) continue;
          if (!running_.contains(name)) {
            if (!test_.kubelet_->SetRunning(test_.ns(), name)) continue;
            running_.insert(name);
            continue;  // seen running by the next round's count first
          }
          const auto [code, message] = script_(item.index, item.attempt, item.pod);
          if (code < 0) continue;  // keeps running
          if (test_.kubelet_->Exit(test_.ns(), name, code, code == 0 ? "Completed" : "Error", message)) {
            done_.insert(name);
            running_.erase(name);
          }
        }
        max_running_ = std::max<int>(max_running_, static_cast<int>(running_.size()));
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      }
    }
    FanOutE2eTest& test_;
    const std::string task_;
    const Script script_;
    std::set<std::string> done_;
    std::set<std::string> running_;
    std::atomic<bool> stop_{false};
    std::atomic<int> max_running_{0};
    std::thread thread_;  // last
  };

  // An item pod's environment variable, "" when absent.
  static std::string EnvOf(const api::Json& pod, const std::string& name) {
    for (const api::Json& c : pod["spec"].value("containers", api::Json::array())) {
      for (const api::Json& e : c.value("env", api::Json::array())) {
        if (e.value("name", "") == name) return e.value("value", "");
      }
    }
    return "";
  }

  api::Json FanOutStatus(const std::string& task) {
    std::optional<api::Json> t = TaskJson(task);
    return t && t->contains("status") ? (*t)["status"].value("fanOut", api::Json::object()) : api::Json::object();
  }

  api::Json Results(const std::string& task) {
    Result<api::Json> cm = client().Get(kube::resources::ConfigMaps(), ns(), task + "-results");
    if (!cm) return api::Json();
    return api::Json::parse((*cm)["data"].value("results.json", ""), nullptr, false);
  }
};

TEST_F(FanOutE2eTest, TwentyItemsAtParallelismFourEndSucceededWithTwentyResults) {
  std::string items = "  items: [";
  for (int i = 0; i < 20; ++i) items += (i > 0 ? ", " : "") + std::string("in-") + std::to_string(i);
  ApplyTask("map", items + "]\n  parallelism: 4\n");
  Driver driver(*this, "map", [](int index, int, const api::Json& pod) {
    // The item reaches the pod as CTASK_ITEM; its result names it back.
    return std::pair<int, std::string>(
        0, EnvOf(pod, "CTASK_INDEX") + "=" + EnvOf(pod, "CTASK_ITEM") + "/" + std::to_string(index));
  });
  const api::ContainerTaskStatus done = WaitPhase("map", "Succeeded");
  driver.Stop();
  EXPECT_LE(driver.max_running(), 4);
  EXPECT_GE(driver.max_running(), 2);
  ASSERT_TRUE(done.fan_out);
  EXPECT_EQ(done.fan_out->succeeded, 20);
  EXPECT_EQ(done.fan_out->succeeded_indexes, "0-19");
  EXPECT_EQ(ItemPods("map").size(), 20u) << "one pod per item";
  EXPECT_EQ(JobsOf("map"), 0u) << "items run as bare pods, with no Job each";
  for (const auto& [name, item] : ItemPods("map")) {
    const api::Json& owner = item.pod["metadata"]["ownerReferences"][0];
    EXPECT_EQ(owner.value("kind", ""), "ContainerTask") << name;
    EXPECT_TRUE(owner.value("controller", false)) << name;
  }
  const api::Json results = Results("map");
  ASSERT_TRUE(results.is_object());
  ASSERT_EQ(results["items"].size(), 20u);
  for (int i = 0; i < 20; ++i) {
    const api::Json& r = results["items"][static_cast<size_t>(i)];
    EXPECT_EQ(r.value("result", ""), std::to_string(i) + "=in-" + std::to_string(i) + "/" + std::to_string(i));
  }
  ASSERT_TRUE(done.artifacts.results);
  EXPECT_EQ(done.artifacts.results->kind, "ConfigMap");
  EXPECT_EQ(done.artifacts.results->items, 20);
  // kubectl wait reads the same condition as for any task.
  BinaryResult waited =
      RunCommand({"kubectl", "wait", "-n", ns(), "--for=condition=Succeeded", "containertask/map", "--timeout=10s"}, "",
                 kKubectlGuard);
  EXPECT_EQ(waited.exit_code, 0) << Said(waited);
}

TEST_F(FanOutE2eTest, AFailingItemIsRetriedAloneAndFailFastStopsTheRest) {
  ApplyTask("retry", "  completions: 4\n  parallelism: 4\n  retries: 1\n  retryPolicy: {backoffSeconds: 1}\n");
  {
    Driver driver(*this, "retry",
                  [](int index, int, const api::Json&) { return std::pair<int, std::string>(index == 2 ? 3 : 0, ""); });
    const api::ContainerTaskStatus failed = WaitPhase("retry", "Failed");
    driver.Stop();
    EXPECT_EQ(failed.reason, "ItemsFailed");
    ASSERT_TRUE(failed.fan_out);
    EXPECT_EQ(failed.fan_out->failed_indexes, "2");
    EXPECT_EQ(failed.fan_out->succeeded_indexes, "0-1,3");
    std::map<int, int> pods_per_item;
    for (const auto& [name, item] : ItemPods("retry")) ++pods_per_item[item.index];
    EXPECT_EQ(pods_per_item, (std::map<int, int>{{0, 1}, {1, 1}, {2, 2}, {3, 1}})) << "item 2 retried alone";
  }

  ApplyTask("fast", "  completions: 8\n  parallelism: 3\n  failFast: true\n");
  Driver driver(*this, "fast", [](int index, int, const api::Json&) {
    return std::pair<int, std::string>(index == 0 ? 1 : -1, "");  // 1 and 2 run on
  });
  const api::ContainerTaskStatus failed = WaitPhase("fast", "Failed");
  EXPECT_NE(failed.message.find("item 0 failed"), std::string::npos) << failed.message;
  ASSERT_TRUE(WaitFor([&] { return FanOutStatus("fast").value("cancelled", 0) == 2; })) << FanOutStatus("fast").dump();
  // Stopping an item deletes its pod (the kubelet kills it first): only
  // item 0's, which failed, is left.
  ASSERT_TRUE(WaitFor([&] { return ItemPods("fast").size() == 1; })) << ItemPods("fast").size() << " pods left";
  driver.Stop();
  for (const auto& [name, item] : ItemPods("fast")) EXPECT_EQ(item.index, 0) << name;
}

TEST_F(FanOutE2eTest, ASuccessPolicyOfKSucceedsEarly) {
  ApplyTask("some", "  completions: 6\n  parallelism: 3\n  successPolicy: {minSucceeded: 2}\n");
  Driver driver(*this, "some",
                [](int index, int, const api::Json&) { return std::pair<int, std::string>(index < 2 ? 0 : -1, ""); });
  const api::ContainerTaskStatus done = WaitPhase("some", "Succeeded");
  EXPECT_NE(done.message.find("minSucceeded 2 met"), std::string::npos) << done.message;
  ASSERT_TRUE(WaitFor([&] { return FanOutStatus("some").value("active", -1) == 0; })) << FanOutStatus("some").dump();
  driver.Stop();
  // Items 0-2 start; item 3 may start in the room item 0 leaves before
  // item 1's success meets the policy; none after that.
  for (const auto& [name, item] : ItemPods("some")) EXPECT_LT(item.index, 4) << name << ": never started";
}

TEST_F(FanOutE2eTest, KilledMidFanOutEveryItemRunsExactlyOnce) {
  ApplyTask("kill", "  completions: 10\n  parallelism: 3\n");
  Driver driver(*this, "kill", [](int index, int, const api::Json&) {
    return std::pair<int, std::string>(0, "r" + std::to_string(index));
  });
  ASSERT_TRUE(WaitFor([&] { return FanOutStatus("kill").value("succeeded", 0) >= 3; })) << Operator().err();
  // An item in progress names its pod, and no Job: it has none.
  const api::Json progress = FanOutStatus("kill");
  bool named = false;
  for (const api::Json& item : progress.value("items", api::Json::array())) {
    EXPECT_EQ(item.value("jobName", ""), "") << item.dump();
    if (!item.value("podName", "").empty()) named = true;
  }
  EXPECT_TRUE(named) << progress.dump();
  Operator().Signal(SIGKILL);
  EXPECT_EQ(Operator().Wait(), -1);
  StartOperator("operator-2");
  WaitPhase("kill", "Succeeded");
  driver.Stop();
  std::map<int, int> pods_per_item;
  for (const auto& [name, item] : ItemPods("kill")) ++pods_per_item[item.index];
  ASSERT_EQ(pods_per_item.size(), 10u);
  for (const auto& [index, pods] : pods_per_item) EXPECT_EQ(pods, 1) << "item " << index << " ran exactly once";
  const api::Json results = Results("kill");
  ASSERT_TRUE(results.is_object());
  EXPECT_EQ(results["items"].size(), 10u);
}

TEST_F(FanOutE2eTest, AReduceRunsAfterItsMapWithTheMapResultsMounted) {
  ApplyTask("map", "  completions: 2\n  parallelism: 2\n");
  ApplyTask("reduce", "  runAfter: [map]\n");
  ApplyTask("never", "  runAfter: [broken]\n");
  ApplyTask("broken", "  command: [sh, -c, 'exit 1']\n");
  ApplyTask("cyc-a", "  runAfter: [cyc-b]\n");
  ApplyTask("cyc-b", "  runAfter: [cyc-a]\n");
  for (const char* name : {"cyc-a", "cyc-b"}) {
    const api::ContainerTaskStatus refused = WaitPhase(name, "Failed");
    EXPECT_EQ(refused.reason, "InvalidSpec") << name;
    EXPECT_NE(refused.message.find("cycle"), std::string::npos) << refused.message;
  }
  const api::ContainerTaskStatus waiting = WaitPhase("reduce", "Queued");
  EXPECT_EQ(waiting.reason, "WaitingForDependencies");
  EXPECT_NE(waiting.message.find("waiting for map"), std::string::npos) << waiting.message;
  // broken's one pod fails; never fails with it, never having run.
  Exit(PodOf(api::DerivedJobName("broken", 1)), 1);
  const api::ContainerTaskStatus never = WaitPhase("never", "Failed");
  EXPECT_EQ(never.reason, "DependencyFailed");
  EXPECT_NE(never.message.find("task broken failed"), std::string::npos) << never.message;

  std::set<std::string> jobs_before_map;
  for (const std::string& job : JobNames()) jobs_before_map.insert(job);
  EXPECT_FALSE(jobs_before_map.contains(api::DerivedJobName("reduce", 1))) << "the reduce waits for the map";
  EXPECT_FALSE(jobs_before_map.contains(api::DerivedJobName("never", 1)));
  Driver driver(*this, "map", [](int index, int, const api::Json&) {
    return std::pair<int, std::string>(0, "count-" + std::to_string(index));
  });
  WaitPhase("map", "Succeeded");
  driver.Stop();
  // The reduce's Job mounts its inputs ConfigMap, which holds the map's
  // results.
  const std::string pod = PodOf(api::DerivedJobName("reduce", 1));
  Result<api::Json> got = client().Get(kube::resources::Pods(), ns(), pod);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(EnvOf(*got, "CTASK_INPUTS"), "/ctask/inputs");
  bool mounted = false;
  for (const api::Json& volume : (*got)["spec"].value("volumes", api::Json::array())) {
    if (volume.contains("configMap") && volume["configMap"].value("name", "") == "reduce-inputs") mounted = true;
  }
  EXPECT_TRUE(mounted) << got->dump();
  Result<api::Json> inputs = client().Get(kube::resources::ConfigMaps(), ns(), "reduce-inputs");
  ASSERT_TRUE(inputs.has_value());
  const api::Json doc = api::Json::parse((*inputs)["data"].value("map.json", ""), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << inputs->dump();
  ASSERT_EQ(doc["items"].size(), 2u);
  EXPECT_EQ(doc["items"][1].value("result", ""), "count-1");
  Run(pod);
  Exit(pod, 0);
  WaitPhase("reduce", "Succeeded");
}

}  // namespace
}  // namespace ctask::testing
