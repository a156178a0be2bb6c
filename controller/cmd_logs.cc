// `ctask logs NAME [-f]`: a task's log artifact from the local state
// directory, byte for byte, and with -f the rest of it as it is written.
//
// The artifact holds the latest attempt's output and is written live. The
// record's status.logAttempt = N says attempt N's artifact is complete, so
// following ends once the task is terminal and status.logAttempt names its
// last attempt: then nothing more will be written. A new attempt
// starts the artifact afresh; a follower sees it shrink below what it has
// read and starts again from the beginning, saying so on stderr.
//
// Read-only, like `ctask get`: no lock is taken.
//
// With --backend kubernetes (or --kubeconfig/--context), the task and its
// log ConfigMap are read from the cluster instead. The archive there is
// written when the attempt has ended, so -f waits for the end and prints
// the archive then (live output: kubectl logs -f job/JOB).
#include <charconv>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "api/names.h"
#include "backends/kubernetes/task_store.h"
#include "cli.h"
#include "flags.h"
#include "kube/connect.h"
#include "kube_flags.h"
#include "render/labels.h"
#include "status/decide.h"
#include "status/log_attempt.h"
#include "store/file_store.h"
#include "task_flags.h"
#include "util/field_error.h"

namespace ctask::cli {
namespace {

// How often -f looks for more output and at the task's state.
constexpr std::chrono::milliseconds kFollowInterval(200);

// Nothing more will be written to the artifact: the task has ended and the
// log of its last attempt is complete (or it never ran an attempt).
bool LogIsFinal(const api::ContainerTask& task) {
  if (!status::IsTerminal(task.status.phase)) return false;
  if (task.status.attempts == 0) return true;
  return status::CompleteLogAttempt(task) == task.status.attempts;
}

std::string NotFound(const std::string& name, const std::string& ns, const std::string& root) {
  return "ctask: containertask " + QuoteValue(name) + " not found in namespace " + QuoteValue(ns) + " (" +
         (root.starts_with("cluster ") ? root : "state dir " + root) + ")\n";
}

// Copies the artifact from `offset` on to `out`, advancing offset.
class LogCopier {
 public:
  // `current_attempt` reads the attempt running now, for the note that a
  // new one started; it is asked when that happens, as the record read
  // before may already be out of date.
  LogCopier(store::TaskReader& store, std::string ns, std::string name, std::function<int32_t()> current_attempt,
            std::ostream& out, std::ostream& err)
      : store_(store),
        ns_(std::move(ns)),
        name_(std::move(name)),
        current_attempt_(std::move(current_attempt)),
        out_(out),
        err_(err) {}

  // Prints what is there beyond the offset. kNotFound (no artifact yet) is
  // not an error: found() says whether there was one.
  Status Drain() {
    for (;;) {
      Result<std::string> bytes = store_.ReadLog(ns_, name_, offset_);
      if (!bytes) {
        if (bytes.error().code() != ErrorCode::kNotFound) return std::unexpected(bytes.error());
        // Gone (replaced by a new attempt's, or removed): whatever comes
        // next is a new artifact.
        if (offset_ > 0) restart_pending_ = true;
        found_ = false;
        return {};
      }
      found_ = true;
      if (bytes->empty()) {
        if (offset_ == 0) {
          if (restart_pending_) Restarted();
          return {};
        }
        // Nothing new, or an artifact started afresh and shorter than what
        // was read: the byte before the offset tells which.
        Result<std::string> probe = store_.ReadLog(ns_, name_, offset_ - 1);
        if (!probe) {
          if (probe.error().code() != ErrorCode::kNotFound) return std::unexpected(probe.error());
          continue;  // removed meanwhile: the next read says so
        }
        if (!probe->empty()) return {};
        offset_ = 0;
        Restarted();
        continue;
      }
      if (restart_pending_) Restarted();
      out_.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
      out_.flush();
      offset_ += bytes->size();
    }
  }

