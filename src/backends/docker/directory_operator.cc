#include "backends/docker/directory_operator.h"

#include <sys/stat.h>

#include "backends/docker/dir_watch.h"
#include "reconcile/controller.h"

namespace ctask::backends {

DirectoryOperator::DirectoryOperator(DirectoryOperatorOptions options)
    : log_(std::move(options.log)), scan_interval_(options.scan_interval), tasks_dir_(std::move(options.tasks_dir)) {}

DirectoryOperator::~DirectoryOperator() {
  if (backend_) backend_->Stop();
}

Status CheckTasksDir(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return InvalidArgument("--tasks-dir " + path + ": not a directory: create it or name another");
  }
  return {};
}

Result<std::unique_ptr<DirectoryOperator>> DirectoryOperator::Open(DirectoryOperatorOptions options) {
  if (Status dir = CheckTasksDir(options.tasks_dir); !dir) return std::unexpected(dir.error());
  LocalBackendOptions backend_options = std::move(options.backend);
  std::unique_ptr<DirectoryOperator> op(new DirectoryOperator(std::move(options)));
  op->base_limits_ = backend_options.limits;
  backend_options.configs = op->configs_;
  reconcile::ResultListener then = std::move(backend_options.on_result);
  DirectoryOperator* self = op.get();
  backend_options.on_result = [self, then](const std::string& key, const Result<reconcile::ReconcileResult>& result) {
    if (then) then(key, result);
    self->RecordExpiry(key, result);
  };
  Result<std::unique_ptr<LocalBackend>> backend = LocalBackend::Open(backend_options);
  if (!backend) return std::unexpected(backend.error());
  op->backend_ = std::move(*backend);
  op->tombstones_ = std::make_unique<Tombstones>(op->backend_->state_dir());
  op->sync_ = std::make_unique<RecordSync>(
      op->backend_->store(), *op->tombstones_, op->backend_->clock(),
      [self](const std::string& key) { self->backend_->queue().Add(key); },
      [self](const std::string& line) { self->Log(line); },
      [self](const api::ContainerTask& record) { self->backend_->admitter().Track(record); });
  return op;
}

void DirectoryOperator::Run(std::stop_token stop, const std::function<void()>& on_stopping) {
  // Before the first scan: a change made while a scan runs wakes the next
  // wait at once.
  DirectoryWatch watch(tasks_dir_.path());
  if (!watch.watching()) {
    Log("tasks directory " + tasks_dir_.path() + ": cannot watch it for changes (" + watch.error() +
        "); it is read every scan interval (" + std::to_string(scan_interval_.count()) + " ms)");
  }
  // Adopt: every record is reconciled once, running containers found by label.
  if (Result<std::vector<store::ListEntry>> records = backend_->store().List(); records) {
    for (const store::ListEntry& entry : *records) backend_->queue().Add(entry.namespace_ + "/" + entry.name);
  }
  // The directory's TaskQueues set their queues' limits before any task is
  // admitted under the flags' defaults alone.
  ScanResult first = tasks_dir_.Scan();
  for (const std::string& problem : first.problems) Log(problem);
  ApplyLimits();
  backend_->Start();
  auto last_sync = backend_->clock().Steady() - kResync;
  while (!stop.stop_requested()) {
    ScanAndSync(last_sync);
    watch.Wait(scan_interval_, stop);  // a change, the interval, or stop
  }
  if (on_stopping) on_stopping();
  backend_->Stop();
}

void DirectoryOperator::ScanAndSync(std::chrono::steady_clock::time_point& last_sync) {
  ScanResult scan = tasks_dir_.Scan();
  for (const std::string& problem : scan.problems) Log(problem);
  if (scan.changed) ApplyLimits();
  if (!scan.changed && backend_->clock().Steady() - last_sync < kResync) return;
  last_sync = backend_->clock().Steady();
  configs_->Replace(tasks_dir_.desired().configs);
  {
    std::lock_guard lock(digests_mu_);
    desired_digests_.clear();
    for (const auto& [key, want] : tasks_dir_.desired().tasks) {
      desired_digests_[key] = Tombstones::Digest(want.task.spec);
    }
  }
  sync_->Sync(tasks_dir_);
}

void DirectoryOperator::ApplyLimits() {
  admission::Limits limits = reconcile::WithTaskQueues(base_limits_, tasks_dir_.desired().queues);
  if (limits.queues == applied_queue_limits_) return;
  for (const auto& [queue, limit] : limits.queues) {
    auto before = applied_queue_limits_.find(queue);
    if (before == applied_queue_limits_.end() || before->second != limit) {
      Log("queue " + queue + ": maxRunning " + std::to_string(limit));
    }
  }
  for (const auto& [queue, limit] : applied_queue_limits_) {
    if (!limits.queues.contains(queue)) Log("queue " + queue + ": back to the default limit");
  }
  applied_queue_limits_ = limits.queues;
  backend_->admitter().SetLimits(std::move(limits));
}

void DirectoryOperator::RecordExpiry(const std::string& key, const Result<reconcile::ReconcileResult>& result) {
  if (!result || !result->settled) return;
  std::lock_guard lock(digests_mu_);
  auto digest = desired_digests_.find(key);
  if (digest == desired_digests_.end() || !backend_) return;
  const auto [ns, name] = reconcile::SplitKey(key);
  Result<api::ContainerTask> record = backend_->store().Get(ns, name);
  if (record || record.error().code() != ErrorCode::kNotFound) return;
  if (Status put = tombstones_->Put(ns, name, digest->second); !put) {
    Log("task " + key + ": cannot record its expiry: " + put.error().message());
  }
}

}  // namespace ctask::backends
