// Admission through the reconciler: TaskReconciler with an Admitter over the
// in-memory store and the fake runtime. Each reconcile is called by hand, so
// the order is the test's; the admitter's wake-ups are recorded, as the work
// queue would receive them.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_runtime.h"
#include "fakes/fault_store.h"
#include "fakes/memory_store.h"
#include "reconcile/admitter.h"
#include "reconcile/task_reconciler.h"
#include "status/decide.h"

namespace ctask::reconcile {
namespace {

namespace phase = api::phase;
using namespace std::chrono_literals;

const Timestamp kT0 = *ParseRfc3339("2026-11-23T10:00:00Z");

api::ContainerTask NewTask(const std::string& name, const std::string& queue, int created_after_seconds) {
  api::ContainerTask t;
  t.metadata.namespace_ = "team";
  t.metadata.name = name;
  t.metadata.uid = "uid-" + name;
  t.metadata.generation = 1;
  t.metadata.creation_timestamp = kT0 + std::chrono::seconds(created_after_seconds);
  t.spec.image = "busybox";
  t.spec.queue_name = queue;
  return t;
}

admission::Limits Limits(std::optional<int> global, std::optional<int> per_queue = std::nullopt) {
  admission::Limits l;
  l.global = global;
  l.per_queue = per_queue;
  return l;
}

class AdmissionTest : public ::testing::Test {
 protected:
  void Open(admission::Limits limits, bool kueue = false) {
    admitter = std::make_unique<Admitter>(
        std::move(limits),
        [this](const std::string& key) {
          std::lock_guard lock(mu);
          woken.push_back(key);
        },
        RealClock(), kueue);
    store = std::make_unique<fakes::FaultStore>(records);
    archiver = std::make_unique<LogArchiver>(*store, runtime, [](const std::string&) {});
    reconciler = std::make_unique<TaskReconciler>(
        *store, runtime, *archiver, clock, ReconcilerOptions{.kueue = kueue}, [](const api::ContainerTask&) {},
        [this](const api::ContainerTask& task, const status::TaskEvent& event) {
          std::lock_guard lock(mu);
          events.push_back(task.metadata.name + " " + event.reason + ": " + event.message);
        },
        admitter.get());
  }
  void TearDown() override {
    reconciler.reset();
    archiver.reset();
  }
  void Create(const api::ContainerTask& task) { ASSERT_TRUE(records.Put(task)); }
  Result<ReconcileResult> Reconcile(const std::string& name) { return reconciler->Reconcile("team", name); }
  api::ContainerTask Get(const std::string& name) { return *records.Get("team", name); }
  std::vector<std::string> TakeWoken() {
    std::lock_guard lock(mu);
    return std::exchange(woken, {});
  }

