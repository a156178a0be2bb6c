// FileStore against a real directory: a fresh temporary root per test, removed
// afterwards. Crashes are simulated by leaving behind the files a crash would.
#include "store/file_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/codec.h"
#include "util/sha256.h"

namespace ctask::store {
namespace {

namespace fs = std::filesystem;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteWholeFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

api::ContainerTask MakeTask(std::string ns, std::string name) {
  api::ContainerTask task;
  task.metadata.namespace_ = std::move(ns);
  task.metadata.name = std::move(name);
  task.metadata.uid = "0b6f3c1e-0000-4000-8000-000000000001";
  task.metadata.generation = 2;
  task.metadata.labels = {{"team", "builds"}};
  task.spec.image = "busybox:1.36";
  task.spec.command = {"sh", "-c", "echo hello"};
  task.spec.env.push_back(api::EnvVar{"GREETING", "hi", std::nullopt});
  task.spec.timeout_seconds = 60;
  task.status.phase = api::phase::kSucceeded;
  task.status.reason = "Completed";
  task.status.observed_generation = 2;
  task.status.exit_code = 0;
  task.status.attempts = 1;
  task.status.start_time = Timestamp(std::chrono::seconds(1795000000));
  task.status.completion_time = Timestamp(std::chrono::seconds(1795000042));
  task.status.conditions.push_back(
      api::Condition{"Succeeded", "True", 2, Timestamp(std::chrono::seconds(1795000042)), "Completed", "done"});
  task.status.history.push_back(api::AttemptStatus{1, "", "", "c0ffee", 0, "Completed",
                                                   Timestamp(std::chrono::seconds(1795000000)),
                                                   Timestamp(std::chrono::seconds(1795000042))});
  task.status.container_id = "c0ffee";
  task.status.log_tail = "hello\n";
  task.status.artifacts.log = api::LogArtifact{"File", "/state/tasks/x/log", 6, Sha256Hex("hello\n"), false};
  return task;
}

// The JSON a task encodes to: how tests compare tasks (the structs have no ==).
std::string Encoded(const api::ContainerTask& task) {
  return api::EncodeContainerTask(task).dump();
}

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp") + "/ctask-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    root_ = base_ + "/state";
    auto opened = FileStore::Open(root_);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    store_ = std::move(*opened);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  std::string base_;
  std::string root_;
  std::unique_ptr<FileStore> store_;
};

TEST_F(FileStoreTest, PutThenGetRoundTrips) {
  api::ContainerTask task = MakeTask("default", "hello");
  ASSERT_TRUE(store_->Put(task).has_value());
  task.metadata.resource_version = "1";  // what the store gives a first write

  auto got = store_->Get("default", "hello");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(Encoded(*got), Encoded(task));

  // The documented layout: a JSON file a user can read, private to the user.
  const std::string path = root_ + "/tasks/default/hello/task.json";
  EXPECT_EQ(store_->RecordPath("default", "hello"), path);
  EXPECT_EQ(api::Json::parse(ReadWholeFile(path)), api::EncodeContainerTask(task));
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((root_ + "/tasks/default/hello").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(FileStoreTest, PutReplacesTheRecord) {
  api::ContainerTask task = MakeTask("default", "hello");
  ASSERT_TRUE(store_->Put(task).has_value());
  task.status.phase = api::phase::kFailed;
  task.status.exit_code = 3;
  ASSERT_TRUE(store_->Put(task).has_value());
  auto got = store_->Get("default", "hello");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status.phase, api::phase::kFailed);
  EXPECT_EQ(got->status.exit_code, 3);
  // Only the record in the directory: no temporary files left over.
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(root_ + "/tasks/default/hello")) {
    files.push_back(entry.path().filename());
  }
  EXPECT_EQ(files, std::vector<std::string>{"task.json"});
}

TEST_F(FileStoreTest, GetOfAnAbsentTaskIsNotFound) {
  auto got = store_->Get("default", "nope");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(got.error().message().find("default/nope"), std::string::npos) << got.error().message();
}

TEST_F(FileStoreTest, ListIsSortedAndReportsCorruptRecordsWithoutHidingOthers) {
  for (const auto& [ns, name] : std::vector<std::pair<std::string, std::string>>{
           {"team-b", "x"}, {"team-a", "y"}, {"team-a", "b"}, {"team-a", "c"}}) {
    ASSERT_TRUE(store_->Put(MakeTask(ns, name)).has_value());
  }
  // A half-written record, as a crash would leave it without the rename dance.
  const std::string corrupt = store_->RecordPath("team-a", "c");
  const std::string whole = ReadWholeFile(corrupt);
  WriteWholeFile(corrupt, whole.substr(0, whole.size() / 2));
  // A task with a log but no record yet is not listed.
  auto writer = store_->OpenLog("team-a", "d", 1024);
  ASSERT_TRUE(writer.has_value());

  auto list = store_->List();
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  std::vector<std::string> keys;
  for (const ListEntry& entry : *list) keys.push_back(entry.namespace_ + "/" + entry.name);
  EXPECT_EQ(keys, (std::vector<std::string>{"team-a/b", "team-a/c", "team-a/y", "team-b/x"}));
  ASSERT_EQ(list->size(), 4u);
  EXPECT_TRUE((*list)[0].task.has_value());
  ASSERT_FALSE((*list)[1].task.has_value());
  EXPECT_EQ((*list)[1].location, corrupt);
  EXPECT_NE((*list)[1].task.error().message().find(corrupt), std::string::npos);
  EXPECT_TRUE((*list)[2].task.has_value());
  EXPECT_TRUE((*list)[3].task.has_value());
  EXPECT_EQ((*list)[3].task->metadata.name, "x");

  auto got = store_->Get("team-a", "c");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kInternal);
  EXPECT_NE(got.error().message().find(corrupt), std::string::npos) << got.error().message();
  EXPECT_NE(got.error().message().find("corrupt task record"), std::string::npos) << got.error().message();
}

