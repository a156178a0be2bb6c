// The operator on real pods, one behaviour per test: tasks applied with
// kubectl run as Jobs whose pods the real kubelet runs in containerd, and
// what the operator reports is checked against what the node did (kubectl
// logs, ctr, the kernel's OOM killer).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "node/node_fixture.h"

namespace ctask::testing {
namespace {

using std::chrono::seconds;

// BinaryResult's stdout of `ctask logs`, failing the test when it failed.
std::string LogOf(const BinaryResult& logs) {
  EXPECT_EQ(logs.exit_code, 0) << Said(logs);
  return logs.out;
}

int Count(const std::string& text, char c) {
  return static_cast<int>(std::count(text.begin(), text.end(), c));
}

TEST_F(RealNodeTest, ASuccessfulTaskArchivesExactlyWhatKubectlLogsShows) {
  // Lines, an empty line, UTF-8, a tab, and a last line without a newline.
  ApplyTask(
      "hello",
      "  command: [sh, -c, 'printf \"one\\n\\ntwo\\tcolumns\\n\\303\\251t\\303\\251\\nno newline at the end\"']\n");
  api::ContainerTaskStatus s = WaitFinished("hello");
  ASSERT_EQ(s.phase, "Succeeded") << s.reason << ": " << s.message;
  EXPECT_EQ(s.reason, "Completed");
  EXPECT_EQ(s.exit_code, 0);
  ASSERT_FALSE(s.pod_name.empty());
  BinaryResult kubectl_logs = KubectlLogs(s.pod_name);
  ASSERT_EQ(kubectl_logs.exit_code, 0) << Said(kubectl_logs);
  EXPECT_EQ(kubectl_logs.out, "one\n\ntwo\tcolumns\n\xc3\xa9t\xc3\xa9\nno newline at the end");
  EXPECT_EQ(LogOf(CtaskLogs("hello")), kubectl_logs.out);
  ASSERT_TRUE(s.artifacts.log.has_value());
  EXPECT_EQ(s.artifacts.log->size_bytes, static_cast<int64_t>(kubectl_logs.out.size()));
  EXPECT_FALSE(s.artifacts.log->truncated);
}

TEST_F(RealNodeTest, ANonZeroExitFailsTheTaskWithThatCode) {
  ApplyTask("exit3", "  command: [sh, -c, 'echo about to fail; exit 3']\n");
  api::ContainerTaskStatus s = WaitFinished("exit3");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "Error");
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_NE(s.message.find("exited with code 3"), std::string::npos) << s.message;
  EXPECT_EQ(LogOf(CtaskLogs("exit3")), "about to fail\n");
}

TEST_F(RealNodeTest, MemoryBeyondTheLimitIsARealOomKill) {
  // busybox tail keeps the whole (endless, newline-free) last line in memory.
  ApplyTask("oom", "  command: [sh, -c, 'exec tail /dev/zero']\n  resources: {limits: {memory: 32Mi}}\n");
  api::ContainerTaskStatus s = WaitFinished("oom");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "OOMKilled");
  EXPECT_EQ(s.exit_code, 137);
  EXPECT_NE(s.message.find("limits.memory"), std::string::npos) << s.message;
}

TEST_F(RealNodeTest, AChildKilledForMemoryFailsTheTaskEvenWhenTheMainProcessExitsZero) {
  // The shell survives its child's OOM kill and exits 0; the kernel's OOM
  // event in the container's cgroup still says what happened (the same rule
  // as in Docker: docs/docker-backend.md).
  ApplyTask("child-oom",
            "  command: [sh, -c, 'tail /dev/zero; echo child ended with $?; exit 0']\n"
            "  resources: {limits: {memory: 32Mi}}\n");
  api::ContainerTaskStatus s = WaitFinished("child-oom");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "OOMKilled");
  EXPECT_EQ(s.exit_code, 0);
  // "Killed" (the shell, on stderr) and the echo may come in either order.
  EXPECT_NE(LogOf(CtaskLogs("child-oom")).find("child ended with 137\n"), std::string::npos);
}

TEST_F(RealNodeTest, AnImageThatCannotBePulledFailsWithinThePendingTimeout) {
  // Not imported into the node, and no registry is reachable.
  ApplyTask("nopull",
            "  image: ctask-test/not-imported:1\n  command: [sh, -c, 'echo never']\n  pendingTimeoutSeconds: 30\n");
  api::ContainerTaskStatus s = WaitFinished("nopull");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "ImagePullFailed");
  EXPECT_NE(s.message.find("ctask-test/not-imported:1"), std::string::npos) << s.message;
  ASSERT_TRUE(s.start_time && s.completion_time);
  EXPECT_LE(*s.completion_time - *s.start_time, seconds(30 + 10)) << "the pending timeout is 30s";
}

