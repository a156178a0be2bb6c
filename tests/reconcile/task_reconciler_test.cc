// TaskReconciler over the fake runtime, a real LogArchiver and a real
// FileStore in a temporary directory. The clock is a variable the test moves;
// the only waits are for a follow to end (on_finished), with a timeout that
// guards against a hang.
#include "reconcile/task_reconciler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "fakes/fake_clock.h"
#include "fakes/fake_runtime.h"
#include "fakes/fault_store.h"
#include "reconcile/outcome.h"
#include "reconcile/settle.h"
#include "render/labels.h"
#include "status/decide.h"
#include "store/file_store.h"
#include "util/sha256.h"

namespace ctask::reconcile {
namespace {

namespace fs = std::filesystem;
using fakes::FakeRuntime;
using runtime::WorkloadState;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kHangGuard = std::chrono::seconds(20);
const Timestamp kT0 = *ParseRfc3339("2026-11-23T10:00:00Z");

class TaskReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ctask-reconciler-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto opened = store::FileStore::Open(root_.string());
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    file_store_ = std::move(*opened);
    store_ = std::make_unique<fakes::FaultStore>(*file_store_);
    archiver_ = std::make_unique<LogArchiver>(*store_, runtime_, [this](const std::string& key) {
      std::lock_guard lock(mu_);
      ++finished_[key];
      cv_.notify_all();
    });
    reconciler_ = std::make_unique<TaskReconciler>(
        *store_, runtime_, *archiver_, clock_, ReconcilerOptions{},
        [this](const api::ContainerTask& task) {
          std::lock_guard lock(mu_);
          written_.push_back(task);
        },
        [this](const api::ContainerTask& /*task*/, const status::TaskEvent& event) {
          std::lock_guard lock(mu_);
          events_.push_back(event.type + " " + event.reason);
        });
  }
  void TearDown() override {
    reconciler_.reset();
    archiver_.reset();
    fs::remove_all(root_);
  }

  static api::ContainerTask NewTask(std::string name = "hello") {
    api::ContainerTask t;
    t.metadata.namespace_ = "default";
    t.metadata.name = std::move(name);
    t.metadata.uid = "uid-" + t.metadata.name;
    t.metadata.generation = 1;
    t.spec.image = "busybox";
    t.spec.command = {"sh", "-c", "echo hi"};
    return t;
  }
  void Create(const api::ContainerTask& task) { ASSERT_TRUE(store_->Put(task).has_value()); }

  ReconcileResult Reconcile(const std::string& name = "hello") {
    Result<ReconcileResult> r = reconciler_->Reconcile("default", name);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(ReconcileResult{});
  }
  api::ContainerTask Stored(const std::string& name = "hello") {
    Result<api::ContainerTask> t = file_store_->Get("default", name);
    EXPECT_TRUE(t.has_value()) << t.error().message();
    return t.value_or(api::ContainerTask{});
  }
  // Waits until the follow of the task has ended `n` times in all.
  void WaitLogFinished(const std::string& key, int n = 1) {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, kHangGuard, [&] { return finished_[key] >= n; })) << "no end of follow";
  }
  std::vector<api::ContainerTask> Written() {
    std::lock_guard lock(mu_);
    return written_;
  }
  static std::string LogAttempt(const api::ContainerTask& t) {
    auto it = t.metadata.annotations.find(render::kAnnotationLogAttempt);
    return it == t.metadata.annotations.end() ? "" : it->second;
  }

  // Runs `name`'s current attempt to exit `code` with `output`, then
  // reconciles until its log is merged.
  void ExitAndMerge(const std::string& key, int attempt, int code, const std::string& output, int follows_ended) {
    runtime_.AppendOutput(key, attempt, output);
    runtime_.Exit(key, attempt, code, WallTimestamp(clock_));
    WaitLogFinished("default/hello", follows_ended);
  }

  fs::path root_;
  fakes::FakeClock clock_{kT0};
  FakeRuntime runtime_{kT0};
  std::unique_ptr<store::FileStore> file_store_;
  std::unique_ptr<fakes::FaultStore> store_;
  std::unique_ptr<LogArchiver> archiver_;
  std::unique_ptr<TaskReconciler> reconciler_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> finished_;      // guarded by mu_
  std::vector<api::ContainerTask> written_;  // guarded by mu_
  std::vector<std::string> events_;          // guarded by mu_: "Normal Running", ...
  std::vector<std::string> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }
};

