// The operator end to end, one behaviour per test: a task applied with
// kubectl runs as a Job whose pod the fake node drives, and its status,
// events, log archive and clean-up come out as DESIGN.md section 3 says.
#include <gtest/gtest.h>

#include <algorithm>

#include "operator/operator_fixture.h"

namespace ctask::testing {
namespace {

bool Has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

const api::Condition* FindCondition(const api::ContainerTaskStatus& s, const std::string& type) {
  for (const api::Condition& c : s.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

TEST_F(KubeOperatorTest, ASuccessfulTaskReportsEverythingAndKubectlWaitSeesIt) {
  ApplyTask("hello");
  const std::string pod = PodOf("hello-1");
  // The Job is named once the operator has seen its pod, which may be a
  // reconcile after the pod exists (the first Pending status comes before
  // the Job is created).
  api::ContainerTaskStatus s = WaitPhase("hello", "Pending");
  EXPECT_TRUE(WaitFor([&] {
    s = TaskStatus("hello");
    return s.phase == "Pending" && s.job_name == "hello-1";
  })) << "phase "
      << s.phase << ", jobName \"" << s.job_name << "\"";
  Run(pod, "line one\nline two\n");
  s = WaitPhase("hello", "Running");
  EXPECT_EQ(s.pod_name, pod);
  // The tail shows while it runs (written at most once per --log-tail-interval).
  EXPECT_TRUE(WaitFor([&] { return TaskStatus("hello").log_tail == "line one\nline two\n"; }))
      << TaskStatus("hello").log_tail;

  BinaryResult wait =
      RunCommand({"kubectl", "wait", "-n", ns(), "--for=condition=Succeeded", "containertask/hello", "--timeout=5s"},
                 "", kKubectlGuard);
  EXPECT_NE(wait.exit_code, 0) << "not yet: it still runs";
  ASSERT_TRUE(kubelet_->AppendLog(ns(), pod, "the end\n").has_value());
  Exit(pod, 0, "", "42 widgets");
  wait =
      RunCommand({"kubectl", "wait", "-n", ns(), "--for=condition=Succeeded", "containertask/hello", "--timeout=90s"},
                 "", kE2eGuard + kKubectlGuard);
  EXPECT_EQ(wait.exit_code, 0) << Said(wait);

  s = TaskStatus("hello");
  EXPECT_EQ(s.phase, "Succeeded");
  EXPECT_EQ(s.reason, "Completed");
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.result, "42 widgets");
  EXPECT_EQ(s.attempts, 1);
  ASSERT_EQ(s.history.size(), 1u);
  EXPECT_EQ(s.history[0].reason, "Completed");
  EXPECT_TRUE(s.start_time && s.completion_time);
  EXPECT_EQ(s.log_tail, "line one\nline two\nthe end\n");
  ASSERT_TRUE(s.artifacts.log);
  EXPECT_EQ(s.artifacts.log->kind, "ConfigMap");
  EXPECT_EQ(s.artifacts.log->name, "hello-log");
  EXPECT_EQ(s.artifacts.log->size_bytes, 26);
  EXPECT_FALSE(s.artifacts.log->truncated);
  const api::Condition* succeeded = FindCondition(s, "Succeeded");
  ASSERT_NE(succeeded, nullptr);
  EXPECT_EQ(succeeded->status, "True");
  EXPECT_EQ(succeeded->observed_generation, 1);
  EXPECT_EQ(FindCondition(s, "Reconciling")->status, "False");
  EXPECT_EQ(FindCondition(s, "Stalled")->status, "False");

  // The archive, through the cluster, as `ctask logs` reads it.
  BinaryResult logs = RunBinary({"logs", "hello", "-n", ns(), "--backend", "kubernetes"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, "line one\nline two\nthe end\n");
  Result<api::Json> cm = client().Get(kube::resources::ConfigMaps(), ns(), "hello-log");
  ASSERT_TRUE(cm.has_value());
  EXPECT_EQ((*cm)["metadata"]["ownerReferences"][0]["name"], "hello");

  EXPECT_TRUE(WaitFor([&] {
    const std::vector<std::string> events = Events("hello");
    return Has(events, "Normal Starting") && Has(events, "Normal Running") && Has(events, "Normal Completed");
  })) << ::testing::PrintToString(Events("hello"));
  EXPECT_EQ(JobNames(), std::vector<std::string>{"hello-1"});

  // What the operator says about itself on its port.
  const int port = MetricsPort();
  ASSERT_GT(port, 0) << Operator().err();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  BinaryResult metrics = RunCommand({"curl", "-sS", "--noproxy", "*", base + "/metrics"}, "", kKubectlGuard);
  ASSERT_EQ(metrics.exit_code, 0) << Said(metrics);
  EXPECT_NE(metrics.out.find("ctask_tasks{phase=\"Succeeded\"} 1"), std::string::npos) << metrics.out;
  EXPECT_NE(metrics.out.find("ctask_kube_api_requests_total{"), std::string::npos);
  EXPECT_NE(metrics.out.find("ctask_reconcile_duration_seconds_count"), std::string::npos);
  EXPECT_NE(metrics.out.find("ctask_task_duration_seconds_count{phase=\"Succeeded\"} 1"), std::string::npos);
  EXPECT_NE(metrics.out.find("ctask_leader 1"), std::string::npos);
  EXPECT_NE(metrics.out.find("ctask_log_follows "), std::string::npos);
  BinaryResult ready = RunCommand({"curl", "-sS", "--noproxy", "*", base + "/readyz?verbose"}, "", kKubectlGuard);
  EXPECT_NE(ready.out.find("[+]informer-sync ok"), std::string::npos) << ready.out;
  BinaryResult healthy = RunCommand({"curl", "-sS", "--noproxy", "*", base + "/healthz"}, "", kKubectlGuard);
  EXPECT_EQ(healthy.out, "ok");
}

TEST_F(KubeOperatorTest, ANonZeroExitFailsWithItsCode) {
  ApplyTask("bad");
  const std::string pod = PodOf("bad-1");
  Run(pod, "oops\n");
  Exit(pod, 3);
  api::ContainerTaskStatus s = WaitPhase("bad", "Failed");
  EXPECT_EQ(s.reason, "Error");
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_EQ(FindCondition(s, "Succeeded")->status, "False");
  EXPECT_EQ(FindCondition(s, "Stalled")->status, "True");
  EXPECT_TRUE(WaitFor([&] { return Has(Events("bad"), "Warning Error"); }));
}

TEST_F(KubeOperatorTest, OOMKilledFailsEvenWithExitZero) {
  ApplyTask("hungry");
  const std::string pod = PodOf("hungry-1");
  Run(pod);
  Exit(pod, 0, "OOMKilled");
  api::ContainerTaskStatus s = WaitPhase("hungry", "Failed");
  EXPECT_EQ(s.reason, "OOMKilled");
  EXPECT_EQ(s.exit_code, 0);
}

TEST_F(KubeOperatorTest, AnImagePullErrorFailsWithinPendingTimeoutNamingTheCause) {
  ApplyTask("nopull", "  pendingTimeoutSeconds: 2\n");
  const std::string pod = PodOf("nopull-1");
  ASSERT_TRUE(kubelet_->SetWaiting(ns(), pod, "ErrImagePull", "pull access denied for busybox").has_value());
  api::ContainerTaskStatus s = WaitPhase("nopull", "Failed");
  EXPECT_EQ(s.reason, "ImagePullFailed");
  EXPECT_NE(s.message.find("pull access denied"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("pendingTimeoutSeconds"), std::string::npos) << s.message;
  // The stuck attempt is stopped: its Job suspended, its pod gone.
  EXPECT_TRUE(kubelet_->WaitForPodGone(ns(), pod, kE2eGuard).has_value());
}

TEST_F(KubeOperatorTest, AnInvalidImageNameFailsAtOnce) {
  ApplyTask("badname", "  pendingTimeoutSeconds: 3600\n");
  const std::string pod = PodOf("badname-1");
  ASSERT_TRUE(kubelet_->SetWaiting(ns(), pod, "InvalidImageName", "couldn't parse image name").has_value());
  api::ContainerTaskStatus s = WaitPhase("badname", "Failed");
  EXPECT_EQ(s.reason, "ImagePullFailed");
}

// A task the API server accepts but whose Job it refuses as invalid (issue
// 9: it stayed Pending "starting attempt 1" for ever, retried with backoff).
// A ValidatingAdmissionPolicy plays the refusing cluster: it answers 422
// Invalid for the Jobs of pods labelled policy-test=deny in this namespace.
// The task fails at once with InvalidSpec naming the cause, and the create is
// never retried.
TEST_F(KubeOperatorTest, AJobTheServerRefusesAsInvalidFailsTheTaskAtOnceAndIsNotRetried) {
  const std::string policy = "ctask-e2e-deny-" + ns();
  const std::string yaml =
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: " + policy +
      "\nspec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n    - apiGroups: [batch]\n"
      "      apiVersions: [v1]\n      operations: [CREATE]\n      resources: [jobs]\n  validations:\n"
      "  - expression: \"!has(object.spec.template.metadata.labels) || "
      "!('policy-test' in object.spec.template.metadata.labels) || "
      "object.spec.template.metadata.labels['policy-test'] != 'deny'\"\n"
      "    message: spec.template.metadata.labels[policy-test] is refused by this cluster's policy\n"
      "    reason: Invalid\n---\n"
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: " +
      policy + "\nspec:\n  policyName: " + policy +
      "\n  validationActions: [Deny]\n  matchResources:\n    namespaceSelector:\n      matchLabels:\n"
      "        kubernetes.io/metadata.name: " +
      ns() + "\n";
  BinaryResult applied = RunCommand({"kubectl", "apply", "-f", "-"}, yaml, kKubectlGuard);
  ASSERT_EQ(applied.exit_code, 0) << Said(applied);
  struct Cleanup {
    std::string policy;
    ~Cleanup() {
      RunCommand({"kubectl", "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", policy,
                  "--ignore-not-found"},
                 "", kKubectlGuard);
    }
  } cleanup{policy};
  // The API server enforces a new policy once its informer has it: wait
  // until a server-side dry run of such a Job is refused.
  const std::string job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: probe\n  namespace: " + ns() +
                          "\nspec:\n  template:\n    metadata:\n      labels: {policy-test: deny}\n    spec:\n"
                          "      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n";
  ASSERT_TRUE(WaitFor([&] {
    BinaryResult probe = RunCommand({"kubectl", "create", "--dry-run=server", "-f", "-"}, job, kKubectlGuard);
    return probe.exit_code != 0 && probe.err.find("denied request") != std::string::npos;
  })) << "the policy never took effect";

  ApplyTask("refused", "  podLabels:\n    policy-test: deny\n");
  api::ContainerTaskStatus s = WaitPhase("refused", "Failed");
  EXPECT_EQ(s.reason, "InvalidSpec");
  EXPECT_NE(s.message.find("could not be started and will not be retried"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("refused the Job rendered from the task as invalid"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("spec.template.metadata.labels[policy-test] is refused"), std::string::npos) << s.message;
  EXPECT_EQ(FindCondition(s, "Succeeded")->status, "False");
  EXPECT_EQ(FindCondition(s, "Stalled")->status, "True");
  EXPECT_TRUE(WaitFor([&] { return Has(Events("refused"), "Warning InvalidSpec"); }));
  EXPECT_TRUE(JobNames().empty());

  // Never retried: the server saw one refused create, however long we wait.
  const int port = MetricsPort();
  ASSERT_GT(port, 0) << Operator().err();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the first backoff steps would have passed
  BinaryResult metrics = RunCommand(
      {"curl", "-sS", "--noproxy", "*", "http://127.0.0.1:" + std::to_string(port) + "/metrics"}, "", kKubectlGuard);
  ASSERT_EQ(metrics.exit_code, 0) << Said(metrics);
  EXPECT_NE(metrics.out.find("ctask_kube_api_requests_total{code=\"422\",verb=\"create\"} 1"), std::string::npos)
      << metrics.out;
  EXPECT_EQ(TaskStatus("refused").phase, "Failed");
}

TEST_F(KubeOperatorTest, ATaskPastItsTimeoutFailsWithDeadlineExceeded) {
  ApplyTask("slow", "  timeoutSeconds: 3\n");
  const std::string pod = PodOf("slow-1");
  Run(pod, "working\n");
  api::ContainerTaskStatus s = WaitPhase("slow", "Failed");
  EXPECT_EQ(s.reason, "DeadlineExceeded");
  EXPECT_TRUE(kubelet_->WaitForPodGone(ns(), pod, kE2eGuard).has_value()) << "the attempt is stopped";
}

TEST_F(KubeOperatorTest, AFailedAttemptIsRetriedAsANewJob) {
  ApplyTask("flaky", "  retries: 1\n  retryPolicy:\n    backoffSeconds: 1\n");
  std::string pod = PodOf("flaky-1");
  Run(pod);
  Exit(pod, 1);
  pod = PodOf("flaky-2");
  api::ContainerTaskStatus s = TaskStatus("flaky");
  EXPECT_EQ(s.attempts, 2);
  Run(pod);
  Exit(pod, 0);
  s = WaitPhase("flaky", "Succeeded");
  EXPECT_EQ(s.attempts, 2);
  ASSERT_EQ(s.history.size(), 2u);
  EXPECT_EQ(s.history[0].exit_code, 1);
  EXPECT_EQ(s.history[1].exit_code, 0);
  std::vector<std::string> jobs = JobNames();
  std::sort(jobs.begin(), jobs.end());
  EXPECT_EQ(jobs, (std::vector<std::string>{"flaky-1", "flaky-2"}));
}

TEST_F(KubeOperatorTest, SuspendStopsTheAttemptAndResumeStartsANewOne) {
  ApplyTask("pausable");
  const std::string pod = PodOf("pausable-1");
  Run(pod);
  WaitPhase("pausable", "Running");
  PatchSpec("pausable", R"({"suspend": true})");
  api::ContainerTaskStatus s = WaitPhase("pausable", "Suspended");
  EXPECT_TRUE(kubelet_->WaitForPodGone(ns(), pod, kE2eGuard).has_value());
  Result<api::Json> job = client().Get(kube::resources::Jobs(), ns(), "pausable-1");
  ASSERT_TRUE(job.has_value()) << "a stopped attempt's Job stays";
  EXPECT_EQ((*job)["spec"]["suspend"], true);

  PatchSpec("pausable", R"({"suspend": false})");
  const std::string next = PodOf("pausable-2");
  Run(next);
  Exit(next, 0);
  s = WaitPhase("pausable", "Succeeded");
  EXPECT_EQ(s.attempts, 2);
}

TEST_F(KubeOperatorTest, CancellingStopsTheTask) {
  ApplyTask("doomed");
  const std::string pod = PodOf("doomed-1");
  Run(pod);
  WaitPhase("doomed", "Running");
  PatchSpec("doomed", R"({"cancel": true})");
  api::ContainerTaskStatus s = WaitPhase("doomed", "Cancelled");
  EXPECT_EQ(s.reason, "Cancelled");
  EXPECT_TRUE(kubelet_->WaitForPodGone(ns(), pod, kE2eGuard).has_value());
}

TEST_F(KubeOperatorTest, AChangedSpecReachesTheNextAttemptNotTheRunningOne) {
  ApplyTask("evolving", "  retries: 1\n  retryPolicy:\n    backoffSeconds: 1\n");
  const std::string pod = PodOf("evolving-1");
  Run(pod);
  WaitPhase("evolving", "Running");
  PatchSpec("evolving", R"({"args": ["v2"]})");
  EXPECT_TRUE(WaitFor([&] { return TaskStatus("evolving").observed_generation == 2; }));
  EXPECT_EQ(TaskStatus("evolving").phase, "Running") << "the running attempt keeps going";
  Exit(pod, 1);
  const std::string next = PodOf("evolving-2");
  Result<api::Json> job = client().Get(kube::resources::Jobs(), ns(), "evolving-2");
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ((*job)["spec"]["template"]["spec"]["containers"][0]["args"], api::Json::array({"v2"}));
  Result<api::Json> first = client().Get(kube::resources::Jobs(), ns(), "evolving-1");
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE((*first)["spec"]["template"]["spec"]["containers"][0].contains("args"));
  Run(next);
  Exit(next, 0);
  WaitPhase("evolving", "Succeeded");
}

TEST_F(KubeOperatorTest, DeletingARunningTaskArchivesItsLogBeforeItsJobGoes) {
  ApplyTask("doc");
  const std::string pod = PodOf("doc-1");
  Run(pod, "precious output\n");
  WaitPhase("doc", "Running");
  // Watch ConfigMaps and Jobs together from here: the order of what
  // happens is the point.
  std::vector<std::string> seen;
  std::mutex seen_mu;
  std::stop_source stop;
  auto watch = [&](const kube::Resource& resource) {
    return std::jthread([&, resource] {
      kube::WatchOptions options;
      Result<kube::ObjectList> listed = client().List(resource, ns());
      if (listed) options.resource_version = listed->resource_version;
      (void)client().Watch(
          resource, ns(), options,
          [&](kube::WatchEvent& e) {
            std::lock_guard lock(seen_mu);
            const std::string name = e.object["metadata"].value("name", "");
            seen.push_back(e.type + " " + resource.kind + " " + name +
                           (resource.kind == "ConfigMap" && e.object.contains("data") ? " with-log" : ""));
            return true;
          },
          stop.get_token());
    });
  };
  std::jthread cms = watch(kube::resources::ConfigMaps());
  std::jthread jobs = watch(kube::resources::Jobs());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  BinaryResult deleted = Kubectl({"delete", "-n", ns(), "containertask", "doc", "--wait=false"});
  ASSERT_EQ(deleted.exit_code, 0) << Said(deleted);
  EXPECT_TRUE(WaitFor([&] { return !TaskJson("doc") && !JobExists("doc-1"); })) << "task and Job are gone";
  stop.request_stop();
  cms.join();
  jobs.join();
  std::lock_guard lock(seen_mu);
  auto at = [&](const std::string& prefix) {
    return std::find_if(seen.begin(), seen.end(), [&](const std::string& s) { return s.starts_with(prefix); });
  };
  const auto archived = at("ADDED ConfigMap doc-log with-log");
  const auto job_gone = at("DELETED Job doc-1");
  ASSERT_NE(archived, seen.end()) << ::testing::PrintToString(seen);
  ASSERT_NE(job_gone, seen.end()) << ::testing::PrintToString(seen);
  EXPECT_LT(archived - seen.begin(), job_gone - seen.begin()) << ::testing::PrintToString(seen);
  EXPECT_TRUE(Has(Events("doc"), "Normal LogArchived")) << ::testing::PrintToString(Events("doc"));
}

TEST_F(KubeOperatorTest, TheWorkloadTtlRemovesTheJobAndTheTaskTtlRemovesTheTask) {
  ApplyTask("brief", "  workloadTTLSecondsAfterFinished: 1\n  ttlSecondsAfterFinished: 6\n");
  const std::string pod = PodOf("brief-1");
  Run(pod, "bye\n");
  Exit(pod, 0);
  WaitPhase("brief", "Succeeded");
  EXPECT_TRUE(WaitFor([&] { return !JobExists("brief-1"); })) << "the workload TTL deletes the Job";
  EXPECT_TRUE(kubelet_->WaitForPodGone(ns(), pod, kE2eGuard).has_value()) << "and its pod";
  api::ContainerTaskStatus s = TaskStatus("brief");
  EXPECT_EQ(s.phase, "Succeeded") << "the task stays";
  ASSERT_TRUE(s.artifacts.log);
  EXPECT_TRUE(client().Get(kube::resources::ConfigMaps(), ns(), "brief-log").has_value()) << "its log too";
  EXPECT_TRUE(WaitFor([&] { return !TaskJson("brief"); })) << "ttlSecondsAfterFinished deletes the task";
  EXPECT_TRUE(WaitFor([&] { return !client().Get(kube::resources::ConfigMaps(), ns(), "brief-log").has_value(); }))
      << "and what it owns";
}

}  // namespace
}  // namespace ctask::testing
