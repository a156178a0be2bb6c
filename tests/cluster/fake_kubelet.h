// FakeKubelet: plays the node for end-to-end tests of the operator against
// the real control plane of hack/cluster/up.sh (etcd, kube-apiserver,
// kube-controller-manager; no scheduler, no kubelet, no container runtime).
//
// What is real: every API object and every controller. The operator creates
// a batch/v1 Job; kube-controller-manager's Job controller creates its pod,
// counts it, adds and removes its tracking finalizer, sets the Job's
// conditions; the garbage collector deletes what an owner leaves behind; the
// API server validates every status write below and proxies pods/log to the
// node as it would to a kubelet (GET /containerLogs over HTTPS, the node's
// address and kubeletEndpoint port), so `kubectl logs` and
// KubeClient::StreamLogs and kube::LogStreams run their production path end to end.
//
// What is faked, and how faithfully:
//  - The node: a Node "ctask-fake-<pid>-<n>" with addresses InternalIP and
//    Hostname 127.0.0.1, daemonEndpoints.kubeletEndpoint.Port = this
//    harness's HTTPS port, allocatable cpu/memory/pods, Ready=True; its
//    Lease in kube-node-lease and its Ready heartbeat are renewed every
//    FakeKubeletOptions::heartbeat, so the node lifecycle controller never
//    marks it NotReady or taints it. Stop() deletes both. Start() first
//    deletes fake nodes some earlier, crashed process left (label
//    ctask.io/fake-kubelet, lease not renewed for 2 minutes).
//  - The scheduler: each new unbound pod of the watched namespaces is bound
//    to this node (POST pods/NAME/binding), as kube-scheduler would.
//  - The kubelet's pod lifecycle: a pod bound here is admitted and reported
//    Pending with its containers Waiting(ContainerCreating); from then on
//    the test decides (SetRunning, Exit, SetWaiting, AppendLog), or
//    SetAutoRun does it for every pod (benchmarks). Status is written the
//    kubelet's way: a strategic merge patch of pods/status carrying the
//    pod's uid as precondition, phase and conditions (PodScheduled is the
//    binding's; PodReadyToStartContainers, Initialized, ContainersReady,
//    Ready are ours) and containerStatuses with containerID, imageID,
//    started, ready, state and restartCount. Every pod is treated as
//    restartPolicy Never (what the operator renders): an exit is final, the
//    phase becomes Succeeded when every container exited 0, else Failed.
//    The termination message follows terminationMessagePolicy: with
//    FallbackToLogsOnError and a failed exit without a message, the last 80
//    lines / 2048 bytes of the log.
//  - Graceful deletion: a pod on this node with a deletionTimestamp is
//    killed (a running container ends with exit 137, reason Error; one that
//    never started with 137, ContainerStatusUnknown), reported Failed, then
//    deleted with gracePeriodSeconds=0 and a uid precondition: the
//    kubelet's confirmation, which Job suspension, Job deletion, namespace
//    deletion and the garbage collector wait for.
//  - Logs: one log per pod (every container name of the pod serves it),
//    timestamped when AppendLog is called, served by the HTTPS endpoint with
//    follow, timestamps, sinceTime, sinceSeconds, tailLines, limitBytes and
//    stream as the kubelet serves them (fake_kubelet_log.h); a follow ends
//    once the container has terminated and everything was sent. A container
//    still waiting answers 400 "is waiting to start: REASON", as a kubelet
//    does.
// Not faked: init containers, restarts (OnFailure/Always), probes, resource
// accounting, volumes, the pod network (no podIP), exec/attach/port-forward.
//
// Pods are named by namespace and name; controls act on the incarnation the
// harness admitted (a pod deleted and created again under the same name is
// a new pod to admit). Controls return once the API server accepted the
// status write.
//
// Thread-safety: every method may be called from any thread after Start.
// Status writes for one pod are serialized in the order the controls were
// called.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/json.h"
#include "cluster/fake_kubelet_log.h"
#include "cluster/fake_kubelet_server.h"
#include "kube/client.h"
#include "kube/object_cache.h"
#include "kube/reflector.h"
#include "reconcile/work_queue.h"
#include "util/error.h"

