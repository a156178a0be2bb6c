#include "cluster/fake_kubelet.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <utility>

#include "kube/resource.h"
#include "util/sha256.h"
#include "util/sleep.h"
#include "util/time.h"

namespace ctask::testing {

using api::Json;

namespace {

namespace resources = kube::resources;

constexpr const char* kFakeNodeLabel = "ctask.io/fake-kubelet";
// The label hack/cluster/node.sh gives the real node (kubelet --node-labels).
constexpr const char* kRealNodeLabel = "ctask.io/test-node";
constexpr const char* kNodeLeaseNamespace = "kube-node-lease";
constexpr const char* kLocalAddress = "127.0.0.1";
// The kubelet's lease duration (its --node-lease-duration-seconds default).
constexpr int kLeaseDurationSeconds = 40;
// A fake node whose lease nobody renewed for this long belongs to a test
// process that is gone.
constexpr std::chrono::seconds kStaleNodeAge{120};
// How long Start and WatchNamespace wait for a namespace's first list.
constexpr std::chrono::seconds kSyncTimeout{30};
// Polling interval of the Wait* helpers.
constexpr std::chrono::milliseconds kPollInterval{50};
// How often a followed log looks for a client that went away.
constexpr std::chrono::milliseconds kFollowWake{250};
// The kubelet's message for a container killed before it was ever seen
// running.
constexpr const char* kUnknownMessage = "The container could not be located when the pod was terminated";

kube::Resource Nodes() {
  return {"", "v1", "nodes", "Node", false};
}

std::string StrategicMergePatch() {
  return "application/strategic-merge-patch+json";
}

LogTimePoint Now() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(LogClock::now());
}

// metav1.Time: whole seconds.
std::string Rfc3339(LogTimePoint t) {
  return FormatRfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

// metav1.MicroTime: "2026-11-23T18:50:00.123456Z".
std::string MicroTime(LogTimePoint t) {
  std::string text = FormatLogTimestamp(t);  // nine fraction digits
  return text.substr(0, text.size() - 4) + "Z";
}

std::string StringAt(const Json& object, std::initializer_list<const char*> path) {
  const Json* at = &object;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return "";
    at = &(*at)[key];
  }
  return at->is_string() ? at->get<std::string>() : "";
}

bool Has(const Json& object, const char* a, const char* b) {
  return object.is_object() && object.contains(a) && object[a].is_object() && object[a].contains(b) &&
         !object[a][b].is_null();
}

std::string NextNodeName() {
  static std::atomic<int> counter{0};
  return "ctask-fake-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

std::string DefaultCaDir() {
  const char* dir = std::getenv("CTASK_CLUSTER_DIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp/ctask-cluster") + "/certs";
}

// "docker.io/library/busybox:1.36" -> "docker.io/library/busybox"
std::string Repository(const std::string& image) {
  std::string repo = image.substr(0, image.find('@'));
  const size_t slash = repo.rfind('/');
  const size_t colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) repo.resize(colon);
  return repo;
}

Json Condition(const std::string& type, bool status, const std::string& reason, const std::string& message,
               const std::string& transition) {
  Json c = {{"type", type},
            {"status", status ? "True" : "False"},
            {"lastProbeTime", nullptr},
            {"lastTransitionTime", transition}};
  c["reason"] = reason.empty() ? Json(nullptr) : Json(reason);
  c["message"] = message.empty() ? Json(nullptr) : Json(message);
  return c;
}

}  // namespace

struct FakeKubelet::PodState {
  enum class Container { kWaiting, kRunning, kTerminated };

  // Its log's followers wait on this, not on the harness-wide `changed_`:
  // with a thousand pods followed, one line must not wake every follower.
  std::condition_variable log_changed;

  std::string ns, name, uid;
  std::vector<std::string> containers;  // spec.containers[].name
  std::vector<std::string> images;
  std::vector<bool> fallback_to_logs;  // terminationMessagePolicy FallbackToLogsOnError

  // Guarded by the harness's mu_:
  Container container = Container::kWaiting;
  std::string waiting_reason = "ContainerCreating";
  std::string waiting_message;
  LogTimePoint admitted_at;
  std::optional<LogTimePoint> started_at;
  LogTimePoint finished_at;
  ExitOptions exit;  // reason and message resolved
  std::vector<LogEntry> log;
  std::map<std::string, std::pair<bool, LogTimePoint>> conditions;  // type -> (status, since)
  std::optional<AutoRun> auto_run;
  std::chrono::steady_clock::time_point auto_exit_at;
  std::optional<std::chrono::steady_clock::time_point> deletion_due;
  bool deletion_confirmed = false;
  bool status_dirty = false;  // the last status write failed
  bool gone = false;          // deleted from the API server, or replaced