TEST_F(TaskReconcilerTest, AGoneTaskIsSettled) {
  ReconcileResult r = Reconcile("nothing-here");
  EXPECT_TRUE(r.settled);
  EXPECT_EQ(r.requeue_after, std::nullopt);
  EXPECT_EQ(runtime_.total_applies(), 0);
}

TEST_F(TaskReconcilerTest, PendingRunningSucceededWithTheLogInTheSameWrite) {
  Create(NewTask());
  const std::string key = "uid-hello";

  // 1. Pending: the first attempt is applied.
  ReconcileResult r = Reconcile();
  EXPECT_FALSE(r.settled);
  EXPECT_EQ(r.requeue_after, milliseconds(0));
  api::ContainerTask t = Stored();
  EXPECT_EQ(t.status.phase, api::phase::kPending);
  EXPECT_EQ(t.status.attempts, 1);
  EXPECT_EQ(t.status.start_time, kT0);
  EXPECT_EQ(runtime_.applies(key, 1), 1);

  // 2. Running.
  clock_.SetWall(kT0 + seconds(1));
  r = Reconcile();
  EXPECT_FALSE(r.settled);
  // A running attempt is looked at again for its growing logTail.
  EXPECT_EQ(r.requeue_after,
            milliseconds(std::min(ReconcilerOptions{}.running_resync, ReconcilerOptions{}.log_tail_interval)));
  EXPECT_EQ(Stored().status.phase, api::phase::kRunning);

  // 3. Exited, but its log is still being read: the status waits for it.
  clock_.SetWall(kT0 + seconds(5));
  runtime_.HoldLogEnd(key, 1);
  runtime_.AppendOutput(key, 1, "hello\nworld\n");
  runtime_.Exit(key, 1, 0, WallTimestamp(clock_));
  const size_t writes_before = Written().size();
  r = Reconcile();
  EXPECT_FALSE(r.settled);
  EXPECT_TRUE(r.requeue_after.has_value());
  EXPECT_EQ(Written().size(), writes_before) << "no status written before the log is complete";
  EXPECT_EQ(Stored().status.phase, api::phase::kRunning);

  // 4. The log is complete: Succeeded, tail, artifact and annotation at once.
  runtime_.ReleaseLogEnd(key, 1);
  WaitLogFinished("default/hello");
  r = Reconcile();
  // Just finished: looked at once more as finished (the TTLs start there).
  EXPECT_FALSE(r.settled);
  EXPECT_EQ(r.requeue_after, std::chrono::milliseconds(0));
  const std::vector<api::ContainerTask> written = Written();
  ASSERT_GT(written.size(), writes_before);
  const api::ContainerTask& terminal = written[writes_before];
  EXPECT_EQ(terminal.status.phase, api::phase::kSucceeded);
  EXPECT_EQ(terminal.status.reason, status::reason::kCompleted);
  EXPECT_EQ(terminal.status.exit_code, 0);
  EXPECT_EQ(terminal.status.log_tail, "hello\nworld\n");
  ASSERT_TRUE(terminal.status.artifacts.log.has_value());
  EXPECT_EQ(terminal.status.artifacts.log->kind, "File");
  EXPECT_EQ(terminal.status.artifacts.log->name, file_store_->LogPath("default", "hello"));
  EXPECT_EQ(terminal.status.artifacts.log->size_bytes, 12);
  EXPECT_EQ(terminal.status.artifacts.log->sha256, Sha256Hex("hello\nworld\n"));
  EXPECT_EQ(LogAttempt(terminal), "1");
  // What the store holds is that record.
  t = Stored();
  EXPECT_EQ(t.status.phase, api::phase::kSucceeded);
  EXPECT_EQ(t.status.log_tail, "hello\nworld\n");
  EXPECT_EQ(LogAttempt(t), "1");
  EXPECT_EQ(file_store_->ReadLog("default", "hello", 0).value_or("?"), "hello\nworld\n");

  // 5. Settled stays settled, and writes nothing more.
  const size_t writes_after = Written().size();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Reconcile().settled);
  EXPECT_EQ(Written().size(), writes_after);
  EXPECT_EQ(runtime_.applies(key, 1), 1);
  EXPECT_EQ(runtime_.stops(key, 1), 0);
}

