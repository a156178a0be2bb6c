// The result contract (reconcile/outcome.h): every outcome of a reconcile
// and the work-queue calls it makes, as one table.
#include "reconcile/outcome.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ctask::reconcile {
namespace {

using std::chrono::milliseconds;

Result<ReconcileResult> Done() {
  return ReconcileResult{};
}
Result<ReconcileResult> After(milliseconds d) {
  return ReconcileResult{d, false};
}
Result<ReconcileResult> Failed(ErrorCode code) {
  return std::unexpected(Error(code, "boom"));
}

struct Case {
  std::string name;
  Result<ReconcileResult> result;
  int requeues = 0;
  Outcome want_outcome;
  QueueCalls want;
};

TEST(OutcomeTest, EachOutcomeMapsToItsQueueCalls) {
  const std::vector<Case> cases = {
      {.name = "done forgets the backoff and queues nothing",
       .result = Done(),
       .want_outcome = Outcome::kDone,
       .want = {.forget = true}},
      {.name = "done after failures still forgets",
       .result = Done(),
       .requeues = 4,
       .want_outcome = Outcome::kDone,
       .want = {.forget = true}},
      {.name = "requeue after d forgets and comes back after d",
       .result = After(milliseconds(1500)),
       .want_outcome = Outcome::kRequeueAfter,
       .want = {.forget = true, .add_after = milliseconds(1500)}},
      {.name = "requeue after 0 comes back at once",
       .result = After(milliseconds(0)),
       .want_outcome = Outcome::kRequeueAfter,
       .want = {.forget = true, .add_after = milliseconds(0)}},
      {.name = "a look-again at once keeps the priority it asks for",
       .result =
           ReconcileResult{.requeue_after = milliseconds(0), .settled = false, .requeue_priority = Priority::kLow},
       .want_outcome = Outcome::kRequeueAfter,
       .want = {.forget = true, .add_after = milliseconds(0), .add_after_priority = Priority::kLow}},
      {.name = "a conflict is requeued at once, counted, never reported",
       .result = Failed(ErrorCode::kConflict),
       .want_outcome = Outcome::kConflict,
       .want = {.add_now = true, .count_failure = true}},
      {.name = "a conflict right after a failure backs off, never reported",
       .result = Failed(ErrorCode::kConflict),
       .requeues = 1,
       .want_outcome = Outcome::kConflict,
       .want = {.add_rate_limited = true}},
      {.name = "an unavailable backend backs off and is reported",
       .result = Failed(ErrorCode::kUnavailable),
       .want_outcome = Outcome::kTransientError,
       .want = {.add_rate_limited = true, .report = true}},
      {.name = "a timeout backs off",
       .result = Failed(ErrorCode::kDeadlineExceeded),
       .want_outcome = Outcome::kTransientError,
       .want = {.add_rate_limited = true, .report = true}},
      {.name = "a missing object backs off (a cache behind)",
       .result = Failed(ErrorCode::kNotFound),
       .want_outcome = Outcome::kTransientError,
       .want = {.add_rate_limited = true, .report = true}},
      {.name = "an internal error backs off",
       .result = Failed(ErrorCode::kInternal),
       .want_outcome = Outcome::kTransientError,
       .want = {.add_rate_limited = true, .report = true}},
      {.name = "a failed precondition backs off",
       .result = Failed(ErrorCode::kFailedPrecondition),
       .want_outcome = Outcome::kTransientError,
       .want = {.add_rate_limited = true, .report = true}},
      {.name = "an expired resourceVersion backs off",
       .result = Failed(ErrorCode::kExpired),
       .want_outcome = Outcome::kTransientError,
       .want = {.add_rate_limited = true, .report = true}},
      {.name = "an invalid child is terminal: forgotten, not requeued, reported",
       .result = Failed(ErrorCode::kInvalidArgument),
       .requeues = 2,
       .want_outcome = Outcome::kTerminalError,
       .want = {.forget = true, .report = true}},
      {.name = "a missing permission is terminal",
       .result = Failed(ErrorCode::kPermissionDenied),
       .want_outcome = Outcome::kTerminalError,
       .want = {.forget = true, .report = true}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Classify(c.result), c.want_outcome) << c.name;
    EXPECT_EQ(PlanQueueCalls(c.result, c.requeues), c.want) << c.name;
  }
}

TEST(OutcomeTest, OnlyInvalidInputAndMissingPermissionsAreTerminal) {
  for (ErrorCode code : {ErrorCode::kInvalidArgument, ErrorCode::kPermissionDenied}) {
    EXPECT_TRUE(IsTerminalError(Error(code, ""))) << ErrorCodeName(code);
  }
  for (ErrorCode code : {ErrorCode::kNotFound, ErrorCode::kAlreadyExists, ErrorCode::kConflict,
                         ErrorCode::kFailedPrecondition, ErrorCode::kUnavailable, ErrorCode::kDeadlineExceeded,
                         ErrorCode::kCancelled, ErrorCode::kExpired, ErrorCode::kInternal}) {
    EXPECT_FALSE(IsTerminalError(Error(code, ""))) << ErrorCodeName(code);
  }
}

}  // namespace
}  // namespace ctask::reconcile
