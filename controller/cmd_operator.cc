// `ctask operator`: the flags, the choice of backend, and what is printed.
// The operators themselves are the backends': the directory operator
// (backends/docker/directory_operator.h) and the Kubernetes operator
// (kube_operator.h, over backends/kubernetes/).
#include <chrono>
#include <iostream>
#include <mutex>

#include "backends/docker/directory_operator.h"
#include "cli.h"
#include "cmd_operator_kube.h"
#include "flags.h"
#include "kube_flags.h"
#include "limit_flags.h"
#include "reconcile/error_reports.h"
#include "run_outcome.h"
#include "signals.h"
#include "util/heap.h"

namespace ctask::cli {
namespace {

const std::vector<FlagSpec>& OperatorFlags() {
  static const std::vector<FlagSpec> kSpecs = [] {
    std::vector<FlagSpec> specs = {
        {"backend", '\0', true, "auto|kubernetes|docker",
         "Where tasks run (default auto: Kubernetes when a kubeconfig or in-cluster config is found and no "
         "--tasks-dir is given, else Docker)"},
        {"tasks-dir", '\0', true, "DIR",
         "Docker backend: directory of ContainerTask manifests (with their Secrets and ConfigMaps)"},
        {"state-dir", '\0', true, "DIR", "Where task records and logs are kept (default $XDG_STATE_HOME/ctask)"},
        {"allow-host-path", '\0', true, "DIR",
         "Let tasks bind-mount DIR or below (spec.workspace.hostPath); repeatable"},
        {"workers", '\0', true, "N", "Tasks reconciled at once (default 4)"},
        {"scan-interval-ms", '\0', true, "MS",
         "Read the tasks directory this often, besides on each change (default 1000)"},
        {"stop-grace", '\0', true, "SECONDS", "Time a stopped task gets between SIGTERM and SIGKILL (default 10)"},
        {"help", 'h', false, "", "Show this help"},
    };
    // The limits before --help; the Kubernetes flags after.
    std::vector<FlagSpec> limits = LimitFlagSpecs();
    specs.insert(specs.end() - 1, limits.begin(), limits.end());
    for (FlagSpec& spec : KubeOperatorFlagSpecs()) specs.push_back(std::move(spec));
    for (FlagSpec& spec : KubeFlagSpecs()) specs.push_back(std::move(spec));
    return specs;
  }();
  return kSpecs;
}

// --backend, or the choice `auto` makes: Kubernetes when there is a cluster
// to talk to and nothing says Docker (--tasks-dir is Docker's only).
Result<std::string> ChooseBackend(const ParsedFlags& flags, std::string& why) {
  const std::string backend = flags.Get("backend", "auto");
  if (backend == "docker" || backend == "kubernetes") {
    why = "--backend " + backend;
    return backend;
  }
  if (backend != "auto") {
    return InvalidArgument("--backend " + backend + ": must be auto, kubernetes or docker");
  }
  if (flags.Has("tasks-dir")) {
    why = "--tasks-dir given";
    return std::string("docker");
  }
  Result<kube::ClusterConfig> config = KubeConfigFromFlags(flags);
  if (config) {
    why = "found a cluster configuration (" + config->server + ")";
    return std::string("kubernetes");
  }
  why = "no kubeconfig or in-cluster configuration (" + config.error().message() + ")";
  return std::string("docker");
}

void Log(std::ostream& err, const std::string& line) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  err << FormatRfc3339(WallClock()) << " " << line << "\n";
  err.flush();
}

// The Docker backend: flags -> DirectoryOperatorOptions, its lines on err.
int RunDirectoryOperator(const ParsedFlags& flags, std::ostream& err, const std::string& why) {
  Log(err, "backend: docker (" + why + ")");
  if (!flags.Has("tasks-dir")) {
    err << "ctask operator: --tasks-dir DIR is required by the Docker backend: the directory of ContainerTask "
           "manifests to run\n";
    return kExitUsage;
  }
  Result<long> workers = flags.Number("workers", 4, 1, 64);
  Result<long> scan_ms = flags.Number("scan-interval-ms", 1000, 10, 600000);
  Result<long> grace = flags.Number("stop-grace", 10, 0, 3600);
  for (const Result<long>* r : {&workers, &scan_ms, &grace}) {
    if (!*r) {
      err << "ctask operator: " << r->error().message() << "\n";
      return kExitUsage;
    }
  }
  Result<admission::Limits> limits = LimitsFromFlags(flags);
  if (!limits) {
    err << "ctask operator: " << limits.error().message() << "\n";
    return kExitUsage;
  }
  if (Status dir = backends::CheckTasksDir(flags.Get("tasks-dir")); !dir) {
    err << "ctask operator: " << dir.error().message() << "\n";
    return kExitUsage;
  }
  std::stop_source stop;
  SignalWatcher signals([&](int, int) { stop.request_stop(); });
  // After the watcher, so its thread inherits the blocked signals: memory
  // freed after a burst goes back to the system (util/heap.h).
  HeapTrimmer trimmer;

  backends::DirectoryOperatorOptions options;
  options.tasks_dir = flags.Get("tasks-dir");
  options.scan_interval = std::chrono::milliseconds(*scan_ms);
  options.log = [&](const std::string& line) { Log(err, line); };
  backends::LocalBackendOptions& backend = options.backend;
  backend.state_dir = flags.Get("state-dir");
  backend.policy.allowed_host_paths = flags.All("allow-host-path");
  backend.workers = static_cast<int>(*workers);
  backend.limits = std::move(*limits);
  backend.reconciler.stop_grace = std::chrono::seconds(*grace);
  backend.on_status = [&](const api::ContainerTask& task) {
    Log(err, "task " + reconcile::TaskKey(task) + ": " + task.status.phase + " (" + task.status.reason +
                 "): " + task.status.message);
  };
  reconcile::ErrorReports error_reports;
  backend.on_result = [&](const std::string& key, const Result<reconcile::ReconcileResult>& result) {
    if (std::optional<reconcile::ErrorReport> report = error_reports.Report(key, result)) {
      Log(err, "task " + key + ": " + report->message + " (" + report->what_next + ")");
    }
  };
  const std::string tasks_dir = options.tasks_dir;
  Result<std::unique_ptr<backends::DirectoryOperator>> opened = backends::DirectoryOperator::Open(std::move(options));
  if (!opened) {
    err << "ctask operator: " << opened.error().message() << "\n";
    return kExitRunInfrastructure;
  }
  Log(err, "operator started: tasks from " + tasks_dir + ", state in " + (*opened)->state_dir());
  (*opened)->Run(stop.get_token(),
                 [&] { Log(err, "operator stopping: containers keep running and are adopted at the next start"); });
  return kExitOk;
}

}  // namespace

