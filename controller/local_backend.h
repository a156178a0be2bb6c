// The local (Docker) backend, assembled: the state directory's store and
// lock, the Docker Engine client, the runtime, the log archiver, the
// reconciler and its workers. `ctask run`, `ctask operator --backend docker`
// and `ctask delete` each open one; only the opener holds the state
// directory's lock, so two processes never drive the same tasks.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "docker/client.h"
#include "docker/docker_runtime.h"
#include "http/curl_client.h"
#include "reconcile/controller.h"
#include "reconcile/log_archiver.h"
#include "reconcile/task_reconciler.h"
#include "reconcile/work_queue.h"
#include "store/file_store.h"

namespace ctask::cli {

struct LocalBackendOptions {
  std::string state_dir;  // empty: store::DefaultStateDir()
  render::DockerPolicy policy;
  reconcile::ReconcilerOptions reconciler;
  int workers = 4;
  reconcile::LogDisplay display;              // live output, for `ctask run`
  reconcile::StatusListener on_status;        // every status write
  reconcile::ResultListener on_result;        // every reconcile's outcome
  std::function<void(const std::string& image, const api::Json& progress)> on_pull_progress;
};

class LocalBackend {
 public:
  // Locks the state directory, reaches the daemon (one clear message when it
  // is not running) and wires everything; workers start with Start().
  static Result<std::unique_ptr<LocalBackend>> Open(LocalBackendOptions options);
  ~LocalBackend();

  void Start() { controller_->Start(); }
  // Stops the workers and log followers; containers keep running.
  void Stop();

  store::FileStore& store() { return *store_; }
  docker::DockerRuntime& runtime() { return *runtime_; }
  reconcile::WorkQueue& queue() { return queue_; }
  reconcile::TaskReconciler& reconciler() { return *reconciler_; }
  const std::string& state_dir() const { return store_->root(); }

 private:
  LocalBackend() = default;

  std::optional<store::StoreLock> lock_;
  std::unique_ptr<store::FileStore> store_;
  std::unique_ptr<http::CurlClient> http_;
  std::unique_ptr<docker::DockerClient> docker_;
  std::unique_ptr<docker::DockerRuntime> runtime_;
  reconcile::WorkQueue queue_;
  std::unique_ptr<reconcile::LogArchiver> archiver_;
  std::unique_ptr<reconcile::TaskReconciler> reconciler_;
  std::unique_ptr<reconcile::Controller> controller_;
};

// The wall clock as status timestamps use it (whole seconds, UTC).
Timestamp WallClock();

// Puts `task` as a new record: a fresh UID, generation 1, created now, no
// status. A record of the same name is deleted first, with its containers.
Status SubmitFresh(LocalBackend& backend, api::ContainerTask task);

// Read-modify-write of a record, retried on conflicts with the reconciler.
Status UpdateRecord(store::Store& store, const std::string& ns, const std::string& name,
                    const std::function<void(api::ContainerTask&)>& change);

}  // namespace ctask::cli
