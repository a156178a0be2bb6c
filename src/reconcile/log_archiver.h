// LogArchiver: copies each attempt's output, as it arrives, into the task's
// log artifact (store::Store::OpenLog) and a LogTail for status.logTail. The
// follows run on the LogSource's threads (one loop for every pod log on
// Kubernetes, a thread per container on Docker), the archiver owns none; a
// follow ends when the workload ends, which makes the end of a follow the
// prompt signal that an attempt exited: the archiver calls
// `on_finished(key)` so the reconciler looks at once rather than at its next
// resync.
//
// Contract:
//  - Ensure(task, attempt) starts following unless that attempt is followed
//    or finished already; a newer attempt replaces the task's older follower.
//    Following starts from the workload's first byte and the artifact is
//    started afresh, so after a restart the artifact is whole again.
//  - A follow that breaks while the workload still runs is started again
//    from the beginning, at most kMaxFollowTries times — except once the
//    workload is gone (kNotFound) after some output: a new try would read
//    nothing, so the result keeps what was read; after that the result
//    carries the error and what was read.
//  - Finished(key, attempt) is the result once the follow has ended.
//  - Forget(key) stops the task's follower (if any) and drops its result,
//    and those of its items ("key#N").
//  - An item's view (task.item set) is followed into the item's own log
//    artifact (store::Store::OpenItemLog); on_finished gets the task's key.
//  - Destruction stops every follower and waits for them; workloads keep
//    running (a restarted process follows them again).
//
// Thread-safety: all methods may be called from any thread. on_finished and
// the display callback run on the source's threads, never under the
// archiver's lock; the archiver never stops a follow under its lock (a stop
// waits for the follow's callbacks, which take it).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/types.h"
#include "reconcile/task_key.h"
#include "runtime/runtime.h"
#include "store/store.h"

namespace ctask::reconcile {

struct ArchivedLog {
  int attempt = 0;
  std::string tail;                          // for status.logTail
  std::optional<store::LogSummary> summary;  // nullopt when spec.logs.archive is false or writing failed
  std::string error;                         // why the log is incomplete; empty when it is whole
};

// Where `ctask run` shows output live: (task key, attempt, stream, bytes).
using LogDisplay = std::function<void(const std::string& key, int attempt, runtime::LogStream, std::string_view)>;

inline constexpr int kMaxFollowTries = 3;

class LogArchiver {
 public:
  // `store` and `logs` must outlive the archiver.
  LogArchiver(store::Store& store, runtime::LogSource& logs, std::function<void(const std::string& key)> on_finished,
              LogDisplay display = {});
  ~LogArchiver();
  LogArchiver(const LogArchiver&) = delete;
  LogArchiver& operator=(const LogArchiver&) = delete;

  void Ensure(const api::ContainerTask& task, int attempt);
  std::optional<ArchivedLog> Finished(const std::string& key, int attempt) const;
  // The last lines of an attempt still being followed, for status.logTail
  // while it runs; nullopt when that attempt is not followed (or finished:
  // Finished has its tail).
  std::optional<std::string> LiveTail(const std::string& key, int attempt) const;
  void Forget(const std::string& key);

 private:
  struct Follower;
  // Opens the artifact and starts the follow (a try); under mu_.
  void StartTry(Follower& follower, std::chrono::milliseconds delay);
  // The follow ended (on the source's thread): try again, or the result.
  void Ended(Follower& follower, Status followed);

  store::Store& store_;
  runtime::LogSource& logs_;
  const std::function<void(const std::string&)> on_finished_;
  const LogDisplay display_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Follower>> followers_;  // guarded by mu_
};

}  // namespace ctask::reconcile