  // Serializes status writes of this pod (taken before mu_, never while
  // holding it).
  std::mutex write_mu;
};

struct FakeKubelet::Watched {
  kube::ObjectCache cache;
  std::unique_ptr<kube::Reflector> reflector;
  std::jthread thread;
};

FakeKubelet::FakeKubelet(kube::KubeClient& client, FakeKubeletOptions options)
    : client_(client), options_(std::move(options)) {
  node_name_ = options_.node_name.empty() ? NextNodeName() : options_.node_name;
  auto_run_ = options_.auto_run;
}

FakeKubelet::~FakeKubelet() {
  Stop();
}

// --- start and stop -------------------------------------------------------------

Status FakeKubelet::Start() {
  if (started_) return MakeError(ErrorCode::kFailedPrecondition, "the fake kubelet was started already");
  started_ = true;
  Result<TlsIdentity> identity = MakeServingIdentity(options_.ca_dir.empty() ? DefaultCaDir() : options_.ca_dir);
  if (!identity) return std::unexpected(identity.error());
  signed_by_ca_ = identity->signed_by_cluster_ca;
  Status served = server_.Start(
      *identity, [this](const HttpRequest& request, HttpResponse& response) { ServeLogs(request, response); });
  if (!served) return served;

  if (Status alone = RefuseBesideARealNode(); !alone) return alone;
  CollectStaleNodes();
  if (Status registered = RegisterNode(); !registered) return registered;
  heartbeat_ = std::jthread([this](std::stop_token stop) { Heartbeat(stop); });

  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Work(); });
  for (const std::string& ns : options_.namespaces) {
    if (Status watching = WatchNamespace(ns); !watching) return watching;
  }
  return {};
}

void FakeKubelet::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [key, state] : pods_) state->log_changed.notify_all();
  }
  changed_.notify_all();
  server_.Stop();
  std::map<std::string, std::unique_ptr<Watched>> watched;
  {
    std::lock_guard lock(mu_);
    watched.swap(watched_);
  }
  for (auto& [ns, w] : watched) {
    w->thread.request_stop();
    if (w->thread.joinable()) w->thread.join();
  }
  queue_.ShutDown();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
  heartbeat_.request_stop();
  if (heartbeat_.joinable()) heartbeat_.join();

  if (options_.delete_pods_on_stop) {
    std::vector<std::shared_ptr<PodState>> pods;
    {
      std::lock_guard lock(mu_);
      for (auto& [key, state] : pods_) {
        if (!state->gone) pods.push_back(state);
      }
    }
    for (const auto& state : pods) {
      kube::DeleteOptions options;
      options.grace_period_seconds = 0;
      options.precondition_uid = state->uid;
      (void)client_.Delete(resources::Pods(), state->ns, state->name, options);
    }
  }
  (void)client_.Delete(resources::Leases(), kNodeLeaseNamespace, node_name_);
  (void)client_.Delete(Nodes(), "", node_name_);
}

