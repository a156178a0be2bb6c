// TaskReconciler: reconcile(key) for both backends, controller-runtime
// style. Level-based: it reads the task's record and what the runtime sees,
// asks status::Decide what the status is and what to do, writes the status
// when it differs, and does that one thing. Any process may run it after a
// crash and reach the same answer: the record and the labelled workloads
// are the whole state.
//
// The record lives in a store::Store (the state directory, or the API
// server). A record whose metadata.deletionTimestamp is set is being
// deleted: the running attempt is stopped and its log archived first, then
// its workloads are removed, then the record (and its log).
//
// Thread-safety: Reconcile may run on several threads at once for different
// keys (the work queue never hands one key to two workers).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcile/admitter.h"
#include "reconcile/log_archiver.h"
#include "reconcile/ready_keys.h"
#include "runtime/runtime.h"
#include "status/decide.h"
#include "status/item_results.h"
#include "status/transition.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/time.h"
#include "util/token_bucket.h"

namespace ctask::reconcile {

struct ReconcilerOptions {
  // SIGTERM-to-SIGKILL time when stopping an attempt (cancel, suspend,
  // deadline, delete). Docker's own default.
  std::chrono::seconds stop_grace{10};
  // A running attempt is looked at again after this long even without news.
  // The prompt signal is the end of its log follow; this is the safety net.
  std::chrono::seconds running_resync{30};
  // A running attempt's status.logTail is written at most this often: a
  // chatty task costs one status write per interval, not one per line.
  std::chrono::seconds log_tail_interval{10};
  // And at most this many tail refreshes a second across all tasks (burst:
  // twice that), 0 = no bound: a thousand chatty tasks would otherwise
  // cost a hundred status writes a second, the whole default client
  // budget, and hold up the writes that matter (a start, an end). A tail
  // refused its turn is tried again at the task's next look; the final
  // status always carries the whole tail.
  double log_tail_qps = 0;
  // A task waiting for a slot is looked at again (its position in the
  // message refreshed) after this long, or after as many seconds as its
  // position when that is longer: the front of a long queue stays current
  // without rewriting every waiting task every interval.
  std::chrono::seconds queued_resync{30};
  // A task labelled kueue.x-k8s.io/queue-name is admitted by Kueue, not by
  // the admitter (the Kubernetes backend; Docker has no Kueue).
  bool kueue = false;
};

// A fan-out task's item starts and stops run this many at a time.
inline constexpr size_t kItemActionsAtOnce = 8;

struct ReconcileResult {
  // Look again after this long; nullopt: only a change needs a new look.
  std::optional<std::chrono::milliseconds> requeue_after;
  // The task is finished and nothing of it is pending: terminal phase, no
  // live workload, its last log archived. Gone (deleted) also counts.
  bool settled = false;
  // Where a look-again due at once queues (a later one comes due at
  // kNormal): kLow behind the tasks whose workloads are not created yet.
  Priority requeue_priority = Priority::kNormal;
};

// Told the task's record after every reconcile that wrote it.
using StatusListener = std::function<void(const api::ContainerTask& task)>;

// Told every event worth recording about a task (status/transition.h, and
// LogArchived, WorkloadDeleted): the Kubernetes backend records them as
// Events.
using EventSink = std::function<void(const api::ContainerTask& task, const status::TaskEvent& event)>;

class TaskReconciler {
 public:
  // All references must outlive the reconciler. Status timestamps are
  // WallTimestamp(clock). `admitter` (may be null: every task is admitted at
  // once) decides when a task may start.
  TaskReconciler(store::Store& store, runtime::Runtime& runtime, LogArchiver& logs, const Clock& clock,
                 ReconcilerOptions options, StatusListener on_status = {}, EventSink on_event = {},
                 Admitter* admitter = nullptr);

  Result<ReconcileResult> Reconcile(const std::string& ns, const std::string& name);

  // Before any worker runs: how to have a task reconciled again (the work
  // queue's Add), for the tasks that run after one that has just finished.
  void SetWake(std::function<void(const std::string& key)> wake) { wake_ = std::move(wake); }