  fakes::FakeClock clock{kT0 + 60s};
  fakes::FakeRuntime runtime{kT0 + 60s};
  fakes::MemoryStore records;
  std::unique_ptr<fakes::FaultStore> store;
  std::unique_ptr<LogArchiver> archiver;
  std::unique_ptr<Admitter> admitter;
  std::unique_ptr<TaskReconciler> reconciler;
  std::mutex mu;
  std::vector<std::string> woken;   // guarded by mu
  std::vector<std::string> events;  // guarded by mu
};

TEST_F(AdmissionTest, WaitingTasksAreQueuedWithTheirPositionAndStartInTurn) {
  Open(Limits(1));
  Create(NewTask("a", "default", 0));
  Create(NewTask("b", "default", 1));
  Create(NewTask("c", "default", 2));
  ASSERT_TRUE(Reconcile("a"));
  EXPECT_EQ(Get("a").status.phase, phase::kPending);
  EXPECT_EQ(runtime.applies("uid-a", 1), 1);

  Result<ReconcileResult> c = Reconcile("c");
  ASSERT_TRUE(c);
  Result<ReconcileResult> b = Reconcile("b");
  ASSERT_TRUE(b);
  for (const char* name : {"b", "c"}) {
    const api::ContainerTask t = Get(name);
    EXPECT_EQ(t.status.phase, phase::kQueued) << name;
    EXPECT_EQ(t.status.reason, status::reason::kWaitingForCapacity) << name;
    EXPECT_EQ(t.status.attempts, 0) << name;
    EXPECT_EQ(runtime.applies("uid-" + std::string(name), 1), 0) << name;
  }
  EXPECT_EQ(Get("b").status.message, "position 1 of 2 in queue default; 1 running there, 1/1 in all");
  EXPECT_EQ(b->requeue_after, std::chrono::milliseconds(30s)) << "the message is refreshed now and then";
  // b joined ahead of c: only the task next in line (b itself, being
  // reconciled) is woken to rewrite its place; c catches up at its resync.
  EXPECT_TRUE(TakeWoken().empty());
  ASSERT_TRUE(Reconcile("c"));
  EXPECT_EQ(Get("c").status.message, "position 2 of 2 in queue default; 1 running there, 1/1 in all");
  EXPECT_TRUE(TakeWoken().empty()) << "an unchanged queue wakes nobody";

  // a ends: its slot goes to b (created first), which is woken, and so is
  // c, now next in line.
  runtime.Exit("uid-a", 1, 0);
  for (int i = 0; i < 50 && Get("a").status.phase != phase::kSucceeded; ++i) {
    ASSERT_TRUE(Reconcile("a"));
    std::this_thread::sleep_for(10ms);  // the archiver's follow of a's log ends
  }
  ASSERT_EQ(Get("a").status.phase, phase::kSucceeded);
  EXPECT_EQ(status::AdmittedCondition(Get("a").status)->status, "False");
  EXPECT_EQ(TakeWoken(), (std::vector<std::string>{"team/b", "team/c"}));
  ASSERT_TRUE(Reconcile("c"));
  EXPECT_EQ(Get("c").status.phase, phase::kQueued) << "b's slot, not c's";
  EXPECT_EQ(Get("c").status.message, "position 1 of 1 in queue default; 1 running there, 1/1 in all");
  ASSERT_TRUE(Reconcile("b"));
  EXPECT_EQ(Get("b").status.phase, phase::kPending);
  EXPECT_EQ(runtime.applies("uid-b", 1), 1);
  std::lock_guard lock(mu);
  EXPECT_NE(std::find_if(events.begin(), events.end(),
                         [](const std::string& e) { return e.starts_with("b Admitted: admitted by queue default"); }),
            events.end());
}

TEST_F(AdmissionTest, ARestartedOperatorCountsHeldSlotsFromTheRecords) {
  Open(Limits(1));
  Create(NewTask("a", "default", 0));
  ASSERT_TRUE(Reconcile("a"));
  ASSERT_EQ(Get("a").status.phase, phase::kPending);
  // A new process: a new admitter, seeded from every record first.
  Open(Limits(1));
  Create(NewTask("b", "default", 1));
  admitter->TrackAll([&](const Admitter::RecordVisitor& track) {
    ASSERT_TRUE(records.ForEach([&](store::ListEntry e) { track(*e.task); }));
  });
  ASSERT_TRUE(Reconcile("b"));
  EXPECT_EQ(Get("b").status.phase, phase::kQueued) << "a holds the only slot";
}

TEST_F(AdmissionTest, AGrantNotWrittenIsGivenBack) {
  Open(Limits(1));
  Create(NewTask("a", "default", 0));
  Create(NewTask("b", "default", 1));
  // Someone else writes a between the reconciler's read and its write: the
  // admission is not recorded, so the slot must not stay taken.
  store->AfterNextGet([](store::Store& inner, const api::ContainerTask& got) {
    api::ContainerTask edited = got;
    edited.metadata.labels["touched"] = "yes";
    ASSERT_TRUE(inner.Put(edited));
  });
  Result<ReconcileResult> first = Reconcile("a");
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(admitter->Counts()["team/default"].running, 1) << "offered again to a, at the head";
  ASSERT_TRUE(Reconcile("a"));
  EXPECT_EQ(Get("a").status.phase, phase::kPending);
  ASSERT_TRUE(Reconcile("b"));
  EXPECT_EQ(Get("b").status.phase, phase::kQueued);
}

TEST_F(AdmissionTest, PerQueueLimitsAndRoundRobin) {
  Open(Limits(2, 1));
  for (int i = 0; i < 3; ++i) {
    Create(NewTask("x" + std::to_string(i), "x", i));
    Create(NewTask("y" + std::to_string(i), "y", i));
  }
  for (const char* name : {"x0", "x1", "x2", "y0", "y1", "y2"}) ASSERT_TRUE(Reconcile(name));
  std::vector<std::string> pending;
  for (const char* name : {"x0", "x1", "x2", "y0", "y1", "y2"}) {
    if (Get(name).status.phase == phase::kPending) pending.push_back(name);
  }
  EXPECT_EQ(pending, (std::vector<std::string>{"x0", "y0"}));
  ASSERT_TRUE(Reconcile("x2"));  // its message was written before y0 took the second slot
  EXPECT_EQ(Get("x2").status.message, "position 2 of 2 in queue x; 1/1 running there, 2/2 in all");
}

TEST_F(AdmissionTest, RaisingALimitAdmitsAtOnceAndCancellingAQueuedTaskLeavesTheQueue) {
  Open(Limits(1));
  for (int i = 0; i < 3; ++i) Create(NewTask("t" + std::to_string(i), "default", i));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Reconcile("t" + std::to_string(i)));
  TakeWoken();
  admitter->SetLimits(Limits(3));
  std::vector<std::string> woken_now = TakeWoken();
  std::sort(woken_now.begin(), woken_now.end());
  EXPECT_EQ(woken_now, (std::vector<std::string>{"team/t1", "team/t2"}));