Status FakeKubelet::WatchNamespace(const std::string& ns) {
  auto watched = std::make_unique<Watched>();
  kube::ReflectorOptions options;
  options.resource = resources::Pods();
  options.ns = ns;
  options.label_selector = options_.label_selector;
  options.initial_backoff = std::chrono::milliseconds(100);
  options.max_backoff = std::chrono::milliseconds(2'000);
  watched->reflector = std::make_unique<kube::Reflector>(
      client_, watched->cache, options,
      [this](const kube::Delta& delta) { queue_.Add(kube::ObjectKey(delta.object)); });
  kube::Reflector* reflector = watched->reflector.get();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return MakeError(ErrorCode::kFailedPrecondition, "the fake kubelet is stopping");
    if (watched_.contains(ns)) return {};
    Watched* raw = watched.get();
    watched_[ns] = std::move(watched);
    raw->thread = std::jthread([reflector](std::stop_token stop) { reflector->Run(stop); });
  }
  const auto deadline = std::chrono::steady_clock::now() + kSyncTimeout;
  while (!reflector->HasSynced()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return MakeError(ErrorCode::kDeadlineExceeded,
                       "fake kubelet " + node_name_ + ": no list of the pods in namespace " + ns + " within 30s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

// --- the node --------------------------------------------------------------------

Status FakeKubelet::RegisterNode() {
  const std::string now = Rfc3339(Now());
  Json resources_json = {{"cpu", "64"}, {"memory", "256Gi"}, {"pods", "1000"}, {"ephemeral-storage", "1Ti"}};
  Json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", node_name_},
                 {"labels",
                  {{"kubernetes.io/hostname", node_name_},
                   {"kubernetes.io/os", "linux"},
                   {"kubernetes.io/arch", "amd64"},
                   {kFakeNodeLabel, "true"}}}}},
               {"spec", Json::object()},
               {"status",
                {{"addresses", Json::array({{{"type", "InternalIP"}, {"address", kLocalAddress}},
                                            {{"type", "Hostname"}, {"address", kLocalAddress}}})},
                 {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", server_.port()}}}}},
                 {"capacity", resources_json},
                 {"allocatable", resources_json},
                 {"conditions", Json::array({{{"type", "Ready"},
                                              {"status", "True"},
                                              {"reason", "KubeletReady"},
                                              {"message", "kubelet is posting ready status"},
                                              {"lastHeartbeatTime", now},
                                              {"lastTransitionTime", now}}})},
                 {"nodeInfo",
                  {{"kubeletVersion", "v1.35.8-ctask-fake"},
                   {"containerRuntimeVersion", "fake://1"},
                   {"operatingSystem", "linux"},
                   {"architecture", "amd64"},
                   {"osImage", "ctask fake kubelet"},
                   {"kernelVersion", ""},
                   {"machineID", node_name_},
                   {"systemUUID", node_name_},
                   {"bootID", node_name_}}}}}};
  Result<Json> created = client_.Create(Nodes(), "", node);
  if (!created) return std::unexpected(created.error().WithContext("fake kubelet: register node " + node_name_));
  node_uid_ = StringAt(*created, {"metadata", "uid"});
  return Renew();
}

// The lease and the Ready heartbeat, as the kubelet renews them.
Status FakeKubelet::Renew() {
  const LogTimePoint now = Now();
  Result<Json> renewed = client_.MergePatch(resources::Leases(), kNodeLeaseNamespace, node_name_,
                                            {{"spec", {{"renewTime", MicroTime(now)}}}});
  if (!renewed && renewed.error().code() == ErrorCode::kNotFound) {
    Json lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata",
         {{"name", node_name_},
          {"namespace", kNodeLeaseNamespace},
          {"ownerReferences",
           Json::array({{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node_name_}, {"uid", node_uid_}}})}}},
        {"spec",
         {{"holderIdentity", node_name_},
          {"leaseDurationSeconds", kLeaseDurationSeconds},
          {"renewTime", MicroTime(now)}}}};
    renewed = client_.Create(resources::Leases(), kNodeLeaseNamespace, lease);
  }
  if (!renewed) return std::unexpected(renewed.error().WithContext("fake kubelet: renew the lease of " + node_name_));
  // A merge patch replaces the whole list: the conditions are all ours.
  const std::string stamp = Rfc3339(now);
  Json ready = {{"type", "Ready"},
                {"status", "True"},
                {"reason", "KubeletReady"},
                {"message", "kubelet is posting ready status"},
                {"lastHeartbeatTime", stamp}};
  Result<Json> node = client_.Get(Nodes(), "", node_name_);
  if (!node) return std::unexpected(node.error().WithContext("fake kubelet: read node " + node_name_));
  std::string since = stamp;
  const Json& conditions = (*node)["status"].value("conditions", Json::array());
  for (const Json& c : conditions) {
    if (c.value("type", "") == "Ready" && c.value("status", "") == "True") since = c.value("lastTransitionTime", stamp);
  }
  ready["lastTransitionTime"] = since;
  Result<Json> patched =
      client_.MergePatch(Nodes(), "", node_name_, {{"status", {{"conditions", Json::array({ready})}}}}, "status");
  if (!patched) return std::unexpected(patched.error().WithContext("fake kubelet: heartbeat of " + node_name_));
  return {};
}

void FakeKubelet::Heartbeat(std::stop_token stop) {
  while (SleepFor(options_.heartbeat, stop)) (void)Renew();
}

// The real node of hack/cluster/up.sh --node comes with kube-scheduler, which
// would bind this fake node's pods to the real one: a test would then wait for
// a pod the fake node never sees. Fail at once instead, saying what to do.
Status FakeKubelet::RefuseBesideARealNode() {
  kube::ListOptions options;
  options.label_selector = std::string(kRealNodeLabel) + "=true";
  Result<kube::ObjectList> nodes = client_.List(Nodes(), "", options);
  if (!nodes || nodes->items.empty()) return {};
  return MakeError(ErrorCode::kFailedPrecondition,
                   "a real node (" + StringAt(nodes->items.front(), {"metadata", "name"}) +
                       ", hack/cluster/up.sh --node) is registered, and its scheduler would take the fake node's "
                       "pods; stop the node (hack/cluster/down.sh --node) to run the fake-kubelet suites; the node "
                       "tier, ctest -L node, is the one that needs it");
}

