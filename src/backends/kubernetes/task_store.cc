#include "backends/kubernetes/task_store.h"

#include <algorithm>

#include "api/codec.h"
#include "api/names.h"
#include "backends/kubernetes/job_runtime.h"
#include "backends/kubernetes/slim.h"
#include "render/job.h"
#include "render/labels.h"
#include "util/base64.h"
#include "util/sha256.h"
#include "util/utf8.h"

namespace ctask::backends {

using kube::Informer;

using kube::DeleteOptions;
using kube::KubeClient;
using kube::ObjectList;
using kube::ResourceVersionOf;

namespace resources = kube::resources;
namespace {

using api::Json;

std::string Ns(std::string_view ns) {
  return api::NamespaceOrDefault(ns);
}

bool HasFinalizer(const api::ObjectMeta& meta) {
  return std::find(meta.finalizers.begin(), meta.finalizers.end(), kFinalizer) != meta.finalizers.end();
}

// Creates or replaces ConfigMap `name`, controlled by the task, holding
// `bytes` under `key` (in data when UTF-8, in binaryData otherwise). A
// ConfigMap of that name that the task does not control is never
// overwritten: kFailedPrecondition naming it.
Status PutOwnedConfigMap(KubeClient& client, const std::string& ns, const std::string& name,
                         const std::string& task_name, const std::string& task_uid,
                         const std::map<std::string, std::string>& entries) {
  Json cm = Json::object();
  cm["apiVersion"] = "v1";
  cm["kind"] = "ConfigMap";
  Json meta = Json::object();
  meta["name"] = name;
  meta["namespace"] = ns;
  meta["labels"] = {{render::kLabelManagedBy, render::kManagedByValue}, {render::kLabelTask, task_name}};
  if (!task_uid.empty()) {
    meta["labels"][render::kLabelTaskUid] = task_uid;
    meta["ownerReferences"] = Json::array({{{"apiVersion", api::kApiVersion},
                                            {"kind", api::kKind},
                                            {"name", task_name},
                                            {"uid", task_uid},
                                            {"controller", true},
                                            {"blockOwnerDeletion", true}}});
  }
  cm["metadata"] = std::move(meta);
  for (const auto& [key, bytes] : entries) {
    if (IsValidUtf8(bytes)) {
      cm["data"][key] = bytes;
    } else {
      cm["binaryData"][key] = EncodeBase64(bytes);
    }
  }

  Result<Json> written = client.Create(resources::ConfigMaps(), ns, cm);
  if (!written && written.error().code() == ErrorCode::kAlreadyExists) {
    // A previous attempt's (or a previous run's): ours is replaced; anyone
    // else's is left alone.
    Result<Json> existing = client.Get(resources::ConfigMaps(), ns, name);
    if (!existing) return std::unexpected(existing.error());
    if (!ControlledBy(*existing, task_uid)) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "ConfigMap " + ns + "/" + name + " exists and is not controlled by task " + task_name +
                           "; ctask cannot keep its data there: delete or rename that ConfigMap");
    }
    cm["metadata"]["resourceVersion"] = (*existing)["metadata"].value("resourceVersion", "");
    written = client.Update(resources::ConfigMaps(), ns, cm);
  }
  if (!written) return std::unexpected(written.error());
  return {};
}

// Buffers the log in memory; Close writes the ConfigMap.
class ConfigMapLogWriter : public store::LogWriter {
 public:
  ConfigMapLogWriter(KubeClient& client, std::string ns, std::string task_name, std::string task_uid,
                     std::string cm_name, int64_t limit)
      : client_(client),
        ns_(std::move(ns)),
        task_name_(std::move(task_name)),
        task_uid_(std::move(task_uid)),
        cm_name_(std::move(cm_name)),
        limit_(std::clamp<int64_t>(limit, 0, kMaxConfigMapLogBytes)) {}

  Status Append(std::string_view bytes) override {
    if (closed_) return MakeError(ErrorCode::kFailedPrecondition, "log writer is closed");
    const auto room = static_cast<size_t>(limit_) - std::min(buffer_.size(), static_cast<size_t>(limit_));
    const size_t kept = std::min(room, bytes.size());
    buffer_.append(bytes.substr(0, kept));
    dropped_ += static_cast<int64_t>(bytes.size() - kept);
    return {};
  }

