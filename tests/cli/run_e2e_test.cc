// `ctask run`, `get`, `logs` and `delete` end to end, as a user meets them:
// the real binary, the real dockerd (hack/docker-up.sh), the local test
// image. Waits are bounded by hang guards only; no assertion is about how
// long something took.
#include "docker_e2e.h"

namespace ctask::cli {
namespace {

using namespace e2e;  // the fixture, fs, json and the binary helpers

class RunE2eTest : public DockerE2eTest {};

TEST_F(RunE2eTest, ASuccessfulTaskShowsItsOutputAndKeepsItInTheTailAndTheArtifact) {
  const fs::path file =
      Manifest("ok.yaml", Task("ok", std::string(kImage) + "  command: [sh, -c, 'echo line one; echo line two']\n"));
  BinaryResult r = Ctask({"run", "-f", file.string()});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  EXPECT_EQ(r.out, "line one\nline two\n");
  EXPECT_NE(r.err.find("ok: Succeeded (Completed), exit code 0, 1 attempt"), std::string::npos) << r.err;

  json task = Record("ok");
  EXPECT_EQ(task["status"]["phase"], "Succeeded");
  EXPECT_EQ(task["status"]["reason"], "Completed");
  EXPECT_EQ(task["status"]["exitCode"], 0);
  EXPECT_EQ(task["status"]["logTail"], "line one\nline two\n");
  EXPECT_EQ(task["status"]["conditions"][0]["type"], "Succeeded");
  EXPECT_EQ(task["status"]["conditions"][0]["status"], "True");
  EXPECT_EQ(Artifact("ok"), "line one\nline two\n");
  EXPECT_EQ(task["status"]["artifacts"]["log"]["sizeBytes"], 18);
  EXPECT_EQ(task["status"]["artifacts"]["log"]["truncated"], false);
  EXPECT_EQ(Containers("ok").size(), 1u);
}

TEST_F(RunE2eTest, ANonZeroExitIsTheExitCodeOfRun) {
  const fs::path file =
      Manifest("fail.yaml", Task("fail", std::string(kImage) + "  command: [sh, -c, 'echo to stderr >&2; exit 7']\n"));
  BinaryResult r = Ctask({"run", "-f", file.string()});
  EXPECT_EQ(r.exit_code, 7) << Shown(r);
  EXPECT_NE(r.err.find("to stderr\n"), std::string::npos) << r.err;
  json task = Record("fail");
  EXPECT_EQ(task["status"]["phase"], "Failed");
  EXPECT_EQ(task["status"]["reason"], "Error");
  EXPECT_EQ(task["status"]["exitCode"], 7);
  EXPECT_EQ(task["status"]["conditions"][0]["status"], "False");
}

TEST_F(RunE2eTest, AnOutOfMemoryKillFailsTheTaskAsOOMKilled) {
  // The shell holds a 64 MB string in a 16 MiB container.
  const fs::path file = Manifest(
      "oom.yaml", Task("oom", std::string(kImage) +
                                  "  command: [sh, -c, 'x=$(head -c 64000000 /dev/zero | tr \"\\\\0\" a); echo $x']\n"
                                  "  resources: {limits: {memory: 16Mi}}\n"));
  BinaryResult r = Ctask({"run", "-f", file.string()});
  EXPECT_EQ(r.exit_code, 137) << Shown(r);
  json task = Record("oom");
  EXPECT_EQ(task["status"]["phase"], "Failed");
  EXPECT_EQ(task["status"]["reason"], "OOMKilled") << task.dump(2);
  EXPECT_NE(task["status"]["message"].get<std::string>().find("raise spec.resources.limits.memory"), std::string::npos);
}

TEST_F(RunE2eTest, ATimeoutStopsTheContainerAsDeadlineExceeded) {
  const fs::path file =
      Manifest("slow.yaml", Task("slow", std::string(kImage) + "  command: [sh, -c, 'echo started; sleep 300']\n"
                                                               "  timeoutSeconds: 2\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "--stop-grace", "1"});
  EXPECT_EQ(r.exit_code, 124) << Shown(r);
  json task = Record("slow");
  EXPECT_EQ(task["status"]["phase"], "Failed");
  EXPECT_EQ(task["status"]["reason"], "DeadlineExceeded");
  EXPECT_EQ(task["status"]["logTail"], "started\n");
  std::vector<json> containers = Containers("slow");
  ASSERT_EQ(containers.size(), 1u);
  Result<json> inspect = docker_->InspectContainer(containers[0].value("Id", ""));
  ASSERT_TRUE(inspect.has_value());
  EXPECT_EQ((*inspect)["State"]["Running"], false) << "the container must be stopped";
}

TEST_F(RunE2eTest, ARetryThatFailsThenSucceedsRecordsBothAttempts) {
  // The workspace outlives an attempt: the first leaves a mark and fails,
  // the second finds it and succeeds.
  const fs::path work = dir_ / "work";
  fs::create_directories(work);
  fs::permissions(work, fs::perms::all);
  const fs::path file = Manifest(
      "retry.yaml",
      Task("retry", std::string(kImage) +
                        "  command: [sh, -c, 'if [ -e /workspace/mark ]; then echo second; else touch /workspace/mark; "
                        "echo first; exit 3; fi']\n"
                        "  retries: 2\n"
                        "  retryPolicy: {backoffSeconds: 1}\n"
                        "  workspace:\n    hostPath: {path: " +
                        work.string() + "}\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "--allow-host-path", dir_.string()});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  EXPECT_EQ(r.out, "first\nsecond\n");
  json task = Record("retry");
  EXPECT_EQ(task["status"]["phase"], "Succeeded");
  EXPECT_EQ(task["status"]["attempts"], 2);
  ASSERT_EQ(task["status"]["history"].size(), 2u) << task.dump(2);
  EXPECT_EQ(task["status"]["history"][0]["attempt"], 1);
  EXPECT_EQ(task["status"]["history"][0]["exitCode"], 3);
  EXPECT_EQ(task["status"]["history"][0]["reason"], "Error");
  EXPECT_EQ(task["status"]["history"][1]["attempt"], 2);
  EXPECT_EQ(task["status"]["history"][1]["exitCode"], 0);
  EXPECT_EQ(task["status"]["history"][1]["reason"], "Completed");
  EXPECT_EQ(Artifact("retry"), "second\n") << "the artifact is the last attempt's log";
  EXPECT_EQ(Containers("retry").size(), 2u);
}

TEST_F(RunE2eTest, AMissingImageFailsFastAsImagePullFailedNamingTheImage) {
  // Never: nothing is pulled. IfNotPresent: the pull fails (no registry).
  for (const std::string policy : {"Never", "IfNotPresent"}) {
    SCOPED_TRACE(policy);
    const std::string name = "noimage-" + std::string(policy == "Never" ? "never" : "ifnotpresent");
    const fs::path file = Manifest(name + ".yaml", Task(name,
                                                        "  image: ctask-test/no-such-image:1\n"
                                                        "  imagePullPolicy: " +
                                                            policy + "\n"));
    BinaryResult r = Ctask({"run", "-f", file.string()});
    EXPECT_EQ(r.exit_code, 126) << Shown(r);
    json task = Record(name);
    EXPECT_EQ(task["status"]["phase"], "Failed");
    EXPECT_EQ(task["status"]["reason"], "ImagePullFailed");
    EXPECT_NE(task["status"]["message"].get<std::string>().find("ctask-test/no-such-image:1"), std::string::npos);
    EXPECT_TRUE(Containers(name).empty());
  }
}

TEST_F(RunE2eTest, ASecretReachesTheContainerAndNothingCtaskPrintsOrStores) {
  const std::string secret = "s3cr3t-" + ns_ + "-value";
  const fs::path file = Manifest(
      "secret.yaml",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: " + ns_ +
          "\nstringData:\n  password: " + secret + "\n---\n" +
          Task("uses-secret", std::string(kImage) +
                                  "  command: [sh, -c, 'printf %s \"$PASSWORD\" | sha256sum']\n"
                                  "  env:\n  - name: PASSWORD\n    valueFrom:\n      secretKeyRef: {name: creds, key: "
                                  "password}\n"));
  BinaryResult r = Ctask({"run", "-f", file.string()});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  // The container saw the value: its digest, computed inside, is the value's.
  EXPECT_NE(r.out.find(Sha256Hex(secret)), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_EQ(r.err.find(secret), std::string::npos);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"get", "uses-secret", "-n", ns_, "-o", "yaml"},
                                               std::vector<std::string>{"get", "-A", "-o", "wide"},
                                               std::vector<std::string>{"logs", "uses-secret", "-n", ns_}}) {
    BinaryResult shown = Ctask(args);
    EXPECT_EQ(shown.exit_code, 0) << Shown(shown);
    EXPECT_EQ(shown.out.find(secret), std::string::npos) << args[0];
    EXPECT_EQ(shown.err.find(secret), std::string::npos) << args[0];
  }
  // Nothing in the state directory holds it.
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(state_)) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(ReadFile(entry.path()).find(secret), std::string::npos) << entry.path();
  }
  // A missing key is a clear failure naming it, not the value.
  const fs::path missing =
      Manifest("missing.yaml", Task("missing-key", std::string(kImage) + "  command: ['true']\n"
                                                                         "  env:\n  - name: X\n    valueFrom:\n      "
                                                                         "secretKeyRef: {name: creds, key: nope}\n"));
  BinaryResult m = Ctask({"run", "-f", missing.string(), "-f", file.string()});
  EXPECT_EQ(m.exit_code, 126) << Shown(m);
  json task = Record("missing-key");
  EXPECT_EQ(task["status"]["reason"], "ConfigError") << task.dump(2);
  EXPECT_NE(task["status"]["message"].get<std::string>().find("nope"), std::string::npos);
  EXPECT_EQ(m.err.find(secret), std::string::npos);
}

TEST_F(RunE2eTest, CtrlCCancelsTheTaskAndStopsItsContainer) {
  const fs::path file =
      Manifest("long.yaml", Task("long", std::string(kImage) + "  command: [sh, -c, 'echo running; sleep 300']\n"));
  Background run({"run", "-f", file.string(), "--stop-grace", "1", "--state-dir", state_}, dir_, "long");
  ASSERT_TRUE(run.WaitForOutput("running\n")) << run.err();
  run.Signal(SIGINT);
  EXPECT_EQ(run.Wait(), 130) << run.err();
  EXPECT_NE(run.err().find("cancelling"), std::string::npos) << run.err();
  json task = Record("long");
  EXPECT_EQ(task["status"]["phase"], "Cancelled");
  EXPECT_EQ(task["status"]["reason"], "Cancelled");
  std::vector<json> containers = Containers("long");
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0].value("State", ""), "exited");
}