void FakeKubelet::CollectStaleNodes() {
  kube::ListOptions options;
  options.label_selector = std::string(kFakeNodeLabel) + "=true";
  Result<kube::ObjectList> nodes = client_.List(Nodes(), "", options);
  if (!nodes) return;
  const auto now = std::chrono::system_clock::now();
  auto stale = [&](const std::string& stamp) {
    std::optional<Timestamp> t = ParseRfc3339(stamp);
    return !t || now - *t > kStaleNodeAge;
  };
  for (const Json& node : nodes->items) {
    const std::string name = StringAt(node, {"metadata", "name"});
    if (name.empty() || !stale(StringAt(node, {"metadata", "creationTimestamp"}))) continue;
    Result<Json> lease = client_.Get(resources::Leases(), kNodeLeaseNamespace, name);
    if (lease && !stale(StringAt(*lease, {"spec", "renewTime"}))) continue;
    (void)client_.Delete(Nodes(), "", name);
    (void)client_.Delete(resources::Leases(), kNodeLeaseNamespace, name);
  }
}

// --- the sync loop ---------------------------------------------------------------

void FakeKubelet::Work() {
  while (std::optional<std::string> key = queue_.Get()) {
    Status synced = Sync(*key);
    if (synced) {
      queue_.Forget(*key);
    } else {
      queue_.AddRateLimited(*key);
    }
    queue_.Done(*key);
  }
}

Status FakeKubelet::Sync(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {};
  const std::string ns = key.substr(0, slash);
  const std::string name = key.substr(slash + 1);
  std::optional<Json> object;
  {
    std::lock_guard lock(mu_);
    auto it = watched_.find(ns);
    if (it == watched_.end()) return {};
    object = it->second->cache.Get(key);
  }
  if (!object) {
    // Deleted: followers of its log end, controls answer NotFound.
    std::lock_guard lock(mu_);
    if (auto it = pods_.find(key); it != pods_.end()) {
      it->second->gone = true;
      it->second->log_changed.notify_all();
      pods_.erase(it);
    }
    changed_.notify_all();
    return {};
  }
  const Json& pod = *object;
  const std::string uid = StringAt(pod, {"metadata", "uid"});
  const std::string node = StringAt(pod, {"spec", "nodeName"});
  const bool deleting = Has(pod, "metadata", "deletionTimestamp");
  const std::string phase = StringAt(pod, {"status", "phase"});
  if (node.empty()) {
    if (!options_.bind || deleting || phase == "Succeeded" || phase == "Failed") return {};
    return Bind(pod);
  }
  if (node != node_name_) return {};

  std::shared_ptr<PodState> state;
  {
    std::lock_guard lock(mu_);
    if (auto it = pods_.find(key); it != pods_.end()) {
      if (it->second->uid == uid) {
        state = it->second;
      } else {
        it->second->gone = true;  // an earlier pod of the same name
        it->second->log_changed.notify_all();
        pods_.erase(it);
        changed_.notify_all();
      }
    }
  }
  if (!state) {
    if (Status admitted = Admit(key, pod); !admitted) return admitted;
    state = Find(ns, name);
    if (!state) return {};
  }

  bool dirty = false;
  bool auto_due = false;
  {
    std::lock_guard lock(mu_);
    if (deleting && !state->deletion_due)
      state->deletion_due = std::chrono::steady_clock::now() + options_.deletion_delay;
    dirty = state->status_dirty;
    auto_due = state->auto_run.has_value() && state->container != PodState::Container::kTerminated;
  }
  if (dirty) {
    std::lock_guard write(state->write_mu);
    if (Status written = WriteStatus(*state); !written) return written;
  }
  if (deleting) {
    std::chrono::steady_clock::time_point due;
    {
      std::lock_guard lock(mu_);
      if (state->deletion_confirmed) return {};
      due = *state->deletion_due;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < due) {
      queue_.AddAfter(key, due - now);
      return {};
    }
    return Kill(state);
  }
  if (auto_due) return RunAuto(state);
  return {};
}

Status FakeKubelet::Bind(const Json& pod) {
  const std::string ns = StringAt(pod, {"metadata", "namespace"});
  const std::string name = StringAt(pod, {"metadata", "name"});
  Json binding = {{"apiVersion", "v1"},
                  {"kind", "Binding"},
                  {"metadata", {{"name", name}, {"uid", StringAt(pod, {"metadata", "uid"})}}},
                  {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node_name_}}}};
  Result<Json> bound = client_.Call("POST", kube::ResourcePath(resources::Pods(), ns, name, "binding"),
                                    "bind pod " + ns + "/" + name + " to " + node_name_, &binding);
  if (!bound) {
    // Bound meanwhile, or gone: the next event tells.
    if (bound.error().code() == ErrorCode::kConflict || bound.error().code() == ErrorCode::kNotFound) return {};
    return std::unexpected(bound.error());
  }
  std::lock_guard lock(mu_);
  ++stats_.bound;
  return {};
}

