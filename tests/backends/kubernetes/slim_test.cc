// The informers' transforms keep what the operator reads and nothing else.
#include "backends/kubernetes/slim.h"

#include <gtest/gtest.h>

#include <string>

#include "kube/watch_decoder.h"

namespace ctask::backends {
namespace {

using api::Json;

Json Metadata() {
  return {
      {"name", "x"},
      {"namespace", "dev"},
      {"uid", "u1"},
      {"resourceVersion", "42"},
      {"generation", 3},
      {"labels", {{"a", "b"}}},
      {"annotations",
       {{"kubectl.kubernetes.io/last-applied-configuration", std::string(4000, 'x')}, {"ctask.io/log-attempt", "1"}}},
      {"ownerReferences", Json::array({{{"uid", "t"}, {"controller", true}}})},
      {"creationTimestamp", "2026-11-23T10:00:00Z"},
      {"finalizers", Json::array({"ctask.io/archive-log"})},
      {"managedFields", Json::array({{{"manager", "kubectl"}, {"fieldsV1", {{"f:spec", Json::object()}}}}})}};
}

TEST(SlimTest, TaskKeepsSpecStatusAndItsOwnAnnotations) {
  Json task = {{"apiVersion", "ctask.io/v1alpha1"},
               {"kind", "ContainerTask"},
               {"metadata", Metadata()},
               {"spec", {{"image", "busybox"}}},
               {"status", {{"phase", "Running"}}}};
  SlimTask(task);
  EXPECT_EQ(task["spec"]["image"], "busybox");
  EXPECT_EQ(task["status"]["phase"], "Running");
  EXPECT_FALSE(task["metadata"].contains("managedFields"));
  EXPECT_FALSE(task["metadata"]["annotations"].contains("kubectl.kubernetes.io/last-applied-configuration"));
  EXPECT_EQ(task["metadata"]["annotations"]["ctask.io/log-attempt"], "1");
  for (const char* key : {"name", "namespace", "uid", "resourceVersion", "generation", "labels", "ownerReferences",
                          "creationTimestamp", "finalizers"}) {
    EXPECT_TRUE(task["metadata"].contains(key)) << key;
  }
}

TEST(SlimTest, JobKeepsOnlyWhatObservingNeeds) {
  Json job = {
      {"apiVersion", "batch/v1"},
      {"kind", "Job"},
      {"metadata", Metadata()},
      {"spec", {{"suspend", true}, {"template", {{"spec", {{"containers", Json::array()}}}}}}},
      {"status",
       {{"active", 1},
        {"uncountedTerminatedPods", Json::object()},
        {"conditions",
         Json::array(
             {{{"type", "Failed"}, {"status", "True"}, {"reason", "DeadlineExceeded"}, {"lastProbeTime", "x"}}})}}}};
  SlimJob(job);
  EXPECT_EQ(job["spec"], Json({{"suspend", true}}));
  EXPECT_FALSE(job["metadata"].contains("annotations"));
  EXPECT_FALSE(job["status"].contains("uncountedTerminatedPods"));
  EXPECT_EQ(job["status"]["conditions"][0],
            Json({{"type", "Failed"}, {"status", "True"}, {"reason", "DeadlineExceeded"}}));
}

TEST(SlimTest, PodKeepsTheTaskContainerStateAndScheduling) {
  Json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", Metadata()},
      {"spec", {{"nodeName", "n1"}, {"containers", Json::array({{{"name", "task"}}})}}},
      {"status",
       {{"phase", "Running"},
        {"podIP", "127.0.0.9"},
        {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}},
                                    {{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", nullptr}}})},
        {"containerStatuses",
         Json::array({{{"name", "task"}, {"image", "busybox"}, {"state", {{"running", Json::object()}}}}})}}}};
  SlimPod(pod);
  EXPECT_EQ(pod["spec"], Json({{"nodeName", "n1"}}));
  EXPECT_FALSE(pod["status"].contains("podIP"));
  ASSERT_EQ(pod["status"]["conditions"].size(), 1u);
  EXPECT_EQ(pod["status"]["conditions"][0]["type"], "PodScheduled");
  EXPECT_EQ(pod["status"]["containerStatuses"][0], Json({{"name", "task"}, {"state", {{"running", Json::object()}}}}));
}

TEST(SlimTest, NonObjectsAreLeftAlone) {
  Json value = "not an object";
  SlimTask(value);
  SlimJob(value);
  SlimPod(value);
  EXPECT_EQ(value, "not an object");
}

// What a watch skips while parsing is only ever what the slim copy drops:
// a cached object is the same whether its event was parsed whole or not.
void ExpectSkippingChangesNothingSlimKeeps(const Json& object, const std::vector<kube::FieldPath>& skipped,
                                           void (*slim)(Json&)) {
  const std::string line = Json({{"type", "ADDED"}, {"object", object}}).dump() + "\n";
  Result<std::vector<kube::WatchEvent>> whole = kube::WatchDecoder().Feed(line);
  Result<std::vector<kube::WatchEvent>> skipping = kube::WatchDecoder(skipped).Feed(line);
  ASSERT_TRUE(whole.has_value() && skipping.has_value());
  ASSERT_EQ(whole->size(), 1u);
  ASSERT_EQ(skipping->size(), 1u);
  EXPECT_NE((*whole)[0].object, (*skipping)[0].object) << "nothing was skipped: the test proves nothing";
  Json expected = (*whole)[0].object;
  slim(expected);
  Json got = (*skipping)[0].object;
  slim(got);
  EXPECT_EQ(got, expected);
}

TEST(SlimTest, AWatchSkipsOnlyFieldsTheSlimCopyDrops) {
  Json metadata = Metadata();
  ExpectSkippingChangesNothingSlimKeeps({{"apiVersion", "ctask.io/v1alpha1"},
                                         {"kind", "ContainerTask"},
                                         {"metadata", metadata},
                                         {"spec", {{"image", "busybox"}, {"template", "a spec field"}}},
                                         {"status", {{"phase", "Running"}}}},
                                        SkippedTaskFields(), SlimTask);
  ExpectSkippingChangesNothingSlimKeeps(
      {{"apiVersion", "batch/v1"},
       {"kind", "Job"},
       {"metadata", metadata},
       {"spec",
        {{"suspend", false},
         {"activeDeadlineSeconds", 60},
         {"selector", {{"matchLabels", {{"a", "b"}}}}},
         {"template", {{"spec", {{"containers", Json::array({{{"name", "task"}}})}}}}}}},
       {"status", {{"active", 1}, {"conditions", Json::array({{{"type", "Complete"}, {"status", "True"}}})}}}},
      SkippedJobFields(), SlimJob);
  ExpectSkippingChangesNothingSlimKeeps(
      {{"apiVersion", "v1"},
       {"kind", "Pod"},
       {"metadata", metadata},
       {"spec",
        {{"nodeName", "n1"},
         {"containers", Json::array({{{"name", "task"}}})},
         {"volumes", Json::array()},
         {"tolerations", Json::array()}}},
       {"status",
        {{"phase", "Succeeded"},
         {"podIPs", Json::array({{{"ip", "127.0.0.9"}}})},
         {"containerStatuses", Json::array({{{"name", "task"}, {"state", {{"terminated", {{"exitCode", 0}}}}}}})}}}},
      SkippedPodFields(), SlimPod);
}

}  // namespace
}  // namespace ctask::backends
