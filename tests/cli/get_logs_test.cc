// `ctask get` and `ctask logs` as a user meets them: the real binary over a
// state directory the test writes with the store, output and exit codes.
// Following and watching are sequenced by what the binary has printed, never
// by how long something took; timeouts are only guards against a hang.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "api/document.h"
#include "render/labels.h"
#include "run_binary.h"
#include "store/file_store.h"

namespace ctask::cli {
namespace {

namespace fs = std::filesystem;
using testing::BinaryResult;
using testing::RunBinary;

using testing::Background;
using testing::kHangGuard;
using testing::ReadFile;

class GetLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "ctask-get-logs-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    state_ = (dir_ / "state").string();
    auto opened = store::FileStore::Open(state_);
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(*opened);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static api::ContainerTask Task(const std::string& name, const std::string& phase = "",
                                 const std::string& ns = "default") {
    api::ContainerTask task;
    task.metadata.name = name;
    task.metadata.namespace_ = ns;
    task.spec.image = "busybox:1.36";
    task.status.phase = phase;
    return task;
  }

  void Put(const api::ContainerTask& task) {
    api::ContainerTask unconditional = task;
    unconditional.metadata.resource_version.clear();
    auto put = store_->Put(unconditional);
    ASSERT_TRUE(put) << put.error().message();
  }

  void WriteLog(const std::string& name, const std::vector<std::string>& chunks, bool close = true) {
    auto writer = store_->OpenLog("default", name, 1 << 20);
    ASSERT_TRUE(writer) << writer.error().message();
    for (const std::string& chunk : chunks) ASSERT_TRUE((*writer)->Append(chunk));
    if (close) {
      ASSERT_TRUE((*writer)->Close());
    }
  }

  BinaryResult Run(std::vector<std::string> args) {
    args.push_back("--state-dir");
    args.push_back(state_);
    return RunBinary(args, "", kHangGuard);
  }

  std::vector<std::string> WithState(std::vector<std::string> args) const {
    args.push_back("--state-dir");
    args.push_back(state_);
    return args;
  }

