#include "kube_backend.h"

#include "kube/slim.h"
#include "local_backend.h"
#include "render/labels.h"
#include "util/sleep.h"

namespace ctask::cli {
namespace {

// The Jobs and Pods ctask made: every one carries this label.
std::string OwnedSelector() {
  return std::string(render::kLabelManagedBy) + "=" + render::kManagedByValue;
}

}  // namespace

KubeBackend::KubeBackend(kube::KubeClient& client, KubeBackendOptions options)
    : client_(client), options_(std::move(options)) {
  auto reflector = [&](kube::Resource resource, std::string selector, std::function<void(api::Json&)> slim) {
    kube::ReflectorOptions o;
    o.resource = std::move(resource);
    o.ns = options_.watch_namespace;
    o.label_selector = std::move(selector);
    o.transform = std::move(slim);
    o.log = options_.log;
    return o;
  };
  tasks_ = std::make_unique<kube::Informer>(client_, reflector(kube::resources::ContainerTasks(), "", kube::SlimTask));
  jobs_ = std::make_unique<kube::Informer>(client_, reflector(kube::resources::Jobs(), OwnedSelector(), kube::SlimJob),
                                           kube::AttemptIndex);
  pods_ = std::make_unique<kube::Informer>(client_, reflector(kube::resources::Pods(), OwnedSelector(), kube::SlimPod),
                                           kube::AttemptIndex);
  tasks_->AddHandler([this](const kube::Delta& d) { Enqueue(d, false); });
  jobs_->AddHandler([this](const kube::Delta& d) { Enqueue(d, true); });
  pods_->AddHandler([this](const kube::Delta& d) { Enqueue(d, true); });

  events_ = std::make_unique<kube::EventRecorder>(client_, "ctask-operator", options_.identity, options_.log);
  runtime_ = std::make_unique<kube::JobRuntime>(client_, *jobs_, *pods_, *events_, WallClock);
  store_ = std::make_unique<kube::KubeTaskStore>(client_, *tasks_);
  archiver_ =
      std::make_unique<reconcile::LogArchiver>(*store_, *runtime_, [this](const std::string& key) { queue_.Add(key); });
  reconcile::EventSink on_event = [this](const api::ContainerTask& task, const status::TaskEvent& event) {
    events_->Record(kube::TaskReference(task), event.type, event.reason, event.message);
  };
  reconciler_ = std::make_unique<reconcile::TaskReconciler>(*store_, *runtime_, *archiver_, WallClock,
                                                            options_.reconciler, options_.on_status, on_event);
  controller_ = std::make_unique<reconcile::Controller>(*reconciler_, queue_, options_.workers, options_.on_result);
}

KubeBackend::~KubeBackend() {
  Stop();
}

void KubeBackend::Enqueue(const kube::Delta& delta, bool owned) {
  const api::Json& meta = delta.object.value("metadata", api::Json::object());
  const std::string ns = meta.value("namespace", "default");
  if (!owned) {
    queue_.Add(ns + "/" + meta.value("name", ""));
    return;
  }
  const api::Json& labels = meta.value("labels", api::Json::object());
  const std::string task = labels.value(render::kLabelTask, "");
  if (!task.empty()) queue_.Add(ns + "/" + task);
}

void KubeBackend::Start() {
  tasks_->Start();
  jobs_->Start();
  pods_->Start();
}

bool KubeBackend::HasSynced() const {
  return tasks_->HasSynced() && jobs_->HasSynced() && pods_->HasSynced();
}

bool KubeBackend::WaitForSync(std::stop_token stop) {
  while (!HasSynced()) {
    if (!SleepFor(std::chrono::milliseconds(50), stop)) return false;
  }
  return true;
}

void KubeBackend::Run() {
  if (running_.exchange(true)) return;
  controller_->Start();
}

void KubeBackend::Stop() {
  if (controller_) controller_->Stop();  // the queue shuts down; workers finish their key
  archiver_.reset();                     // followers stop; pods run on
  if (events_) events_->Stop();          // what happened is recorded
  if (tasks_) tasks_->Stop();
  if (jobs_) jobs_->Stop();
  if (pods_) pods_->Stop();
}

}  // namespace ctask::cli
