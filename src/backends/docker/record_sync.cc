#include "backends/docker/record_sync.h"

#include "api/codec.h"
#include "api/validate.h"
#include "backends/docker/local_backend.h"
#include "reconcile/controller.h"
#include "util/clock.h"

namespace ctask::backends {

void RecordSync::Sync(const TasksDir& tasks_dir) {
  std::set<std::string> keys;
  for (const auto& [key, want] : tasks_dir.desired().tasks) keys.insert(key);
  tombstones_.RemoveAllBut(keys);
  for (const auto& [key, want] : tasks_dir.desired().tasks) SyncDesired(key, want);
  DeleteRemoved(tasks_dir);
}

void RecordSync::SyncDesired(const std::string& key, const DesiredTask& want) {
  const auto [ns, name] = reconcile::SplitKey(key);
  Result<api::ContainerTask> record = store_.Get(ns, name);
  if (!record) {
    if (tombstones_.Matches(ns, name, Tombstones::Digest(want.task.spec))) {
      LogOnce("task " + key + ": removed by its ttlSecondsAfterFinished or by ctask delete; " + want.file +
              " still holds it: change or re-add the manifest to run it again");
      return;
    }
    Create(key, want);
    return;
  }
  if (record->metadata.deletion_timestamp) return;  // the workers are removing it
  if (!record->metadata.annotations.contains(kAnnotationSourceFile)) {
    // Another's record of the same name (a `ctask run`): it goes first,
    // through the workers; the manifest's task is created next sync.
    if (MarkDeleted(key, "replacing a record of that name not from " + want.file)) enqueue_(key);
    return;
  }
  if (api::EncodeSpec(record->spec) == api::EncodeSpec(want.task.spec)) return;
  Update(key, *record, want);
}

void RecordSync::Create(const std::string& key, const DesiredTask& want) {
  const auto [ns, name] = reconcile::SplitKey(key);
  tombstones_.Remove(ns, name);
  api::ContainerTask task = want.task;
  task.metadata.annotations[kAnnotationSourceFile] = want.file;
  Result<api::ContainerTask> created = CreateRecord(store_, clock_, std::move(task));
  if (!created) {
    log_("task " + key + ": cannot create its record: " + created.error().message());
    return;
  }
  log_("task " + key + ": created from " + want.file);
  if (created_) created_(*created);
  enqueue_(key);
}

void RecordSync::Update(const std::string& key, const api::ContainerTask& record, const DesiredTask& want) {
  const FieldErrors refused = api::ValidateUpdate(record.spec, want.task.spec);
  if (!refused.empty()) {
    LogOnce(want.file + ": ContainerTask/" + record.metadata.name + ": " + refused.front().ToString() +
            ": the change is refused; the task keeps its spec");
    return;
  }
  const auto [ns, name] = reconcile::SplitKey(key);
  Status updated = UpdateRecord(store_, ns, name, [&](api::ContainerTask& t) {
    t.spec = want.task.spec;
    t.metadata.generation += 1;
    t.metadata.labels = want.task.metadata.labels;
    t.metadata.annotations[kAnnotationSourceFile] = want.file;
  });
  if (!updated) {
    log_("task " + key + ": cannot update its record: " + updated.error().message());
    return;
  }
  log_("task " + key + ": spec changed in " + want.file + " (generation " +
       std::to_string(record.metadata.generation + 1) + ")");
  enqueue_(key);
}

void RecordSync::DeleteRemoved(const TasksDir& tasks_dir) {
  Result<std::vector<store::ListEntry>> records = store_.List();
  if (!records) {
    log_("cannot list the state directory: " + records.error().message());
    return;
  }
  for (const store::ListEntry& entry : *records) {
    const std::string key = entry.namespace_ + "/" + entry.name;
    if (!entry.task || tasks_dir.desired().tasks.contains(key)) continue;
    const auto source = entry.task->metadata.annotations.find(kAnnotationSourceFile);
    if (source == entry.task->metadata.annotations.end()) continue;  // not from the directory
    if (entry.task->metadata.deletion_timestamp) continue;
    if (tasks_dir.Unreadable(source->second)) continue;  // its file is there, broken: unknown, not gone
    if (MarkDeleted(key, "its manifest is gone: deleting it")) enqueue_(key);
  }
}

bool RecordSync::MarkDeleted(const std::string& key, const std::string& why) {
  const auto [ns, name] = reconcile::SplitKey(key);
  Status marked = UpdateRecord(
      store_, ns, name, [this](api::ContainerTask& t) { t.metadata.deletion_timestamp = WallTimestamp(clock_); });
  if (!marked) {
    log_("task " + key + ": cannot mark it for deletion: " + marked.error().message());
    return false;
  }
  log_("task " + key + ": " + why);
  return true;
}

void RecordSync::LogOnce(const std::string& line) {
  if (said_.insert(line).second) log_(line);
}

}  // namespace ctask::backends
