#include "backends/kubernetes/kube_operator.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "metrics/metrics_server.h"
#include "util/log.h"
#include "util/sleep.h"

namespace ctask::backends {
namespace {

// How often watch restarts are counted into the metrics.
constexpr std::chrono::seconds kPublishInterval{5};

// Whether the API server serves ContainerTasks, asked the way the operator
// will use them: a list of at most one in the namespace it watches. A read of
// the CustomResourceDefinition itself would need a permission the operator
// has no other use for (manifests/rbac.yaml grants none), and failed in the
// cluster with "forbidden".
Status CheckCrd(kube::KubeClient& client, const std::string& watch_namespace) {
  kube::ListOptions one;
  one.limit = 1;
  const std::pair<kube::Resource, std::string> crds[] = {
      {kube::resources::ContainerTasks(), kContainerTaskCrdName},
      {kube::resources::TaskQueues(), std::string(api::kTaskQueuePlural) + ".ctask.io"}};
  for (const auto& [resource, crd] : crds) {
    Result<kube::ObjectList> listed = client.List(resource, watch_namespace, one);
    if (listed) continue;
    if (listed.error().code() != ErrorCode::kNotFound) return std::unexpected(listed.error());
    return MakeError(ErrorCode::kNotFound, "the CustomResourceDefinition " + crd + " is not available (" +
                                               listed.error().message() +
                                               "): install it with `kubectl apply -f crds/` (or `kubectl apply -k "
                                               "manifests/`)");
  }
  return {};
}

// /healthz: the process answers. /readyz: the caches have listed, and the
// operator is not shutting down.
struct HealthEndpoints {
  metrics::HealthChecks healthz{"healthz"};
  metrics::HealthChecks readyz{"readyz"};

  HealthEndpoints(const KubeBackend& backend, std::stop_token stop) {
    healthz.Add("ping", [] { return Status(); });
    readyz.Add("informer-sync", [&backend]() -> Status {
      if (backend.HasSynced()) return {};
      return MakeError(ErrorCode::kUnavailable,
                       "the caches of ContainerTasks, TaskQueues, Jobs and Pods have not listed yet");
    });
    readyz.Add("shutdown", [stop]() -> Status {
      if (!stop.stop_requested()) return {};
      return MakeError(ErrorCode::kUnavailable, "the operator is shutting down");
    });
  }
};

// Blocks until `token` is requested.
void WaitFor(std::stop_token token) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait(lock, token, [] { return false; });
}

void RunWithoutElection(KubeBackend& backend, metrics::OperatorMetrics& metrics, std::stop_token stop) {
  metrics.SetLeader(true);
  backend.Run();
  WaitFor(stop);
  log::Root().Info(
      "operator stopping: finishing the reconciles in flight; pods keep running and are adopted at the next "
      "start");
  backend.Stop();
}

Result<KubeOperatorEnd> RunElected(KubeBackend& backend, kube::KubeClient& election_client,
                                   kube::LeaderElectionConfig election, const Clock& clock,
                                   metrics::OperatorMetrics& metrics, std::stop_token stop) {
  const log::Logger logger = log::Root();
  const std::string lease = election.lease_namespace + "/" + election.lease_name;
  election.on_started_leading = [&](std::stop_token leading) {
    logger.Info("leading: Lease acquired; reconciling", {{"lease", lease}, {"identity", election.identity}});
    metrics.SetLeader(true);
    backend.Run();
    WaitFor(leading);
    logger.Info("leadership ends: finishing the reconciles in flight before the Lease is released");
    backend.Stop();
    metrics.SetLeader(false);
  };
  const std::string identity = election.identity;
  election.on_new_leader = [logger, identity](const std::string& leader) {
    if (!leader.empty() && leader != identity) logger.Info("standing by", {{"leader", leader}});
  };
  election.log = [logger](const std::string& line) { logger.Info("leader election: " + line); };
  Result<kube::LeaderElectorPtr> elector = kube::LeaderElector::Create(election_client, election, clock);
  if (!elector) return std::unexpected(elector.error());
  logger.Info("waiting for the Lease", {{"lease", lease}, {"identity", identity}});
  Status elected = (*elector)->Run(stop);
  backend.Stop();
  if (!elected) {
    // client-go's controllers exit when they lose the Lease: the restart
    // starts clean, as a standby.
    logger.Error("operator stopped: leadership lost", {{"error", elected.error().message()}});
    return KubeOperatorEnd::kLeadershipLost;
  }
  return KubeOperatorEnd::kStopped;
}

}  // namespace

Result<KubeOperatorEnd> RunKubeOperator(kube::KubeClient& client, kube::KubeClient* election_client,
                                        KubeOperatorOptions options, std::stop_token stop) {
  const log::Logger logger = log::Root();
  if (Status crd = CheckCrd(client, options.backend.watch_namespace); !crd) return std::unexpected(crd.error());
  if (options.election) {
    options.election->on_started_leading = [](std::stop_token) {};  // the operator's, set when it runs
    if (Status valid = kube::ValidateLeaderElectionConfig(*options.election); !valid) {
      return std::unexpected(valid.error());
    }
    if (election_client == nullptr) return InvalidArgument("leader election needs its own client");
  }
  metrics::OperatorMetrics& metrics = *options.backend.metrics;
  KubeBackend backend(client, std::move(options.backend));
  HealthEndpoints health(backend, stop);
  Result<metrics::HttpServerPtr> server =
      metrics::StartMetricsServer(options.http_address, metrics, health.healthz, health.readyz);
  if (!server) return InvalidArgument("--http-address: " + server.error().message());
  logger.Info("serving /metrics, /healthz, /readyz",
              {{"address", options.http_address}, {"port", int64_t{(*server)->Port()}}});
  std::jthread publisher([&](std::stop_token publishing) {
    while (SleepFor(kPublishInterval, publishing)) {
      backend.PublishWatchRestarts();
      backend.PublishQueues();
      backend.PublishLogFollows();
    }
  });

  backend.Start();
  if (!backend.WaitForSync(stop)) {
    logger.Info("operator stopped before its caches synced");
    backend.Stop();
    return KubeOperatorEnd::kStopped;
  }
  logger.Info("caches synced", {{"tasks", static_cast<int64_t>(backend.tasks().Size())}});
  if (!options.election) {
    RunWithoutElection(backend, metrics, stop);
    logger.Info("operator stopped");
    return KubeOperatorEnd::kStopped;
  }
  Result<KubeOperatorEnd> end =
      RunElected(backend, *election_client, std::move(*options.election), *options.backend.clock, metrics, stop);
  if (end && *end == KubeOperatorEnd::kStopped) logger.Info("operator stopped");
  return end;
}

}  // namespace ctask::backends
