// TaskReconciler's pass over a fan-out task (status/fan_out.h): each item in
// progress is reconciled as a task of its own — observed, its log followed
// into its own artifact, admitted by its queue, decided by Decide — then the
// task's status is folded from its items and written once for all of them,
// and the items' actions are carried out.
#include <algorithm>
#include <thread>

#include "api/validate.h"
#include "reconcile/outcome.h"
#include "reconcile/task_reconciler.h"
#include "render/labels.h"
#include "status/fan_out.h"

namespace ctask::reconcile {
namespace {

using runtime::WorkloadState;
using std::chrono::milliseconds;

}  // namespace

// One item in this pass: its view, what was seen of it and what Decide said.
struct TaskReconciler::ItemWork {
  api::ContainerTask view;
  std::optional<runtime::Observation> observed;
  status::Decision decision;
  status::Admission admission;
  bool asked = false;
  bool log_pending = false;  // exited, its log still being read: decided next pass
  api::ItemStatus entry;     // after this pass
};

TaskReconciler::ItemWork TaskReconciler::ReconcileItem(const api::ContainerTask& task, const api::ItemStatus& entry,
                                                       const std::string& stop_cause, Timestamp now,
                                                       std::string& last_tail) {
  ItemWork work;
  work.view = status::ItemView(task, entry, !stop_cause.empty());
  work.entry = entry;
  if (entry.attempts > 0) {
    Result<runtime::Observation> o = runtime_.Observe(work.view, entry.attempts);
    if (!o) {
      // Unreachable backend: the item stays as it is; the pass retries.
      work.log_pending = true;
      return work;
    }
    work.observed = std::move(*o);
  }
  std::optional<api::ContainerTask> with_log = WithFinishedLog(work.view, work.observed);
  if (!with_log) {
    work.log_pending = true;
    return work;
  }
  if (with_log->status.log_tail != work.view.status.log_tail) last_tail = with_log->status.log_tail;
  std::tie(work.admission, work.asked) = AskAdmission(work.view, "");
  work.decision = status::Decide(*with_log, work.observed, now, "", work.admission);
  work.entry = status::ItemEntry(entry, work.decision.status, stop_cause);
  return work;
}

Status TaskReconciler::RecordResults(const api::ContainerTask& task, const std::vector<ItemWork>& items,
                                     api::ContainerTask& updated) {
  std::vector<const ItemWork*> finished;
  for (const ItemWork& w : items) {
    const bool done = status::IsTerminal(w.entry.phase) && !runtime::IsLive(w.observed) && w.entry.attempts > 0;
    if (done && !status::IsTerminal(w.view.status.phase)) finished.push_back(&w);
  }
  if (finished.empty()) return {};
  const std::string key = TaskKey(task);
  std::lock_guard lock(results_mu_);
  auto it = results_.find(key);
  if (it == results_.end()) {
    // After a restart: what an earlier process recorded.
    status::ItemResults earlier;
    Result<std::string> stored = store_.ReadResults(task.metadata.namespace_, task.metadata.name);
    if (stored) earlier = status::DecodeResults(*stored);
    it = results_.emplace(key, std::move(earlier)).first;
  }
  for (const ItemWork* w : finished) {
    status::ItemResult r;
    r.index = w->entry.index;
    if (w->view.item && w->view.item->value) r.item = *w->view.item->value;
    r.phase = w->entry.phase;
    r.reason = w->entry.reason;
    r.exit_code = w->entry.exit_code;
    r.attempts = w->entry.attempts;
    r.result = w->decision.status.result;
    it->second[r.index] = std::move(r);
  }
  status::ResultsDocument doc = status::EncodeResults(task.metadata.name, status::ItemCount(task.spec), it->second);
  Result<store::LogSummary> put = store_.PutResults(updated, doc.text);
  if (!put) return std::unexpected(put.error());
  updated.status.artifacts.results = api::ResultsArtifact{
      put->kind, put->location, put->size_bytes, put->sha256, static_cast<int32_t>(it->second.size()), doc.truncated};
  return {};
}

Status TaskReconciler::ActOnItem(const api::ContainerTask& updated, const ItemWork& w) {
  const api::ContainerTask view = status::ItemView(updated, w.entry, w.view.spec.cancel);
  switch (w.decision.action) {
    case status::Action::kStartAttempt: {
      Status applied = runtime_.Apply(view, w.decision.attempt);
      // A start that cannot happen here is observed next pass (Waiting,
      // with the cause); a refusal for good is returned for FailItemStart.
      if (!applied && applied.error().code() == ErrorCode::kFailedPrecondition) return {};
      return applied;
    }
    case status::Action::kStopAttempt:
      return runtime_.Stop(view, w.decision.attempt, options_.stop_grace);
    case status::Action::kNone:
    case status::Action::kDeleteWorkload:  // items have no TTLs: the task's cover them
    case status::Action::kDeleteTask:
      return {};
  }
  return {};
}

Result<ReconcileResult> TaskReconciler::ActOnItems(const api::ContainerTask& updated,
                                                   const std::vector<ItemWork>& items) {
  // Each start or stop is a backend round trip or several (a container's
  // create and start; a Job's create): side by side, kItemActionsAtOnce at
  // a time, so opening 50 items does not take 50 round trips in a row.
  std::vector<const ItemWork*> acting;
  for (const ItemWork& w : items) {
    if (!w.log_pending && w.decision.action != status::Action::kNone) acting.push_back(&w);
  }
  std::vector<Status> outcomes(acting.size());
  for (size_t first = 0; first < acting.size(); first += kItemActionsAtOnce) {
    const size_t last = std::min(acting.size(), first + kItemActionsAtOnce);
    std::vector<std::jthread> wave;
    for (size_t i = first + 1; i < last; ++i) {
      wave.emplace_back([&, i] { outcomes[i] = ActOnItem(updated, *acting[i]); });
    }
    outcomes[first] = ActOnItem(updated, *acting[first]);  // this thread takes one
  }                                                        // each wave joins before the next
  ReconcileResult result;
  for (size_t i = 0; i < acting.size(); ++i) {
    const ItemWork& w = *acting[i];
    if (w.decision.action == status::Action::kStartAttempt || w.decision.action == status::Action::kStopAttempt) {
      result.requeue_after = milliseconds(0);
    }
    if (outcomes[i]) continue;
    if (w.decision.action == status::Action::kStartAttempt && IsTerminalError(outcomes[i].error())) {
      // Refused for good: this item fails, the others go on.
      if (Status failed = FailItemStart(updated, w.entry.index, w.decision.attempt, outcomes[i].error()); !failed) {
        return std::unexpected(failed.error());
      }
      continue;
    }
    return std::unexpected(outcomes[i].error());
  }
  return result;
}

Result<ReconcileResult> TaskReconciler::ReconcileFanOut(const api::ContainerTask& task) {
  if (task.metadata.deletion_timestamp) return FinalizeFanOut(task);
  const Timestamp now = WallTimestamp(clock_);
  const std::string invalid = JoinFieldErrors(api::ValidateSpec(task.spec));
  const std::string stop_cause = status::StopCause(task, invalid);

  // 1. Every item in progress, then the next ones parallelism lets start.
  std::vector<api::ItemStatus> entries = status::ItemsInProgress(task);
  for (int32_t index : status::NextItems(task, invalid)) entries.push_back(status::NewItem(task, index));
  std::vector<ItemWork> items;
  items.reserve(entries.size());
  std::string last_tail;
  for (const api::ItemStatus& entry : entries) {
    items.push_back(ReconcileItem(task, entry, stop_cause, now, last_tail));
  }

  // 2. The task's status from its items; the finished items' results first,
  //    so a status that says an item finished never lacks its result.
  std::vector<status::ItemPass> passes;
  passes.reserve(items.size());
  for (const ItemWork& w : items) passes.push_back({w.entry, w.log_pending || runtime::IsLive(w.observed)});
  api::ContainerTask updated = task;
  updated.status = status::FoldFanOut(task, passes, invalid, last_tail, now);
  if (Status recorded = RecordResults(task, items, updated); !recorded) return std::unexpected(recorded.error());

  // 3. Written once for all items, before any acts; slots granted but not
  //    written are given back.
  if (Status written = WriteStatus(task, updated); !written) {
    for (const ItemWork& w : items) {
      if (w.asked && w.admission.granted) admitter_.Unclaim(TaskKey(w.view));
    }
    return std::unexpected(written.error());
  }
  for (const ItemWork& w : items) {
    if (w.log_pending) continue;
    const api::ContainerTask after = status::ItemView(updated, w.entry, w.view.spec.cancel);
    if (w.asked && w.admission.granted) {
      if (w.entry.admitted) {
        admitter_.Admitted(after);
      } else {
        admitter_.Unclaim(TaskKey(after));
      }
    }
    admitter_.Track(after);
    if (status::IsTerminal(w.entry.phase) && !runtime::IsLive(w.observed)) logs_.Forget(TaskKey(after));
  }

  // 4. Act for each item; a finished task's TTLs once nothing is left.
  Result<ReconcileResult> acted = ActOnItems(updated, items);
  if (!acted) return acted;
  // The task has just come to stop its items (failFast, the success policy
  // met): they are stopped in a pass right after this one, not at their
  // next resync.
  if (stop_cause.empty() && !status::StopCause(updated, invalid).empty()) acted->requeue_after = milliseconds(0);
  // Items that finished made room: the next ones open at once.
  if (!status::NextItems(updated, invalid).empty()) acted->requeue_after = milliseconds(0);
  return FanOutNextLook(updated, items, *acted);
}

Result<ReconcileResult> TaskReconciler::FanOutNextLook(const api::ContainerTask& updated,
                                                       const std::vector<ItemWork>& items, ReconcileResult result) {
  bool waiting = false;
  for (const ItemWork& w : items) {
    std::optional<std::chrono::seconds> after = w.decision.requeue_after;
    if (w.log_pending) after = std::chrono::seconds(1);  // the end of the follow brings us back sooner
    if (w.observed && w.observed->state == WorkloadState::kRunning) {
      after = std::min<std::chrono::seconds>(after.value_or(options_.running_resync), options_.running_resync);
    }
    if (w.asked && !w.admission.granted) waiting = true;
    if (after && (!result.requeue_after || *after < *result.requeue_after)) result.requeue_after = *after;
  }
  if (waiting && !result.requeue_after) result.requeue_after = options_.queued_resync;
  const bool terminal = status::IsTerminal(updated.status.phase);
  if (!terminal || !status::ItemsInProgress(updated).empty()) return result;

  // Finished, nothing in progress: the TTLs.
  const status::Decision ttl = status::FanOutFinished(updated, WallTimestamp(clock_));
  if (ttl.action == status::Action::kDeleteTask) return FinalizeFanOut(updated);
  if (ttl.action == status::Action::kDeleteWorkload) {
    if (Status deleted = runtime_.DeleteAll(updated); !deleted) return std::unexpected(deleted.error());
    api::ContainerTask marked = updated;
    marked.metadata.annotations[render::kAnnotationWorkloadsDeleted] = "true";
    if (Status put = store_.Put(marked); !put) return std::unexpected(put.error());
    Emit(marked, {"Normal", "WorkloadDeleted",
                  "workloadTTLSecondsAfterFinished passed: the items' workloads were deleted; the task, its logs "
                  "and results stay"});
    return ReconcileResult{milliseconds(0), false};
  }
  if (ttl.requeue_after) result.requeue_after = ttl.requeue_after;
  result.settled = !ttl.requeue_after && !result.requeue_after;
  return result;
}

Status TaskReconciler::FailItemStart(const api::ContainerTask& task, int32_t index, int attempt, const Error& refusal) {
  // Read again: the pass has just written the record.
  Result<api::ContainerTask> current = store_.Get(task.metadata.namespace_, task.metadata.name);
  if (!current) return std::unexpected(current.error());
  api::ContainerTask failed = std::move(*current);
  if (!failed.status.fan_out) return {};
  for (api::ItemStatus& entry : failed.status.fan_out->items) {
    if (entry.index != index || entry.attempts != attempt || status::IsTerminal(entry.phase)) continue;
    const api::ContainerTaskStatus item = status::FailStart(
        status::ItemView(failed, entry, false).status, failed.metadata.generation, attempt,
        refusal.code() == ErrorCode::kPermissionDenied ? status::reason::kForbidden : status::reason::kInvalidSpec,
        refusal.message(), WallTimestamp(clock_));
    entry = status::ItemEntry(entry, item, "");
    return store_.Put(failed);
  }
  return {};
}

Result<ReconcileResult> TaskReconciler::FinalizeFanOut(const api::ContainerTask& task) {
  const std::string key = TaskKey(task);
  // a. Each item in progress that ran is stopped and its log archived.
  bool pending = false;
  for (const api::ItemStatus& entry : status::ItemsInProgress(task)) {
    if (entry.attempts == 0) continue;
    const api::ContainerTask view = status::ItemView(task, entry, true);
    Result<runtime::Observation> o = runtime_.Observe(view, entry.attempts);
    if (!o) return std::unexpected(o.error());
    if (o->state != WorkloadState::kRunning && o->state != WorkloadState::kExited) continue;
    if (o->state == WorkloadState::kRunning) {
      if (Status stopped = runtime_.Stop(view, entry.attempts, options_.stop_grace); !stopped) {
        return std::unexpected(stopped.error());
      }
    }
    logs_.Ensure(view, entry.attempts);
    if (!logs_.Finished(TaskKey(view), entry.attempts)) pending = true;
  }
  if (pending) return ReconcileResult{milliseconds(1000), false};
  // b. Then every workload, then the record (its logs and results with it).
  logs_.Forget(key);
  if (Status removed = runtime_.DeleteAll(task); !removed) return std::unexpected(removed.error());
  if (Status deleted = store_.Delete(task.metadata.namespace_, task.metadata.name); !deleted) {
    return std::unexpected(deleted.error());
  }
  ForgetTask(key);
  return ReconcileResult{std::nullopt, true};
}

}  // namespace ctask::reconcile
