#include "status/fan_out.h"

#include <algorithm>
#include <map>
#include <set>

#include "api/schema.h"
#include "render/labels.h"
#include "status/admission.h"
#include "status/index_set.h"
#include "util/utf8.h"

namespace ctask::status {
namespace {

using api::ItemStatus;
using std::chrono::seconds;

std::string Cut(std::string text, size_t limit) {
  return CutWithEllipsis(std::move(text), limit);
}

bool Finished(const ItemPass& pass) {
  return IsTerminal(pass.entry.phase) && !pass.live;
}

const api::FanOutStatus& FanOutOf(const api::ContainerTask& task) {
  static const api::FanOutStatus kNone;
  return task.status.fan_out ? *task.status.fan_out : kNone;
}

// The finished list: failures first (by index), then cancelled ones, then
// successes, newest first; at most kMaxFinishedItemEntries.
std::vector<ItemStatus> BoundFinished(std::vector<ItemStatus> finished) {
  auto rank = [](const ItemStatus& e) {
    return e.phase == api::phase::kFailed ? 0 : e.phase == api::phase::kCancelled ? 1 : 2;
  };
  std::stable_sort(finished.begin(), finished.end(), [&](const ItemStatus& a, const ItemStatus& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (rank(a) == 2) return a.completion_time.value_or(Timestamp{}) > b.completion_time.value_or(Timestamp{});
    return a.index < b.index;
  });
  if (finished.size() > api::kMaxFinishedItemEntries) finished.resize(api::kMaxFinishedItemEntries);
  return finished;
}

std::set<int32_t> FinishedIndexes(const api::FanOutStatus& f) {
  std::set<int32_t> done = ParseIndexSet(f.succeeded_indexes);
  done.merge(ParseIndexSet(f.failed_indexes));
  done.merge(ParseIndexSet(f.cancelled_indexes));
  return done;
}

struct Tally {
  std::set<int32_t> succeeded;
  std::set<int32_t> failed;
  std::set<int32_t> cancelled;
  int32_t active = 0;   // admitted, in progress
  int32_t running = 0;  // of those, running now
  const ItemPass* first_waiting = nullptr;
  const ItemStatus* first_failure = nullptr;
};

std::string Counts(const api::FanOutStatus& f) {
  std::string out = std::to_string(f.total) + " items: " + std::to_string(f.succeeded) + " succeeded";
  if (f.failed > 0) out += ", " + std::to_string(f.failed) + " failed";
  if (f.cancelled > 0) out += ", " + std::to_string(f.cancelled) + " cancelled";
  if (f.active > 0) out += ", " + std::to_string(f.active) + " active";
  if (f.waiting > 0) out += ", " + std::to_string(f.waiting) + " waiting";
  return out;
}

void SetPhase(api::ContainerTaskStatus& st, const char* phase, const std::string& why, const std::string& message) {
  st.phase = phase;
  st.reason = why;
  st.message = Cut(message, api::kMaxMessageLength);
}

// The task's phase once its items are folded: finished (terminal) when the
// outcome is known and nothing is left in progress — or at once for a
// cancel and an invalid spec, as for a task — else where its items are.
void DecidePhase(const api::ContainerTask& task, const Tally& t, const std::string& invalid,
                 api::ContainerTaskStatus& st) {
  const api::ContainerTaskSpec& spec = task.spec;
  const api::FanOutStatus& f = *st.fan_out;
  const int32_t needed = MinSucceeded(spec);
  const bool in_progress = f.active > 0 || t.first_waiting != nullptr;
  if (IsTerminal(task.status.phase)) return;  // kept as it was decided
  if (!invalid.empty()) {
    SetPhase(st, api::phase::kFailed, reason::kInvalidSpec, invalid);
  } else if (spec.cancel) {
    SetPhase(st, api::phase::kCancelled, reason::kCancelled, "cancelled: spec.cancel is true; " + Counts(f));
  } else if (f.succeeded >= needed && (!in_progress || spec.success_policy)) {
    SetPhase(
        st, api::phase::kSucceeded, reason::kCompleted,
        Counts(f) + (f.succeeded < f.total ? " (successPolicy.minSucceeded " + std::to_string(needed) + " met)" : ""));
  } else if (spec.fail_fast && !t.failed.empty()) {
    const std::string first = t.first_failure == nullptr
                                  ? "an item failed"
                                  : "item " + std::to_string(t.first_failure->index) + " failed (" +
                                        t.first_failure->reason + ": " + t.first_failure->message + ")";
    SetPhase(st, api::phase::kFailed, reason::kItemsFailed, first + "; failFast stops the rest; " + Counts(f));
  } else if (f.waiting == 0 && f.active == 0 && !in_progress) {
    SetPhase(st, api::phase::kFailed, reason::kItemsFailed,
             Counts(f) + "; " + std::to_string(needed) + " needed to succeed; failed indexes " + f.failed_indexes);
  } else if (spec.suspend) {
    SetPhase(st, api::phase::kSuspended, reason::kSuspended,
             "suspended: set spec.suspend to false to go on; " + Counts(f));
  } else if (t.running > 0) {
    SetPhase(st, api::phase::kRunning, reason::kRunning, Counts(f));
  } else if (t.first_waiting != nullptr && f.active == 0) {
    const ItemStatus& w = t.first_waiting->entry;
    SetPhase(st, api::phase::kQueued, w.reason.empty() ? reason::kWaitingForCapacity : w.reason,
             Counts(f) + "; item " + std::to_string(w.index) + ": " + w.message);
  } else if (f.active > 0 || (f.waiting > 0 && StopCause(task, invalid).empty())) {
    // Admitted items starting; or between items: those that finished made
    // room, the next open now.
    SetPhase(st, api::phase::kPending, reason::kStarting, Counts(f));
  } else {
    // Stopping: the outcome is known, items are still being stopped.
    SetPhase(st, api::phase::kRunning, reason::kRunning, Counts(f) + "; stopping the rest");
  }
}

// status.fanOut from the tally: counts, ranges, and the list (in progress
// by index, then the bounded finished ones).
api::FanOutStatus Summary(const api::ContainerTask& task, const Tally& t, std::vector<ItemStatus> in_progress,
                          const std::vector<ItemStatus>& finished) {
  api::FanOutStatus f;
  f.total = ItemCount(task.spec);
  f.succeeded = static_cast<int32_t>(t.succeeded.size());
  f.failed = static_cast<int32_t>(t.failed.size());
  f.cancelled = static_cast<int32_t>(t.cancelled.size());
  f.active = t.active;
  f.waiting = std::max(0, f.total - f.succeeded - f.failed - f.cancelled - f.active);
  f.succeeded_indexes = FormatIndexSet(t.succeeded);
  f.failed_indexes = FormatIndexSet(t.failed);
  f.cancelled_indexes = FormatIndexSet(t.cancelled);
  f.items = std::move(in_progress);
  f.items.insert(f.items.end(), finished.begin(), finished.end());
  return f;
}

// The task's Admitted condition: True while any item holds a slot.
void SetAdmitted(const api::ContainerTask& task, Timestamp now, api::ContainerTaskStatus& st) {
  const bool holding =
      std::any_of(st.fan_out->items.begin(), st.fan_out->items.end(), [](const ItemStatus& e) { return e.admitted; });
  SetCondition(st.conditions,
               api::Condition{kConditionAdmitted, holding ? "True" : "False", task.metadata.generation, now,
                              holding ? reason::kAdmitted : (st.reason.empty() ? "Unknown" : st.reason),
                              holding ? "items hold slots of queue " + task.spec.queue_name
                                      : Cut(st.message, api::kMaxMessageLength)});
}

}  // namespace

bool IsFanOut(const api::ContainerTaskSpec& spec) {
  return spec.completions.has_value() || !spec.items.empty();
}

int32_t ItemCount(const api::ContainerTaskSpec& spec) {
  if (spec.completions) return *spec.completions;
  return static_cast<int32_t>(spec.items.size());
}

int32_t Parallelism(const api::ContainerTaskSpec& spec) {
  return std::max(spec.parallelism.value_or(1), 1);
}

int32_t MinSucceeded(const api::ContainerTaskSpec& spec) {
  if (spec.success_policy && spec.success_policy->min_succeeded) {
    return std::min(*spec.success_policy->min_succeeded, ItemCount(spec));
  }
  return ItemCount(spec);
}

std::string StopCause(const api::ContainerTask& task, const std::string& invalid_spec) {
  const api::FanOutStatus& f = FanOutOf(task);
  if (!invalid_spec.empty()) return "stopped: the task's spec is invalid";
  if (task.spec.cancel) return "stopped: the task was cancelled";
  if (IsTerminal(task.status.phase)) return "stopped: the task has finished (" + task.status.reason + ")";
  if (task.spec.success_policy && f.succeeded >= MinSucceeded(task.spec)) {
    return "stopped: successPolicy.minSucceeded (" + std::to_string(MinSucceeded(task.spec)) + ") was met";
  }
  if (task.spec.fail_fast && f.failed > 0) return "stopped: another item failed and failFast is set";
  return "";
}

api::ContainerTask ItemView(const api::ContainerTask& task, const ItemStatus& entry, bool stop) {
  api::ContainerTask view;
  view.metadata = task.metadata;
  view.metadata.annotations.erase(render::kAnnotationLogAttempt);  // the task's own, not the item's
  view.spec = task.spec;
  view.spec.completions.reset();
  view.spec.items.clear();
  view.spec.parallelism.reset();
  view.spec.success_policy.reset();
  view.spec.fail_fast = false;
  // run_after stays: each item mounts the task's inputs.
  view.spec.ttl_seconds_after_finished.reset();
  view.spec.workload_ttl_seconds_after_finished.reset();
  if (stop) view.spec.cancel = true;

  api::ItemRef ref;
  ref.index = entry.index;
  if (!task.spec.items.empty() && entry.index >= 0 && entry.index < static_cast<int32_t>(task.spec.items.size())) {
    ref.value = task.spec.items[static_cast<size_t>(entry.index)];
  }
  ref.count = ItemCount(task.spec);
  // The item's variables first, so the task's own env and command can use
  // them ($(CTASK_ITEM)); a variable of the task with the same name gives
  // way.
  std::vector<api::EnvVar> env = {{kEnvIndex, std::to_string(entry.index), std::nullopt},
                                  {kEnvCount, std::to_string(ref.count), std::nullopt}};
  if (ref.value) env.push_back({kEnvItem, *ref.value, std::nullopt});
  for (const api::EnvVar& var : view.spec.env) {
    if (var.name != kEnvIndex && var.name != kEnvCount && var.name != kEnvItem) env.push_back(var);
  }
  view.spec.env = std::move(env);
  ref.prior_failures = entry.failures;
  ref.last_failure_time = entry.last_failure_time;
  view.item = std::move(ref);

  api::ContainerTaskStatus& st = view.status;
  st.phase = entry.phase;
  st.reason = entry.reason;
  st.message = entry.message;
  st.observed_generation = task.metadata.generation;
  st.attempts = entry.attempts;
  st.exit_code = entry.exit_code;
  st.admission_time = entry.admission_time;
  st.start_time = entry.start_time;
  st.completion_time = entry.completion_time;
  st.job_name = entry.job_name;
  st.pod_name = entry.pod_name;
  st.container_id = entry.container_id;
  if (entry.admitted || entry.attempts > 0) {
    // Said either way once it has run, so HoldsSlot reads the entry, not
    // the rule for records written before the condition existed.
    st.conditions.push_back(api::Condition{kConditionAdmitted, entry.admitted ? "True" : "False",
                                           task.metadata.generation, entry.admission_time.value_or(Timestamp{}),
                                           reason::kAdmitted, ""});
  }
  return view;
}

ItemStatus ItemEntry(const ItemStatus& before, const api::ContainerTaskStatus& decided, const std::string& stop_cause) {
  ItemStatus e = before;
  e.phase = decided.phase;
  e.reason = decided.reason;
  e.message = Cut(decided.message, api::kMaxItemMessageLength);
  if (!stop_cause.empty() && decided.phase == api::phase::kCancelled) e.message = stop_cause;
  e.attempts = decided.attempts;
  e.exit_code = decided.exit_code;
  e.admission_time = decided.admission_time;
  e.start_time = decided.start_time;
  e.completion_time = decided.completion_time;
  e.job_name = decided.job_name;
  e.pod_name = decided.pod_name;
  e.container_id = decided.container_id;
  for (const api::AttemptStatus& a : decided.history) {
    if (!IsFailureReason(a.reason)) continue;
    e.failures += 1;
    e.last_failure_time = a.completion_time;
  }
  const api::Condition* admitted = AdmittedCondition(decided);
  e.admitted = admitted != nullptr && admitted->status == "True";
  return e;
}

std::vector<ItemStatus> ItemsInProgress(const api::ContainerTask& task) {
  const api::FanOutStatus& f = FanOutOf(task);
  std::set<int32_t> done = FinishedIndexes(f);
  std::vector<ItemStatus> out;
  for (const ItemStatus& e : f.items) {
    if (!done.contains(e.index)) out.push_back(e);
  }
  return out;
}

std::vector<int32_t> NextItems(const api::ContainerTask& task, const std::string& invalid_spec) {
  if (task.spec.suspend || !StopCause(task, invalid_spec).empty()) return {};
  const api::FanOutStatus& f = FanOutOf(task);
  std::set<int32_t> taken = FinishedIndexes(f);
  const std::vector<ItemStatus> in_progress = ItemsInProgress(task);
  for (const ItemStatus& e : in_progress) taken.insert(e.index);
  std::vector<int32_t> next;
  const int32_t room = Parallelism(task.spec) - static_cast<int32_t>(in_progress.size());
  for (int32_t i = 0; i < ItemCount(task.spec) && static_cast<int32_t>(next.size()) < room; ++i) {
    if (!taken.contains(i)) next.push_back(i);
  }
  return next;
}

ItemStatus NewItem(const api::ContainerTask& task, int32_t index) {
  ItemStatus e;
  e.index = index;
  if (index >= 0 && index < static_cast<int32_t>(task.spec.items.size())) {
    e.item = Cut(task.spec.items[static_cast<size_t>(index)], api::kMaxItemDisplayBytes);
  }
  return e;
}

api::ContainerTaskStatus FoldFanOut(const api::ContainerTask& task, const std::vector<ItemPass>& items,
                                    const std::string& invalid_spec, const std::string& last_tail, Timestamp now) {
  api::ContainerTaskStatus st = task.status;
  st.observed_generation = task.metadata.generation;
  const api::FanOutStatus& before = FanOutOf(task);
  Tally t;
  t.succeeded = ParseIndexSet(before.succeeded_indexes);
  t.failed = ParseIndexSet(before.failed_indexes);
  t.cancelled = ParseIndexSet(before.cancelled_indexes);

  std::vector<ItemStatus> in_progress;
  std::vector<ItemStatus> finished;
  for (const ItemStatus& e : before.items) {
    // Finished in an earlier pass: kept for display.
    if (t.succeeded.contains(e.index) || t.failed.contains(e.index) || t.cancelled.contains(e.index)) {
      finished.push_back(e);
    }
  }
  for (const ItemPass& pass : items) {
    const ItemStatus& e = pass.entry;
    if (!Finished(pass)) {
      in_progress.push_back(e);
      if (e.admitted || e.attempts > 0) {
        ++t.active;
        if (e.phase == api::phase::kRunning) ++t.running;
      } else if (t.first_waiting == nullptr) {
        t.first_waiting = &pass;
      }
      continue;
    }
    if (e.phase == api::phase::kSucceeded) {
      t.succeeded.insert(e.index);
    } else if (e.phase == api::phase::kFailed) {
      t.failed.insert(e.index);
    } else if (e.attempts > 0) {
      t.cancelled.insert(e.index);
    } else {
      // Waiting when the task stopped its items: it never ran, and leaves
      // the list without a trace (counted as waiting, never started).
      continue;
    }
    finished.push_back(e);
  }
  std::sort(in_progress.begin(), in_progress.end(),
            [](const ItemStatus& a, const ItemStatus& b) { return a.index < b.index; });
  finished = BoundFinished(std::move(finished));
  for (const ItemStatus& e : finished) {
    if (e.phase == api::phase::kFailed && (t.first_failure == nullptr || e.index < t.first_failure->index)) {
      t.first_failure = &e;
    }
  }

  st.fan_out = Summary(task, t, std::move(in_progress), finished);

  for (const ItemStatus& e : st.fan_out->items) {
    if (e.start_time && (!st.start_time || *e.start_time < *st.start_time)) st.start_time = e.start_time;
    if (e.admission_time && (!st.admission_time || *e.admission_time > *st.admission_time)) {
      st.admission_time = e.admission_time;
    }
  }
  if (!last_tail.empty()) st.log_tail = last_tail;

  DecidePhase(task, t, invalid_spec, st);
  if (IsTerminal(st.phase) && !st.completion_time) st.completion_time = now;
  SetAdmitted(task, now, st);
  SetTaskConditions(st, task.metadata.generation, now);
  return st;
}

Decision FanOutFinished(const api::ContainerTask& task, Timestamp now) {
  Decision d;
  d.status = task.status;
  const Timestamp done = task.status.completion_time.value_or(now);
  auto due = [&](int64_t ttl, Action action) {
    const Timestamp at = done + seconds(ttl);
    if (now >= at) {
      d.action = action;
      return;
    }
    const seconds wait = std::max(std::chrono::duration_cast<seconds>(at - now), seconds(1));
    if (!d.requeue_after || wait < *d.requeue_after) d.requeue_after = wait;
  };
  if (task.spec.ttl_seconds_after_finished) due(*task.spec.ttl_seconds_after_finished, Action::kDeleteTask);
  if (d.action == Action::kNone && task.spec.workload_ttl_seconds_after_finished &&
      !task.metadata.annotations.contains(render::kAnnotationWorkloadsDeleted)) {
    due(*task.spec.workload_ttl_seconds_after_finished, Action::kDeleteWorkload);
  }
  return d;
}

}  // namespace ctask::status