TEST_F(FileStoreTest, RecordsThatAreNotTasksOrLiveElsewhereAreCorrupt) {
  ASSERT_TRUE(store_->Put(MakeTask("default", "a")).has_value());
  ASSERT_TRUE(store_->Put(MakeTask("default", "b")).has_value());
  // A valid record copied under another name: it would answer for the wrong key.
  fs::copy_file(store_->RecordPath("default", "a"), store_->RecordPath("default", "b"),
                fs::copy_options::overwrite_existing);
  auto got = store_->Get("default", "b");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kInternal);
  EXPECT_NE(got.error().message().find("names task"), std::string::npos) << got.error().message();

  for (const char* bad : {"[]", "{}", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", "", "null"}) {
    WriteWholeFile(store_->RecordPath("default", "b"), bad);
    got = store_->Get("default", "b");
    ASSERT_FALSE(got.has_value()) << bad;
    EXPECT_EQ(got.error().code(), ErrorCode::kInternal) << bad;
  }
}

TEST_F(FileStoreTest, APutBasedOnAnOlderReadIsAConflict) {
  ASSERT_TRUE(store_->Put(MakeTask("default", "hello")).has_value());
  auto first = store_->Get("default", "hello");
  auto second = store_->Get("default", "hello");
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(first->metadata.resource_version, "1");
  first->status.phase = "Running";
  ASSERT_TRUE(store_->Put(*first).has_value());
  // The second reader's change would undo the first's: refused.
  second->spec.cancel = true;
  auto conflict = store_->Put(*second);
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().code(), ErrorCode::kConflict);
  EXPECT_NE(conflict.error().message().find("read it again"), std::string::npos);
  auto now = store_->Get("default", "hello");
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->metadata.resource_version, "2");
  EXPECT_EQ(now->status.phase, "Running");
  EXPECT_FALSE(now->spec.cancel);
  // An empty resourceVersion replaces whatever is there.
  api::ContainerTask forced = MakeTask("default", "hello");
  ASSERT_TRUE(store_->Put(forced).has_value());
  EXPECT_EQ(store_->Get("default", "hello")->metadata.resource_version, "3");
}

