// RenderJob's and RenderNetworkPolicy's rules that the golden files do not
// pin down on their own: key order everywhere, ownership only with a UID,
// the labels the operator selects on, the workspace refusals, determinism.
#include "render/job.h"

#include <gtest/gtest.h>

#include <string>

#include "api/names.h"
#include "render/labels.h"

namespace ctask::render {
namespace {

using api::Json;

api::ContainerTask Task() {
  api::ContainerTask task;
  task.metadata.name = "t";
  task.spec.image = "busybox:1.36";
  return task;
}

// A task with every field the Job renders set.
api::ContainerTask FullTask() {
  api::ContainerTask task = Task();
  task.metadata.namespace_ = "ns";
  task.metadata.uid = "0b9f5c1e-1111-4222-8333-944445555666";
  task.metadata.generation = 2;
  task.spec.image_pull_policy = "IfNotPresent";
  task.spec.command = {"sh", "-c"};
  task.spec.args = {"echo hi"};
  task.spec.working_dir = "/w";
  api::EnvVar literal;
  literal.name = "A";
  literal.value = "1";
  api::EnvVar from_secret;
  from_secret.name = "B";
  from_secret.value_from = api::EnvVarSource{};
  from_secret.value_from->secret_key_ref = api::SecretKeySelector{"s", "k", true};
  task.spec.env = {literal, from_secret};
  api::EnvFromSource env_from;
  env_from.prefix = "P_";
  env_from.config_map_ref = api::LocalObjectReference{"c", false};
  task.spec.env_from = {env_from};
  task.spec.resources.limits["memory"] = api::ParseQuantity("1Gi").value();
  task.spec.resources.requests["cpu"] = api::ParseQuantity("0.5").value();
  task.spec.workspace = api::Workspace{};
  task.spec.workspace->empty_dir = api::EmptyDirWorkspace{api::ParseQuantity("1Gi").value()};
  task.spec.security_context.run_as_user = 1;
  task.spec.security_context.run_as_group = 2;
  task.spec.security_context.run_as_non_root = true;
  task.spec.service_account_name = "sa";
  task.spec.node_selector = {{"z", "1"}, {"a", "2"}};
  api::Toleration toleration;
  toleration.key = "k";
  toleration.value = "v";
  toleration.effect = "NoExecute";
  toleration.toleration_seconds = 5;
  task.spec.tolerations = {toleration};
  task.spec.priority_class_name = "p";
  task.spec.pod_labels = {{"team", "x"}};
  task.spec.pod_annotations = {{"note", "y"}};
  return task;
}

Json RenderOrFail(const api::ContainerTask& task, JobOptions options = {}) {
  Result<Json> job = RenderJob(task, options);
  if (!job) {
    ADD_FAILURE() << job.error().ToString();
    return Json::object();
  }
  return *job;
}

// kubectl prints keys in alphabetical order; so do we, at every level.
void ExpectSortedKeys(const Json& value, const std::string& path) {
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) ExpectSortedKeys(value[i], path + "[" + std::to_string(i) + "]");
  } else if (value.is_object()) {
    std::string previous;
    for (const auto& [key, item] : value.items()) {
      EXPECT_LT(previous, key) << "at " << path << ": key " << key << " after " << previous;
      previous = key;
      ExpectSortedKeys(item, path + "." + key);
    }
  }
}

TEST(Job, KeysInKubectlOrderEverywhere) {
  JobOptions options;
  options.active_deadline_seconds = 10;
  ExpectSortedKeys(RenderOrFail(FullTask(), options), "");
  ExpectSortedKeys(RenderNetworkPolicy(FullTask()), "");
  api::ContainerTask pvc = FullTask();
  pvc.spec.workspace->empty_dir.reset();
  pvc.spec.workspace->persistent_volume_claim = api::PvcWorkspace{"claim", true};
  ExpectSortedKeys(RenderOrFail(pvc), "");
}

TEST(Job, Deterministic) {
  JobOptions options;
  options.attempt = 4;
  options.active_deadline_seconds = 99;
  EXPECT_EQ(RenderOrFail(FullTask(), options).dump(2), RenderOrFail(FullTask(), options).dump(2));
  EXPECT_EQ(RenderNetworkPolicy(FullTask()).dump(2), RenderNetworkPolicy(FullTask()).dump(2));
}

TEST(Job, OwnedByTheTaskOnlyWithAUid) {
  Json job = RenderOrFail(FullTask());
  ASSERT_TRUE(job["metadata"].contains("ownerReferences"));
  EXPECT_EQ(job["metadata"]["ownerReferences"].dump(),
            R"([{"apiVersion":"ctask.io/v1alpha1","blockOwnerDeletion":true,"controller":true,)"
            R"("kind":"ContainerTask","name":"t","uid":"0b9f5c1e-1111-4222-8333-944445555666"}])");
  EXPECT_EQ(job["metadata"]["labels"][kLabelTaskUid], "0b9f5c1e-1111-4222-8333-944445555666");

  Json local = RenderOrFail(Task());
  EXPECT_FALSE(local["metadata"].contains("ownerReferences"));
  EXPECT_FALSE(local["metadata"].contains("namespace"));
  EXPECT_FALSE(local["metadata"]["labels"].contains(kLabelTaskUid));
  EXPECT_FALSE(RenderNetworkPolicy(Task())["metadata"].contains("ownerReferences"));
  EXPECT_FALSE(RenderNetworkPolicy(Task())["spec"]["podSelector"]["matchLabels"].contains(kLabelTaskUid));
}