Status FakeKubelet::Admit(const std::string& key, const Json& pod) {
  auto state = std::make_shared<PodState>();
  state->ns = StringAt(pod, {"metadata", "namespace"});
  state->name = StringAt(pod, {"metadata", "name"});
  state->uid = StringAt(pod, {"metadata", "uid"});
  if (pod.contains("spec") && pod["spec"].contains("containers")) {
    for (const Json& c : pod["spec"]["containers"]) {
      state->containers.push_back(c.value("name", ""));
      state->images.push_back(c.value("image", ""));
      state->fallback_to_logs.push_back(c.value("terminationMessagePolicy", "") == "FallbackToLogsOnError");
    }
  }
  state->admitted_at = Now();
  const std::string phase = StringAt(pod, {"status", "phase"});
  const bool terminal = phase == "Succeeded" || phase == "Failed";
  {
    std::lock_guard lock(mu_);
    if (stopping_) return {};
    if (terminal) {
      // Finished before this harness saw it: nothing left to run or report.
      state->container = PodState::Container::kTerminated;
    } else if (auto_run_) {
      state->auto_run = auto_run_;
      state->container = PodState::Container::kRunning;
      state->started_at = state->admitted_at;
      std::string text;
      for (std::string line : auto_run_->lines) {
        if (line.empty() || line.back() != '\n') line += '\n';
        text += line;
      }
      state->log = SplitIntoEntries(text, state->admitted_at, std::nullopt);
      state->auto_exit_at = std::chrono::steady_clock::now() + auto_run_->run_for;
    }
    pods_[key] = state;
    ++stats_.admitted;
  }
  changed_.notify_all();
  if (terminal) return {};
  std::lock_guard write(state->write_mu);
  return WriteStatus(*state);
}

Status FakeKubelet::RunAuto(const std::shared_ptr<PodState>& state) {
  std::lock_guard write(state->write_mu);
  {
    std::lock_guard lock(mu_);
    if (!state->auto_run || state->container == PodState::Container::kTerminated) return {};
    const auto now = std::chrono::steady_clock::now();
    if (now < state->auto_exit_at) {
      queue_.AddAfter(state->ns + "/" + state->name, state->auto_exit_at - now);
      return {};
    }
    if (Status ended =
            ExitLocked(*state, {state->auto_run->exit_code, state->auto_run->reason, state->auto_run->message});
        !ended) {
      return ended;
    }
  }
  changed_.notify_all();
  state->log_changed.notify_all();
  return WriteStatus(*state);
}

Status FakeKubelet::Kill(const std::shared_ptr<PodState>& state) {
  {
    std::lock_guard write(state->write_mu);
    bool killed = false;
    {
      std::lock_guard lock(mu_);
      if (state->container != PodState::Container::kTerminated) {
        const bool ran = state->container == PodState::Container::kRunning;
        (void)ExitLocked(*state, {137, ran ? "Error" : "ContainerStatusUnknown", ran ? "" : kUnknownMessage});
        killed = true;
      }
    }
    if (killed) {
      changed_.notify_all();
      state->log_changed.notify_all();
      if (Status written = WriteStatus(*state); !written && written.error().code() != ErrorCode::kNotFound) {
        return written;
      }
    }
  }
  kube::DeleteOptions options;
  options.grace_period_seconds = 0;
  options.precondition_uid = state->uid;
  Status deleted = client_.Delete(resources::Pods(), state->ns, state->name, options);
  if (!deleted && deleted.error().code() != ErrorCode::kNotFound && deleted.error().code() != ErrorCode::kConflict) {
    return deleted;
  }
  std::lock_guard lock(mu_);
  state->deletion_confirmed = true;
  ++stats_.deleted;
  return {};
}

// --- status ------------------------------------------------------------------------

Status FakeKubelet::ExitLocked(PodState& state, const ExitOptions& exit) {
  if (state.container == PodState::Container::kTerminated) {
    return MakeError(ErrorCode::kFailedPrecondition, "pod " + state.ns + "/" + state.name +
                                                         " has exited already (restartPolicy Never: exits are final)");
  }
  state.exit = exit;
  if (state.exit.reason.empty()) state.exit.reason = exit.exit_code == 0 ? "Completed" : "Error";
  state.finished_at = Now();
  state.container = PodState::Container::kTerminated;
  ++stats_.exited;
  return {};
}

