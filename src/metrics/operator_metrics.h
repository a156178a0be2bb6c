// OperatorMetrics: the operator's Prometheus metrics, one registry holding
// every family the operator exports on /metrics, and typed recorders so
// callers never spell a metric name or a label.
//
// The family names, their help text, labels and units are a user contract
// (dashboards and alerts are built on them): docs/operations.md lists them,
// and a change here is a change there. All durations are in seconds.
//
//   ctask_tasks{phase}                         gauge      tasks in the cache, by status.phase
//   ctask_reconcile_total{result}              counter    reconcile passes: success | error | requeue
//   ctask_reconcile_duration_seconds           histogram  one reconcile pass
//   ctask_workqueue_depth                      gauge      keys waiting for a worker
//   ctask_workqueue_adds_total                 counter    keys queued (adds of a key already queued excluded)
//   ctask_workqueue_retries_total              counter    rate-limited re-queues after a failure
//   ctask_workqueue_queue_duration_seconds     histogram  queued -> handed to a worker
//   ctask_task_start_latency_seconds           histogram  task created -> its pod running
//   ctask_task_duration_seconds{phase}         histogram  task started -> finished, by final phase
//   ctask_kube_api_requests_total{verb,code}   counter    Kubernetes API requests by verb and HTTP status
//                                                         ("error" when no response came)
//   ctask_watch_restarts_total{resource}       counter    watches started again (stream ended or broke)
//   ctask_leader                               gauge      1 while this replica holds the leader lease
//   ctask_queue_wait_seconds{queue}            histogram  waiting for a slot -> admitted
//   ctask_queue_boot_seconds{queue}            histogram  admitted -> its workload running
//   ctask_queue_tasks{queue,state}             gauge      tasks waiting / holding a slot, per queue
//
// Families with a fixed label set (ctask_tasks by the seven phases,
// ctask_reconcile_total by its three results, ctask_task_duration_seconds by
// the three final phases) are present from the start at zero, so a rate() or
// an alert sees them before the first event.
//
// Wiring (the operator's main does this):
//   queue.SetObserver({.added = [&m] { m.CountQueueAdd(); },
//                      .retried = [&m] { m.CountQueueRetry(); },
//                      .depth = [&m](int d) { m.SetQueueDepth(d); },
//                      .waited = [&m](auto w) { m.ObserveQueueWait(w); }});
//   client_options.on_request = m.KubeRequestHook();
//
// Thread-safety: every method may be called from any thread at once
// (prometheus-cpp's metrics are atomic or locked internally). No method
// calls back into its caller, so the recorders are safe to call under the
// work queue's lock.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ctask::metrics {

// The outcome label of ctask_reconcile_total.
enum class ReconcileResult {
  kSuccess,  // converged; nothing scheduled
  kError,    // failed; re-queued with backoff or dropped as terminal
  kRequeue,  // fine so far; asked to look again later (a deadline, a running pod)
};

std::string_view ReconcileResultLabel(ReconcileResult result);

// Bucket upper bounds, in seconds.
//
// A reconcile is a few API calls: milliseconds normally, seconds when the API
// server is slow; beyond 10s it is stuck, and +Inf says so.
std::vector<double> ReconcileBuckets();
// Queue wait: near zero when workers keep up, up to a minute under a backlog
// or the overall retry rate limit.
std::vector<double> QueueWaitBuckets();
// Created -> running: image pulls and scheduling take seconds to minutes; an
// hour is a task stuck pending (pendingTimeoutSeconds usually ends it first).
std::vector<double> StartLatencyBuckets();
// Task run time: seconds (a smoke test) to a day (a long batch job).
std::vector<double> TaskDurationBuckets();
// Time in a queue: none when there is room, up to a day behind a long queue.
std::vector<double> AdmissionWaitBuckets();
// Admitted -> running: a Job's pod created, scheduled and started (or a
// container started): sub-second to minutes with an image pull.
std::vector<double> BootBuckets();

class OperatorMetrics {
 public:
  OperatorMetrics();
  OperatorMetrics(const OperatorMetrics&) = delete;
  OperatorMetrics& operator=(const OperatorMetrics&) = delete;