constexpr const char* kOperatorHelp =
    "Run the operator.\n\n"
    "Kubernetes backend: watch ContainerTasks through the API server (the kubeconfig, or the\n"
    "in-cluster service account), run each attempt as a Job, report everything in the task's\n"
    "status. SIGTERM drains: reconciles in flight finish, pods keep running and are adopted\n"
    "by the next start.\n\n"
    "Docker backend: keep the ContainerTasks in a directory and their containers in agreement.\n"
    "Add a file to run its tasks, edit it to change them, remove it to stop and delete them.\n"
    "Records and logs go to the state directory (ctask get, ctask logs). SIGINT/SIGTERM stop\n"
    "the operator; containers keep running and are adopted when it starts again.\n\n"
    "--backend auto (the default) picks Kubernetes when a kubeconfig or in-cluster\n"
    "configuration is found and --tasks-dir is not given, else Docker, and says which.\n\n"
    "Usage:\n  ctask operator [--backend kubernetes] [--kubeconfig FILE] [--namespace NS]\n"
    "  ctask operator --backend docker --tasks-dir DIR [--state-dir DIR]\n\n";

int RunOperator(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, OperatorFlags(), "ctask operator", kOperatorHelp, out, err);
  if (!flags) return flags.error();
  std::string why;
  Result<std::string> backend_name = ChooseBackend(*flags, why);
  if (!backend_name) {
    err << "ctask operator: " << backend_name.error().message() << "\n";
    return kExitUsage;
  }
  if (*backend_name == "kubernetes") {
    for (const char* docker_only : {"tasks-dir", "state-dir", "allow-host-path", "scan-interval-ms"}) {
      if (flags->Has(docker_only)) {
        err << "ctask operator: --" << docker_only
            << " is the Docker backend's: the Kubernetes backend reads its tasks from the API server (use "
               "--backend docker for a tasks directory)\n";
        return kExitUsage;
      }
    }
    return RunKubeOperator(*flags, out, err, why);
  }
  return RunDirectoryOperator(*flags, err, why);
}

}  // namespace ctask::cli
