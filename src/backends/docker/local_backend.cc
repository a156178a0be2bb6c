#include "backends/docker/local_backend.h"

#include <filesystem>

#include "api/codec.h"
#include "api/names.h"
#include "reconcile/settle.h"
#include "store/change_feed.h"
#include "util/uuid.h"

namespace ctask::backends {

Result<std::unique_ptr<LocalBackend>> LocalBackend::Open(const LocalBackendOptions& options) {
  std::unique_ptr<LocalBackend> b(new LocalBackend());
  std::string root = options.state_dir;
  if (root.empty()) {
    Result<std::string> fallback = store::DefaultStateDir();
    if (!fallback) return std::unexpected(fallback.error());
    root = *fallback;
  }
  Result<store::StoreLock> lock = store::LockStateDir(root);
  if (!lock) return std::unexpected(lock.error());
  b->lock_.emplace(std::move(*lock));
  Result<std::unique_ptr<store::FileStore>> opened = store::FileStore::Open(root);
  if (!opened) return std::unexpected(opened.error());
  b->store_ = std::move(*opened);
  if (Status cleaned = b->store_->RemoveStaleTempFiles(); !cleaned) return std::unexpected(cleaned.error());

  Result<std::string> socket = docker::DockerSocketPath();
  if (!socket) return std::unexpected(socket.error());
  http::CurlOptions curl;
  curl.unix_socket_path = *socket;
  b->http_ = std::make_unique<http::CurlClient>(curl);
  b->docker_ = std::make_unique<docker::DockerClient>(*b->http_, *socket);
  if (Status ping = b->docker_->Ping(); !ping) return std::unexpected(ping.error());

  b->stop_grace_ = options.reconciler.stop_grace;
  b->clock_ = options.clock;
  b->runtime_ = std::make_unique<DockerRuntime>(
      *b->docker_,
      DockerRuntimeOptions{options.policy, options.on_pull_progress, options.clock, options.configs,
                           // The daemon needs an absolute bind source.
                           std::filesystem::absolute(b->store_->root()).string() + "/termination",
                           [store = b->store_.get()](const api::ContainerTask& task, const std::string& file) {
                             return std::filesystem::absolute(
                                        store->InputPath(task.metadata.namespace_, task.metadata.name, file))
                                 .string();
                           }});
  b->manager_ = std::make_unique<reconcile::Manager>(*b->store_, *b->runtime_, *b->runtime_,
                                                     reconcile::ManagerOptions{
                                                         .workers = options.workers,
                                                         .reconciler = options.reconciler,
                                                         .clock = options.clock,
                                                         .display = options.display,
                                                         .on_status = options.on_status,
                                                         .on_result = options.on_result,
                                                         .limits = options.limits,
                                                     });
  auto feed = std::make_shared<store::ChangeFeed>(b->store_->root());
  b->manager_->AddPollSource(kChangePollInterval, [feed] {
    Result<std::vector<std::string>> keys = feed->Poll();
    return keys ? std::move(*keys) : std::vector<std::string>{};  // unreadable now: the next poll tries again
  });
  return b;
}

LocalBackend::~LocalBackend() {
  Stop();
}

Status UpdateRecord(store::Store& store, const std::string& ns, const std::string& name,
                    const std::function<void(api::ContainerTask&)>& change) {
  for (int tries = 0;; ++tries) {
    Result<api::ContainerTask> task = store.Get(ns, name);
    if (!task) return std::unexpected(task.error());
    change(*task);
    Status put = store.Put(*task);
    if (put || put.error().code() != ErrorCode::kConflict || tries >= 100) return put;
  }
}

Result<bool> RemoveMarked(LocalBackend& backend, const std::string& ns, const std::string& name) {
  reconcile::SettleOptions settle;
  settle.clock = &backend.clock();
  settle.deadline = backend.clock().Steady() + backend.stop_grace() + kRemoveSlack;
  return reconcile::ReconcileUntilSettled(backend.reconciler(), ns, name, settle);
}

Status RequestChange(store::FileStore& store, const std::string& ns, const std::string& name,
                     const std::function<bool(api::ContainerTask&)>& change) {
  bool changed = false;
  Status updated = UpdateRecord(store, ns, name, [&](api::ContainerTask& task) {
    const api::ContainerTaskSpec before = task.spec;
    changed = change(task);
    if (changed && api::EncodeSpec(before) != api::EncodeSpec(task.spec)) ++task.metadata.generation;
  });
  if (!updated) return updated;
  if (!changed) return {};
  return store::AnnounceChange(store.root(), ns, name);
}

Status SubmitFresh(LocalBackend& backend, api::ContainerTask task) {
  task.metadata.namespace_ = api::NamespaceOrDefault(task.metadata.namespace_);
  const std::string& ns = task.metadata.namespace_;
  const std::string& name = task.metadata.name;
  Result<api::ContainerTask> previous = backend.store().Get(ns, name);
  if (previous) {
    // Replace: its containers go first (the reconciler's delete path).
    const Timestamp now = WallTimestamp(backend.clock());
    Status marked =
        UpdateRecord(backend.store(), ns, name, [now](api::ContainerTask& t) { t.metadata.deletion_timestamp = now; });
    if (!marked) return marked;
    Result<bool> removed = RemoveMarked(backend, ns, name);
    if (!removed) return std::unexpected(removed.error());
    if (!*removed) {
      return MakeError(ErrorCode::kUnavailable, "the earlier task " + ns + "/" + name +
                                                    " is still stopping; run again once `ctask get " + name +
                                                    "` no longer lists it");
    }
  } else if (previous.error().code() != ErrorCode::kNotFound &&
             previous.error().code() != ErrorCode::kInternal) {  // unreadable: replaced below
    return std::unexpected(previous.error());
  }
  Result<api::ContainerTask> created = CreateRecord(backend.store(), backend.clock(), std::move(task));
  if (!created) return std::unexpected(created.error());
  return {};
}

Result<api::ContainerTask> CreateRecord(store::Store& store, const Clock& clock, api::ContainerTask task) {
  Result<std::string> uid = NewUuid();
  if (!uid) return std::unexpected(uid.error());
  task.metadata.namespace_ = api::NamespaceOrDefault(task.metadata.namespace_);
  task.metadata.uid = *uid;
  task.metadata.generation = 1;
  task.metadata.creation_timestamp = WallTimestamp(clock);
  task.metadata.resource_version.clear();
  task.metadata.deletion_timestamp.reset();
  task.status = {};
  if (Status put = store.Put(task); !put) return std::unexpected(put.error());
  return task;
}

}  // namespace ctask::backends