TEST(Job, AUidThatCannotLabelIsLeftOut) {
  api::ContainerTask task = Task();
  task.metadata.uid = "not a label value!";
  Json job = RenderOrFail(task);
  EXPECT_FALSE(job["metadata"]["labels"].contains(kLabelTaskUid));
  EXPECT_FALSE(job["metadata"].contains("ownerReferences"));
}

TEST(Job, NameAndAttemptLabelAgree) {
  JobOptions options;
  options.attempt = 0;  // treated as 1, as DerivedJobName does
  Json job = RenderOrFail(Task(), options);
  EXPECT_EQ(job["metadata"]["name"], api::DerivedJobName("t", 1));
  EXPECT_EQ(job["metadata"]["labels"][kLabelAttempt], "1");
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"][kLabelAttempt], "1");
}

// An item of a fan-out task (its view, status/fan_out.h): its own Job name,
// never a task's, and its index as a label on the Job and the pod.
TEST(Job, AnItemHasItsOwnNameAndLabel) {
  api::ContainerTask item = Task();
  item.item = api::ItemRef{3, "b.txt", 5};
  JobOptions options;
  options.attempt = 2;
  Json job = RenderOrFail(item, options);
  EXPECT_EQ(job["metadata"]["name"], "t-i3-a2");
  EXPECT_NE(job["metadata"]["name"], api::DerivedJobName("t-i3", 2)) << "a task named t-i3 has t-i3-2";
  EXPECT_EQ(job["metadata"]["labels"][kLabelItem], "3");
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"][kLabelItem], "3");
  ExpectSortedKeys(job, "");
}

// A task that runs after others mounts its inputs ConfigMap read-only and is
// told where (CTASK_INPUTS, before its own env).
TEST(Job, RunAfterMountsTheInputs) {
  api::ContainerTask task = Task();
  task.spec.run_after = {"map"};
  task.spec.env = {{"MINE", "x", std::nullopt}};
  Json job = RenderOrFail(task);
  const Json& pod = job["spec"]["template"]["spec"];
  ASSERT_EQ(pod["volumes"].size(), 1u);
  EXPECT_EQ(pod["volumes"][0]["configMap"]["name"], "t-inputs");
  const Json& container = pod["containers"][0];
  EXPECT_EQ(container["volumeMounts"][0]["mountPath"], "/ctask/inputs");
  EXPECT_EQ(container["volumeMounts"][0]["readOnly"], true);
  EXPECT_EQ(container["env"][0]["name"], "CTASK_INPUTS");
  EXPECT_EQ(container["env"][0]["value"], "/ctask/inputs");
  EXPECT_EQ(container["env"][1]["name"], "MINE");
  ExpectSortedKeys(job, "");
}

TEST(Job, EveryLabelIsValidForEveryAttempt) {
  api::ContainerTask task = FullTask();
  task.metadata.name = std::string(63, 'a');
  for (int attempt : {1, 9, 10, 99, 100, 101}) {
    JobOptions options;
    options.attempt = attempt;
    Json job = RenderOrFail(task, options);
    EXPECT_TRUE(api::IsDNS1123Label(job["metadata"]["name"].get<std::string>()).empty()) << attempt;
    for (const Json* labels : {&job["metadata"]["labels"], &job["spec"]["template"]["metadata"]["labels"]}) {
      for (const auto& [key, value] : labels->items()) {
        EXPECT_TRUE(api::IsQualifiedName(key).empty()) << key;
        EXPECT_TRUE(api::IsValidLabelValue(value.get<std::string>()).empty()) << key << "=" << value;
      }
    }
  }
  Json policy = RenderNetworkPolicy(task);
  EXPECT_TRUE(api::IsDNS1123Subdomain(policy["metadata"]["name"].get<std::string>()).empty());
}

TEST(Job, CtaskLabelsWinOnThePodTemplate) {
  api::ContainerTask task = Task();
  task.spec.pod_labels = {{kLabelTask, "spoofed"}, {kLabelManagedBy, "someone"}, {"team", "x"}};
  Json labels = RenderOrFail(task)["spec"]["template"]["metadata"]["labels"];
  EXPECT_EQ(labels[kLabelTask], "t");
  EXPECT_EQ(labels[kLabelManagedBy], "ctask");
  EXPECT_EQ(labels["team"], "x");
  // podLabels are for the pod only.
  EXPECT_FALSE(RenderOrFail(task)["metadata"]["labels"].contains("team"));
}

