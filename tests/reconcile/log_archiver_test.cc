// LogArchiver over the fake runtime and a real FileStore in a temporary
// directory. Follows end when the test says the workload exited; waits are
// for a callback, with a generous timeout that only guards against a hang.
#include "reconcile/log_archiver.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>

#include "fakes/fake_runtime.h"
#include "store/file_store.h"
#include "util/sha256.h"

namespace ctask::reconcile {
namespace {

namespace fs = std::filesystem;
using fakes::FakeRuntime;
using runtime::LogStream;

constexpr auto kHangGuard = std::chrono::seconds(20);

// Counts on_finished calls per key and lets a test wait for them.
class FinishedLatch {
 public:
  void operator()(const std::string& key) {
    std::lock_guard lock(mu_);
    ++counts_[key];
    cv_.notify_all();
  }
  bool WaitFor(const std::string& key, int n = 1) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kHangGuard, [&] { return counts_[key] >= n; });
  }
  int count(const std::string& key) {
    std::lock_guard lock(mu_);
    return counts_[key];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> counts_;
};

class LogArchiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ctask-archiver-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto opened = store::FileStore::Open(root_.string());
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    store_ = std::move(*opened);
  }
  void TearDown() override {
    archiver_.reset();
    fs::remove_all(root_);
  }

  LogArchiver& Archiver(LogDisplay display = {}) {
    archiver_ = std::make_unique<LogArchiver>(
        *store_, runtime_, [this](const std::string& key) { latch_(key); }, std::move(display));
    return *archiver_;
  }

  static api::ContainerTask Task(std::string name = "hello") {
    api::ContainerTask t;
    t.metadata.namespace_ = "default";
    t.metadata.name = std::move(name);
    t.metadata.uid = "uid-" + t.metadata.name;
    t.spec.image = "busybox";
    return t;
  }

  // Starts the workload of `attempt` in the fake.
  void Start(const api::ContainerTask& task, int attempt) { ASSERT_TRUE(runtime_.Apply(task, attempt).has_value()); }

  fs::path root_;
  std::unique_ptr<store::FileStore> store_;
  FakeRuntime runtime_;
  FinishedLatch latch_;
  std::unique_ptr<LogArchiver> archiver_;
};

TEST_F(LogArchiverTest, TaskKeyDefaultsTheNamespace) {
  api::ContainerTask t = Task();
  EXPECT_EQ(TaskKey(t), "default/hello");
  t.metadata.namespace_ = "";
  EXPECT_EQ(TaskKey(t), "default/hello");
  t.metadata.namespace_ = "team-a";
  EXPECT_EQ(TaskKey(t), "team-a/hello");
}

TEST_F(LogArchiverTest, ArchivesTheWholeOutputAndTheTail) {
  const api::ContainerTask task = Task();
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  std::mutex shown_mu;
  std::string shown_out, shown_err;
  LogArchiver& archiver = Archiver([&](const std::string& k, int attempt, LogStream stream, std::string_view data) {
    EXPECT_EQ(k, "default/hello");
    EXPECT_EQ(attempt, 1);
    std::lock_guard lock(shown_mu);
    (stream == LogStream::kStdout ? shown_out : shown_err).append(data);
  });
  archiver.Ensure(task, 1);
  EXPECT_EQ(archiver.Finished("default/hello", 1), std::nullopt) << "still running";

  runtime_.AppendOutput(key, 1, "one\ntw");
  runtime_.AppendOutput(key, 1, "o\n", LogStream::kStdout);
  runtime_.AppendOutput(key, 1, "oops\n", LogStream::kStderr);
  runtime_.Exit(key, 1, 0);
  ASSERT_TRUE(latch_.WaitFor("default/hello"));

  std::optional<ArchivedLog> log = archiver.Finished("default/hello", 1);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->attempt, 1);
  EXPECT_EQ(log->tail, "one\ntwo\noops\n");
  EXPECT_EQ(log->error, "");
  ASSERT_TRUE(log->summary.has_value());
  EXPECT_EQ(log->summary->size_bytes, 13);
  EXPECT_FALSE(log->summary->truncated);
  EXPECT_EQ(log->summary->sha256, Sha256Hex("one\ntwo\noops\n"));
  EXPECT_EQ(log->summary->location, store_->LogPath("default", "hello"));

  Result<std::string> artifact = store_->ReadLog("default", "hello", 0);
  ASSERT_TRUE(artifact.has_value()) << artifact.error().message();
  EXPECT_EQ(*artifact, "one\ntwo\noops\n");
  std::lock_guard lock(shown_mu);
  EXPECT_EQ(shown_out, "one\ntwo\n");
  EXPECT_EQ(shown_err, "oops\n");
  EXPECT_EQ(latch_.count("default/hello"), 1);
}

