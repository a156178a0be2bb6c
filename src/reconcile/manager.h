// Manager: the operator core, controller-runtime's manager cut down to one
// controller. Given a store (the task records), a runtime (the workloads), a
// log source and a clock, it owns and wires what every backend runs the same
// way: the work queue, the log archiver, the TaskReconciler, the workers
// (Controller), and the sources that feed keys besides the backend's own
// watch (PollSource). A backend is then only the assembly of its store,
// runtime and watch around one Manager (backends/docker/local_backend.h,
// backends/kubernetes/kube_backend.h), as sample-controller's main.go is
// around its controller.go.
//
// Lifecycle: construct, AddPollSource as needed, Start (sources and
// workers; a Kubernetes replica does it once it leads), Stop (sources stop,
// the queue shuts down, workers finish the key they hold, log followers
// stop — workloads run on and are adopted by the next start). Stop is
// idempotent; the destructor calls it.
//
// Thread-safety: Start and Stop from one thread; queue() and reconciler()
// may be used from any thread (they are thread-safe themselves).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "reconcile/controller.h"
#include "reconcile/log_archiver.h"
#include "reconcile/poll_source.h"
#include "reconcile/task_reconciler.h"
#include "reconcile/work_queue.h"
#include "runtime/runtime.h"
#include "store/store.h"
#include "util/clock.h"

namespace ctask::reconcile {

struct ManagerOptions {
  int workers = 4;
  ReconcilerOptions reconciler;
  // Status timestamps (its wall time), the queue's delays and reconcile
  // durations (its steady time); must outlive the manager.
  const Clock* clock = &RealClock();
  LogDisplay display;            // live output, for `ctask run`
  StatusListener on_status;      // every status write
  EventSink on_event;            // every transition worth an event
  ResultListener on_result;      // every reconcile's outcome
  DurationListener on_duration;  // every reconcile's time (metrics)
  QueueObserver queue_observer;  // the queue's adds, retries, depth, waits (metrics)
  // How many tasks may run at once (admitter.h); unset: no limit.
  admission::Limits limits;
};

class Manager {
 public:
  // `store`, `runtime` and `logs` must outlive the manager.
  Manager(store::Store& store, runtime::Runtime& runtime, runtime::LogSource& logs, ManagerOptions options);
  ~Manager();  // Stop()
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // A source polled every `interval` on its own thread; started by Start.
  void AddPollSource(std::chrono::milliseconds interval, PollSource::Poll poll);

  // Rebuilds the admitter's book from every record (so no limit is passed
  // after a restart), then starts the sources and workers.
  void Start();
  void Stop();

  WorkQueue& queue() { return queue_; }
  TaskReconciler& reconciler() { return *reconciler_; }
  Admitter& admitter() { return admitter_; }

 private:
  store::Store& store_;
  WorkQueue queue_;
  Admitter admitter_;
  std::unique_ptr<LogArchiver> archiver_;
  std::unique_ptr<TaskReconciler> reconciler_;
  std::unique_ptr<Controller> controller_;
  std::vector<std::unique_ptr<PollSource>> sources_;
  bool started_ = false;
};

}  // namespace ctask::reconcile
