// TaskReconciler over the fake runtime, a real LogArchiver and the
// in-memory store (tests/fakes/memory_store.h), as one table of named cases (the Job
// controller's TestControllerSyncJob). A case is a task, the steps that bring
// the record and the fake runtime to the state under test (reconciles, a
// workload's output and exit, the clock), the reconcile(s) under test, and
// what they must give: the result, the record, the runtime's calls, the
// events. Time is a fake clock; the only waits are handshakes with the
// archiver's follower threads (a follow ended, output delivered), each
// bounded by a timeout that guards against a hang.
#include "reconcile/task_reconciler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/codec.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_runtime.h"
#include "fakes/fault_store.h"
#include "fakes/memory_store.h"
#include "reconcile/outcome.h"
#include "reconcile/settle.h"
#include "render/labels.h"
#include "status/admission.h"
#include "status/decide.h"
#include "status/worth_writing.h"
#include "util/sha256.h"

namespace ctask::reconcile {
namespace {

namespace phase = api::phase;
namespace reason = status::reason;
using namespace std::chrono_literals;
using fakes::FakeRuntime;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr auto kHangGuard = 20s;
const Timestamp kT0 = *ParseRfc3339("2026-11-23T10:00:00Z");
const ReconcilerOptions kOptions{};
// Every case's task: default/hello, uid-hello (the fake runtime's key).
constexpr const char* kName = "hello";
constexpr const char* kKey = "default/hello";
constexpr const char* kUid = "uid-hello";

api::ContainerTask NewTask() {
  api::ContainerTask t;
  t.metadata.namespace_ = "default";
  t.metadata.name = kName;
  t.metadata.uid = kUid;
  t.metadata.generation = 1;
  t.spec.image = "busybox";
  t.spec.command = {"sh", "-c", "echo hi"};
  return t;
}

std::string LogAttempt(const api::ContainerTask& t) {
  return t.status.log_attempt == 0 ? "" : std::to_string(t.status.log_attempt);
}

// The reconciler and what it works on, with what the test sees of it: the
// status writes, the events, the ends of log follows and the output the
// archiver has taken in.
class Harness {
 public:
  ~Harness() {
    reconciler.reset();
    archiver.reset();  // followers stop before the store goes
  }

  bool Open() {
    store = std::make_unique<fakes::FaultStore>(records);
    archiver = std::make_unique<LogArchiver>(
        *store, runtime,
        [this](const std::string& key) {
          std::lock_guard lock(mu_);
          ++follows_ended_[key];
          cv_.notify_all();
        },
        [this](const std::string& key, int, runtime::LogStream, std::string_view data) {
          std::lock_guard lock(mu_);
          delivered_[key] += data;
          cv_.notify_all();
        });
    reconciler = std::make_unique<TaskReconciler>(
        *store, runtime, *archiver, clock, options,
        [this](const api::ContainerTask& task) {
          std::lock_guard lock(mu_);
          written_.push_back(task);
        },
        [this](const api::ContainerTask&, const status::TaskEvent& event) {
          std::lock_guard lock(mu_);
          events_.push_back(event.type + " " + event.reason);
        },
        admitter);
    return true;
  }

  Result<ReconcileResult> Reconcile() { return reconciler->Reconcile("default", kName); }

  // Waits until the task's log follows have ended `n` times in all.
  void WaitFollowsEnded(int n) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, kHangGuard, [&] { return follows_ended_[kKey] >= n; }))
        << "the follow did not end " << n << " times";
  }
  // Waits until the archiver has taken in exactly `output` of the task.
  void WaitDelivered(const std::string& output, const std::string& key = kKey) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, kHangGuard, [&] { return delivered_[key] == output; }))
        << "the follower delivered \"" << delivered_[key] << "\", not \"" << output << "\"";
  }
  std::vector<api::ContainerTask> Written() {
    std::lock_guard lock(mu_);
    return written_;
  }
  std::vector<std::string> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }

  Admitter* admitter = nullptr;          // set before Open; none: no limits
  ReconcilerOptions options = kOptions;  // set before Open
  fakes::FakeClock clock{kT0};
  // Its workloads started a while before the reconciles look at them, so a
  // Running is written when first seen (status::WriteWait has its own
  // tests).
  FakeRuntime runtime{kT0 - status::kRunningGrace};
  fakes::MemoryStore records;
  std::unique_ptr<fakes::FaultStore> store;
  std::unique_ptr<LogArchiver> archiver;
  std::unique_ptr<TaskReconciler> reconciler;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> follows_ended_;      // guarded by mu_
  std::map<std::string, std::string> delivered_;  // guarded by mu_
  std::vector<api::ContainerTask> written_;       // guarded by mu_
  std::vector<std::string> events_;               // guarded by mu_: "Normal Running", ...
};

// ---- setup steps ----

// One thing that happens before the reconcile under test.
using Step = std::function<void(Harness&)>;
using Steps = std::vector<Step>;

