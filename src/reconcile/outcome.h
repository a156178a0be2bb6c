// Outcome: what one reconcile's result asks of the work queue, the result
// contract of controller-runtime (pkg/reconcile, pkg/internal/controller):
//
//   done               the key's backoff is forgotten; nothing is queued
//   requeue after d    forgotten, and queued again once d has passed
//   conflict           someone wrote the record first: queued again at once,
//                      without a log line (the next pass reads the newer
//                      record; level-based, nothing is lost). A conflict right
//                      after another one backs off instead: a cache that
//                      has not caught up yet must not make the key spin.
//   transient error    queued again with per-key exponential backoff
//   terminal error     retrying cannot fix it (the input is invalid, the
//                      operator lacks a permission): forgotten, never queued
//                      again by this error, reported once. The reconciler has
//                      already written what it could into the task's status
//                      (Failed, with a reason naming the cause); a change to
//                      the task queues it again as any change does.
//
// PlanQueueCalls is pure, so the mapping is one table of cases
// (tests/reconcile/outcome_test.cc); Controller applies it.
#pragma once

#include <chrono>
#include <optional>

#include "reconcile/task_reconciler.h"
#include "util/error.h"

namespace ctask::reconcile {

enum class Outcome { kDone, kRequeueAfter, kConflict, kTransientError, kTerminalError };

// Whether retrying can never fix `error`: the input is wrong
// (kInvalidArgument: an invalid child the API server refused, a body the
// Docker daemon refused) or a permission is missing (kPermissionDenied).
bool IsTerminalError(const Error& error);

Outcome Classify(const Result<ReconcileResult>& result);

// The work queue calls one result needs, in the order Controller makes them
// (Done always follows).
struct QueueCalls {
  bool forget = false;                                 // Forget(key): clear the key's backoff
  bool add_now = false;                                // Add(key)
  bool count_failure = false;                          // CountFailure(key): the next backoff starts one step up
  bool add_rate_limited = false;                       // AddRateLimited(key)
  std::optional<std::chrono::milliseconds> add_after;  // AddAfter(key, d, add_after_priority)
  Priority add_after_priority = Priority::kNormal;
  bool report = false;  // the error deserves a log line
  bool operator==(const QueueCalls&) const = default;
};

// `requeues` is the queue's NumRequeues(key): the failures since its last
// clean pass.
QueueCalls PlanQueueCalls(const Result<ReconcileResult>& result, int requeues);

}  // namespace ctask::reconcile
