#include "backends/kubernetes/kube_backend.h"

#include "api/names.h"
#include "api/task_queue.h"
#include "backends/kubernetes/delta_priority.h"
#include "backends/kubernetes/slim.h"
#include "render/labels.h"
#include "status/decide.h"
#include "util/sleep.h"

namespace ctask::backends {
namespace {

// The Jobs and Pods ctask made: every one carries this label.
std::string OwnedSelector() {
  return std::string(render::kLabelManagedBy) + "=" + render::kManagedByValue;
}

}  // namespace

KubeBackend::KubeBackend(kube::KubeClient& client, KubeBackendOptions options)
    : client_(client), options_(std::move(options)) {
  auto reflector = [&](kube::Resource resource, std::string selector, std::function<void(api::Json&)> slim,
                       std::vector<kube::FieldPath> skipped) {
    kube::ReflectorOptions o;
    o.resource = std::move(resource);
    o.ns = options_.watch_namespace;
    o.label_selector = std::move(selector);
    o.transform = std::move(slim);
    o.skipped_fields = std::move(skipped);
    o.log = options_.log;
    o.clock = options_.clock;
    return o;
  };
  tasks_ = std::make_unique<kube::Informer>(
      client_, reflector(kube::resources::ContainerTasks(), "", SlimTask, SkippedTaskFields()));
  queues_ = std::make_unique<kube::Informer>(
      client_, reflector(kube::resources::TaskQueues(), "", SlimTask, SkippedTaskFields()));
  jobs_ = std::make_unique<kube::Informer>(
      client_, reflector(kube::resources::Jobs(), OwnedSelector(), SlimJob, SkippedJobFields()), AttemptIndex);
  pods_ = std::make_unique<kube::Informer>(
      client_, reflector(kube::resources::Pods(), OwnedSelector(), SlimPod, SkippedPodFields()), AttemptIndex);
  tasks_->AddHandler([this](const kube::Delta& d) {
    if (store_) store_->Observed(d);
    Enqueue(d, false);
  });
  if (options_.metrics != nullptr) tasks_->AddHandler([this](const kube::Delta& d) { TrackTask(d); });
  jobs_->AddHandler([this](const kube::Delta& d) { Enqueue(d, true); });
  pods_->AddHandler([this](const kube::Delta& d) { Enqueue(d, true); });

  events_ = std::make_unique<kube::EventRecorder>(client_, "ctask-operator", options_.identity, options_.log,
                                                  *options_.clock);
  log_loop_ = client_.NewStreamLoop();
  if (log_loop_) log_streams_ = std::make_unique<kube::LogStreams>(client_, *log_loop_);
  runtime_ = std::make_unique<KubeRuntime>(client_, *jobs_, *pods_, *events_, log_streams_.get(), *options_.clock);
  store_ = std::make_unique<KubeTaskStore>(client_, *tasks_);
  reconcile::ManagerOptions manager;
  manager.workers = options_.workers;
  manager.reconciler = options_.reconciler;
  manager.reconciler.kueue = true;  // a task labelled for Kueue is Kueue's to admit
  manager.clock = options_.clock;
  manager.on_status = [this](const api::ContainerTask& task) {
    TrackBoot(task);
    if (options_.on_status) options_.on_status(task);
  };
  manager.on_result = options_.on_result;
  manager.limits = options_.limits;
  manager.on_event = [this](const api::ContainerTask& task, const status::TaskEvent& event) {
    events_->Record(TaskReference(task), event.type, event.reason, event.message);
  };
  if (metrics::OperatorMetrics* m = options_.metrics) {
    manager.queue_observer = {.added = [m] { m->CountQueueAdd(); },
                              .retried = [m] { m->CountQueueRetry(); },
                              .depth = [m](int depth) { m->SetQueueDepth(depth); },
                              .waited = [m](std::chrono::nanoseconds waited) { m->ObserveQueueWait(waited); }};
    manager.on_duration = [m](const Result<reconcile::ReconcileResult>& result, std::chrono::nanoseconds took) {
      const metrics::ReconcileResult kind = !result                 ? metrics::ReconcileResult::kError
                                            : result->requeue_after ? metrics::ReconcileResult::kRequeue
                                                                    : metrics::ReconcileResult::kSuccess;
      m->ObserveReconcile(kind, took);
    };
  }
  manager_ = std::make_unique<reconcile::Manager>(*store_, *runtime_, *runtime_, std::move(manager));
  queues_->AddHandler([this](const kube::Delta&) { ApplyQueueLimits(); });
  if (metrics::OperatorMetrics* m = options_.metrics) {
    manager_->admitter().SetAdmittedListener(
        [this, m](const api::ContainerTask& task, const std::string& queue, std::chrono::nanoseconds waited) {
          m->ObserveAdmissionWait(queue, waited);
          std::lock_guard lock(track_mu_);
          admitted_[reconcile::TaskKey(task)] = {queue, options_.clock->Steady()};
        });
  }
}

void KubeBackend::TrackBoot(const api::ContainerTask& task) {
  if (options_.metrics == nullptr || task.status.phase == api::phase::kPending) return;
  std::pair<std::string, std::chrono::steady_clock::time_point> admitted;
  {
    std::lock_guard lock(track_mu_);
    auto it = admitted_.find(reconcile::TaskKey(task));
    if (it == admitted_.end()) return;
    admitted = it->second;
    admitted_.erase(it);
  }
  // Any other phase ends the wait for a start; only Running is a boot.
  if (task.status.phase == api::phase::kRunning) {
    options_.metrics->ObserveBootTime(admitted.first, options_.clock->Steady() - admitted.second);
  }
}

void KubeBackend::PublishLogFollows() {
  if (options_.metrics != nullptr && log_streams_) {
    options_.metrics->SetLogFollows(log_streams_->following(), log_streams_->connections());
  }
}

void KubeBackend::PublishQueues() {
  if (options_.metrics == nullptr) return;
  std::map<std::string, std::pair<int64_t, int64_t>> counts;
  for (const auto& [queue, c] : manager_->admitter().Counts()) counts[queue] = {c.waiting, c.running};
  options_.metrics->SetQueueTasks(counts);
}

void KubeBackend::ApplyQueueLimits() {
  std::vector<api::TaskQueue> queues;
  for (const api::Json& object : queues_->List()) {
    api::DecodedTaskQueue decoded = api::LoadTaskQueue(object);
    if (decoded.errors.empty()) {
      queues.push_back(std::move(decoded.queue));
    } else if (options_.log) {
      options_.log("TaskQueue " + kube::ObjectKey(object) + " ignored: " + decoded.errors.front().ToString());
    }
  }
  manager_->admitter().SetLimits(reconcile::WithTaskQueues(options_.limits, queues));
}

void KubeBackend::TrackTask(const kube::Delta& delta) {
  const std::string key = kube::ObjectKey(delta.object);
  const api::Json& status = delta.object.value("status", api::Json::object());
  const std::string phase = delta.type == kube::Delta::Type::kDeleted ? "" : status.value("phase", "");
  std::string before;
  std::map<std::string, int64_t, std::less<>> counts;
  {
    std::lock_guard lock(track_mu_);
    before = phases_.Set(key, phase);
    if (before != phase) counts = phases_.counts();
  }
  metrics::OperatorMetrics& m = *options_.metrics;
  if (before != phase) m.SetTaskCounts(counts);
  if (phase == before || phase.empty()) return;
  // Seen by this replica's cache: a task that went from created to
  // finished between two events is still counted once for each.
  const auto created = ParseRfc3339(delta.object["metadata"].value("creationTimestamp", ""));
  if (phase == api::phase::kRunning && before != api::phase::kRunning && created) {
    m.ObserveTaskStartLatency(options_.clock->Now() - *created);
  }
  const bool terminal = status::IsTerminal(phase);
  const auto started = ParseRfc3339(status.value("startTime", ""));
  const auto completed = ParseRfc3339(status.value("completionTime", ""));
  if (terminal && started) {
    m.ObserveTaskDuration(phase, completed ? *completed - *started : options_.clock->Now() - *started);
  }
}

void KubeBackend::PublishWatchRestarts() {
  if (options_.metrics == nullptr) return;
  const std::pair<const char*, const kube::Informer*> informers[] = {
      {"containertasks", tasks_.get()}, {"jobs", jobs_.get()}, {"pods", pods_.get()}};
  std::lock_guard lock(track_mu_);
  for (const auto& [resource, informer] : informers) {
    // Every watch after the first is a restart: the stream ended or broke.
    const int64_t restarts = std::max<int64_t>(informer->Stats().watches - 1, 0);
    int64_t& seen = watches_seen_[resource];
    for (; seen < restarts; ++seen) options_.metrics->CountWatchRestart(resource);
  }
}

KubeBackend::~KubeBackend() {
  Stop();
}

void KubeBackend::Enqueue(const kube::Delta& delta, bool owned) {
  const api::Json& meta = delta.object.value("metadata", api::Json::object());
  const std::string ns = meta.value("namespace", api::kDefaultNamespace);
  const reconcile::Priority priority = DeltaPriority(delta.type, owned, !tasks_->HasSynced());
  if (!owned) {
    manager_->queue().Add(ns + "/" + meta.value("name", ""), priority);
    return;
  }
  const api::Json& labels = meta.value("labels", api::Json::object());
  const std::string task = labels.value(render::kLabelTask, "");
  if (!task.empty()) manager_->queue().Add(ns + "/" + task, priority);
}

void KubeBackend::Start() {
  tasks_->Start();
  queues_->Start();
  jobs_->Start();
  pods_->Start();
}

bool KubeBackend::HasSynced() const {
  return tasks_->HasSynced() && queues_->HasSynced() && jobs_->HasSynced() && pods_->HasSynced();
}

bool KubeBackend::WaitForSync(std::stop_token stop) {
  while (!HasSynced()) {
    if (!SleepFor(std::chrono::milliseconds(50), stop)) return false;
  }
  return true;
}

void KubeBackend::Run() {
  if (running_.exchange(true)) return;
  manager_->Start();
}

void KubeBackend::Stop() {
  if (manager_) manager_->Stop();  // the queue shuts down; workers finish their key; followers stop, pods run on
  if (events_) events_->Stop();    // what happened is recorded
  if (tasks_) tasks_->Stop();
  if (queues_) queues_->Stop();
  if (jobs_) jobs_->Stop();
  if (pods_) pods_->Stop();
}

}  // namespace ctask::backends