Steps operator+(Steps a, const Steps& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Step Reconciled(int times = 1) {
  return [times](Harness& h) {
    for (int i = 0; i < times; ++i) {
      Result<ReconcileResult> r = h.Reconcile();
      EXPECT_TRUE(r.has_value()) << "a setup reconcile failed: " << r.error().ToString();
    }
  };
}
Step FailedReconcile() {
  return [](Harness& h) { EXPECT_FALSE(h.Reconcile().has_value()) << "the setup reconcile was to fail"; };
}
Step At(Timestamp t) {
  return [t](Harness& h) { h.clock.SetWall(t); };
}
Step Elapse(seconds d) {
  return [d](Harness& h) { h.clock.Advance(d); };
}
Step Output(int attempt, std::string text) {
  return [attempt, text](Harness& h) { h.runtime.AppendOutput(kUid, attempt, text); };
}
Step Exits(int attempt, int code) {
  return [attempt, code](Harness& h) { h.runtime.Exit(kUid, attempt, code, WallTimestamp(h.clock)); };
}
// While held, the attempt's follow does not end, exited or not.
Step HoldLogEnd(int attempt) {
  return [attempt](Harness& h) { h.runtime.HoldLogEnd(kUid, attempt); };
}
Step ReleaseLogEnd(int attempt) {
  return [attempt](Harness& h) { h.runtime.ReleaseLogEnd(kUid, attempt); };
}
// Handshakes with the follower threads.
Step FollowsEnded(int n) {
  return [n](Harness& h) { h.WaitFollowsEnded(n); };
}
Step Following() {
  return [](Harness& h) { EXPECT_TRUE(h.runtime.WaitForActiveFollows(1, kHangGuard)) << "no follow started"; };
}
Step Delivered(std::string output) {
  return [output](Harness& h) { h.WaitDelivered(output); };
}
// A change to the record by someone else (a user, `ctask delete`).
Step Edited(std::function<void(api::ContainerTask&)> change) {
  return [change](Harness& h) {
    Result<api::ContainerTask> t = h.records.Get("default", kName);
    ASSERT_TRUE(t.has_value()) << t.error().message();
    change(*t);
    EXPECT_TRUE(h.records.Put(*t).has_value());
  };
}
Step MarkedDeleted() {
  return [](Harness& h) {
    const Timestamp now = WallTimestamp(h.clock);
    Edited([now](api::ContainerTask& t) { t.metadata.deletion_timestamp = now; })(h);
  };
}
Step Cancelled() {
  return Edited([](api::ContainerTask& t) { t.spec.cancel = true; });
}
// Every runtime call fails (the daemon is away), or works again.
Step RuntimeAway(bool away) {
  return [away](Harness& h) {
    h.runtime.SetUnavailable(away ? std::optional<Error>(Error(ErrorCode::kUnavailable, "daemon away")) : std::nullopt);
  };
}
// Right after the reconciler's next read, another writer puts a newer version.
Step AnotherWriterWinsTheNextGet() {
  return [](Harness& h) {
    h.store->AfterNextGet([](store::Store& inner, const api::ContainerTask& got) {
      api::ContainerTask newer = got;
      newer.metadata.labels["edited"] = "by-someone-else";
      EXPECT_TRUE(inner.Put(newer).has_value());
    });
  };
}

// ---- expectations ----

// What every result's requeue_after must be.
struct Requeue {
  enum class Kind { kUnchecked, kNever, kAfter, kSometime, kAtMost };
  Kind kind = Kind::kUnchecked;
  milliseconds d{0};
};
Requeue RequeueNever() {
  return {Requeue::Kind::kNever};
}
Requeue RequeueAfter(milliseconds d) {
  return {Requeue::Kind::kAfter, d};
}
Requeue RequeueSometime() {
  return {Requeue::Kind::kSometime};
}
Requeue RequeueAtMost(milliseconds d) {
  return {Requeue::Kind::kAtMost, d};
}

// One attempt's calls into the fake runtime and whether its workload is
// there; unset: not checked.
struct Calls {
  int attempt = 1;
  std::optional<int> applies, stops, deletes, follows;
  std::optional<bool> exists;
};

// Unset fields are not checked.
struct Want {
  // Every reconcile under test: failed with this error, or succeeded with
  // `settled` and `requeue`.
  std::optional<ErrorCode> error;
  std::optional<bool> terminal;  // IsTerminalError (outcome.h) of the error
  std::optional<bool> settled;
  Requeue requeue;
  // ReconcileUntilSettled: its answer, and the waits it asked the clock for.
  std::optional<bool> settle_result;
  std::optional<std::vector<nanoseconds>> settle_sleeps;
  // The record afterwards.
  std::optional<bool> gone;
  std::optional<std::string> phase, reason, message_has;
  std::optional<int> attempts;
  std::optional<int32_t> exit_code;
  std::optional<Timestamp> start_time;
  std::optional<bool> completed;                    // status.completionTime is set
  std::optional<std::vector<std::string>> history;  // each attempt's reason
  std::map<std::string, std::string> conditions;    // type -> status, for the types named
  std::optional<std::string> log_tail;
  std::optional<std::string> log_attempt;  // the annotation: whose log is merged
  std::optional<std::string> artifact;     // status.artifacts.log is the store's file holding exactly this
  std::optional<std::string> log_file;     // what the store's log artifact reads
  std::optional<std::string> edited_label;
  // Status writes by the reconciles under test; the last is what the store holds.
  std::optional<size_t> writes;
  // The runtime.
  std::vector<Calls> calls;
  std::optional<int> total_applies;
  std::optional<int> active_follows;
  // Events since the case began: all of them in order, or some among them.
  std::optional<std::vector<std::string>> events;
  std::vector<std::string> events_include;
};

struct Case {
  std::string name;
  // The record: NewTask() changed by `task`; none with no_record.
  std::function<void(api::ContainerTask&)> task;
  bool no_record = false;
  FakeRuntime::ApplyHook apply;  // what Apply does; unset: starts the workload
  Steps given;
  // The reconciles under test: at `now` (unset: where `given` left the
  // clock), `reconciles` times, the clock moved by `elapse_each` before each.
  std::optional<Timestamp> now;
  int reconciles = 1;
  seconds elapse_each{0};
  // Instead: ReconcileUntilSettled with its deadline `settle_within` from
  // now; `between` runs at its first sleep.
  std::optional<seconds> settle_within;
  Steps between;
  Want want;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

// ---- the table ----

std::vector<Case> Cases() {
  // The first attempt applied at kT0 and seen running at kT0 + 1s.
  const Steps running = {Reconciled(), At(kT0 + 1s), Reconciled()};
  // It exits 0 at kT0 + 5s having written two lines; its log is still being read.
  const Steps exited_log_pending =
      running + Steps{At(kT0 + 5s), HoldLogEnd(1), Output(1, "hello\nworld\n"), Exits(1, 0)};
  const Steps log_whole = exited_log_pending + Steps{Reconciled(), ReleaseLogEnd(1), FollowsEnded(1)};

  auto retry_after_10s = [](api::ContainerTask& t) {
    t.spec.retries = 1;
    t.spec.retry_policy.backoff_seconds = 10;
  };
  const Steps first_failed =
      running + Steps{At(kT0 + 5s), Output(1, "attempt one failed\n"), Exits(1, 1), FollowsEnded(1)};
  const Steps retry_started =
      first_failed + Steps{Reconciled(), At(kT0 + 14s), Reconciled(), At(kT0 + 15s), Reconciled()};
  const Steps retry_succeeded =
      retry_started + Steps{Reconciled(2), At(kT0 + 20s), Output(2, "attempt two ok\n"), Exits(2, 0), FollowsEnded(2)};

  const FakeRuntime::ApplyHook pull_fails = [](const api::ContainerTask&, int, runtime::Observation& o) -> Status {
    o.state = runtime::WorkloadState::kWaiting;
    o.waiting_reason = "ImagePullFailed";
    o.waiting_message = "image \"busybox\" could not be pulled";
    o.waiting_permanent = true;
    return MakeError(ErrorCode::kFailedPrecondition, "image \"busybox\" could not be pulled");
  };
  auto refused = [](ErrorCode code, std::string message) -> FakeRuntime::ApplyHook {
    return [code, message](const api::ContainerTask&, int, runtime::Observation&) -> Status {
      return MakeError(code, message);
    };
  };
  const std::string invalid =
      "Job.batch \"hello-1\" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "
      "\"-2\": must be greater than or equal to 0";
  const std::string forbidden =
      "jobs.batch is forbidden: User \"system:serviceaccount:ctask-system:ctask\" cannot create resource \"jobs\" in "
      "API group \"batch\" in the namespace \"default\"";

  auto retry_after_1s = [](api::ContainerTask& t) {
    t.spec.retries = 1;
    t.spec.retry_policy.backoff_seconds = 1;
  };
  // Attempt 1 failed, attempt 2 runs, and the task is marked for deletion.
  const Steps second_running_deleted =
      running + Steps{Output(1, "x\n"), Exits(1, 1),   FollowsEnded(1), Reconciled(),
                      Elapse(5s),       Reconciled(2), MarkedDeleted(), Output(2, "last words\n")};

  // ... and its first pass has stopped attempt 2, whose whole log has come
  // in since. The log's end is held over that pass: a follow that ended
  // within it would let that same pass archive the log (a race, not a case).
  const Steps second_stopped_log_whole =
      second_running_deleted + Steps{HoldLogEnd(2), Reconciled(), ReleaseLogEnd(2), FollowsEnded(2)};

  auto deleted_at_t0 = [](api::ContainerTask& t) { t.metadata.deletion_timestamp = kT0; };
  auto bad_image = [](api::ContainerTask& t) { t.spec.image = "bad::image"; };
  const Steps tail_one = {Reconciled(2), Following(), Output(1, "one\n"), Delivered("one\n")};
  const Steps tail_grew = tail_one + Steps{Reconciled(), Output(1, "two\n"), Delivered("one\ntwo\n")};

  return {
      // -- a task's life: Pending, Running, Succeeded with its log --
      {.name = "a task with no record is settled and nothing is applied",
       .no_record = true,
       .want = {.settled = true, .requeue = RequeueNever(), .total_applies = 0}},
      // Its first workload before any write (WriteAndAct): the next pass,
      // at once, observes it and writes what it sees.
      {.name = "a new task's first attempt is applied before anything is written",
       .want = {.settled = false,
                .requeue = RequeueAfter(0ms),
                .phase = "",
                .attempts = 0,
                .writes = 0,
                .calls = {{.attempt = 1, .applies = 1}}}},
      {.name = "the next pass writes the first attempt as observed, once",
       .given = {Reconciled()},
       .want = {.settled = false,
                .phase = phase::kRunning,
                .attempts = 1,
                .start_time = kT0,
                .writes = 1,
                .calls = {{.attempt = 1, .applies = 1}}}},
      {.name = "an applied attempt seen running is Running and looked at again for its log tail",
       .given = {Reconciled()},
       .now = kT0 + 1s,
       .want = {.settled = false,
                .requeue = RequeueAfter(std::min(kOptions.running_resync, kOptions.log_tail_interval)),
                .phase = phase::kRunning}},
      {.name = "an exited attempt whose log is still being read gets no status write",
       .given = exited_log_pending,
       .want = {.settled = false, .requeue = RequeueSometime(), .phase = phase::kRunning, .writes = 0}},
      {.name = "the whole log gives Succeeded with its tail and artifact in the same write",
       .given = log_whole,
       // Just finished: looked at once more as finished (the TTLs start there).
       .want = {.settled = false,
                .requeue = RequeueAfter(0ms),
                .phase = phase::kSucceeded,
                .reason = reason::kCompleted,
                .exit_code = 0,
                .log_tail = "hello\nworld\n",
                .log_attempt = "1",
                .artifact = "hello\nworld\n",
                .log_file = "hello\nworld\n",
                .writes = 1}},
      {.name = "a succeeded task stays settled and writes nothing more",
       .given = log_whole + Steps{Reconciled()},
       .reconciles = 3,
       .want = {.settled = true, .writes = 0, .calls = {{.attempt = 1, .applies = 1, .stops = 0}}}},
      {.name = "a running attempt is never applied again",
       .given = running,
       .reconciles = 10,
       .elapse_each = 1s,
       .want = {.settled = false, .calls = {{.attempt = 1, .applies = 1}}, .total_applies = 1}},
      {.name = "an exited attempt is not settled while its log is read nor applied again",
       .given = running + Steps{HoldLogEnd(1), Exits(1, 0)},
       .reconciles = 10,
       .want = {.settled = false, .calls = {{.attempt = 1, .applies = 1}}, .total_applies = 1}},
      {.name = "an attempt is applied and followed once in its whole life",
       .given = running + Steps{HoldLogEnd(1), Exits(1, 0), Reconciled(10), ReleaseLogEnd(1), FollowsEnded(1)},
       .reconciles = 5,
       .want = {.phase = phase::kSucceeded, .calls = {{.attempt = 1, .applies = 1, .follows = 1}}, .total_applies = 1}},
      {.name = "every transition is one event",
       .given = {Reconciled(3), Output(1, "done\n"), Exits(1, 0), FollowsEnded(1), Reconciled()},
       .want = {.events = std::vector<std::string>{"Normal Starting", "Normal Running", "Normal Completed"}}},

      // -- a running task's log tail --
      {.name = "a running task's log tail is written once output shows",
       .given = tail_one,
       .want = {.log_tail = "one\n"}},
      {.name = "a grown log tail is not written again within log_tail_interval",
       .given = tail_grew,
       .want = {.requeue = RequeueAtMost(kOptions.log_tail_interval), .log_tail = "one\n"}},
      {.name = "a grown log tail is written once log_tail_interval has passed",
       .given = tail_grew + Steps{Reconciled(), Elapse(kOptions.log_tail_interval)},
       .want = {.log_tail = "one\ntwo\n"}},

      // -- retries --
      {.name = "a failed attempt with retries left is Queued to retry after its backoff with its log kept",
       .task = retry_after_10s,
       .given = first_failed,
       .want = {.settled = false,
                .requeue = RequeueAfter(10s),
                .phase = phase::kQueued,
                .reason = reason::kRetrying,
                .attempts = 2,
                .log_tail = "attempt one failed\n",
                .log_attempt = "1",
                .calls = {{.attempt = 2, .applies = 0}}}},
      {.name = "a retry does not start inside its backoff",
       .task = retry_after_10s,
       .given = first_failed + Steps{Reconciled()},
       .now = kT0 + 14s,
       .want = {.requeue = RequeueAfter(1s), .calls = {{.attempt = 2, .applies = 0}}}},
      {.name = "a retry starts once its backoff has passed",
       .task = retry_after_10s,
       .given = first_failed + Steps{Reconciled(), At(kT0 + 14s), Reconciled()},
       .now = kT0 + 15s,
       .want = {.phase = phase::kPending, .calls = {{.attempt = 2, .applies = 1}}}},
      {.name = "a started retry runs and is applied once",
       .task = retry_after_10s,
       .given = retry_started,
       .reconciles = 2,
       .want = {.phase = phase::kRunning, .calls = {{.attempt = 2, .applies = 1}}}},
      {.name = "a retry that succeeded is looked at once more as finished",
       .task = retry_after_10s,
       .given = retry_succeeded,
       .want = {.settled = false}},
      {.name = "a task that succeeded on retry settles with both attempts in its history and the last log",
       .task = retry_after_10s,
       .given = retry_succeeded + Steps{Reconciled()},
       .want = {.settled = true,
                .phase = phase::kSucceeded,
                .attempts = 2,
                .history = std::vector<std::string>{reason::kError, reason::kCompleted},
                .log_tail = "attempt two ok\n",
                .log_attempt = "2",
                .log_file = "attempt two ok\n",
                .calls = {{.attempt = 1, .applies = 1}, {.attempt = 2, .applies = 1}}}},

      // -- attempts that cannot start --
      {.name = "an image that cannot be pulled is refused by Apply and looked at again at once",
       .apply = pull_fails,
       .want = {.settled = false, .requeue = RequeueAfter(0ms)}},
      {.name = "a workload waiting for good fails the task naming the cause and is stopped",
       .apply = pull_fails,
       .given = {Reconciled()},
       .want = {.settled = false,
                .phase = phase::kFailed,
                .reason = "ImagePullFailed",
                .message_has = "could not be pulled",
                .calls = {{.attempt = 1, .stops = 1}}}},
      {.name = "a task failed at start settles at once and stays settled with no stop loop",
       .apply = pull_fails,
       .given = {Reconciled(2)},
       .reconciles = 6,
       .want = {.settled = true, .phase = phase::kFailed, .calls = {{.attempt = 1, .applies = 1, .stops = 1}}}},
      // The backend refuses the workload for good (the API server answered 422
      // for the Job, or 403 for a missing permission): the task fails naming
      // the cause, and the refusal is a terminal error (never retried).
      {.name = "a workload refused as invalid fails the task terminally naming the cause",
       .apply = refused(ErrorCode::kInvalidArgument, invalid),
       .want = {.error = ErrorCode::kInvalidArgument,
                .terminal = true,
                .phase = phase::kFailed,
                .reason = reason::kInvalidSpec,
                .message_has = invalid,
                .completed = true,
                .history = std::vector<std::string>{reason::kInvalidSpec},
                .conditions = {{"Succeeded", "False"}, {"Stalled", "True"}},
                .events_include = {"Warning InvalidSpec"}}},
      {.name = "a workload refused as invalid stays settled and is never applied again",
       .apply = refused(ErrorCode::kInvalidArgument, invalid),
       .given = {FailedReconcile()},
       .reconciles = 3,
       .want = {.settled = true, .calls = {{.attempt = 1, .applies = 1}}}},
      {.name = "a workload refused as forbidden fails the task terminally naming the cause",
       .apply = refused(ErrorCode::kPermissionDenied, forbidden),
       .want = {.error = ErrorCode::kPermissionDenied,
                .terminal = true,
                .phase = phase::kFailed,
                .reason = reason::kForbidden,
                .message_has = forbidden,
                .completed = true,
                .history = std::vector<std::string>{reason::kForbidden},
                .conditions = {{"Succeeded", "False"}, {"Stalled", "True"}},
                .events_include = {"Warning Forbidden"}}},
      {.name = "a workload refused as forbidden stays settled and is never applied again",
       .apply = refused(ErrorCode::kPermissionDenied, forbidden),
       .given = {FailedReconcile()},
       .reconciles = 3,
       .want = {.settled = true, .calls = {{.attempt = 1, .applies = 1}}}},
      {.name = "an invalid spec fails the task at once without starting it",
       .task = bad_image,
       .want = {.settled = false, .phase = phase::kFailed, .reason = reason::kInvalidSpec, .total_applies = 0}},
      {.name = "a task failed for its spec then settles",
       .task = bad_image,
       .given = {Reconciled()},
       .want = {.settled = true, .total_applies = 0}},

      // -- cancel and delete --
      {.name = "cancelling a running task stops its attempt",
       .given = running + Steps{Cancelled()},
       .want = {.settled = false, .phase = phase::kCancelled, .calls = {{.attempt = 1, .stops = 1}}}},
      {.name = "a cancelled task settles once its stopped attempt's log is merged",
       .given = running + Steps{Cancelled(), Reconciled(), FollowsEnded(1)},
       .want =
           {.settled = true, .phase = phase::kCancelled, .log_attempt = "1", .calls = {{.attempt = 1, .stops = 1}}}},
      // Deleting a running attempt takes several passes: stop, the end of its
      // log, the archive, removal (the finalizer's promise in Kubernetes).
      {.name = "one pass cannot finish deleting a running task",
       .given = running + Steps{Output(1, "partial output\n"), MarkedDeleted()},
       .want = {.settled = false}},
      {.name = "deleting a running attempt stops it and removes nothing before its log is archived",
       .task = retry_after_1s,
       .given = second_running_deleted,
       .want = {.settled = false, .calls = {{.attempt = 2, .stops = 1, .deletes = 0}}}},
      {.name = "a deleted task's last log is archived into the record first",
       .task = retry_after_1s,
       .given = second_stopped_log_whole,
       .want = {.settled = false,
                .log_tail = "last words\n",
                .log_attempt = "2",
                .calls = {{.attempt = 2, .deletes = 0}},
                .events_include = {"Normal LogArchived"}}},
      {.name = "then every attempt's workload and the record are removed",
       .task = retry_after_1s,
       .given = second_stopped_log_whole + Steps{Reconciled()},
       .reconciles = 2,
       .want = {.settled = true,
                .gone = true,
                .calls = {{.attempt = 1, .stops = 1, .deletes = 1, .exists = false},
                          {.attempt = 2, .stops = 2, .deletes = 1, .exists = false}},
                .active_follows = 0}},
      // ReconcileUntilSettled drives all the passes (`ctask delete` did one
      // Reconcile alone, issue 9); the held log end makes it wait once.
      {.name = "ReconcileUntilSettled drives every pass of deleting a running task",
       .given = running + Steps{Output(1, "partial output\n"), HoldLogEnd(1), MarkedDeleted(), Reconciled()},
       .settle_within = kHangGuard,
       .between = {ReleaseLogEnd(1), FollowsEnded(1)},
       .want = {.settle_result = true,
                .settle_sleeps = std::vector<nanoseconds>{SettleOptions{}.max_wait},
                .gone = true,
                .calls = {{.attempt = 1, .stops = 2, .deletes = 1, .exists = false}}}},
      {.name = "ReconcileUntilSettled gives up at its deadline without sleeping",
       .given = running,
       .settle_within = 0s,
       .want = {.settle_result = false, .settle_sleeps = std::vector<nanoseconds>{}}},

      // -- failures --
      {.name = "a removal the runtime fails is returned and keeps the record",
       .task = deleted_at_t0,
       .given = {RuntimeAway(true)},
       .want = {.error = ErrorCode::kUnavailable, .gone = false}},
      {.name = "a failed removal is done by the next reconcile once the runtime is back",
       .task = deleted_at_t0,
       .given = {RuntimeAway(true), FailedReconcile(), RuntimeAway(false)},
       .want = {.settled = true, .gone = true}},
      {.name = "an observe the runtime fails is returned",
       .given = {Reconciled(), RuntimeAway(true)},
       .want = {.error = ErrorCode::kUnavailable}},
      {.name = "once the runtime is back the task runs applied once",
       .given = {Reconciled(), RuntimeAway(true), FailedReconcile(), RuntimeAway(false)},
       .want = {.phase = phase::kRunning, .total_applies = 1}},
      // The first pass only creates the workload (WriteAndAct); the second
      // writes the status.
      {.name = "a status write that loses a race is a conflict and the record is left to the other writer",
       .given = {Reconciled(), AnotherWriterWinsTheNextGet()},
       .want = {.error = ErrorCode::kConflict, .phase = "", .edited_label = "by-someone-else", .total_applies = 1}},
      {.name = "after a conflict the next reconcile converges on the other writer's record",
       .given = {Reconciled(), AnotherWriterWinsTheNextGet(), FailedReconcile()},
       .want = {.settled = false,
                .phase = phase::kRunning,
                .edited_label = "by-someone-else",
                .calls = {{.attempt = 1, .applies = 1}}}},
  };
}

// ---- running a case ----

// Checks `got` when a value is wanted.
template <typename T, typename U>
void ExpectEq(const std::optional<T>& want, const U& got, std::string_view what) {
  if (want) {
    EXPECT_EQ(got, *want) << what;
  }
}

void CheckResult(const Result<ReconcileResult>& r, const Want& want) {
  if (want.error) {
    ASSERT_FALSE(r.has_value()) << "want error " << static_cast<int>(*want.error);
    EXPECT_EQ(r.error().code(), *want.error) << r.error().ToString();
    ExpectEq(want.terminal, IsTerminalError(r.error()), "terminal error");
    return;
  }
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ExpectEq(want.settled, r->settled, "settled");
  const std::optional<milliseconds>& requeue = r->requeue_after;
  switch (want.requeue.kind) {
    case Requeue::Kind::kUnchecked:
      break;
    case Requeue::Kind::kNever:
      EXPECT_EQ(requeue, std::nullopt);
      break;
    case Requeue::Kind::kAfter:
      EXPECT_EQ(requeue, want.requeue.d);
      break;
    case Requeue::Kind::kSometime:
      EXPECT_TRUE(requeue.has_value());
      break;
    case Requeue::Kind::kAtMost:
      ASSERT_TRUE(requeue.has_value());
      EXPECT_LE(*requeue, want.requeue.d);
      break;
  }
}

bool WantsRecord(const Want& w) {
  return w.phase || w.reason || w.message_has || w.attempts || w.exit_code || w.start_time || w.completed ||
         w.history || !w.conditions.empty() || w.log_tail || w.log_attempt || w.artifact || w.log_file ||
         w.edited_label;
}

void CheckRecord(Harness& h, const Want& want) {
  Result<api::ContainerTask> stored = h.records.Get("default", kName);
  if (want.gone.value_or(false)) {
    ASSERT_FALSE(stored.has_value()) << "the record is still there";
    EXPECT_EQ(stored.error().code(), ErrorCode::kNotFound);
    return;
  }
  if (want.gone) {
    EXPECT_TRUE(stored.has_value()) << "the record is gone";
  }
  if (!stored) {
    EXPECT_FALSE(WantsRecord(want)) << "no record: " << stored.error().message();
    return;
  }
  const api::ContainerTask& t = *stored;
  const api::ContainerTaskStatus& st = t.status;
  ExpectEq(want.phase, st.phase, "phase");
  ExpectEq(want.reason, st.reason, "reason");
  if (want.message_has) {
    EXPECT_NE(st.message.find(*want.message_has), std::string::npos) << st.message;
  }
  ExpectEq(want.attempts, st.attempts, "attempts");
  ExpectEq(want.exit_code, st.exit_code.value_or(-1), "exitCode");
  ExpectEq(want.start_time, st.start_time.value_or(Timestamp{}), "startTime");
  ExpectEq(want.completed, st.completion_time.has_value(), "completionTime set");
  if (want.history) {
    std::vector<std::string> reasons;
    for (const api::AttemptStatus& a : st.history) reasons.push_back(a.reason);
    EXPECT_EQ(reasons, *want.history);
  }
  for (const auto& [type, status] : want.conditions) {
    auto it = std::find_if(st.conditions.begin(), st.conditions.end(),
                           [&](const api::Condition& c) { return c.type == type; });
    if (it == st.conditions.end()) {
      ADD_FAILURE() << "no condition " << type;
    } else {
      EXPECT_EQ(it->status, status) << "condition " << type;
    }
  }
  ExpectEq(want.log_tail, st.log_tail, "logTail");
  ExpectEq(want.log_attempt, LogAttempt(t), "log attempt annotation");
  if (want.artifact) {
    ASSERT_TRUE(st.artifacts.log.has_value());
    EXPECT_EQ(st.artifacts.log->kind, "File");
    EXPECT_EQ(st.artifacts.log->name, fakes::MemoryStore::Location("default", kName) + "/log");
    EXPECT_EQ(st.artifacts.log->size_bytes, static_cast<int64_t>(want.artifact->size()));
    EXPECT_EQ(st.artifacts.log->sha256, Sha256Hex(*want.artifact));
  }
  if (want.log_file) {
    EXPECT_EQ(h.records.ReadLog("default", kName, 0).value_or("?"), *want.log_file) << "log file";
  }
  if (want.edited_label) {
    auto it = t.metadata.labels.find("edited");
    EXPECT_EQ(it == t.metadata.labels.end() ? "" : it->second, *want.edited_label);
  }
}

void CheckWrites(Harness& h, const Want& want, size_t writes_before) {
  if (!want.writes) return;
  const std::vector<api::ContainerTask> written = h.Written();
  EXPECT_EQ(written.size() - writes_before, *want.writes) << "status writes";
  if (*want.writes == 0 || written.size() <= writes_before) return;
  Result<api::ContainerTask> stored = h.records.Get("default", kName);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(api::EncodeStatus(written.back().status), api::EncodeStatus(stored->status)) << "the last write is stored";
  EXPECT_EQ(LogAttempt(written.back()), LogAttempt(*stored));
}

void CheckRuntime(Harness& h, const Want& want) {
  for (const Calls& c : want.calls) {
    SCOPED_TRACE("attempt " + std::to_string(c.attempt));
    ExpectEq(c.applies, h.runtime.applies(kUid, c.attempt), "applies");
    ExpectEq(c.stops, h.runtime.stops(kUid, c.attempt), "stops");
    ExpectEq(c.deletes, h.runtime.deletes(kUid, c.attempt), "deletes");
    ExpectEq(c.follows, h.runtime.follows(kUid, c.attempt), "follows");
    ExpectEq(c.exists, h.runtime.exists(kUid, c.attempt), "workload exists");
  }
  ExpectEq(want.total_applies, h.runtime.total_applies(), "applies in all");
  ExpectEq(want.active_follows, h.runtime.active_follows(), "follows running");
}

void CheckEvents(Harness& h, const Want& want) {
  const std::vector<std::string> events = h.Events();
  ExpectEq(want.events, events, "events");
  for (const std::string& e : want.events_include) {
    EXPECT_NE(std::find(events.begin(), events.end(), e), events.end()) << "no event " << e;
  }
}

class TaskReconcilerTest : public ::testing::TestWithParam<Case> {};

TEST_P(TaskReconcilerTest, Reconcile) {
  const Case& c = GetParam();
  Harness h;
  ASSERT_TRUE(h.Open());

  // Setup.
  if (c.apply) h.runtime.SetApplyHook(c.apply);
  if (!c.no_record) {
    api::ContainerTask task = NewTask();
    if (c.task) c.task(task);
    ASSERT_TRUE(h.store->Put(task).has_value());
  }
  for (const Step& step : c.given) step(h);
  ASSERT_FALSE(HasFailure()) << "the setup failed";
  if (c.now) h.clock.SetWall(*c.now);
  const size_t writes_before = h.Written().size();

  // The reconcile(s) under test.
  if (c.settle_within) {
    SettleOptions options;
    options.clock = &h.clock;
    options.deadline = h.clock.Steady() + *c.settle_within;
    bool first = true;
    h.clock.OnSleep([&](nanoseconds, const std::stop_token&) {
      if (std::exchange(first, false)) {
        for (const Step& step : c.between) step(h);
      }
      return true;
    });
    Result<bool> settled = ReconcileUntilSettled(*h.reconciler, "default", kName, options);
    h.clock.OnSleep(nullptr);
    ASSERT_TRUE(settled.has_value()) << settled.error().message();
    if (c.want.settle_result) {
      EXPECT_EQ(*settled, *c.want.settle_result);
    }
    if (c.want.settle_sleeps) {
      EXPECT_EQ(h.clock.Sleeps(), *c.want.settle_sleeps);
    }
  } else {
    for (int i = 0; i < c.reconciles; ++i) {
      SCOPED_TRACE("reconcile " + std::to_string(i + 1) + " of " + std::to_string(c.reconciles));
      h.clock.Advance(c.elapse_each);
      CheckResult(h.Reconcile(), c.want);
    }
  }

  // What it gave.
  CheckRecord(h, c.want);
  CheckWrites(h, c.want, writes_before);
  CheckRuntime(h, c.want);
  CheckEvents(h, c.want);
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name;
  for (char ch : info.param.name) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      name += ch;
    } else if (!name.empty() && name.back() != '_') {
      name += '_';
    }
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  return name;
}

INSTANTIATE_TEST_SUITE_P(Table, TaskReconcilerTest, ::testing::ValuesIn(Cases()), CaseName);

// Under a limit the slot is in the record before the workload exists (a
// restarted operator counts it from the records): a status write that
// loses a race creates nothing; the next pass writes the slot, then
// creates the workload.
TEST(TaskReconcilerOrderTest, AStartUnderALimitWritesItsSlotBeforeItsWorkload) {
  admission::Limits limits;
  limits.global = 1;
  Admitter admitter(limits);
  Harness h;
  h.admitter = &admitter;
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.store->Put(NewTask()).has_value());
  AnotherWriterWinsTheNextGet()(h);
  Result<ReconcileResult> conflicted = h.Reconcile();
  ASSERT_FALSE(conflicted.has_value());
  EXPECT_EQ(conflicted.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(h.runtime.applies(kUid, 1), 0);
  auto running = [&] {
    int64_t n = 0;
    for (const auto& [queue, counts] : admitter.Counts()) n += counts.running;
    return n;
  };

  Result<ReconcileResult> next = h.Reconcile();
  ASSERT_TRUE(next.has_value()) << next.error().ToString();
  EXPECT_EQ(h.runtime.applies(kUid, 1), 1);
  ASSERT_FALSE(h.Written().empty());
  EXPECT_TRUE(status::HoldsSlot(h.Written().back()));
  EXPECT_EQ(running(), 1);
}

// Without one, the workload comes first, and the next pass writes what it
// observes: a task costs no write before its Job, and one to say it
// started (with the Starting event, though it is seen running already).
TEST(TaskReconcilerOrderTest, AStartUnderNoLimitCreatesItsWorkloadThenWritesOnce) {
  Harness h;
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.store->Put(NewTask()).has_value());
  ASSERT_TRUE(h.Reconcile().has_value());
  EXPECT_EQ(h.runtime.applies(kUid, 1), 1);
  EXPECT_EQ(h.Written().size(), 0u);
  ASSERT_TRUE(h.Reconcile().has_value());
  EXPECT_EQ(h.runtime.applies(kUid, 1), 1) << "the next pass applied it again";
  ASSERT_EQ(h.Written().size(), 1u);
  EXPECT_EQ(h.Written().back().status.attempts, 1);
  EXPECT_EQ(h.Events().front(), "Normal Starting");
}

