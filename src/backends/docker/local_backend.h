// The local (Docker) backend, assembled around the operator core
// (reconcile/manager.h): the state directory's store and lock, the Docker
// Engine client and runtime, and the source that feeds the manager the keys
// other ctask processes announce (store/change_feed.h). `ctask run`, `ctask
// operator --backend docker` and `ctask delete` (when no other process owns
// the directory) each open one; only the opener holds the state directory's
// lock, so two processes never drive the same tasks. Any process may ask for
// a change with RequestChange; the owner acts on it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "backends/docker/docker_runtime.h"
#include "docker/client.h"
#include "http/curl_client.h"
#include "reconcile/manager.h"
#include "store/file_store.h"
#include "util/clock.h"

namespace ctask::backends {

struct LocalBackendOptions {
  std::string state_dir;  // empty: store::DefaultStateDir()
  render::DockerPolicy policy;
  reconcile::ReconcilerOptions reconciler;
  int workers = 4;
  reconcile::LogDisplay display;        // live output, for `ctask run`
  reconcile::StatusListener on_status;  // every status write
  reconcile::ResultListener on_result;  // every reconcile's outcome
  std::function<void(const std::string& image, const api::Json& progress)> on_pull_progress;
  // The Secrets and ConfigMaps tasks' env reads (the caller keeps them
  // current); unset: none.
  std::shared_ptr<const ConfigSet> configs;
  // Every time the backend reads or waits for; must outlive the backend.
  const Clock* clock = &RealClock();
  // How many tasks may run at once (reconcile/admitter.h); unset: no limit.
  admission::Limits limits;
};

class LocalBackend {
 public:
  // Locks the state directory, reaches the daemon (one clear message when it
  // is not running) and wires everything; workers start with Start().
  static Result<std::unique_ptr<LocalBackend>> Open(const LocalBackendOptions& options);
  ~LocalBackend();

  void Start() { manager_->Start(); }
  // Stops the workers, the change source and log followers; containers keep
  // running.
  void Stop() {
    if (manager_) manager_->Stop();
  }

  store::FileStore& store() { return *store_; }
  DockerRuntime& runtime() { return *runtime_; }
  reconcile::WorkQueue& queue() { return manager_->queue(); }
  reconcile::TaskReconciler& reconciler() { return manager_->reconciler(); }
  reconcile::Admitter& admitter() { return manager_->admitter(); }
  const std::string& state_dir() const { return store_->root(); }
  std::chrono::seconds stop_grace() const { return stop_grace_; }
  const Clock& clock() const { return *clock_; }

 private:
  LocalBackend() = default;

  std::chrono::seconds stop_grace_{10};
  const Clock* clock_ = &RealClock();
  std::optional<store::StoreLock> lock_;
  std::unique_ptr<store::FileStore> store_;
  std::unique_ptr<http::CurlClient> http_;
  std::unique_ptr<docker::DockerClient> docker_;
  std::unique_ptr<DockerRuntime> runtime_;
  std::unique_ptr<reconcile::Manager> manager_;
};

// Beyond the stop grace, how long removing a task may take: the end of its
// log, the archive, the container's removal.
inline constexpr std::chrono::seconds kRemoveSlack{30};

// Reconciles a task marked for deletion on this thread until it is gone
// (true), or stop grace + kRemoveSlack has passed (false). The backend must
// not be started: its workers would take the same key.
Result<bool> RemoveMarked(LocalBackend& backend, const std::string& ns, const std::string& name);

// Puts `task` as a new record: a fresh UID, generation 1, created now, no
// status. A record of the same name is deleted first, with its containers.
Status SubmitFresh(LocalBackend& backend, api::ContainerTask task);

// Puts `task` as a new record (fresh UID, generation 1, created now, no
// status) over whatever record of that name is there: the caller knows there
// is none, or that it may go without its containers. Returns the record as
// written.
Result<api::ContainerTask> CreateRecord(store::Store& store, const Clock& clock, api::ContainerTask task);

// Read-modify-write of a record, retried on conflicts with the reconciler.
Status UpdateRecord(store::Store& store, const std::string& ns, const std::string& name,
                    const std::function<void(api::ContainerTask&)>& change);

// An intent from any ctask process: UpdateRecord, then announce the key to
// the directory's owner (store/change_feed.h), which acts on it.
// `change` returns whether it changed anything; a spec change bumps
// metadata.generation, as the API server does.
Status RequestChange(store::FileStore& store, const std::string& ns, const std::string& name,
                     const std::function<bool(api::ContainerTask&)>& change);

// How often the owner reads the change journal.
inline constexpr std::chrono::milliseconds kChangePollInterval{200};

}  // namespace ctask::backends