Status FakeKubelet::WriteStatus(PodState& state) {
  Json patch;
  {
    std::lock_guard lock(mu_);
    using C = PodState::Container;
    const LogTimePoint now = Now();
    const bool waiting = state.container == C::kWaiting;
    const bool running = state.container == C::kRunning;
    const bool terminated = state.container == C::kTerminated;
    const bool succeeded = terminated && state.exit.exit_code == 0;
    const std::string phase = waiting ? "Pending" : running ? "Running" : succeeded ? "Succeeded" : "Failed";

    std::string unready;
    for (const std::string& name : state.containers) unready += (unready.empty() ? "" : " ") + name;
    const std::string not_ready_reason = terminated ? "PodCompleted" : running ? "" : "ContainersNotReady";
    const std::string not_ready_message = waiting ? "containers with unready status: [" + unready + "]" : "";
    // (type, status, reason, message); lastTransitionTime moves only when
    // the status does, as the kubelet keeps it.
    const std::vector<std::tuple<std::string, bool, std::string, std::string>> wanted = {
        {"PodReadyToStartContainers", !terminated && (state.started_at || state.waiting_reason != "ContainerCreating"),
         "", ""},
        {"Initialized", true, "", ""},
        {"ContainersReady", running, not_ready_reason, not_ready_message},
        {"Ready", running, not_ready_reason, not_ready_message},
    };
    Json conditions = Json::array();
    for (const auto& [type, status, reason, message] : wanted) {
      auto it = state.conditions.find(type);
      if (it == state.conditions.end() || it->second.first != status) {
        state.conditions[type] = {status, now};
        it = state.conditions.find(type);
      }
      conditions.push_back(Condition(type, status, reason, message, Rfc3339(it->second.second)));
    }

    Json statuses = Json::array();
    for (size_t i = 0; i < state.containers.size(); ++i) {
      const std::string container_id = "containerd://" + Sha256Hex(state.uid + "/" + state.containers[i]);
      const bool ever_started = state.started_at.has_value();
      Json s = {{"name", state.containers[i]},
                {"image", state.images[i]},
                {"imageID", ever_started || terminated
                                ? Json(Repository(state.images[i]) + "@sha256:" + Sha256Hex(state.images[i]))
                                : Json("")},
                {"ready", running},
                {"started", running},
                {"restartCount", 0},
                {"lastState", Json::object()}};
      s["containerID"] = ever_started || terminated ? Json(container_id) : Json(nullptr);
      Json st = {{"waiting", nullptr}, {"running", nullptr}, {"terminated", nullptr}};
      if (waiting) {
        st["waiting"] = {{"reason", state.waiting_reason}};
        st["waiting"]["message"] = state.waiting_message.empty() ? Json(nullptr) : Json(state.waiting_message);
      } else if (running) {
        st["running"] = {{"startedAt", Rfc3339(*state.started_at)}};
      } else {
        std::string message = state.exit.message;
        if (message.empty() && state.exit.exit_code != 0 && state.fallback_to_logs[i]) {
          message = TerminationMessageFromLog(state.log);
        }
        st["terminated"] = {{"exitCode", state.exit.exit_code},
                            {"reason", state.exit.reason},
                            {"startedAt", Rfc3339(state.started_at.value_or(state.finished_at))},
                            {"finishedAt", Rfc3339(state.finished_at)},
                            {"containerID", container_id}};
        st["terminated"]["message"] = message.empty() ? Json(nullptr) : Json(message);
      }
      s["state"] = st;
      statuses.push_back(s);
    }
    patch = {{"metadata", {{"uid", state.uid}}},
             {"status",
              {{"phase", phase},
               {"conditions", conditions},
               {"hostIP", kLocalAddress},
               {"hostIPs", Json::array({{{"ip", kLocalAddress}}})},
               {"startTime", Rfc3339(state.admitted_at)},
               {"containerStatuses", statuses}}}};
  }
  Result<Json> written = client_.Call("PATCH", kube::ResourcePath(resources::Pods(), state.ns, state.name, "status"),
                                      "fake kubelet: write the status of pod " + state.ns + "/" + state.name, &patch,
                                      StrategicMergePatch());
  std::lock_guard lock(mu_);
  if (!written) {
    // Retried by the sync loop (a pod that is gone is not).
    state.status_dirty = written.error().code() != ErrorCode::kNotFound;
    ++stats_.write_errors;
    return std::unexpected(written.error());
  }
  state.status_dirty = false;
  ++stats_.status_writes;
  return {};
}

// --- controls -----------------------------------------------------------------------