  Result<store::LogSummary> Close() override {
    if (closed_) return MakeError(ErrorCode::kFailedPrecondition, "log writer is closed");
    closed_ = true;
    if (dropped_ > 0) buffer_ += store::TruncationMarker(dropped_);
    if (Status put = PutOwnedConfigMap(client_, ns_, cm_name_, task_name_, task_uid_, {{"log", buffer_}}); !put) {
      return std::unexpected(put.error());
    }
    store::LogSummary summary;
    summary.kind = "ConfigMap";
    summary.location = cm_name_;
    summary.size_bytes = static_cast<int64_t>(buffer_.size());
    summary.sha256 = Sha256Hex(buffer_);
    summary.truncated = dropped_ > 0;
    summary.dropped_bytes = dropped_;
    return summary;
  }

 private:
  KubeClient& client_;
  const std::string ns_;
  const std::string task_name_;
  const std::string task_uid_;
  const std::string cm_name_;
  const int64_t limit_;
  std::string buffer_;
  int64_t dropped_ = 0;
  bool closed_ = false;
};

// Key `key` of ConfigMap `cm_name`, from byte `offset` on.
Result<std::string> ReadConfigMapKey(KubeClient& client, std::string_view ns, const std::string& cm_name,
                                     const char* key, uint64_t offset) {
  Result<Json> cm = client.Get(resources::ConfigMaps(), Ns(ns), cm_name);
  if (!cm) return std::unexpected(cm.error());
  std::string bytes;
  if (cm->contains("data") && (*cm)["data"].contains(key)) {
    bytes = (*cm)["data"][key].get<std::string>();
  } else if (cm->contains("binaryData") && (*cm)["binaryData"].contains(key)) {
    std::optional<std::string> decoded = DecodeBase64((*cm)["binaryData"][key].get<std::string>());
    if (!decoded) {
      return MakeError(ErrorCode::kInternal, "ConfigMap " + cm_name + ": binaryData." + key + " is not base64");
    }
    bytes = std::move(*decoded);
  } else {
    return MakeError(ErrorCode::kNotFound, "ConfigMap " + cm_name + " holds no " + key);
  }
  if (offset >= bytes.size()) return std::string();
  return bytes.substr(offset);
}

constexpr const char* kResultsKey = "results.json";

store::ListEntry EntryFor(const Json& object) {
  store::ListEntry entry;
  entry.task = api::DecodeContainerTask(object).task;
  entry.namespace_ = entry.task->metadata.namespace_;
  entry.name = entry.task->metadata.name;
  entry.location = "containertasks.ctask.io " + entry.namespace_ + "/" + entry.name;
  return entry;
}

}  // namespace

std::string LogConfigMapName(std::string_view task_name) {
  return std::string(task_name) + "-log";
}

std::string ItemLogConfigMapName(std::string_view task_name, int32_t item) {
  return LogConfigMapName(task_name) + "-i" + std::to_string(item);
}

std::string ResultsConfigMapName(std::string_view task_name) {
  return std::string(task_name) + "-results";
}

KubeTaskStore::KubeTaskStore(KubeClient& client, const Informer& tasks) : client_(client), tasks_(tasks) {}

std::optional<Json> KubeTaskStore::Current(const std::string& key) {
  return written_.Resolve(key, tasks_.Get(key));
}

void KubeTaskStore::Observed(const kube::Delta& delta) {
  const std::string key = kube::ObjectKey(delta.object);
  if (delta.type == kube::Delta::Type::kDeleted) {
    written_.Forget(key);
  } else {
    written_.Seen(key, kube::ResourceVersionOf(delta.object));
  }
}

Result<api::ContainerTask> KubeTaskStore::Get(std::string_view ns, std::string_view name) {
  const std::string key = Ns(ns) + "/" + std::string(name);
  std::optional<Json> object = Current(key);
  if (!object) return MakeError(ErrorCode::kNotFound, "task " + key + " not found");
  return api::DecodeContainerTask(*object).task;
}

Result<std::vector<store::ListEntry>> KubeTaskStore::List() {
  std::vector<store::ListEntry> entries;
  for (const Json& object : tasks_.List()) {
    entries.push_back(EntryFor(object));
  }
  return entries;
}

