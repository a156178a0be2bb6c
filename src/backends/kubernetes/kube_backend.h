// The Kubernetes backend, assembled around the operator core
// (reconcile/manager.h): the API client, the informers for ContainerTasks
// and the Jobs and Pods ctask owns (the manager's source of keys), the event
// recorder, the Job runtime and the task store over the API. `ctask
// operator` opens one.
//
// TaskQueues are watched too: their spec.maxRunning becomes their queue's
// limit in the admitter as soon as the informer sees it.
//
// The flow: informer Deltas -> task keys on the queue (a Job's or Pod's
// Delta is its task's key, from the ctask labels) -> workers run
// TaskReconciler::Reconcile(key) -> KubeRuntime creates/observes Jobs (pods for fan-out items),
// KubeTaskStore writes status, EventRecorder records transitions.
//
// Start() starts the informers; WaitForSync() blocks until each has listed
// once (a controller must not act on what an unsynced cache lacks); Run()
// starts the workers — on the leader only, when leader election is on.
// Stop() drains: the queue stops handing out keys, workers finish the key
// they hold, followers stop (pods keep running and are followed again by the
// next leader), queued events are written.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "backends/kubernetes/kube_runtime.h"
#include "backends/kubernetes/task_store.h"
#include "http/stream_loop.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/log_streams.h"
#include "metrics/operator_metrics.h"
#include "metrics/task_phases.h"
#include "reconcile/manager.h"
#include "util/clock.h"

namespace ctask::backends {

struct KubeBackendOptions {
  std::string watch_namespace;  // "" = every namespace
  int workers = 4;
  std::string identity;  // this replica, for events (reportingInstance)
  reconcile::ReconcilerOptions reconciler;
  reconcile::StatusListener on_status;
  reconcile::ResultListener on_result;
  std::function<void(const std::string&)> log;  // informer and recorder troubles
  // Where the operator's metrics go (queue, reconciles, tasks by phase,
  // start latency, durations, watch restarts); nullptr: none.
  metrics::OperatorMetrics* metrics = nullptr;
  // Every time the backend reads or waits for; must outlive the backend.
  const Clock* clock = &RealClock();
  // The flags' limits; each TaskQueue's spec.maxRunning overrides its
  // queue's (reconcile/admitter.h).
  admission::Limits limits;
};

class KubeBackend {
 public:
  // `client` must outlive the backend.
  KubeBackend(kube::KubeClient& client, KubeBackendOptions options);
  ~KubeBackend();

  void Start();  // informers
  // True once every informer has listed; false when `stop` came first.
  bool WaitForSync(std::stop_token stop);
  bool HasSynced() const;
  void Run();   // workers
  void Stop();  // drain (see above)

  reconcile::WorkQueue& queue() { return manager_->queue(); }
  // Counts watch restarts since the last call into the metrics (the
  // operator calls it periodically).
  void PublishWatchRestarts();
  // Sets the tasks waiting and running per queue into the metrics.
  void PublishQueues();
  // Sets the pod logs followed now into the metrics.
  void PublishLogFollows();
  const kube::Informer& tasks() const { return *tasks_; }
  kube::EventRecorder& events() { return *events_; }

 private:
  void Enqueue(const kube::Delta& delta, bool owned);
  // The flags' limits with every cached TaskQueue's, to the admitter.
  void ApplyQueueLimits();
  // Boot time (metrics): an admitted task's first status past Pending.
  void TrackBoot(const api::ContainerTask& task);
  // Tasks by phase (incremental), start latency and duration, from the task
  // informer.
  void TrackTask(const kube::Delta& delta);

  kube::KubeClient& client_;
  const KubeBackendOptions options_;
  std::unique_ptr<kube::Informer> tasks_;
  std::unique_ptr<kube::Informer> queues_;
  std::unique_ptr<kube::Informer> jobs_;
  std::unique_ptr<kube::Informer> pods_;
  std::unique_ptr<kube::EventRecorder> events_;
  // Every running attempt's log followed on one thread (kube/log_streams.h);
  // before the runtime and the manager, so it outlives their follows.
  std::unique_ptr<http::StreamLoop> log_loop_;
  std::unique_ptr<kube::LogStreams> log_streams_;
  std::unique_ptr<KubeRuntime> runtime_;
  std::unique_ptr<KubeTaskStore> store_;
  std::unique_ptr<reconcile::Manager> manager_;
  std::atomic<bool> running_{false};

  std::mutex track_mu_;
  metrics::TaskPhases phases_;                   // guarded by track_mu_
  std::map<std::string, int64_t> watches_seen_;  // guarded by track_mu_: resource -> watches counted
  // Admitted tasks not yet seen running: queue id and when (boot time).
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>>
      admitted_;  // guarded by track_mu_
};

}  // namespace ctask::backends