TEST_F(FileStoreTest, LeftoverTempFileFromACrashIsIgnoredAndCleanedUp) {
  api::ContainerTask task = MakeTask("default", "hello");
  ASSERT_TRUE(store_->Put(task).has_value());
  task.metadata.resource_version = "1";
  // A crash during the next Put, before its rename: a partial temp file.
  const std::string temp = root_ + "/tasks/default/hello/task.json.tmp-Ab12Cd";
  WriteWholeFile(temp, "{\"apiVersion\": \"ctask.io/v1al");

  auto got = store_->Get("default", "hello");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(Encoded(*got), Encoded(task));
  auto list = store_->List();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE(list->front().task.has_value());

  // The next Put of the task removes it.
  ASSERT_TRUE(store_->Put(task).has_value());
  EXPECT_FALSE(fs::exists(temp));

  // So does the start-up sweep, for tasks that are not written again.
  WriteWholeFile(temp, "{");
  ASSERT_TRUE(store_->RemoveStaleTempFiles().has_value());
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_TRUE(store_->Get("default", "hello").has_value());
}

TEST_F(FileStoreTest, CrashBeforeTheFirstRecordLeavesNoTask) {
  fs::create_directories(root_ + "/tasks/default/new");
  WriteWholeFile(root_ + "/tasks/default/new/task.json.tmp-xYz123", "{\"apiVersion\"");
  auto got = store_->Get("default", "new");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
  auto list = store_->List();
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->empty());
}

TEST_F(FileStoreTest, DeleteRemovesRecordAndLogAndIsIdempotent) {
  ASSERT_TRUE(store_->Put(MakeTask("default", "hello")).has_value());
  auto writer = store_->OpenLog("default", "hello", 1024);
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE((*writer)->Append("output\n").has_value());
  ASSERT_TRUE((*writer)->Close().has_value());

  ASSERT_TRUE(store_->Delete("default", "hello").has_value());
  EXPECT_EQ(store_->Get("default", "hello").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ReadLog("default", "hello", 0).error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(root_ + "/tasks/default/hello"));
  EXPECT_TRUE(store_->List()->empty());

  EXPECT_TRUE(store_->Delete("default", "hello").has_value());
  EXPECT_TRUE(store_->Delete("default", "never-was").has_value());
  EXPECT_TRUE(store_->Delete("elsewhere", "never-was").has_value());
}

// A fan-out task's items' logs, its results and a dependent's inputs live
// in the task's directory and go with it.
TEST_F(FileStoreTest, ItemLogsResultsAndInputsAreTheTasksAndGoWithIt) {
  const api::ContainerTask task = MakeTask("default", "map");
  ASSERT_TRUE(store_->Put(task).has_value());
  for (int32_t item : {0, 7}) {
    auto writer = store_->OpenItemLog("default", "map", item, 1024);
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE((*writer)->Append("item " + std::to_string(item) + "\n").has_value());
    ASSERT_TRUE((*writer)->Close().has_value());
  }
  EXPECT_EQ(*store_->ReadItemLog("default", "map", 7, 0), "item 7\n");
  EXPECT_EQ(*store_->ReadItemLog("default", "map", 7, 5), "7\n");
  EXPECT_EQ(store_->ReadItemLog("default", "map", 3, 0).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ReadLog("default", "map", 0).error().code(), ErrorCode::kNotFound) << "the task's own: none";

  EXPECT_EQ(store_->ReadResults("default", "map").error().code(), ErrorCode::kNotFound);
  auto results = store_->PutResults(task, "{\"items\":[]}\n");
  ASSERT_TRUE(results.has_value());
  EXPECT_EQ(results->size_bytes, 13);
  EXPECT_EQ(results->sha256, Sha256Hex("{\"items\":[]}\n"));
  EXPECT_EQ(*store_->ReadResults("default", "map"), "{\"items\":[]}\n");

  ASSERT_TRUE(store_->PutInputs(task, {{"other.json", "{}"}}).has_value());
  EXPECT_EQ(ReadWholeFile(store_->InputPath("default", "map", "other.json")), "{}");

  ASSERT_TRUE(store_->Delete("default", "map").has_value());
  EXPECT_FALSE(fs::exists(root_ + "/tasks/default/map"));
  EXPECT_EQ(store_->ReadResults("default", "map").error().code(), ErrorCode::kNotFound);
}