TEST_F(TaskReconcilerTest, ApplyIsCalledOncePerAttempt) {
  Create(NewTask());
  const std::string key = "uid-hello";
  Reconcile();
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(seconds(1));
    ReconcileResult r = Reconcile();
    EXPECT_FALSE(r.settled);
  }
  runtime_.HoldLogEnd(key, 1);
  runtime_.Exit(key, 1, 0, WallTimestamp(clock_));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(Reconcile().settled) << "the log is not complete yet";
  runtime_.ReleaseLogEnd(key, 1);
  WaitLogFinished("default/hello");
  for (int i = 0; i < 5; ++i) Reconcile();
  EXPECT_EQ(Stored().status.phase, api::phase::kSucceeded);
  EXPECT_EQ(runtime_.applies(key, 1), 1);
  EXPECT_EQ(runtime_.total_applies(), 1);
  EXPECT_EQ(runtime_.follows(key, 1), 1);
}

TEST_F(TaskReconcilerTest, AFailedAttemptIsRetriedAfterTheBackoff) {
  api::ContainerTask task = NewTask();
  task.spec.retries = 1;
  task.spec.retry_policy.backoff_seconds = 10;
  Create(task);
  const std::string key = "uid-hello";
  Reconcile();  // apply 1
  Reconcile();  // running
  clock_.SetWall(kT0 + seconds(5));
  ExitAndMerge(key, 1, 1, "attempt one failed\n", 1);

  ReconcileResult r = Reconcile();
  api::ContainerTask t = Stored();
  EXPECT_EQ(t.status.phase, api::phase::kQueued);
  EXPECT_EQ(t.status.reason, status::reason::kRetrying);
  EXPECT_EQ(t.status.attempts, 2);
  EXPECT_EQ(t.status.log_tail, "attempt one failed\n");
  EXPECT_EQ(LogAttempt(t), "1");
  EXPECT_FALSE(r.settled);
  EXPECT_EQ(r.requeue_after, milliseconds(seconds(10)));
  EXPECT_EQ(runtime_.applies(key, 2), 0) << "not before the backoff";

  // Still inside the backoff: nothing starts.
  clock_.SetWall(kT0 + seconds(14));
  r = Reconcile();
  EXPECT_EQ(runtime_.applies(key, 2), 0);
  EXPECT_EQ(r.requeue_after, milliseconds(seconds(1)));

  // The backoff passed: attempt 2 starts, once.
  clock_.SetWall(kT0 + seconds(15));
  r = Reconcile();
  EXPECT_EQ(runtime_.applies(key, 2), 1);
  EXPECT_EQ(Stored().status.phase, api::phase::kPending);
  Reconcile();
  Reconcile();
  EXPECT_EQ(Stored().status.phase, api::phase::kRunning);
  EXPECT_EQ(runtime_.applies(key, 2), 1);

  clock_.SetWall(kT0 + seconds(20));
  ExitAndMerge(key, 2, 0, "attempt two ok\n", 2);
  r = Reconcile();
  EXPECT_FALSE(r.settled);
  EXPECT_TRUE(Reconcile().settled);
  t = Stored();
  EXPECT_EQ(t.status.phase, api::phase::kSucceeded);
  EXPECT_EQ(t.status.attempts, 2);
  EXPECT_EQ(t.status.log_tail, "attempt two ok\n");
  EXPECT_EQ(LogAttempt(t), "2");
  ASSERT_EQ(t.status.history.size(), 2u);
  EXPECT_EQ(t.status.history[0].reason, status::reason::kError);
  EXPECT_EQ(t.status.history[1].reason, status::reason::kCompleted);
  EXPECT_EQ(file_store_->ReadLog("default", "hello", 0).value_or("?"), "attempt two ok\n");
  EXPECT_EQ(runtime_.applies(key, 1), 1);
  EXPECT_EQ(runtime_.applies(key, 2), 1);
}

