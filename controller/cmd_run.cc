// `ctask run -f FILE...`: run the ContainerTasks of the files through the
// local Docker daemon, show their output as it comes, and exit with what
// happened (run_outcome.h). The tasks go through the same store, reconciler
// and runtime the directory-mode operator uses; this command is that loop
// for a fixed set of tasks, ending when all of them are settled.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include "api/manifest.h"
#include "api/names.h"
#include "backends/docker/local_backend.h"
#include "cli.h"
#include "flags.h"
#include "limit_flags.h"
#include "reconcile/error_reports.h"
#include "run_outcome.h"
#include "signals.h"
#include "status/decide.h"
#include "status/fan_out.h"

namespace ctask::cli {
namespace {

// "NAME", or "NAME[3]" for item 3 of a fan-out task, from a task key.
std::string DisplayName(const std::string& key) {
  std::string name = key.substr(key.find('/') + 1);
  const size_t item = name.find(reconcile::kItemKeySeparator);
  if (item == std::string::npos) return name;
  size_t digits = item + 1;
  while (digits + 1 < name.size() && name[digits] == '0') ++digits;  // zero-padded in the key
  return name.substr(0, item) + "[" + name.substr(digits) + "]";
}

// Writes task output as it arrives. One task: its bytes, unchanged, to
// stdout/stderr. Several (or the items of a fan-out): whole lines, each
// prefixed "NAME | " (an item's "NAME[3] | "), so outputs interleave by line
// and stay readable.
class OutputPrinter {
 public:
  OutputPrinter(std::ostream& out, std::ostream& err, bool prefixed) : out_(out), err_(err), prefixed_(prefixed) {}

  void Write(const std::string& key, runtime::LogStream stream, std::string_view data) {
    std::lock_guard lock(mu_);
    std::ostream& to = stream == runtime::LogStream::kStdout ? out_ : err_;
    if (!prefixed_) {
      to.write(data.data(), static_cast<std::streamsize>(data.size()));
      to.flush();
      return;
    }
    std::string& partial = partial_[{key, stream}];
    partial.append(data);
    const std::string prefix = DisplayName(key) + " | ";
    size_t start = 0;
    for (size_t nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n', start)) {
      to << prefix << std::string_view(partial).substr(start, nl + 1 - start);
      start = nl + 1;
    }
    partial.erase(0, start);
    to.flush();
  }

  // The unfinished last lines, once the tasks are done.
  void Flush() {
    std::lock_guard lock(mu_);
    for (auto& [where, partial] : partial_) {
      if (partial.empty()) continue;
      std::ostream& to = where.second == runtime::LogStream::kStdout ? out_ : err_;
      to << DisplayName(where.first) << " | " << partial << "\n";
      partial.clear();
    }
    out_.flush();
  }

