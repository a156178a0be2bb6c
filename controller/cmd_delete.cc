// `ctask delete NAME...`: what `kubectl delete` does to a ContainerTask, on
// the local store. The request is an intent written into each record
// (metadata.deletionTimestamp, with the resourceVersion read) and announced
// to the state directory's owner (store/change_feed.h); whoever drives the
// tasks stops the containers (SIGTERM, then SIGKILL after --stop-grace),
// archives the log, removes the containers, then the record. When no
// process owns the directory (the `ctask run` that started the task has
// ended or died), delete takes the directory and does that itself. Either
// way it waits until the records are gone, and says so only then.
#include <thread>

#include "api/names.h"
#include "backends/docker/local_backend.h"
#include "cli.h"
#include "flags.h"
#include "run_outcome.h"

namespace ctask::cli {
namespace {

// How often a waiting delete looks at the records and at the directory's
// lock (the owner may end while we wait; then we take over).
constexpr std::chrono::milliseconds kDeletePoll{200};

struct Pending {
  std::string name;
  bool gone = false;
};

// Whether another process holds the state directory (its lock).
bool OwnedElsewhere(const std::string& root) {
  Result<store::StoreLock> lock = store::LockStateDir(root);
  return !lock && lock.error().code() == ErrorCode::kFailedPrecondition;
}

// Marks every named task for deletion. Returns the exit status so far.
int MarkAll(store::FileStore& store, const std::string& ns, std::vector<Pending>& pending, std::ostream& err) {
  int status = kExitOk;
  for (Pending& task : pending) {
    Status marked = backends::RequestChange(store, ns, task.name, [](api::ContainerTask& t) {
      if (t.metadata.deletion_timestamp) return false;
      t.metadata.deletion_timestamp = WallClock();
      return true;
    });
    if (marked) continue;
    task.gone = true;  // nothing more to wait for
    if (marked.error().code() == ErrorCode::kNotFound) {
      err << "ctask delete: containertask \"" << task.name << "\" not found in namespace \"" << ns << "\" (state dir "
          << store.root() << ")\n";
      status = std::max(status, kExitInvalid);
    } else {
      err << "ctask delete: " << task.name << ": " << marked.error().message() << "\n";
      status = kExitRunInfrastructure;
    }
  }
  return status;
}

// Removes the marked tasks on this thread, as the directory's owner for as
// long as it takes. Fails when the backend cannot be opened for another
// reason than another owner (that one is not an error: it removes them).
Status RemoveAsOwner(const backends::LocalBackendOptions& options, const std::string& ns,
                     std::vector<Pending>& pending) {
  Result<std::unique_ptr<backends::LocalBackend>> backend = backends::LocalBackend::Open(options);
  if (!backend) {
    if (backend.error().code() == ErrorCode::kFailedPrecondition) return {};  // another took it first
    return std::unexpected(backend.error());
  }
  for (Pending& task : pending) {
    if (task.gone) continue;
    Result<bool> removed = backends::RemoveMarked(**backend, ns, task.name);
    if (!removed) return std::unexpected(removed.error().WithContext(task.name));
  }
  return {};
}

const std::vector<FlagSpec>& DeleteFlags() {
  static const std::vector<FlagSpec> kSpecs = {
      {"namespace", 'n', true, "NAMESPACE", "The tasks' namespace (default \"default\")"},
      {"state-dir", '\0', true, "DIR", "Where task records and logs are kept (default $XDG_STATE_HOME/ctask)"},
      {"stop-grace", '\0', true, "SECONDS", "Time a running task gets between SIGTERM and SIGKILL (default 10)"},
      {"timeout", '\0', true, "SECONDS",
       "How long to wait for the tasks to be gone (default: the stop grace + 30); they stay marked after it"},
      {"help", 'h', false, "", "Show this help"},
  };
  return kSpecs;
}

constexpr const char* kDeleteHelp =
    "Stop tasks and remove them, their containers and their logs from the local state directory.\n"
    "Works on tasks another ctask process runs (a detached run, an operator): that process stops and\n"
    "removes them. Returns once they are gone. A task an operator runs from its --tasks-dir is not\n"
    "created again from its manifest until the manifest changes.\n\n"
    "Usage:\n  ctask delete NAME [NAME...] [-n NAMESPACE]\n\n";

// What the command line asks `delete` for.
struct DeleteOptions {
  std::vector<std::string> names;
  std::string ns;
  std::string root;              // the state directory
  bool state_dir_given = false;  // repeated in the hint of a delete that timed out
  std::chrono::seconds grace{};
  std::chrono::seconds timeout{};
};

OrExit<DeleteOptions> ParseDeleteFlags(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, DeleteFlags(), "ctask delete", kDeleteHelp, out, err);
  if (!flags) return std::unexpected(flags.error());
  if (flags->positional.empty()) {
    err << "ctask delete: name the task(s) to delete (ctask get lists them)\n";
    return std::unexpected(kExitUsage);
  }
  Result<long> grace = flags->Number("stop-grace", 10, 0, 3600);
  if (!grace) {
    err << "ctask delete: " << grace.error().message() << "\n";
    return std::unexpected(kExitUsage);
  }
  Result<long> timeout = flags->Number("timeout", *grace + backends::kRemoveSlack.count(), 0, 86400);
  if (!timeout) {
    err << "ctask delete: " << timeout.error().message() << "\n";
    return std::unexpected(kExitUsage);
  }
  DeleteOptions options;
  options.names = flags->positional;
  options.ns = flags->Get("namespace", api::kDefaultNamespace);
  // An empty --state-dir means the default, as an unset one does.
  options.root = flags->Get("state-dir");
  options.state_dir_given = flags->Has("state-dir");
  options.grace = std::chrono::seconds(*grace);
  options.timeout = std::chrono::seconds(*timeout);
  return options;
}

// Marks the tasks found gone since the last look, and says so for each.
// Returns whether all of them are gone.
bool NoteGone(store::FileStore& store, const std::string& ns, std::vector<Pending>& pending, std::ostream& out) {
  bool all_gone = true;
  for (Pending& task : pending) {
    if (task.gone) continue;
    Result<api::ContainerTask> record = store.Get(ns, task.name);
    if (!record && record.error().code() == ErrorCode::kNotFound) {
      task.gone = true;
      out << "containertask \"" << task.name << "\" deleted\n";
      out.flush();
    } else {
      all_gone = false;
    }
  }
  return all_gone;
}

// Waits until the records are gone: removed by the directory's owner, or by
// us when there is none. kExitOk when they are gone or the timeout passed
// (the caller reports which are left), kExitRunInfrastructure when removing
// them ourselves failed.
int WaitUntilGone(store::FileStore& store, const DeleteOptions& options, std::vector<Pending>& pending,
                  std::ostream& out, std::ostream& err) {
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  while (true) {
    if (NoteGone(store, options.ns, pending, out) || std::chrono::steady_clock::now() >= deadline) return kExitOk;
    if (!OwnedElsewhere(options.root)) {
      backends::LocalBackendOptions backend;
      backend.state_dir = options.root;
      backend.reconciler.stop_grace = options.grace;
      if (Status removed = RemoveAsOwner(backend, options.ns, pending); !removed) {
        err << "ctask delete: " << removed.error().message()
            << " (the task stays marked for deletion; run ctask delete again)\n";
        return kExitRunInfrastructure;
      }
      continue;  // look at the records again
    }
    std::this_thread::sleep_for(kDeletePoll);
  }
}

// The tasks still there after the timeout: marked, and stopping still.
int ReportStillStopping(const std::vector<Pending>& pending, const DeleteOptions& options, int status,
                        std::ostream& err) {
  for (const Pending& task : pending) {
    if (task.gone) continue;
    err << "ctask delete: containertask \"" << task.name << "\" is marked for deletion and still stopping after "
        << options.timeout.count() << "s; follow it with: ctask get " << task.name << " -w"
        << (options.state_dir_given ? " --state-dir " + options.root : std::string()) << "\n";
    status = kExitRunDeadline;
  }
  return status;
}

}  // namespace

int RunDelete(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<DeleteOptions> options = ParseDeleteFlags(args, out, err);
  if (!options) return options.error();
  if (options->root.empty()) {
    Result<std::string> fallback = store::DefaultStateDir();
    if (!fallback) {
      err << "ctask delete: " << fallback.error().message() << "\n";
      return kExitRunInfrastructure;
    }
    options->root = *fallback;
  }
  Result<std::unique_ptr<store::FileStore>> store = store::FileStore::Open(options->root);
  if (!store) {
    err << "ctask delete: " << store.error().message() << "\n";
    return kExitRunInfrastructure;
  }

  // 1. The intents.
  std::vector<Pending> pending;
  for (const std::string& name : options->names) pending.push_back({name});
  const int status = MarkAll(**store, options->ns, pending, err);
  // 2. The wait for the records to go.
  if (const int waited = WaitUntilGone(**store, *options, pending, out, err); waited != kExitOk) return waited;
  return ReportStillStopping(pending, *options, status, err);
}

}  // namespace ctask::cli