TEST_F(FileStoreTest, KeysThatAreNotDnsLabelsNeverBecomePaths) {
  // Put a marker beside the root, where an escaping key would land.
  ASSERT_TRUE(store_->Put(MakeTask("default", "victim")).has_value());
  const std::vector<std::string> bad = {
      "../x", "..",         ".", "", "a/b", "/etc", "Upper", "x/../../y", std::string("a\0b", 3), std::string(64, 'a'),
      "-a",   "tasks/../.."};
  for (const std::string& key : bad) {
    SCOPED_TRACE("key " + key);
    for (const auto& [ns, name] : {std::pair{key, std::string("ok")}, std::pair{std::string("default"), key}}) {
      EXPECT_EQ(store_->Put(MakeTask(ns, name)).error().code(), ErrorCode::kInvalidArgument);
      EXPECT_EQ(store_->Get(ns, name).error().code(), ErrorCode::kInvalidArgument);
      EXPECT_EQ(store_->Delete(ns, name).error().code(), ErrorCode::kInvalidArgument);
      EXPECT_EQ(store_->OpenLog(ns, name, 1024).error().code(), ErrorCode::kInvalidArgument);
      EXPECT_EQ(store_->ReadLog(ns, name, 0).error().code(), ErrorCode::kInvalidArgument);
    }
  }
  auto error = store_->Get("..", "x").error();
  EXPECT_NE(error.message().find("metadata.namespace"), std::string::npos) << error.message();
  // Nothing was created or removed outside the task directories.
  std::vector<std::string> beside;
  for (const auto& entry : fs::directory_iterator(base_)) beside.push_back(entry.path().filename());
  EXPECT_EQ(beside, std::vector<std::string>{"state"});
  std::vector<std::string> top;
  for (const auto& entry : fs::directory_iterator(root_ + "/tasks")) top.push_back(entry.path().filename());
  EXPECT_EQ(top, std::vector<std::string>{"default"});
  EXPECT_TRUE(store_->Get("default", "victim").has_value());
}

