// Decide: the pure core of reconciling one ContainerTask, shared by the
// Docker and Kubernetes backends. Given the task (spec and the status written
// so far), what the backend observes of the current attempt, and the time,
// it returns the status to write and the one thing to do next. No I/O, no
// clock: every rule of DESIGN.md section 3 is a unit test of this function.
//
// Level-based: calling it again with the same inputs gives the same answer,
// so a crash between deciding and acting is harmless — the next reconcile
// decides the same again (the backend's Apply is idempotent).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "api/types.h"
#include "runtime/observation.h"
#include "status/admission.h"
#include "util/time.h"

namespace ctask::status {

// Reasons, CamelCase, as status.reason and the Succeeded condition use them.
namespace reason {
inline constexpr const char* kCompleted = "Completed";
inline constexpr const char* kError = "Error";
inline constexpr const char* kOOMKilled = "OOMKilled";
inline constexpr const char* kEvicted = "Evicted";
inline constexpr const char* kDeadlineExceeded = "DeadlineExceeded";
inline constexpr const char* kPendingTimeout = "PendingTimeout";
inline constexpr const char* kBackoffLimitExceeded = "BackoffLimitExceeded";
inline constexpr const char* kCancelled = "Cancelled";
inline constexpr const char* kSuspended = "Suspended";
inline constexpr const char* kInvalidSpec = "InvalidSpec";
inline constexpr const char* kForbidden = "Forbidden";
inline constexpr const char* kStarting = "Starting";
inline constexpr const char* kRunning = "Running";
inline constexpr const char* kRetrying = "Retrying";
inline constexpr const char* kWorkloadLost = "WorkloadLost";
}  // namespace reason

// Longest wait between attempts, whatever retryPolicy.backoffSeconds says.
inline constexpr std::chrono::seconds kMaxRetryBackoff{600};

enum class Action {
  kNone,            // wait: nothing to do until requeue_after or a change
  kStartAttempt,    // apply the workload of `attempt` (idempotent: create if absent)
  kStopAttempt,     // stop the running workload of `attempt`, keep it
  kDeleteWorkload,  // workload TTL passed: remove the attempt's workload
  kDeleteTask,      // task TTL passed: remove the task and all it owns
};

struct Decision {
  api::ContainerTaskStatus status;
  Action action = Action::kNone;
  int attempt = 0;  // the attempt the action is about
  // Come back after this long even if nothing changes (a deadline, a
  // backoff, a TTL); nullopt: only a change needs a new look.
  std::optional<std::chrono::seconds> requeue_after;
};

// `observed` is the backend's view of status.attempts' workload (nullopt when
// no attempt was started yet). `invalid_spec` holds the validation problems
// of the spec, joined; non-empty fails the task at once (terminal).
// `admission` is the admitter's answer when the task wants a slot
// (WantsSlot): granted, the task is admitted (Admitted True, admissionTime,
// a new attempt); refused, it waits Queued with the answer's reason and
// message. A task that holds a slot gives it back (Admitted False) once it
// is finished or suspended and its workload is no longer live.
Decision Decide(const api::ContainerTask& task, const std::optional<runtime::Observation>& observed, Timestamp now,
                const std::string& invalid_spec = "", const Admission& admission = {});

// The status of a task whose attempt could not be started for a reason no
// retry can fix (reconcile/outcome.h's terminal errors): the backend refused
// the attempt's workload as invalid (reason InvalidSpec) or the operator may
// not create it (reason Forbidden). `status` is the one Decide returned with
// Action::kStartAttempt for `attempt`; `cause` is the refusal in the
// backend's words (the field path the API server named, the missing
// permission). The task is Failed, the attempt recorded with the reason.
api::ContainerTaskStatus FailStart(api::ContainerTaskStatus status, int64_t generation, int attempt, const char* why,
                                   const std::string& cause, Timestamp now);

// Sets the kstatus conditions (Succeeded, Reconciling, Stalled) from the
// phase and reason, Admitted kept after them.
void SetTaskConditions(api::ContainerTaskStatus& status, int64_t generation, Timestamp now);

// Whether an attempt's reason is a failure, one a retry counts.
bool IsFailureReason(const std::string& attempt_reason);

// Whether a phase is final: no further attempt will run.
bool IsTerminal(const std::string& phase);

// The message of an attempt started and not seen waiting for a cause yet:
// the same words before and after its workload is seen, so that sighting
// is no change to write, and in the Starting event of a skipped start.
std::string StartingMessage(int attempt);

// Sets (or updates) a condition, keeping lastTransitionTime when the status
// does not change. Returns whether anything changed.
bool SetCondition(std::vector<api::Condition>& conditions, const api::Condition& condition);

}  // namespace ctask::status