TEST_F(LogArchiverTest, EnsureTwiceFollowsOnce) {
  const api::ContainerTask task = Task();
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  LogArchiver& archiver = Archiver();
  archiver.Ensure(task, 1);
  archiver.Ensure(task, 1);
  runtime_.Exit(key, 1, 0);
  ASSERT_TRUE(latch_.WaitFor("default/hello"));
  archiver.Ensure(task, 1);  // finished already: not again
  archiver.Ensure(task, 1);
  EXPECT_EQ(runtime_.follows(key, 1), 1);
  EXPECT_EQ(latch_.count("default/hello"), 1);
  EXPECT_TRUE(archiver.Finished("default/hello", 1).has_value());
}

TEST_F(LogArchiverTest, WithoutArchiveOnlyTheTailIsKept) {
  api::ContainerTask task = Task();
  task.spec.logs.archive = false;
  task.spec.logs.tail_lines = 2;
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  LogArchiver& archiver = Archiver();
  archiver.Ensure(task, 1);
  runtime_.AppendOutput(key, 1, "a\nb\nc\n");
  runtime_.Exit(key, 1, 1);
  ASSERT_TRUE(latch_.WaitFor("default/hello"));
  std::optional<ArchivedLog> log = archiver.Finished("default/hello", 1);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->tail, "b\nc\n");
  EXPECT_EQ(log->summary, std::nullopt);
  EXPECT_EQ(log->error, "");
  Result<std::string> artifact = store_->ReadLog("default", "hello", 0);
  ASSERT_FALSE(artifact.has_value());
  EXPECT_EQ(artifact.error().code(), ErrorCode::kNotFound);
}

TEST_F(LogArchiverTest, TheArchiveLimitCutsAndMarks) {
  api::ContainerTask task = Task();
  task.spec.logs.archive_limit_bytes = 10;
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  LogArchiver& archiver = Archiver();
  archiver.Ensure(task, 1);
  runtime_.AppendOutput(key, 1, "0123456789abcdef\n");
  runtime_.Exit(key, 1, 0);
  ASSERT_TRUE(latch_.WaitFor("default/hello"));
  std::optional<ArchivedLog> log = archiver.Finished("default/hello", 1);
  ASSERT_TRUE(log.has_value() && log->summary.has_value());
  EXPECT_TRUE(log->summary->truncated);
  EXPECT_EQ(log->summary->dropped_bytes, 7);
  const std::string want = "0123456789" + store::TruncationMarker(7);
  EXPECT_EQ(log->summary->size_bytes, static_cast<int64_t>(want.size()));
  EXPECT_EQ(store_->ReadLog("default", "hello", 0).value_or("?"), want);
  EXPECT_EQ(log->tail, "0123456789abcdef\n") << "the tail is not cut by the archive limit";
}

TEST_F(LogArchiverTest, ANewerAttemptReplacesTheOlder) {
  const api::ContainerTask task = Task();
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  LogArchiver& archiver = Archiver();
  archiver.Ensure(task, 1);
  runtime_.AppendOutput(key, 1, "first\n");
  runtime_.Exit(key, 1, 1);
  ASSERT_TRUE(latch_.WaitFor("default/hello", 1));
  ASSERT_TRUE(archiver.Finished("default/hello", 1).has_value());

  Start(task, 2);
  archiver.Ensure(task, 2);
  EXPECT_EQ(archiver.Finished("default/hello", 1), std::nullopt) << "attempt 1 was replaced";
  archiver.Ensure(task, 1);  // an older attempt never replaces a newer one
  EXPECT_EQ(runtime_.follows(key, 1), 1);
  runtime_.AppendOutput(key, 2, "second\n");
  runtime_.Exit(key, 2, 0);
  ASSERT_TRUE(latch_.WaitFor("default/hello", 2));
  std::optional<ArchivedLog> log = archiver.Finished("default/hello", 2);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->attempt, 2);
  EXPECT_EQ(log->tail, "second\n");
  EXPECT_EQ(store_->ReadLog("default", "hello", 0).value_or("?"), "second\n") << "the artifact is the latest run";
}

TEST_F(LogArchiverTest, ABrokenFollowStartsAgainAndTheArtifactIsWhole) {
  const api::ContainerTask task = Task();
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  runtime_.AppendOutput(key, 1, "line\n");
  runtime_.FailFollows(key, 1, kMaxFollowTries - 1, Error(ErrorCode::kUnavailable, "connection reset"));
  runtime_.Exit(key, 1, 0);
  LogArchiver& archiver = Archiver();
  archiver.Ensure(task, 1);
  ASSERT_TRUE(latch_.WaitFor("default/hello"));
  std::optional<ArchivedLog> log = archiver.Finished("default/hello", 1);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->error, "");
  EXPECT_EQ(log->tail, "line\n") << "not repeated by the retries";
  EXPECT_EQ(store_->ReadLog("default", "hello", 0).value_or("?"), "line\n");
  EXPECT_EQ(runtime_.follows(key, 1), kMaxFollowTries);
}

