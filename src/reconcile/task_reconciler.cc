#include "reconcile/task_reconciler.h"

#include <cmath>

#include "api/codec.h"
#include "api/validate.h"
#include "reconcile/outcome.h"
#include "render/labels.h"
#include "status/decide.h"
#include "status/fan_out.h"
#include "status/log_attempt.h"
#include "status/worth_writing.h"

namespace ctask::reconcile {
namespace {

using runtime::WorkloadState;
using std::chrono::milliseconds;

// Puts an attempt's archived log into the task: the tail, the artifact, and
// status.logAttempt saying this attempt's log is complete.
void MergeLog(api::ContainerTask& task, const ArchivedLog& log) {
  task.status.log_tail = log.tail;
  if (log.summary) {
    task.status.artifacts.log = api::LogArtifact{log.summary->kind, log.summary->location, log.summary->size_bytes,
                                                 log.summary->sha256, log.summary->truncated};
  } else {
    task.status.artifacts.log.reset();
  }
  task.status.log_attempt = log.attempt;
}

}  // namespace

TaskReconciler::TaskReconciler(store::Store& store, runtime::Runtime& runtime, LogArchiver& logs, const Clock& clock,
                               ReconcilerOptions options, StatusListener on_status, EventSink on_event,
                               Admitter* admitter)
    : store_(store),
      runtime_(runtime),
      logs_(logs),
      clock_(clock),
      options_(options),
      on_status_(std::move(on_status)),
      on_event_(std::move(on_event)),
      admitter_(admitter != nullptr ? *admitter : own_admitter_),
      tail_budget_(options.log_tail_qps, static_cast<int>(std::ceil(2 * options.log_tail_qps)), clock.Steady()) {}

void TaskReconciler::Emit(const api::ContainerTask& task, const status::TaskEvent& event) const {
  if (on_event_) on_event_(task, event);
}

bool TaskReconciler::TailDue(const std::string& key, Timestamp now) {
  std::lock_guard lock(tail_mu_);
  auto it = tail_written_.find(key);
  if (it != tail_written_.end() && now - it->second < options_.log_tail_interval) return false;
  if (!tail_budget_.TryTake(clock_.Steady())) return false;  // its next look tries again
  tail_written_.insert_or_assign(key, now);
  return true;
}

Status TaskReconciler::RemoveWorkloads(const api::ContainerTask& task) {
  for (int attempt = std::max(task.status.attempts, 1); attempt >= 1; --attempt) {
    if (Status stopped = runtime_.Stop(task, attempt, options_.stop_grace); !stopped) return stopped;
    if (Status deleted = runtime_.Delete(task, attempt); !deleted) return deleted;
  }
  return {};
}

Result<ReconcileResult> TaskReconciler::Finalize(const api::ContainerTask& task,
                                                 const std::optional<runtime::Observation>& observed) {
  const std::string key = TaskKey(task);
  // a. The log first: an attempt that ran is stopped, so its log ends, and
  //    the record is given the archive before anything is removed.
  const bool ran =
      observed && (observed->state == WorkloadState::kRunning || observed->state == WorkloadState::kExited);
  if (ran && status::CompleteLogAttempt(task) != observed->attempt) {
    if (observed->state == WorkloadState::kRunning) {
      if (Status stopped = runtime_.Stop(task, observed->attempt, options_.stop_grace); !stopped) {
        return std::unexpected(stopped.error());
      }
    }
    logs_.Ensure(task, observed->attempt);
    std::optional<ArchivedLog> log = logs_.Finished(key, observed->attempt);
    if (!log) return ReconcileResult{milliseconds(1000), false};  // on_finished brings us back sooner
    api::ContainerTask archived = task;
    MergeLog(archived, *log);
    if (Status put = store_.Put(archived); !put && put.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(put.error());
    }
    if (log->summary) {
      Emit(archived, {"Normal", "LogArchived",
                      "attempt " + std::to_string(log->attempt) + "'s log archived before deletion (" +
                          std::to_string(log->summary->size_bytes) + " bytes in " + log->summary->kind + " " +
                          log->summary->location + ")"});
    }
    return ReconcileResult{milliseconds(0), false};  // on to b. with the archived record
  }
  // b. Then the workloads, then the record.
  logs_.Forget(key);
  if (Status removed = RemoveWorkloads(task); !removed) return std::unexpected(removed.error());
  if (Status deleted = store_.Delete(task.metadata.namespace_, task.metadata.name); !deleted) {
    return std::unexpected(deleted.error());
  }
  ForgetTask(key);
  return ReconcileResult{std::nullopt, true};
}

void TaskReconciler::ForgetTask(const std::string& key) {
  logs_.Forget(key);
  admitter_.Forget(key);
  {
    std::lock_guard lock(tail_mu_);
    tail_written_.erase(key);
  }
  {
    std::lock_guard lock(results_mu_);
    results_.erase(key);
  }
  std::lock_guard lock(deps_mu_);
  inputs_written_.erase(key);
}

Result<ReconcileResult> TaskReconciler::FailStart(const api::ContainerTask& task, int attempt, const Error& refusal) {
  // Read again: step 6 may have just written the record, and the store
  // refuses a write from the version before it. The status is the one
  // decided (`task`'s), written or not: a start tried before its status was
  // written (WriteAndAct) fails as the attempt it was.
  Result<api::ContainerTask> current = store_.Get(task.metadata.namespace_, task.metadata.name);
  if (!current) return std::unexpected(current.error());
  api::ContainerTask failed = std::move(*current);
  const bool forbidden = refusal.code() == ErrorCode::kPermissionDenied;
  failed.status = status::FailStart(task.status, failed.metadata.generation, attempt,
                                    forbidden ? status::reason::kForbidden : status::reason::kInvalidSpec,
                                    refusal.message(), WallTimestamp(clock_));
  if (Status put = store_.Put(failed); !put) return std::unexpected(put.error());
  if (on_status_) on_status_(failed);
  if (std::optional<status::TaskEvent> event = status::TransitionEvent(task.status, failed.status)) {
    Emit(failed, *event);
  }
  // The task says why; the queue is told not to retry (outcome.h).
  return std::unexpected(refusal);
}

Result<std::optional<runtime::Observation>> TaskReconciler::ObserveCurrent(const api::ContainerTask& task) {
  // Before the record names an attempt, the first may exist all the same:
  // it is created before the status that says so (WriteAndAct).
  Result<runtime::Observation> o = runtime_.Observe(task, std::max(task.status.attempts, 1));
  if (!o) return std::unexpected(o.error());
  if (task.status.attempts == 0 && o->state == WorkloadState::kAbsent) return std::optional<runtime::Observation>();
  return std::optional<runtime::Observation>(std::move(*o));
}

std::optional<api::ContainerTask> TaskReconciler::WithFinishedLog(const api::ContainerTask& task,
                                                                  const std::optional<runtime::Observation>& observed) {
  const bool ran =
      observed && (observed->state == WorkloadState::kRunning || observed->state == WorkloadState::kExited);
  if (ran) logs_.Ensure(task, observed->attempt);
  const bool log_pending =
      ran && observed->state == WorkloadState::kExited && status::CompleteLogAttempt(task) != observed->attempt;
  api::ContainerTask updated = task;
  if (log_pending) {
    std::optional<ArchivedLog> log = logs_.Finished(TaskKey(task), observed->attempt);
    if (!log) return std::nullopt;
    MergeLog(updated, *log);
  }
  return updated;
}

std::optional<std::string> TaskReconciler::DueTail(const api::ContainerTask& task,
                                                   const std::optional<runtime::Observation>& observed, Timestamp now) {
  if (!observed || observed->state != WorkloadState::kRunning) return std::nullopt;
  std::optional<std::string> tail = logs_.LiveTail(TaskKey(task), observed->attempt);
  if (tail && *tail != task.status.log_tail && TailDue(TaskKey(task), now)) return tail;
  return std::nullopt;
}

bool TaskReconciler::AdmittedByKueue(const api::ContainerTask& task) const {
  return options_.kueue && status::IsKueueManaged(task);
}

std::pair<status::Admission, bool> TaskReconciler::AskAdmission(const api::ContainerTask& task,
                                                                const std::string& invalid) {
  if (AdmittedByKueue(task)) return {status::Admission{.external = true}, false};
  if (!invalid.empty() || !status::WantsSlot(task)) {
    admitter_.Track(task);
    return {status::Admission{}, false};
  }
  return {admitter_.Ask(task), true};
}

Status TaskReconciler::WriteStatus(const api::ContainerTask& before, const api::ContainerTask& updated) {
  if (!status::WorthWriting(before, updated)) return {};
  if (Status put = store_.Put(updated); !put) return std::unexpected(put.error());
  if (on_status_) on_status_(updated);
  if (status::IsTerminal(updated.status.phase) && !status::IsTerminal(before.status.phase)) {
    WakeDependents(TaskKey(updated));
  }
  if (std::optional<status::TaskEvent> event = status::AdmissionEvent(before.status, updated.status)) {
    Emit(updated, *event);
  }
  if (std::optional<status::TaskEvent> event = status::SkippedStartEvent(before.status, updated.status)) {
    Emit(updated, *event);
  }
  if (std::optional<status::TaskEvent> event = status::TransitionEvent(before.status, updated.status)) {
    Emit(updated, *event);
  }
  return {};
}

Result<ReconcileResult> TaskReconciler::Act(const status::Decision& decision, const api::ContainerTask& updated) {
  ReconcileResult result;
  switch (decision.action) {
    case status::Action::kNone:
    case status::Action::kDeleteTask:  // Reconcile finalizes the task instead
      break;
    case status::Action::kStartAttempt: {
      // A task that cannot start here is recorded by the runtime and
      // observed as Waiting with the cause; look again at once.
      Status applied = runtime_.Apply(updated, decision.attempt);
      if (!applied && IsTerminalError(applied.error())) return FailStart(updated, decision.attempt, applied.error());
      if (!applied && applied.error().code() != ErrorCode::kFailedPrecondition) {
        return std::unexpected(applied.error());
      }
      result.requeue_after = milliseconds(0);
      break;
    }
    case status::Action::kStopAttempt:
      if (Status stopped = runtime_.Stop(updated, decision.attempt, options_.stop_grace); !stopped) {
        return std::unexpected(stopped.error());
      }
      result.requeue_after = milliseconds(0);  // archive its log, then settle
      break;
    case status::Action::kDeleteWorkload:
      // Every attempt's workload, not only the last: retries leave some.
      for (int attempt = decision.attempt; attempt >= 1; --attempt) {
        if (Status deleted = runtime_.Delete(updated, attempt); !deleted) return std::unexpected(deleted.error());
      }
      Emit(updated, {"Normal", "WorkloadDeleted",
                     "workloadTTLSecondsAfterFinished passed: the task's workloads were deleted; the task and its "
                     "log stay"});
      result.requeue_after = milliseconds(0);  // settle on a look at what is left
      break;
  }
  return result;
}

ReconcileResult TaskReconciler::NextLook(const api::ContainerTask& task, const api::ContainerTask& updated,
                                         const std::optional<runtime::Observation>& observed,
                                         const status::Decision& decision, ReconcileResult result) const {
  if (decision.requeue_after && !result.requeue_after) result.requeue_after = decision.requeue_after;
  if (observed && observed->state == WorkloadState::kRunning && decision.action == status::Action::kNone) {
    const milliseconds resync = std::min<milliseconds>(options_.running_resync, options_.log_tail_interval);
    if (!result.requeue_after || *result.requeue_after > resync) result.requeue_after = resync;
  }
  // A task that has just finished is looked at once more as finished: the
  // TTLs start from there. An exited attempt's log was merged in step 4, so
  // after that nothing else is pending.
  const bool was_terminal = status::IsTerminal(task.status.phase);
  const bool terminal = status::IsTerminal(updated.status.phase);
  if (terminal && !was_terminal) result.requeue_after = milliseconds(0);
  result.settled = was_terminal && terminal && decision.action == status::Action::kNone && !runtime::IsLive(observed);
  return result;
}

Result<ReconcileResult> TaskReconciler::WriteAndAct(const api::ContainerTask& task, const api::ContainerTask& updated,
                                                    const std::optional<runtime::Observation>& observed,
                                                    const status::Decision& decision,
                                                    const status::Admission& admission, bool asked, Timestamp now) {
  const bool claimed = asked && admission.granted;
  // The status first, as a rule: a crash after it redoes the (idempotent)
  // action. A slot taken under a limit is in the record before the
  // workload exists, so a restarted operator counts it; one granted but
  // not written is given back. A first attempt that counts against no
  // limit is the exception: its workload alone, and the next pass, which
  // observes it (ObserveCurrent), writes the status that says so — so in
  // a burst every task's Job comes before any task's status, and a task
  // costs the API server no write before its Job. A crash in between
  // finds the workload by its deterministic name. Only the first attempt:
  // a retry's start must follow the status that records the failure before
  // it, or the next pass, reading a record that still names no attempt,
  // finds attempt 1 ended again and starts attempt 2 again, never writing.
  if (decision.action == status::Action::kStartAttempt && decision.attempt == 1 && task.status.attempts == 0 &&
      !(claimed && admission.limited)) {
    Result<ReconcileResult> acted = Act(decision, updated);
    if (claimed) admitter_.Unclaim(TaskKey(task));  // the record does not hold it yet
    // That next pass goes behind the tasks still waiting for their first
    // workload (kLow, as the initial list and a Job first seen are): at
    // kNormal it would come before them, a status write between every two
    // Jobs of a burst. A workload that ends meanwhile is seen at kHigh, and
    // its pass writes the one status that says so.
    if (acted && acted->requeue_after == std::chrono::milliseconds(0)) acted->requeue_priority = Priority::kLow;
    return acted;
  }
  if (std::optional<std::chrono::seconds> wait = status::WriteWait(task, observed, decision, now)) {
    if (claimed) admitter_.Unclaim(TaskKey(task));
    return ReconcileResult{*wait, false};
  }
  if (Status written = WriteStatus(task, updated); !written) {
    if (claimed) admitter_.Unclaim(TaskKey(task));
    return std::unexpected(written.error());
  }
  if (claimed && !status::HoldsSlot(updated)) admitter_.Unclaim(TaskKey(task));
  if (claimed && status::HoldsSlot(updated)) admitter_.Admitted(updated);
  if (!admission.external) admitter_.Track(updated);
  // Deleting the task is Finalize's, which ends the pass.
  if (decision.action == status::Action::kDeleteTask) return Finalize(updated, observed);
  return Act(decision, updated);
}

Result<ReconcileResult> TaskReconciler::Reconcile(const std::string& ns, const std::string& name) {
  // 1. The record; gone means nothing to do.
  Result<api::ContainerTask> record = store_.Get(ns, name);
  if (!record) {
    if (record.error().code() != ErrorCode::kNotFound) return std::unexpected(record.error());
    ForgetTask(ns + "/" + name);
    return ReconcileResult{std::nullopt, true};
  }
  api::ContainerTask task = std::move(*record);
  if (std::optional<Result<ReconcileResult>> held = HoldForDependencies(task)) return std::move(*held);
  if (status::IsFanOut(task.spec)) return ReconcileFanOut(task);

  // 2. What the runtime sees of the current attempt.
  Result<std::optional<runtime::Observation>> current = ObserveCurrent(task);
  if (!current) return std::unexpected(current.error());
  const std::optional<runtime::Observation>& observed = *current;

  // 3. Being deleted: archive the log, remove what it owns, then the record.
  //    A slot it holds stays taken until the record is gone.
  if (task.metadata.deletion_timestamp) {
    if (!AdmittedByKueue(task)) admitter_.Track(task);
    return Finalize(task, observed);
  }

  // 4. Its output: followed while it runs; once it exited, the status waits
  //    for the whole log, so the final status carries the tail and artifact.
  std::optional<api::ContainerTask> with_log = WithFinishedLog(task, observed);
  if (!with_log) return ReconcileResult{milliseconds(1000), false};  // on_finished brings us back sooner
  api::ContainerTask updated = std::move(*with_log);
  // While it runs, the tail as it grows, at most once per log_tail_interval.
  const Timestamp now = WallTimestamp(clock_);
  if (std::optional<std::string> tail = DueTail(task, observed, now)) updated.status.log_tail = *tail;

  // 5. Admission (a task that wants a slot asks its queue), then decide.
  const std::string invalid = JoinFieldErrors(api::ValidateSpec(task.spec));
  const auto [admission, asked] = AskAdmission(task, invalid);
  status::Decision decision = status::Decide(updated, observed, now, invalid, admission);
  updated.status = decision.status;

  // 6-7. Write the status when it says something new, and act. Deleting
  //      the task (Finalize) ends the pass.
  Result<ReconcileResult> acted = WriteAndAct(task, updated, observed, decision, admission, asked, now);
  if (!acted || decision.action == status::Action::kDeleteTask) return acted;

  // 8. When to look again; a waiting task's message is refreshed now and
  //    then (its turn wakes it at once).
  ReconcileResult next = NextLook(task, updated, observed, decision, *acted);
  if (asked && !admission.granted) {
    next.requeue_after = std::max<milliseconds>(options_.queued_resync, std::chrono::seconds(admission.position));
  }
  return next;
}

}  // namespace ctask::reconcile
