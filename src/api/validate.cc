#include "api/validate.h"

#include <regex>
#include <string>

#include "api/names.h"
#include "api/schema.h"

namespace ctask::api {
namespace {

// The twins of the schema's CEL rules. The messages are the schema's own.
constexpr const char* kEnvValueOrValueFrom = "set value or valueFrom, not both";
constexpr const char* kEnvOneRef = "set exactly one of secretKeyRef or configMapKeyRef";
constexpr const char* kEnvFromOneRef = "set exactly one of secretRef or configMapRef";
constexpr const char* kWorkspaceOneSource =
    "set exactly one of emptyDir, persistentVolumeClaim, hostPath or dockerVolume";
constexpr const char* kNonRootButRoot = "runAsNonRoot is true but runAsUser is 0: remove one of them";
constexpr const char* kExistsNoValue = "operator Exists takes no value: remove value";
constexpr const char* kReservedLabels = "labels under ctask.io/ are reserved for the operator";
constexpr const char* kWorkloadTtl = "workloadTTLSecondsAfterFinished must not exceed ttlSecondsAfterFinished";
constexpr const char* kCancelOneWay = "cancel cannot be undone: create a new task instead";

void AddAll(FieldErrors& errors, const std::string& path, const std::vector<std::string>& problems,
            const std::string& value) {
  for (const std::string& p : problems) errors.push_back({path, "invalid value " + QuoteValue(value) + ": " + p});
}

// Docker/OCI image reference (github.com/distribution/reference grammar):
// [host[:port]/]path[:tag][@digest], path components lower case.
bool IsImageReference(const std::string& image) {
  static const std::regex kReference(
      R"(^((([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:]+\])(:[0-9]+)?/)?)"
      R"([a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*)"
      R"((:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$)");
  return std::regex_match(image, kReference);
}

bool HasDotDot(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0 && end - start == 2) return true;
    start = end + 1;
  }
  return false;
}

void CheckPath(FieldErrors& errors, const std::string& path, const std::string& value) {
  if (!value.empty() && HasDotDot(value)) errors.push_back({path, "must not contain '..'"});
}

void CheckLabels(FieldErrors& errors, const std::string& path, const std::map<std::string, std::string>& labels,
                 bool values_are_labels) {
  for (const auto& [key, value] : labels) {
    std::string key_path = KeyPath(path, key);
    AddAll(errors, key_path, IsQualifiedName(key), key);
    if (values_are_labels) AddAll(errors, key_path, IsValidLabelValue(value), value);
  }
}

const char* WithinLimitMessage(const std::string& resource) {
  if (resource == kResourceCpu) return kRequestCpuWithinLimit;
  if (resource == kResourceMemory) return kRequestMemoryWithinLimit;
  return kRequestEphemeralStorageWithinLimit;
}

void CheckRequestsWithinLimits(FieldErrors& errors, const ResourceRequirements& resources) {
  for (const auto& [name, request] : resources.requests) {
    auto limit = resources.limits.find(name);
    if (limit == resources.limits.end()) continue;
    if (request.Compare(limit->second) > 0) {
      errors.push_back({"spec.resources.requests." + name,
                        std::string(WithinLimitMessage(name)) + ": " + QuoteValue(request.original) +
                            " is more than the limit " + QuoteValue(limit->second.original) +
                            ": lower the request or raise the limit"});
    }
  }
}

// Negative amounts: the schema's pattern and minimum refuse them on the way
// in; this keeps a record written before those rules from running.
void CheckNonNegative(FieldErrors& errors, const std::string& path, const ResourceList& list) {
  for (const auto& [name, quantity] : list) {
    if (quantity.IsNegative()) {
      errors.push_back(
          {path + "." + name, "invalid value " + QuoteValue(quantity.original) + ": must not be negative"});
    }
  }
}

// The fan-out fields (docs/fan-out.md): the CEL rules' twins, and the
// bound on the items' total size no schema keyword can state.
void CheckFanOut(FieldErrors& errors, const ContainerTaskSpec& spec) {
  const bool fan_out = spec.completions.has_value() || !spec.items.empty();
  if (spec.completions && !spec.items.empty()) errors.push_back({"spec.items", kCompletionsOrItems});
  if (!fan_out && (spec.parallelism || spec.success_policy || spec.fail_fast)) {
    errors.push_back({"spec", kFanOutFieldsAlone});
  }
  const int64_t count = spec.completions ? *spec.completions : static_cast<int64_t>(spec.items.size());
  if (spec.success_policy && spec.success_policy->min_succeeded &&
      *spec.success_policy->min_succeeded > std::max<int64_t>(count, 1)) {
    errors.push_back({"spec.successPolicy.minSucceeded", kMinSucceededWithinItems});
  }
  size_t total = 0;
  for (const std::string& item : spec.items) total += item.size();
  if (total > kMaxItemsTotalBytes) {
    errors.push_back({"spec.items", "the items add up to " + std::to_string(total) + " bytes, more than " +
                                        std::to_string(kMaxItemsTotalBytes) +
                                        ": pass large inputs by reference (a URL, an object key, a path) instead"});
  }
}

}  // namespace