namespace ctask::testing {

// What SetAutoRun does with each pod it admits: Running at once, the lines
// appended to its log, then (after run_for) an exit.
struct AutoRun {
  std::vector<std::string> lines;  // each gets a '\n' if it has none
  int exit_code = 0;
  std::string reason;  // "" = "Completed" for 0, "Error" otherwise
  std::string message;
  std::chrono::milliseconds run_for{0};
};

struct FakeKubeletOptions {
  // Pods of these namespaces only (more with WatchNamespace). The harness
  // never looks at other namespaces: pods of other users of the shared
  // control plane stay unbound.
  std::vector<std::string> namespaces;
  // Only pods with these labels ("a=b,c"), if set.
  std::string label_selector;
  // "" = "ctask-fake-<pid>-<n>".
  std::string node_name;
  // Lease renewal and Ready heartbeat interval; the node lifecycle
  // controller's grace period is 50 s.
  std::chrono::milliseconds heartbeat{5'000};
  // Binds unbound pods to this node (the scheduler's part).
  bool bind = true;
  // How long a pod with a deletionTimestamp keeps running before the
  // harness kills and deletes it (a container's shutdown time).
  std::chrono::milliseconds deletion_delay{0};
  // Force-deletes (grace 0) the pods it admitted that still exist when it
  // stops, so a test's namespace goes away without waiting for the pod
  // garbage collector.
  bool delete_pods_on_stop = true;
  // Sync workers; a benchmark with many pods may want more.
  int workers = 2;
  // Set from the start (SetAutoRun changes it later).
  std::optional<AutoRun> auto_run;
  // The cluster CA's directory for the serving certificate; "" =
  // $CTASK_CLUSTER_DIR/certs (default /tmp/ctask-cluster/certs).
  std::string ca_dir;
};

struct ExitOptions {
  int exit_code = 0;
  // "" = "Completed" for exit 0, "Error" otherwise; "OOMKilled",
  // "ContainerCannotRun", "DeadlineExceeded", ... as a runtime reports them.
  std::string reason;
  // The termination message (what the container wrote to
  // terminationMessagePath); "" may fall back to the log (see above).
  std::string message;
};

struct FakeKubeletStats {
  int64_t bound = 0;     // bindings this harness made
  int64_t admitted = 0;  // pods it took on
  int64_t exited = 0;    // containers it ended (Exit, AutoRun, kills)
  int64_t deleted = 0;   // deletions it confirmed
  int64_t status_writes = 0;
  int64_t write_errors = 0;  // failed status writes (retried by the sync loop)
};

class FakeKubelet {
 public:
  // `client` (admin credentials: it writes Nodes, Leases, bindings and pod
  // status) must outlive the harness.
  FakeKubelet(kube::KubeClient& client, FakeKubeletOptions options);
  ~FakeKubelet();
  FakeKubelet(const FakeKubelet&) = delete;
  FakeKubelet& operator=(const FakeKubelet&) = delete;

  // Serves HTTPS, registers the node and its lease, and watches the
  // namespaces; returns once every watch has listed (pods created before
  // Start are taken on too). Call once.
  Status Start();
  // Stops everything, deletes (see delete_pods_on_stop) pods, the node and
  // its lease. Idempotent; the destructor calls it.
  void Stop();

  // Watches one more namespace; returns once it has listed.
  Status WatchNamespace(const std::string& ns);

  const std::string& node_name() const { return node_name_; }
  int port() const { return server_.port(); }
  bool serving_cert_signed_by_cluster_ca() const { return signed_by_ca_; }