Status KubeTaskStore::ForEach(const std::function<void(store::ListEntry)>& visit) {
  for (const std::string& key : tasks_.Keys()) {
    // Gone since the keys were read: nothing to visit.
    if (std::optional<Json> object = tasks_.Get(key)) visit(EntryFor(*object));
  }
  return {};
}

Status KubeTaskStore::Put(const api::ContainerTask& task) {
  const std::string ns = Ns(task.metadata.namespace_);
  const std::string key = ns + "/" + task.metadata.name;
  std::optional<Json> current = Current(key);
  if (!current) return MakeError(ErrorCode::kNotFound, "task " + key + " not found");
  const api::ContainerTask before = api::DecodeContainerTask(*current).task;
  std::string version = task.metadata.resource_version;
  Json latest;
  std::vector<std::string> replaced = written_.ReplacedBy(key, *current);

  // Metadata: ctask's annotations and the finalizer.
  Json annotations = Json::object();
  for (const auto& [k, v] : task.metadata.annotations) {
    if (k.starts_with("ctask.io/")) {
      auto it = before.metadata.annotations.find(k);
      if (it == before.metadata.annotations.end() || it->second != v) annotations[k] = v;
    }
  }
  const bool add_finalizer = !HasFinalizer(before.metadata) && !before.metadata.deletion_timestamp &&
                             task.status.phase == api::phase::kRunning;
  if (!annotations.empty() || add_finalizer) {
    Json meta = {{"resourceVersion", version}};
    if (!annotations.empty()) meta["annotations"] = annotations;
    if (add_finalizer) {
      std::vector<std::string> finalizers = before.metadata.finalizers;
      finalizers.push_back(kFinalizer);
      meta["finalizers"] = finalizers;
    }
    Result<Json> patched =
        client_.MergePatch(resources::ContainerTasks(), ns, task.metadata.name, {{"metadata", meta}});
    if (!patched) return std::unexpected(patched.error());
    version = ResourceVersionOf(*patched);
    replaced.push_back(version);  // stale once the status write below is done
    latest = std::move(*patched);
  }

  // Status.
  const Json status = api::EncodeStatus(task.status);
  if (status != api::EncodeStatus(before.status)) {
    Json body = Json::object();
    body["apiVersion"] = api::kApiVersion;
    body["kind"] = api::kKind;
    body["metadata"] = {{"name", task.metadata.name}, {"namespace", ns}, {"resourceVersion", version}};
    body["status"] = status;
    Result<Json> updated = client_.UpdateStatus(resources::ContainerTasks(), ns, body);
    if (!updated) return std::unexpected(updated.error());
    latest = std::move(*updated);
  }
  if (latest.is_null()) return {};
  SlimTask(latest);
  written_.Record(key, std::move(replaced), std::move(latest));
  return {};
}

Status KubeTaskStore::Delete(std::string_view ns_in, std::string_view name_in) {
  const std::string ns = Ns(ns_in);
  const std::string name(name_in);
  Result<Json> got = client_.Get(resources::ContainerTasks(), ns, name);
  if (!got) return got.error().code() == ErrorCode::kNotFound ? Status() : Status(std::unexpected(got.error()));
  const api::ObjectMeta meta = api::DecodeObjectMeta((*got)["metadata"]);
  if (HasFinalizer(meta)) {
    std::vector<std::string> finalizers;
    for (const std::string& f : meta.finalizers) {
      if (f != kFinalizer) finalizers.push_back(f);
    }
    const Json patch = {{"metadata", {{"resourceVersion", meta.resource_version}, {"finalizers", finalizers}}}};
    Result<Json> patched = client_.MergePatch(resources::ContainerTasks(), ns, name, patch);
    if (!patched) {
      return patched.error().code() == ErrorCode::kNotFound ? Status() : Status(std::unexpected(patched.error()));
    }
  }
  if (!meta.deletion_timestamp) {
    DeleteOptions options;
    options.precondition_uid = meta.uid;
    options.propagation_policy = "Background";
    Status deleted = client_.Delete(resources::ContainerTasks(), ns, name, options);
    if (!deleted && deleted.error().code() != ErrorCode::kNotFound) return deleted;
  }
  written_.Forget(ns + "/" + name);
  return {};
}

