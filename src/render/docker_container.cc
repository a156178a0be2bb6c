#include "render/docker_container.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string_view>

#include "api/names.h"
#include "render/labels.h"
#include "render/utf8.h"
#include "util/field_error.h"
#include "util/utf8.h"

namespace ctask::render {
namespace {

// Key order: the body's keys follow Docker's ContainerConfig and HostConfig
// structs, the order `docker inspect` shows them in.
//
// Not mapped, having no meaning on a single Docker host: nodeSelector,
// tolerations, priorityClassName, serviceAccountName, podAnnotations (Docker
// has no annotations) and imagePullPolicy (the runtime pulls before create).

using api::Json;

// Docker refuses a memory limit below 6 MiB (linuxMinMemory in the daemon).
constexpr int64_t kDockerMinMemoryBytes = int64_t{6} * 1024 * 1024;
// Docker refuses less than 0.01 CPU ("Range of CPUs is from 0.01 to ...").
constexpr int64_t kDockerMinMilliCpus = 10;
constexpr int64_t kNanosPerMilli = 1'000'000;

std::string Quoted(std::string_view value) {
  return QuoteValue(value);
}

// ---- environment -----------------------------------------------------------

// Kubernetes' IsRelaxedEnvVarName, the rule the kubelet applies to envFrom
// keys since RelaxedEnvironmentVariableValidation (on by default from 1.32,
// GA in 1.34): any printable ASCII but '='.
bool IsRelaxedEnvVarName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '='; });
}

// The container's environment as the kubelet builds it: a map from name to
// value where a later definition replaces an earlier one. Kept in the order
// names were first defined, so the body is deterministic and reads in the
// order the task declares.
class Environment {
 public:
  void Set(const std::string& name, std::string value, bool secret) {
    auto [it, inserted] = index_.try_emplace(name, entries_.size());
    if (inserted) {
      entries_.push_back({name, std::move(value), secret});
    } else {
      entries_[it->second].value = std::move(value);
      entries_[it->second].secret = secret;
    }
  }

  // nullptr when `name` is not defined.
  std::pair<const std::string*, bool> Find(std::string_view name) const {
    auto it = index_.find(name);
    if (it == index_.end()) return {nullptr, false};
    const Entry& e = entries_[it->second];
    return {&e.value, e.secret};
  }

  Json EnvJson() const {
    Json out = Json::array();
    for (const Entry& e : entries_) out.push_back(e.name + "=" + e.value);
    return out;
  }

  std::vector<std::string> SecretNames() const {
    std::vector<std::string> out;
    for (const Entry& e : entries_) {
      if (e.secret) out.push_back(e.name);
    }
    return out;
  }

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string name;
    std::string value;
    bool secret;
  };
  std::vector<Entry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

struct Expanded {
  std::string text;
  bool used_secret = false;  // a Secret's value was substituted
};

// Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion), which
// the kubelet applies to env values and to command and args: $(NAME) becomes
// NAME's value when NAME is defined and stays as written otherwise; $$ becomes
// $; any other $ is kept. Linear in the input.
Expanded Expand(std::string_view input, const Environment& env) {
  Expanded out;
  size_t checkpoint = 0;
  for (size_t cursor = 0; cursor < input.size(); ++cursor) {
    if (input[cursor] != '$' || cursor + 1 >= input.size()) continue;
    out.text.append(input.substr(checkpoint, cursor - checkpoint));
    const std::string_view rest = input.substr(cursor + 1);
    size_t advance = 1;
    if (rest[0] == '$') {
      out.text += '$';
    } else if (rest[0] == '(') {
      const size_t close = rest.find(')', 1);
      if (close == std::string_view::npos) {
        out.text += "$(";  // incomplete reference: kept, scanning goes on after it
      } else {
        const std::string_view name = rest.substr(1, close - 1);
        const auto [value, secret] = env.Find(name);
        if (value != nullptr) {
          out.text += *value;
          out.used_secret = out.used_secret || secret;
        } else {
          out.text += "$(";
          out.text += name;
          out.text += ')';
        }
        advance = close + 1;
      }
    } else {
      out.text += '$';
      out.text += rest[0];
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  if (checkpoint < input.size()) out.text.append(input.substr(checkpoint));
  return out;
}

// The Secret or ConfigMap `name` as the task's namespace sees it. Objects
// from files without a namespace match any task; one with a namespace only
// tasks in it, and wins over a namespace-less one. Among equals the last
// wins, as the last `kubectl apply` of an object would.
const api::ConfigData* FindConfig(const std::vector<api::ConfigData>& configs, std::string_view kind,
                                  std::string_view name, std::string_view ns) {
  const api::ConfigData* exact = nullptr;
  const api::ConfigData* any = nullptr;
  for (const api::ConfigData& config : configs) {
    if (config.kind != kind || config.metadata.name != name) continue;
    if (config.metadata.namespace_.empty()) {
      any = &config;
    } else if (config.metadata.namespace_ == ns) {
      exact = &config;
    }
  }
  return exact != nullptr ? exact : any;
}

// Messages name the object and key, never a value.
std::unexpected<Error> NotFound(const std::string& path, std::string_view kind, std::string_view name) {
  return InvalidArgument(path + ": " + std::string(kind) + " " + Quoted(name) +
                         " not found: add it to the files given with -f");
}

std::unexpected<Error> NotUtf8(const std::string& path, std::string_view kind, std::string_view name,
                               std::string_view key) {
  return InvalidArgument(path + ": " + std::string(kind) + " " + Quoted(name) + " key " + Quoted(key) +
                         " is not UTF-8 text, which the Docker API cannot carry in an environment variable");
}

// envFrom into `env`: every source in order, a later one replacing an
// earlier one's keys.
Status ImportEnvFrom(const api::ContainerTaskSpec& spec, const std::string& ns,
                     const std::vector<api::ConfigData>& configs, Environment& env) {
  for (size_t i = 0; i < spec.env_from.size(); ++i) {
    const api::EnvFromSource& from = spec.env_from[i];
    const bool is_secret = from.secret_ref.has_value();
    const api::LocalObjectReference* ref = is_secret             ? &*from.secret_ref
                                           : from.config_map_ref ? &*from.config_map_ref
                                                                 : nullptr;
    if (ref == nullptr) continue;  // validation requires one; nothing to import
    const std::string path = IndexPath("spec.envFrom", i) + (is_secret ? ".secretRef" : ".configMapRef");
    const char* kind = is_secret ? "Secret" : "ConfigMap";
    const api::ConfigData* config = FindConfig(configs, kind, ref->name, ns);
    if (config == nullptr) {
      if (ref->optional) continue;
      return NotFound(path, kind, ref->name);
    }
    for (const auto& [key, value] : config->data) {
      std::string name = from.prefix + key;
      // The kubelet skips such keys and records a Warning event
      // (InvalidEnvironmentVariableNames); we skip them silently. With keys
      // held to [-._a-zA-Z0-9]+ no key is skipped under the relaxed rule.
      if (!IsRelaxedEnvVarName(name)) continue;
      if (!IsValidUtf8(value)) return NotUtf8(path, kind, ref->name, key);
      env.Set(name, value, is_secret);
    }
  }
  return {};
}

// Env and envFrom resolved from `configs` in the kubelet's order: envFrom
// first (a later source replacing an earlier one's keys), then env in
// declaration order, each replacing what came before.
Result<Environment> ResolveEnv(const api::ContainerTaskSpec& spec, const std::string& ns,
                               const std::vector<api::ConfigData>& configs) {
  Environment env;
  if (Status imported = ImportEnvFrom(spec, ns, configs, env); !imported) return std::unexpected(imported.error());

  for (size_t i = 0; i < spec.env.size(); ++i) {
    const api::EnvVar& var = spec.env[i];
    const std::string path = IndexPath("spec.env", i);
    if (!IsRelaxedEnvVarName(var.name)) {
      return InvalidArgument(path + ".name: invalid name " + Quoted(var.name) +
                             ": use printable ASCII characters other than '='");
    }
    if (var.value.has_value() && !var.value->empty()) {
      // Only earlier definitions are visible to $(VAR), as in the kubelet.
      Expanded expanded = Expand(*var.value, env);
      env.Set(var.name, std::move(expanded.text), expanded.used_secret);
      continue;
    }
    if (!var.value_from) {
      env.Set(var.name, "", false);
      continue;
    }
    // The kubelet looks at configMapKeyRef before secretKeyRef; validation
    // allows only one of them.
    const bool is_config_map = var.value_from->config_map_key_ref.has_value();
    std::string name;
    std::string key;
    bool optional = false;
    if (is_config_map) {
      const api::ConfigMapKeySelector& ref = *var.value_from->config_map_key_ref;
      name = ref.name;
      key = ref.key;
      optional = ref.optional;
    } else if (var.value_from->secret_key_ref) {
      const api::SecretKeySelector& ref = *var.value_from->secret_key_ref;
      name = ref.name;
      key = ref.key;
      optional = ref.optional;
    } else {
      continue;  // no source: the kubelet sets nothing
    }
    const char* kind = is_config_map ? "ConfigMap" : "Secret";
    const std::string ref_path = path + (is_config_map ? ".valueFrom.configMapKeyRef" : ".valueFrom.secretKeyRef");
    const api::ConfigData* config = FindConfig(configs, kind, name, ns);
    // An optional reference that resolves to nothing leaves the variable as
    // it was (unset, or as envFrom set it), as in the kubelet.
    if (config == nullptr) {
      if (optional) continue;
      return NotFound(ref_path, kind, name);
    }
    auto found = config->data.find(key);
    if (found == config->data.end()) {
      if (optional) continue;
      return InvalidArgument(ref_path + ": " + kind + " " + Quoted(name) + " has no key " + Quoted(key) +
                             ": add the key, or set optional: true");
    }
    if (!IsValidUtf8(found->second)) return NotUtf8(ref_path, kind, name, key);
    env.Set(var.name, found->second, !is_config_map);
  }
  return env;
}

// ---- user, resources, workspace -------------------------------------------

// "uid" or "uid:gid"; "" keeps the image's user. runAsNonRoot without
// runAsUser cannot be checked here: the image's user is known only once the
// image is, so the runtime checks it against the image config before start.
Result<std::string> DockerUser(const api::SecurityContext& sc) {
  if (sc.run_as_non_root.value_or(false) && sc.run_as_user == 0) {
    return InvalidArgument("spec.securityContext: runAsNonRoot is true but runAsUser is 0: remove one of them");
  }
  if (!sc.run_as_user) {
    // Docker's User cannot say "the image's user, with this group": ":gid"
    // would run as root.
    if (sc.run_as_group) {
      return InvalidArgument(
          "spec.securityContext.runAsGroup: the docker backend needs runAsUser with runAsGroup: set runAsUser too");
    }
    return std::string();
  }
  std::string user = std::to_string(*sc.run_as_user);
  if (sc.run_as_group) user += ":" + std::to_string(*sc.run_as_group);
  return user;
}

// A limit of 0 means no limit, as the kubelet treats it.
struct Limits {
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> nano_cpus;
};

Result<Limits> DockerLimits(const api::ResourceList& limits) {
  Limits out;
  if (auto it = limits.find(api::kResourceMemory); it != limits.end() && !it->second.IsZero()) {
    const int64_t bytes = it->second.Value();
    if (it->second.IsNegative() || bytes < kDockerMinMemoryBytes) {
      return InvalidArgument("spec.resources.limits.memory: " + Quoted(it->second.Canonical()) +
                             " is below Docker's minimum of 6Mi: raise the limit to at least 6Mi");
    }
    out.memory_bytes = bytes;
  }
  if (auto it = limits.find(api::kResourceCpu); it != limits.end() && !it->second.IsZero()) {
    // Millicores, as the kubelet computes the CFS quota; Docker counts in
    // nano-CPUs.
    const int64_t milli = it->second.MilliValue();
    if (it->second.IsNegative() || milli < kDockerMinMilliCpus) {
      return InvalidArgument("spec.resources.limits.cpu: " + Quoted(it->second.Canonical()) +
                             " is below Docker's minimum of 10m (0.01 CPU): raise the limit to at least 10m");
    }
    if (milli > std::numeric_limits<int64_t>::max() / kNanosPerMilli) {
      return InvalidArgument("spec.resources.limits.cpu: " + Quoted(it->second.Canonical()) +
                             " is more CPUs than Docker can express: lower the limit");
    }
    out.nano_cpus = milli * kNanosPerMilli;
  }
  // ephemeral-storage is not mapped: Docker enforces a writable-layer size
  // (StorageOpt size) only on some storage drivers (overlay2 on xfs with
  // pquota, devicemapper, ...), and refuses the container elsewhere.
  // Requests are not mapped either: they are what a scheduler reserves, and
  // there is no scheduler here.
  return out;
}

// Absolute path -> components, with empty ones ("//", a trailing '/') and
// "." dropped. nullopt for a relative path or one holding "..": we compare
// strings, and ".." would need the host's filesystem to resolve.
std::optional<std::vector<std::string_view>> PathComponents(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string_view> parts;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") parts.push_back(part);
    start = end + 1;
  }
  return parts;
}

std::string JoinPath(const std::vector<std::string_view>& parts) {
  if (parts.empty()) return "/";
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  return out;
}

// Whole components are compared, so "/data2" is not below "/data". Symlinks
// are not resolved (that needs the host): the allow-list should name trees
// whose contents the administrator controls.
bool HostPathAllowed(const std::vector<std::string_view>& path, const std::vector<std::string>& allowed) {
  for (const std::string& entry : allowed) {
    const auto root = PathComponents(entry);
    if (!root || root->size() > path.size()) continue;  // a bad entry allows nothing
    if (std::equal(root->begin(), root->end(), path.begin())) return true;
  }
  return false;
}

Json Mount(const char* type, const std::string& source, const std::string& target, bool read_only) {
  Json mount = Json::object();
  mount["Type"] = type;
  if (!source.empty()) mount["Source"] = source;
  mount["Target"] = target;
  if (read_only) mount["ReadOnly"] = true;
  return mount;
}

Result<Json> WorkspaceMount(const api::Workspace& ws, const DockerPolicy& policy) {
  const int sources = ws.empty_dir.has_value() + ws.persistent_volume_claim.has_value() + ws.host_path.has_value() +
                      ws.docker_volume.has_value();
  if (ws.persistent_volume_claim) {
    return InvalidArgument(
        "spec.workspace.persistentVolumeClaim: only the kubernetes backend supports claims; use emptyDir, hostPath "
        "or dockerVolume");
  }
  if (sources != 1) {
    return InvalidArgument(
        "spec.workspace: set exactly one of emptyDir, persistentVolumeClaim, hostPath or dockerVolume");
  }
  if (ws.empty_dir) {
    // With a size limit: a tmpfs, which enforces it (the local volume driver
    // cannot). The trade-off: it lives in memory, and what the task writes
    // there counts against its memory limit, where Kubernetes' disk-backed
    // emptyDir does not. Its mode is Docker's default 1777, writable by any
    // user, like an emptyDir.
    if (ws.empty_dir->size_limit && ws.empty_dir->size_limit->Value() > 0) {
      Json mount = Mount("tmpfs", "", ws.mount_path, false);
      Json tmpfs = Json::object();
      tmpfs["SizeBytes"] = ws.empty_dir->size_limit->Value();
      mount["TmpfsOptions"] = std::move(tmpfs);
      return mount;
    }
    // Without one: an anonymous volume, on disk like an emptyDir. It goes
    // with the container only when the container is removed with its
    // volumes (DELETE /containers/{id}?v=true). Unlike an emptyDir it is
    // owned by root, mode 755, unless the image has the directory: a task
    // running as another user may not be able to write to it.
    return Mount("volume", "", ws.mount_path, false);
  }
  if (ws.host_path) {
    const std::string path_field = "spec.workspace.hostPath.path";
    const auto parts = PathComponents(ws.host_path->path);
    if (!parts) {
      return InvalidArgument(path_field + ": " + Quoted(ws.host_path->path) +
                             " must be an absolute path without '..' components");
    }
    if (!HostPathAllowed(*parts, policy.allowed_host_paths)) {
      return InvalidArgument(path_field + ": " + Quoted(ws.host_path->path) +
                             " is not allowed: the operator must be started with --allow-host-path covering it");
    }
    // The normalised path: the one the allow-list was checked against.
    return Mount("bind", JoinPath(*parts), ws.mount_path, ws.host_path->read_only);
  }
  if (!policy.allow_docker_volumes) {
    return InvalidArgument(
        "spec.workspace.dockerVolume: the operator's policy does not allow named Docker volumes; use emptyDir");
  }
  return Mount("volume", ws.docker_volume->name, ws.mount_path, false);
}

// podLabels first, so that ours win (validation keeps ctask.io/ keys out of
// podLabels anyway). Docker has no annotations: the generation is a label.
// Docker has no namespaces either: the task's is a label, so the operator
// can find its containers per namespace.
std::map<std::string, std::string> DockerLabels(const api::ContainerTask& task, const std::string& ns, int attempt) {
  std::map<std::string, std::string> labels = task.spec.pod_labels;
  labels[kLabelManagedBy] = kManagedByValue;
  labels[kLabelTask] = task.metadata.name;
  labels[kLabelNamespace] = ns;
  if (!task.metadata.uid.empty()) labels[kLabelTaskUid] = task.metadata.uid;
  labels[kLabelAttempt] = std::to_string(attempt);
  if (task.item) labels[kLabelItem] = std::to_string(task.item->index);
  labels[kAnnotationGeneration] = std::to_string(task.metadata.generation);
  return labels;
}

// HostConfig: no network when isolated, no restarts (the operator retries
// with a new container), the hardening and limits a pod would have.
Json DockerHostConfig(const api::ContainerTaskSpec& spec, const Limits& limits, const DockerPolicy& policy,
                      std::optional<Json> mount) {
  Json host = Json::object();
  // Omitted: Docker's default network. Isolated: no network at all.
  if (spec.network.isolated) host["NetworkMode"] = "none";
  // The operator decides on retries, with a new container per attempt.
  Json restart = Json::object();
  restart["Name"] = "no";
  host["RestartPolicy"] = std::move(restart);
  // Kept after exit, so the runtime can read the exit code and the logs.
  host["AutoRemove"] = false;
  host["CapDrop"] = Json::array();
  host["CapDrop"].push_back("ALL");
  host["Privileged"] = false;
  host["ReadonlyRootfs"] = spec.security_context.read_only_root_filesystem;
  // seccomp stays Docker's default profile, the counterpart of RuntimeDefault.
  host["SecurityOpt"] = Json::array();
  host["SecurityOpt"].push_back("no-new-privileges");
  if (limits.memory_bytes) host["Memory"] = *limits.memory_bytes;
  if (limits.nano_cpus) host["NanoCpus"] = *limits.nano_cpus;
  // No swap beyond the limit, so a task over it is OOMKilled as in Kubernetes.
  if (limits.memory_bytes) host["MemorySwap"] = *limits.memory_bytes;
  if (policy.pids_limit > 0) host["PidsLimit"] = policy.pids_limit;  // <= 0: Docker's unlimited
  if (mount || !policy.termination_log.empty() || !policy.inputs.empty()) host["Mounts"] = Json::array();
  for (const auto& [source, file] : policy.inputs) {
    Json input = Json::object();
    input["Type"] = "bind";
    input["Source"] = source;
    input["Target"] = std::string(kInputsDir) + "/" + file;
    input["ReadOnly"] = true;
    host["Mounts"].push_back(std::move(input));
  }
  if (mount) host["Mounts"].push_back(std::move(*mount));
  if (!policy.termination_log.empty()) {
    Json termination = Json::object();
    termination["Type"] = "bind";
    termination["Source"] = policy.termination_log;
    termination["Target"] = kTerminationLogPath;
    termination["ReadOnly"] = false;
    host["Mounts"].push_back(std::move(termination));
  }
  // The task's process is PID 1 with no init, as in a Kubernetes pod.
  host["Init"] = false;
  return host;
}

}  // namespace