// Only the first attempt may come before its status. A first attempt
// that ended before any status was written, first seen ended once its
// retry was due (a loaded machine: `ctask run` looped here, starting
// attempt 2 without a write, then finding attempt 1 again through a record
// that still named none): the pass that starts attempt 2 writes attempt
// 1's failure first, and the next pass goes on from there.
TEST(TaskReconcilerOrderTest, ARetryDueBeforeAnyStatusIsWrittenBeforeItStarts) {
  Harness h;
  ASSERT_TRUE(h.Open());
  api::ContainerTask task = NewTask();
  task.spec.retries = 1;
  task.spec.retry_policy.backoff_seconds = 1;
  ASSERT_TRUE(h.store->Put(task).has_value());
  ASSERT_TRUE(h.Reconcile().has_value());  // attempt 1, nothing written
  ASSERT_EQ(h.runtime.applies(kUid, 1), 1);
  ASSERT_EQ(h.Written().size(), 0u);
  h.runtime.Exit(kUid, 1, 3, WallTimestamp(h.clock));
  ASSERT_TRUE(h.Reconcile().has_value());  // seen ended: its log is read first
  h.WaitFollowsEnded(1);
  h.clock.Advance(5s);  // the backoff has passed by the time the log is whole

  ASSERT_TRUE(h.Reconcile().has_value());
  EXPECT_EQ(h.runtime.applies(kUid, 2), 1);
  const std::vector<api::ContainerTask> writes = h.Written();  // a copy: Written() returns by value
  ASSERT_FALSE(writes.empty()) << "attempt 2 started with no status written";
  const api::ContainerTaskStatus& written = writes.back().status;
  EXPECT_EQ(written.attempts, 2);
  ASSERT_FALSE(written.history.empty());
  EXPECT_EQ(written.history.front().attempt, 1);
  EXPECT_EQ(written.history.front().exit_code, 3);
  for (int pass = 0; pass < 3; ++pass) ASSERT_TRUE(h.Reconcile().has_value());
  EXPECT_EQ(h.runtime.applies(kUid, 2), 1) << "attempt 2 applied again";
  EXPECT_EQ(h.runtime.applies(kUid, 3), 0);
}

