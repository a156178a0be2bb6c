// EventRecorder: records core/v1 Events (event.h) about objects without
// holding up the caller — client-go's event broadcaster, cut down. A
// reconcile hands an event over and goes on; one background thread writes
// them in order.
//
// Contract:
//  - Record writes only what the event budget allows (kube/event_budget.h:
//    25 per object then one per 5 minutes, Normal events 5/s across the
//    operator); the rest are counted (OverBudget()) and said in the log at
//    most once a minute.
//  - Record never blocks on the API server. At most kMaxPendingEvents wait;
//    beyond that new events are dropped and counted (Dropped()), as events
//    are best-effort in Kubernetes too: the status, not the event stream,
//    is the record of what happened.
//  - A failed write is logged (through `log`) and not retried.
//  - Stop (and destruction) writes what is queued, each write bounded by the
//    client's request timeout, then returns.
//
// Thread-safety: Record from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "api/json.h"
#include "kube/client.h"
#include "kube/event_budget.h"
#include "util/clock.h"

namespace ctask::kube {

inline constexpr size_t kMaxPendingEvents = 1000;

class EventRecorder {
 public:
  // `client` and `clock` (which dates the events) must outlive the
  // recorder. `component` is the reporting component ("ctask-operator"),
  // `instance` this replica (the pod name).
  EventRecorder(KubeClient& client, std::string component, std::string instance,
                std::function<void(const std::string&)> log = {}, const Clock& clock = RealClock(),
                EventBudgetOptions budget = {});
  ~EventRecorder();  // Stop()
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `involved_object`: the object the event is about (apiVersion, kind,
  // metadata.name/namespace/uid). `type` "Normal" or "Warning".
  void Record(const api::Json& involved_object, std::string type, std::string reason, std::string message);

  void Stop();
  int64_t Dropped() const;     // the queue was full
  int64_t OverBudget() const;  // the event budget said no
  int64_t Written() const;

 private:
  struct Pending {
    api::Json object;
    std::string type, reason, message;
  };
  void Run(std::stop_token stop);

  KubeClient& client_;
  const std::string component_;
  const std::string instance_;
  const std::function<void(const std::string&)> log_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Pending> pending_;                                            // guarded by mu_
  EventBudget budget_;                                                     // guarded by mu_
  int64_t dropped_ = 0;                                                    // guarded by mu_
  int64_t over_budget_ = 0;                                                // guarded by mu_
  std::optional<std::chrono::steady_clock::time_point> over_budget_said_;  // guarded by mu_
  int64_t written_ = 0;                                                    // guarded by mu_
  std::jthread thread_;  // last: started after everything above exists
};

}  // namespace ctask::kube