  // ctask_tasks: every phase's count from the cache. A phase missing from
  // `by_phase` is set to 0, so a phase that emptied does not keep its old count.
  void SetTaskCounts(const std::map<std::string, int64_t, std::less<>>& by_phase);

  // ctask_reconcile_total and ctask_reconcile_duration_seconds.
  void ObserveReconcile(ReconcileResult result, std::chrono::nanoseconds duration);

  // The work queue's (reconcile::QueueObserver's) measurements.
  void CountQueueAdd();
  void CountQueueRetry();
  void SetQueueDepth(int depth);
  void ObserveQueueWait(std::chrono::nanoseconds waited);

  // ctask_task_start_latency_seconds: creationTimestamp -> pod running.
  void ObserveTaskStartLatency(std::chrono::nanoseconds latency);
  // ctask_task_duration_seconds{phase}: startTime -> completionTime, with the
  // phase the task ended in (Succeeded, Failed, Cancelled).
  void ObserveTaskDuration(std::string_view phase, std::chrono::nanoseconds duration);

  // ctask_kube_api_requests_total; http_status 0 = no response (code "error").
  void CountKubeRequest(std::string_view verb, int http_status);
  // The same as a kube::ClientOptions::on_request hook. The metrics must
  // outlive the client it is given to.
  std::function<void(std::string_view verb, int http_status)> KubeRequestHook();

  // ctask_watch_restarts_total{resource}: "containertasks", "pods", ...
  void CountWatchRestart(std::string_view resource);

  // ctask_leader.
  void SetLeader(bool leader);
  // ctask_log_follows and ctask_log_connections: pod logs being followed
  // now, and the connections to the API server that carry them.
  void SetLogFollows(size_t follows, size_t connections);
  // ctask_queue_wait_seconds{queue} and ctask_queue_boot_seconds{queue};
  // `queue` is the queue id, "namespace/name".
  void ObserveAdmissionWait(std::string_view queue, std::chrono::nanoseconds waited);
  void ObserveBootTime(std::string_view queue, std::chrono::nanoseconds boot);
  // ctask_queue_tasks{queue,state}: waiting and running per queue id. A
  // queue seen before and missing now is set to 0.
  void SetQueueTasks(const std::map<std::string, std::pair<int64_t, int64_t>>& waiting_running);

  // Every family in the Prometheus text exposition format (version 0.0.4).
  std::string Render() const;

  // For metrics beyond this set (tests, later additions); families added
  // here appear in Render too.
  prometheus::Registry& registry() { return *registry_; }

 private:
  const std::unique_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Gauge>& tasks_;
  prometheus::Family<prometheus::Counter>& reconcile_total_;
  prometheus::Histogram& reconcile_duration_;
  prometheus::Gauge& queue_depth_;
  prometheus::Counter& queue_adds_;
  prometheus::Counter& queue_retries_;
  prometheus::Histogram& queue_wait_;
  prometheus::Histogram& start_latency_;
  prometheus::Family<prometheus::Histogram>& task_duration_;
  prometheus::Family<prometheus::Counter>& kube_requests_;
  prometheus::Family<prometheus::Counter>& watch_restarts_;
  prometheus::Gauge& leader_;
  prometheus::Gauge& log_follows_;
  prometheus::Gauge& log_connections_;
  prometheus::Family<prometheus::Histogram>& admission_wait_;
  prometheus::Family<prometheus::Histogram>& boot_;
  prometheus::Family<prometheus::Gauge>& queue_tasks_;
  // ctask_heap_bytes{state="in_use"|"free"}: the allocator's own figures
  // (util/heap.h), read at each scrape, so memory is not read off RSS alone.
  prometheus::Family<prometheus::Gauge>& heap_;
  std::mutex queues_mu_;
  std::set<std::string> queues_seen_;  // guarded by queues_mu_

  std::mutex phases_mu_;
  std::set<std::string, std::less<>> phases_seen_;  // every phase ctask_tasks has a series for; guarded by phases_mu_
};

// The content type of Render's output.
inline constexpr const char* kPrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace ctask::metrics
