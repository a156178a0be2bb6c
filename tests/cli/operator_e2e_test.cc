// `ctask operator --backend docker --tasks-dir DIR` end to end: the real
// binary keeping a directory of manifests and the real dockerd in agreement,
// killed with SIGKILL and restarted. Progress is read from the records the
// operator writes; waits are bounded by hang guards only.
#include "docker_e2e.h"

namespace ctask::cli {
namespace {

using namespace e2e;  // the fixture, fs, json and the binary helpers

class OperatorE2eTest : public DockerE2eTest {
 protected:
  void SetUp() override {
    DockerE2eTest::SetUp();
    tasks_ = dir_ / "tasks";
    fs::create_directories(tasks_);
  }

  std::vector<std::string> OperatorArgs() const {
    return {"operator",      "--backend",    "docker", "--tasks-dir",
            tasks_.string(), "--state-dir",  state_,   "--scan-interval-ms",
            "100",           "--stop-grace", "1"};
  }

  fs::path tasks_;
};

TEST_F(OperatorE2eTest, KilledWithSigkillAndRestartedItFinishesEveryTaskExactlyOnce) {
  // Two tasks end while the operator is down, two outlive its restart: it
  // must adopt both kinds, starting nothing again.
  const std::vector<std::string> names = {"one", "two", "three", "four"};
  for (const std::string& name : names) {
    const std::string seconds = name == "one" || name == "two" ? "1" : "6";
    WriteFile(tasks_ / (name + ".yaml"),
              Task(name, std::string(kImage) + "  command: [sh, -c, 'echo start; sleep " + seconds + "; echo end']\n"));
  }
  {
    Background first(OperatorArgs(), dir_, "operator-1");
    ASSERT_TRUE(WaitUntil([&] {
      for (const std::string& name : names) {
        if (Phase(name) != "Running") return false;
      }
      return true;
    })) << first.err();
    first.Signal(SIGKILL);
    EXPECT_EQ(first.Wait(), -1) << "killed by the signal";
  }
  // Killed mid-run: the records say Running; wait for the short tasks'
  // containers to exit while no operator watches.
  for (const std::string& name : names) EXPECT_EQ(Phase(name), "Running") << name;
  ASSERT_TRUE(WaitUntil([&] {
    for (const std::string& name : {"one", "two"}) {
      std::vector<json> containers = Containers(name);
      if (containers.size() != 1 || containers[0].value("State", "") != "exited") return false;
    }
    return true;
  }));
  EXPECT_EQ(Containers("three")[0].value("State", ""), "running");

  Background second(OperatorArgs(), dir_, "operator-2");
  ASSERT_TRUE(WaitUntil([&] {
    for (const std::string& name : names) {
      if (Phase(name) != "Succeeded") return false;
    }
    return true;
  })) << second.err();
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    json record = Stored(name);
    EXPECT_EQ(record["status"]["attempts"], 1);
    EXPECT_EQ(record["status"]["exitCode"], 0);
    // Run once: a second start of the same container would print twice.
    EXPECT_EQ(Artifact(name), "start\nend\n");
    EXPECT_EQ(Containers(name).size(), 1u);
  }
  second.Signal(SIGTERM);
  EXPECT_EQ(second.Wait(), 0) << second.err();
  EXPECT_NE(second.err().find("containers keep running"), std::string::npos) << second.err();
}

TEST_F(OperatorE2eTest, TheDirectoryDrivesTheTasks) {
  Background op(OperatorArgs(), dir_, "operator");

  // A new file runs its task.
  WriteFile(tasks_ / "quick.yaml", Task("quick", std::string(kImage) + "  command: [echo, quick]\n"));
  ASSERT_TRUE(WaitUntil([&] { return Phase("quick") == "Succeeded"; })) << op.err();
  EXPECT_EQ(Artifact("quick"), "quick\n");
  EXPECT_EQ(Stored("quick")["metadata"]["generation"], 1);

  // A changed spec is a new generation; a finished task does not run again.
  WriteFile(tasks_ / "quick.yaml", Task("quick", std::string(kImage) + "  command: [echo, changed]\n"));
  ASSERT_TRUE(WaitUntil([&] { return Stored("quick")["status"].value("observedGeneration", 0) == 2; })) << op.err();
  EXPECT_EQ(Stored("quick")["status"]["attempts"], 1);
  EXPECT_EQ(Artifact("quick"), "quick\n");

  // A broken file is reported, naming the file and the field, and changes
  // nothing; the operator carries on.
  WriteFile(tasks_ / "broken.yaml", Task("broken", "  image: ctask-test/busybox:latest\n  retries: many\n"));
  ASSERT_TRUE(WaitUntil([&] {
    return op.err().find("broken.yaml: doc 1: ContainerTask/broken: spec.retries") != std::string::npos;
  })) << op.err();
  EXPECT_TRUE(Stored("broken").is_null());

  // A removed file stops and deletes its task, containers and record.
  WriteFile(tasks_ / "long.yaml", Task("long", std::string(kImage) + "  command: [sh, -c, 'echo up; sleep 300']\n"));
  ASSERT_TRUE(WaitUntil([&] { return Phase("long") == "Running"; })) << op.err();
  ASSERT_EQ(Containers("long").size(), 1u);
  fs::remove(tasks_ / "long.yaml");
  ASSERT_TRUE(WaitUntil([&] { return Stored("long").is_null() && Containers("long").empty(); })) << op.err();
  EXPECT_FALSE(fs::exists(fs::path(state_) / "tasks" / ns_ / "long"));
  EXPECT_EQ(Phase("quick"), "Succeeded") << "other tasks are untouched";

  op.Signal(SIGTERM);
  EXPECT_EQ(op.Wait(), 0) << op.err();
}

TEST_F(OperatorE2eTest, SecretsInTheDirectoryFeedEnvAndSuspendStopsAndResumes) {
  WriteFile(tasks_ / "config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " +
                                        ns_ + "\ndata:\n  GREETING: hello from a configmap\n");
  WriteFile(tasks_ / "greet.yaml",
            Task("greet", std::string(kImage) + "  command: [sh, -c, 'echo $GREETING']\n"
                                                "  envFrom:\n  - configMapRef: {name: settings}\n"));
  Background op(OperatorArgs(), dir_, "operator");
  ASSERT_TRUE(WaitUntil([&] { return Phase("greet") == "Succeeded"; })) << op.err();
  EXPECT_EQ(Artifact("greet"), "hello from a configmap\n");

  const std::string sleeper = std::string(kImage) + "  command: [sh, -c, 'echo attempt; sleep 300']\n";
  WriteFile(tasks_ / "pausable.yaml", Task("pausable", sleeper));
  ASSERT_TRUE(WaitUntil([&] { return Phase("pausable") == "Running"; })) << op.err();
  WriteFile(tasks_ / "pausable.yaml", Task("pausable", sleeper + "  suspend: true\n"));
  ASSERT_TRUE(WaitUntil([&] { return Phase("pausable") == "Suspended"; })) << op.err();
  ASSERT_TRUE(WaitUntil([&] {
    std::vector<json> containers = Containers("pausable");
    return containers.size() == 1 && containers[0].value("State", "") == "exited";
  }));
  WriteFile(tasks_ / "pausable.yaml", Task("pausable", sleeper + "  suspend: false\n"));
  ASSERT_TRUE(WaitUntil([&] {
    return Phase("pausable") == "Running" && Stored("pausable")["status"]["attempts"] == 2;
  })) << op.err();
  EXPECT_EQ(Containers("pausable").size(), 2u);
  op.Signal(SIGTERM);
  EXPECT_EQ(op.Wait(), 0) << op.err();
}

TEST_F(OperatorE2eTest, ATaskRemovedByItsTtlIsNotRunAgainWhileItsManifestStays) {
  WriteFile(tasks_ / "brief.yaml", Task("brief", std::string(kImage) + "  command: [echo, once]\n"
                                                                       "  ttlSecondsAfterFinished: 1\n"));
  Background op(OperatorArgs(), dir_, "operator");
  ASSERT_TRUE(WaitUntil([&] { return op.err().find("removed by its ttlSecondsAfterFinished") != std::string::npos; }))
      << op.err();
  EXPECT_TRUE(Stored("brief").is_null());
  EXPECT_TRUE(Containers("brief").empty());
  EXPECT_EQ(op.err().find("task " + ns_ + "/brief: created"), op.err().rfind("task " + ns_ + "/brief: created"))
      << "created once only:\n"
      << op.err();

  // An edited manifest is a new task: it runs.
  WriteFile(tasks_ / "brief.yaml", Task("brief", std::string(kImage) + "  command: [echo, again]\n"));
  ASSERT_TRUE(WaitUntil([&] { return Phase("brief") == "Succeeded"; })) << op.err();
  EXPECT_EQ(Artifact("brief"), "again\n");
  op.Signal(SIGTERM);
  EXPECT_EQ(op.Wait(), 0) << op.err();
}

TEST_F(OperatorE2eTest, AFileBrokenWhileTheOperatorWasDownKeepsItsTasks) {
  WriteFile(tasks_ / "keep.yaml", Task("keep", std::string(kImage) + "  command: [echo, kept]\n"));
  {
    Background op(OperatorArgs(), dir_, "operator-1");
    ASSERT_TRUE(WaitUntil([&] { return Phase("keep") == "Succeeded"; })) << op.err();
    op.Signal(SIGTERM);
    ASSERT_EQ(op.Wait(), 0) << op.err();
  }
  WriteFile(tasks_ / "keep.yaml", Task("keep", "  image: [not, a, string]\n"));
  Background op(OperatorArgs(), dir_, "operator-2");
  ASSERT_TRUE(WaitUntil([&] { return op.err().find("kept its last good content") != std::string::npos; })) << op.err();
  // Two scans later the record is still there.
  ASSERT_TRUE(WaitUntil([&] { return op.err().find("operator started") != std::string::npos; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Phase("keep"), "Succeeded") << op.err();
  EXPECT_EQ(op.err().find("deleting it"), std::string::npos) << op.err();
  op.Signal(SIGTERM);
  EXPECT_EQ(op.Wait(), 0) << op.err();
}

TEST_F(OperatorE2eTest, BadFlagsAreUsageErrors) {
  BinaryResult missing = testing::RunBinary({"operator", "--backend", "docker"});
  EXPECT_EQ(missing.exit_code, 2) << Shown(missing);
  EXPECT_NE(missing.err.find("--tasks-dir"), std::string::npos);
  BinaryResult kube = testing::RunBinary({"operator", "--backend", "kubernetes", "--tasks-dir", tasks_.string()});
  EXPECT_EQ(kube.exit_code, 2) << Shown(kube);
  EXPECT_NE(kube.err.find("--tasks-dir is the Docker backend's"), std::string::npos) << Shown(kube);
  BinaryResult backend = testing::RunBinary({"operator", "--backend", "podman"});
  EXPECT_EQ(backend.exit_code, 2) << Shown(backend);
  EXPECT_NE(backend.err.find("must be auto, kubernetes or docker"), std::string::npos) << Shown(backend);
  BinaryResult nodir = testing::RunBinary({"operator", "--tasks-dir", (dir_ / "nope").string()});
  EXPECT_EQ(nodir.exit_code, 2) << Shown(nodir);
  EXPECT_NE(nodir.err.find("not a directory"), std::string::npos);
}

// --backend auto without any cluster configuration falls back to Docker and
// says why; with one (the cluster tier's KUBECONFIG) it picks Kubernetes:
// tests/operator runs that path.
TEST_F(OperatorE2eTest, AutoChoosesDockerWithoutAClusterAndSaysWhy) {
  const char* saved = std::getenv("KUBECONFIG");
  const std::string kept = saved != nullptr ? saved : "";
  ::setenv("KUBECONFIG", (dir_ / "no-such-kubeconfig").c_str(), 1);
  BinaryResult chosen = testing::RunBinary({"operator"});
  if (saved != nullptr) {
    ::setenv("KUBECONFIG", kept.c_str(), 1);
  } else {
    ::unsetenv("KUBECONFIG");
  }
  EXPECT_EQ(chosen.exit_code, 2) << Shown(chosen);
  EXPECT_NE(chosen.err.find("backend: docker (no kubeconfig or in-cluster configuration"), std::string::npos)
      << Shown(chosen);
  EXPECT_NE(chosen.err.find("--tasks-dir DIR is required by the Docker backend"), std::string::npos) << Shown(chosen);
}

}  // namespace
}  // namespace ctask::cli