TEST_F(TaskReconcilerTest, AStartFailureFailsTheTaskAndSettles) {
  runtime_.SetApplyHook([](const api::ContainerTask&, int, runtime::Observation& o) -> Status {
    o.state = WorkloadState::kWaiting;
    o.waiting_reason = "ImagePullFailed";
    o.waiting_message = "image \"busybox\" could not be pulled";
    o.waiting_permanent = true;
    return MakeError(ErrorCode::kFailedPrecondition, "image \"busybox\" could not be pulled");
  });
  Create(NewTask());
  const std::string key = "uid-hello";
  ReconcileResult r = Reconcile();  // Apply fails: not a reconcile error
  EXPECT_EQ(r.requeue_after, milliseconds(0));
  EXPECT_FALSE(r.settled);

  r = Reconcile();  // Waiting, permanent: Failed, and the attempt is stopped
  api::ContainerTask t = Stored();
  EXPECT_EQ(t.status.phase, api::phase::kFailed);
  EXPECT_EQ(t.status.reason, "ImagePullFailed");
  EXPECT_NE(t.status.message.find("could not be pulled"), std::string::npos) << t.status.message;
  EXPECT_FALSE(r.settled) << "the stop is still to be seen";
  EXPECT_EQ(runtime_.stops(key, 1), 1);

  int settled_at = -1;
  for (int i = 0; i < 10 && settled_at < 0; ++i) {
    if (Reconcile().settled) settled_at = i;
  }
  EXPECT_EQ(settled_at, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Reconcile().settled);
  EXPECT_EQ(runtime_.stops(key, 1), 1) << "no stop loop";
  EXPECT_EQ(runtime_.applies(key, 1), 1);
  EXPECT_EQ(Stored().status.phase, api::phase::kFailed);
}