// A first attempt started before any status asks its next look (the one
// that writes that status) to wait behind the tasks still waiting for their
// first workload, so a burst's Jobs are not interleaved with status writes;
// a retry's start, which follows its status, looks again as usual.
TEST(TaskReconcilerOrderTest, AFirstStartLooksAgainBehindTheTasksNotStartedYet) {
  Harness h;
  ASSERT_TRUE(h.Open());
  api::ContainerTask task = NewTask();
  task.spec.retries = 1;
  ASSERT_TRUE(h.store->Put(task).has_value());
  Result<ReconcileResult> first = h.Reconcile();
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(h.runtime.applies(kUid, 1), 1);
  ASSERT_EQ(h.Written().size(), 0u);
  EXPECT_EQ(first->requeue_after, std::chrono::milliseconds(0));
  EXPECT_EQ(first->requeue_priority, Priority::kLow);

  ASSERT_TRUE(h.Reconcile().has_value());  // observes attempt 1: its status
  ASSERT_EQ(h.Written().size(), 1u);
  h.runtime.Exit(kUid, 1, 3, WallTimestamp(h.clock));
  ASSERT_TRUE(h.Reconcile().has_value());  // seen ended: its log is read first
  h.WaitFollowsEnded(1);
  h.clock.Advance(1h);  // the retry's backoff long past
  Result<ReconcileResult> retry = h.Reconcile();
  ASSERT_TRUE(retry.has_value());
  ASSERT_EQ(h.runtime.applies(kUid, 2), 1);
  EXPECT_EQ(retry->requeue_priority, Priority::kNormal);
}