std::shared_ptr<FakeKubelet::PodState> FakeKubelet::Find(const std::string& ns, const std::string& pod) const {
  std::lock_guard lock(mu_);
  auto it = pods_.find(ns + "/" + pod);
  return it == pods_.end() ? nullptr : it->second;
}

namespace {
std::unexpected<Error> NotAdmitted(const std::string& node, const std::string& ns, const std::string& pod) {
  return MakeError(ErrorCode::kNotFound, "pod " + ns + "/" + pod + " is not on fake node " + node +
                                             " (not created, not bound yet, or in a namespace it does not watch)");
}
}  // namespace

Status FakeKubelet::SetRunning(const std::string& ns, const std::string& pod) {
  std::shared_ptr<PodState> state = Find(ns, pod);
  if (!state) return NotAdmitted(node_name_, ns, pod);
  std::lock_guard write(state->write_mu);
  {
    std::lock_guard lock(mu_);
    if (state->container == PodState::Container::kTerminated) {
      return MakeError(ErrorCode::kFailedPrecondition, "pod " + ns + "/" + pod + " has exited: it cannot run again");
    }
    if (state->container != PodState::Container::kRunning) {
      state->container = PodState::Container::kRunning;
      state->started_at = Now();
    }
  }
  changed_.notify_all();
  state->log_changed.notify_all();
  return WriteStatus(*state);
}

Status FakeKubelet::Exit(const std::string& ns, const std::string& pod, ExitOptions exit) {
  std::shared_ptr<PodState> state = Find(ns, pod);
  if (!state) return NotAdmitted(node_name_, ns, pod);
  std::lock_guard write(state->write_mu);
  {
    std::lock_guard lock(mu_);
    if (Status ended = ExitLocked(*state, exit); !ended) return ended;
  }
  changed_.notify_all();
  state->log_changed.notify_all();
  return WriteStatus(*state);
}

Status FakeKubelet::SetWaiting(const std::string& ns, const std::string& pod, const std::string& reason,
                               const std::string& message) {
  std::shared_ptr<PodState> state = Find(ns, pod);
  if (!state) return NotAdmitted(node_name_, ns, pod);
  std::lock_guard write(state->write_mu);
  {
    std::lock_guard lock(mu_);
    if (state->container != PodState::Container::kWaiting) {
      return MakeError(
          ErrorCode::kFailedPrecondition,
          "pod " + ns + "/" + pod + ": a container that started does not wait again (restartPolicy Never)");
    }
    state->waiting_reason = reason;
    state->waiting_message = message;
  }
  changed_.notify_all();
  state->log_changed.notify_all();
  return WriteStatus(*state);
}

Status FakeKubelet::AppendLog(const std::string& ns, const std::string& pod, std::string_view text) {
  std::shared_ptr<PodState> state = Find(ns, pod);
  if (!state) return NotAdmitted(node_name_, ns, pod);
  {
    std::lock_guard lock(mu_);
    if (state->container == PodState::Container::kTerminated) {
      return MakeError(ErrorCode::kFailedPrecondition, "pod " + ns + "/" + pod + " has exited: it prints nothing more");
    }
    std::optional<LogTimePoint> last;
    if (!state->log.empty()) last = state->log.back().time;
    for (LogEntry& entry : SplitIntoEntries(text, Now(), last)) state->log.push_back(std::move(entry));
  }
  changed_.notify_all();
  state->log_changed.notify_all();
  return {};
}

Result<std::string> FakeKubelet::LogOf(const std::string& ns, const std::string& pod) const {
  std::shared_ptr<PodState> state = Find(ns, pod);
  if (!state) return NotAdmitted(node_name_, ns, pod);
  std::lock_guard lock(mu_);
  std::string text;
  for (const LogEntry& entry : state->log) text += entry.text;
  return text;
}

void FakeKubelet::SetAutoRun(std::optional<AutoRun> run) {
  std::lock_guard lock(mu_);
  auto_run_ = std::move(run);
}