TEST_F(RealNodeTest, AMissingSecretKeyIsAConfigErrorNamingIt) {
  ASSERT_EQ(Kubectl({"create", "secret", "generic", "creds", "-n", ns(), "--from-literal=user=ann"}).exit_code, 0);
  ApplyTask("nokey",
            "  env:\n  - name: TOKEN\n    valueFrom: {secretKeyRef: {name: creds, key: token}}\n"
            "  pendingTimeoutSeconds: 15\n");
  api::ContainerTaskStatus s = WaitFinished("nokey");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "ConfigError");
  EXPECT_NE(s.message.find("token"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("creds"), std::string::npos) << s.message;
}

TEST_F(RealNodeTest, TheTimeoutStopsTheContainerOnTheNode) {
  ApplyTask("slow", "  command: [sh, -c, 'echo started; exec sleep 600']\n  timeoutSeconds: 8\n");
  api::ContainerTaskStatus s = WaitPhase("slow", "Running");
  std::string id;
  ASSERT_TRUE(WaitFor([&] { return !(id = ContainerId(s.pod_name)).empty(); }));
  EXPECT_TRUE(ContainerRuns(id)) << "ctr tasks ls does not show " << id << " running";
  s = WaitFinished("slow");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "DeadlineExceeded");
  EXPECT_TRUE(WaitFor([&] { return !ContainerRuns(id); })) << "container " << id << " still runs on the node";
}

TEST_F(RealNodeTest, AFailedAttemptIsRetriedInANewPod) {
  ApplyTask("flaky",
            "  command: [sh, -c, 'echo attempt in $HOSTNAME; exit 1']\n  retries: 1\n"
            "  retryPolicy: {backoffSeconds: 0}\n");
  api::ContainerTaskStatus s = WaitFinished("flaky");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "BackoffLimitExceeded");
  EXPECT_EQ(s.attempts, 2);
  ASSERT_EQ(s.history.size(), 2u);
  EXPECT_NE(s.history[0].pod_name, s.history[1].pod_name);
  EXPECT_EQ(s.history[0].exit_code, 1);
  EXPECT_EQ(s.history[1].exit_code, 1);
  // The archive holds the latest attempt's output, from its own pod.
  EXPECT_EQ(LogOf(CtaskLogs("flaky")), "attempt in " + s.history[1].pod_name + "\n");
}

TEST_F(RealNodeTest, SuspendTerminatesThePodAndResumeStartsANewAttempt) {
  ApplyTask("pausable", "  command: [sh, -c, 'echo up; exec sleep 600']\n");
  api::ContainerTaskStatus s = WaitPhase("pausable", "Running");
  const std::string first_pod = s.pod_name;
  std::string id;
  ASSERT_TRUE(WaitFor([&] { return !(id = ContainerId(first_pod)).empty(); }));

  PatchSpec("pausable", R"({"suspend":true})");
  s = WaitPhase("pausable", "Suspended");
  EXPECT_TRUE(WaitFor([&] { return !ContainerRuns(id); })) << "the suspended attempt's container still runs";

  PatchSpec("pausable", R"({"suspend":false})");
  EXPECT_TRUE(WaitFor([&] {
    s = TaskStatus("pausable");
    return s.phase == "Running" && s.attempts == 2 && !s.pod_name.empty() && s.pod_name != first_pod;
  })) << s.phase
      << " attempt " << s.attempts << " pod " << s.pod_name;
  std::string second;
  ASSERT_TRUE(WaitFor([&] { return !(second = ContainerId(s.pod_name)).empty(); }));
  EXPECT_TRUE(WaitFor([&] { return ContainerRuns(second); }));

  PatchSpec("pausable", R"({"cancel":true})");
  EXPECT_EQ(WaitFinished("pausable").phase, "Cancelled");
  EXPECT_TRUE(WaitFor([&] { return !ContainerRuns(second); }));
}

TEST_F(RealNodeTest, CancelStopsTheContainerAndEndsTheTaskCancelled) {
  ApplyTask("doomed", "  command: [sh, -c, 'echo working; exec sleep 600']\n");
  api::ContainerTaskStatus s = WaitPhase("doomed", "Running");
  std::string id;
  ASSERT_TRUE(WaitFor([&] { return !(id = ContainerId(s.pod_name)).empty(); }));
  // Cancelled once its output was seen: the archive must keep it.
  ASSERT_TRUE(WaitFor([&] { return TaskStatus("doomed").log_tail == "working\n"; }));
  PatchSpec("doomed", R"({"cancel":true})");
  s = WaitFinished("doomed");
  EXPECT_EQ(s.phase, "Cancelled");
  EXPECT_EQ(s.reason, "Cancelled");
  // Cancelled is decided at once; the container stops within its pod's
  // grace period (the shell ignores SIGTERM as PID 1: 30s), and then its
  // log is archived.
  EXPECT_TRUE(WaitFor([&] { return !ContainerRuns(id); })) << "container " << id << " still runs on the node";
  EXPECT_TRUE(WaitFor([&] { return TaskStatus("doomed").artifacts.log.has_value(); })) << "no log archived";
  EXPECT_EQ(LogOf(CtaskLogs("doomed")), "working\n");
}