Result<DockerContainer> RenderDockerContainer(const api::ContainerTask& task, int attempt,
                                              const std::vector<api::ConfigData>& configs, const DockerPolicy& policy) {
  api::ContainerTaskSpec spec = task.spec;
  attempt = std::max(attempt, 1);  // the rule of DerivedContainerName
  const std::string ns = api::NamespaceOrDefault(task.metadata.namespace_);
  if (!spec.run_after.empty()) {
    // First, so the task's own env and command may use $(CTASK_INPUTS); the
    // task's variable of that name gives way, as in the Job.
    std::erase_if(spec.env, [](const api::EnvVar& var) { return var.name == kEnvInputs; });
    spec.env.insert(spec.env.begin(), api::EnvVar{kEnvInputs, std::string(kInputsDir), std::nullopt});
  }

  Result<Environment> env = ResolveEnv(spec, ns, configs);
  if (!env) return std::unexpected(env.error());
  Result<std::string> user = DockerUser(spec.security_context);
  if (!user) return std::unexpected(user.error());
  Result<Limits> limits = DockerLimits(spec.resources.limits);
  if (!limits) return std::unexpected(limits.error());
  std::optional<Json> mount;
  if (spec.workspace) {
    Result<Json> m = WorkspaceMount(*spec.workspace, policy);
    if (!m) return std::unexpected(m.error());
    mount = std::move(*m);
  }

  // command and args as in Kubernetes: command replaces the image's
  // ENTRYPOINT, args its CMD, both after $(VAR) expansion with the final
  // environment. Entrypoint is left out when there is no command, since an
  // empty one would clear the image's. With an Entrypoint and no Cmd, Docker
  // does not use the image's CMD (daemon merge(): the image's Cmd is taken
  // only when no Entrypoint is given) — the Kubernetes rule exactly.
  Json entrypoint = Json::array();
  Json cmd = Json::array();
  for (const std::string& arg : spec.command) entrypoint.push_back(Expand(arg, *env).text);
  for (const std::string& arg : spec.args) cmd.push_back(Expand(arg, *env).text);

  Json body = Json::object();
  if (!user->empty()) body["User"] = *user;
  // Output is read from the container's log; nothing is attached at create.
  body["AttachStdin"] = false;
  body["AttachStdout"] = true;
  body["AttachStderr"] = true;
  body["Tty"] = false;  // a TTY would merge stderr into stdout and add \r
  body["OpenStdin"] = false;
  if (!env->empty()) body["Env"] = env->EnvJson();
  if (!cmd.empty()) body["Cmd"] = std::move(cmd);
  body["Image"] = spec.image;
  if (!spec.working_dir.empty()) body["WorkingDir"] = spec.working_dir;
  if (!entrypoint.empty()) body["Entrypoint"] = std::move(entrypoint);
  Json labels = Json::object();
  for (const auto& [key, value] : DockerLabels(task, ns, attempt)) labels[key] = value;
  body["Labels"] = std::move(labels);

  body["HostConfig"] = DockerHostConfig(spec, *limits, policy, std::move(mount));

  if (!IsAllUtf8(body)) {
    return InvalidArgument("spec: a text value is not valid UTF-8; the Docker API carries text as JSON, UTF-8 only");
  }
  DockerContainer out;
  out.name = api::DerivedContainerName(ns, task.metadata.name, attempt, api::ItemIndexOf(task.item));
  out.body = std::move(body);
  out.secret_env = env->SecretNames();
  return out;
}

}  // namespace ctask::render
