#include "status/decide.h"

#include <algorithm>

#include "api/schema.h"
#include "util/backoff.h"
#include "util/utf8.h"

namespace ctask::status {
namespace {

using api::ContainerTaskStatus;
using runtime::Observation;
using runtime::WorkloadState;
using std::chrono::seconds;

std::string Bounded(std::string text, size_t limit) {
  return CutWithEllipsis(std::move(text), limit);
}

// Failed attempts so far. An item's view (fan_out.h) starts with no
// history: its earlier failures come with the view.
int Failures(const api::ContainerTask& task, const ContainerTaskStatus& st) {
  const int prior = task.item ? task.item->prior_failures : 0;
  return prior + static_cast<int>(std::count_if(st.history.begin(), st.history.end(),
                                                [](const api::AttemptStatus& a) { return IsFailureReason(a.reason); }));
}

// When the last failed attempt ended: the retry backoff runs from there.
std::optional<Timestamp> LastFailureEnd(const api::ContainerTask& task, const ContainerTaskStatus& st) {
  if (!st.history.empty()) return st.history.back().completion_time;
  return task.item ? task.item->last_failure_time : std::nullopt;
}

// Adds or replaces the history entry of `entry.attempt`, keeping the newest
// kMaxHistoryEntries.
void RecordAttempt(ContainerTaskStatus& st, const api::AttemptStatus& entry) {
  for (api::AttemptStatus& a : st.history) {
    if (a.attempt == entry.attempt) {
      a = entry;
      return;
    }
  }
  st.history.push_back(entry);
  if (st.history.size() > api::kMaxHistoryEntries) {
    st.history.erase(st.history.begin(), st.history.end() - static_cast<long>(api::kMaxHistoryEntries));
  }
}

api::AttemptStatus EntryFor(const Observation& o, const std::string& attempt_reason, Timestamp now) {
  api::AttemptStatus a;
  a.attempt = o.attempt;
  a.pod_name = o.pod_name;
  a.container_id = o.container_id;
  a.job_name = o.pod_name.empty() ? "" : o.workload_name;
  a.exit_code = o.exit_code;
  a.reason = attempt_reason;
  a.start_time = o.started_at;
  a.completion_time = o.finished_at.value_or(now);
  return a;
}

// The first retry waits backoffSeconds, each later one twice the one before.
seconds Backoff(const api::RetryPolicy& policy, int failed_attempts) {
  return ExponentialBackoff(seconds(policy.backoff_seconds), kMaxRetryBackoff, failed_attempts - 1);
}

void Requeue(Decision& d, seconds after) {
  after = std::max(after, seconds(1));
  if (!d.requeue_after || after < *d.requeue_after) d.requeue_after = after;
}

void Finish(ContainerTaskStatus& st, const char* phase, const std::string& why, const std::string& message,
            Timestamp now) {
  st.phase = phase;
  st.reason = why;
  st.message = message;
  if (!st.completion_time) st.completion_time = now;
}

std::string ExitDescription(const Observation& o) {
  if (o.oom_killed) {
    return "was OOMKilled (exit code " + std::to_string(o.exit_code.value_or(-1)) +
           "): raise spec.resources.limits.memory";
  }
  if (o.deadline_exceeded) return "was stopped at its deadline";
  if (!o.evicted.empty()) return "was evicted by its node: " + o.evicted;
  return "exited with code " + std::to_string(o.exit_code.value_or(-1));
}

// Waits for a slot: Queued with the admitter's reason and message.
void WaitForSlot(ContainerTaskStatus& st, int64_t generation, const Admission& admission, Timestamp now) {
  st.phase = api::phase::kQueued;
  st.reason = admission.reason.empty() ? reason::kWaitingForCapacity : admission.reason;
  st.message = Bounded(admission.message.empty() ? "waiting for a slot in its queue" : admission.message,
                       api::kMaxMessageLength);
  SetCondition(st.conditions, api::Condition{kConditionAdmitted, "False", generation, now, st.reason, st.message});
}

// Granted a slot: a new attempt (the first, or the one after a suspension).
void Admit(const api::ContainerTask& task, ContainerTaskStatus& st, Timestamp now) {
  st.admission_time = now;
  if (st.attempts == 0) {
    st.attempts = 1;
    st.start_time = now;
  } else {
    st.attempts += 1;  // resumed: the stopped attempt is not counted as a failure
  }
  // Out of the queue: no longer Queued, so no retry backoff applies.
  st.phase = api::phase::kPending;
  st.reason = reason::kStarting;
  SetCondition(st.conditions, api::Condition{kConditionAdmitted, "True", task.metadata.generation, now,
                                             reason::kAdmitted, "admitted by queue " + task.spec.queue_name});
}

// A finished or suspended task gives its slot back once its workload is no
// longer live (the last attempt's workload ends its hold).
void ReleaseSlot(ContainerTaskStatus& st, int64_t generation, const std::optional<Observation>& observed,
                 Timestamp now) {
  const bool done = IsTerminal(st.phase) || st.phase == api::phase::kSuspended;
  if (!done || runtime::IsLive(observed) || AdmittedCondition(st) == nullptr) return;
  SetCondition(st.conditions,
               api::Condition{kConditionAdmitted, "False", generation, now, st.reason.empty() ? "Unknown" : st.reason,
                              Bounded(st.message, api::kMaxMessageLength)});
}

}  // namespace

void SetTaskConditions(ContainerTaskStatus& st, int64_t generation, Timestamp now) {
  auto condition = [&](const char* type, const char* value, const std::string& why) {
    SetCondition(st.conditions, api::Condition{type, value, generation, now, why.empty() ? "Unknown" : why,
                                               Bounded(st.message, api::kMaxMessageLength)});
  };
  const bool terminal = IsTerminal(st.phase);
  const char* succeeded = st.phase == api::phase::kSucceeded ? "True" : terminal ? "False" : "Unknown";
  condition("Succeeded", succeeded, st.reason);
  condition("Reconciling", terminal ? "False" : "True", st.reason);
  condition("Stalled", st.phase == api::phase::kFailed ? "True" : "False", st.reason);
  // Admitted after the three kstatus reads, so their places stay where
  // clients (and `jsonpath={.status.conditions[0]}`) found them before.
  std::stable_partition(st.conditions.begin(), st.conditions.end(),
                        [](const api::Condition& c) { return c.type != kConditionAdmitted; });
}

namespace {

// After failure number `failures` of `attempt`, which ended at `ended`:
// the next attempt is queued, and started once its backoff has passed.
void QueueRetry(const api::ContainerTaskSpec& spec, int attempt, int failures, const std::string& what, Timestamp ended,
                Timestamp now, Decision& d) {
  ContainerTaskStatus& st = d.status;
  const seconds wait = Backoff(spec.retry_policy, failures);
  st.attempts = attempt + 1;
  st.phase = api::phase::kQueued;
  st.reason = reason::kRetrying;
  st.message = what + "; retry " + std::to_string(failures) + " of " + std::to_string(spec.retries) + " in " +
               std::to_string(wait.count()) + "s";
  const Timestamp gate = ended + wait;
  if (now >= gate) {
    d.action = Action::kStartAttempt;
    d.attempt = st.attempts;
  } else {
    Requeue(d, std::chrono::duration_cast<seconds>(gate - now));
  }
}

// No current workload: gone while it ran (lost), not created yet, or gone
// before it ran.
void FollowMissing(const api::ContainerTask& task, const std::optional<Observation>& observed, Timestamp now,
                   Decision& d) {
  const api::ContainerTaskSpec& spec = task.spec;
  ContainerTaskStatus& st = d.status;
  const int attempt = st.attempts;
  if (observed && observed->attempt == attempt && st.phase == api::phase::kRunning) {
    // Gone while it ran (removed by hand, its node lost): the attempt is
    // lost, a failure like any other; starting it again under the same
    // number would run it twice.
    RecordAttempt(st, EntryFor(*observed, reason::kWorkloadLost, now));
    const std::string what = "attempt " + std::to_string(attempt) + "'s workload disappeared while it ran";
    const int failures = Failures(task, st);
    if (spec.retry_policy.on_exit_codes.empty() && failures <= spec.retries) {
      QueueRetry(spec, attempt, failures, what, now, now, d);
      return;
    }
    Finish(st, api::phase::kFailed, reason::kWorkloadLost, what, now);
    return;
  }
  // Not created yet, or gone before it ran. A retry waits out its backoff
  // first.
  const std::optional<Timestamp> last_failure = LastFailureEnd(task, st);
  if (st.phase == api::phase::kQueued && last_failure) {
    const Timestamp gate = *last_failure + Backoff(spec.retry_policy, Failures(task, st));
    if (now < gate) {
      Requeue(d, std::chrono::duration_cast<seconds>(gate - now));
      return;
    }
  }
  st.phase = api::phase::kPending;
  st.reason = reason::kStarting;
  st.message = StartingMessage(attempt);
  d.action = Action::kStartAttempt;
  d.attempt = attempt;
}

// Kueue holds the attempt's Job suspended: not admitted yet, or preempted
// (its pod stopped). Queued, not failing: no pendingTimeoutSeconds, and a
// preempted attempt is no failure; the same Job runs when Kueue admits it
// again.
void WaitForKueue(const Observation& o, int64_t generation, Timestamp now, Decision& d) {
  ContainerTaskStatus& st = d.status;
  const bool preempted = st.phase == api::phase::kRunning ||
                         (st.phase == api::phase::kQueued && st.message.starts_with("preempted by Kueue"));
  st.phase = api::phase::kQueued;
  st.reason = runtime::kReasonWaitingForKueue;
  st.message = (preempted ? "preempted by Kueue; " : "") + o.waiting_message;
  SetCondition(st.conditions, api::Condition{kConditionAdmitted, "False", generation, now, st.reason,
                                             Bounded(st.message, api::kMaxMessageLength)});
}

// The current attempt's workload exists but has not started.
void FollowWaiting(const api::ContainerTaskSpec& spec, const Observation& o, Timestamp now, Decision& d) {
  ContainerTaskStatus& st = d.status;
  const int attempt = st.attempts;
  const std::string cause = o.waiting_reason.empty() ? reason::kPendingTimeout : o.waiting_reason;
  const Timestamp created = o.created_at.value_or(now);
  const Timestamp gate = created + seconds(spec.pending_timeout_seconds);
  if (o.waiting_permanent || now >= gate) {
    // Stuck before start (a bad image, a missing key) is not retried:
    // another attempt would be stuck the same way.
    std::string message = "attempt " + std::to_string(attempt) + " could not start";
    if (!o.waiting_permanent) {
      message += " within pendingTimeoutSeconds (" + std::to_string(spec.pending_timeout_seconds) + "s)";
    }
    if (!o.waiting_message.empty()) message += ": " + o.waiting_message;
    RecordAttempt(st, EntryFor(o, cause, now));
    Finish(st, api::phase::kFailed, cause, message, now);
    d.action = Action::kStopAttempt;
    d.attempt = attempt;
    return;
  }
  st.phase = api::phase::kPending;
  st.reason = o.waiting_reason.empty() ? reason::kStarting : o.waiting_reason;
  // Nothing to say yet: the words it was started with, so a workload seen
  // created is no change to write.
  st.message = o.waiting_message.empty()
                   ? StartingMessage(attempt)
                   : "attempt " + std::to_string(attempt) + " is waiting to start: " + o.waiting_message;
  if (o.never_started) {
    // Created, then its creator stopped before starting it: start it now
    // (Apply is idempotent), rather than wait out the pending timeout.
    d.action = Action::kStartAttempt;
    d.attempt = attempt;
    return;
  }
  Requeue(d, std::chrono::duration_cast<seconds>(gate - now));
}

// The current attempt exited: succeeded, retried, or failed for good.
void FollowExited(const api::ContainerTask& task, const Observation& o, Timestamp now, Decision& d) {
  const api::ContainerTaskSpec& spec = task.spec;
  ContainerTaskStatus& st = d.status;
  const int attempt = st.attempts;
  const int32_t code = o.exit_code.value_or(-1);
  st.exit_code = code;
  st.result = Bounded(o.termination_message, api::kMaxResultBytes);
  if (code == 0 && !o.oom_killed && !o.deadline_exceeded && o.evicted.empty()) {
    RecordAttempt(st, EntryFor(o, reason::kCompleted, now));
    Finish(st, api::phase::kSucceeded, reason::kCompleted, "attempt " + std::to_string(attempt) + " exited 0", now);
    st.completion_time = o.finished_at.value_or(now);
    return;
  }
  const char* why = o.oom_killed          ? reason::kOOMKilled
                    : o.deadline_exceeded ? reason::kDeadlineExceeded
                    : !o.evicted.empty()  ? reason::kEvicted
                                          : reason::kError;
  RecordAttempt(st, EntryFor(o, why, now));
  const std::string what = "attempt " + std::to_string(attempt) + " " + ExitDescription(o);
  const int failures = Failures(task, st);
  const std::vector<int32_t>& codes = spec.retry_policy.on_exit_codes;
  const bool matches = codes.empty() || (!o.oom_killed && std::find(codes.begin(), codes.end(), code) != codes.end());
  if (!o.deadline_exceeded && matches && failures <= spec.retries) {
    QueueRetry(spec, attempt, failures, what, o.finished_at.value_or(now), now, d);
    return;
  }
  if (spec.retries > 0 && matches && failures > spec.retries) {
    Finish(st, api::phase::kFailed, reason::kBackoffLimitExceeded,
           "all " + std::to_string(failures) + " attempts failed; the last " + ExitDescription(o), now);
  } else {
    Finish(st, api::phase::kFailed, why, what, now);
  }
  st.completion_time = o.finished_at.value_or(now);
}

// Steps 6 and 7 of Decide: the current attempt as observed.
void FollowAttempt(const api::ContainerTask& task, const std::optional<Observation>& observed, Timestamp now,
                   Decision& d) {
  ContainerTaskStatus& st = d.status;
  const int attempt = st.attempts;
  const bool current = observed && observed->attempt == attempt && observed->state != WorkloadState::kAbsent;
  if (!current) {
    FollowMissing(task, observed, now, d);
    return;
  }

  const Observation& o = *observed;
  st.pod_name = o.pod_name;
  st.container_id = o.container_id;
  // A Job is named as soon as it is seen, before its pod exists (Docker's
  // workload, a container, always has its id and is no Job).
  if (!o.pod_name.empty() || o.container_id.empty()) st.job_name = o.workload_name;

  switch (o.state) {
    case WorkloadState::kAbsent:
      return;  // handled above
    case WorkloadState::kWaiting:
      if (o.held_for_admission) {
        WaitForKueue(o, task.metadata.generation, now, d);
      } else {
        FollowWaiting(task.spec, o, now, d);
      }
      return;
    case WorkloadState::kRunning:
      st.phase = api::phase::kRunning;
      st.reason = reason::kRunning;
      st.message = "attempt " + std::to_string(attempt) + " is running";
      return;
    case WorkloadState::kExited:
      FollowExited(task, o, now, d);
      return;
  }
}

// Step 1 of Decide: a finished task; only stopping a leftover and the TTLs
// remain.
void DecideFinished(const api::ContainerTask& task, const std::optional<Observation>& observed, Timestamp now,
                    Decision& d) {
  const api::ContainerTaskSpec& spec = task.spec;
  const Timestamp done = d.status.completion_time.value_or(now);
  if (runtime::IsLive(observed)) {
    d.action = Action::kStopAttempt;
    d.attempt = observed->attempt;
  } else if (spec.ttl_seconds_after_finished) {
    const Timestamp due = done + seconds(*spec.ttl_seconds_after_finished);
    if (now >= due) {
      d.action = Action::kDeleteTask;
    } else {
      Requeue(d, std::chrono::duration_cast<seconds>(due - now));
    }
  }
  if (d.action == Action::kNone && spec.workload_ttl_seconds_after_finished && observed &&
      observed->state != WorkloadState::kAbsent) {
    const Timestamp due = done + seconds(*spec.workload_ttl_seconds_after_finished);
    if (now >= due) {
      d.action = Action::kDeleteWorkload;
      d.attempt = observed->attempt;
    } else {
      Requeue(d, std::chrono::duration_cast<seconds>(due - now));
    }
  }
  SetTaskConditions(d.status, task.metadata.generation, now);
}

// The deadline of a task that started: looked at again when it is due.
void RequeueForDeadline(const api::ContainerTaskSpec& spec, Timestamp now, Decision& d) {
  const ContainerTaskStatus& st = d.status;
  if (spec.timeout_seconds && st.start_time && !IsTerminal(st.phase)) {
    Requeue(d, std::chrono::duration_cast<seconds>(*st.start_time + seconds(*spec.timeout_seconds) - now));
  }
}

// Steps 6-7 for a task Kueue admits: its Job is created at once (suspended),
// the deadline runs from when Kueue first lets it start, and the Admitted
// condition says what Kueue did.
void DecideAdmittedByKueue(const api::ContainerTask& task, const std::optional<Observation>& observed, Timestamp now,
                           Decision& d) {
  ContainerTaskStatus& st = d.status;
  if (st.attempts == 0) {
    st.attempts = 1;
  } else if (st.phase == api::phase::kSuspended) {
    st.attempts += 1;
  }
  FollowAttempt(task, observed, now, d);
  const bool started = observed && observed->attempt == st.attempts && !observed->held_for_admission &&
                       observed->state != WorkloadState::kAbsent;
  if (started) {
    if (!st.start_time) st.start_time = now;
    if (!IsTerminal(st.phase)) {
      SetCondition(st.conditions, api::Condition{kConditionAdmitted, "True", task.metadata.generation, now,
                                                 reason::kAdmitted, "admitted by Kueue"});
    }
  }
  RequeueForDeadline(task.spec, now, d);
}

// Steps 6-7 under ctask's queues: wait for a slot, or (admitted) follow the
// current attempt.
void DecideAdmitted(const api::ContainerTask& task, const std::optional<Observation>& observed, Timestamp now,
                    const Admission& admission, Decision& d) {
  ContainerTaskStatus& st = d.status;
  if (!HoldsSlot(task) && !admission.granted) {
    // 6. Waiting for a slot of its queue: no attempt yet, no deadline
    //    running (the admitter wakes it when its turn comes).
    WaitForSlot(st, task.metadata.generation, admission, now);
    return;
  }
  if (!HoldsSlot(task)) {
    // 6. Admitted: the first attempt, or a resumed task's next one.
    Admit(task, st, now);
  } else if (st.attempts == 0) {
    st.attempts = 1;
    st.start_time = now;
  } else if (st.phase == api::phase::kSuspended) {
    // Resumed before its slot was given back: a new attempt; the stopped
    // one is not counted as a failure.
    st.attempts += 1;
  }
  // 7. Follow the current attempt.
  FollowAttempt(task, observed, now, d);
  RequeueForDeadline(task.spec, now, d);
}

}  // namespace

bool IsFailureReason(const std::string& r) {
  return r == reason::kError || r == reason::kOOMKilled || r == reason::kEvicted || r == reason::kDeadlineExceeded ||
         r == reason::kWorkloadLost;
}

std::string StartingMessage(int attempt) {
  return "starting attempt " + std::to_string(attempt);
}

bool IsTerminal(const std::string& phase) {
  return phase == api::phase::kSucceeded || phase == api::phase::kFailed || phase == api::phase::kCancelled;
}

bool SetCondition(std::vector<api::Condition>& conditions, const api::Condition& condition) {
  for (api::Condition& c : conditions) {
    if (c.type != condition.type) continue;
    if (c.status == condition.status && c.reason == condition.reason && c.message == condition.message &&
        c.observed_generation == condition.observed_generation) {
      return false;
    }
    const Timestamp transition = c.status == condition.status ? c.last_transition_time : condition.last_transition_time;
    c = condition;
    c.last_transition_time = transition;
    return true;
  }
  conditions.push_back(condition);
  return true;
}

ContainerTaskStatus FailStart(ContainerTaskStatus st, int64_t generation, int attempt, const char* why,
                              const std::string& cause, Timestamp now) {
  api::AttemptStatus entry;
  entry.attempt = attempt;
  entry.reason = why;
  entry.completion_time = now;
  RecordAttempt(st, entry);
  Finish(st, api::phase::kFailed, why,
         Bounded("attempt " + std::to_string(attempt) + " could not be started and will not be retried: " + cause,
                 api::kMaxMessageLength),
         now);
  st.observed_generation = generation;
  SetTaskConditions(st, generation, now);
  return st;
}

Decision Decide(const api::ContainerTask& task, const std::optional<Observation>& observed, Timestamp now,
                const std::string& invalid_spec, const Admission& admission) {
  const api::ContainerTaskSpec& spec = task.spec;
  Decision d;
  d.status = task.status;
  ContainerTaskStatus& st = d.status;
  st.observed_generation = task.metadata.generation;

  // 1. Finished: only stopping a leftover and the TTLs remain.
  if (IsTerminal(st.phase)) {
    DecideFinished(task, observed, now, d);
    ReleaseSlot(st, task.metadata.generation, observed, now);
    return d;
  }

  auto stop_if_live = [&] {
    if (runtime::IsLive(observed)) {
      d.action = Action::kStopAttempt;
      d.attempt = observed->attempt;
    }
  };

  // 2. A spec that can never run fails at once; retrying cannot fix it.
  if (!invalid_spec.empty()) {
    Finish(st, api::phase::kFailed, reason::kInvalidSpec, invalid_spec, now);
    stop_if_live();
  } else if (spec.cancel) {
    // 3. Cancelled by the user.
    Finish(st, api::phase::kCancelled, reason::kCancelled, "cancelled: spec.cancel is true", now);
    stop_if_live();
  } else if (spec.timeout_seconds && st.start_time && now >= *st.start_time + seconds(*spec.timeout_seconds)) {
    // 4. The whole task's deadline, pending time and retries included.
    if (observed && observed->attempt == st.attempts && observed->state != WorkloadState::kAbsent) {
      RecordAttempt(st, EntryFor(*observed, reason::kDeadlineExceeded, now));
    }
    Finish(st, api::phase::kFailed, reason::kDeadlineExceeded,
           "the task ran longer than timeoutSeconds (" + std::to_string(*spec.timeout_seconds) + "s)", now);
    stop_if_live();
  } else if (spec.suspend) {
    // 5. Suspended: stop the attempt, keep the record.
    if (st.phase != api::phase::kSuspended && observed && observed->attempt == st.attempts &&
        observed->state != WorkloadState::kAbsent) {
      RecordAttempt(st, EntryFor(*observed, reason::kSuspended, now));
    }
    st.phase = api::phase::kSuspended;
    st.reason = reason::kSuspended;
    st.message = "suspended: set spec.suspend to false to start a new attempt";
    stop_if_live();
  } else if (admission.external) {
    // 6-7. Kueue admits it, not ctask's queues.
    DecideAdmittedByKueue(task, observed, now, d);
  } else {
    // 6-7. ctask's queues admit it; then the current attempt.
    DecideAdmitted(task, observed, now, admission, d);
  }
  st.message = Bounded(st.message, api::kMaxMessageLength);
  ReleaseSlot(st, task.metadata.generation, observed, now);
  SetTaskConditions(st, task.metadata.generation, now);
  return d;
}

}  // namespace ctask::status