  // --- finding pods ---------------------------------------------------------
  // The name of a pod matching `label_selector` in `ns` that this harness
  // has admitted (bound here, reported Pending), waiting up to `timeout`;
  // the oldest when there are several. kDeadlineExceeded naming what it saw.
  Result<std::string> WaitForPod(const std::string& ns, const std::string& label_selector,
                                 std::chrono::milliseconds timeout);
  // The pod the Job controller made for Job `job` (label
  // batch.kubernetes.io/job-name).
  Result<std::string> WaitForJobPod(const std::string& ns, const std::string& job, std::chrono::milliseconds timeout);
  // Until GET answers 404.
  Status WaitForPodGone(const std::string& ns, const std::string& pod, std::chrono::milliseconds timeout);

  // --- driving a pod ----------------------------------------------------------
  // kNotFound when the harness has not admitted the pod (yet); kFailedPrecondition
  // for a transition a kubelet never makes (anything after an exit).
  Status SetRunning(const std::string& ns, const std::string& pod);
  Status Exit(const std::string& ns, const std::string& pod, ExitOptions exit);
  Status Exit(const std::string& ns, const std::string& pod, int exit_code, std::string reason = "",
              std::string message = "") {
    return Exit(ns, pod, ExitOptions{exit_code, std::move(reason), std::move(message)});
  }
  // Waiting with `reason` ("ErrImagePull", "ImagePullBackOff",
  // "CreateContainerConfigError", "ContainerCreating", ...); phase Pending.
  Status SetWaiting(const std::string& ns, const std::string& pod, const std::string& reason,
                    const std::string& message = "");
  // What the container prints; each line is stamped now (1 ns apart at
  // least). Text without a final '\n' leaves a partial line, continued by the
  // next call. kFailedPrecondition after the exit.
  Status AppendLog(const std::string& ns, const std::string& pod, std::string_view text);
  // The log as printed (no timestamps).
  Result<std::string> LogOf(const std::string& ns, const std::string& pod) const;

  // For pods admitted from now on; nullopt returns to manual control.
  void SetAutoRun(std::optional<AutoRun> run);

  FakeKubeletStats Stats() const;

 private:
  struct PodState;
  struct Watched;

  Status RegisterNode();
  Status RefuseBesideARealNode();
  void CollectStaleNodes();
  void Heartbeat(std::stop_token stop);
  Status Renew();
  void Work();
  Status Sync(const std::string& key);
  Status Bind(const api::Json& pod);
  Status Admit(const std::string& key, const api::Json& pod);
  Status Kill(const std::shared_ptr<PodState>& state);
  Status RunAuto(const std::shared_ptr<PodState>& state);
  Status ExitLocked(PodState& state, const ExitOptions& exit);
  std::shared_ptr<PodState> Find(const std::string& ns, const std::string& pod) const;
  // Writes the status `state` describes now; the caller holds state.write_mu.
  Status WriteStatus(PodState& state);
  void ServeLogs(const HttpRequest& request, HttpResponse& response);

  kube::KubeClient& client_;
  FakeKubeletOptions options_;
  std::string node_name_;
  std::string node_uid_;
  KubeletHttpsServer server_;
  bool signed_by_ca_ = false;
  bool started_ = false;
  bool stopped_ = false;

  reconcile::WorkQueue queue_;
  std::vector<std::thread> workers_;
  std::jthread heartbeat_;

  mutable std::mutex mu_;
  std::condition_variable changed_;                          // any pod state or log changed; stopping_
  bool stopping_ = false;                                    // guarded by mu_
  std::map<std::string, std::shared_ptr<PodState>> pods_;    // "ns/name"; guarded by mu_
  std::map<std::string, std::unique_ptr<Watched>> watched_;  // by namespace; guarded by mu_
  std::optional<AutoRun> auto_run_;                          // guarded by mu_
  FakeKubeletStats stats_;                                   // guarded by mu_
};

}  // namespace ctask::testing
