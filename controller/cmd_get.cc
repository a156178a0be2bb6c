// `ctask get [NAME]`: the tasks in the local state directory, as a table
// (kubectl's view of the CRD's printer columns) or as records (-o yaml|json),
// and with -w every change after that, one row each.
//
// Read-only: it does not take the state directory's lock, so it can look at
// a directory an operator owns; records are replaced by rename, so every
// read sees a whole record. A record that cannot be read is shown as a row
// and reported, never hiding the others, and makes the exit status 1.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "api/codec.h"
#include "api/document.h"
#include "api/names.h"
#include "cli.h"
#include "flags.h"
#include "signals.h"
#include "store/file_store.h"
#include "task_flags.h"
#include "task_table.h"
#include "util/clock.h"
#include "util/field_error.h"

namespace ctask::cli {
namespace {

// How often -w looks at the store again.
constexpr std::chrono::milliseconds kWatchInterval(500);
// How often a waiting -w checks whether it was interrupted.
constexpr std::chrono::milliseconds kWatchTick(50);

std::string NotFound(const std::string& name, const std::string& ns, const std::string& root) {
  return "ctask: containertask " + QuoteValue(name) + " not found in namespace " + QuoteValue(ns) + " (state dir " +
         root + ")\n";
}

// The store at `root`, or nullptr when the directory does not exist yet:
// opening it would create it, and a reader must not.
Result<store::TaskReaderPtr> OpenExisting(const std::string& root) {
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return store::TaskReaderPtr();
  auto opened = store::FileStore::Open(root);
  if (!opened) return std::unexpected(opened.error());
  return store::TaskReaderPtr(std::move(*opened));
}

// What one look at the store found, for the tasks `get` is asked about.
struct Snapshot {
  std::vector<store::ListEntry> entries;
};

struct Query {
  std::string root;
  std::string ns;
  std::string name;  // empty: every task (of ns, or all with all_namespaces)
  bool all_namespaces = false;
};

Result<Snapshot> Look(const Query& query) {
  Snapshot snapshot;
  auto store = OpenExisting(query.root);
  if (!store) return std::unexpected(store.error());
  if (*store == nullptr) return snapshot;
  if (!query.name.empty()) {
    auto task = (*store)->Get(query.ns, query.name);
    if (!task && task.error().code() == ErrorCode::kNotFound) return snapshot;
    snapshot.entries.push_back(store::ListEntry{query.ns, query.name, "", std::move(task)});
    return snapshot;
  }
  auto entries = (*store)->List();
  if (!entries) return std::unexpected(entries.error());
  for (store::ListEntry& entry : *entries) {
    if (query.all_namespaces || entry.namespace_ == query.ns) snapshot.entries.push_back(std::move(entry));
  }
  return snapshot;
}

std::string Key(const store::ListEntry& entry) {
  return entry.namespace_ + "/" + entry.name;
}

// What -w compares to decide whether a task changed: its status, or the
// reason its record cannot be read.
std::string Fingerprint(const store::ListEntry& entry) {
  if (!entry.task) return "error: " + entry.task.error().message();
  return api::EncodeStatus(entry.task->status).dump(-1, ' ', false, api::Json::error_handler_t::replace);
}

TableRow RowOf(const store::ListEntry& entry, Timestamp now, const TableOptions& options) {
  if (!entry.task) return UnreadableRow(entry.namespace_, entry.name, options);
  return TaskRow(*entry.task, now, options);
}

void ReportUnreadable(const store::ListEntry& entry, std::ostream& err) {
  err << "ctask: cannot read task " << Key(entry) << ": " << entry.task.error().message() << "\n";
}

// Watches until interrupted or `timeout` passes, printing a row per change.
// `header_shown` says whether the table before it had a header; if not, the
// first row brings one.
int Watch(const Query& query, const TableOptions& options, const Snapshot& first, std::vector<std::size_t> widths,
          bool header_shown, std::optional<std::chrono::seconds> timeout, std::ostream& out, std::ostream& err) {
  // SIGINT and SIGTERM end the watch cleanly (signals.h: taken on a thread
  // of their own, as every command that waits takes them).
  std::atomic<bool> interrupted{false};
  SignalWatcher signals([&](int, int) { interrupted.store(true); });
  int code = kExitOk;
  struct Seen {
    std::string fingerprint;
    TableRow row;
  };
  std::map<std::string, Seen> seen;
  const Timestamp started = WallClock();
  for (const store::ListEntry& entry : first.entries) {
    seen[Key(entry)] = {Fingerprint(entry), RowOf(entry, started, options)};
  }
  auto print = [&](const TableRow& row) {
    std::vector<std::size_t> grown = ColumnWidths({row});
    for (std::size_t i = 0; i < widths.size() && i < grown.size(); ++i) widths[i] = std::max(widths[i], grown[i]);
    if (!header_shown) {
      out << FormatRows({TableHeader(options)}, widths);
      header_shown = true;
    }
    out << FormatRows({row}, widths) << std::flush;
  };
  const auto deadline = timeout ? std::optional(std::chrono::steady_clock::now() + *timeout) : std::nullopt;
  auto next_look = std::chrono::steady_clock::now() + kWatchInterval;
  while (!interrupted.load()) {
    const auto now_steady = std::chrono::steady_clock::now();
    if (deadline && now_steady >= *deadline) break;
    if (now_steady < next_look) {
      std::this_thread::sleep_for(kWatchTick);
      continue;
    }
    next_look = now_steady + kWatchInterval;
    auto snapshot = Look(query);
    if (!snapshot) {
      // The store may be mid-change (a directory removed under us): look again.
      err << "ctask get: " << snapshot.error().message() << "\n";
      continue;
    }
    const Timestamp now = WallClock();
    std::map<std::string, Seen> current;
    for (const store::ListEntry& entry : snapshot->entries) {
      const std::string key = Key(entry);
      Seen now_seen{Fingerprint(entry), RowOf(entry, now, options)};
      auto before = seen.find(key);
      if (before == seen.end() || before->second.fingerprint != now_seen.fingerprint) {
        print(now_seen.row);
        if (!entry.task) {
          ReportUnreadable(entry, err);
          code = kExitInvalid;
        }
      }
      current[key] = std::move(now_seen);
    }
    for (const auto& [key, before] : seen) {
      if (!current.contains(key)) print(WithPhase(before.row, kPhaseDeleted, options));
    }
    seen = std::move(current);
  }
  return code;
}

const std::vector<FlagSpec>& GetFlags() {
  static const std::vector<FlagSpec> kSpecs = {
      {"namespace", 'n', true, "NAMESPACE", "The tasks' namespace (default \"default\")"},
      {"all-namespaces", 'A', false, "", "List tasks of every namespace"},
      {"output", 'o', true, "FORMAT", "wide (more columns), yaml or json (the records); default: a table"},
      {"watch", 'w', false, "", "After the table, print a row whenever a task changes, appears or goes"},
      {"state-dir", '\0', true, "DIR", "The local state directory (default $XDG_STATE_HOME/ctask)"},
      {"help", 'h', false, "", "Show this help"},
      // Hidden (no help text), for tests: end a watch after SECONDS, with exit status 0.
      {"watch-timeout", '\0', true, "SECONDS", ""},
  };
  return kSpecs;
}

constexpr const char* kGetHelp =
    "Show the ContainerTasks in the local state directory (the Docker backend's record).\n"
    "Reads only: an operator may own the directory meanwhile.\n\n"
    "Usage:\n  ctask get [NAME] [-n NAMESPACE | -A] [-o wide|yaml|json] [-w] [--state-dir DIR]\n\n"
    "Examples:\n  ctask get\n  ctask get hello -o yaml\n  ctask get -A -w\n\n"
    "Exit status: 0 on success, 1 when the task named is not found or a record cannot be read,\n"
    "2 on bad usage.\n\n";

// What the command line asks `get` for.
struct GetOptions {
  Query query;
  std::string format;  // "", "wide", "yaml" or "json"
  bool watch = false;
  std::optional<std::chrono::seconds> watch_timeout;
};

// Which tasks: NAME, -n and -A, checked to go together and to be names. The
// state directory is resolved by the caller, last, as before.
OrExit<Query> QueryFromFlags(const ParsedFlags& flags, std::ostream& err) {
  if (flags.positional.size() > 1) {
    err << "ctask get: too many arguments: give at most one task NAME\n";
    return std::unexpected(kExitUsage);
  }
  Query query;
  query.ns = flags.Get("namespace", api::kDefaultNamespace);
  query.all_namespaces = flags.Has("all-namespaces");
  if (!flags.positional.empty()) query.name = flags.positional[0];
  if (query.all_namespaces && !query.name.empty()) {
    err << "ctask get: a task cannot be retrieved by name across all namespaces: drop -A, or name the namespace "
           "with -n\n";
    return std::unexpected(kExitUsage);
  }
  if (query.all_namespaces && flags.Has("namespace")) {
    err << "ctask get: -n and -A do not go together: choose one namespace or all\n";
    return std::unexpected(kExitUsage);
  }
  if (!CheckNamespace("ctask get", query.ns, err)) return std::unexpected(kExitUsage);
  if (!query.name.empty() && !CheckTaskName("ctask get", query.name, err)) return std::unexpected(kExitUsage);
  return query;
}

// The flags, checked in the order a user reads them; the first problem is
// the one reported.
OrExit<GetOptions> ParseGetFlags(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, GetFlags(), "ctask get", kGetHelp, out, err);
  if (!flags) return std::unexpected(flags.error());
  GetOptions options;
  OrExit<Query> query = QueryFromFlags(*flags, err);
  if (!query) return std::unexpected(query.error());
  options.query = std::move(*query);
  options.format = flags->Get("output", "");
  if (!options.format.empty() && options.format != "wide" && options.format != "yaml" && options.format != "json") {
    err << "ctask get: --output must be wide, yaml or json\n";
    return std::unexpected(kExitUsage);
  }
  options.watch = flags->Has("watch");
  if (options.watch && (options.format == "yaml" || options.format == "json")) {
    err << "ctask get: --watch prints table rows: use it without -o, or with -o wide\n";
    return std::unexpected(kExitUsage);
  }
  OrExit<std::optional<std::chrono::seconds>> timeout = TestTimeoutFlag("ctask get", *flags, "watch-timeout", err);
  if (!timeout) return std::unexpected(timeout.error());
  options.watch_timeout = *timeout;
  OrExit<std::string> root = StateDirFlag("ctask get", *flags, err);
  if (!root) return std::unexpected(root.error());
  options.query.root = std::move(*root);
  return options;
}

// Reports every record that cannot be read; the rest are still shown, and
// the exit status says something was wrong.
int ReportUnreadableEntries(const Snapshot& snapshot, std::ostream& err) {
  int code = kExitOk;
  for (const store::ListEntry& entry : snapshot.entries) {
    if (!entry.task) {
      ReportUnreadable(entry, err);
      code = kExitInvalid;
    }
  }
  return code;
}

// -o yaml|json: the record of the task named, or a v1 List of them all, as
// kubectl prints them. Unreadable records were reported already.
void PrintRecords(const Snapshot& snapshot, const GetOptions& options, std::ostream& out) {
  std::vector<api::Json> records;
  for (const store::ListEntry& entry : snapshot.entries) {
    if (entry.task) records.push_back(api::EncodeContainerTask(*entry.task));
  }
  api::Json shown;
  if (!options.query.name.empty()) {
    if (records.empty()) return;  // unreadable: reported already
    shown = records.front();
  } else {
    shown = api::Json::object();
    shown["apiVersion"] = "v1";
    shown["kind"] = "List";
    shown["items"] = api::Json::array();
    for (api::Json& record : records) shown["items"].push_back(std::move(record));
  }
  if (options.format == "json") {
    out << shown.dump(2, ' ', false, api::Json::error_handler_t::replace) << "\n";
  } else {
    out << api::ToYaml(shown);
  }
}

// The table (kubectl's "No resources found" on stderr when a listing is
// empty). Returns its column widths, which a watch's rows keep to.
std::vector<std::size_t> PrintTable(const Snapshot& snapshot, const Query& query, const TableOptions& options,
                                    std::ostream& out, std::ostream& err) {
  if (snapshot.entries.empty()) {
    if (query.name.empty()) {
      err << (query.all_namespaces ? std::string("No resources found\n")
                                   : "No resources found in " + query.ns + " namespace.\n");
    }
    return ColumnWidths({TableHeader(options)});
  }
  const Timestamp now = WallClock();
  std::vector<TableRow> rows = {TableHeader(options)};
  for (const store::ListEntry& entry : snapshot.entries) rows.push_back(RowOf(entry, now, options));
  std::vector<std::size_t> widths = ColumnWidths(rows);
  out << FormatRows(rows, widths) << std::flush;
  return widths;
}

}  // namespace

int RunGet(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<GetOptions> options = ParseGetFlags(args, out, err);
  if (!options) return options.error();
  const Query& query = options->query;

  Result<Snapshot> snapshot = Look(query);
  if (!snapshot) {
    err << "ctask get: " << snapshot.error().message() << "\n";
    return kExitInvalid;
  }
  const int code = ReportUnreadableEntries(*snapshot, err);
  // A watch of a task not there yet waits for it to appear.
  if (!query.name.empty() && snapshot->entries.empty() && !options->watch) {
    err << NotFound(query.name, query.ns, query.root);
    return kExitInvalid;
  }
  if (options->format == "yaml" || options->format == "json") {
    PrintRecords(*snapshot, *options, out);
    return code;
  }

  const TableOptions table{.wide = options->format == "wide", .all_namespaces = query.all_namespaces};
  std::vector<std::size_t> widths = PrintTable(*snapshot, query, table, out, err);
  if (!options->watch) return code;
  const bool header_shown = !snapshot->entries.empty();
  const int watch_code =
      Watch(query, table, *snapshot, std::move(widths), header_shown, options->watch_timeout, out, err);
  return std::max(code, watch_code);
}

}  // namespace ctask::cli
