// TaskReconciler and spec.runAfter (status/dependencies.h): a task that runs
// after others is held Queued until they have succeeded, fails with them,
// and is given their results as its input files before it starts.
#include "api/names.h"
#include "reconcile/task_reconciler.h"
#include "status/dependencies.h"
#include "status/fan_out.h"

namespace ctask::reconcile {
namespace {

using std::chrono::milliseconds;

}  // namespace

std::optional<Result<ReconcileResult>> TaskReconciler::HoldForDependencies(api::ContainerTask& task) {
  const api::ContainerTaskSpec& spec = task.spec;
  if (spec.run_after.empty() || task.metadata.deletion_timestamp || spec.cancel || spec.suspend ||
      !status::NotStarted(task)) {
    return std::nullopt;
  }
  const std::string ns = task.metadata.namespace_;
  const status::TaskLookup lookup = [&](const std::string& name) -> std::optional<api::ContainerTask> {
    Result<api::ContainerTask> found = store_.Get(ns, name);
    return found ? std::optional<api::ContainerTask>(std::move(*found)) : std::nullopt;
  };
  const status::DependencyVerdict verdict = status::CheckDependencies(task, lookup);
  const std::string key = TaskKey(task);
  {
    std::lock_guard lock(deps_mu_);
    for (const std::string& dep : spec.run_after) {
      dependents_[api::NamespaceOrDefault(ns) + "/" + dep].insert(key);
    }
  }
  if (verdict.state == status::DependencyState::kReady) {
    if (Status prepared = PrepareInputs(task); !prepared)
      return Result<ReconcileResult>(std::unexpected(prepared.error()));
    if (task.status.reason == status::reason::kWaitingForDependencies) {
      // Out of the wait: from here on it is a task like any other, and
      // asks its queue for a slot.
      task.status.phase = api::phase::kPending;
      task.status.reason = status::reason::kStarting;
    }
    return std::nullopt;
  }
  api::ContainerTask updated = task;
  updated.status = status::HeldByDependencies(task, verdict, WallTimestamp(clock_));
  if (Status written = WriteStatus(task, updated); !written)
    return Result<ReconcileResult>(std::unexpected(written.error()));
  admitter_.Track(updated);
  ReconcileResult next;
  if (verdict.state == status::DependencyState::kWaiting) {
    // A dependency that finishes wakes it (WakeDependents); the resync is
    // the safety net (one finished by another process, a missing one made).
    next.requeue_after = options_.queued_resync;
  } else {
    next.requeue_after = milliseconds(0);  // finished: the TTLs from here
  }
  return Result<ReconcileResult>(next);
}

Status TaskReconciler::PrepareInputs(const api::ContainerTask& task) {
  const std::string key = TaskKey(task);
  {
    std::lock_guard lock(deps_mu_);
    if (inputs_written_.contains(key)) return {};
  }
  const std::string& ns = task.metadata.namespace_;
  std::map<std::string, std::string> files;
  const size_t share = status::kMaxResultsBytes / std::max<size_t>(task.spec.run_after.size(), 1);
  for (const std::string& name : task.spec.run_after) {
    Result<api::ContainerTask> dep = store_.Get(ns, name);
    if (!dep) return std::unexpected(dep.error());
    std::string results;
    if (status::IsFanOut(dep->spec)) {
      Result<std::string> stored = store_.ReadResults(ns, name);
      if (!stored && stored.error().code() != ErrorCode::kNotFound) return std::unexpected(stored.error());
      if (stored) results = std::move(*stored);
    }
    files[name + ".json"] = status::InputDocument(*dep, results, share);
  }
  if (Status put = store_.PutInputs(task, files); !put) return put;
  std::lock_guard lock(deps_mu_);
  inputs_written_.insert(key);
  return {};
}

void TaskReconciler::WakeDependents(const std::string& key) {
  std::set<std::string> waiting;
  {
    std::lock_guard lock(deps_mu_);
    auto it = dependents_.find(RecordKey(key));
    if (it == dependents_.end()) return;
    waiting.swap(it->second);
    dependents_.erase(it);
  }
  if (!wake_) return;
  for (const std::string& dependent : waiting) wake_(dependent);
}

}  // namespace ctask::reconcile
