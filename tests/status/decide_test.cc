// Decide, one table of named cases: a task and what the backend observes,
// then what status to write and what to do. The clock is a fixed instant.
#include "status/decide.h"

#include <gtest/gtest.h>

#include "api/schema.h"

namespace ctask::status {
namespace {

using runtime::Observation;
using runtime::WorkloadState;
using std::chrono::seconds;

const Timestamp kT0 = *ParseRfc3339("2026-11-23T10:00:00Z");

api::ContainerTask Task() {
  api::ContainerTask t;
  t.metadata.name = "t";
  t.metadata.generation = 1;
  t.spec.image = "busybox";
  return t;
}

// A task whose attempt `n` was started at kT0 and is now `phase`.
api::ContainerTask Started(int n = 1, const char* phase = api::phase::kRunning) {
  api::ContainerTask t = Task();
  t.status.attempts = n;
  t.status.start_time = kT0;
  t.status.phase = phase;
  return t;
}

Observation Obs(WorkloadState state, int attempt = 1) {
  Observation o;
  o.attempt = attempt;
  o.state = state;
  o.workload_name = "ctask-default-t-" + std::to_string(attempt);
  o.container_id = "c" + std::to_string(attempt);
  o.created_at = kT0;
  o.started_at = kT0 + seconds(1);
  return o;
}

Observation Exited(int code, int attempt = 1, bool oom = false) {
  Observation o = Obs(WorkloadState::kExited, attempt);
  o.exit_code = code;
  o.oom_killed = oom;
  o.finished_at = kT0 + seconds(5);
  return o;
}

std::string ConditionStatus(const api::ContainerTaskStatus& st, const std::string& type) {
  for (const api::Condition& c : st.conditions) {
    if (c.type == type) return c.status;
  }
  return "";
}

struct Case {
  std::string name;
  std::function<api::ContainerTask()> task;
  std::optional<Observation> observed;
  Timestamp now;
  std::string invalid_spec;
  // expectations
  std::string phase;
  std::string reason;
  Action action;
  int action_attempt;
  std::optional<seconds> requeue_after;
  int attempts;
  std::string succeeded;  // the Succeeded condition's status
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class DecideTest : public ::testing::TestWithParam<Case> {};

TEST_P(DecideTest, Table) {
  const Case& c = GetParam();
  Decision d = Decide(c.task(), c.observed, c.now, c.invalid_spec);
  EXPECT_EQ(d.status.phase, c.phase);
  EXPECT_EQ(d.status.reason, c.reason) << d.status.message;
  EXPECT_EQ(d.action, c.action);
  if (c.action != Action::kNone && c.action != Action::kDeleteTask) {
    EXPECT_EQ(d.attempt, c.action_attempt);
  }
  EXPECT_EQ(d.requeue_after, c.requeue_after);
  EXPECT_EQ(d.status.attempts, c.attempts);
  EXPECT_EQ(ConditionStatus(d.status, "Succeeded"), c.succeeded);
  EXPECT_EQ(ConditionStatus(d.status, "Reconciling"), IsTerminal(c.phase) ? "False" : "True");
  EXPECT_EQ(ConditionStatus(d.status, "Stalled"), c.phase == api::phase::kFailed ? "True" : "False");
  EXPECT_EQ(d.status.observed_generation, 1);
  EXPECT_LE(d.status.message.size(), api::kMaxMessageLength);
}

api::ContainerTask WithTimeout(api::ContainerTask t, int64_t s) {
  t.spec.timeout_seconds = s;
  return t;
}

api::ContainerTask WithRetries(api::ContainerTask t, int32_t retries, std::vector<int32_t> codes = {}) {
  t.spec.retries = retries;
  t.spec.retry_policy.on_exit_codes = std::move(codes);
  return t;
}

api::ContainerTask WithFailedAttempts(api::ContainerTask t, int failed) {
  for (int i = 1; i <= failed; ++i) {
    t.status.history.push_back({i, "", "", "c", 1, reason::kError, kT0, kT0 + seconds(5)});
  }
  return t;
}

api::ContainerTask Finished(const char* phase) {
  api::ContainerTask t = Started(1, phase);
  t.status.completion_time = kT0 + seconds(10);
  return t;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, DecideTest,
    ::testing::Values(
        Case{"NewTaskStartsAttemptOne", Task, std::nullopt, kT0, "", api::phase::kPending, reason::kStarting,
             Action::kStartAttempt, 1, std::nullopt, 1, "Unknown"},
        // A running attempt's workload that vanished is lost, never run again.
        Case{"ARunningAttemptThatVanishedIsLost", [] { return Started(1); }, Obs(WorkloadState::kAbsent), kT0, "",
             api::phase::kFailed, reason::kWorkloadLost, Action::kNone, 0, std::nullopt, 1, "False"},
        Case{"ALostAttemptIsRetriedWhenRetriesAllow", [] { return WithRetries(Started(1), 1); },
             Obs(WorkloadState::kAbsent), kT0, "", api::phase::kQueued, reason::kRetrying, Action::kNone, 0,
             seconds(10), 2, "Unknown"},
        Case{"APendingAttemptThatVanishedIsAppliedAgain", [] { return Started(1, api::phase::kPending); },
             Obs(WorkloadState::kAbsent), kT0, "", api::phase::kPending, reason::kStarting, Action::kStartAttempt, 1,
             std::nullopt, 1, "Unknown"},
        Case{"CreatedButAbsentIsAppliedAgain", [] { return Started(1, api::phase::kPending); }, std::nullopt, kT0, "",
             api::phase::kPending, reason::kStarting, Action::kStartAttempt, 1, std::nullopt, 1, "Unknown"},
        Case{"Running", [] { return Started(); }, Obs(WorkloadState::kRunning), kT0 + seconds(2), "",
             api::phase::kRunning, reason::kRunning, Action::kNone, 0, std::nullopt, 1, "Unknown"},
        Case{"ExitZeroSucceeds", [] { return Started(); }, Exited(0), kT0 + seconds(6), "", api::phase::kSucceeded,
             reason::kCompleted, Action::kNone, 0, std::nullopt, 1, "True"},
        Case{"NonZeroExitFails", [] { return Started(); }, Exited(3), kT0 + seconds(6), "", api::phase::kFailed,
             reason::kError, Action::kNone, 0, std::nullopt, 1, "False"},
        Case{"OOMKilledFailsEvenWithExitZero", [] { return Started(); }, Exited(0, 1, true), kT0 + seconds(6), "",
             api::phase::kFailed, reason::kOOMKilled, Action::kNone, 0, std::nullopt, 1, "False"},
        Case{"EvictionFailsWithItsOwnReason", [] { return Started(); },
             [] {
               Observation o = Exited(137);
               o.evicted = "ephemeral local storage usage exceeds the limit";
               return o;
             }(),
             kT0 + seconds(6), "", api::phase::kFailed, reason::kEvicted, Action::kNone, 0, std::nullopt, 1, "False"},
        Case{"FailureRetriesAfterBackoff", [] { return WithRetries(Started(), 2); }, Exited(1), kT0 + seconds(6), "",
             api::phase::kQueued, reason::kRetrying, Action::kNone, 0, seconds(9), 2, "Unknown"},
        Case{"RetryStartsOnceBackoffPassed", [] { return WithRetries(Started(), 2); }, Exited(1), kT0 + seconds(60),
             "", api::phase::kQueued, reason::kRetrying, Action::kStartAttempt, 2, std::nullopt, 2, "Unknown"},
        Case{"QueuedRetryWaitsForItsGate",
             [] { return WithFailedAttempts(WithRetries(Started(2, api::phase::kQueued), 2), 1); }, std::nullopt,
             kT0 + seconds(8), "", api::phase::kQueued, "", Action::kNone, 0, seconds(7), 2, "Unknown"},
        Case{"BackoffDoublesPerFailure",
             [] { return WithFailedAttempts(WithRetries(Started(3, api::phase::kQueued), 3), 2); }, std::nullopt,
             kT0 + seconds(6), "", api::phase::kQueued, "", Action::kNone, 0, seconds(19), 3, "Unknown"},
        Case{"ExitCodeOutsideRetryPolicyFails", [] { return WithRetries(Started(), 2, {75}); }, Exited(1),
             kT0 + seconds(6), "", api::phase::kFailed, reason::kError, Action::kNone, 0, std::nullopt, 1, "False"},
        Case{"ExitCodeInRetryPolicyRetries", [] { return WithRetries(Started(), 2, {75}); }, Exited(75),
             kT0 + seconds(60), "", api::phase::kQueued, reason::kRetrying, Action::kStartAttempt, 2, std::nullopt, 2,
             "Unknown"},
        Case{"OOMNotRetriedUnderExitCodePolicy", [] { return WithRetries(Started(), 2, {137}); }, Exited(137, 1, true),
             kT0 + seconds(60), "", api::phase::kFailed, reason::kOOMKilled, Action::kNone, 0, std::nullopt, 1,
             "False"},
        Case{"RetriesExhausted", [] { return WithFailedAttempts(WithRetries(Started(3), 2), 2); }, Exited(1, 3),
             kT0 + seconds(60), "", api::phase::kFailed, reason::kBackoffLimitExceeded, Action::kNone, 0,
             std::nullopt, 3, "False"},
        Case{"TaskDeadlineStopsTheAttempt", [] { return WithTimeout(Started(), 30); }, Obs(WorkloadState::kRunning),
             kT0 + seconds(30), "", api::phase::kFailed, reason::kDeadlineExceeded, Action::kStopAttempt, 1,
             std::nullopt, 1, "False"},
        Case{"RunningRequeuesAtTheDeadline", [] { return WithTimeout(Started(), 30); }, Obs(WorkloadState::kRunning),
             kT0 + seconds(10), "", api::phase::kRunning, reason::kRunning, Action::kNone, 0, seconds(20), 1,
             "Unknown"},
        Case{"BackendDeadlineIsNotRetried",
             [] { return WithRetries(Started(), 3); },
             [] {
               Observation o = Exited(137);
               o.deadline_exceeded = true;
               return o;
             }(),
             kT0 + seconds(60), "", api::phase::kFailed, reason::kDeadlineExceeded, Action::kNone, 0, std::nullopt, 1,
             "False"},
        Case{"ImagePullFailsAtOnceWhenPermanent", [] { return Started(1, api::phase::kPending); },
             [] {
               Observation o = Obs(WorkloadState::kWaiting);
               o.waiting_reason = "ImagePullFailed";
               o.waiting_message = "image \"nope:1\" not found";
               o.waiting_permanent = true;
               return o;
             }(),
             kT0 + seconds(2), "", api::phase::kFailed, "ImagePullFailed", Action::kStopAttempt, 1, std::nullopt, 1,
             "False"},
        Case{"WaitingWithinPendingTimeout", [] { return Started(1, api::phase::kPending); },
             [] {
               Observation o = Obs(WorkloadState::kWaiting);
               o.waiting_reason = "ImagePullBackOff";
               return o;
             }(),
             kT0 + seconds(100), "", api::phase::kPending, "ImagePullBackOff", Action::kNone, 0, seconds(200), 1,
             "Unknown"},
        Case{"CreatedButNeverStartedIsStarted", [] { return Started(1, api::phase::kPending); },
             [] {
               Observation o = Obs(WorkloadState::kWaiting);
               o.never_started = true;  // its creator was killed before it started it
               return o;
             }(),
             kT0 + seconds(2), "", api::phase::kPending, "Starting", Action::kStartAttempt, 1, std::nullopt, 1,
             "Unknown"},
        Case{"WaitingPastPendingTimeoutFailsNamingTheCause", [] { return Started(1, api::phase::kPending); },
             [] {
               Observation o = Obs(WorkloadState::kWaiting);
               o.waiting_reason = "ConfigError";
               o.waiting_message = "secret \"db\" has no key \"password\"";
               return o;
             }(),
             kT0 + seconds(300), "", api::phase::kFailed, "ConfigError", Action::kStopAttempt, 1, std::nullopt, 1,
             "False"},
        Case{"InvalidSpecFailsAtOnce", Task, std::nullopt, kT0, "spec.image: required", api::phase::kFailed,
             reason::kInvalidSpec, Action::kNone, 0, std::nullopt, 0, "False"},
        Case{"CancelStopsTheAttempt",
             [] {
               api::ContainerTask t = Started();
               t.spec.cancel = true;
               return t;
             },
             Obs(WorkloadState::kRunning), kT0 + seconds(3), "", api::phase::kCancelled, reason::kCancelled,
             Action::kStopAttempt, 1, std::nullopt, 1, "False"},
        Case{"SuspendStopsAndKeepsTheRecord",
             [] {
               api::ContainerTask t = Started();
               t.spec.suspend = true;
               return t;
             },
             Obs(WorkloadState::kRunning), kT0 + seconds(3), "", api::phase::kSuspended, reason::kSuspended,
             Action::kStopAttempt, 1, std::nullopt, 1, "Unknown"},
        Case{"ResumeStartsANewAttempt", [] { return Started(1, api::phase::kSuspended); }, Exited(137),
             kT0 + seconds(9), "", api::phase::kPending, reason::kStarting, Action::kStartAttempt, 2, std::nullopt, 2,
             "Unknown"},
        Case{"FinishedTaskStopsALeftover", [] { return Finished(api::phase::kCancelled); },
             Obs(WorkloadState::kRunning), kT0 + seconds(11), "", api::phase::kCancelled, "", Action::kStopAttempt, 1,
             std::nullopt, 1, "False"},
        Case{"WorkloadTtlWaits",
             [] {
               api::ContainerTask t = Finished(api::phase::kSucceeded);
               t.spec.workload_ttl_seconds_after_finished = 60;
               return t;
             },
             Exited(0), kT0 + seconds(30), "", api::phase::kSucceeded, "", Action::kNone, 0, seconds(40), 1, "True"},
        Case{"WorkloadTtlDeletesTheWorkload",
             [] {
               api::ContainerTask t = Finished(api::phase::kSucceeded);
               t.spec.workload_ttl_seconds_after_finished = 60;
               return t;
             },
             Exited(0), kT0 + seconds(70), "", api::phase::kSucceeded, "", Action::kDeleteWorkload, 1, std::nullopt,
             1, "True"},
        Case{"TaskTtlDeletesTheTask",
             [] {
               api::ContainerTask t = Finished(api::phase::kFailed);
               t.spec.ttl_seconds_after_finished = 100;
               return t;
             },
             std::nullopt, kT0 + seconds(110), "", api::phase::kFailed, "", Action::kDeleteTask, 0, std::nullopt, 1,
             "False"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(DecideTest, HistoryRecordsEveryAttemptAndStaysBounded) {
  api::ContainerTask t = WithRetries(Started(), 100);
  for (int n = 1; n <= 30; ++n) {
    t.status.attempts = n;
    Decision d = Decide(t, Exited(1, n), kT0 + seconds(100000));
    t.status = d.status;
  }
  EXPECT_EQ(t.status.history.size(), api::kMaxHistoryEntries);
  EXPECT_EQ(t.status.history.back().attempt, 30);
  EXPECT_EQ(t.status.history.front().attempt, 11);
}

TEST(DecideTest, IsIdempotent) {
  api::ContainerTask t = WithRetries(Started(), 2);
  Decision first = Decide(t, Exited(1), kT0 + seconds(60));
  Decision again = Decide(t, Exited(1), kT0 + seconds(60));
  EXPECT_EQ(first.action, again.action);
  EXPECT_EQ(first.status.attempts, again.status.attempts);
  EXPECT_EQ(first.status.message, again.status.message);
}

TEST(DecideTest, TransitionTimeMovesOnlyOnAChangeOfStatus) {
  api::ContainerTask t = Started();
  Decision running = Decide(t, Obs(WorkloadState::kRunning), kT0 + seconds(2));
  t.status = running.status;
  Decision still = Decide(t, Obs(WorkloadState::kRunning), kT0 + seconds(50));
  ASSERT_EQ(still.status.conditions.size(), 3u);
  for (const api::Condition& c : still.status.conditions) EXPECT_EQ(c.last_transition_time, kT0 + seconds(2));
  t.status = still.status;
  Decision done = Decide(t, Exited(0), kT0 + seconds(60));
  EXPECT_EQ(done.status.conditions[0].last_transition_time, kT0 + seconds(60));
  EXPECT_EQ(done.status.completion_time, kT0 + seconds(5));
  EXPECT_EQ(done.status.exit_code, 0);
}

TEST(DecideTest, TerminationMessageAndLongMessagesAreBounded) {
  Observation o = Exited(0);
  o.termination_message = std::string(10000, 'r');
  Decision d = Decide(Started(), o, kT0 + seconds(6));
  EXPECT_EQ(d.status.result.size(), api::kMaxResultBytes);
  Decision invalid = Decide(Task(), std::nullopt, kT0, std::string(5000, 'x'));
  EXPECT_EQ(invalid.status.message.size(), api::kMaxMessageLength);
}

// ---- admission (docs/queues.md) -------------------------------------------

const Admission kRefused{
    .granted = false, .reason = reason::kWaitingForCapacity, .message = "position 3 of 7 in queue default"};

TEST(DecideAdmissionTest, ARefusedTaskWaitsQueuedWithoutAnAttemptOrADeadline) {
  api::ContainerTask t = Task();
  t.spec.timeout_seconds = 10;
  Decision d = Decide(t, std::nullopt, kT0, "", kRefused);
  EXPECT_EQ(d.status.phase, api::phase::kQueued);
  EXPECT_EQ(d.status.reason, reason::kWaitingForCapacity);
  EXPECT_EQ(d.status.message, "position 3 of 7 in queue default");
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.status.attempts, 0);
  EXPECT_FALSE(d.status.start_time) << "timeoutSeconds starts at admission, not while queued";
  EXPECT_FALSE(d.requeue_after) << "the admitter wakes it";
  EXPECT_EQ(ConditionStatus(d.status, kConditionAdmitted), "False");
  EXPECT_EQ(ConditionStatus(d.status, "Reconciling"), "True") << "GitOps tools keep waiting";
  EXPECT_EQ(ConditionStatus(d.status, "Succeeded"), "Unknown");
  EXPECT_EQ(ConditionStatus(d.status, "Stalled"), "False");
}

TEST(DecideAdmissionTest, AGrantedTaskStartsItsFirstAttemptAndHoldsASlot) {
  api::ContainerTask t = Task();
  t.status = Decide(t, std::nullopt, kT0, "", kRefused).status;
  const Timestamp later = kT0 + seconds(500);
  Decision d = Decide(t, std::nullopt, later, "", Admission{});
  EXPECT_EQ(d.action, Action::kStartAttempt);
  EXPECT_EQ(d.status.attempts, 1);
  EXPECT_EQ(d.status.start_time, later);
  EXPECT_EQ(d.status.admission_time, later);
  EXPECT_EQ(ConditionStatus(d.status, kConditionAdmitted), "True");
  t.status = d.status;
  EXPECT_TRUE(HoldsSlot(t));
  EXPECT_FALSE(WantsSlot(t));
}

TEST(DecideAdmissionTest, TheSlotIsHeldThroughRetryBackoffAndGivenBackWhenTheLastWorkloadEnds) {
  api::ContainerTask t = WithRetries(Task(), 1);
  t.status = Decide(t, std::nullopt, kT0, "", Admission{}).status;
  Decision retry = Decide(t, Exited(1), kT0 + seconds(6));
  EXPECT_EQ(retry.status.phase, api::phase::kQueued);
  EXPECT_EQ(retry.status.reason, reason::kRetrying);
  EXPECT_EQ(ConditionStatus(retry.status, kConditionAdmitted), "True") << "backoff keeps the slot";
  t.status = retry.status;
  t.status.history.back().completion_time = kT0;
  Decision second = Decide(t, std::nullopt, kT0 + seconds(100));
  EXPECT_EQ(second.action, Action::kStartAttempt);
  EXPECT_EQ(second.status.attempts, 2);
  t.status = second.status;
  Decision done = Decide(t, Exited(0, 2), kT0 + seconds(200));
  EXPECT_EQ(done.status.phase, api::phase::kSucceeded);
  EXPECT_EQ(ConditionStatus(done.status, kConditionAdmitted), "False");
  t.status = done.status;
  EXPECT_FALSE(HoldsSlot(t));
  EXPECT_FALSE(WantsSlot(t));
}

TEST(DecideAdmissionTest, ACancelledTaskHoldsItsSlotUntilItsWorkloadStops) {
  api::ContainerTask t = Task();
  t.status = Decide(t, std::nullopt, kT0, "", Admission{}).status;
  t.spec.cancel = true;
  Decision stopping = Decide(t, Obs(WorkloadState::kRunning), kT0 + seconds(5));
  EXPECT_EQ(stopping.status.phase, api::phase::kCancelled);
  EXPECT_EQ(stopping.action, Action::kStopAttempt);
  EXPECT_EQ(ConditionStatus(stopping.status, kConditionAdmitted), "True");
  t.status = stopping.status;
  Decision stopped = Decide(t, Exited(137), kT0 + seconds(6));
  EXPECT_EQ(ConditionStatus(stopped.status, kConditionAdmitted), "False");
}

TEST(DecideAdmissionTest, AResumedTaskWaitsForASlotAgainAndThenStartsANewAttempt) {
  api::ContainerTask t = Task();
  t.status = Decide(t, std::nullopt, kT0, "", Admission{}).status;
  t.spec.suspend = true;
  t.status = Decide(t, Obs(WorkloadState::kRunning), kT0 + seconds(5)).status;
  t.status = Decide(t, Exited(137), kT0 + seconds(6)).status;
  EXPECT_EQ(t.status.phase, api::phase::kSuspended);
  EXPECT_FALSE(HoldsSlot(t));
  EXPECT_FALSE(WantsSlot(t)) << "suspended: no slot wanted";
  t.spec.suspend = false;
  EXPECT_TRUE(WantsSlot(t));
  Decision waiting = Decide(t, Exited(137), kT0 + seconds(7), "", kRefused);
  EXPECT_EQ(waiting.status.phase, api::phase::kQueued);
  EXPECT_EQ(waiting.status.attempts, 1);
  EXPECT_EQ(waiting.action, Action::kNone);
  t.status = waiting.status;
  Decision resumed = Decide(t, Exited(137), kT0 + seconds(8), "", Admission{});
  EXPECT_EQ(resumed.status.attempts, 2);
  EXPECT_EQ(resumed.action, Action::kStartAttempt);
  EXPECT_EQ(resumed.attempt, 2);
}

TEST(DecideAdmissionTest, CancellingAQueuedTaskEndsItWithoutAnAttempt) {
  api::ContainerTask t = Task();
  t.status = Decide(t, std::nullopt, kT0, "", kRefused).status;
  t.spec.cancel = true;
  Decision d = Decide(t, std::nullopt, kT0 + seconds(3));
  EXPECT_EQ(d.status.phase, api::phase::kCancelled);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.status.attempts, 0);
  const api::Condition* admitted = AdmittedCondition(d.status);
  ASSERT_NE(admitted, nullptr);
  EXPECT_EQ(admitted->status, "False");
  EXPECT_EQ(admitted->reason, reason::kCancelled);
}

// ---- Kueue (admission outside ctask) -------------------------------------

const Admission kKueue{.external = true};

Observation HeldByKueue(int attempt = 1) {
  Observation o = Obs(WorkloadState::kWaiting, attempt);
  o.held_for_admission = true;
  o.waiting_reason = runtime::kReasonWaitingForKueue;
  o.waiting_message = "Job t-1 is suspended until Kueue admits it (LocalQueue lq)";
  return o;
}

TEST(DecideKueueTest, TheJobIsCreatedAtOnceAndTheTaskWaitsForKueueWithoutAPendingTimeout) {
  api::ContainerTask t = Task();
  t.spec.pending_timeout_seconds = 5;
  t.spec.timeout_seconds = 60;
  Decision first = Decide(t, std::nullopt, kT0, "", kKueue);
  EXPECT_EQ(first.action, Action::kStartAttempt);
  EXPECT_EQ(first.status.attempts, 1);
  EXPECT_FALSE(first.status.start_time) << "the deadline runs from when Kueue lets it start";
  t.status = first.status;
  Decision held = Decide(t, HeldByKueue(), kT0 + seconds(600), "", kKueue);
  EXPECT_EQ(held.status.phase, api::phase::kQueued);
  EXPECT_EQ(held.status.reason, "WaitingForKueue");
  EXPECT_EQ(held.status.message, "Job t-1 is suspended until Kueue admits it (LocalQueue lq)");
  EXPECT_EQ(held.action, Action::kNone) << "10 minutes held, pendingTimeoutSeconds 5: not a failure";
  EXPECT_EQ(ConditionStatus(held.status, kConditionAdmitted), "False");
  EXPECT_EQ(ConditionStatus(held.status, "Reconciling"), "True");
  t.status = held.status;
  Decision running = Decide(t, Obs(WorkloadState::kRunning), kT0 + seconds(700), "", kKueue);
  EXPECT_EQ(running.status.phase, api::phase::kRunning);
  EXPECT_EQ(running.status.start_time, kT0 + seconds(700));
  EXPECT_EQ(ConditionStatus(running.status, kConditionAdmitted), "True");
  EXPECT_EQ(running.requeue_after, seconds(60));
}

TEST(DecideKueueTest, APreemptedAttemptGoesBackToQueuedAndIsNoFailure) {
  api::ContainerTask t = Task();
  t.status = Decide(t, std::nullopt, kT0, "", kKueue).status;
  t.status = Decide(t, Obs(WorkloadState::kRunning), kT0 + seconds(2), "", kKueue).status;
  Decision preempted = Decide(t, HeldByKueue(), kT0 + seconds(30), "", kKueue);
  EXPECT_EQ(preempted.status.phase, api::phase::kQueued);
  EXPECT_EQ(preempted.status.reason, "WaitingForKueue");
  EXPECT_TRUE(preempted.status.message.starts_with("preempted by Kueue; ")) << preempted.status.message;
  EXPECT_EQ(preempted.status.attempts, 1);
  EXPECT_TRUE(preempted.status.history.empty()) << "no failed attempt recorded";
  EXPECT_EQ(preempted.action, Action::kNone);
  t.status = preempted.status;
  Decision again = Decide(t, Obs(WorkloadState::kRunning), kT0 + seconds(90), "", kKueue);
  EXPECT_EQ(again.status.phase, api::phase::kRunning);
  EXPECT_EQ(again.status.attempts, 1) << "the same Job runs again";
  t.status = again.status;
  Decision done = Decide(t, Exited(0), kT0 + seconds(95), "", kKueue);
  EXPECT_EQ(done.status.phase, api::phase::kSucceeded);
  EXPECT_EQ(ConditionStatus(done.status, kConditionAdmitted), "False");
}

}  // namespace
}  // namespace ctask::status