  // t2 is cancelled before it runs: it ends without an attempt and its
  // offer goes back.
  api::ContainerTask t2 = Get("t2");
  t2.spec.cancel = true;
  ASSERT_TRUE(records.Put(t2));
  ASSERT_TRUE(Reconcile("t2"));
  EXPECT_EQ(Get("t2").status.phase, phase::kCancelled);
  EXPECT_EQ(Get("t2").status.attempts, 0);
  EXPECT_EQ(admitter->Counts()["team/default"].running, 2);
}

TEST_F(AdmissionTest, ATaskForKueueIsNeverInCtasksQueuesWhereKueueRuns) {
  Open(Limits(1), /*kueue=*/true);
  Create(NewTask("a", "default", 0));
  ASSERT_TRUE(Reconcile("a"));
  api::ContainerTask k = NewTask("k", "default", 1);
  k.metadata.labels["kueue.x-k8s.io/queue-name"] = "lq";
  Create(k);
  ASSERT_TRUE(Reconcile("k"));
  EXPECT_EQ(runtime.applies("uid-k", 1), 1) << "its Job is created at once: Kueue decides when it runs";
  EXPECT_EQ(admitter->Counts()["team/default"].running, 1) << "a's slot only";
  Create(NewTask("b", "default", 2));
  ASSERT_TRUE(Reconcile("b"));
  EXPECT_EQ(Get("b").status.phase, phase::kQueued) << "k took none of ctask's slots, a holds the one";
}

TEST_F(AdmissionTest, WithoutKueueTheLabelIsIgnoredAndTheTaskWaitsItsTurn) {
  Open(Limits(1), /*kueue=*/false);  // the Docker backend
  Create(NewTask("a", "default", 0));
  ASSERT_TRUE(Reconcile("a"));
  api::ContainerTask k = NewTask("k", "default", 1);
  k.metadata.labels["kueue.x-k8s.io/queue-name"] = "lq";
  Create(k);
  ASSERT_TRUE(Reconcile("k"));
  EXPECT_EQ(Get("k").status.phase, phase::kQueued);
  EXPECT_EQ(runtime.applies("uid-k", 1), 0);
}

}  // namespace
}  // namespace ctask::reconcile
