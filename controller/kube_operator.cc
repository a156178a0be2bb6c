#include "kube_operator.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "backends/docker/local_backend.h"
#include "backends/kubernetes/kube_backend.h"
#include "cli.h"
#include "kube/connect.h"
#include "kube/leader_election.h"
#include "kube_flags.h"
#include "metrics/metrics_server.h"
#include "reconcile/error_reports.h"
#include "run_outcome.h"
#include "signals.h"
#include "util/log.h"
#include "util/sleep.h"

namespace ctask::cli {
namespace {

constexpr const char* kCrdName = "containertasks.ctask.io";

// Every line of the operator goes through util/log.h: text for people,
// --log-format=json for log pipelines; a task's lines carry its namespace,
// name and attempt as fields.
log::Logger TaskLogger(const std::string& key, int32_t attempt) {
  const auto [ns, name] = reconcile::SplitKey(key);
  log::Logger logger = log::Root().With("namespace", ns).With("name", name);
  return attempt > 0 ? logger.With("attempt", int64_t{attempt}) : logger;
}

// This replica's name: the pod's (downward API), else host and pid.
std::string Identity() {
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') return pod;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(*host != '\0' ? host : "ctask") + "-" + std::to_string(::getpid());
}

}  // namespace

std::vector<FlagSpec> KubeOperatorFlagSpecs() {
  return {
      {"namespace", 'n', true, "NS", "Watch ContainerTasks in NS only (default: every namespace)"},
      {"log-tail-interval", '\0', true, "SECONDS",
       "Least time between two status.logTail writes of a running task (default 10)"},
      {"http-address", '\0', true, "HOST:PORT",
       "Where /metrics, /healthz and /readyz are served (default :8080; port 0 picks a free one)"},
      {"log-format", '\0', true, "text|json", "How log lines are written (default text)"},
      {"log-level", '\0', true, "LEVEL", "debug, info, warn or error (default info)"},
      {"leader-elect", '\0', false, "",
       "Act only while holding a Lease, so replicas never both act (off by default; on in manifests/)"},
      {"leader-election-namespace", '\0', true, "NS",
       "Namespace of the Lease (default: $POD_NAMESPACE, else ctask-system)"},
      {"leader-election-id", '\0', true, "NAME", "Name of the Lease (default ctask-operator)"},
      {"leader-election-lease-duration", '\0', true, "DURATION",
       "How long a leader's Lease holds without renewal (default 15s)"},
      {"leader-election-renew-deadline", '\0', true, "DURATION",
       "A leader that has not renewed for this long stops acting (default 10s)"},
      {"leader-election-retry-period", '\0', true, "DURATION", "Between tries to acquire or renew (default 2s)"},
  };
}

int RunKubeOperator(const ParsedFlags& flags, std::ostream& /*out*/, std::ostream& err,
                    const std::string& why_kubernetes) {
  Result<log::Format> format = log::ParseFormat(flags.Get("log-format", "text"));
  Result<log::Level> level = log::ParseLevel(flags.Get("log-level", "info"));
  if (!format || !level) {
    err << "ctask operator: " << (!format ? format.error() : level.error()).message() << "\n";
    return kExitUsage;
  }
  log::Configure(*format, *level, &err);
  const log::Logger logger = log::Root();
  Result<long> workers = flags.Number("workers", 4, 1, 64);
  Result<long> grace = flags.Number("stop-grace", 10, 0, 3600);
  Result<long> tail_interval = flags.Number("log-tail-interval", 10, 1, 3600);
  for (const Result<long>* r : {&workers, &grace, &tail_interval}) {
    if (!*r) {
      err << "ctask operator: " << r->error().message() << "\n";
      return kExitUsage;
    }
  }
  Result<kube::ClientOptions> client_options = KubeClientOptionsFromFlags(flags);
  if (!client_options) {
    err << "ctask operator: " << client_options.error().message() << "\n";
    return kExitUsage;
  }
  // Leader election, checked before anything is started.
  kube::LeaderElectionConfig election;
  const bool leader_elect = flags.Has("leader-elect");
  if (leader_elect) {
    const char* pod_ns = std::getenv("POD_NAMESPACE");
    election.lease_namespace =
        flags.Get("leader-election-namespace", pod_ns != nullptr && *pod_ns != '\0' ? pod_ns : "ctask-system");
    election.lease_name = flags.Get("leader-election-id", "ctask-operator");
    election.identity = Identity();
    struct DurationFlag {
      const char* name;
      std::chrono::milliseconds* target;
    };
    for (const DurationFlag& f : {DurationFlag{"leader-election-lease-duration", &election.lease_duration},
                                  DurationFlag{"leader-election-renew-deadline", &election.renew_deadline},
                                  DurationFlag{"leader-election-retry-period", &election.retry_period}}) {
      if (!flags.Has(f.name)) continue;
      Result<std::chrono::milliseconds> d =
          ParseDurationFlag(f.name, flags.Get(f.name), std::chrono::milliseconds(100), std::chrono::hours(1));
      if (!d) {
        err << "ctask operator: " << d.error().message() << "\n";
        return kExitUsage;
      }
      *f.target = *d;
    }
    election.on_started_leading = [](std::stop_token) {};  // replaced below; validation needs one
    if (Status valid = kube::ValidateLeaderElectionConfig(election); !valid) {
      err << "ctask operator: " << valid.error().message()
          << " (--leader-election-lease-duration, --leader-election-renew-deadline, "
             "--leader-election-retry-period)\n";
      return kExitUsage;
    }
  }

  Result<kube::ClusterConfig> config = KubeConfigFromFlags(flags);
  if (!config) {
    err << "ctask operator: " << config.error().message() << "\n";
    return kExitRunInfrastructure;
  }
  client_options->user_agent = "ctask-operator";
  metrics::OperatorMetrics operator_metrics;
  client_options->on_request = operator_metrics.KubeRequestHook();
  Result<kube::KubeClientPtr> client = kube::Connect(*config, *client_options);
  if (!client) {
    err << "ctask operator: " << client.error().message() << "\n";
    return kExitRunInfrastructure;
  }
  // Without the CRD every list fails with 404 forever: say what to do.
  if (Result<api::Json> crd = (*client)->Get(kube::resources::CustomResourceDefinitions(), "", kCrdName); !crd) {
    err << "ctask operator: the CustomResourceDefinition " << kCrdName << " is not available (" << crd.error().message()
        << "): install it with `kubectl apply -f crds/` (or `kubectl apply -k manifests/`)\n";
    return kExitRunInfrastructure;
  }

  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::stop_source stop;
  SignalWatcher signals([&](int, int) {
    std::lock_guard lock(mu);
    stopping = true;
    stop.request_stop();
    wake.notify_all();
  });

  backends::KubeBackendOptions options;
  options.watch_namespace = flags.Get("namespace");
  options.workers = static_cast<int>(*workers);
  options.identity = Identity();
  options.reconciler.stop_grace = std::chrono::seconds(*grace);
  options.reconciler.log_tail_interval = std::chrono::seconds(*tail_interval);
  options.log = [&](const std::string& line) { logger.Warn(line); };
  options.metrics = &operator_metrics;
  options.on_status = [&](const api::ContainerTask& task) {
    TaskLogger(reconcile::TaskKey(task), task.status.attempts)
        .Info("status",
              {{"phase", task.status.phase}, {"reason", task.status.reason}, {"message", task.status.message}});
  };
  reconcile::ErrorReports error_reports;
  options.on_result = [&](const std::string& key, const Result<reconcile::ReconcileResult>& result) {
    if (std::optional<reconcile::ErrorReport> report = error_reports.Report(key, result)) {
      TaskLogger(key, 0).Warn("reconcile failed; " + report->what_next, {{"error", report->message}});
    }
  };
  backends::KubeBackend backend(**client, std::move(options));
  logger.Info("operator starting", {{"backend", "kubernetes"},
                                    {"because", why_kubernetes},
                                    {"server", config->server},
                                    {"watch", flags.Get("namespace").empty() ? std::string("every namespace")
                                                                             : "namespace " + flags.Get("namespace")},
                                    {"workers", int64_t{*workers}},
                                    {"identity", Identity()}});
  // One port for /metrics, /healthz (the process answers) and /readyz (the
  // caches are synced and the operator is not shutting down).
  metrics::HealthChecks healthz("healthz");
  metrics::HealthChecks readyz("readyz");
  healthz.Add("ping", [] { return Status(); });
  readyz.Add("informer-sync", [&]() -> Status {
    if (backend.HasSynced()) return {};
    return MakeError(ErrorCode::kUnavailable, "the caches of ContainerTasks, Jobs and Pods have not listed yet");
  });
  readyz.Add("shutdown", [&]() -> Status {
    if (!stop.stop_requested()) return {};
    return MakeError(ErrorCode::kUnavailable, "the operator is shutting down");
  });
  Result<metrics::HttpServerPtr> server = metrics::StartMetricsServer(
      flags.Get("http-address", metrics::kDefaultMetricsAddress), operator_metrics, healthz, readyz);
  if (!server) {
    err << "ctask operator: --http-address: " << server.error().message() << "\n";
    return kExitUsage;
  }
  logger.Info(
      "serving /metrics, /healthz, /readyz",
      {{"address", flags.Get("http-address", metrics::kDefaultMetricsAddress)}, {"port", int64_t{(*server)->Port()}}});
  std::jthread publisher([&](std::stop_token publishing) {
    while (SleepFor(std::chrono::seconds(5), publishing)) backend.PublishWatchRestarts();
  });

  backend.Start();
  if (!backend.WaitForSync(stop.get_token())) {
    logger.Info("operator stopped before its caches synced");
    backend.Stop();
    return kExitOk;
  }
  logger.Info("caches synced", {{"tasks", static_cast<int64_t>(backend.tasks().Size())}});

  if (!leader_elect) {
    operator_metrics.SetLeader(true);
    backend.Run();
    std::unique_lock lock(mu);
    wake.wait(lock, [&] { return stopping; });
    lock.unlock();
    logger.Info(
        "operator stopping: finishing the reconciles in flight; pods keep running and are adopted at the "
        "next start");
    backend.Stop();
    logger.Info("operator stopped");
    return kExitOk;
  }

  // With leader election the caches run on every replica (a standby takes
  // over warm); the workers only while this one holds the Lease. The
  // elector gets its own client whose requests end within the renew
  // deadline, so a hung request cannot outlast leadership.
  kube::ClientOptions election_options = *client_options;
  election_options.request_timeout = std::min(election_options.request_timeout, election.renew_deadline);
  Result<kube::KubeClientPtr> election_client = kube::Connect(*config, election_options);
  if (!election_client) {
    err << "ctask operator: " << election_client.error().message() << "\n";
    backend.Stop();
    return kExitRunInfrastructure;
  }
  election.on_started_leading = [&](std::stop_token leading) {
    logger.Info("leading: Lease acquired; reconciling",
                {{"lease", election.lease_namespace + "/" + election.lease_name}, {"identity", election.identity}});
    operator_metrics.SetLeader(true);
    backend.Run();
    std::mutex leading_mu;
    std::condition_variable_any leading_cv;
    std::unique_lock leading_lock(leading_mu);
    leading_cv.wait(leading_lock, leading, [] { return false; });
    logger.Info("leadership ends: finishing the reconciles in flight before the Lease is released");
    backend.Stop();
    operator_metrics.SetLeader(false);
  };
  election.on_new_leader = [&](const std::string& leader) {
    if (!leader.empty() && leader != election.identity) logger.Info("standing by", {{"leader", leader}});
  };
  election.log = [&](const std::string& line) { logger.Info("leader election: " + line); };
  Result<kube::LeaderElectorPtr> elector = kube::LeaderElector::Create(**election_client, election);
  if (!elector) {
    err << "ctask operator: " << elector.error().message() << "\n";
    backend.Stop();
    return kExitUsage;
  }
  logger.Info("waiting for the Lease",
              {{"lease", election.lease_namespace + "/" + election.lease_name}, {"identity", election.identity}});
  Status elected = (*elector)->Run(stop.get_token());
  backend.Stop();
  if (!elected) {
    // client-go's controllers exit when they lose the Lease: the restart
    // starts clean, as a standby.
    logger.Error("operator stopped: leadership lost", {{"error", elected.error().message()}});
    return kExitRunInfrastructure;
  }
  logger.Info("operator stopped");
  return kExitOk;
}

}  // namespace ctask::cli