 private:
  // The steps of Reconcile, numbered there.
  // 2. The current attempt as the runtime sees it; none before the first.
  Result<std::optional<runtime::Observation>> ObserveCurrent(const api::ContainerTask& task);
  // 4. `task` with an exited attempt's whole log merged in, or nullopt while
  //    that log is still being read. Starts following a log that ran.
  std::optional<api::ContainerTask> WithFinishedLog(const api::ContainerTask& task,
                                                    const std::optional<runtime::Observation>& observed);
  // 4. A running attempt's log tail when it changed and may be written now.
  std::optional<std::string> DueTail(const api::ContainerTask& task,
                                     const std::optional<runtime::Observation>& observed, Timestamp now);
  // 5. The admitter's answer when the task wants a slot (and whether it was
  //    asked), else a grant that changes nothing.
  std::pair<status::Admission, bool> AskAdmission(const api::ContainerTask& task, const std::string& invalid);
  // Whether Kueue, not the admitter, admits the task here.
  bool AdmittedByKueue(const api::ContainerTask& task) const;
  // 6. Writes `updated` (then tells the listener, emits the transition's
  //    event) only when it says something `before` did not
  //    (status/worth_writing.h).
  Status WriteStatus(const api::ContainerTask& before, const api::ContainerTask& updated);
  // 6-7. WriteStatus and Act, in the order a crash between them allows
  //      (task_reconciler.cc says which), or neither while a first
  //      status may wait (status::WriteWait); the admitter told what
  //      was written.
  Result<ReconcileResult> WriteAndAct(const api::ContainerTask& task, const api::ContainerTask& updated,
                                      const std::optional<runtime::Observation>& observed,
                                      const status::Decision& decision, const status::Admission& admission, bool asked,
                                      Timestamp now);
  // 7. Carries out the decision's action on the runtime (all but
  //    kDeleteTask, which is Finalize); how soon to look again because of it.
  Result<ReconcileResult> Act(const status::Decision& decision, const api::ContainerTask& updated);
  // 8. `result` completed with the decision's requeue, the running resync
  //    and whether the task has settled.
  ReconcileResult NextLook(const api::ContainerTask& task, const api::ContainerTask& updated,
                           const std::optional<runtime::Observation>& observed, const status::Decision& decision,
                           ReconcileResult result) const;

  Result<ReconcileResult> Finalize(const api::ContainerTask& task, const std::optional<runtime::Observation>& observed);

  // A fan-out task (fan_out_pass.cc): each item in progress reconciled as a
  // task of its own, one status write for all.
  struct ItemWork;
  Result<ReconcileResult> ReconcileFanOut(const api::ContainerTask& task);
  ItemWork ReconcileItem(const api::ContainerTask& task, const api::ItemStatus& entry, const std::string& stop_cause,
                         Timestamp now, std::string& last_tail);
  // The results of items that finished this pass, into the results
  // document and `updated`'s status.
  Status RecordResults(const api::ContainerTask& task, const std::vector<ItemWork>& items, api::ContainerTask& updated);
  Result<ReconcileResult> ActOnItems(const api::ContainerTask& updated, const std::vector<ItemWork>& items);
  Status ActOnItem(const api::ContainerTask& updated, const ItemWork& work);
  Result<ReconcileResult> FanOutNextLook(const api::ContainerTask& updated, const std::vector<ItemWork>& items,
                                         ReconcileResult result);
  Status FailItemStart(const api::ContainerTask& task, int32_t index, int attempt, const Error& refusal);
  Result<ReconcileResult> FinalizeFanOut(const api::ContainerTask& task);

  // Dependencies (spec.runAfter, dependencies_pass.cc): a task not started
  // yet waits for the tasks it names, or fails with them; once they have
  // all succeeded, its inputs are written and `task` is updated to go on
  // (nullopt returned).
  std::optional<Result<ReconcileResult>> HoldForDependencies(api::ContainerTask& task);
  Status PrepareInputs(const api::ContainerTask& task);
  // The tasks waiting for `key`'s task are reconciled again.
  void WakeDependents(const std::string& key);
  Status RemoveWorkloads(const api::ContainerTask& task);
  // Drops what this process keeps in memory of a task that is gone (its
  // followers, slot, tail timer, results, inputs mark) and of its items.
  void ForgetTask(const std::string& key);
  // The runtime refused to start `attempt` for good (a terminal error,
  // outcome.h): the task is written as Failed naming the cause, and the
  // refusal is returned so the queue does not retry it.
  Result<ReconcileResult> FailStart(const api::ContainerTask& task, int attempt, const Error& refusal);
  // Whether a running task's logTail may be written now (and notes that it
  // is).
  bool TailDue(const std::string& key, Timestamp now);
  void Emit(const api::ContainerTask& task, const status::TaskEvent& event) const;

  store::Store& store_;
  runtime::Runtime& runtime_;
  LogArchiver& logs_;
  const Clock& clock_;
  const ReconcilerOptions options_;
  const StatusListener on_status_;
  const EventSink on_event_;
  Admitter own_admitter_;  // no limits: used when none is given
  Admitter& admitter_;

  std::mutex results_mu_;
  std::map<std::string, status::ItemResults> results_;  // by task key; guarded by results_mu_

  std::function<void(const std::string&)> wake_;  // set before workers start
  std::mutex deps_mu_;
  std::map<std::string, std::set<std::string>> dependents_;  // task key -> keys waiting for it; guarded by deps_mu_
  std::set<std::string> inputs_written_;                     // guarded by deps_mu_

  std::mutex tail_mu_;
  std::map<std::string, Timestamp> tail_written_;  // guarded by tail_mu_
  TokenBucket tail_budget_;                        // guarded by tail_mu_
};

}  // namespace ctask::reconcile
