// `ctask operator --backend docker --tasks-dir DIR`: the operator without a
// cluster. The directory's manifests are the desired state; the state
// directory holds each task's record (spec + status) and log; the Docker
// daemon runs the attempts. The same reconciler as `ctask run` converges
// them; this command adds the sync from files to records:
//   new task in a file     -> a new record (fresh UID, generation 1)
//   changed spec           -> generation + 1; see docs/docker-backend.md for
//                             what a change does to a running or finished task
//   task gone from files   -> deletion: containers stopped and removed, then
//                             the record and its log
// On start it re-reads every record and reconciles it, adopting running
// containers by their labels: a restart (even after kill -9) never starts an
// attempt twice.
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "api/codec.h"
#include "api/validate.h"
#include "backends/docker/local_backend.h"
#include "cli.h"
#include "flags.h"
#include "kube_flags.h"
#include "kube_operator.h"
#include "reconcile/error_reports.h"
#include "run_outcome.h"
#include "signals.h"
#include "tasks_dir.h"
#include "tombstones.h"
#include "util/uuid.h"

namespace ctask::cli {
namespace {

// The record annotation naming the file a task came from: only such records
// are deleted when their task leaves the directory (`ctask run` may share
// the state directory).
constexpr const char* kAnnotationSourceFile = "ctask.io/source-file";

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
        {"scan-interval-ms", '\0', true, "MS", "How often the tasks directory is read (default 1000)"},
        {"stop-grace", '\0', true, "SECONDS", "Time a stopped task gets between SIGTERM and SIGKILL (default 10)"},
        {"help", 'h', false, "", "Show this help"},
    };
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

// Brings the records in line with the directory: create, update, delete.
void SyncRecords(backends::LocalBackend& backend, const TasksDir& tasks_dir, std::ostream& err,
                 std::set<std::string>& refused_updates, Tombstones& tombstones) {
  const DesiredState& desired = tasks_dir.desired();
  store::Store& store = backend.store();
  std::set<std::string> keys;
  for (const auto& [key, want] : desired.tasks) keys.insert(key);
  tombstones.RemoveAllBut(keys);
  for (const auto& [key, want] : desired.tasks) {
    const auto [ns, name] = reconcile::SplitKey(key);
    Result<api::ContainerTask> record = store.Get(ns, name);
    const bool ours = record && record->metadata.annotations.contains(kAnnotationSourceFile);
    if (!record && tombstones.Matches(ns, name, Tombstones::Digest(want.task.spec))) {
      const std::string what = "task " + key + ": removed by its ttlSecondsAfterFinished or by ctask delete; " +
                               want.file + " still holds it: change or re-add the manifest to run it again";
      if (refused_updates.insert(what).second) Log(err, what);
      continue;
    }
    if (record && !ours) {
      // Another's record of the same name (a `ctask run`): it goes first,
      // through the workers; the manifest's task is created next scan.
      if (record->metadata.deletion_timestamp) continue;
      Status marked = backends::UpdateRecord(
          store, ns, name, [](api::ContainerTask& t) { t.metadata.deletion_timestamp = WallClock(); });
      if (!marked) {
        Log(err, "task " + key + ": cannot replace the record of that name: " + marked.error().message());
        continue;
      }
      Log(err, "task " + key + ": replacing a record of that name not from " + want.file);
      backend.queue().Add(key);
      continue;
    }
    if (!record) {
      tombstones.Remove(ns, name);
      api::ContainerTask task = want.task;
      task.metadata.annotations[kAnnotationSourceFile] = want.file;
      if (Status created = backends::SubmitFresh(backend, task); !created) {
        Log(err, "task " + key + ": cannot create its record: " + created.error().message());
        continue;
      }
      Log(err, "task " + key + ": created from " + want.file);
      backend.queue().Add(key);
      continue;
    }
    if (record->metadata.deletion_timestamp) continue;
    if (api::EncodeSpec(record->spec) == api::EncodeSpec(want.task.spec)) continue;
    const FieldErrors refused = api::ValidateUpdate(record->spec, want.task.spec);
    if (!refused.empty()) {
      const std::string what = want.file + ": ContainerTask/" + name + ": " + refused.front().ToString() +
                               ": the change is refused; the task keeps its spec";
      if (refused_updates.insert(what).second) Log(err, what);
      continue;
    }
    Status updated = backends::UpdateRecord(store, ns, name, [&](api::ContainerTask& t) {
      t.spec = want.task.spec;
      t.metadata.generation += 1;
      t.metadata.labels = want.task.metadata.labels;
      t.metadata.annotations[kAnnotationSourceFile] = want.file;
    });
    if (!updated) {
      Log(err, "task " + key + ": cannot update its record: " + updated.error().message());
      continue;
    }
    Log(err, "task " + key + ": spec changed in " + want.file + " (generation " +
                 std::to_string(record->metadata.generation + 1) + ")");
    backend.queue().Add(key);
  }

  Result<std::vector<store::ListEntry>> records = store.List();
  if (!records) {
    Log(err, "cannot list the state directory: " + records.error().message());
    return;
  }
  for (const store::ListEntry& entry : *records) {
    const std::string key = entry.namespace_ + "/" + entry.name;
    if (!entry.task || desired.tasks.contains(key)) continue;
    const auto source = entry.task->metadata.annotations.find(kAnnotationSourceFile);
    if (source == entry.task->metadata.annotations.end()) continue;  // not from the directory
    if (entry.task->metadata.deletion_timestamp) continue;
    if (tasks_dir.Unreadable(source->second)) continue;  // its file is there, broken: unknown, not gone
    Status marked = backends::UpdateRecord(store, entry.namespace_, entry.name,
                                           [](api::ContainerTask& t) { t.metadata.deletion_timestamp = WallClock(); });
    if (!marked) {
      Log(err, "task " + key + ": cannot mark it for deletion: " + marked.error().message());
      continue;
    }
    Log(err, "task " + key + ": its manifest is gone: deleting it");
    backend.queue().Add(key);
  }
}

}  // namespace