TEST_F(FileStoreTest, LogIsBoundedAndMarkedWhenTruncated) {
  auto opened = store_->OpenLog("default", "chatty", 10);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  LogWriter& writer = **opened;
  ASSERT_TRUE(writer.Append("hello ").has_value());
  // Written through as it arrives, so `ctask logs -f` sees it.
  EXPECT_EQ(store_->ReadLog("default", "chatty", 0).value(), "hello ");
  ASSERT_TRUE(writer.Append("world!!!").has_value());  // 4 kept, 4 dropped
  ASSERT_TRUE(writer.Append("more").has_value());      // all dropped
  auto summary = writer.Close();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();

  const std::string expected = "hello worl\n[ctask: log truncated: 8 bytes dropped]\n";
  const std::string path = root_ + "/tasks/default/chatty/log";
  const std::string on_disk = ReadWholeFile(path);
  EXPECT_EQ(on_disk, expected);
  EXPECT_EQ(TruncationMarker(8), "\n[ctask: log truncated: 8 bytes dropped]\n");
  EXPECT_TRUE(summary->truncated);
  EXPECT_EQ(summary->dropped_bytes, 8);
  EXPECT_EQ(summary->size_bytes, static_cast<int64_t>(on_disk.size()));
  EXPECT_EQ(summary->sha256, Sha256Hex(on_disk));
  EXPECT_EQ(summary->location, path);
  EXPECT_EQ(store_->LogPath("default", "chatty"), path);

  EXPECT_EQ(store_->ReadLog("default", "chatty", 0).value(), expected);
  EXPECT_EQ(store_->ReadLog("default", "chatty", 6).value(), expected.substr(6));
  EXPECT_EQ(store_->ReadLog("default", "chatty", expected.size()).value(), "");
  EXPECT_EQ(store_->ReadLog("default", "chatty", 1u << 30).value(), "");
  EXPECT_EQ(store_->ReadLog("default", "chatty", UINT64_MAX).value(), "");

  // The writer is finished.
  EXPECT_EQ(writer.Append("x").error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(writer.Close().error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(FileStoreTest, LogWithinTheLimitIsKeptWhole) {
  auto writer = store_->OpenLog("default", "quiet", 16);
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE((*writer)->Append("").has_value());
  ASSERT_TRUE((*writer)->Append("exactly sixteen!").has_value());  // fills the limit, drops nothing
  auto summary = (*writer)->Close();
  ASSERT_TRUE(summary.has_value());
  EXPECT_FALSE(summary->truncated);
  EXPECT_EQ(summary->dropped_bytes, 0);
  EXPECT_EQ(summary->size_bytes, 16);
  EXPECT_EQ(ReadWholeFile(store_->LogPath("default", "quiet")), "exactly sixteen!");
  EXPECT_EQ(summary->sha256, Sha256Hex("exactly sixteen!"));
}

TEST_F(FileStoreTest, EmptyLogHasTheEmptyDigest) {
  auto writer = store_->OpenLog("default", "silent", 1024);
  ASSERT_TRUE(writer.has_value());
  auto summary = (*writer)->Close();
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->size_bytes, 0);
  EXPECT_EQ(summary->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(store_->ReadLog("default", "silent", 0).value(), "");
}

TEST_F(FileStoreTest, ANewAttemptRunReplacesTheLog) {
  auto first = store_->OpenLog("default", "retry", 1024);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE((*first)->Append("attempt 1 failed, at length\n").has_value());
  ASSERT_TRUE((*first)->Close().has_value());
  auto second = store_->OpenLog("default", "retry", 1024);
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE((*second)->Append("attempt 2\n").has_value());
  auto summary = (*second)->Close();
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(store_->ReadLog("default", "retry", 0).value(), "attempt 2\n");
  EXPECT_EQ(summary->sha256, Sha256Hex("attempt 2\n"));
}

TEST_F(FileStoreTest, LargeLogDigestMatchesTheFile) {
  auto writer = store_->OpenLog("default", "big", 1000000);
  ASSERT_TRUE(writer.has_value());
  std::string line;
  for (int i = 0; i < 60000; ++i) {  // about 1.2 MB
    line = "line " + std::to_string(i) + " of output\n";
    ASSERT_TRUE((*writer)->Append(line).has_value());
  }
  auto summary = (*writer)->Close();
  ASSERT_TRUE(summary.has_value());
  const std::string on_disk = ReadWholeFile(store_->LogPath("default", "big"));
  EXPECT_TRUE(summary->truncated);
  EXPECT_TRUE(on_disk.ends_with(TruncationMarker(summary->dropped_bytes)));
  EXPECT_EQ(on_disk.size(), 1000000 + TruncationMarker(summary->dropped_bytes).size());
  EXPECT_EQ(summary->size_bytes, static_cast<int64_t>(on_disk.size()));
  EXPECT_EQ(summary->sha256, Sha256Hex(on_disk));
}

TEST_F(FileStoreTest, ConcurrentPutsOfDifferentAndSameTasks) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int round = 0; round < kRounds; ++round) {
        api::ContainerTask own = MakeTask("ns-" + std::to_string(t % 2), "task-" + std::to_string(t));
        own.status.attempts = round;
        EXPECT_TRUE(store_->Put(own).has_value());
        api::ContainerTask shared = MakeTask("shared", "one");
        shared.status.attempts = t;
        EXPECT_TRUE(store_->Put(shared).has_value());
        EXPECT_TRUE(store_->Get("shared", "one").has_value());
        EXPECT_TRUE(store_->List().has_value());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  auto list = store_->List();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), static_cast<std::size_t>(kThreads + 1));
  for (const ListEntry& entry : *list) {
    ASSERT_TRUE(entry.task.has_value()) << entry.task.error().ToString();
    if (entry.namespace_ != "shared") {
      EXPECT_EQ(entry.task->status.attempts, kRounds - 1);
    }
  }
}