TEST(Job, ServiceAccountTokenOnlyWithAServiceAccount) {
  api::ContainerTask task = Task();
  EXPECT_EQ(RenderOrFail(task)["spec"]["template"]["spec"]["automountServiceAccountToken"], false);
  task.spec.service_account_name = "reader";
  Json pod = RenderOrFail(task)["spec"]["template"]["spec"];
  EXPECT_FALSE(pod.contains("automountServiceAccountToken"));
  EXPECT_EQ(pod["serviceAccountName"], "reader");
}

TEST(Job, DeadlineIsOptionalAndNeverBelowOne) {
  EXPECT_FALSE(RenderOrFail(Task())["spec"].contains("activeDeadlineSeconds"));
  JobOptions options;
  options.active_deadline_seconds = 0;
  EXPECT_EQ(RenderOrFail(Task(), options)["spec"]["activeDeadlineSeconds"], 1);
  options.active_deadline_seconds = -50;
  EXPECT_EQ(RenderOrFail(Task(), options)["spec"]["activeDeadlineSeconds"], 1);
  options.active_deadline_seconds = 3600;
  EXPECT_EQ(RenderOrFail(Task(), options)["spec"]["activeDeadlineSeconds"], 3600);
}

TEST(Job, OneAttemptPerJob) {
  Json spec = RenderOrFail(FullTask())["spec"];
  EXPECT_EQ(spec["backoffLimit"], 0);
  EXPECT_EQ(spec["completions"], 1);
  EXPECT_EQ(spec["parallelism"], 1);
  EXPECT_FALSE(spec.contains("suspend"));
  EXPECT_EQ(spec["template"]["spec"]["restartPolicy"], "Never");
}

TEST(Job, DockerOnlyWorkspacesAreRefused) {
  api::ContainerTask task = Task();
  task.spec.workspace = api::Workspace{};
  task.spec.workspace->host_path = api::HostPathWorkspace{"/data", false};
  Result<Json> job = RenderJob(task, {});
  ASSERT_FALSE(job.has_value());
  EXPECT_EQ(job.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(job.error().message(),
            "spec.workspace.hostPath: only the docker backend supports host paths; use emptyDir or "
            "persistentVolumeClaim");
  task.spec.workspace->host_path.reset();
  task.spec.workspace->docker_volume = api::DockerVolumeWorkspace{"v"};
  job = RenderJob(task, {});
  ASSERT_FALSE(job.has_value());
  EXPECT_NE(job.error().message().find("spec.workspace.dockerVolume"), std::string::npos);
  task.spec.workspace->docker_volume.reset();
  EXPECT_FALSE(RenderJob(task, {}).has_value());  // no source at all
}

TEST(Job, TextThatIsNotUtf8IsAnErrorNotAnException) {
  api::ContainerTask task = Task();
  task.spec.args = {"\xc3\x28"};
  Result<Json> job = RenderJob(task, {});
  ASSERT_FALSE(job.has_value());
  EXPECT_EQ(job.error().code(), ErrorCode::kInvalidArgument);
}

TEST(NetworkPolicy, DeniesEverythingForTheTasksPods) {
  Json policy = RenderNetworkPolicy(FullTask());
  EXPECT_EQ(policy["apiVersion"], "networking.k8s.io/v1");
  EXPECT_EQ(policy["metadata"]["name"], "t-isolation");
  EXPECT_EQ(policy["metadata"]["namespace"], "ns");
  EXPECT_FALSE(policy["metadata"]["labels"].contains(kLabelAttempt));  // it spans attempts
  EXPECT_EQ(policy["spec"].dump(), R"({"podSelector":{"matchLabels":{"ctask.io/task":"t","ctask.io/task-uid":)"
                                   R"("0b9f5c1e-1111-4222-8333-944445555666"}},"policyTypes":["Ingress","Egress"]})");
}

TEST(Job, AKueueTaskGetsItsKueueLabelsAndStartsSuspended) {
  api::ContainerTask task = Task();
  task.metadata.labels = {
      {"kueue.x-k8s.io/queue-name", "lq"}, {"kueue.x-k8s.io/priority-class", "high"}, {"team", "not-copied"}};
  const Json job = RenderOrFail(task);
  EXPECT_EQ(job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "lq");
  EXPECT_EQ(job["metadata"]["labels"]["kueue.x-k8s.io/priority-class"], "high");
  EXPECT_FALSE(job["metadata"]["labels"].contains("team"));
  EXPECT_EQ(job["spec"]["suspend"], true) << "created suspended: Kueue unsuspends it when it admits it";
  EXPECT_FALSE(job["spec"]["template"]["metadata"]["labels"].contains("kueue.x-k8s.io/queue-name"));
  EXPECT_FALSE(RenderOrFail(Task())["spec"].contains("suspend")) << "no Kueue label, no suspend";
}

}  // namespace
}  // namespace ctask::render
