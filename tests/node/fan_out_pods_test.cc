// Fan-out on real pods (docs/fan-out.md): the mapreduce example's shape on
// the real node — a map over items, each a real container that sees its
// item and writes its result to /dev/termination-log, and a reduce that
// runs after it and reads every result from its mounted inputs.
#include <gtest/gtest.h>

#include <map>

#include "api/names.h"
#include "node/node_fixture.h"
#include "testing/paths.h"

namespace ctask::testing {
namespace {

TEST_F(RealNodeTest, TheMapReduceExampleRunsUnchanged) {
  // examples/mapreduce/ as a user applies it (the image is on the node).
  BinaryResult applied = Kubectl({"apply", "-n", ns(), "-f", SourceDir() + "/examples/mapreduce/"});
  ASSERT_EQ(applied.exit_code, 0) << Said(applied);
  const api::ContainerTaskStatus map = WaitFinished("wordcount-map");
  ASSERT_EQ(map.phase, "Succeeded") << map.reason << ": " << map.message;
  ASSERT_TRUE(map.fan_out);
  EXPECT_EQ(map.fan_out->succeeded_indexes, "0-5");
  const api::ContainerTaskStatus reduce = WaitFinished("wordcount-reduce");
  ASSERT_EQ(reduce.phase, "Succeeded") << reduce.reason << ": " << reduce.message;
  EXPECT_EQ(reduce.result, "33") << "every item's count, read from the map's results";
  ASSERT_TRUE(map.completion_time && reduce.start_time);
  EXPECT_LE(*map.completion_time, *reduce.start_time) << "the reduce started after the map";
  BinaryResult item =
      RunBinary({"logs", "wordcount-map", "-n", ns(), "--backend", "kubernetes", "--index", "2"}, "", kHangGuard);
  EXPECT_EQ(item.exit_code, 0) << Said(item);
  EXPECT_EQ(item.out, "item 2: 'a map step runs once per item' has 7 words\n");
}

TEST_F(RealNodeTest, AMapOverItemsThenAReduceReadingItsResults) {
  ApplyTask("map",
            "  items: [\"a b c\", \"d e\", \"f\", \"g h i j\", \"k l\"]\n"
            "  parallelism: 2\n"
            "  command: [sh, -c, 'n=$(echo \"$CTASK_ITEM\" | wc -w); echo \"item $CTASK_INDEX: $n\"; "
            "printf %s \"$n\" > /dev/termination-log']\n");
  ApplyTask("reduce",
            "  runAfter: [map]\n"
            "  command: [sh, -c, 't=0; for n in $(grep -o \"\\\"result\\\":\\\"[0-9]*\\\"\" $CTASK_INPUTS/map.json "
            "| grep -o \"[0-9]*\"); do t=$((t+n)); done; echo total $t; printf %s $t > /dev/termination-log']\n");
  const api::ContainerTaskStatus map = WaitFinished("map");
  ASSERT_EQ(map.phase, "Succeeded") << map.reason << ": " << map.message;
  ASSERT_TRUE(map.fan_out);
  EXPECT_EQ(map.fan_out->succeeded_indexes, "0-4");
  const api::ContainerTaskStatus reduce = WaitFinished("reduce");
  ASSERT_EQ(reduce.phase, "Succeeded") << reduce.reason << ": " << reduce.message;
  EXPECT_EQ(reduce.result, "12") << "3 + 2 + 1 + 4 + 2 words, read from the map's results";
  ASSERT_TRUE(map.completion_time && reduce.start_time);
  EXPECT_LE(*map.completion_time, *reduce.start_time) << "the reduce started after the map";

  // Each item's log, archived from its real pod.
  BinaryResult item = RunBinary({"logs", "map", "-n", ns(), "--backend", "kubernetes", "--index", "3"}, "", kHangGuard);
  EXPECT_EQ(item.exit_code, 0) << Said(item);
  EXPECT_EQ(item.out, "item 3: 4\n");
  // One pod per item, never more than parallelism at once is the operator
  // suite's to show; here: every item ran exactly once.
  std::map<std::string, int> pods_per_item;
  for (const std::string& pod : PodNames()) {
    if (pod.starts_with("map-i")) ++pods_per_item[pod.substr(0, pod.find("-a"))];
  }
  EXPECT_EQ(pods_per_item.size(), 5u);
  for (const auto& [item_pods, n] : pods_per_item) EXPECT_EQ(n, 1) << item_pods;
}

TEST_F(RealNodeTest, FailFastStopsTheOtherItemsByDeletingTheirPodsAndTheirContainersGo) {
  // Item 0 fails at once; items 1 and 2 would sleep for five minutes.
  ApplyTask("fast",
            "  completions: 3\n"
            "  parallelism: 3\n"
            "  failFast: true\n"
            "  command: [sh, -c, 'if [ \"$CTASK_INDEX\" = 0 ]; then sleep 2; exit 1; fi; sleep 300']\n");
  std::string sleeper_container;
  ASSERT_TRUE(WaitFor([&] {
    sleeper_container = ContainerId(api::DerivedJobName("fast", 1, 1));
    return !sleeper_container.empty() && ContainerRuns(sleeper_container);
  })) << "item 1's container never ran";
  const api::ContainerTaskStatus failed = WaitFinished("fast");
  EXPECT_EQ(failed.phase, "Failed");
  EXPECT_NE(failed.message.find("item 0 failed"), std::string::npos) << failed.message;
  // The stopped items' pods are deleted (the kubelet stops their
  // containers first); the failed item's pod stays with its status.
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<std::string> pods = PodNames();
    return pods.size() == 1 && pods[0] == api::DerivedJobName("fast", 1, 0);
  })) << "pods left: "
      << ::testing::PrintToString(PodNames());
  EXPECT_TRUE(WaitFor([&] { return !ContainerRuns(sleeper_container); })) << "item 1's container still runs";
  BinaryResult jobs = Kubectl({"get", "jobs", "-n", ns(), "-o", "name"});
  EXPECT_EQ(jobs.exit_code, 0) << Said(jobs);
  EXPECT_EQ(jobs.out, "") << "items run as bare pods";
}

}  // namespace
}  // namespace ctask::testing