FakeKubeletStats FakeKubelet::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<std::string> FakeKubelet::WaitForPod(const std::string& ns, const std::string& label_selector,
                                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string seen = "no pod";
  for (;;) {
    kube::ListOptions options;
    options.label_selector = label_selector;
    Result<kube::ObjectList> pods = client_.List(resources::Pods(), ns, options);
    if (pods) {
      std::sort(pods->items.begin(), pods->items.end(), [](const Json& a, const Json& b) {
        return std::pair(StringAt(a, {"metadata", "creationTimestamp"}), StringAt(a, {"metadata", "name"})) <
               std::pair(StringAt(b, {"metadata", "creationTimestamp"}), StringAt(b, {"metadata", "name"}));
      });
      seen = pods->items.empty() ? "no pod" : "";
      for (const Json& pod : pods->items) {
        const std::string name = StringAt(pod, {"metadata", "name"});
        std::shared_ptr<PodState> state = Find(ns, name);
        if (state && state->uid == StringAt(pod, {"metadata", "uid"})) return name;
        seen += (seen.empty() ? "" : ", ") + name + " (node \"" + StringAt(pod, {"spec", "nodeName"}) + "\", phase " +
                StringAt(pod, {"status", "phase"}) + ")";
      }
    } else {
      seen = pods.error().message();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return MakeError(ErrorCode::kDeadlineExceeded, "fake kubelet " + node_name_ + ": no pod with labels \"" +
                                                         label_selector + "\" in " + ns + " admitted within " +
                                                         std::to_string(timeout.count()) + " ms; saw: " + seen);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Result<std::string> FakeKubelet::WaitForJobPod(const std::string& ns, const std::string& job,
                                               std::chrono::milliseconds timeout) {
  return WaitForPod(ns, "batch.kubernetes.io/job-name=" + job, timeout);
}

Status FakeKubelet::WaitForPodGone(const std::string& ns, const std::string& pod, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Result<Json> got = client_.Get(resources::Pods(), ns, pod);
    if (!got && got.error().code() == ErrorCode::kNotFound) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string detail = got ? "still there: deletionTimestamp " + StringAt(*got, {"metadata", "deletionTimestamp"}) +
                                     ", finalizers " + (*got)["metadata"].value("finalizers", Json::array()).dump() +
                                     ", phase " + StringAt(*got, {"status", "phase"})
                               : got.error().message();
      return MakeError(ErrorCode::kDeadlineExceeded, "pod " + ns + "/" + pod + " not gone within " +
                                                         std::to_string(timeout.count()) + " ms: " + detail);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

// --- logs ----------------------------------------------------------------------------

void FakeKubelet::ServeLogs(const HttpRequest& request, HttpResponse& response) {
  if (request.path == "/healthz") {
    response.Send(200, "ok");
    return;
  }
  constexpr std::string_view kPrefix = "/containerLogs/";
  if (!request.path.starts_with(kPrefix)) {
    response.Send(404, "404 page not found\n");
    return;
  }
  if (request.method != "GET") {
    response.Send(405, "method not allowed\n");
    return;
  }
  std::vector<std::string> parts;
  std::string_view rest = std::string_view(request.path).substr(kPrefix.size());
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  if (parts.size() != 3) {
    response.Send(400, R"({"message": "Missing podID."})");
    return;
  }
  const std::string& ns = parts[0];
  const std::string& pod = parts[1];
  const std::string& container = parts[2];
  Result<ContainerLogQuery> query = ParseContainerLogQuery(request.query, Now());
  if (!query) {
    response.Send(400, query.error().message());
    return;
  }
  std::shared_ptr<PodState> state = Find(ns, pod);
  if (!state) {
    response.Send(404, "pod \"" + pod + "\" does not exist");
    return;
  }
  if (std::find(state->containers.begin(), state->containers.end(), container) == state->containers.end()) {
    response.Send(404, "container \"" + container + "\" not found in pod \"" + pod + "\"");
    return;
  }
  if (query->previous) {
    response.Send(400, "previous terminated container \"" + container + "\" in pod \"" + pod + "\" not found");
    return;
  }
  std::unique_lock lock(mu_);
  if (state->container == PodState::Container::kWaiting) {
    const std::string& reason = state->waiting_reason;
    const std::string why = reason == "ErrImagePull"       ? "image can't be pulled"
                            : reason == "ImagePullBackOff" ? "trying and failing to pull image"
                                                           : reason;
    lock.unlock();
    response.Send(400, "container \"" + container + "\" in pod \"" + pod + "\" is waiting to start: " + why);
    return;
  }
  lock.unlock();
  if (!response.Begin()) return;
  const bool follow = query->follow;
  LogResponder responder(std::move(*query));
  lock.lock();
  size_t next = responder.FirstEntry(state->log.size());
  for (;;) {
    std::string out;
    bool more = true;
    while (more && next < state->log.size()) more = responder.Next(state->log[next++], out);
    const bool finished =
        !more || !follow || state->container == PodState::Container::kTerminated || state->gone || stopping_;
    lock.unlock();
    if (!response.Chunk(out)) return;
    if (finished) {
      response.End();
      return;
    }
    if (response.Abandoned()) return;
    lock.lock();
    state->log_changed.wait_for(lock, kFollowWake, [&] {
      return next < state->log.size() || state->container == PodState::Container::kTerminated || state->gone ||
             stopping_;
    });
  }
}

}  // namespace ctask::testing
