// RenderPod: a fan-out item's attempt as a bare pod is RenderJob's pod
// template made an object — nothing that runs differs from the Job's pod —
// with the Job's name, owner, deadline and generation.
#include "render/pod.h"

#include <gtest/gtest.h>

#include "api/names.h"
#include "render/labels.h"

namespace ctask::render {
namespace {

using api::Json;

api::ContainerTask Item() {
  api::ContainerTask task;
  task.metadata.name = "map";
  task.metadata.namespace_ = "ns";
  task.metadata.uid = "0b9f5c1e-1111-4222-8333-944445555666";
  task.metadata.generation = 4;
  task.spec.image = "busybox:1.36";
  task.spec.command = {"sh", "-c", "echo $CTASK_ITEM"};
  task.spec.pod_labels = {{"team", "data"}};
  task.spec.pod_annotations = {{"note", "kept"}};
  task.item = api::ItemRef{.index = 7, .value = "a.txt", .count = 10};
  return task;
}

TEST(RenderPodTest, IsTheJobsPodTemplateWithTheJobsNameOwnerAndDeadline) {
  JobOptions options{.attempt = 2, .active_deadline_seconds = 30};
  Result<Json> job = RenderJob(Item(), options);
  Result<Json> pod = RenderPod(Item(), options);
  ASSERT_TRUE(job && pod) << (pod ? job.error().message() : pod.error().message());
  EXPECT_EQ((*pod)["apiVersion"], "v1");
  EXPECT_EQ((*pod)["kind"], "Pod");
  const Json& meta = (*pod)["metadata"];
  EXPECT_EQ(meta["name"], api::DerivedJobName("map", 2, 7));
  EXPECT_EQ(meta["name"], (*job)["metadata"]["name"]);
  EXPECT_EQ(meta["namespace"], "ns");
  EXPECT_EQ(meta["ownerReferences"], (*job)["metadata"]["ownerReferences"]);
  EXPECT_EQ(meta["ownerReferences"][0]["kind"], "ContainerTask");
  EXPECT_EQ(meta["ownerReferences"][0]["controller"], true);
  // The pod template's labels: ctask's (the operator finds the attempt by
  // them) and the task's podLabels.
  EXPECT_EQ(meta["labels"], (*job)["spec"]["template"]["metadata"]["labels"]);
  EXPECT_EQ(meta["labels"][kLabelItem], "7");
  EXPECT_EQ(meta["labels"][kLabelAttempt], "2");
  EXPECT_EQ(meta["labels"]["team"], "data");
  EXPECT_EQ(meta["annotations"]["note"], "kept");
  EXPECT_EQ(meta["annotations"][kAnnotationGeneration], "4");

  Json spec = (*pod)["spec"];
  EXPECT_EQ(spec["activeDeadlineSeconds"], 30) << "the kubelet keeps the deadline while the operator is down";
  EXPECT_EQ(spec["restartPolicy"], "Never");
  spec.erase("activeDeadlineSeconds");
  EXPECT_EQ(spec, (*job)["spec"]["template"]["spec"]) << "what runs is the Job's pod, field for field";
}

TEST(RenderPodTest, KeysAreInAlphabeticalOrderAsTheJobs) {
  Result<Json> pod = RenderPod(Item(), JobOptions{.attempt = 1, .active_deadline_seconds = 5});
  ASSERT_TRUE(pod);
  for (const Json* object : {&*pod, &(*pod)["metadata"], &(*pod)["spec"]}) {
    std::string previous;
    for (const auto& [key, value] : object->items()) {
      EXPECT_LT(previous, key) << object->dump();
      previous = key;
    }
  }
}

TEST(RenderPodTest, NoTimeoutNoDeadlineAndRefusalsAreTheJobs) {
  api::ContainerTask task = Item();
  Result<Json> pod = RenderPod(task, JobOptions{.attempt = 1});
  ASSERT_TRUE(pod);
  EXPECT_FALSE((*pod)["spec"].contains("activeDeadlineSeconds"));

  task.spec.workspace = api::Workspace{};
  task.spec.workspace->host_path = api::HostPathWorkspace{"/data", false};  // Docker only
  Result<Json> job = RenderJob(task, JobOptions{});
  pod = RenderPod(task, JobOptions{});
  ASSERT_FALSE(job);
  ASSERT_FALSE(pod);
  EXPECT_EQ(pod.error().message(), job.error().message());
}

}  // namespace
}  // namespace ctask::render