TEST_F(RealNodeTest, TheWorkloadTtlRemovesThePodFromTheNodeAndKeepsTaskAndLog) {
  ApplyTask("brief", "  command: [sh, -c, 'echo kept after the pod']\n  workloadTTLSecondsAfterFinished: 2\n");
  api::ContainerTaskStatus s = WaitFinished("brief");
  ASSERT_EQ(s.phase, "Succeeded");
  const std::string pod = s.pod_name;
  EXPECT_TRUE(WaitFor([&] { return PodNames().empty() && JobNames().empty(); })) << "pods or Jobs left";
  // Its container is gone from containerd too (the kubelet removes the
  // containers of deleted pods).
  EXPECT_TRUE(WaitFor([&] {
    BinaryResult containers = Ctr({"containers", "ls", "labels.\"io.kubernetes.pod.name\"==" + pod});
    return containers.exit_code == 0 && containers.out.find(pod) == std::string::npos &&
           Count(containers.out, '\n') <= 1;
  }));
  EXPECT_EQ(TaskStatus("brief").phase, "Succeeded");
  EXPECT_EQ(LogOf(CtaskLogs("brief")), "kept after the pod\n");
}

TEST_F(RealNodeTest, TheTaskTtlDeletesTheTaskItsJobAndItsLog) {
  ApplyTask("ephemeral", "  command: [sh, -c, 'echo soon gone']\n  ttlSecondsAfterFinished: 2\n");
  EXPECT_TRUE(WaitFor([&] { return !TaskJson("ephemeral").has_value(); })) << "the task is still there";
  EXPECT_TRUE(WaitFor([&] { return JobNames().empty() && PodNames().empty(); }));
  BinaryResult cm = Kubectl({"get", "configmap", "-n", ns(), "ephemeral-log", "--ignore-not-found", "-o", "name"});
  EXPECT_EQ(cm.out, "") << "the log ConfigMap is left";
}

TEST_F(RealNodeTest, TheTerminationMessageIsTheResult) {
  ApplyTask("answer", "  command: [sh, -c, 'echo computing; printf \"42 widgets\" > /dev/termination-log']\n");
  api::ContainerTaskStatus s = WaitFinished("answer");
  EXPECT_EQ(s.phase, "Succeeded");
  EXPECT_EQ(s.result, "42 widgets");
}

TEST_F(RealNodeTest, TheLogTailMovesWhileTheTaskRuns) {
  ApplyTask("ticker",
            "  command: [sh, -c, 'i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo tick $i; sleep 0.5; done']\n"
            "  logs: {tailLines: 1}\n");
  std::string first;
  ASSERT_TRUE(WaitFor([&] {
    api::ContainerTaskStatus s = TaskStatus("ticker");
    first = s.log_tail;
    return s.phase == "Running" && first.rfind("tick ", 0) == 0;
  })) << "no tail while running";
  std::string later;
  EXPECT_TRUE(WaitFor([&] {
    api::ContainerTaskStatus s = TaskStatus("ticker");
    later = s.log_tail;
    return s.phase == "Running" && later.rfind("tick ", 0) == 0 && later != first;
  })) << "the tail stayed at "
      << first;
  EXPECT_LT(std::stoi(first.substr(5)), std::stoi(later.substr(5)));
  api::ContainerTaskStatus s = WaitFinished("ticker");
  EXPECT_EQ(s.log_tail, "tick 40\n");
}

TEST_F(RealNodeTest, AHundredThousandLineLogIsArchivedWhole) {
  ApplyTask("many", "  command: [seq, '1', '100000']\n  logs: {archiveLimitBytes: 1000000, tailLines: 3}\n");
  api::ContainerTaskStatus s = WaitFinished("many");
  ASSERT_EQ(s.phase, "Succeeded") << s.message;
  const std::string archived = LogOf(CtaskLogs("many"));
  EXPECT_EQ(Count(archived, '\n'), 100000);
  EXPECT_EQ(archived.size(), 588895u);  // the bytes of `seq 1 100000`
  BinaryResult kubectl_logs = KubectlLogs(s.pod_name);
  EXPECT_TRUE(archived == kubectl_logs.out) << "the archive differs from kubectl logs";
  EXPECT_EQ(s.log_tail, "99998\n99999\n100000\n");
  ASSERT_TRUE(s.artifacts.log.has_value());
  EXPECT_FALSE(s.artifacts.log->truncated);
}

