#include "cmd_operator_kube.h"

#include <unistd.h>

#include "backends/kubernetes/kube_operator.h"
#include "cli.h"
#include "kube/connect.h"
#include "kube_flags.h"
#include "limit_flags.h"
#include "metrics/metrics_server.h"
#include "reconcile/error_reports.h"
#include "run_outcome.h"
#include "signals.h"
#include "util/heap.h"
#include "util/log.h"

namespace ctask::cli {
namespace {

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
      {"log-tail-qps", '\0', true, "N",
       "Most status.logTail refreshes a second across all running tasks, so tails never take the budget of "
       "starts and ends (default 10; 0: no bound)"},
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

namespace {

// --leader-elect and its flags; nullopt without --leader-elect.
Result<std::optional<kube::LeaderElectionConfig>> ElectionFromFlags(const ParsedFlags& flags) {
  if (!flags.Has("leader-elect")) return std::nullopt;
  kube::LeaderElectionConfig election;
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
    if (!d) return std::unexpected(d.error());
    *f.target = *d;
  }
  election.on_started_leading = [](std::stop_token) {};  // the operator's; validation needs one
  if (Status valid = kube::ValidateLeaderElectionConfig(election); !valid) {
    return InvalidArgument(valid.error().message() +
                           " (--leader-election-lease-duration, --leader-election-renew-deadline, "
                           "--leader-election-retry-period)");
  }
  return election;
}

// The backend's options from the flags, with the operator's log lines.
backends::KubeBackendOptions BackendFromFlags(const ParsedFlags& flags, long workers, long grace, long tail_interval,
                                              long tail_qps, admission::Limits limits,
                                              metrics::OperatorMetrics& metrics,
                                              reconcile::ErrorReports& error_reports) {
  const log::Logger logger = log::Root();
  backends::KubeBackendOptions options;
  options.watch_namespace = flags.Get("namespace");
  options.workers = static_cast<int>(workers);
  options.limits = std::move(limits);
  options.identity = Identity();
  options.reconciler.stop_grace = std::chrono::seconds(grace);
  options.reconciler.log_tail_interval = std::chrono::seconds(tail_interval);
  options.reconciler.log_tail_qps = static_cast<double>(tail_qps);
  options.log = [logger](const std::string& line) { logger.Warn(line); };
  options.metrics = &metrics;
  options.on_status = [](const api::ContainerTask& task) {
    TaskLogger(reconcile::TaskKey(task), task.status.attempts)
        .Info("status",
              {{"phase", task.status.phase}, {"reason", task.status.reason}, {"message", task.status.message}});
  };
  options.on_result = [&error_reports](const std::string& key, const Result<reconcile::ReconcileResult>& result) {
    if (std::optional<reconcile::ErrorReport> report = error_reports.Report(key, result)) {
      TaskLogger(key, 0).Warn("reconcile failed; " + report->what_next, {{"error", report->message}});
    }
  };
  return options;
}

}  // namespace

int RunKubeOperator(const ParsedFlags& flags, std::ostream& /*out*/, std::ostream& err,
                    const std::string& why_kubernetes) {
  Result<log::Format> format = log::ParseFormat(flags.Get("log-format", "text"));
  Result<log::Level> level = log::ParseLevel(flags.Get("log-level", "info"));
  if (!format || !level) {
    err << "ctask operator: " << (!format ? format.error() : level.error()).message() << "\n";
    return kExitUsage;
  }
  log::Configure(*format, *level, &err);
  Result<long> workers = flags.Number("workers", 4, 1, 64);
  Result<long> grace = flags.Number("stop-grace", 10, 0, 3600);
  Result<long> tail_interval = flags.Number("log-tail-interval", 10, 1, 3600);
  Result<long> tail_qps = flags.Number("log-tail-qps", 10, 0, 10000);
  Result<kube::ClientOptions> client_options = KubeClientOptionsFromFlags(flags);
  Result<std::optional<kube::LeaderElectionConfig>> election = ElectionFromFlags(flags);
  Result<admission::Limits> limits = LimitsFromFlags(flags);
  for (const Status& usage : {ErrorOf(workers), ErrorOf(grace), ErrorOf(tail_interval), ErrorOf(tail_qps),
                              ErrorOf(client_options), ErrorOf(election), ErrorOf(limits)}) {
    if (!usage) {
      err << "ctask operator: " << usage.error().message() << "\n";
      return kExitUsage;
    }
  }
  Result<kube::ClusterConfig> config = KubeConfigFromFlags(flags);
  if (!config) {
    err << "ctask operator: " << config.error().message() << "\n";
    return kExitRunInfrastructure;
  }
  metrics::OperatorMetrics operator_metrics;
  client_options->user_agent = "ctask-operator";
  client_options->on_request = operator_metrics.KubeRequestHook();
  Result<kube::KubeClientPtr> client = kube::Connect(*config, *client_options);
  // The elector's requests end within the renew deadline.
  kube::ClientOptions election_options = *client_options;
  if (*election) {
    election_options.request_timeout = std::min(election_options.request_timeout, (*election)->renew_deadline);
  }
  Result<kube::KubeClientPtr> election_client = kube::Connect(*config, election_options);
  for (const Status& connected : {ErrorOf(client), ErrorOf(election_client)}) {
    if (!connected) {
      err << "ctask operator: " << connected.error().message() << "\n";
      return kExitRunInfrastructure;
    }
  }

  std::stop_source stop;
  SignalWatcher signals([&](int, int) { stop.request_stop(); });
  // After the watcher, so its thread inherits the blocked signals: memory
  // freed after a burst goes back to the system (util/heap.h).
  HeapTrimmer trimmer;
  reconcile::ErrorReports error_reports;
  backends::KubeOperatorOptions options;
  options.backend =
      BackendFromFlags(flags, *workers, *grace, *tail_interval, *tail_qps, *limits, operator_metrics, error_reports);
  options.http_address = flags.Get("http-address", metrics::kDefaultMetricsAddress);
  options.election = std::move(*election);
  log::Root().Info("operator starting",
                   {{"backend", "kubernetes"},
                    {"because", why_kubernetes},
                    {"server", config->server},
                    {"watch", flags.Get("namespace").empty() ? std::string("every namespace")
                                                             : "namespace " + flags.Get("namespace")},
                    {"workers", int64_t{*workers}},
                    {"identity", Identity()}});
  Result<backends::KubeOperatorEnd> end =
      backends::RunKubeOperator(**client, election_client->get(), std::move(options), stop.get_token());
  if (!end) {
    err << "ctask operator: " << end.error().message() << "\n";
    return end.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitRunInfrastructure;
  }
  return *end == backends::KubeOperatorEnd::kLeadershipLost ? kExitRunInfrastructure : kExitOk;
}

}  // namespace ctask::cli
