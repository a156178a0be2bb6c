// `ctask delete NAME...`: what `kubectl delete` does to a ContainerTask, on
// the local store: the task's containers are stopped (SIGTERM, then SIGKILL
// after --stop-grace) and removed, then its record and log.
#include "cli.h"
#include "flags.h"
#include "local_backend.h"
#include "run_outcome.h"

namespace ctask::cli {

int RunDelete(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = {
      {"namespace", 'n', true, "NAMESPACE", "The tasks' namespace (default \"default\")"},
      {"state-dir", '\0', true, "DIR", "Where task records and logs are kept (default $XDG_STATE_HOME/ctask)"},
      {"stop-grace", '\0', true, "SECONDS", "Time a running task gets between SIGTERM and SIGKILL (default 10)"},
      {"help", 'h', false, "", "Show this help"},
  };
  Result<ParsedFlags> flags = ParseFlags(args, specs, "ctask delete");
  if (!flags) {
    err << "ctask delete: " << flags.error().message() << "\n";
    return kExitUsage;
  }
  if (flags->Has("help")) {
    out << "Stop tasks and remove them, their containers and their logs from the local state directory.\n"
           "A task an operator runs from its --tasks-dir is deleted by removing its manifest there.\n\n"
           "Usage:\n  ctask delete NAME [NAME...] [-n NAMESPACE]\n\n"
        << FlagsHelp(specs);
    return kExitOk;
  }
  if (flags->positional.empty()) {
    err << "ctask delete: name the task(s) to delete (ctask get lists them)\n";
    return kExitUsage;
  }
  Result<long> grace = flags->Number("stop-grace", 10, 0, 3600);
  if (!grace) {
    err << "ctask delete: " << grace.error().message() << "\n";
    return kExitUsage;
  }
  LocalBackendOptions options;
  options.state_dir = flags->Get("state-dir");
  options.reconciler.stop_grace = std::chrono::seconds(*grace);
  Result<std::unique_ptr<LocalBackend>> backend = LocalBackend::Open(std::move(options));
  if (!backend) {
    err << "ctask delete: " << backend.error().message() << "\n";
    return kExitRunInfrastructure;
  }
  const std::string ns = flags->Get("namespace", "default");
  int status = kExitOk;
  for (const std::string& name : flags->positional) {
    Status marked = UpdateRecord((*backend)->store(), ns, name,
                                 [](api::ContainerTask& t) { t.metadata.deletion_timestamp = WallClock(); });
    if (!marked) {
      if (marked.error().code() == ErrorCode::kNotFound) {
        err << "ctask delete: containertask \"" << name << "\" not found in namespace \"" << ns << "\" (state dir "
            << (*backend)->state_dir() << ")\n";
        status = kExitInvalid;
      } else {
        err << "ctask delete: " << name << ": " << marked.error().message() << "\n";
        status = kExitRunInfrastructure;
      }
      continue;
    }
    Result<reconcile::ReconcileResult> removed = (*backend)->reconciler().Reconcile(ns, name);
    if (!removed) {
      err << "ctask delete: " << name << ": " << removed.error().message()
          << " (the record is marked for deletion; run ctask delete again)\n";
      status = kExitRunInfrastructure;
      continue;
    }
    out << "containertask \"" << name << "\" deleted\n";
  }
  return status;
}

}  // namespace ctask::cli