  bool found() const { return found_; }

 private:
  void Restarted() {
    restart_pending_ = false;
    out_.flush();
    err_ << "--- attempt " << current_attempt_() << " ---\n" << std::flush;
  }

  store::TaskReader& store_;
  const std::string ns_;
  const std::string name_;
  const std::function<int32_t()> current_attempt_;
  std::ostream& out_;
  std::ostream& err_;
  uint64_t offset_ = 0;
  bool found_ = false;
  bool restart_pending_ = false;
};

std::vector<FlagSpec> LogsFlags() {
  std::vector<FlagSpec> specs = {
      {"namespace", 'n', true, "NAMESPACE", "The task's namespace (default \"default\")"},
      {"follow", 'f', false, "", "Keep printing the log as it is written, until the task has ended"},
      {"index", '\0', true, "I", "Item I's log, of a task with completions or items (docs/fan-out.md)"},
      {"state-dir", '\0', true, "DIR", "The local state directory (default $XDG_STATE_HOME/ctask)"},
      {"backend", '\0', true, "docker|kubernetes",
       "Where the task lives (default docker, or kubernetes when --kubeconfig or --context is given)"},
      {"help", 'h', false, "", "Show this help"},
  };
  for (FlagSpec& spec : KubeFlagSpecs()) specs.push_back(std::move(spec));
  // Hidden, for tests: give up following after SECONDS, with exit status 1.
  specs.push_back({"follow-timeout", '\0', true, "SECONDS", ""});
  return specs;
}

constexpr const char* kLogsHelp =
    "Print a task's log: the output of its latest attempt, byte for byte, from the local\n"
    "state directory (Docker backend) or from the task's log ConfigMap in the cluster\n"
    "(--backend kubernetes). With -f, keep printing it as it is written until the task has\n"
    "ended (in a cluster the archive is written when the attempt ends: -f waits for it).\n\n"
    "An item of a fan-out task has its own log: --index I prints item I's latest attempt's.\n\n"
    "Usage:\n  ctask logs NAME [-n NAMESPACE] [-f | --index I] [--state-dir DIR]\n"
    "  ctask logs NAME --backend kubernetes [-n NAMESPACE] [--kubeconfig FILE] [--context NAME]\n\n"
    "Examples:\n  ctask logs hello\n  ctask logs -f hello\n  ctask logs --backend kubernetes -n dev hello\n\n"
    "Exit status: 0 on success, 1 when the task is not found or its log cannot be read,\n"
    "2 on bad usage.\n\n";

// What the command line asks `logs` for.
struct LogsOptions {
  std::string name;
  std::string ns;
  bool follow = false;
  std::optional<std::chrono::seconds> follow_timeout;
  std::optional<int32_t> index;  // --index: an item's log
  std::string backend;           // "docker" or "kubernetes"
  // The rest (--kubeconfig, --context, the client's, --state-dir) is read
  // when the store is opened: the kube flags say where the cluster is.
  ParsedFlags flags;
};

// The flags up to the backend; that backend's own flags are checked when it
// is opened, in the same order as before.
OrExit<LogsOptions> ParseLogsFlags(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, LogsFlags(), "ctask logs", kLogsHelp, out, err);
  if (!flags) return std::unexpected(flags.error());
  if (flags->positional.size() != 1) {
    err << "ctask logs: " << (flags->positional.empty() ? "name the task: ctask logs NAME" : "give one task NAME")
        << "\n";
    return std::unexpected(kExitUsage);
  }
  LogsOptions options;
  options.name = flags->positional[0];
  options.ns = flags->Get("namespace", api::kDefaultNamespace);
  if (!CheckNamespace("ctask logs", options.ns, err) || !CheckTaskName("ctask logs", options.name, err)) {
    return std::unexpected(kExitUsage);
  }
  OrExit<std::optional<std::chrono::seconds>> timeout = TestTimeoutFlag("ctask logs", *flags, "follow-timeout", err);
  if (!timeout) return std::unexpected(timeout.error());
  options.follow_timeout = *timeout;
  options.follow = flags->Has("follow");
  if (flags->Has("index")) {
    const std::string text = flags->Get("index", "");
    int32_t index = -1;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (error != std::errc() || end != text.data() + text.size() || index < 0) {
      err << "ctask logs: --index " << QuoteValue(text) << ": must be an item's index, 0 or more\n";
      return std::unexpected(kExitUsage);
    }
    if (options.follow) {
      err << "ctask logs: --index prints an item's log as it is; it cannot be followed (-f)\n";
      return std::unexpected(kExitUsage);
    }
    options.index = index;
  }
  options.backend = flags->Get("backend", flags->Has("kubeconfig") || flags->Has("context") ? "kubernetes" : "docker");
  if (options.backend != "docker" && options.backend != "kubernetes") {
    err << "ctask logs: --backend " << QuoteValue(options.backend) << ": must be docker or kubernetes\n";
    return std::unexpected(kExitUsage);
  }
  options.flags = std::move(*flags);
  return options;
}

// Where the records and logs are read from, and what to call it in errors.
struct LogSource {
  kube::KubeClientPtr client;  // the cluster's; the store reads through it
  store::TaskReaderPtr store;
  std::string root;  // the state directory, or "cluster URL"
};

// --backend kubernetes: the task and its log ConfigMap, through the API.
OrExit<LogSource> ConnectCluster(const LogsOptions& options, std::ostream& err) {
  Result<kube::ClientOptions> client_options = KubeClientOptionsFromFlags(options.flags);
  if (!client_options) {
    err << "ctask logs: " << client_options.error().message() << "\n";
    return std::unexpected(kExitUsage);
  }
  Result<kube::ClusterConfig> config = KubeConfigFromFlags(options.flags);
  Result<kube::KubeClientPtr> connected =
      config ? kube::Connect(*config, *client_options) : Result<kube::KubeClientPtr>(std::unexpected(config.error()));
  if (!connected) {
    err << "ctask logs: " << connected.error().message() << "\n";
    return std::unexpected(kExitInvalid);
  }
  LogSource source;
  source.client = std::move(*connected);
  source.root = "cluster " + config->server;
  source.store = std::make_unique<backends::ApiTaskReader>(*source.client, options.ns);
  return source;
}

// The Docker backend's state directory, read without its lock.
OrExit<LogSource> OpenStateDir(const LogsOptions& options, std::ostream& err) {
  OrExit<std::string> root = StateDirFlag("ctask logs", options.flags, err);
  if (!root) return std::unexpected(root.error());
  LogSource source;
  source.root = std::move(*root);
  // A directory that does not exist holds no tasks; opening it would create it.
  std::error_code ec;
  if (!std::filesystem::exists(source.root, ec)) {
    err << NotFound(options.name, options.ns, source.root);
    return std::unexpected(kExitInvalid);
  }
  auto opened = store::FileStore::Open(source.root);
  if (!opened) {
    err << "ctask logs: " << opened.error().message() << "\n";
    return std::unexpected(kExitInvalid);
  }
  source.store = std::move(*opened);
  return source;
}

// Prints the log until it is final (or at once, without -f). `task` is the
// record as first read; the loop reads it again between drains.
int CopyLog(store::TaskReader& store, const LogsOptions& options, Result<api::ContainerTask> task, std::ostream& out,
            std::ostream& err) {
  const std::string& ns = options.ns;
  const std::string& name = options.name;
  auto current_attempt = [&]() -> int32_t {
    Result<api::ContainerTask> now = store.Get(ns, name);
    return now ? now->status.attempts : task->status.attempts;
  };
  LogCopier copier(store, ns, name, current_attempt, out, err);
  // No --follow-timeout: a deadline that never comes.
  const std::chrono::steady_clock::time_point deadline =
      options.follow_timeout ? std::chrono::steady_clock::now() + *options.follow_timeout
                             : std::chrono::steady_clock::time_point::max();
  for (;;) {
    // The record first, then the artifact: once the record says the log is
    // final, a drain after it gets every byte.
    const bool final = LogIsFinal(*task);
    if (Status drained = copier.Drain(); !drained) {
      err << "ctask logs: " << drained.error().message() << "\n";
      return kExitInvalid;
    }
    if (!options.follow || final) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      err << "ctask logs: task " << ns << "/" << name << " has not ended after " << options.follow_timeout->count()
          << "s (--follow-timeout)\n";
      return kExitInvalid;
    }
    std::this_thread::sleep_for(kFollowInterval);
    task = store.Get(ns, name);
    if (!task) {
      if (task.error().code() == ErrorCode::kNotFound) {
        err << "ctask logs: task " << ns << "/" << name << " was deleted while following its log\n";
      } else {
        err << "ctask logs: " << task.error().message() << "\n";
      }
      return kExitInvalid;
    }
  }
  if (!copier.found()) {
    err << "ctask: task " << name << " has no log yet (phase "
        << (task->status.phase.empty() ? "<none>" : task->status.phase) << ")\n";
  }
  return kExitOk;
}

