// FileStore: the Store kept in a state directory, one directory per task:
//
//   <root>/lock                                  see LockStateDir
//   <root>/writers/<namespace>.<name>            per-task writer locks (Put, Delete)
//   <root>/changes                               store/change_feed.h's journal
//   <root>/tasks/<namespace>/<name>/task.json    the task: metadata, spec and status
//                                                (api::EncodeContainerTask's JSON)
//   <root>/tasks/<namespace>/<name>/log          the log artifact, raw bytes
//   <root>/tasks/<namespace>/<name>/log.i<N>     a fan-out task's item N's log
//   <root>/tasks/<namespace>/<name>/results.json a fan-out task's results
//   <root>/tasks/<namespace>/<name>/input.<F>    input file F of a task with runAfter
//
// Plain files on purpose: a user can read a task's record with `cat` and its
// log with `less`, and remove a task by removing its directory.
//
// Durability: Put writes the record to a temporary file in the task's
// directory ("task.json.tmp-XXXXXX"), fsyncs it, renames it over task.json
// and fsyncs the directory, so a crash at any point leaves either the old
// record or the new one. A crash can leave the temporary file behind; readers
// ignore such files and the next Put or Delete of the task, or
// RemoveStaleTempFiles at start-up, removes them. New directories are
// fsynced into their parents. Everything is created private to the user
// (0700 directories, 0600 files): records and logs may hold task output that
// is nobody else's business.
//
// Ownership: a state directory's workloads belong to one process at a time,
// the one holding its lock (LockStateDir): it runs the reconciler, starts and
// stops containers, writes logs and status. FileStore does not take that
// lock itself. Any other process may still write a record — an intent, as a
// client writes to the API server: deletionTimestamp, spec.cancel,
// spec.suspend, with the resourceVersion it read — and tell the owner
// through store/change_feed.h; the owner acts on it. Put and Delete are
// atomic compare-and-swaps across processes (an flock per task key under
// <root>/writers/, held for the write), so such a write and the owner's
// status write never undo each other. RemoveStaleTempFiles is only safe for
// the lock holder, since another process's temporary file may be a Put in
// progress.
//
// Thread-safety: as Store. Writers of the same task (Put, Delete, OpenLog)
// are serialised by a lock striped over task keys (and Put and Delete by the
// per-key file lock across processes); readers take no lock and rely on
// rename being atomic.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "store/store.h"
#include "util/error.h"

namespace ctask::store {

// The default state directory: $XDG_STATE_HOME/ctask when XDG_STATE_HOME is
// set to an absolute path (the XDG base directory spec says to ignore a
// relative one), else $HOME/.local/state/ctask. kFailedPrecondition when
// neither variable helps. `--state-dir` overrides it; the caller decides.
// Reads the environment: call at start-up, not while other threads setenv.
Result<std::string> DefaultStateDir();

// Holds the lock of a state directory for as long as it lives. Move-only.
class StoreLock {
 public:
  StoreLock(StoreLock&& other) noexcept;
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  ~StoreLock();

  const std::string& path() const { return path_; }

 private:
  friend Result<StoreLock> LockStateDir(const std::string& root);
  StoreLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  std::string path_;
};

// Takes an exclusive flock(2) on <root>/lock (creating root and the file as
// needed) and writes this process's pid into the file. The kernel drops the
// lock when the process dies, so a crash never leaves the directory locked.
// When another open of the file holds the lock (another process, or another
// LockStateDir in this one), kFailedPrecondition names the directory and, when
// the file says, the holder's pid.
Result<StoreLock> LockStateDir(const std::string& root);

class FileStore : public Store {
 public:
  // Creates <root>/tasks if needed (and root itself). Does not lock.
  static Result<std::unique_ptr<FileStore>> Open(const std::string& root);

  Status Put(const api::ContainerTask& task) override;
  Result<api::ContainerTask> Get(std::string_view ns, std::string_view name) override;
  Result<std::vector<ListEntry>> List() override;
  Status Delete(std::string_view ns, std::string_view name) override;
  Result<LogWriterPtr> OpenLog(std::string_view ns, std::string_view name, int64_t limit_bytes) override;
  Result<std::string> ReadLog(std::string_view ns, std::string_view name, uint64_t offset) override;
  Result<LogWriterPtr> OpenItemLog(std::string_view ns, std::string_view name, int32_t item,
                                   int64_t limit_bytes) override;
  Result<std::string> ReadItemLog(std::string_view ns, std::string_view name, int32_t item, uint64_t offset) override;
  Result<LogSummary> PutResults(const api::ContainerTask& task, std::string_view document) override;
  Result<std::string> ReadResults(std::string_view ns, std::string_view name) override;
  Status PutInputs(const api::ContainerTask& task, const std::map<std::string, std::string>& files) override;
  // Where PutInputs keeps input file `file` of the task (the Docker backend
  // bind-mounts it).
  std::string InputPath(std::string_view ns, std::string_view name, std::string_view file) const;

  // Removes temporary files a crash left in any task directory. Only for the
  // holder of the state directory's lock, before it starts writing.
  Status RemoveStaleTempFiles();

  const std::string& root() const { return root_; }
  // Where a task's record and log live; the key is not validated.
  std::string TaskDir(std::string_view ns, std::string_view name) const;
  std::string RecordPath(std::string_view ns, std::string_view name) const;
  std::string LogPath(std::string_view ns, std::string_view name) const;
  // `path` from byte `offset` to its end (at most kMaxLogReadBytes);
  // kNotFound saying `absent` when there is no such file.
  static Result<std::string> ReadFileFrom(const std::string& path, uint64_t offset, const std::string& absent);

 private:
  explicit FileStore(std::string root) : root_(std::move(root)) {}

  // The stripe that serialises writers of the task (ns, name).
  std::mutex& StripeFor(std::string_view ns, std::string_view name);
  // Takes the task key's cross-process writer lock; closing the returned
  // descriptor releases it.
  Result<int> LockWriters(std::string_view ns, std::string_view name) const;

  // A record read from `path`, checked to belong to (ns, name).
  Result<api::ContainerTask> ReadRecord(const std::string& path, std::string_view ns, std::string_view name) const;

  static constexpr std::size_t kStripes = 32;

  const std::string root_;
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace ctask::store