// A workload the backend refuses for good (the API server answered 422 for
// the Job, or 403 for a missing permission) fails the task naming the cause,
// is returned as a terminal error (outcome.h: never retried), and is never
// applied again.
TEST_F(TaskReconcilerTest, ARefusedWorkloadFailsTheTaskTerminallyNamingTheCause) {
  struct Case {
    std::string name;
    ErrorCode code;
    std::string refusal;
    std::string want_reason;
  };
  const std::vector<Case> cases = {
      {.name = "invalid",
       .code = ErrorCode::kInvalidArgument,
       .refusal = "Job.batch \"invalid-1\" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: "
                  "Invalid value: \"-2\": must be greater than or equal to 0",
       .want_reason = "InvalidSpec"},
      {.name = "forbidden",
       .code = ErrorCode::kPermissionDenied,
       .refusal = "jobs.batch is forbidden: User \"system:serviceaccount:ctask-system:ctask\" cannot create "
                  "resource \"jobs\" in API group \"batch\" in the namespace \"default\"",
       .want_reason = "Forbidden"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    runtime_.SetApplyHook(
        [&](const api::ContainerTask&, int, runtime::Observation&) -> Status { return MakeError(c.code, c.refusal); });
    Create(NewTask(c.name));
    Result<ReconcileResult> r = reconciler_->Reconcile("default", c.name);
    ASSERT_FALSE(r.has_value()) << "the refusal is returned";
    EXPECT_EQ(r.error().code(), c.code);
    EXPECT_TRUE(IsTerminalError(r.error()));

    api::ContainerTask t = Stored(c.name);
    EXPECT_EQ(t.status.phase, api::phase::kFailed);
    EXPECT_EQ(t.status.reason, c.want_reason);
    EXPECT_NE(t.status.message.find(c.refusal), std::string::npos) << t.status.message;
    EXPECT_TRUE(t.status.completion_time.has_value());
    ASSERT_EQ(t.status.history.size(), 1u);
    EXPECT_EQ(t.status.history[0].reason, c.want_reason);
    bool stalled = false;
    for (const api::Condition& cond : t.status.conditions) {
      if (cond.type == "Succeeded") {
        EXPECT_EQ(cond.status, "False");
      }
      if (cond.type == "Stalled") stalled = cond.status == "True";
    }
    EXPECT_TRUE(stalled);

    // Looked at again (a watch event, a restart): settled, never applied again.
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(Reconcile(c.name).settled);
    EXPECT_EQ(runtime_.applies("uid-" + c.name, 1), 1);
  }
  const std::vector<std::string> events = Events();
  EXPECT_NE(std::find(events.begin(), events.end(), "Warning InvalidSpec"), events.end());
  EXPECT_NE(std::find(events.begin(), events.end(), "Warning Forbidden"), events.end());
}

// A running task marked for deletion takes several passes (stop, the end
// of its log, the archive, removal); ReconcileUntilSettled drives them all.
// One Reconcile alone was what `ctask delete` did (issue 9).
TEST_F(TaskReconcilerTest, ReconcileUntilSettledRemovesARunningTaskCompletely) {
  Create(NewTask());
  Reconcile();  // Pending, attempt 1 applied
  Reconcile();  // Running
  ASSERT_EQ(Stored().status.phase, api::phase::kRunning);
  runtime_.AppendOutput("uid-hello", 1, "partial output\n");
  api::ContainerTask marked = Stored();
  marked.metadata.deletion_timestamp = WallTimestamp(clock_);
  ASSERT_TRUE(store_->Put(marked).has_value());

  Result<ReconcileResult> once = reconciler_->Reconcile("default", "hello");
  ASSERT_TRUE(once.has_value());
  EXPECT_FALSE(once->settled) << "one pass cannot finish a running task's deletion";

  SettleOptions options;
  options.deadline = RealClock().Steady() + kHangGuard;
  Result<bool> settled = ReconcileUntilSettled(*reconciler_, "default", "hello", options);
  ASSERT_TRUE(settled.has_value()) << settled.error().message();
  EXPECT_TRUE(*settled);
  EXPECT_EQ(file_store_->Get("default", "hello").error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(runtime_.exists("uid-hello", 1));
  EXPECT_GE(runtime_.stops("uid-hello", 1), 1);
  EXPECT_EQ(runtime_.deletes("uid-hello", 1), 1);
}

TEST_F(TaskReconcilerTest, ReconcileUntilSettledGivesUpAtItsDeadline) {
  Create(NewTask());
  Reconcile();
  Reconcile();  // Running, and it stays so: nothing settles it
  SettleOptions options;
  fakes::FakeClock settle_clock;
  options.clock = &settle_clock;
  options.deadline = settle_clock.Steady();
  Result<bool> settled = ReconcileUntilSettled(*reconciler_, "default", "hello", options);
  ASSERT_TRUE(settled.has_value());
  EXPECT_FALSE(*settled);
  EXPECT_TRUE(settle_clock.Sleeps().empty());
}

TEST_F(TaskReconcilerTest, ADeletedTaskLosesEveryAttemptAndItsRecord) {
  api::ContainerTask task = NewTask();
  task.spec.retries = 1;
  task.spec.retry_policy.backoff_seconds = 1;
  Create(task);
  const std::string key = "uid-hello";
  Reconcile();
  Reconcile();
  ExitAndMerge(key, 1, 1, "x\n", 1);
  Reconcile();
  clock_.Advance(seconds(5));
  Reconcile();  // attempt 2 applied
  Reconcile();  // running
  ASSERT_EQ(runtime_.applies(key, 2), 1);

  api::ContainerTask deleting = Stored();
  deleting.metadata.deletion_timestamp = WallTimestamp(clock_);
  ASSERT_TRUE(file_store_->Put(deleting).has_value());
  runtime_.AppendOutput(key, 2, "last words\n");
  // a. The running attempt is stopped and its log archived before anything
  //    is removed (the finalizer's promise in Kubernetes).
  ReconcileResult r = Reconcile();
  EXPECT_FALSE(r.settled);
  EXPECT_EQ(runtime_.stops(key, 2), 1);
  EXPECT_EQ(runtime_.deletes(key, 2), 0);
  WaitLogFinished("default/hello", 2);
  r = Reconcile();
  EXPECT_FALSE(r.settled);
  EXPECT_EQ(LogAttempt(Stored()), "2") << "the archive is in the record";
  EXPECT_EQ(Stored().status.log_tail, "last words\n");
  EXPECT_EQ(runtime_.deletes(key, 2), 0) << "nothing removed before the archive is recorded";
  const std::vector<std::string> events = Events();
  EXPECT_NE(std::find(events.begin(), events.end(), "Normal LogArchived"), events.end());
  // b. Then the workloads and the record.
  r = Reconcile();
  EXPECT_TRUE(r.settled);
  EXPECT_EQ(runtime_.stops(key, 1), 1);
  EXPECT_EQ(runtime_.stops(key, 2), 2);
  EXPECT_EQ(runtime_.deletes(key, 1), 1);
  EXPECT_EQ(runtime_.deletes(key, 2), 1);
  EXPECT_FALSE(runtime_.exists(key, 1));
  EXPECT_FALSE(runtime_.exists(key, 2));
  Result<api::ContainerTask> gone = file_store_->Get("default", "hello");
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(runtime_.active_follows(), 0) << "the follower was forgotten";
  EXPECT_TRUE(Reconcile().settled);
}

TEST_F(TaskReconcilerTest, AFailingRemovalIsRetriedAndKeepsTheRecord) {
  api::ContainerTask task = NewTask();
  task.metadata.deletion_timestamp = kT0;
  Create(task);
  runtime_.SetUnavailable(Error(ErrorCode::kUnavailable, "daemon away"));
  Result<ReconcileResult> r = reconciler_->Reconcile("default", "hello");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(file_store_->Get("default", "hello").has_value()) << "kept until its workloads are gone";
  runtime_.SetUnavailable(std::nullopt);
  EXPECT_TRUE(Reconcile().settled);
  EXPECT_FALSE(file_store_->Get("default", "hello").has_value());
}

TEST_F(TaskReconcilerTest, AStoreConflictIsReturnedAndTheNextReconcileConverges) {
  Create(NewTask());
  const std::string key = "uid-hello";
  // Right after the reconciler's read, another writer puts a newer version.
  store_->AfterNextGet([](store::Store& inner, const api::ContainerTask& got) {
    api::ContainerTask newer = got;
    newer.metadata.labels["edited"] = "by-someone-else";
    if (Status put = inner.Put(newer); !put) ADD_FAILURE() << put.error().message();
  });
  Result<ReconcileResult> r = reconciler_->Reconcile("default", "hello");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(runtime_.total_applies(), 0) << "no action after a failed write";
  api::ContainerTask t = Stored();
  EXPECT_EQ(t.metadata.labels["edited"], "by-someone-else") << "the other writer's record stands";
  EXPECT_EQ(t.status.phase, "");

  ReconcileResult again = Reconcile();
  EXPECT_FALSE(again.settled);
  t = Stored();
  EXPECT_EQ(t.status.phase, api::phase::kPending);
  EXPECT_EQ(t.metadata.labels["edited"], "by-someone-else");
  EXPECT_EQ(runtime_.applies(key, 1), 1);
}

TEST_F(TaskReconcilerTest, AnInvalidSpecFailsAtOnceWithoutStarting) {
  api::ContainerTask task = NewTask();
  task.spec.image = "bad::image";
  Create(task);
  ReconcileResult r = Reconcile();
  api::ContainerTask t = Stored();
  EXPECT_EQ(t.status.phase, api::phase::kFailed);
  EXPECT_EQ(t.status.reason, status::reason::kInvalidSpec);
  EXPECT_FALSE(r.settled);
  EXPECT_TRUE(Reconcile().settled);
  EXPECT_EQ(runtime_.total_applies(), 0);
}

TEST_F(TaskReconcilerTest, CancellingARunningTaskStopsItThenSettles) {
  Create(NewTask());
  const std::string key = "uid-hello";
  Reconcile();
  Reconcile();
  api::ContainerTask t = Stored();
  t.spec.cancel = true;
  ASSERT_TRUE(file_store_->Put(t).has_value());
  ReconcileResult r = Reconcile();
  EXPECT_FALSE(r.settled);
  EXPECT_EQ(Stored().status.phase, api::phase::kCancelled);
  EXPECT_EQ(runtime_.stops(key, 1), 1);
  // The stopped attempt's log is merged before the task counts as settled.
  WaitLogFinished("default/hello");
  bool settled = false;
  for (int i = 0; i < 3 && !settled; ++i) settled = Reconcile().settled;
  EXPECT_TRUE(settled);
  t = Stored();
  EXPECT_EQ(t.status.phase, api::phase::kCancelled);
  EXPECT_EQ(LogAttempt(t), "1");
  EXPECT_EQ(runtime_.stops(key, 1), 1);
}

TEST_F(TaskReconcilerTest, ATransientObserveErrorIsReturned) {
  Create(NewTask());
  Reconcile();
  runtime_.SetUnavailable(Error(ErrorCode::kUnavailable, "daemon away"));
  Result<ReconcileResult> r = reconciler_->Reconcile("default", "hello");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  runtime_.SetUnavailable(std::nullopt);
  Reconcile();
  EXPECT_EQ(Stored().status.phase, api::phase::kRunning);
  EXPECT_EQ(runtime_.total_applies(), 1);
}

}  // namespace
}  // namespace ctask::reconcile