TEST_F(LogArchiverTest, AFollowThatKeepsBreakingEndsWithTheError) {
  const api::ContainerTask task = Task();
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  runtime_.AppendOutput(key, 1, "partial\n");
  runtime_.FailFollows(key, 1, kMaxFollowTries + 5, Error(ErrorCode::kUnavailable, "connection reset"));
  LogArchiver& archiver = Archiver();
  archiver.Ensure(task, 1);
  ASSERT_TRUE(latch_.WaitFor("default/hello"));
  std::optional<ArchivedLog> log = archiver.Finished("default/hello", 1);
  ASSERT_TRUE(log.has_value());
  EXPECT_NE(log->error.find("connection reset"), std::string::npos) << log->error;
  EXPECT_EQ(log->tail, "partial\n") << "what was read";
  ASSERT_TRUE(log->summary.has_value());
  EXPECT_EQ(log->summary->size_bytes, 8);
  EXPECT_EQ(runtime_.follows(key, 1), kMaxFollowTries);
}

// The workload removed after its output (a cancelled pod deleted): a new
// try could read nothing and would start the artifact afresh, so what was
// read is kept, with the error.
TEST_F(LogArchiverTest, AWorkloadGoneAfterItsOutputKeepsWhatWasRead) {
  const api::ContainerTask task = Task();
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  runtime_.AppendOutput(key, 1, "working\n");
  runtime_.FailFollows(key, 1, kMaxFollowTries + 5, Error(ErrorCode::kNotFound, "pods \"hello-1-x\" not found"));
  LogArchiver& archiver = Archiver();
  archiver.Ensure(task, 1);
  ASSERT_TRUE(latch_.WaitFor("default/hello"));
  std::optional<ArchivedLog> log = archiver.Finished("default/hello", 1);
  ASSERT_TRUE(log.has_value());
  EXPECT_NE(log->error.find("not found"), std::string::npos) << log->error;
  EXPECT_EQ(store_->ReadLog("default", "hello", 0).value_or("?"), "working\n");
  EXPECT_EQ(runtime_.follows(key, 1), 1) << "no try after the workload is gone";
}

TEST_F(LogArchiverTest, ForgetStopsTheFollowerWithoutAResult) {
  const api::ContainerTask task = Task();
  const std::string key = FakeRuntime::Key(task);
  Start(task, 1);
  LogArchiver& archiver = Archiver();
  archiver.Ensure(task, 1);
  runtime_.AppendOutput(key, 1, "running\n");
  ASSERT_TRUE(runtime_.WaitForActiveFollows(1, kHangGuard));
  archiver.Forget("default/hello");  // joins: the fake honours the stop token
  EXPECT_EQ(runtime_.active_follows(), 0);
  EXPECT_EQ(archiver.Finished("default/hello", 1), std::nullopt);
  EXPECT_EQ(latch_.count("default/hello"), 0);
  archiver.Forget("default/hello");  // nothing to forget: harmless
  // Following again starts afresh.
  archiver.Ensure(task, 1);
  runtime_.Exit(key, 1, 0);
  ASSERT_TRUE(latch_.WaitFor("default/hello"));
  EXPECT_EQ(archiver.Finished("default/hello", 1).value_or(ArchivedLog{}).tail, "running\n");
  EXPECT_EQ(runtime_.follows(key, 1), 2);
}

TEST_F(LogArchiverTest, DestructionStopsRunningFollowers) {
  std::vector<api::ContainerTask> tasks = {Task("a"), Task("b"), Task("c")};
  LogArchiver& archiver = Archiver();
  for (const auto& task : tasks) {
    Start(task, 1);
    archiver.Ensure(task, 1);
  }
  archiver_.reset();  // must not hang: followers are stopped and joined
  EXPECT_EQ(runtime_.active_follows(), 0);
  for (const auto& task : tasks) {
    EXPECT_EQ(latch_.count(TaskKey(task)), 0);
    EXPECT_TRUE(runtime_.exists(FakeRuntime::Key(task), 1)) << "workloads keep running";
  }
}

TEST_F(LogArchiverTest, TasksAreFollowedIndependently) {
  const api::ContainerTask a = Task("a");
  const api::ContainerTask b = Task("b");
  Start(a, 1);
  Start(b, 1);
  LogArchiver& archiver = Archiver();
  archiver.Ensure(a, 1);
  archiver.Ensure(b, 1);
  runtime_.AppendOutput(FakeRuntime::Key(b), 1, "bee\n");
  runtime_.Exit(FakeRuntime::Key(b), 1, 0);
  ASSERT_TRUE(latch_.WaitFor("default/b"));
  EXPECT_EQ(archiver.Finished("default/a", 1), std::nullopt) << "a still runs";
  EXPECT_EQ(archiver.Finished("default/b", 1).value_or(ArchivedLog{}).tail, "bee\n");
  runtime_.Exit(FakeRuntime::Key(a), 1, 0);
  ASSERT_TRUE(latch_.WaitFor("default/a"));
  EXPECT_EQ(archiver.Finished("default/a", 1).value_or(ArchivedLog{}).tail, "");
}

}  // namespace
}  // namespace ctask::reconcile
