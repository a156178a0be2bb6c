// DirectoryOperator: the operator without a cluster (`ctask operator
// --backend docker --tasks-dir DIR`). The directory's manifests are the
// desired state; the state directory holds each task's record (spec +
// status) and log; the Docker daemon runs the attempts. It assembles the
// local backend (the same reconciler as `ctask run`) with the sync from
// files to records (record_sync.h), the Secrets and ConfigMaps of the
// directory (the runtime's ConfigSet), and the tombstones of tasks their TTL
// removed (tombstones.h).
//
// The directory's TaskQueues set their queues' limits (docs/queues.md),
// read before any task is admitted and again on every change.
//
// Run() first queues every record, so running containers are adopted by
// their labels: a restart (even after kill -9) never starts an attempt
// twice. It then reads the directory on every change inotify reports
// (dir_watch.h), and every scan interval in case none comes; it syncs the
// records when a file changed, and every kResync regardless (a task re-added
// while its old record was still being deleted is created once the deletion
// is done), until `stop`; then the workers stop and containers keep running.
//
// Thread-safety: Run on one thread; the workers call back from theirs.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "backends/docker/local_backend.h"
#include "backends/docker/record_sync.h"
#include "backends/docker/tasks_dir.h"
#include "backends/docker/tombstones.h"

namespace ctask::backends {

struct DirectoryOperatorOptions {
  std::string tasks_dir;
  // The local backend's options; `configs` is the operator's own (from the
  // directory) and `on_result` is called after the operator's own use.
  LocalBackendOptions backend;
  std::chrono::milliseconds scan_interval{1000};
  std::function<void(const std::string& line)> log;  // what the sync did, and the directory's problems
};

// Records are compared with the files at least this often.
inline constexpr std::chrono::seconds kResync{10};

// Whether `path` is a directory; the error names --tasks-dir and what to do.
Status CheckTasksDir(const std::string& path);

class DirectoryOperator {
 public:
  // Checks the tasks directory and opens the local backend (the state
  // directory's lock, the daemon).
  static Result<std::unique_ptr<DirectoryOperator>> Open(DirectoryOperatorOptions options);
  ~DirectoryOperator();

  // `on_stopping` is called once `stop` is seen, before the workers drain.
  void Run(std::stop_token stop, const std::function<void()>& on_stopping = {});
  const std::string& state_dir() const { return backend_->state_dir(); }

 private:
  explicit DirectoryOperator(DirectoryOperatorOptions options);

  // Scans the directory; on a change (or every kResync) replaces the configs
  // and syncs the records.
  void ScanAndSync(std::chrono::steady_clock::time_point& last_sync);
  // A task gone after a settled reconcile while its manifest stays: its
  // ttlSecondsAfterFinished removed it, and a tombstone keeps it from
  // running again.
  void RecordExpiry(const std::string& key, const Result<reconcile::ReconcileResult>& result);
  // The flags' limits with the directory's TaskQueues, given to the
  // admitter when they changed.
  void ApplyLimits();
  void Log(const std::string& line) const {
    if (log_) log_(line);
  }

  const std::function<void(const std::string&)> log_;
  const std::chrono::milliseconds scan_interval_;
  TasksDir tasks_dir_;
  std::shared_ptr<ConfigSet> configs_ = std::make_shared<ConfigSet>();
  std::unique_ptr<Tombstones> tombstones_;
  std::unique_ptr<LocalBackend> backend_;
  std::unique_ptr<RecordSync> sync_;
  admission::Limits base_limits_;                                 // the flags'
  std::map<std::string, int, std::less<>> applied_queue_limits_;  // the TaskQueues' last given

  std::mutex digests_mu_;
  std::map<std::string, std::string> desired_digests_;  // guarded by digests_mu_: key -> spec digest
};

}  // namespace ctask::backends