TEST_F(RealNodeTest, AnEmptyDirWorkspaceIsWritableUpToItsSizeLimit) {
  ApplyTask("scratch",
            "  command: [sh, -c, 'head -c 1048576 /dev/zero > /work/blob && ls -l /work/blob | awk \"{print \\$5}\" "
            "&& df -k /work | tail -n 1 | awk \"{print \\$1}\"']\n"
            "  workspace: {mountPath: /work, emptyDir: {sizeLimit: 8Mi}}\n"
            "  securityContext: {readOnlyRootFilesystem: true}\n");
  api::ContainerTaskStatus s = WaitFinished("scratch");
  EXPECT_EQ(s.phase, "Succeeded") << s.message;
  EXPECT_EQ(LogOf(CtaskLogs("scratch")).substr(0, 8), "1048576\n");

  // Beyond the limit, the kubelet evicts the pod: the attempt fails, and the
  // task says it was evicted and why (the container alone reads as exit 137).
  ApplyTask("overflow",
            "  command: [sh, -c, 'head -c 16777216 /dev/zero > /work/blob; echo written; exec sleep 600']\n"
            "  workspace: {mountPath: /work, emptyDir: {sizeLimit: 4Mi}}\n");
  s = WaitFinished("overflow");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "Evicted");
  EXPECT_NE(s.message.find("evicted by its node"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("4Mi"), std::string::npos) << s.message;
}

TEST_F(RealNodeTest, TheSecurityDefaultsAreInForceInsideTheContainer) {
  ApplyTask("locked",
            "  command: [sh, -c, 'id -u; grep -E \"^(CapEff|NoNewPrivs|Seccomp):\" /proc/self/status; "
            "touch /rootfs-write 2>/dev/null && echo root-writable || echo root-read-only']\n"
            "  securityContext: {runAsUser: 1000, runAsNonRoot: true, readOnlyRootFilesystem: true}\n");
  api::ContainerTaskStatus s = WaitFinished("locked");
  EXPECT_EQ(s.phase, "Succeeded") << s.message;
  EXPECT_EQ(LogOf(CtaskLogs("locked")),
            "1000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nroot-read-only\n");

  // runAsNonRoot with an image whose user is root and no runAsUser: the
  // kubelet refuses to start it, and the task says why.
  ApplyTask("rootless", "  securityContext: {runAsNonRoot: true}\n  pendingTimeoutSeconds: 15\n");
  s = WaitFinished("rootless");
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "ConfigError");
  EXPECT_NE(s.message.find("runAsNonRoot and image will run as root"), std::string::npos) << s.message;
}

TEST_F(RealNodeTest, ASecretReachesTheContainerAndNothingElse) {
  const std::string secret = "s3cr3t-Zq8v-only-for-the-container";
  ASSERT_EQ(Kubectl({"create", "secret", "generic", "api", "-n", ns(), "--from-literal=token=" + secret}).exit_code, 0);
  // The container proves it has the value by its SHA-256, so the value is
  // nowhere but in the Secret and the container's environment.
  BinaryResult digest = RunCommand({"sh", "-c", "printf %s '" + secret + "' | sha256sum"});
  ASSERT_EQ(digest.exit_code, 0) << Said(digest);
  ApplyTask("private",
            "  command: [sh, -c, 'printf %s \"$TOKEN\" | sha256sum']\n"
            "  env:\n  - name: TOKEN\n    valueFrom: {secretKeyRef: {name: api, key: token}}\n");
  api::ContainerTaskStatus s = WaitFinished("private");
  EXPECT_EQ(s.phase, "Succeeded") << s.message;
  EXPECT_EQ(LogOf(CtaskLogs("private")), digest.out);

  BinaryResult task = Kubectl({"get", "containertask", "-n", ns(), "private", "-o", "json"});
  EXPECT_EQ(task.out.find(secret), std::string::npos) << "the task's status or spec holds the secret";
  BinaryResult events = Kubectl({"get", "events", "-n", ns(), "-o", "json"});
  EXPECT_EQ(events.exit_code, 0);
  EXPECT_EQ(events.out.find(secret), std::string::npos) << "an Event holds the secret";
  BinaryResult job = Kubectl({"get", "jobs", "-n", ns(), "-o", "json"});
  EXPECT_EQ(job.out.find(secret), std::string::npos) << "the Job holds the secret's value";
  EXPECT_EQ(Operator().err().find(secret), std::string::npos) << "the operator's log holds the secret";
}

}  // namespace
}  // namespace ctask::testing