const char* const kCelRuleMessages[] = {kEnvValueOrValueFrom,
                                        kEnvOneRef,
                                        kEnvFromOneRef,
                                        kWorkspaceOneSource,
                                        kNonRootButRoot,
                                        kExistsNoValue,
                                        kReservedLabels,
                                        kWorkloadTtl,
                                        kCancelOneWay,
                                        kRequestCpuWithinLimit,
                                        kRequestMemoryWithinLimit,
                                        kRequestEphemeralStorageWithinLimit,
                                        kCompletionsOrItems,
                                        kFanOutFieldsAlone,
                                        kMinSucceededWithinItems};
const size_t kCelRuleCount = std::size(kCelRuleMessages);

FieldErrors ValidateObjectMeta(const ObjectMeta& meta) {
  FieldErrors errors;
  if (meta.name.empty()) {
    errors.push_back({"metadata.name", "required: give the task a name (lower case letters, digits and '-')"});
  } else {
    AddAll(errors, "metadata.name", IsDNS1123Label(meta.name), meta.name);
  }
  if (!meta.namespace_.empty()) AddAll(errors, "metadata.namespace", IsDNS1123Label(meta.namespace_), meta.namespace_);
  CheckLabels(errors, "metadata.labels", meta.labels, true);
  CheckLabels(errors, "metadata.annotations", meta.annotations, false);
  return errors;
}

FieldErrors ValidateSpec(const ContainerTaskSpec& spec) {
  FieldErrors errors;
  if (!spec.image.empty() && spec.image.size() <= 1024 && spec.image.find_first_of(" \t\r\n") == std::string::npos &&
      !IsImageReference(spec.image)) {
    errors.push_back({"spec.image", "invalid image reference " + QuoteValue(spec.image) +
                                        ": use [registry/]name[:tag][@sha256:digest] with a lower-case name "
                                        "(e.g. 'busybox:1.36')"});
  }
  CheckPath(errors, "spec.workingDir", spec.working_dir);

  for (size_t i = 0; i < spec.env.size(); ++i) {
    const EnvVar& var = spec.env[i];
    std::string path = IndexPath("spec.env", i);
    if (var.value && var.value_from) errors.push_back({path, kEnvValueOrValueFrom});
    if (var.value_from &&
        var.value_from->secret_key_ref.has_value() == var.value_from->config_map_key_ref.has_value()) {
      errors.push_back({path + ".valueFrom", kEnvOneRef});
    }
  }
  for (size_t i = 0; i < spec.env_from.size(); ++i) {
    const EnvFromSource& from = spec.env_from[i];
    if (from.secret_ref.has_value() == from.config_map_ref.has_value()) {
      errors.push_back({IndexPath("spec.envFrom", i), kEnvFromOneRef});
    }
  }

  CheckNonNegative(errors, "spec.resources.requests", spec.resources.requests);
  CheckNonNegative(errors, "spec.resources.limits", spec.resources.limits);
  CheckRequestsWithinLimits(errors, spec.resources);

  if (spec.ttl_seconds_after_finished && spec.workload_ttl_seconds_after_finished &&
      *spec.workload_ttl_seconds_after_finished > *spec.ttl_seconds_after_finished) {
    errors.push_back({"spec.workloadTTLSecondsAfterFinished", kWorkloadTtl});
  }

  CheckFanOut(errors, spec);

  if (spec.workspace) {
    const Workspace& ws = *spec.workspace;
    int sources = ws.empty_dir.has_value() + ws.persistent_volume_claim.has_value() + ws.host_path.has_value() +
                  ws.docker_volume.has_value();
    if (sources != 1) errors.push_back({"spec.workspace", kWorkspaceOneSource});
    CheckPath(errors, "spec.workspace.mountPath", ws.mount_path);
    if (ws.mount_path == "/") errors.push_back({"spec.workspace.mountPath", "must not be '/': mount below it"});
    if (ws.host_path) CheckPath(errors, "spec.workspace.hostPath.path", ws.host_path->path);
    if (ws.empty_dir && ws.empty_dir->size_limit && ws.empty_dir->size_limit->IsNegative()) {
      errors.push_back({"spec.workspace.emptyDir.sizeLimit",
                        "invalid value " + QuoteValue(ws.empty_dir->size_limit->original) + ": must not be negative"});
    }
  }

  const SecurityContext& sc = spec.security_context;
  if (sc.run_as_non_root.value_or(false) && sc.run_as_user == 0) {
    errors.push_back({"spec.securityContext", kNonRootButRoot});
  }

  CheckLabels(errors, "spec.nodeSelector", spec.node_selector, true);
  for (size_t i = 0; i < spec.tolerations.size(); ++i) {
    const Toleration& t = spec.tolerations[i];
    if (t.operator_ == "Exists" && !t.value.empty())
      errors.push_back({IndexPath("spec.tolerations", i), kExistsNoValue});
    if (!t.key.empty()) AddAll(errors, IndexPath("spec.tolerations", i) + ".key", IsQualifiedName(t.key), t.key);
  }
  bool reserved = false;
  for (const auto& [key, value] : spec.pod_labels) reserved = reserved || key.starts_with("ctask.io/");
  if (reserved) errors.push_back({"spec.podLabels", kReservedLabels});
  CheckLabels(errors, "spec.podLabels", spec.pod_labels, true);
  CheckLabels(errors, "spec.podAnnotations", spec.pod_annotations, false);
  return errors;
}

FieldErrors ValidateUpdate(const ContainerTaskSpec& old_spec, const ContainerTaskSpec& new_spec) {
  FieldErrors errors;
  if (old_spec.cancel && !new_spec.cancel) errors.push_back({"spec.cancel", kCancelOneWay});
  return errors;
}

}  // namespace ctask::api