int RunOperator(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Result<ParsedFlags> flags = ParseFlags(args, OperatorFlags(), "ctask operator");
  if (!flags) {
    err << "ctask operator: " << flags.error().message() << "\n";
    return kExitUsage;
  }
  if (flags->Has("help")) {
    out << "Run the operator.\n\n"
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
           "  ctask operator --backend docker --tasks-dir DIR [--state-dir DIR]\n\n"
        << FlagsHelp(OperatorFlags());
    return kExitOk;
  }
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
  Log(err, "backend: docker (" + why + ")");
  if (!flags->Has("tasks-dir")) {
    err << "ctask operator: --tasks-dir DIR is required by the Docker backend: the directory of ContainerTask "
           "manifests to run\n";
    return kExitUsage;
  }
  Result<long> workers = flags->Number("workers", 4, 1, 64);
  Result<long> scan_ms = flags->Number("scan-interval-ms", 1000, 10, 600000);
  Result<long> grace = flags->Number("stop-grace", 10, 0, 3600);
  for (const Result<long>* r : {&workers, &scan_ms, &grace}) {
    if (!*r) {
      err << "ctask operator: " << r->error().message() << "\n";
      return kExitUsage;
    }
  }
  TasksDir tasks_dir(flags->Get("tasks-dir"));
  struct stat st {};
  if (::stat(tasks_dir.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    err << "ctask operator: --tasks-dir " << tasks_dir.path() << ": not a directory: create it or name another\n";
    return kExitUsage;
  }

  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  SignalWatcher signals([&](int, int) {
    std::lock_guard lock(mu);
    stopping = true;
    wake.notify_all();
  });

  backends::LocalBackendOptions options;
  options.state_dir = flags->Get("state-dir");
  options.policy.allowed_host_paths = flags->All("allow-host-path");
  auto configs = std::make_shared<backends::ConfigSet>();  // from the tasks directory, on every change
  options.configs = configs;
  options.workers = static_cast<int>(*workers);
  options.reconciler.stop_grace = std::chrono::seconds(*grace);
  options.on_status = [&](const api::ContainerTask& task) {
    Log(err, "task " + reconcile::TaskKey(task) + ": " + task.status.phase + " (" + task.status.reason +
                 "): " + task.status.message);
  };
  reconcile::ErrorReports error_reports;
  std::mutex error_mu;
  // The spec digest of each task the directory holds, for tombstones.
  std::map<std::string, std::string> desired_digests;  // guarded by error_mu
  std::unique_ptr<Tombstones> tombstones;              // set before the workers start
  store::Store* store = nullptr;
  options.on_result = [&](const std::string& key, const Result<reconcile::ReconcileResult>& result) {
    if (std::optional<reconcile::ErrorReport> report = error_reports.Report(key, result)) {
      Log(err, "task " + key + ": " + report->message + " (" + report->what_next + ")");
    }
    std::lock_guard lock(error_mu);
    if (result) {
      // Gone while its manifest stays: its ttlSecondsAfterFinished removed it.
      auto digest = desired_digests.find(key);
      const auto [ns, name] = reconcile::SplitKey(key);
      if (result->settled && digest != desired_digests.end() && store != nullptr) {
        Result<api::ContainerTask> record = store->Get(ns, name);
        if (!record && record.error().code() == ErrorCode::kNotFound) {
          if (Status put = tombstones->Put(ns, name, digest->second); !put) {
            Log(err, "task " + key + ": cannot record its expiry: " + put.error().message());
          }
        }
      }
    }
  };
  Result<std::unique_ptr<backends::LocalBackend>> opened = backends::LocalBackend::Open(std::move(options));
  if (!opened) {
    err << "ctask operator: " << opened.error().message() << "\n";
    return kExitRunInfrastructure;
  }
  backends::LocalBackend& backend = **opened;
  tombstones = std::make_unique<Tombstones>(backend.state_dir());
  store = &backend.store();
  Log(err, "operator started: tasks from " + tasks_dir.path() + ", state in " + backend.state_dir());

  // Adopt: every record is reconciled once, running containers found by label.
  if (Result<std::vector<store::ListEntry>> records = backend.store().List(); records) {
    for (const store::ListEntry& entry : *records) backend.queue().Add(entry.namespace_ + "/" + entry.name);
  }
  backend.Start();

  std::set<std::string> refused_updates;
  // Records are compared with the files on every change, and every
  // kResync anyway: a task re-added while its old record was still being
  // deleted is created once the deletion is done.
  constexpr auto kResync = std::chrono::seconds(10);
  auto last_sync = std::chrono::steady_clock::now();
  std::unique_lock lock(mu);
  while (!stopping) {
    lock.unlock();
    ScanResult scan = tasks_dir.Scan();
    for (const std::string& problem : scan.problems) Log(err, problem);
    if (scan.changed || std::chrono::steady_clock::now() - last_sync >= kResync) {
      last_sync = std::chrono::steady_clock::now();
      configs->Replace(tasks_dir.desired().configs);
      {
        std::lock_guard digests_lock(error_mu);
        desired_digests.clear();
        for (const auto& [key, want] : tasks_dir.desired().tasks) {
          desired_digests[key] = Tombstones::Digest(want.task.spec);
        }
      }
      SyncRecords(backend, tasks_dir, err, refused_updates, *tombstones);
    }
    lock.lock();
    wake.wait_for(lock, std::chrono::milliseconds(*scan_ms), [&] { return stopping; });
  }
  lock.unlock();
  Log(err, "operator stopping: containers keep running and are adopted at the next start");
  backend.Stop();
  return kExitOk;
}

}  // namespace ctask::cli
