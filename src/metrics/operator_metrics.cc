#include "metrics/operator_metrics.h"

#include <prometheus/text_serializer.h>

#include "api/types.h"
#include "util/heap.h"

namespace ctask::metrics {
namespace {

double Seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

constexpr const char* kAllPhases[] = {api::phase::kPending,   api::phase::kQueued, api::phase::kRunning,
                                      api::phase::kSucceeded, api::phase::kFailed, api::phase::kCancelled,
                                      api::phase::kSuspended};
constexpr const char* kFinalPhases[] = {api::phase::kSucceeded, api::phase::kFailed, api::phase::kCancelled};

}  // namespace

std::string_view ReconcileResultLabel(ReconcileResult result) {
  switch (result) {
    case ReconcileResult::kSuccess:
      return "success";
    case ReconcileResult::kError:
      return "error";
    case ReconcileResult::kRequeue:
      return "requeue";
  }
  return "error";
}

std::vector<double> ReconcileBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> AdmissionWaitBuckets() {
  return {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 14400, 86400};
}

std::vector<double> BootBuckets() {
  return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900};
}

std::vector<double> QueueWaitBuckets() {
  return {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60};
}

std::vector<double> StartLatencyBuckets() {
  return {0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600};
}

std::vector<double> TaskDurationBuckets() {
  return {1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400};
}

OperatorMetrics::OperatorMetrics()
    : registry_(std::make_unique<prometheus::Registry>()),
      tasks_(prometheus::BuildGauge()
                 .Name("ctask_tasks")
                 .Help("ContainerTasks the operator's cache holds, by status.phase.")
                 .Register(*registry_)),
      reconcile_total_(prometheus::BuildCounter()
                           .Name("ctask_reconcile_total")
                           .Help("Reconcile passes by result: success, error (retried with backoff or dropped "
                                 "as terminal), requeue (asked to look again later).")
                           .Register(*registry_)),
      reconcile_duration_(prometheus::BuildHistogram()
                              .Name("ctask_reconcile_duration_seconds")
                              .Help("Time one reconcile pass of a task took.")
                              .Register(*registry_)
                              .Add({}, ReconcileBuckets())),
      queue_depth_(prometheus::BuildGauge()
                       .Name("ctask_workqueue_depth")
                       .Help("Task keys queued and waiting for a worker.")
                       .Register(*registry_)
                       .Add({})),
      queue_adds_(prometheus::BuildCounter()
                      .Name("ctask_workqueue_adds_total")
                      .Help("Task keys added to the work queue (an add of a key already queued is not counted).")
                      .Register(*registry_)
                      .Add({})),
      queue_retries_(prometheus::BuildCounter()
                         .Name("ctask_workqueue_retries_total")
                         .Help("Task keys re-queued with rate-limited backoff after a failed reconcile.")
                         .Register(*registry_)
                         .Add({})),
      queue_wait_(prometheus::BuildHistogram()
                      .Name("ctask_workqueue_queue_duration_seconds")
                      .Help("Time a task key waited in the work queue, from being queued to being handed to a "
                            "worker.")
                      .Register(*registry_)
                      .Add({}, QueueWaitBuckets())),
      start_latency_(prometheus::BuildHistogram()
                         .Name("ctask_task_start_latency_seconds")
                         .Help("Time from a task's creation to its pod running.")
                         .Register(*registry_)
                         .Add({}, StartLatencyBuckets())),
      task_duration_(prometheus::BuildHistogram()
                         .Name("ctask_task_duration_seconds")
                         .Help("Time from a task's start to its end, by the phase it ended in.")
                         .Register(*registry_)),
      kube_requests_(prometheus::BuildCounter()
                         .Name("ctask_kube_api_requests_total")
                         .Help("Requests to the Kubernetes API by verb and HTTP status code (\"error\" when no "
                               "response arrived).")
                         .Register(*registry_)),
      watch_restarts_(prometheus::BuildCounter()
                          .Name("ctask_watch_restarts_total")
                          .Help("Watches of a resource started again after their stream ended or broke.")
                          .Register(*registry_)),
      leader_(prometheus::BuildGauge()
                  .Name("ctask_leader")
                  .Help("1 while this operator replica holds the leader lease, else 0.")
                  .Register(*registry_)
                  .Add({})),
      log_follows_(prometheus::BuildGauge()
                       .Name("ctask_log_follows")
                       .Help("Pod logs being followed now, all on one thread (the log loop).")
                       .Register(*registry_)
                       .Add({})),
      log_connections_(prometheus::BuildGauge()
                           .Name("ctask_log_connections")
                           .Help("Connections to the API server the log loop holds (HTTP/2: many follows on each).")
                           .Register(*registry_)
                           .Add({})),
      admission_wait_(prometheus::BuildHistogram()
                          .Name("ctask_queue_wait_seconds")
                          .Help("Time a task waited in its queue for a slot, by queue (namespace/name).")
                          .Register(*registry_)),
      boot_(prometheus::BuildHistogram()
                .Name("ctask_queue_boot_seconds")
                .Help("Time from a task's admission to its workload running, by queue (namespace/name).")
                .Register(*registry_)),
      queue_tasks_(prometheus::BuildGauge()
                       .Name("ctask_queue_tasks")
                       .Help("Tasks waiting for a slot (state=waiting) and holding one (state=running), by queue.")
                       .Register(*registry_)),
      heap_(prometheus::BuildGauge()
                .Name("ctask_heap_bytes")
                .Help("The heap as the allocator counts it: allocated (state=in_use), and freed but kept for "
                      "reuse (state=free; given back to the system every 10 s when over 8 MiB).")
                .Register(*registry_)) {
  for (const char* phase : kAllPhases) {
    tasks_.Add({{"phase", phase}});
    phases_seen_.insert(phase);
  }
  for (ReconcileResult result : {ReconcileResult::kSuccess, ReconcileResult::kError, ReconcileResult::kRequeue}) {
    reconcile_total_.Add({{"result", std::string(ReconcileResultLabel(result))}});
  }
  for (const char* phase : kFinalPhases) task_duration_.Add({{"phase", phase}}, TaskDurationBuckets());
}