TEST_F(FileStoreTest, OnlyOneHolderOfTheStateDirLock) {
  auto first = LockStateDir(root_);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(first->path(), root_ + "/lock");
  EXPECT_EQ(ReadWholeFile(root_ + "/lock"), std::to_string(::getpid()) + "\n");

  auto second = LockStateDir(root_);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kFailedPrecondition);
  const std::string& message = second.error().message();
  EXPECT_NE(message.find(root_), std::string::npos) << message;
  EXPECT_NE(message.find("in use by another ctask process (pid " + std::to_string(::getpid()) + ")"), std::string::npos)
      << message;
  EXPECT_NE(message.find("--state-dir"), std::string::npos) << message;

  // Moving the lock keeps it held; destroying it releases it.
  {
    StoreLock moved = std::move(*first);
    EXPECT_FALSE(LockStateDir(root_).has_value());
  }
  auto third = LockStateDir(root_);
  EXPECT_TRUE(third.has_value()) << third.error().ToString();
}

TEST_F(FileStoreTest, LockCreatesTheStateDir) {
  const std::string fresh = base_ + "/a/b/ctask";
  auto lock = LockStateDir(fresh);
  ASSERT_TRUE(lock.has_value()) << lock.error().ToString();
  EXPECT_TRUE(fs::is_regular_file(fresh + "/lock"));
}

// Sets or unsets an environment variable for one test, restoring it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(DefaultStateDirTest, FollowsTheXdgBaseDirectorySpec) {
  {
    ScopedEnv xdg("XDG_STATE_HOME", "/var/xdg-state");
    ScopedEnv home("HOME", "/home/dev");
    EXPECT_EQ(DefaultStateDir().value(), "/var/xdg-state/ctask");
  }
  {
    ScopedEnv xdg("XDG_STATE_HOME", "relative/ignored");
    ScopedEnv home("HOME", "/home/dev");
    EXPECT_EQ(DefaultStateDir().value(), "/home/dev/.local/state/ctask");
  }
  {
    ScopedEnv xdg("XDG_STATE_HOME", nullptr);
    ScopedEnv home("HOME", "/home/dev");
    EXPECT_EQ(DefaultStateDir().value(), "/home/dev/.local/state/ctask");
  }
  {
    ScopedEnv xdg("XDG_STATE_HOME", nullptr);
    ScopedEnv home("HOME", nullptr);
    auto dir = DefaultStateDir();
    ASSERT_FALSE(dir.has_value());
    EXPECT_EQ(dir.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(dir.error().message().find("--state-dir"), std::string::npos);
  }
}

}  // namespace
}  // namespace ctask::store

namespace ctask::store {
namespace {

// Two processes writing one record (the owner's status write, another
// ctask's intent) are two FileStores on one directory, each with its own
// in-process stripes. Every read-modify-write that succeeds must count:
// without the per-key file lock both could pass the resourceVersion check
// and one write would silently undo the other.
TEST_F(FileStoreTest, WritersInSeparateStoresNeverLoseAnUpdate) {
  auto second = FileStore::Open(root_);
  ASSERT_TRUE(second.has_value()) << second.error().message();
  api::ContainerTask task = MakeTask("default", "counted");
  task.status.attempts = 0;
  ASSERT_TRUE(store_->Put(task).has_value());
  constexpr int kPerWriter = 60;
  auto writer = [&](FileStore& store) {
    for (int done = 0; done < kPerWriter;) {
      Result<api::ContainerTask> read = store.Get("default", "counted");
      ASSERT_TRUE(read.has_value()) << read.error().message();
      read->status.attempts += 1;
      Status put = store.Put(*read);
      if (put) {
        ++done;
      } else {
        ASSERT_EQ(put.error().code(), ErrorCode::kConflict) << put.error().message();
      }
    }
  };
  std::thread a([&] { writer(*store_); });
  std::thread b([&] { writer(**second); });
  a.join();
  b.join();
  Result<api::ContainerTask> final_record = store_->Get("default", "counted");
  ASSERT_TRUE(final_record.has_value());
  EXPECT_EQ(final_record->status.attempts, 2 * kPerWriter) << "an update was lost";
}

}  // namespace
}  // namespace ctask::store