Result<store::LogWriterPtr> KubeTaskStore::OpenLog(std::string_view ns, std::string_view name, int64_t limit_bytes) {
  std::optional<Json> task = Current(Ns(ns) + "/" + std::string(name));
  const std::string uid = task ? (*task)["metadata"].value("uid", "") : std::string();
  return std::make_unique<ConfigMapLogWriter>(client_, Ns(ns), std::string(name), uid, LogConfigMapName(name),
                                              limit_bytes);
}

Result<store::LogWriterPtr> KubeTaskStore::OpenItemLog(std::string_view ns, std::string_view name, int32_t item,
                                                       int64_t limit_bytes) {
  std::optional<Json> task = Current(Ns(ns) + "/" + std::string(name));
  const std::string uid = task ? (*task)["metadata"].value("uid", "") : std::string();
  return std::make_unique<ConfigMapLogWriter>(client_, Ns(ns), std::string(name), uid, ItemLogConfigMapName(name, item),
                                              limit_bytes);
}

Result<store::LogSummary> KubeTaskStore::PutResults(const api::ContainerTask& task, std::string_view document) {
  const std::string name = ResultsConfigMapName(task.metadata.name);
  const std::string bytes(document);
  if (Status put = PutOwnedConfigMap(client_, Ns(task.metadata.namespace_), name, task.metadata.name, task.metadata.uid,
                                     {{kResultsKey, bytes}});
      !put) {
    return std::unexpected(put.error());
  }
  store::LogSummary summary;
  summary.kind = "ConfigMap";
  summary.location = name;
  summary.size_bytes = static_cast<int64_t>(bytes.size());
  summary.sha256 = Sha256Hex(bytes);
  return summary;
}

Status KubeTaskStore::PutInputs(const api::ContainerTask& task, const std::map<std::string, std::string>& files) {
  return PutOwnedConfigMap(client_, Ns(task.metadata.namespace_), render::InputsConfigMapName(task.metadata.name),
                           task.metadata.name, task.metadata.uid, files);
}

Result<std::string> KubeTaskStore::ReadLog(std::string_view ns, std::string_view name, uint64_t offset) {
  return ReadLogConfigMap(client_, ns, name, offset);
}

Result<std::string> KubeTaskStore::ReadItemLog(std::string_view ns, std::string_view name, int32_t item,
                                               uint64_t offset) {
  return ReadConfigMapKey(client_, ns, ItemLogConfigMapName(name, item), "log", offset);
}

Result<std::string> KubeTaskStore::ReadResults(std::string_view ns, std::string_view name) {
  return ReadConfigMapKey(client_, ns, ResultsConfigMapName(name), kResultsKey, 0);
}

Result<std::string> ReadLogConfigMap(KubeClient& client, std::string_view ns, std::string_view name, uint64_t offset) {
  return ReadConfigMapKey(client, ns, LogConfigMapName(name), "log", offset);
}

Result<api::ContainerTask> ApiTaskReader::Get(std::string_view ns, std::string_view name) {
  Result<Json> got = client_.Get(resources::ContainerTasks(), Ns(ns), name);
  if (!got) return std::unexpected(got.error());
  return api::DecodeContainerTask(*got).task;
}

Result<std::vector<store::ListEntry>> ApiTaskReader::List() {
  Result<ObjectList> listed = client_.ListAll(resources::ContainerTasks(), ns_);
  if (!listed) return std::unexpected(listed.error());
  std::vector<store::ListEntry> entries;
  for (const Json& object : listed->items) {
    entries.push_back(EntryFor(object));
  }
  return entries;
}

Result<std::string> ApiTaskReader::ReadLog(std::string_view ns, std::string_view name, uint64_t offset) {
  return ReadLogConfigMap(client_, ns, name, offset);
}

Result<std::string> ApiTaskReader::ReadItemLog(std::string_view ns, std::string_view name, int32_t item,
                                               uint64_t offset) {
  return ReadConfigMapKey(client_, ns, ItemLogConfigMapName(name, item), "log", offset);
}

Result<std::string> ApiTaskReader::ReadResults(std::string_view ns, std::string_view name) {
  return ReadConfigMapKey(client_, ns, ResultsConfigMapName(name), kResultsKey, 0);
}

}  // namespace ctask::backends
