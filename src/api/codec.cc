#include "api/codec.h"

#include <string>

namespace ctask::api {
namespace {

// ---- reading: each accessor returns the field if present with the right type.

const Json* Field(const Json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Str(const Json& object, const char* name) {
  const Json* f = Field(object, name);
  return (f != nullptr && f->is_string()) ? f->get<std::string>() : std::string();
}

std::optional<std::string> OptStr(const Json& object, const char* name) {
  const Json* f = Field(object, name);
  if (f == nullptr || !f->is_string()) return std::nullopt;
  return f->get<std::string>();
}

template <typename Int>
std::optional<Int> OptInt(const Json& object, const char* name) {
  const Json* f = Field(object, name);
  if (f == nullptr || !f->is_number_integer()) return std::nullopt;
  if (f->is_number_unsigned() && f->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<Int>::max())) {
    return std::nullopt;
  }
  int64_t v = f->get<int64_t>();
  if (v < std::numeric_limits<Int>::min() || v > std::numeric_limits<Int>::max()) return std::nullopt;
  return static_cast<Int>(v);
}

template <typename Int>
Int IntOr(const Json& object, const char* name, Int fallback) {
  return OptInt<Int>(object, name).value_or(fallback);
}

std::optional<bool> OptBool(const Json& object, const char* name) {
  const Json* f = Field(object, name);
  if (f == nullptr || !f->is_boolean()) return std::nullopt;
  return f->get<bool>();
}

bool BoolOr(const Json& object, const char* name, bool fallback) {
  return OptBool(object, name).value_or(fallback);
}

const Json& Obj(const Json& object, const char* name) {
  static const Json kEmpty = Json::object();
  const Json* f = Field(object, name);
  return (f != nullptr && f->is_object()) ? *f : kEmpty;
}

bool HasObj(const Json& object, const char* name) {
  const Json* f = Field(object, name);
  return f != nullptr && f->is_object();
}

std::vector<const Json*> Items(const Json& object, const char* name) {
  std::vector<const Json*> out;
  const Json* f = Field(object, name);
  if (f == nullptr || !f->is_array()) return out;
  for (const Json& item : *f) out.push_back(&item);
  return out;
}

std::vector<std::string> Strings(const Json& object, const char* name) {
  std::vector<std::string> out;
  for (const Json* item : Items(object, name)) {
    if (item->is_string()) out.push_back(item->get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> StringMap(const Json& object, const char* name) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : Obj(object, name).items()) {
    if (value.is_string()) out[key] = value.get<std::string>();
  }
  return out;
}

std::optional<Timestamp> Time(const Json& object, const char* name) {
  std::optional<std::string> s = OptStr(object, name);
  if (!s) return std::nullopt;
  return ParseRfc3339(*s);
}

class SpecReader {
 public:
  FieldErrors Take() { return std::move(errors_); }

  std::optional<Quantity> ReadQuantity(const Json& object, const char* name, const std::string& path) {
    const Json* f = Field(object, name);
    if (f == nullptr) return std::nullopt;
    std::string text;
    if (f->is_string()) {
      text = f->get<std::string>();
    } else if (f->is_number_integer()) {
      text = f->dump();
    } else {
      return std::nullopt;
    }
    Result<Quantity> q = ParseQuantity(text);
    if (!q) {
      errors_.push_back({ChildPath(path, name), q.error().message()});
      return std::nullopt;
    }
    return *q;
  }

  ResourceList ReadResources(const Json& object, const std::string& path) {
    ResourceList out;
    for (const char* name : {kResourceCpu, kResourceMemory, kResourceEphemeralStorage}) {
      if (auto q = ReadQuantity(object, name, path)) out.emplace(name, *q);
    }
    return out;
  }

  ContainerTaskSpec ReadSpec(const Json& s) {
    ContainerTaskSpec spec;
    spec.image = Str(s, "image");
    spec.image_pull_policy = Str(s, "imagePullPolicy");
    spec.command = Strings(s, "command");
    spec.args = Strings(s, "args");
    spec.working_dir = Str(s, "workingDir");
    for (const Json* e : Items(s, "env")) spec.env.push_back(ReadEnvVar(*e));
    for (const Json* e : Items(s, "envFrom")) spec.env_from.push_back(ReadEnvFrom(*e));
    const Json& resources = Obj(s, "resources");
    spec.resources.requests = ReadResources(Obj(resources, "requests"), "spec.resources.requests");
    spec.resources.limits = ReadResources(Obj(resources, "limits"), "spec.resources.limits");

    spec.timeout_seconds = OptInt<int64_t>(s, "timeoutSeconds");
    spec.pending_timeout_seconds = IntOr<int64_t>(s, "pendingTimeoutSeconds", spec.pending_timeout_seconds);
    spec.retries = IntOr<int32_t>(s, "retries", spec.retries);
    spec.retry_policy = ReadRetryPolicy(Obj(s, "retryPolicy"), spec.retry_policy);
    spec.ttl_seconds_after_finished = OptInt<int64_t>(s, "ttlSecondsAfterFinished");
    spec.workload_ttl_seconds_after_finished = OptInt<int64_t>(s, "workloadTTLSecondsAfterFinished");
    spec.suspend = BoolOr(s, "suspend", false);
    spec.cancel = BoolOr(s, "cancel", false);
    spec.queue_name = Str(s, "queueName");
    if (spec.queue_name.empty()) spec.queue_name = "default";
    spec.priority = IntOr<int32_t>(s, "priority", 0);
    spec.completions = OptInt<int32_t>(s, "completions");
    spec.items = Strings(s, "items");
    spec.parallelism = OptInt<int32_t>(s, "parallelism");
    if (HasObj(s, "successPolicy")) {
      spec.success_policy = SuccessPolicy{OptInt<int32_t>(Obj(s, "successPolicy"), "minSucceeded")};
    }
    spec.fail_fast = BoolOr(s, "failFast", false);
    spec.run_after = Strings(s, "runAfter");
    if (HasObj(s, "workspace")) spec.workspace = ReadWorkspace(Obj(s, "workspace"));

    const Json& sc = Obj(s, "securityContext");
    spec.security_context.run_as_user = OptInt<int64_t>(sc, "runAsUser");
    spec.security_context.run_as_group = OptInt<int64_t>(sc, "runAsGroup");
    spec.security_context.run_as_non_root = OptBool(sc, "runAsNonRoot");
    spec.security_context.read_only_root_filesystem = BoolOr(sc, "readOnlyRootFilesystem", false);

    spec.service_account_name = Str(s, "serviceAccountName");
    spec.node_selector = StringMap(s, "nodeSelector");
    for (const Json* t : Items(s, "tolerations")) spec.tolerations.push_back(ReadToleration(*t));
    spec.priority_class_name = Str(s, "priorityClassName");
    spec.pod_labels = StringMap(s, "podLabels");
    spec.pod_annotations = StringMap(s, "podAnnotations");
    spec.network.isolated = BoolOr(Obj(s, "network"), "isolated", false);
    const Json& logs = Obj(s, "logs");
    spec.logs.tail_lines = IntOr<int32_t>(logs, "tailLines", spec.logs.tail_lines);
    spec.logs.archive = BoolOr(logs, "archive", spec.logs.archive);
    spec.logs.archive_limit_bytes = IntOr<int64_t>(logs, "archiveLimitBytes", spec.logs.archive_limit_bytes);
    return spec;
  }

 private:
  static EnvVar ReadEnvVar(const Json& e) {
    EnvVar var;
    var.name = Str(e, "name");
    var.value = OptStr(e, "value");
    if (HasObj(e, "valueFrom")) {
      const Json& from = Obj(e, "valueFrom");
      EnvVarSource source;
      if (HasObj(from, "secretKeyRef")) {
        const Json& r = Obj(from, "secretKeyRef");
        source.secret_key_ref = SecretKeySelector{Str(r, "name"), Str(r, "key"), BoolOr(r, "optional", false)};
      }
      if (HasObj(from, "configMapKeyRef")) {
        const Json& r = Obj(from, "configMapKeyRef");
        source.config_map_key_ref = ConfigMapKeySelector{Str(r, "name"), Str(r, "key"), BoolOr(r, "optional", false)};
      }
      var.value_from = source;
    }
    return var;
  }

  static EnvFromSource ReadEnvFrom(const Json& e) {
    EnvFromSource from;
    from.prefix = Str(e, "prefix");
    if (HasObj(e, "secretRef")) {
      const Json& r = Obj(e, "secretRef");
      from.secret_ref = LocalObjectReference{Str(r, "name"), BoolOr(r, "optional", false)};
    }
    if (HasObj(e, "configMapRef")) {
      const Json& r = Obj(e, "configMapRef");
      from.config_map_ref = LocalObjectReference{Str(r, "name"), BoolOr(r, "optional", false)};
    }
    return from;
  }

  // `policy` with what `retry` sets: exit codes outside int32 are dropped, an
  // absent backoff keeps the default.
  static RetryPolicy ReadRetryPolicy(const Json& retry, RetryPolicy policy) {
    for (const Json* code : Items(retry, "onExitCodes")) {
      if (code->is_number_integer()) {
        int64_t v = code->get<int64_t>();
        if (v >= INT32_MIN && v <= INT32_MAX) policy.on_exit_codes.push_back(static_cast<int32_t>(v));
      }
    }
    policy.backoff_seconds = IntOr<int32_t>(retry, "backoffSeconds", policy.backoff_seconds);
    return policy;
  }

  Workspace ReadWorkspace(const Json& w) {
    Workspace ws;
    if (auto p = OptStr(w, "mountPath")) ws.mount_path = *p;
    if (HasObj(w, "emptyDir")) {
      ws.empty_dir = EmptyDirWorkspace{ReadQuantity(Obj(w, "emptyDir"), "sizeLimit", "spec.workspace.emptyDir")};
    }
    if (HasObj(w, "persistentVolumeClaim")) {
      const Json& p = Obj(w, "persistentVolumeClaim");
      ws.persistent_volume_claim = PvcWorkspace{Str(p, "claimName"), BoolOr(p, "readOnly", false)};
    }
    if (HasObj(w, "hostPath")) {
      const Json& p = Obj(w, "hostPath");
      ws.host_path = HostPathWorkspace{Str(p, "path"), BoolOr(p, "readOnly", false)};
    }
    if (HasObj(w, "dockerVolume")) ws.docker_volume = DockerVolumeWorkspace{Str(Obj(w, "dockerVolume"), "name")};
    return ws;
  }

  static Toleration ReadToleration(const Json& t) {
    Toleration tol;
    tol.key = Str(t, "key");
    if (auto op = OptStr(t, "operator")) tol.operator_ = *op;
    tol.value = Str(t, "value");
    tol.effect = Str(t, "effect");
    tol.toleration_seconds = OptInt<int64_t>(t, "tolerationSeconds");
    return tol;
  }

  FieldErrors errors_;
};

// ---- writing ----------------------------------------------------------------

void PutStr(Json& out, const char* name, const std::string& value) {
  if (!value.empty()) out[name] = value;
}

void PutTime(Json& out, const char* name, const std::optional<Timestamp>& t) {
  if (t) out[name] = FormatRfc3339(*t);
}

void PutStrings(Json& out, const char* name, const std::vector<std::string>& values) {
  if (!values.empty()) out[name] = values;
}

void PutMap(Json& out, const char* name, const std::map<std::string, std::string>& values) {
  if (values.empty()) return;
  Json m = Json::object();
  for (const auto& [k, v] : values) m[k] = v;
  out[name] = m;
}

Json EncodeResources(const ResourceList& list) {
  Json out = Json::object();
  for (const auto& [name, q] : list) out[name] = q.original;
  return out;
}

// The sub-objects of a spec that hold lists or alternatives, one each.

Json EncodeEnv(const std::vector<EnvVar>& vars) {
  Json env = Json::array();
  for (const EnvVar& var : vars) {
    Json e = Json::object();
    e["name"] = var.name;
    if (var.value) e["value"] = *var.value;
    if (var.value_from) {
      Json from = Json::object();
      if (const auto& r = var.value_from->secret_key_ref) {
        from["secretKeyRef"] = Json::object({{"name", r->name}, {"key", r->key}, {"optional", r->optional}});
      }
      if (const auto& r = var.value_from->config_map_key_ref) {
        from["configMapKeyRef"] = Json::object({{"name", r->name}, {"key", r->key}, {"optional", r->optional}});
      }
      e["valueFrom"] = from;
    }
    env.push_back(e);
  }
  return env;
}

Json EncodeEnvFrom(const std::vector<EnvFromSource>& sources) {
  Json list = Json::array();
  for (const EnvFromSource& from : sources) {
    Json e = Json::object();
    PutStr(e, "prefix", from.prefix);
    if (from.secret_ref)
      e["secretRef"] = Json::object({{"name", from.secret_ref->name}, {"optional", from.secret_ref->optional}});
    if (from.config_map_ref) {
      e["configMapRef"] =
          Json::object({{"name", from.config_map_ref->name}, {"optional", from.config_map_ref->optional}});
    }
    list.push_back(e);
  }
  return list;
}

Json EncodeWorkspace(const Workspace& ws) {
  Json w = Json::object();
  w["mountPath"] = ws.mount_path;
  if (ws.empty_dir) {
    Json e = Json::object();
    if (ws.empty_dir->size_limit) e["sizeLimit"] = ws.empty_dir->size_limit->original;
    w["emptyDir"] = e;
  }
  if (ws.persistent_volume_claim) {
    w["persistentVolumeClaim"] = Json::object(
        {{"claimName", ws.persistent_volume_claim->claim_name}, {"readOnly", ws.persistent_volume_claim->read_only}});
  }
  if (ws.host_path) w["hostPath"] = Json::object({{"path", ws.host_path->path}, {"readOnly", ws.host_path->read_only}});
  if (ws.docker_volume) w["dockerVolume"] = Json::object({{"name", ws.docker_volume->name}});
  return w;
}

Json EncodeSecurityContext(const SecurityContext& ctx) {
  Json sc = Json::object();
  if (ctx.run_as_user) sc["runAsUser"] = *ctx.run_as_user;
  if (ctx.run_as_group) sc["runAsGroup"] = *ctx.run_as_group;
  if (ctx.run_as_non_root) sc["runAsNonRoot"] = *ctx.run_as_non_root;
  sc["readOnlyRootFilesystem"] = ctx.read_only_root_filesystem;
  return sc;
}

Json EncodeTolerations(const std::vector<Toleration>& tolerations) {
  Json list = Json::array();
  for (const Toleration& t : tolerations) {
    Json e = Json::object();
    PutStr(e, "key", t.key);
    e["operator"] = t.operator_;
    PutStr(e, "value", t.value);
    PutStr(e, "effect", t.effect);
    if (t.toleration_seconds) e["tolerationSeconds"] = *t.toleration_seconds;
    list.push_back(e);
  }
  return list;
}

}  // namespace

ObjectMeta DecodeObjectMeta(const Json& m) {
  ObjectMeta meta;
  meta.name = Str(m, "name");
  meta.namespace_ = Str(m, "namespace");
  meta.uid = Str(m, "uid");
  meta.resource_version = Str(m, "resourceVersion");
  meta.generation = IntOr<int64_t>(m, "generation", 0);
  meta.labels = StringMap(m, "labels");
  meta.annotations = StringMap(m, "annotations");
  meta.finalizers = Strings(m, "finalizers");
  meta.creation_timestamp = Time(m, "creationTimestamp");
  meta.deletion_timestamp = Time(m, "deletionTimestamp");
  return meta;
}

namespace {

ItemStatus DecodeItem(const Json& i) {
  ItemStatus item;
  item.index = IntOr<int32_t>(i, "index", 0);
  item.item = Str(i, "item");
  item.phase = Str(i, "phase");
  item.reason = Str(i, "reason");
  item.message = Str(i, "message");
  item.attempts = IntOr<int32_t>(i, "attempts", 0);
  item.failures = IntOr<int32_t>(i, "failures", 0);
  item.admitted = BoolOr(i, "admitted", false);
  item.exit_code = OptInt<int32_t>(i, "exitCode");
  item.admission_time = Time(i, "admissionTime");
  item.start_time = Time(i, "startTime");
  item.last_failure_time = Time(i, "lastFailureTime");
  item.completion_time = Time(i, "completionTime");
  item.job_name = Str(i, "jobName");
  item.pod_name = Str(i, "podName");
  item.container_id = Str(i, "containerID");
  return item;
}

FanOutStatus DecodeFanOut(const Json& f) {
  FanOutStatus out;
  out.total = IntOr<int32_t>(f, "total", 0);
  out.waiting = IntOr<int32_t>(f, "waiting", 0);
  out.active = IntOr<int32_t>(f, "active", 0);
  out.succeeded = IntOr<int32_t>(f, "succeeded", 0);
  out.failed = IntOr<int32_t>(f, "failed", 0);
  out.cancelled = IntOr<int32_t>(f, "cancelled", 0);
  out.succeeded_indexes = Str(f, "succeededIndexes");
  out.failed_indexes = Str(f, "failedIndexes");
  out.cancelled_indexes = Str(f, "cancelledIndexes");
  for (const Json* i : Items(f, "items")) out.items.push_back(DecodeItem(*i));
  return out;
}

}  // namespace

ContainerTaskStatus DecodeStatus(const Json& s) {
  ContainerTaskStatus st;
  st.phase = Str(s, "phase");
  st.reason = Str(s, "reason");
  st.message = Str(s, "message");
  st.observed_generation = IntOr<int64_t>(s, "observedGeneration", 0);
  for (const Json* c : Items(s, "conditions")) {
    Condition cond;
    cond.type = Str(*c, "type");
    cond.status = Str(*c, "status");
    cond.observed_generation = IntOr<int64_t>(*c, "observedGeneration", 0);
    cond.last_transition_time = Time(*c, "lastTransitionTime").value_or(Timestamp{});
    cond.reason = Str(*c, "reason");
    cond.message = Str(*c, "message");
    st.conditions.push_back(std::move(cond));
  }
  st.start_time = Time(s, "startTime");
  st.completion_time = Time(s, "completionTime");
  st.admission_time = Time(s, "admissionTime");
  st.exit_code = OptInt<int32_t>(s, "exitCode");
  st.attempts = IntOr<int32_t>(s, "attempts", 0);
  for (const Json* h : Items(s, "history")) {
    AttemptStatus a;
    a.attempt = IntOr<int32_t>(*h, "attempt", 0);
    a.job_name = Str(*h, "jobName");
    a.pod_name = Str(*h, "podName");
    a.container_id = Str(*h, "containerID");
    a.exit_code = OptInt<int32_t>(*h, "exitCode");
    a.reason = Str(*h, "reason");
    a.start_time = Time(*h, "startTime");
    a.completion_time = Time(*h, "completionTime");
    st.history.push_back(std::move(a));
  }
  st.job_name = Str(s, "jobName");
  st.pod_name = Str(s, "podName");
  st.container_id = Str(s, "containerID");
  st.log_tail = Str(s, "logTail");
  st.log_attempt = IntOr<int32_t>(s, "logAttempt", 0);
  st.result = Str(s, "result");
  const Json& artifacts = Obj(s, "artifacts");
  if (HasObj(artifacts, "log")) {
    const Json& l = Obj(artifacts, "log");
    st.artifacts.log = LogArtifact{Str(l, "kind"), Str(l, "name"), IntOr<int64_t>(l, "sizeBytes", 0), Str(l, "sha256"),
                                   BoolOr(l, "truncated", false)};
  }
  if (HasObj(artifacts, "results")) {
    const Json& r = Obj(artifacts, "results");
    st.artifacts.results = ResultsArtifact{Str(r, "kind"),
                                           Str(r, "name"),
                                           IntOr<int64_t>(r, "sizeBytes", 0),
                                           Str(r, "sha256"),
                                           IntOr<int32_t>(r, "items", 0),
                                           BoolOr(r, "truncated", false)};
  }
  if (HasObj(s, "fanOut")) st.fan_out = DecodeFanOut(Obj(s, "fanOut"));
  return st;
}

DecodedTask DecodeContainerTask(const Json& object) {
  DecodedTask out;
  out.task.metadata = DecodeObjectMeta(Obj(object, "metadata"));
  SpecReader reader;
  out.task.spec = reader.ReadSpec(Obj(object, "spec"));
  out.task.status = DecodeStatus(Obj(object, "status"));
  out.errors = reader.Take();
  return out;
}

Json EncodeObjectMeta(const ObjectMeta& meta) {
  Json m = Json::object();
  PutStr(m, "name", meta.name);
  PutStr(m, "namespace", meta.namespace_);
  PutStr(m, "uid", meta.uid);
  PutStr(m, "resourceVersion", meta.resource_version);
  if (meta.generation != 0) m["generation"] = meta.generation;
  PutMap(m, "labels", meta.labels);
  PutMap(m, "annotations", meta.annotations);
  PutStrings(m, "finalizers", meta.finalizers);
  PutTime(m, "creationTimestamp", meta.creation_timestamp);
  PutTime(m, "deletionTimestamp", meta.deletion_timestamp);
  return m;
}

Json EncodeSpec(const ContainerTaskSpec& spec) {
  Json s = Json::object();
  s["image"] = spec.image;
  PutStr(s, "imagePullPolicy", spec.image_pull_policy);
  PutStrings(s, "command", spec.command);
  PutStrings(s, "args", spec.args);
  PutStr(s, "workingDir", spec.working_dir);
  if (!spec.env.empty()) s["env"] = EncodeEnv(spec.env);
  if (!spec.env_from.empty()) s["envFrom"] = EncodeEnvFrom(spec.env_from);
  if (!spec.resources.requests.empty() || !spec.resources.limits.empty()) {
    Json r = Json::object();
    if (!spec.resources.requests.empty()) r["requests"] = EncodeResources(spec.resources.requests);
    if (!spec.resources.limits.empty()) r["limits"] = EncodeResources(spec.resources.limits);
    s["resources"] = r;
  }
  if (spec.timeout_seconds) s["timeoutSeconds"] = *spec.timeout_seconds;
  s["pendingTimeoutSeconds"] = spec.pending_timeout_seconds;
  s["retries"] = spec.retries;
  s["retryPolicy"] = Json::object(
      {{"onExitCodes", spec.retry_policy.on_exit_codes}, {"backoffSeconds", spec.retry_policy.backoff_seconds}});
  if (spec.ttl_seconds_after_finished) s["ttlSecondsAfterFinished"] = *spec.ttl_seconds_after_finished;
  if (spec.workload_ttl_seconds_after_finished) {
    s["workloadTTLSecondsAfterFinished"] = *spec.workload_ttl_seconds_after_finished;
  }
  s["suspend"] = spec.suspend;
  s["cancel"] = spec.cancel;
  s["queueName"] = spec.queue_name;
  s["priority"] = spec.priority;
  if (spec.completions) s["completions"] = *spec.completions;
  PutStrings(s, "items", spec.items);
  if (spec.parallelism) s["parallelism"] = *spec.parallelism;
  if (spec.success_policy) {
    Json policy = Json::object();
    if (spec.success_policy->min_succeeded) policy["minSucceeded"] = *spec.success_policy->min_succeeded;
    s["successPolicy"] = policy;
  }
  if (spec.fail_fast) s["failFast"] = true;
  PutStrings(s, "runAfter", spec.run_after);
  if (spec.workspace) s["workspace"] = EncodeWorkspace(*spec.workspace);
  s["securityContext"] = EncodeSecurityContext(spec.security_context);
  PutStr(s, "serviceAccountName", spec.service_account_name);
  PutMap(s, "nodeSelector", spec.node_selector);
  if (!spec.tolerations.empty()) s["tolerations"] = EncodeTolerations(spec.tolerations);
  PutStr(s, "priorityClassName", spec.priority_class_name);
  PutMap(s, "podLabels", spec.pod_labels);
  PutMap(s, "podAnnotations", spec.pod_annotations);
  s["network"] = Json::object({{"isolated", spec.network.isolated}});
  s["logs"] = Json::object({{"tailLines", spec.logs.tail_lines},
                            {"archive", spec.logs.archive},
                            {"archiveLimitBytes", spec.logs.archive_limit_bytes}});
  return s;
}

namespace {

Json EncodeItem(const ItemStatus& item) {
  Json i = Json::object();
  i["index"] = item.index;
  PutStr(i, "item", item.item);
  PutStr(i, "phase", item.phase);
  PutStr(i, "reason", item.reason);
  PutStr(i, "message", item.message);
  if (item.attempts != 0) i["attempts"] = item.attempts;
  if (item.failures != 0) i["failures"] = item.failures;
  if (item.admitted) i["admitted"] = true;
  if (item.exit_code) i["exitCode"] = *item.exit_code;
  PutTime(i, "admissionTime", item.admission_time);
  PutTime(i, "startTime", item.start_time);
  PutTime(i, "lastFailureTime", item.last_failure_time);
  PutTime(i, "completionTime", item.completion_time);
  PutStr(i, "jobName", item.job_name);
  PutStr(i, "podName", item.pod_name);
  PutStr(i, "containerID", item.container_id);
  return i;
}

Json EncodeFanOut(const FanOutStatus& fan_out) {
  Json f = Json::object();
  f["total"] = fan_out.total;
  f["waiting"] = fan_out.waiting;
  f["active"] = fan_out.active;
  f["succeeded"] = fan_out.succeeded;
  f["failed"] = fan_out.failed;
  f["cancelled"] = fan_out.cancelled;
  PutStr(f, "succeededIndexes", fan_out.succeeded_indexes);
  PutStr(f, "failedIndexes", fan_out.failed_indexes);
  PutStr(f, "cancelledIndexes", fan_out.cancelled_indexes);
  if (!fan_out.items.empty()) {
    Json list = Json::array();
    for (const ItemStatus& item : fan_out.items) list.push_back(EncodeItem(item));
    f["items"] = list;
  }
  return f;
}

}  // namespace

Json EncodeStatus(const ContainerTaskStatus& st) {
  Json s = Json::object();
  PutStr(s, "phase", st.phase);
  PutStr(s, "reason", st.reason);
  PutStr(s, "message", st.message);
  if (st.observed_generation != 0) s["observedGeneration"] = st.observed_generation;
  if (!st.conditions.empty()) {
    Json list = Json::array();
    for (const Condition& c : st.conditions) {
      Json e = Json::object();
      e["type"] = c.type;
      e["status"] = c.status;
      if (c.observed_generation != 0) e["observedGeneration"] = c.observed_generation;
      e["lastTransitionTime"] = FormatRfc3339(c.last_transition_time);
      e["reason"] = c.reason;
      e["message"] = c.message;
      list.push_back(e);
    }
    s["conditions"] = list;
  }
  PutTime(s, "startTime", st.start_time);
  PutTime(s, "completionTime", st.completion_time);
  PutTime(s, "admissionTime", st.admission_time);
  if (st.exit_code) s["exitCode"] = *st.exit_code;
  if (st.attempts != 0) s["attempts"] = st.attempts;
  if (!st.history.empty()) {
    Json list = Json::array();
    for (const AttemptStatus& a : st.history) {
      Json e = Json::object();
      e["attempt"] = a.attempt;
      PutStr(e, "jobName", a.job_name);
      PutStr(e, "podName", a.pod_name);
      PutStr(e, "containerID", a.container_id);
      if (a.exit_code) e["exitCode"] = *a.exit_code;
      PutStr(e, "reason", a.reason);
      PutTime(e, "startTime", a.start_time);
      PutTime(e, "completionTime", a.completion_time);
      list.push_back(e);
    }
    s["history"] = list;
  }
  PutStr(s, "jobName", st.job_name);
  PutStr(s, "podName", st.pod_name);
  PutStr(s, "containerID", st.container_id);
  PutStr(s, "logTail", st.log_tail);
  if (st.log_attempt != 0) s["logAttempt"] = st.log_attempt;
  PutStr(s, "result", st.result);
  Json artifacts = Json::object();
  if (st.artifacts.log) {
    const LogArtifact& l = *st.artifacts.log;
    Json log = Json::object();
    PutStr(log, "kind", l.kind);
    PutStr(log, "name", l.name);
    log["sizeBytes"] = l.size_bytes;
    PutStr(log, "sha256", l.sha256);
    log["truncated"] = l.truncated;
    artifacts["log"] = log;
  }
  if (st.artifacts.results) {
    const ResultsArtifact& r = *st.artifacts.results;
    Json results = Json::object();
    PutStr(results, "kind", r.kind);
    PutStr(results, "name", r.name);
    results["sizeBytes"] = r.size_bytes;
    PutStr(results, "sha256", r.sha256);
    results["items"] = r.items;
    results["truncated"] = r.truncated;
    artifacts["results"] = results;
  }
  if (!artifacts.empty()) s["artifacts"] = artifacts;
  if (st.fan_out) s["fanOut"] = EncodeFanOut(*st.fan_out);
  return s;
}

Json EncodeContainerTask(const ContainerTask& task) {
  Json out = Json::object();
  out["apiVersion"] = kApiVersion;
  out["kind"] = kKind;
  out["metadata"] = EncodeObjectMeta(task.metadata);
  out["spec"] = EncodeSpec(task.spec);
  Json status = EncodeStatus(task.status);
  if (!status.empty()) out["status"] = status;
  return out;
}

}  // namespace ctask::api