// Item `index`'s log of a fan-out task, as far as it is written.
int PrintItemLog(const LogSource& source, const LogsOptions& options, const api::ContainerTask& task, int32_t index,
                 std::ostream& out, std::ostream& err) {
  const int32_t count = task.spec.completions ? *task.spec.completions : static_cast<int32_t>(task.spec.items.size());
  if (count == 0) {
    err << "ctask logs: task " << options.name
        << " has no items (it sets neither completions nor items): drop --index\n";
    return kExitUsage;
  }
  if (index >= count) {
    err << "ctask logs: --index " << index << ": task " << options.name << " has items 0 to " << count - 1 << "\n";
    return kExitUsage;
  }
  uint64_t offset = 0;
  for (;;) {
    Result<std::string> bytes = source.store->ReadItemLog(options.ns, options.name, index, offset);
    if (!bytes && bytes.error().code() == ErrorCode::kNotFound) {
      err << "ctask: item " << index << " of task " << options.name
          << " has no log yet (it has not run, or spec.logs.archive is false)\n";
      return kExitOk;
    }
    if (!bytes) {
      err << "ctask logs: " << bytes.error().message() << "\n";
      return kExitInvalid;
    }
    if (bytes->empty()) return kExitOk;
    out << *bytes << std::flush;
    offset += bytes->size();
  }
}

// The task's log: its artifact, or status.logTail when it keeps none.
int PrintLog(const LogSource& source, const LogsOptions& options, std::ostream& out, std::ostream& err) {
  Result<api::ContainerTask> task = source.store->Get(options.ns, options.name);
  if (!task) {
    if (task.error().code() == ErrorCode::kNotFound) {
      err << NotFound(options.name, options.ns, source.root);
    } else {
      err << "ctask logs: " << task.error().message() << "\n";
    }
    return kExitInvalid;
  }
  if (options.index) return PrintItemLog(source, options, *task, *options.index, out, err);
  if (!task->spec.logs.archive) {
    out << task->status.log_tail;
    err << "ctask: task " << options.name
        << " keeps no log artifact (spec.logs.archive is false); this is status.logTail\n";
    return kExitOk;
  }
  return CopyLog(*source.store, options, std::move(task), out, err);
}

}  // namespace

int RunLogs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<LogsOptions> options = ParseLogsFlags(args, out, err);
  if (!options) return options.error();
  OrExit<LogSource> source =
      options->backend == "kubernetes" ? ConnectCluster(*options, err) : OpenStateDir(*options, err);
  if (!source) return source.error();
  return PrintLog(*source, *options, out, err);
}

}  // namespace ctask::cli