  fs::path dir_;
  std::string state_;
  std::unique_ptr<store::FileStore> store_;
};

// ---- get -------------------------------------------------------------------

TEST_F(GetLogsTest, GetPrintsTheTableOfTheNamespace) {
  api::ContainerTask build = Task("build", "Succeeded");
  build.status.reason = "Completed";
  build.status.exit_code = 0;
  build.status.attempts = 1;
  api::ContainerTask lint = Task("lint", "Running");
  lint.status.attempts = 1;
  Put(build);
  Put(lint);
  Put(Task("elsewhere", "Pending", "ci"));

  BinaryResult r = Run({"get"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME    PHASE       REASON      EXIT   ATTEMPTS   AGE\n"
            "build   Succeeded   Completed   0      1          <unknown>\n"
            "lint    Running                        1          <unknown>\n");
  EXPECT_EQ(r.err, "");

  r = Run({"get", "-n", "ci"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME        PHASE     REASON   EXIT   ATTEMPTS   AGE\n"
            "elsewhere   Pending                   0          <unknown>\n");
}

TEST_F(GetLogsTest, GetShowsAgeFromCreationTimestamp) {
  api::ContainerTask task = Task("old", "Succeeded");
  task.metadata.creation_timestamp =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) - std::chrono::days(3);
  Put(task);
  BinaryResult r = Run({"get", "old"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME   PHASE       REASON   EXIT   ATTEMPTS   AGE\n"
            "old    Succeeded                   0          3d\n");
}

TEST_F(GetLogsTest, GetAllNamespacesAddsTheNamespaceColumn) {
  Put(Task("build", "Running"));
  Put(Task("deploy", "Queued", "ci"));
  BinaryResult r = Run({"get", "-A"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAMESPACE   NAME     PHASE     REASON   EXIT   ATTEMPTS   AGE\n"
            "ci          deploy   Queued                    0          <unknown>\n"
            "default     build    Running                   0          <unknown>\n");
}

TEST_F(GetLogsTest, GetWideAddsImageContainerAndMessage) {
  api::ContainerTask task = Task("build", "Running");
  task.status.attempts = 1;
  task.status.container_id = "4f1e2d3c4b5a69788796a5b4c3d2e1f04f1e2d3c4b5a69788796a5b4c3d2e1f0";
  task.status.message = "attempt 1 of 1 is running";
  Put(task);
  BinaryResult r = Run({"get", "-o", "wide"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME    PHASE     REASON   EXIT   ATTEMPTS   AGE         IMAGE          CONTAINER      MESSAGE\n"
            "build   Running                   1          <unknown>   busybox:1.36   4f1e2d3c4b5a   attempt 1 of 1 is "
            "running\n");
}

TEST_F(GetLogsTest, GetYamlAndJsonPrintTheRecords) {
  api::ContainerTask build = Task("build", "Succeeded");
  build.status.exit_code = 0;
  Put(build);
  Put(Task("lint", "Running"));

  BinaryResult r = Run({"get", "build", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto docs = api::ParseDocuments(r.out);
  ASSERT_TRUE(docs) << r.out;
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ((*docs)[0].value["kind"], "ContainerTask");
  EXPECT_EQ((*docs)[0].value["metadata"]["name"], "build");
  EXPECT_EQ((*docs)[0].value["status"]["phase"], "Succeeded");
  EXPECT_EQ((*docs)[0].value["status"]["exitCode"], 0);

  r = Run({"get", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json list = nlohmann::json::parse(r.out);
  EXPECT_EQ(list["kind"], "List");
  ASSERT_EQ(list["items"].size(), 2u);
  EXPECT_EQ(list["items"][0]["metadata"]["name"], "build");
  EXPECT_EQ(list["items"][1]["metadata"]["name"], "lint");
  EXPECT_EQ(list["items"][1]["apiVersion"], "ctask.io/v1alpha1");

  r = Run({"get", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kind: List\n"), std::string::npos) << r.out;
}

TEST_F(GetLogsTest, GetOfAnAbsentTaskFailsAndAnEmptyNamespaceSaysSo) {
  BinaryResult r = Run({"get", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ctask: containertask \"nope\" not found in namespace \"default\" (state dir " + state_ + ")\n");

  r = Run({"get"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "No resources found in default namespace.\n");
}

TEST_F(GetLogsTest, GetDoesNotCreateAMissingStateDir) {
  const fs::path missing = dir_ / "missing";
  BinaryResult r = RunBinary({"get", "--state-dir", missing.string()}, "", kHangGuard);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "No resources found in default namespace.\n");
  EXPECT_FALSE(fs::exists(missing));
}

TEST_F(GetLogsTest, GetShowsAnUnreadableRecordWithoutHidingOthers) {
  Put(Task("good", "Running"));
  const fs::path broken = fs::path(state_) / "tasks" / "default" / "broken";
  fs::create_directories(broken);
  std::ofstream(broken / "task.json") << "{ this is not json";

  BinaryResult r = Run({"get"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "NAME     PHASE          REASON   EXIT   ATTEMPTS   AGE\n"
            "broken   <unreadable>\n"
            "good     Running                        0          <unknown>\n");
  EXPECT_NE(r.err.find("ctask: cannot read task default/broken: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("corrupt task record"), std::string::npos) << r.err;

  r = Run({"get", "broken"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("broken   <unreadable>"), std::string::npos) << r.out;
}

TEST_F(GetLogsTest, GetRefusesBadUsage) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{"get", "a", "b"},
                                                                                    {"get", "a", "-A"},
                                                                                    {"get", "-o", "xml"},
                                                                                    {"get", "-n", "Bad_NS"},
                                                                                    {"get", "-w", "-o", "json"}}) {
    BinaryResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << r.err;
    EXPECT_NE(r.err.find("ctask get: "), std::string::npos) << r.err;
  }
}

TEST_F(GetLogsTest, GetWatchEndsAfterItsTimeout) {
  Put(Task("build", "Running"));
  BinaryResult r = Run({"get", "-w", "--watch-timeout", "1"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME    PHASE     REASON   EXIT   ATTEMPTS   AGE\n"
            "build   Running                   0          <unknown>\n");
}

TEST_F(GetLogsTest, GetWatchPrintsARowPerChange) {
  api::ContainerTask build = Task("build", "Running");
  build.status.attempts = 1;
  Put(build);
  // The timeout only guards against a hang; SIGINT ends the watch.
  Background watch(WithState({"get", "-w", "--watch-timeout", "25"}), dir_);
  ASSERT_TRUE(watch.WaitForOutput("build   Running")) << watch.out() << watch.err();

  build.status.phase = "Succeeded";
  build.status.reason = "Completed";
  build.status.exit_code = 0;
  Put(build);
  ASSERT_TRUE(watch.WaitForOutput("Succeeded")) << watch.out() << watch.err();
  Put(Task("lint", "Pending"));
  ASSERT_TRUE(watch.WaitForOutput("lint")) << watch.out() << watch.err();
  ASSERT_TRUE(store_->Delete("default", "build"));
  ASSERT_TRUE(watch.WaitForOutput("<deleted>")) << watch.out() << watch.err();
  watch.Signal(SIGINT);
  EXPECT_EQ(watch.Wait(), 0) << watch.err();
  EXPECT_EQ(watch.out(),
            "NAME    PHASE     REASON   EXIT   ATTEMPTS   AGE\n"
            "build   Running                   1          <unknown>\n"
            "build   Succeeded   Completed   0      1          <unknown>\n"
            "lint    Pending                        0          <unknown>\n"
            "build   <deleted>   Completed   0      1          <unknown>\n");
}

// ---- logs ------------------------------------------------------------------

TEST_F(GetLogsTest, LogsPrintsTheArtifactByteForByte) {
  const std::string bytes =
      std::string("line one\n\0binary\xff\xfe\x01 ", 20) + std::string(100000, 'x') + "no newline";
  api::ContainerTask task = Task("build", "Succeeded");
  task.status.attempts = 1;
  Put(task);
  WriteLog("build", {bytes.substr(0, 7), bytes.substr(7)});
  BinaryResult r = Run({"logs", "build"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), bytes.size());
  EXPECT_TRUE(r.out == bytes);
  EXPECT_EQ(r.err, "");
}

TEST_F(GetLogsTest, LogsOfAnAbsentTaskFails) {
  BinaryResult r = Run({"logs", "nope", "-n", "ci"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ctask: containertask \"nope\" not found in namespace \"ci\" (state dir " + state_ + ")\n");
  r = Run({"logs"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(GetLogsTest, LogsWithoutAnArchivePrintsTheTail) {
  api::ContainerTask task = Task("quiet", "Succeeded");
  task.spec.logs.archive = false;
  task.status.log_tail = "last line\n";
  Put(task);
  BinaryResult r = Run({"logs", "quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "last line\n");
  EXPECT_EQ(r.err, "ctask: task quiet keeps no log artifact (spec.logs.archive is false); this is status.logTail\n");
}

TEST_F(GetLogsTest, LogsFollowEndsWhenTheTaskEndsWithItsLogComplete) {
  api::ContainerTask task = Task("build", "Running");
  task.status.attempts = 1;
  Put(task);
  auto writer = store_->OpenLog("default", "build", 1 << 20);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Append("first part\n"));

  Background follow(WithState({"logs", "-f", "build", "--follow-timeout", "25"}), dir_);
  ASSERT_TRUE(follow.WaitForOutput("first part\n")) << follow.err();
  ASSERT_TRUE((*writer)->Append("second part"));
  ASSERT_TRUE(follow.WaitForOutput("second part")) << follow.err();
  // Terminal, but the log is not marked complete yet: it keeps following.
  task.status.phase = "Succeeded";
  Put(task);
  ASSERT_TRUE((*writer)->Append(", the end"));
  ASSERT_TRUE((*writer)->Close());
  task.status.log_attempt = 1;
  Put(task);
  EXPECT_EQ(follow.Wait(), 0) << follow.err();
  EXPECT_EQ(follow.out(), "first part\nsecond part, the end");
  EXPECT_EQ(follow.err(), "");
}

TEST_F(GetLogsTest, LogsFollowKeepsWaitingUntilTheLastAttemptsLogIsComplete) {
  api::ContainerTask task = Task("build", "Failed");
  task.status.attempts = 2;
  // A record of an earlier version, which said this with an annotation.
  task.metadata.annotations[render::kAnnotationLogAttempt] = "1";
  Put(task);
  WriteLog("build", {"attempt two so far"});
  BinaryResult r = Run({"logs", "-f", "build", "--follow-timeout", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "attempt two so far");
  EXPECT_NE(r.err.find("has not ended after 1s"), std::string::npos) << r.err;

  // Without -f it prints what is there and stops.
  r = Run({"logs", "build"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "attempt two so far");
}

TEST_F(GetLogsTest, LogsFollowStartsAgainForANewAttempt) {
  api::ContainerTask task = Task("build", "Running");
  task.status.attempts = 1;
  Put(task);
  WriteLog("build", {"attempt one wrote quite a lot\n"});

  Background follow(WithState({"logs", "-f", "build", "--follow-timeout", "25"}), dir_);
  ASSERT_TRUE(follow.WaitForOutput("attempt one wrote quite a lot\n")) << follow.err();
  task.status.attempts = 2;
  Put(task);
  WriteLog("build", {"two\n"});
  task.status.phase = "Succeeded";
  task.status.log_attempt = 2;
  Put(task);
  EXPECT_EQ(follow.Wait(), 0) << follow.err();
  EXPECT_EQ(follow.out(), "attempt one wrote quite a lot\ntwo\n");
  EXPECT_EQ(follow.err(), "--- attempt 2 ---\n");
}

TEST_F(GetLogsTest, LogsFollowFailsWhenTheTaskIsDeleted) {
  api::ContainerTask task = Task("build", "Running");
  task.status.attempts = 1;
  Put(task);
  WriteLog("build", {"running\n"}, false);
  Background follow(WithState({"logs", "-f", "build", "--follow-timeout", "25"}), dir_);
  ASSERT_TRUE(follow.WaitForOutput("running\n")) << follow.err();
  ASSERT_TRUE(store_->Delete("default", "build"));
  EXPECT_EQ(follow.Wait(), 1);
  EXPECT_NE(follow.err().find("task default/build was deleted while following its log"), std::string::npos)
      << follow.err();
}

TEST_F(GetLogsTest, GetAndLogsHaveHelp) {
  for (const std::string command : {"get", "logs"}) {
    BinaryResult r = RunBinary({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find("Usage:\n  ctask " + command), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--state-dir DIR"), std::string::npos) << r.out;
    // --follow-timeout is for tests; --request-timeout (the cluster flags of
    // `logs --backend kubernetes`) is a real flag and is listed.
    EXPECT_EQ(r.out.find("follow-timeout"), std::string::npos) << "hidden flags stay hidden: " << r.out;
  }
  BinaryResult r = RunBinary({"--help"});
  EXPECT_NE(r.out.find("  get "), std::string::npos);
  EXPECT_NE(r.out.find("  logs "), std::string::npos);
}

}  // namespace
}  // namespace ctask::cli