TEST_F(RunE2eTest, AHundredThousandLineArtifactMatchesDockerLogsByteForByte) {
  const fs::path file =
      Manifest("lines.yaml", Task("lines", std::string(kImage) + "  command: [seq, '1', '100000']\n"
                                                                 "  logs: {archiveLimitBytes: 1000000}\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  std::vector<json> containers = Containers("lines");
  ASSERT_EQ(containers.size(), 1u);
  // `docker logs` from Debian's CLI, its stdout to a file.
  const fs::path docker_logs = dir_ / "docker-logs.out";
  const std::string command =
      "docker logs " + containers[0].value("Id", "") + " > " + docker_logs.string() + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const std::string expected = ReadFile(docker_logs);
  const std::string artifact = Artifact("lines");
  EXPECT_EQ(expected.size(), 588'895u);  // "1\n" .. "100000\n"
  EXPECT_TRUE(artifact == expected) << "artifact " << artifact.size() << " bytes, docker logs " << expected.size();
  json task = Record("lines");
  EXPECT_EQ(task["status"]["artifacts"]["log"]["sizeBytes"], expected.size());
  EXPECT_EQ(task["status"]["logTail"].get<std::string>().substr(0, 6), "99981\n");  // the last 20 lines
  EXPECT_NE(task["status"]["logTail"].get<std::string>().find("\n100000\n"), std::string::npos);
}

TEST_F(RunE2eTest, ALogBeyondItsLimitIsCutAndMarked) {
  const fs::path file = Manifest("big.yaml", Task("big", std::string(kImage) + "  command: [sh, -c, 'seq 1 10000']\n"
                                                                               "  logs: {archiveLimitBytes: 1024}\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  const std::string artifact = Artifact("big");
  EXPECT_EQ(artifact.substr(0, 8), "1\n2\n3\n4\n");
  EXPECT_NE(artifact.find("[ctask: log truncated: 47870 bytes dropped]"), std::string::npos) << artifact.substr(1000);
  json task = Record("big");
  EXPECT_EQ(task["status"]["artifacts"]["log"]["truncated"], true);
}

TEST_F(RunE2eTest, SeveralTasksRunTogetherWithPrefixedOutput) {
  const fs::path file =
      Manifest("two.yaml", Task("alpha", std::string(kImage) + "  command: [echo, from alpha]\n") + "\n---\n" +
                               Task("beta", std::string(kImage) + "  command: [echo, from beta]\n"));
  BinaryResult r = Ctask({"run", "-f", file.string()});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  EXPECT_NE(r.out.find("alpha | from alpha\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("beta | from beta\n"), std::string::npos) << r.out;
}

TEST_F(RunE2eTest, DetachReturnsAtOnceAndTheTaskFinishesOnItsOwn) {
  const fs::path file = Manifest(
      "bg.yaml", Task("detached", std::string(kImage) + "  command: [sh, -c, 'sleep 1; echo done in background']\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "--detach"});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  EXPECT_NE(r.err.find("detached started; follow it with: ctask logs -f detached"), std::string::npos) << r.err;
  // `ctask logs -f` ends when the task has ended with its log complete.
  BinaryResult logs = Ctask({"logs", "-f", "detached", "-n", ns_});
  EXPECT_EQ(logs.exit_code, 0) << Shown(logs);
  EXPECT_EQ(logs.out, "done in background\n");
  EXPECT_EQ(Record("detached")["status"]["phase"], "Succeeded");
}

TEST_F(RunE2eTest, DeleteRemovesTheTaskItsContainersAndItsLog) {
  const fs::path file = Manifest("del.yaml", Task("doomed", std::string(kImage) + "  command: [echo, bye]\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  ASSERT_EQ(Containers("doomed").size(), 1u);
  BinaryResult d = Ctask({"delete", "doomed", "-n", ns_});
  EXPECT_EQ(d.exit_code, 0) << Shown(d);
  EXPECT_EQ(d.out, "containertask \"doomed\" deleted\n");
  EXPECT_TRUE(Containers("doomed").empty());
  EXPECT_FALSE(fs::exists(fs::path(state_) / "tasks" / ns_ / "doomed"));
  BinaryResult gone = Ctask({"delete", "doomed", "-n", ns_});
  EXPECT_EQ(gone.exit_code, 1) << Shown(gone);
  EXPECT_NE(gone.err.find("not found"), std::string::npos);
}

TEST_F(RunE2eTest, AStateDirInUseIsRefusedNamingItsHolder) {
  const fs::path file =
      Manifest("busy.yaml", Task("busy", std::string(kImage) + "  command: [sh, -c, 'echo up; sleep 300']\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "--detach", "--stop-grace", "1"});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  // The detached process holds the state directory; its pid is in the lock file.
  const std::string holder = ReadFile(fs::path(state_) / "lock");
  const pid_t pid = static_cast<pid_t>(std::atol(holder.c_str()));
  ASSERT_GT(pid, 0) << holder;
  // A second run cannot drive the same directory's tasks. (A delete can:
  // it asks the owner, DeleteOfADetachedRunsTaskGoesThroughItsOwner.)
  const fs::path other = Manifest("other.yaml", Task("other", std::string(kImage) + "  command: [echo, hi]\n"));
  BinaryResult busy = Ctask({"run", "-f", other.string()});
  EXPECT_EQ(busy.exit_code, 125) << Shown(busy);
  EXPECT_NE(busy.err.find(std::to_string(pid)), std::string::npos) << busy.err;
  // Interrupting the detached run cancels its task, as Ctrl-C would.
  ASSERT_EQ(kill(pid, SIGINT), 0);
  for (int i = 0; i < 600 && Alive(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(Alive(pid)) << "the detached run did not end";
  EXPECT_EQ(Record("busy")["status"]["phase"], "Cancelled");
}

// Issue 9: after `run --detach`, delete answered "state directory ... is in
// use" and could neither stop nor remove the task. Now it writes the intent
// and the detached process (the owner) acts on it; delete returns once the
// record and the container are gone, and the run ends.
TEST_F(RunE2eTest, DeleteOfADetachedRunsTaskGoesThroughItsOwner) {
  const fs::path file =
      Manifest("owned.yaml", Task("owned", std::string(kImage) + "  command: [sh, -c, 'echo up; sleep 300']\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "--detach", "--stop-grace", "1"});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  const pid_t pid = static_cast<pid_t>(std::atol(ReadFile(fs::path(state_) / "lock").c_str()));
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 600 && PhaseOf("owned") != "Running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(Record("owned")["status"]["phase"], "Running");

  BinaryResult d = Ctask({"delete", "owned", "-n", ns_});
  EXPECT_EQ(d.exit_code, 0) << Shown(d);
  EXPECT_EQ(d.out, "containertask \"owned\" deleted\n");
  EXPECT_FALSE(fs::exists(fs::path(state_) / "tasks" / ns_ / "owned")) << "the record stayed";
  EXPECT_TRUE(Containers("owned").empty()) << "the container stayed";
  for (int i = 0; i < 600 && Alive(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(Alive(pid)) << "the detached run did not end when its only task was deleted";
}

// Issue 9: delete of a running task whose `ctask run` had died printed
// "deleted", exited 0 and left the record Running and the container behind.
// Now, with no owner, delete takes the directory and removes both.
TEST_F(RunE2eTest, DeleteAfterTheRunDiedRemovesTheRecordAndTheContainer) {
  const fs::path file =
      Manifest("orphan.yaml", Task("orphan", std::string(kImage) + "  command: [sh, -c, 'echo up; sleep 300']\n"));
  Background run({"run", "-f", file.string(), "--state-dir", state_}, dir_, "orphan");
  ASSERT_TRUE(run.WaitForOutput("up\n")) << run.err();
  run.Signal(SIGKILL);
  run.Wait();
  ASSERT_EQ(Containers("orphan").size(), 1u) << "the container outlives the run";

  BinaryResult d = Ctask({"delete", "orphan", "-n", ns_, "--stop-grace", "1"});
  EXPECT_EQ(d.exit_code, 0) << Shown(d);
  EXPECT_EQ(d.out, "containertask \"orphan\" deleted\n");
  EXPECT_FALSE(fs::exists(fs::path(state_) / "tasks" / ns_ / "orphan")) << "the record stayed";
  EXPECT_TRUE(Containers("orphan").empty()) << "the container stayed";
}

// A delete that cannot wait long enough says the task is still stopping and
// how to follow it, never "deleted"; the owner finishes the deletion.
TEST_F(RunE2eTest, ADeleteThatTimesOutSaysTheTaskIsStillStopping) {
  // PID 1 ignores SIGTERM: the stop waits out the grace period.
  const fs::path file =
      Manifest("slow.yaml", Task("slow", std::string(kImage) + "  command: [sh, -c, 'echo up; sleep 300']\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "--detach", "--stop-grace", "3"});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  for (int i = 0; i < 600 && PhaseOf("slow") != "Running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BinaryResult d = Ctask({"delete", "slow", "-n", ns_, "--timeout", "0"});
  EXPECT_EQ(d.exit_code, 124) << Shown(d);
  EXPECT_EQ(d.out, "") << "nothing is reported deleted";
  EXPECT_NE(d.err.find("is marked for deletion and still stopping"), std::string::npos) << d.err;
  EXPECT_NE(d.err.find("ctask get slow -w"), std::string::npos) << d.err;
  bool gone = false;
  for (int i = 0; i < 600 && !gone; ++i) {
    gone = !fs::exists(fs::path(state_) / "tasks" / ns_ / "slow");
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "the owner did not finish the deletion";
  EXPECT_TRUE(Containers("slow").empty());
}

TEST_F(RunE2eTest, AWorkloadTtlOfZeroRemovesTheContainerAndKeepsTheRecordAndLog) {
  const fs::path file =
      Manifest("ttl.yaml", Task("ttl", std::string(kImage) + "  command: [echo, kept]\n"
                                                             "  workloadTTLSecondsAfterFinished: 0\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << Shown(r);
  EXPECT_TRUE(Containers("ttl").empty());
  EXPECT_EQ(Record("ttl")["status"]["phase"], "Succeeded");
  EXPECT_EQ(Artifact("ttl"), "kept\n");
}

TEST_F(RunE2eTest, AWorkloadTtlRemovesTheContainersOfEveryAttempt) {
  const fs::path file =
      Manifest("ttl-retries.yaml", Task("ttl-retries", std::string(kImage) + "  command: [sh, -c, 'exit 4']\n"
                                                                             "  retries: 1\n"
                                                                             "  retryPolicy: {backoffSeconds: 1}\n"
                                                                             "  workloadTTLSecondsAfterFinished: 0\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "-q"});
  EXPECT_EQ(r.exit_code, 4) << Shown(r);
  EXPECT_EQ(Record("ttl-retries")["status"]["attempts"], 2);
  EXPECT_TRUE(Containers("ttl-retries").empty());
}

TEST_F(RunE2eTest, ATaskTtlOfZeroStillReportsHowItEnded) {
  const fs::path file = Manifest("gone.yaml", Task("gone", std::string(kImage) + "  command: [sh, -c, 'exit 5']\n"
                                                                                 "  ttlSecondsAfterFinished: 0\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "-q"});
  EXPECT_EQ(r.exit_code, 5) << Shown(r);
  EXPECT_NE(r.err.find("gone: Failed (Error), exit code 5"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(fs::path(state_) / "tasks" / ns_ / "gone"));
  EXPECT_TRUE(Containers("gone").empty());
}

TEST_F(RunE2eTest, RunAsNonRootRefusesAnImageThatRunsAsRoot) {
  const fs::path file =
      Manifest("nonroot.yaml", Task("nonroot", std::string(kImage) + "  command: [id, -u]\n"
                                                                     "  securityContext: {runAsNonRoot: true}\n"));
  BinaryResult r = Ctask({"run", "-f", file.string(), "-q"});
  EXPECT_EQ(r.exit_code, 126) << Shown(r);
  json task = Record("nonroot");
  EXPECT_EQ(task["status"]["reason"], "ConfigError");
  EXPECT_NE(task["status"]["message"].get<std::string>().find("runs as root"), std::string::npos);
  EXPECT_TRUE(Containers("nonroot").empty());

  const fs::path uid = Manifest(
      "uid.yaml", Task("uid", std::string(kImage) + "  command: [id, -u]\n"
                                                    "  securityContext: {runAsNonRoot: true, runAsUser: 1000}\n"));
  BinaryResult ok = Ctask({"run", "-f", uid.string()});
  EXPECT_EQ(ok.exit_code, 0) << Shown(ok);
  EXPECT_EQ(ok.out, "1000\n");
}

TEST_F(RunE2eTest, AContainerRemovedWhileItRunsIsLostNotRunAgain) {
  const fs::path file =
      Manifest("lost.yaml", Task("lost", std::string(kImage) + "  command: [sh, -c, 'echo running; sleep 300']\n"));
  Background run({"run", "-f", file.string(), "--state-dir", state_}, dir_, "lost");
  ASSERT_TRUE(run.WaitForOutput("running\n")) << run.err();
  std::vector<json> containers = Containers("lost");
  ASSERT_EQ(containers.size(), 1u);
  ASSERT_TRUE(docker_->RemoveContainer(containers[0].value("Id", ""), true).has_value());
  EXPECT_NE(run.Wait(), 0) << run.err();
  json task = Record("lost");
  EXPECT_EQ(task["status"]["phase"], "Failed") << task.dump(2);
  EXPECT_TRUE(task["status"]["reason"] == "WorkloadLost" || task["status"]["reason"] == "Error") << task.dump(2);
  EXPECT_EQ(task["status"]["attempts"], 1);
  EXPECT_EQ(run.out(), "running\n") << "never run a second time";
  EXPECT_TRUE(Containers("lost").empty());
}

TEST_F(RunE2eTest, ASecondCtrlCQuitsAtOnce) {
  // PID 1 ignores SIGTERM, so the stop waits out its whole grace period.
  const fs::path file =
      Manifest("stubborn.yaml", Task("stubborn", std::string(kImage) + "  command: [sh, -c, 'echo up; sleep 300']\n"));
  Background run({"run", "-f", file.string(), "--stop-grace", "600", "--state-dir", state_}, dir_, "stubborn");
  ASSERT_TRUE(run.WaitForOutput("up\n")) << run.err();
  run.Signal(SIGINT);
  // The second signal follows the "cancelling" line closely, so it lands
  // while the cancel is being written: it must not be lost there (it once
  // was: the wait came before the check).
  for (int i = 0; i < 30000 && run.err().find("cancelling") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  run.Signal(SIGINT);
  // Well inside the hang guard, far inside the 600 s grace.
  EXPECT_EQ(run.Wait(), 130) << run.err();
  EXPECT_NE(run.err().find("quitting now"), std::string::npos) << run.err();
  EXPECT_TRUE(Record("stubborn")["spec"].value("cancel", false)) << "the cancel is recorded before quitting";
}

TEST_F(RunE2eTest, BadInputIsRefusedBeforeAnythingRuns) {
  const fs::path file = Manifest("bad.yaml", Task("bad", "  image: ''\n  timeoutSeconds: -1\n"));
  BinaryResult r = Ctask({"run", "-f", file.string()});
  EXPECT_EQ(r.exit_code, 125) << Shown(r);
  EXPECT_NE(r.err.find("spec.image"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spec.timeoutSeconds"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was run"), std::string::npos) << r.err;
  EXPECT_TRUE(Containers("bad").empty());

  BinaryResult usage = Ctask({"run"});
  EXPECT_EQ(usage.exit_code, 2) << Shown(usage);
}

TEST_F(RunE2eTest, AnUnreachableDaemonIsOneClearMessage) {
  const fs::path file = Manifest("hello.yaml", Task("hello", std::string(kImage)));
  setenv("DOCKER_HOST", "unix:///tmp/ctask-no-such-docker.sock", 1);
  BinaryResult r = Ctask({"run", "-f", file.string()});
  unsetenv("DOCKER_HOST");
  EXPECT_EQ(r.exit_code, 125) << Shown(r);
  EXPECT_NE(r.err.find("cannot reach the Docker daemon at unix:///tmp/ctask-no-such-docker.sock"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ctask::cli
