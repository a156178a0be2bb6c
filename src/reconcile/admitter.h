// Admitter: the operator's admission control, the same in both backends.
// It keeps an AdmissionBook (admission/book.h) of every task it has seen,
// fed from the records (Track), answers a task that wants a slot (Ask), and
// wakes the tasks whose turn has come through the `wake` callback (the work
// queue's Add). The reconciler is its only writer of per-task state; the
// backends set the limits (flags, TaskQueues).
//
// Correct under faults because nothing here is the truth: the records are.
// A slot is taken in the record (the Admitted condition) before the task's
// first workload exists, so a new process — after kill -9, or a new leader —
// rebuilds the book from the records (Manager::Start lists them all before
// any worker runs) and never admits past a limit. A slot granted but not
// written is given back (Unclaim); one written but never used is given back
// when the task's record says it is finished.
//
// Thread-safety: every method may be called from any thread; `wake` is
// called without the lock held.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "admission/book.h"
#include "api/types.h"
#include "reconcile/task_key.h"
#include "status/admission.h"
#include "util/clock.h"

namespace ctask::reconcile {

// The queue id of a task: "namespace/queueName".
std::string QueueId(const api::ContainerTask& task);

// What a task's record says about its slot.
admission::Slot SlotOf(const api::ContainerTask& task);

// `base` (the operator's flags) with each TaskQueue's spec.maxRunning as
// its queue's own limit; a TaskQueue without one changes nothing.
admission::Limits WithTaskQueues(admission::Limits base, const std::vector<api::TaskQueue>& queues);

// A waiting task's status message, e.g. "position 3 of 7 in queue team-a;
// 1/1 running there, 5/5 in all".
std::string StandingMessage(const admission::Standing& standing);

// After a change in a queue, this many of its first waiting tasks are woken
// to rewrite their position (the rest catch up at their queued resync,
// task_reconciler.h): the task next in line says where it stands, at the
// cost of one status write per change, not one per waiting task (the
// benchmark measured 6.9 writes per task with three).
inline constexpr size_t kRefreshedFront = 1;

class Admitter {
 public:
  using Wake = std::function<void(const std::string& key)>;
  // Told each admission once it is written: the task's queue id and how
  // long this process saw it wait (metrics).
  using AdmittedListener =
      std::function<void(const api::ContainerTask& task, const std::string& queue, std::chrono::nanoseconds waited)>;

  // `kueue`: tasks labelled for Kueue are Kueue's to admit and never in the
  // book (ReconcilerOptions::kueue).
  explicit Admitter(admission::Limits limits = {}, Wake wake = {}, const Clock& clock = RealClock(),
                    bool kueue = false);

  // Both before any worker runs.
  void SetWake(Wake wake);
  void SetAdmittedListener(AdmittedListener listener);
  // Replaces every limit / one queue's override (nullopt: back to the
  // default). Raising a limit admits at once; lowering one withdraws offers
  // not yet taken and lets running tasks finish.
  void SetLimits(admission::Limits limits);
  void SetQueueLimit(const std::string& queue, std::optional<int> limit);
  admission::Limits limits() const;

  // Records what the task's record says (waiting, holding, or neither).
  void Track(const api::ContainerTask& task);
  // Track for many records at once, offering slots only once all are in:
  // the book after a restart, where a waiting task must not be offered a
  // slot that a holding task later in the list has. `records` hands each
  // record to its argument in turn (store::TaskReader::ForEach), so the
  // records need not all be in memory at once.
  using RecordVisitor = std::function<void(const api::ContainerTask&)>;
  void TrackAll(const std::function<void(const RecordVisitor&)>& records);
  // The task is gone: its slot, if any, is free, and its items' slots.
  void Forget(const std::string& key);
  // For a task that wants a slot (status::WantsSlot): granted when its turn
  // has come (the slot is claimed for it), else where it stands.
  status::Admission Ask(const api::ContainerTask& task);
  // A granted slot that was not written into the record.
  void Unclaim(const std::string& key);
  // A granted slot written into `task`'s record: the admission happened.
  void Admitted(const api::ContainerTask& task);

  std::map<std::string, admission::QueueCounts> Counts() const;

 private:
  // Offers free slots; the keys to wake: those offered a slot, and the
  // front of every queue that changed.
  std::vector<std::string> OfferLocked();
  // SlotOf, but kNone for a task Kueue admits.
  admission::Slot SlotFor(const api::ContainerTask& task) const;
  void WakeAll(const std::vector<std::string>& keys) const;

  // Notes when a task first asks (its wait, for metrics).
  void NoteWaitingLocked(const std::string& key);

  mutable std::mutex mu_;
  admission::AdmissionBook book_;  // guarded by mu_
  const Clock& clock_;
  const bool kueue_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> waiting_since_;  // guarded by mu_
  Wake wake_;                                                                             // set before workers start
  AdmittedListener on_admitted_;                                                          // set before workers start
};

}  // namespace ctask::reconcile