// Tails within a budget across tasks: at --log-tail-qps 1 (burst 2),
// three tasks whose output grew get two tails now and the third a second
// later — a thousand chatty tasks cannot spend the client's budget on tails.
TEST(TaskReconcilerTailTest, TailsAcrossTasksTakeTurnsWithinTheirBudget) {
  Harness h;
  h.options.log_tail_qps = 1;
  ASSERT_TRUE(h.Open());
  const std::vector<std::string> names = {"a", "b", "c"};
  for (const std::string& name : names) {
    api::ContainerTask t = NewTask();
    t.metadata.name = name;
    t.metadata.uid = "uid-" + name;
    ASSERT_TRUE(h.store->Put(t).has_value());
    for (int pass = 0; pass < 2; ++pass) ASSERT_TRUE(h.reconciler->Reconcile("default", name).has_value());
    ASSERT_EQ(h.records.Get("default", name)->status.phase, phase::kRunning) << name;
    h.runtime.AppendOutput("uid-" + name, 1, name + " says hi\n");
    h.WaitDelivered(name + " says hi\n", "default/" + name);
  }
  auto tail_of = [&](const std::string& name) { return h.records.Get("default", name)->status.log_tail; };
  for (const std::string& name : names) ASSERT_TRUE(h.reconciler->Reconcile("default", name).has_value());
  EXPECT_EQ(tail_of("a"), "a says hi\n");
  EXPECT_EQ(tail_of("b"), "b says hi\n");
  EXPECT_EQ(tail_of("c"), "") << "over the budget: its turn comes later";
  h.clock.Advance(1s);
  ASSERT_TRUE(h.reconciler->Reconcile("default", "c").has_value());
  EXPECT_EQ(tail_of("c"), "c says hi\n");
}

}  // namespace
}  // namespace ctask::reconcile