void OperatorMetrics::SetTaskCounts(const std::map<std::string, int64_t, std::less<>>& by_phase) {
  std::lock_guard lock(phases_mu_);
  for (const auto& [phase, count] : by_phase) phases_seen_.insert(phase);
  for (const std::string& phase : phases_seen_) {
    auto it = by_phase.find(phase);
    tasks_.Add({{"phase", phase}}).Set(it == by_phase.end() ? 0.0 : static_cast<double>(it->second));
  }
}

void OperatorMetrics::ObserveReconcile(ReconcileResult result, std::chrono::nanoseconds duration) {
  reconcile_total_.Add({{"result", std::string(ReconcileResultLabel(result))}}).Increment();
  reconcile_duration_.Observe(Seconds(duration));
}

void OperatorMetrics::CountQueueAdd() {
  queue_adds_.Increment();
}

void OperatorMetrics::CountQueueRetry() {
  queue_retries_.Increment();
}

void OperatorMetrics::SetQueueDepth(int depth) {
  queue_depth_.Set(depth);
}

void OperatorMetrics::ObserveQueueWait(std::chrono::nanoseconds waited) {
  queue_wait_.Observe(Seconds(waited));
}

void OperatorMetrics::ObserveTaskStartLatency(std::chrono::nanoseconds latency) {
  start_latency_.Observe(Seconds(latency));
}

void OperatorMetrics::ObserveTaskDuration(std::string_view phase, std::chrono::nanoseconds duration) {
  task_duration_.Add({{"phase", std::string(phase)}}, TaskDurationBuckets()).Observe(Seconds(duration));
}

void OperatorMetrics::CountKubeRequest(std::string_view verb, int http_status) {
  const std::string code = http_status > 0 ? std::to_string(http_status) : "error";
  kube_requests_.Add({{"verb", std::string(verb)}, {"code", code}}).Increment();
}

std::function<void(std::string_view, int)> OperatorMetrics::KubeRequestHook() {
  return [this](std::string_view verb, int http_status) { CountKubeRequest(verb, http_status); };
}

void OperatorMetrics::CountWatchRestart(std::string_view resource) {
  watch_restarts_.Add({{"resource", std::string(resource)}}).Increment();
}

void OperatorMetrics::SetLeader(bool leader) {
  leader_.Set(leader ? 1 : 0);
}

void OperatorMetrics::SetLogFollows(size_t follows, size_t connections) {
  log_follows_.Set(static_cast<double>(follows));
  log_connections_.Set(static_cast<double>(connections));
}

std::string OperatorMetrics::Render() const {
  const HeapStats heap = ReadHeapStats();
  heap_.Add({{"state", "in_use"}}).Set(static_cast<double>(heap.in_use));
  heap_.Add({{"state", "free"}}).Set(static_cast<double>(heap.free));
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void OperatorMetrics::ObserveAdmissionWait(std::string_view queue, std::chrono::nanoseconds waited) {
  admission_wait_.Add({{"queue", std::string(queue)}}, AdmissionWaitBuckets()).Observe(Seconds(waited));
}

void OperatorMetrics::ObserveBootTime(std::string_view queue, std::chrono::nanoseconds boot) {
  boot_.Add({{"queue", std::string(queue)}}, BootBuckets()).Observe(Seconds(boot));
}

void OperatorMetrics::SetQueueTasks(const std::map<std::string, std::pair<int64_t, int64_t>>& waiting_running) {
  std::lock_guard lock(queues_mu_);
  for (const auto& [queue, counts] : waiting_running) queues_seen_.insert(queue);
  for (const std::string& queue : queues_seen_) {
    auto it = waiting_running.find(queue);
    const auto [waiting, running] = it == waiting_running.end() ? std::pair<int64_t, int64_t>{0, 0} : it->second;
    queue_tasks_.Add({{"queue", queue}, {"state", "waiting"}}).Set(static_cast<double>(waiting));
    queue_tasks_.Add({{"queue", queue}, {"state", "running"}}).Set(static_cast<double>(running));
  }
}

}  // namespace ctask::metrics