 private:
  std::mutex mu_;
  std::ostream& out_;
  std::ostream& err_;
  const bool prefixed_;
  std::map<std::pair<std::string, runtime::LogStream>, std::string> partial_;  // guarded by mu_
};

// What the workers report, and what the command waits on.
struct Progress {
  std::mutex mu;
  std::condition_variable changed;
  std::set<std::string> settled;             // guarded by mu
  std::map<std::string, std::string> shown;  // key -> "phase/reason" last printed; guarded by mu
  reconcile::ErrorReports errors;            // which reconcile errors to print (thread-safe itself)
  // The last record written of each task: the summary's source when a TTL
  // of zero has removed the record itself.
  std::map<std::string, api::ContainerTask> last;  // guarded by mu
  int interrupts = 0;                              // guarded by mu
};

const std::vector<FlagSpec>& RunFlags() {
  static const std::vector<FlagSpec> kSpecs = [] {
    std::vector<FlagSpec> specs = {
        {"filename", 'f', true, "FILE", "Manifest file (YAML or JSON; - for stdin); repeatable"},
        {"detach", 'd', false, "", "Start the tasks and return at once; follow them with ctask get / ctask logs"},
        {"quiet", 'q', false, "", "Do not show the tasks' output or progress, only the summary"},
        {"state-dir", '\0', true, "DIR", "Where task records and logs are kept (default $XDG_STATE_HOME/ctask)"},
        {"allow-host-path", '\0', true, "DIR",
         "Let tasks bind-mount DIR or below (spec.workspace.hostPath); repeatable"},
        {"stop-grace", '\0', true, "SECONDS", "Time a stopped task gets between SIGTERM and SIGKILL (default 10)"},
        {"help", 'h', false, "", "Show this help"},
    };
    // Before --help, which ends the list.
    std::vector<FlagSpec> limits = LimitFlagSpecs();
    specs.insert(specs.end() - 1, limits.begin(), limits.end());
    return specs;
  }();
  return kSpecs;
}

constexpr const char* kRunHelp =
    "Run ContainerTasks through the local Docker daemon and show what happened.\n"
    "The files may hold Secrets and ConfigMaps the tasks' env uses, as for kubectl apply.\n"
    "Each task's record and full log are kept in the state directory (ctask get, ctask logs).\n"
    "A task of the same name already there is replaced.\n\n"
    "Usage:\n  ctask run -f FILE [-f FILE...] [--detach]\n\n"
    "Ctrl-C cancels the tasks (their containers are stopped, status Cancelled);\n"
    "a second Ctrl-C quits at once, leaving the stops to the daemon.\n\n"
    "Exit status: 0 when every task Succeeded; else, for the first task that did not,\n"
    "its exit code, 124 past its timeout, 126 could not start, 130 cancelled,\n"
    "137 OOMKilled with exit code 0; 125 when ctask could not run the tasks; 2 on bad usage.\n\n";

// Detached: the work continues in a child process of its own session; the
// parent returns once the child reports the tasks submitted (or an error).
// Returns -1 in the child, the parent's exit status in the parent.
int Detach(int report_fd[2], std::ostream& err) {
  if (::pipe(report_fd) != 0) {
    err << "ctask run: cannot detach: pipe: " << std::strerror(errno) << "\n";
    return kExitRunInfrastructure;
  }
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) {
    err << "ctask run: cannot detach: fork: " << std::strerror(errno) << "\n";
    return kExitRunInfrastructure;
  }
  if (pid == 0) {
    ::close(report_fd[0]);
    ::setsid();
    // Whatever the caller left open (a pipe it reads to EOF) must not stay
    // open for as long as the tasks run.
    const long max_fd = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
    for (int fd = 3; fd < max_fd; ++fd) {
      if (fd != report_fd[1]) ::close(fd);
    }
    return -1;
  }
  ::close(report_fd[1]);
  std::string report;
  char buf[4096];
  for (ssize_t n; (n = ::read(report_fd[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    report.append(buf, static_cast<size_t>(n));
  }
  ::close(report_fd[0]);
  if (report.starts_with("ok\n")) {
    err << report.substr(3);
    return kExitOk;
  }
  err << (report.empty() ? "ctask run: the detached process ended without a report\n" : report);
  return kExitRunInfrastructure;
}

// In the detached child: says how it went and lets go of the terminal.
void ReportAndLetGo(int fd, const std::string& report) {
  if (fd < 0) return;
  size_t done = 0;
  while (done < report.size()) {
    const ssize_t n = ::write(fd, report.data() + done, report.size() - done);
    if (n <= 0 && errno != EINTR) break;
    if (n > 0) done += static_cast<size_t>(n);
  }
  ::close(fd);
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
}

// What the command line asks `run` for.
struct RunOptions {
  std::vector<std::string> files;
  bool detach = false;
  bool quiet = false;  // detached implies quiet: nobody is there to read it
  std::chrono::seconds stop_grace{};
  std::string state_dir;  // empty: the default
  bool state_dir_given = false;
  std::vector<std::string> allowed_host_paths;
  admission::Limits limits;  // the flags'; the files' TaskQueues add theirs
};

OrExit<RunOptions> ParseRunFlags(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, RunFlags(), "ctask run", kRunHelp, out, err);
  if (!flags) return std::unexpected(flags.error());
  if (!flags->positional.empty()) {
    err << "ctask run: unexpected argument \"" << flags->positional[0]
        << "\": name files with -f (e.g. ctask run -f task.yaml)\n";
    return std::unexpected(kExitUsage);
  }
  RunOptions options;
  options.files = flags->All("filename");
  if (options.files.empty()) {
    err << "ctask run: no input: name a manifest with -f FILE\n";
    return std::unexpected(kExitUsage);
  }
  Result<long> grace = flags->Number("stop-grace", 10, 0, 3600);
  if (!grace) {
    err << "ctask run: " << grace.error().message() << "\n";
    return std::unexpected(kExitUsage);
  }
  options.stop_grace = std::chrono::seconds(*grace);
  Result<admission::Limits> limits = LimitsFromFlags(*flags);
  if (!limits) {
    err << "ctask run: " << limits.error().message() << "\n";
    return std::unexpected(kExitUsage);
  }
  options.limits = std::move(*limits);
  options.detach = flags->Has("detach");
  options.quiet = flags->Has("quiet") || options.detach;
  options.state_dir = flags->Get("state-dir");
  options.state_dir_given = flags->Has("state-dir");
  options.allowed_host_paths = flags->All("allow-host-path");
  return options;
}

// The tasks to run and the configs they use, each task in its namespace.
struct RunInput {
  api::Manifests manifests;
  std::vector<std::string> keys;  // the tasks' keys, in file order
};

// The manifests: every problem reported, nothing run when any.
OrExit<RunInput> LoadTasks(const std::vector<std::string>& files, std::ostream& err) {
  RunInput input{api::LoadManifestFiles(files), {}};
  for (const api::ManifestProblem& problem : input.manifests.problems) err << problem.ToString() << "\n";
  if (!input.manifests.ok()) {
    err << "ctask run: nothing was run: fix the problems above (ctask validate -f FILE checks a manifest)\n";
    return std::unexpected(kExitRunInfrastructure);
  }
  if (input.manifests.tasks.empty()) {
    err << "ctask run: no ContainerTask in the files given\n";
    return std::unexpected(kExitRunInfrastructure);
  }
  for (api::LoadedTask& loaded : input.manifests.tasks) {
    loaded.task.metadata.namespace_ = api::NamespaceOrDefault(loaded.task.metadata.namespace_);
    const std::string key = reconcile::TaskKey(loaded.task);
    if (std::find(input.keys.begin(), input.keys.end(), key) != input.keys.end()) {
      err << loaded.source.file << ": doc " << loaded.source.document << ": ContainerTask/" << loaded.task.metadata.name
          << ": metadata.name: the files name this task twice: give each task its own name\n";
      return std::unexpected(kExitRunInfrastructure);
    }
    input.keys.push_back(key);
  }
  return input;
}

// A phase change on the way to the end, once per phase and reason; the end
// itself is in the summary. Every status is kept for that summary.
void ShowStatus(Progress& progress, bool quiet, std::ostream& progress_out, const api::ContainerTask& task) {
  const std::string key = reconcile::TaskKey(task);
  const std::string shown = task.status.phase + "/" + task.status.reason;
  std::lock_guard lock(progress.mu);
  progress.last[key] = task;
  if (quiet || progress.shown[key] == shown) return;
  progress.shown[key] = shown;
  // Terminal states are in the summary; show the way there.
  if (status::IsTerminal(task.status.phase)) return;
  progress_out << "ctask: " << task.metadata.name << ": " << task.status.phase << " (" << task.status.reason
               << "): " << task.status.message << "\n";
}

// A reconcile's result: a settled task wakes the wait; an error is shown as
// ErrorReports decides (not every retry of the same one).
void ShowResult(Progress& progress, std::ostream& progress_out, const std::string& key,
                const Result<reconcile::ReconcileResult>& result) {
  std::lock_guard lock(progress.mu);
  if (result && result->settled) {
    progress.settled.insert(key);
    progress.changed.notify_all();
  } else if (std::optional<reconcile::ErrorReport> report = progress.errors.Report(key, result)) {
    progress_out << "ctask: " << key << ": " << report->message << " (" << report->what_next << ")\n";
  }
}

// The backend's options: the flags, and the callbacks that show the tasks'
// output and progress (none when quiet) and feed the wait.
backends::LocalBackendOptions BackendOptions(const RunOptions& flags, const RunInput& input, Progress& progress,
                                             OutputPrinter& printer, std::ostream& progress_out) {
  backends::LocalBackendOptions options;
  options.state_dir = flags.state_dir;
  options.policy.allowed_host_paths = flags.allowed_host_paths;
  options.reconciler.stop_grace = flags.stop_grace;
  options.workers = static_cast<int>(std::min<size_t>(input.keys.size(), 4));
  options.configs = std::make_shared<backends::ConfigSet>(input.manifests.configs);
  options.limits = reconcile::WithTaskQueues(flags.limits, input.manifests.queues);
  if (!flags.quiet) {
    options.display = [&printer](const std::string& key, int, runtime::LogStream stream, std::string_view data) {
      printer.Write(key, stream, data);
    };
    options.on_pull_progress = [&progress, &progress_out](const std::string& image, const api::Json& message) {
      const std::string status = message.is_object() ? message.value("status", "") : "";
      if (status.empty() || message.contains("progressDetail")) return;  // per-layer byte counts: too chatty
      std::lock_guard lock(progress.mu);
      progress_out << "ctask: pulling " << image << ": " << status << "\n";
    };
  }
  options.on_status = [&progress, &progress_out, quiet = flags.quiet](const api::ContainerTask& task) {
    ShowStatus(progress, quiet, progress_out, task);
  };
  options.on_result = [&progress, &progress_out](const std::string& key,
                                                 const Result<reconcile::ReconcileResult>& result) {
    ShowResult(progress, progress_out, key, result);
  };
  return options;
}

// What the detached child reports to its parent once the tasks are
// submitted: "ok", then how to follow each task.
std::string StartedReport(const RunOptions& flags, const RunInput& input) {
  std::string report = "ok\n";
  for (const api::LoadedTask& loaded : input.manifests.tasks) {
    report += "ctask: " + loaded.task.metadata.name + " started; follow it with: ctask logs -f " +
              loaded.task.metadata.name + (flags.state_dir_given ? " --state-dir " + flags.state_dir : std::string()) +
              "\n";
  }
  return report;
}

// The first Ctrl-C: every task cancelled, a one-way spec.cancel, as
// `kubectl patch` would set it. Called without progress.mu held: the
// workers take it to report.
void CancelAll(backends::LocalBackend& backend, const std::vector<std::string>& keys, std::ostream& progress_out) {
  for (const std::string& key : keys) {
    const auto [ns, name] = reconcile::SplitKey(key);
    Status cancelled = backends::UpdateRecord(backend.store(), ns, name, [](api::ContainerTask& t) {
      if (!t.spec.cancel) ++t.metadata.generation;
      t.spec.cancel = true;
    });
    if (!cancelled && cancelled.error().code() != ErrorCode::kNotFound) {
      progress_out << "ctask: " << key << ": cannot cancel: " << cancelled.error().message() << "\n";
    }
    backend.queue().Add(key);
  }
}

// The second Ctrl-C: leave at once. The workers may be inside a stop that
// waits out its grace period, and joining them would wait with it. The
// records already say Cancelled; the daemon finishes the stops it was asked.
[[noreturn]] void QuitNow(std::ostream& progress_out, std::ostream& out) {
  progress_out << "ctask: interrupted again: quitting now; containers may still be stopping (ctask get "
                  "shows them)\n";
  progress_out.flush();
  out.flush();
  std::_Exit(kExitRunCancelled);
}

// Waits until every task is settled. The first Ctrl-C cancels them all; a
// second leaves at once.
void WaitUntilSettled(Progress& progress, backends::LocalBackend& backend, const std::vector<std::string>& keys,
                      std::ostream& progress_out, std::ostream& out) {
  bool cancelling = false;
  std::unique_lock lock(progress.mu);
  // Conditions are checked before each wait, never only after one: a signal
  // that arrives while the lock is released (the cancel below) has already
  // notified, and waiting first would miss it.
  while (true) {
    if (progress.interrupts >= 1 && !cancelling) {
      cancelling = true;
      progress_out << "ctask: cancelling: stopping the containers (Ctrl-C again to quit at once)\n";
      // Cancelled first even when both Ctrl-Cs came together, so the
      // records say what happened before a quick exit.
      lock.unlock();
      CancelAll(backend, keys, progress_out);
      lock.lock();
      continue;  // the state may have changed while unlocked
    }
    if (progress.interrupts >= 2) QuitNow(progress_out, out);
    if (progress.settled.size() >= keys.size()) return;
    progress.changed.wait(lock);
  }
}

// The last record seen of a task whose record is gone (its TTL, or a
// `ctask delete`, removed it); one deleted before it finished counts as
// cancelled: it was stopped on request.
std::optional<api::ContainerTask> LastSeen(Progress& progress, const std::string& key) {
  std::lock_guard lock(progress.mu);
  auto it = progress.last.find(key);
  if (it == progress.last.end()) return std::nullopt;
  api::ContainerTask last = it->second;
  if (!status::IsTerminal(last.status.phase)) {
    last.status.phase = api::phase::kCancelled;
    last.status.reason = "Deleted";
    last.status.message = "deleted before it finished (ctask delete)";
  }
  return last;
}

// How each task ended, in file order, for the summary.
OrExit<std::vector<api::ContainerTask>> Finished(backends::LocalBackend& backend, Progress& progress,
                                                 const std::vector<std::string>& keys, std::ostream& err) {
  std::vector<api::ContainerTask> finished;
  for (const std::string& key : keys) {
    const auto [ns, name] = reconcile::SplitKey(key);
    Result<api::ContainerTask> task = backend.store().Get(ns, name);
    if (task) {
      finished.push_back(std::move(*task));
    } else if (task.error().code() == ErrorCode::kNotFound) {
      if (std::optional<api::ContainerTask> last = LastSeen(progress, key)) finished.push_back(std::move(*last));
    } else {
      err << "ctask run: " << key << ": " << task.error().message() << "\n";
      return std::unexpected(kExitRunInfrastructure);
    }
  }
  return finished;
}

}  // namespace

int RunRun(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<RunOptions> flags = ParseRunFlags(args, out, err);
  if (!flags) return flags.error();
  // 1. The manifests.
  OrExit<RunInput> input = LoadTasks(flags->files, err);
  if (!input) return input.error();

  int report_fd[2] = {-1, -1};
  if (flags->detach) {
    if (const int parent = Detach(report_fd, err); parent >= 0) return parent;
  }
  std::ostream& progress_out = err;
  auto fail = [&](const std::string& message) {
    if (flags->detach) {
      ReportAndLetGo(report_fd[1], "ctask run: " + message + "\n");
    } else {
      err << "ctask run: " << message << "\n";
    }
    return kExitRunInfrastructure;
  };

  // 2. The backend. Signals are taken by a watcher thread from here on.
  Progress progress;
  const bool fan_out = std::any_of(input->manifests.tasks.begin(), input->manifests.tasks.end(),
                                   [](const auto& loaded) { return status::IsFanOut(loaded.task.spec); });
  OutputPrinter printer(out, err, input->keys.size() > 1 || fan_out);
  std::unique_ptr<backends::LocalBackend> opened;  // declared before the watcher: destroyed after it
  SignalWatcher signals([&](int, int count) {
    std::lock_guard lock(progress.mu);
    progress.interrupts = count;
    progress.changed.notify_all();
  });
  Result<std::unique_ptr<backends::LocalBackend>> open =
      backends::LocalBackend::Open(BackendOptions(*flags, *input, progress, printer, progress_out));
  if (!open) return fail(open.error().message());
  opened = std::move(*open);
  backends::LocalBackend& backend = *opened;

  // 3. The records, then the workers.
  for (const api::LoadedTask& loaded : input->manifests.tasks) {
    if (Status submitted = backends::SubmitFresh(backend, loaded.task); !submitted) {
      return fail("task " + loaded.task.metadata.name + ": " + submitted.error().message());
    }
  }
  backend.Start();
  for (const std::string& key : input->keys) backend.queue().Add(key);
  if (flags->detach) ReportAndLetGo(report_fd[1], StartedReport(*flags, *input));

  // 4. Wait until every task is settled.
  WaitUntilSettled(progress, backend, input->keys, progress_out, out);
  backend.Stop();
  printer.Flush();

  // 5. The summary, and the exit status it implies.
  OrExit<std::vector<api::ContainerTask>> finished = Finished(backend, progress, input->keys, err);
  if (!finished) return finished.error();
  if (!flags->detach) {
    for (const api::ContainerTask& task : *finished) err << "ctask: " << SummaryLine(task, WallClock()) << "\n";
  }
  return RunExitCode(*finished);
}

}  // namespace ctask::cli