namespace ctask::reconcile {
namespace {

TEST_F(TaskReconcilerTest, EveryTransitionIsOneEvent) {
  Create(NewTask());
  const std::string key = "uid-hello";
  Reconcile();  // Pending
  Reconcile();  // Running
  Reconcile();  // Running again: no new event
  ExitAndMerge(key, 1, 0, "done\n", 1);
  Reconcile();  // Succeeded
  Reconcile();
  EXPECT_EQ(Events(), (std::vector<std::string>{"Normal Starting", "Normal Running", "Normal Completed"}));
}

TEST_F(TaskReconcilerTest, ARunningTasksLogTailIsWrittenAtMostOncePerInterval) {
  Create(NewTask());
  const std::string key = "uid-hello";
  Reconcile();
  Reconcile();  // running, followed
  ASSERT_TRUE(runtime_.WaitForActiveFollows(1, kHangGuard));
  runtime_.AppendOutput(key, 1, "one\n");
  // The follower copies output on its own thread: look until it shows.
  for (int i = 0; i < 200 && Stored().status.log_tail.empty(); ++i) {
    Reconcile();
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(Stored().status.log_tail, "one\n");
  runtime_.AppendOutput(key, 1, "two\n");
  std::this_thread::sleep_for(milliseconds(100));
  ReconcileResult r = Reconcile();
  EXPECT_EQ(Stored().status.log_tail, "one\n") << "not again within log_tail_interval";
  ASSERT_TRUE(r.requeue_after);
  EXPECT_LE(*r.requeue_after, milliseconds(ReconcilerOptions{}.log_tail_interval));
  clock_.Advance(ReconcilerOptions{}.log_tail_interval);
  Reconcile();
  EXPECT_EQ(Stored().status.log_tail, "one\ntwo\n");
}

}  // namespace
}  // namespace ctask::reconcile
