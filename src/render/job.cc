#include "render/job.h"

#include <algorithm>
#include <map>
#include <string>

#include "api/kueue.h"
#include "api/names.h"
#include "render/labels.h"
#include "render/utf8.h"

namespace ctask::render {
namespace {

// Key order: every object below is built with its keys in alphabetical order,
// which is how kubectl prints objects (they pass through Go maps on the way),
// so a rendered Job reads and diffs like `kubectl get job -o yaml`.

using api::Json;
using StringMap = std::map<std::string, std::string>;

constexpr const char* kWorkspaceVolume = "workspace";
constexpr const char* kNetworkPolicySuffix = "-isolation";  // a task name is <= 63, so this fits 253

// Same rule as DerivedJobName, so the attempt label always matches the name.
int EffectiveAttempt(int attempt) {
  return std::max(attempt, 1);
}

Json MapJson(const StringMap& map) {  // std::map iterates sorted
  Json out = Json::object();
  for (const auto& [key, value] : map) out[key] = value;
  return out;
}

Json StringsJson(const std::vector<std::string>& items) {
  Json out = Json::array();
  for (const std::string& item : items) out.push_back(item);
  return out;
}

// The task's UID, or "" when it has none that can label an object. The API
// server's UIDs always can (they are UUIDs); a task from a local file has
// none, or a hand-written one naming no object that exists.
std::string TaskUid(const api::ContainerTask& task) {
  return api::IsValidLabelValue(task.metadata.uid).empty() ? task.metadata.uid : std::string();
}

// The labels by which the operator finds the task's objects (labels.h). The
// UID label is left out when there is no UID, rather than set empty.
StringMap TaskLabels(const api::ContainerTask& task) {
  StringMap labels;
  labels[kLabelManagedBy] = kManagedByValue;
  labels[kLabelTask] = task.metadata.name;
  if (const std::string uid = TaskUid(task); !uid.empty()) labels[kLabelTaskUid] = uid;
  return labels;
}

StringMap AttemptLabels(const api::ContainerTask& task, int attempt) {
  StringMap labels = TaskLabels(task);
  labels[kLabelAttempt] = std::to_string(attempt);
  if (task.item) labels[kLabelItem] = std::to_string(task.item->index);
  return labels;
}

// A controller reference: garbage collection deletes the Job with the task,
// and foreground deletion of the task waits for it.
Json OwnerReferences(const api::ContainerTask& task) {
  Json ref = Json::object();
  ref["apiVersion"] = api::kApiVersion;
  ref["blockOwnerDeletion"] = true;
  ref["controller"] = true;
  ref["kind"] = api::kKind;
  ref["name"] = task.metadata.name;
  ref["uid"] = TaskUid(task);
  Json refs = Json::array();
  refs.push_back(std::move(ref));
  return refs;
}

// An ownerReference needs the owner's UID; a task read from a local file has
// none, and then there is no owner to name.
Json ObjectMetadata(const api::ContainerTask& task, const std::string& name, const StringMap& labels,
                    const StringMap& annotations) {
  Json meta = Json::object();
  if (!annotations.empty()) meta["annotations"] = MapJson(annotations);
  meta["labels"] = MapJson(labels);
  meta["name"] = name;
  if (!task.metadata.namespace_.empty()) meta["namespace"] = task.metadata.namespace_;
  if (!TaskUid(task).empty()) meta["ownerReferences"] = OwnerReferences(task);
  return meta;
}

Json ResourceListJson(const api::ResourceList& list) {
  Json out = Json::object();
  for (const auto& [name, quantity] : list) out[name] = quantity.Canonical();
  return out;
}

Json KeyRefJson(const std::string& name, const std::string& key, bool optional) {
  Json ref = Json::object();
  ref["key"] = key;
  ref["name"] = name;
  if (optional) ref["optional"] = true;
  return ref;
}

Json ObjectRefJson(const api::LocalObjectReference& ref) {
  Json out = Json::object();
  out["name"] = ref.name;
  if (ref.optional) out["optional"] = true;
  return out;
}

// References stay references: the kubelet resolves them in the task's
// namespace when the pod starts. An empty value is left out, as the API
// server would store it (omitempty); the variable is still set, to "".
Json EnvJson(const std::vector<api::EnvVar>& env) {
  Json out = Json::array();
  for (const api::EnvVar& var : env) {
    Json item = Json::object();
    item["name"] = var.name;
    const bool has_value = var.value.has_value() && !var.value->empty();
    if (has_value) item["value"] = *var.value;
    if (!has_value && var.value_from) {
      Json from = Json::object();
      if (const auto& ref = var.value_from->config_map_key_ref) {
        from["configMapKeyRef"] = KeyRefJson(ref->name, ref->key, ref->optional);
      }
      if (const auto& ref = var.value_from->secret_key_ref) {
        from["secretKeyRef"] = KeyRefJson(ref->name, ref->key, ref->optional);
      }
      item["valueFrom"] = std::move(from);
    }
    out.push_back(std::move(item));
  }
  return out;
}

Json EnvFromJson(const std::vector<api::EnvFromSource>& env_from) {
  Json out = Json::array();
  for (const api::EnvFromSource& source : env_from) {
    Json item = Json::object();
    if (source.config_map_ref) item["configMapRef"] = ObjectRefJson(*source.config_map_ref);
    if (!source.prefix.empty()) item["prefix"] = source.prefix;
    if (source.secret_ref) item["secretRef"] = ObjectRefJson(*source.secret_ref);
    out.push_back(std::move(item));
  }
  return out;
}

Json TolerationsJson(const std::vector<api::Toleration>& tolerations) {
  Json out = Json::array();
  for (const api::Toleration& t : tolerations) {
    Json item = Json::object();
    if (!t.effect.empty()) item["effect"] = t.effect;
    if (!t.key.empty()) item["key"] = t.key;
    item["operator"] = t.operator_;
    if (t.toleration_seconds) item["tolerationSeconds"] = *t.toleration_seconds;
    if (!t.value.empty()) item["value"] = t.value;
    out.push_back(std::move(item));
  }
  return out;
}

// Whatever the task asks, the container gets no capabilities, cannot gain
// privileges (setuid binaries, file capabilities) and is never privileged.
Json ContainerSecurityContext(const api::SecurityContext& sc) {
  Json out = Json::object();
  out["allowPrivilegeEscalation"] = false;
  Json capabilities = Json::object();
  capabilities["drop"] = Json::array();
  capabilities["drop"].push_back("ALL");
  out["capabilities"] = std::move(capabilities);
  out["privileged"] = false;
  out["readOnlyRootFilesystem"] = sc.read_only_root_filesystem;
  return out;
}

Json PodSecurityContext(const api::SecurityContext& sc) {
  Json out = Json::object();
  if (sc.run_as_group) out["runAsGroup"] = *sc.run_as_group;
  if (sc.run_as_non_root) out["runAsNonRoot"] = *sc.run_as_non_root;
  if (sc.run_as_user) out["runAsUser"] = *sc.run_as_user;
  Json seccomp = Json::object();
  seccomp["type"] = "RuntimeDefault";
  out["seccompProfile"] = std::move(seccomp);
  return out;
}

struct WorkspaceParts {
  Json mount;
  Json volume;
};

// The workspace as a pod volume and its mount. Host paths and named volumes
// exist only on a Docker host; a Kubernetes node's disk is not the user's.
Result<WorkspaceParts> RenderWorkspace(const api::Workspace& ws) {
  const int sources = ws.empty_dir.has_value() + ws.persistent_volume_claim.has_value() + ws.host_path.has_value() +
                      ws.docker_volume.has_value();
  if (ws.host_path) {
    return InvalidArgument(
        "spec.workspace.hostPath: only the docker backend supports host paths; use emptyDir or persistentVolumeClaim");
  }
  if (ws.docker_volume) {
    return InvalidArgument(
        "spec.workspace.dockerVolume: only the docker backend supports named Docker volumes; use emptyDir or "
        "persistentVolumeClaim");
  }
  if (sources != 1) {
    return InvalidArgument(
        "spec.workspace: set exactly one of emptyDir, persistentVolumeClaim, hostPath or dockerVolume");
  }
  WorkspaceParts parts;
  parts.mount = Json::object();
  parts.mount["mountPath"] = ws.mount_path;
  parts.mount["name"] = kWorkspaceVolume;
  parts.volume = Json::object();
  if (ws.empty_dir) {
    Json empty_dir = Json::object();
    if (ws.empty_dir->size_limit) empty_dir["sizeLimit"] = ws.empty_dir->size_limit->Canonical();
    parts.volume["emptyDir"] = std::move(empty_dir);
    parts.volume["name"] = kWorkspaceVolume;
  } else {
    const api::PvcWorkspace& pvc = *ws.persistent_volume_claim;
    if (pvc.read_only) parts.mount["readOnly"] = true;
    parts.volume["name"] = kWorkspaceVolume;
    Json claim = Json::object();
    claim["claimName"] = pvc.claim_name;
    if (pvc.read_only) claim["readOnly"] = true;
    parts.volume["persistentVolumeClaim"] = std::move(claim);
  }
  return parts;
}

// A task that runs after others (spec.runAfter): its inputs ConfigMap,
// mounted read-only at /ctask/inputs, and CTASK_INPUTS naming it.
constexpr const char* kInputsVolume = "ctask-inputs";

Json Container(const api::ContainerTaskSpec& spec, const std::optional<WorkspaceParts>& workspace, bool inputs) {
  Json c = Json::object();
  if (!spec.args.empty()) c["args"] = StringsJson(spec.args);
  if (!spec.command.empty()) c["command"] = StringsJson(spec.command);
  if (inputs) {
    // First, so the task's own env and command may use $(CTASK_INPUTS).
    std::vector<api::EnvVar> env = {{kEnvInputs, std::string(kInputsDir), std::nullopt}};
    for (const api::EnvVar& var : spec.env) {
      if (var.name != kEnvInputs) env.push_back(var);
    }
    c["env"] = EnvJson(env);
  } else if (!spec.env.empty()) {
    c["env"] = EnvJson(spec.env);
  }
  if (!spec.env_from.empty()) c["envFrom"] = EnvFromJson(spec.env_from);
  c["image"] = spec.image;
  if (!spec.image_pull_policy.empty()) c["imagePullPolicy"] = spec.image_pull_policy;
  c["name"] = kContainerName;
  if (!spec.resources.limits.empty() || !spec.resources.requests.empty()) {
    Json resources = Json::object();
    if (!spec.resources.limits.empty()) resources["limits"] = ResourceListJson(spec.resources.limits);
    if (!spec.resources.requests.empty()) resources["requests"] = ResourceListJson(spec.resources.requests);
    c["resources"] = std::move(resources);
  }
  c["securityContext"] = ContainerSecurityContext(spec.security_context);
  // The last log lines become the termination message when the container
  // wrote none, so status.result explains a failure without a log fetch.
  c["terminationMessagePolicy"] = "FallbackToLogsOnError";
  if (workspace || inputs) c["volumeMounts"] = Json::array();
  if (workspace) c["volumeMounts"].push_back(workspace->mount);
  if (inputs) c["volumeMounts"].push_back({{"mountPath", kInputsDir}, {"name", kInputsVolume}, {"readOnly", true}});
  if (!spec.working_dir.empty()) c["workingDir"] = spec.working_dir;
  return c;
}

Json PodSpec(const api::ContainerTaskSpec& spec, const std::optional<WorkspaceParts>& workspace,
             const std::string& inputs) {
  Json pod = Json::object();
  // A task rarely needs the Kubernetes API, so by default it gets no token
  // to steal. Naming a service account is the way to ask for API access;
  // then the field is left out and the account's own setting decides.
  if (spec.service_account_name.empty()) pod["automountServiceAccountToken"] = false;
  pod["containers"] = Json::array();
  pod["containers"].push_back(Container(spec, workspace, !inputs.empty()));
  // No *_SERVICE_HOST/_PORT variables for every Service in the namespace: the
  // environment is what the task declares, as in the Docker backend.
  pod["enableServiceLinks"] = false;
  if (!spec.node_selector.empty()) pod["nodeSelector"] = MapJson(spec.node_selector);
  if (!spec.priority_class_name.empty()) pod["priorityClassName"] = spec.priority_class_name;
  // The operator decides on retries: a failed container must fail the pod.
  pod["restartPolicy"] = "Never";
  pod["securityContext"] = PodSecurityContext(spec.security_context);
  if (!spec.service_account_name.empty()) pod["serviceAccountName"] = spec.service_account_name;
  if (!spec.tolerations.empty()) pod["tolerations"] = TolerationsJson(spec.tolerations);
  if (workspace || !inputs.empty()) pod["volumes"] = Json::array();
  if (workspace) pod["volumes"].push_back(workspace->volume);
  if (!inputs.empty()) pod["volumes"].push_back({{"configMap", {{"name", inputs}}}, {"name", kInputsVolume}});
  return pod;
}

}  // namespace

std::string InputsConfigMapName(std::string_view task_name) {
  return std::string(task_name) + "-inputs";
}

Result<api::Json> RenderJob(const api::ContainerTask& task, const JobOptions& options) {
  const api::ContainerTaskSpec& spec = task.spec;
  std::optional<WorkspaceParts> workspace;
  if (spec.workspace) {
    Result<WorkspaceParts> parts = RenderWorkspace(*spec.workspace);
    if (!parts) return std::unexpected(parts.error());
    workspace = std::move(*parts);
  }
  const int attempt = EffectiveAttempt(options.attempt);
  const StringMap labels = AttemptLabels(task, attempt);
  // Kueue's labels go on the Job only (its webhook and controller read the
  // Job's): api/kueue.h.
  StringMap job_labels = api::KueueLabels(task.metadata);
  for (const auto& [key, value] : labels) job_labels[key] = value;
  const bool kueue = !api::KueueQueueName(job_labels).empty();

  Json job = Json::object();
  job["apiVersion"] = "batch/v1";
  job["kind"] = "Job";
  job["metadata"] = ObjectMetadata(task, api::DerivedJobName(task.metadata.name, attempt, api::ItemIndexOf(task.item)),
                                   job_labels, {{kAnnotationGeneration, std::to_string(task.metadata.generation)}});

  Json job_spec = Json::object();
  if (options.active_deadline_seconds) {
    // The API server refuses a negative deadline. A deadline already past
    // still gets a Job, one that fails at once with DeadlineExceeded, so the
    // task ends the usual way.
    job_spec["activeDeadlineSeconds"] = std::max<int64_t>(*options.active_deadline_seconds, 1);
  }
  // One pod per Job; retries are new Jobs (see job.h). suspend is the
  // operator's to set (it suspends a Job to stop an attempt), except for a
  // Job Kueue admits: created suspended, then Kueue's alone.
  if (kueue) job_spec["suspend"] = true;
  job_spec["backoffLimit"] = 0;
  job_spec["completions"] = 1;
  job_spec["parallelism"] = 1;

  // Validation keeps ctask.io/ keys out of podLabels; ours win regardless, so
  // the operator's selectors can never be subverted by a task.
  StringMap pod_labels = spec.pod_labels;
  for (const auto& [key, value] : labels) pod_labels[key] = value;
  Json template_meta = Json::object();
  if (!spec.pod_annotations.empty()) template_meta["annotations"] = MapJson(spec.pod_annotations);
  template_meta["labels"] = MapJson(pod_labels);
  Json pod_template = Json::object();
  pod_template["metadata"] = std::move(template_meta);
  pod_template["spec"] =
      PodSpec(spec, workspace, spec.run_after.empty() ? std::string() : InputsConfigMapName(task.metadata.name));
  job_spec["template"] = std::move(pod_template);
  job["spec"] = std::move(job_spec);

  // Text that is not UTF-8 cannot be sent as JSON (and dump() would throw).
  if (!IsAllUtf8(job)) {
    return InvalidArgument("spec: a text value is not valid UTF-8; Kubernetes objects hold UTF-8 text only");
  }
  return job;
}

Json RenderNetworkPolicy(const api::ContainerTask& task) {
  // Per task, not per attempt: it selects every attempt's pod, and lives as
  // long as the task (the ownerReference deletes it with the task).
  const StringMap labels = TaskLabels(task);
  Json policy = Json::object();
  policy["apiVersion"] = "networking.k8s.io/v1";
  policy["kind"] = "NetworkPolicy";
  policy["metadata"] = ObjectMetadata(task, task.metadata.name + kNetworkPolicySuffix, labels, {});

  StringMap match = {{kLabelTask, task.metadata.name}};
  if (const std::string uid = TaskUid(task); !uid.empty()) match[kLabelTaskUid] = uid;
  Json selector = Json::object();
  selector["matchLabels"] = MapJson(match);
  Json spec = Json::object();
  spec["podSelector"] = std::move(selector);
  // Both types listed with no rules: nothing in, nothing out, DNS included.
  spec["policyTypes"] = Json::array();
  spec["policyTypes"].push_back("Ingress");
  spec["policyTypes"].push_back("Egress");
  policy["spec"] = std::move(spec);
  return policy;
}

}  // namespace ctask::render
