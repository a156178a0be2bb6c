#include "store/file_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <functional>
#include <limits>
#include <system_error>
#include <utility>
#include <vector>

#include "api/codec.h"
#include "api/json.h"
#include "api/names.h"
#include "util/field_error.h"
#include "util/sha256.h"

namespace ctask::store {
namespace {

constexpr const char* kTasksDir = "tasks";
constexpr const char* kRecordFile = "task.json";
constexpr const char* kLogFile = "log";
// A fan-out task's results document, and its items' logs ("log.i<index>").
constexpr const char* kResultsFile = "results.json";
constexpr const char* kItemLogPrefix = "log.i";
constexpr const char* kInputPrefix = "input.";
constexpr const char* kLockFile = "lock";
// One lock file per task key, <root>/writers/<namespace>.<name> (labels hold
// no '.', so the name is unique): flock(2) on it makes a Put's compare and
// swap atomic across processes. Outside the task's directory, so deleting
// the task never deletes a lock another writer may be waiting on.
constexpr const char* kWritersDir = "writers";
// Put's temporary files: kRecordFile + this + six characters from mkostemp.
constexpr std::string_view kTempInfix = ".tmp-";
// A record is a Kubernetes object (at most 1.5 MiB in etcd); anything far
// bigger is not one of ours, and reading it whole would be a hazard.
constexpr std::size_t kMaxRecordBytes = 8u << 20;
// ReadLog returns at most this much per call; artifacts are bounded far below
// (spec.logs.archiveLimitBytes), so this only guards against foreign files.
constexpr std::size_t kMaxLogReadBytes = 16u << 20;

// "<path>: cannot <what>: <strerror>".
Error ErrnoError(const std::string& path, std::string_view what, int error_number) {
  std::string message = path + ": cannot ";
  message += what;
  message += ": " + std::generic_category().message(error_number);
  return Error(ErrorCodeForErrno(error_number, ErrorCode::kInternal), std::move(message));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  // Closes now, reporting the error close(2) may carry (e.g. a deferred write
  // error on some file systems).
  int Close() {
    const int fd = std::exchange(fd_, -1);
    return fd >= 0 && ::close(fd) != 0 ? errno : 0;
  }

 private:
  int fd_;
};

// Writes all of `data` at the file offset; 0 or an errno. `written` counts
// what reached the file, so a caller can account for a partial write.
int WriteAll(int fd, std::string_view data, std::size_t* written = nullptr) {
  std::size_t done = 0;
  int result = 0;
  while (done < data.size()) {
    const ssize_t count = ::write(fd, data.data() + done, data.size() - done);
    if (count < 0) {
      if (errno == EINTR) continue;
      result = errno;
      break;
    }
    done += static_cast<std::size_t>(count);
  }
  if (written != nullptr) *written = done;
  return result;
}

// Makes the directory entries in `dir` durable (a created, renamed or removed
// file), which fsync of the file alone does not.
Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return std::unexpected(ErrnoError(dir, "open directory", errno));
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return std::unexpected(ErrnoError(dir, "sync directory", errno));
  return {};
}

std::string Parent(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p with mode 0700, syncing each directory it creates into its parent
// so that a record written below it survives a crash too.
Status MakeDirs(const std::string& path) {
  std::size_t at = 0;
  while (at != std::string::npos) {
    at = path.find('/', at + 1);
    const std::string prefix = path.substr(0, at);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), 0700) == 0) {
      if (auto synced = SyncDir(Parent(prefix)); !synced) return synced;
      continue;
    }
    if (errno != EEXIST) return std::unexpected(ErrnoError(prefix, "create directory", errno));
    struct stat info {};
    if (::stat(prefix.c_str(), &info) != 0) return std::unexpected(ErrnoError(prefix, "stat", errno));
    if (!S_ISDIR(info.st_mode)) return std::unexpected(ErrnoError(prefix, "create directory", ENOTDIR));
  }
  return {};
}

// The names in `dir`, without "." and "..". kNotFound when dir is absent.
Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return std::unexpected(ErrnoError(dir, "list directory", errno));
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  const int error_number = errno;
  ::closedir(stream);
  if (error_number != 0) return std::unexpected(ErrnoError(dir, "list directory", error_number));
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::unexpected(ErrnoError(path, "read", errno));
  std::string data;
  char buffer[64 * 1024];
  while (true) {
    const ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(path, "read", errno));
    }
    if (count == 0) break;
    if (data.size() + static_cast<std::size_t>(count) > max_bytes) {
      return MakeError(ErrorCode::kInternal,
                       path + ": larger than " + std::to_string(max_bytes >> 20) + " MiB; not a ctask record");
    }
    data.append(buffer, static_cast<std::size_t>(count));
  }
  return data;
}

bool IsTempFile(std::string_view name) {
  return name.starts_with(kRecordFile) && name.substr(std::string_view(kRecordFile).size()).starts_with(kTempInfix);
}

// Removes Put's leftover temporary files from a task directory. The caller
// must exclude concurrent Puts of the task (the stripe lock in-process, the
// state directory's lock across processes).
Status RemoveTempFilesIn(const std::string& dir) {
  auto names = ListDir(dir);
  if (!names) return names.error().code() == ErrorCode::kNotFound ? Status{} : std::unexpected(names.error());
  bool removed = false;
  for (const std::string& name : *names) {
    if (!IsTempFile(name)) continue;
    const std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return std::unexpected(ErrnoError(path, "remove", errno));
    removed = true;
  }
  return removed ? SyncDir(dir) : Status{};
}

}  // namespace

// ---------------------------------------------------------------------------
// Default directory and lock.

Result<std::string> DefaultStateDir() {
  // Environment reads only; see the header on when this may be called.
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && state[0] == '/') {
    return std::string(state) + "/ctask";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    return std::string(home) + "/.local/state/ctask";
  }
  return MakeError(ErrorCode::kFailedPrecondition,
                   "no state directory: neither XDG_STATE_HOME nor HOME is set; pass --state-dir");
}

StoreLock::StoreLock(StoreLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

// Closing the last descriptor of the open file releases the flock.
StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<StoreLock> LockStateDir(const std::string& root) {
  if (auto made = MakeDirs(root); !made) return std::unexpected(made.error());
  const std::string path = root + "/" + kLockFile;
  // No O_TRUNC: the file holds the current owner's pid until we own it.
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return std::unexpected(ErrnoError(path, "open", errno));
  int result;
  do {
    result = ::flock(fd.get(), LOCK_EX | LOCK_NB);
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    if (errno != EWOULDBLOCK) return std::unexpected(ErrnoError(path, "lock", errno));
    // The owner writes its pid just after locking; it may not be there yet.
    char buffer[32] = {};
    const ssize_t count = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < count && buffer[i] >= '0' && buffer[i] <= '9'; ++i) pid += buffer[i];
    std::string message = "state directory " + root + " is in use by another ctask process";
    if (!pid.empty()) message += " (pid " + pid + ")";
    message += "; stop it, or pass a different --state-dir";
    return MakeError(ErrorCode::kFailedPrecondition, std::move(message));
  }
  // The pid is for the message above only; failing to record it does not
  // weaken the lock, so errors here are not worth failing start-up for.
  if (::ftruncate(fd.get(), 0) == 0) {
    const std::string pid = std::to_string(::getpid()) + "\n";
    (void)!::pwrite(fd.get(), pid.data(), pid.size(), 0);
  }
  return StoreLock(fd.Release(), path);
}

// ---------------------------------------------------------------------------
// Log artifacts.

namespace {

class FileLogWriter : public LogWriter {
 public:
  FileLogWriter(int fd, std::string path, int64_t limit_bytes)
      : fd_(fd), path_(std::move(path)), limit_(std::max<int64_t>(limit_bytes, 0)) {}

  Status Append(std::string_view bytes) override {
    if (closed_) return MakeError(ErrorCode::kFailedPrecondition, path_ + ": log writer is closed");
    const auto room = static_cast<std::size_t>(limit_ - written_);
    const std::string_view kept = bytes.substr(0, std::min(bytes.size(), room));
    dropped_ += static_cast<int64_t>(bytes.size() - kept.size());
    if (kept.empty()) return {};
    std::size_t done = 0;
    const int error_number = WriteAll(fd_.get(), kept, &done);
    // Hash what reached the file, so the digest always matches its content.
    // Bytes that could not be written are missing from the artifact: they
    // count as dropped, and the marker says so.
    hash_.Update(kept.substr(0, done));
    written_ += static_cast<int64_t>(done);
    if (error_number != 0) {
      dropped_ += static_cast<int64_t>(kept.size() - done);
      return std::unexpected(ErrnoError(path_, "write", error_number));
    }
    return {};
  }

  Result<LogSummary> Close() override {
    if (closed_) return MakeError(ErrorCode::kFailedPrecondition, path_ + ": log writer is closed");
    closed_ = true;
    LogSummary summary;
    summary.location = path_;
    summary.truncated = dropped_ > 0;
    summary.dropped_bytes = dropped_;
    if (summary.truncated) {
      const std::string marker = TruncationMarker(dropped_);
      std::size_t done = 0;
      const int error_number = WriteAll(fd_.get(), marker, &done);
      hash_.Update(std::string_view(marker).substr(0, done));
      written_ += static_cast<int64_t>(done);
      if (error_number != 0) return std::unexpected(ErrnoError(path_, "write", error_number));
    }
    if (::fsync(fd_.get()) != 0) return std::unexpected(ErrnoError(path_, "sync", errno));
    if (const int error_number = fd_.Close(); error_number != 0) {
      return std::unexpected(ErrnoError(path_, "close", error_number));
    }
    summary.size_bytes = written_;
    summary.sha256 = DigestHex(hash_.Finish());
    return summary;
  }

 private:
  Fd fd_;
  const std::string path_;
  const int64_t limit_;  // content bytes kept at most; the marker is extra
  int64_t written_ = 0;  // bytes in the file
  int64_t dropped_ = 0;
  Sha256 hash_;
  bool closed_ = false;
};

// Replaces <dir>/<file> with `text` so that a reader, or the next process
// after a crash, sees the old file or the new one: written beside it,
// synced, renamed over it, the directory synced.
Status ReplaceFile(const std::string& dir, const char* file, std::string_view text) {
  // 1. Write the new file beside the old one, and make it durable.
  std::string temp = dir + "/" + file + std::string(kTempInfix) + "XXXXXX";
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) return std::unexpected(ErrnoError(temp, "create", errno));
  auto fail = [&](std::string_view what, int error_number) -> Status {
    ::unlink(temp.c_str());
    return std::unexpected(ErrnoError(temp, what, error_number));
  };
  if (const int error_number = WriteAll(fd.get(), text); error_number != 0) return fail("write", error_number);
  if (::fsync(fd.get()) != 0) return fail("sync", errno);
  if (const int error_number = fd.Close(); error_number != 0) return fail("close", error_number);
  // 2. Swap it in: rename is atomic, readers see the old file or the new.
  const std::string target = dir + "/" + file;
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const int error_number = errno;
    return fail("rename to " + target, error_number);
  }
  // 3. Make the rename itself durable.
  return SyncDir(dir);
}

}  // namespace

Result<std::unique_ptr<FileStore>> FileStore::Open(const std::string& root) {
  if (root.empty()) return InvalidArgument("state directory: empty path");
  if (auto made = MakeDirs(root + "/" + kTasksDir); !made) return std::unexpected(made.error());
  return std::unique_ptr<FileStore>(new FileStore(root));
}

std::string FileStore::TaskDir(std::string_view ns, std::string_view name) const {
  std::string dir = root_ + "/" + kTasksDir + "/";
  dir += ns;
  dir += '/';
  dir += name;
  return dir;
}

std::string FileStore::RecordPath(std::string_view ns, std::string_view name) const {
  return TaskDir(ns, name) + "/" + kRecordFile;
}

std::string FileStore::LogPath(std::string_view ns, std::string_view name) const {
  return TaskDir(ns, name) + "/" + kLogFile;
}

std::mutex& FileStore::StripeFor(std::string_view ns, std::string_view name) {
  const std::size_t hash = std::hash<std::string_view>{}(ns)*31 + std::hash<std::string_view>{}(name);
  return stripes_[hash % kStripes];
}

Result<api::ContainerTask> FileStore::ReadRecord(const std::string& path, std::string_view ns,
                                                 std::string_view name) const {
  auto text = ReadFile(path, kMaxRecordBytes);
  if (!text) return std::unexpected(text.error());
  auto corrupt = [&](std::string_view why) {
    std::string message = path + ": corrupt task record: ";
    message += why;
    message += "; delete the task, or remove " + Parent(path) + ", to discard it";
    return MakeError(ErrorCode::kInternal, std::move(message));
  };
  // nlohmann::json reports parse errors by exception; they stop here.
  api::DecodedTask decoded;
  try {
    const api::Json json = api::Json::parse(*text);
    if (!json.is_object()) return corrupt("not a JSON object");
    if (json.value("apiVersion", "") != api::kApiVersion || json.value("kind", "") != api::kKind) {
      return corrupt(std::string("not a ") + api::kKind + " of " + api::kApiVersion);
    }
    decoded = api::DecodeContainerTask(json);
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
  if (!decoded.errors.empty()) return corrupt(decoded.errors.front().ToString());
  const api::ObjectMeta& meta = decoded.task.metadata;
  if (meta.namespace_ != ns || meta.name != name) {
    return corrupt("it names task " + QuoteValue(meta.namespace_) + "/" + QuoteValue(meta.name) + ", not " +
                   std::string(ns) + "/" + std::string(name));
  }
  return std::move(decoded.task);
}

Result<int> FileStore::LockWriters(std::string_view ns, std::string_view name) const {
  const std::string dir = root_ + "/" + kWritersDir;
  if (auto made = MakeDirs(dir); !made) return std::unexpected(made.error());
  const std::string path = dir + "/" + std::string(ns) + "." + std::string(name);
  // A new open file description per call: flock excludes other descriptions,
  // so two threads of one process exclude each other too.
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return std::unexpected(ErrnoError(path, "open", errno));
  int result;
  do {
    result = ::flock(fd.get(), LOCK_EX);
  } while (result != 0 && errno == EINTR);
  if (result != 0) return std::unexpected(ErrnoError(path, "lock", errno));
  return fd.Release();  // closing it releases the lock
}

Status FileStore::Put(const api::ContainerTask& task) {
  const std::string& ns = task.metadata.namespace_;
  const std::string& name = task.metadata.name;
  if (auto valid = ValidateTaskKey(ns, name); !valid) return valid;
  std::lock_guard<std::mutex> guard(StripeFor(ns, name));
  Result<int> writers = LockWriters(ns, name);
  if (!writers) return std::unexpected(writers.error());
  Fd writers_lock(*writers);
  const std::string dir = TaskDir(ns, name);

  // 0. Optimistic concurrency, as the API server does it: a Put based on an
  //    older read than the stored record is refused, so the reconciler's
  //    status write and a user's spec change never undo each other.
  uint64_t stored_version = 0;
  if (Result<api::ContainerTask> stored = ReadRecord(RecordPath(ns, name), ns, name); stored) {
    stored_version = std::strtoull(stored->metadata.resource_version.c_str(), nullptr, 10);
    const std::string& expected = task.metadata.resource_version;
    if (!expected.empty() && expected != stored->metadata.resource_version) {
      return MakeError(ErrorCode::kConflict,
                       "task " + ns + "/" + name + " was changed since it was read (resourceVersion " + expected +
                           ", now " + stored->metadata.resource_version + "): read it again and retry");
    }
  }
  api::ContainerTask versioned = task;
  versioned.metadata.resource_version = std::to_string(stored_version + 1);
  std::string text;
  try {
    // Invalid UTF-8 in a string (container output in status) is replaced,
    // not thrown over: a record must always be writable.
    text = api::EncodeContainerTask(versioned).dump(2, ' ', false, api::Json::error_handler_t::replace);
    text += '\n';
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, "task " + ns + "/" + name + ": cannot encode: " + e.what());
  }
  if (auto made = MakeDirs(dir); !made) return made;
  if (auto cleaned = RemoveTempFilesIn(dir); !cleaned) return cleaned;

  return ReplaceFile(dir, kRecordFile, text);
}

Result<api::ContainerTask> FileStore::Get(std::string_view ns, std::string_view name) {
  if (auto valid = ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
  const std::string path = RecordPath(ns, name);
  auto task = ReadRecord(path, ns, name);
  if (!task && task.error().code() == ErrorCode::kNotFound) {
    return MakeError(ErrorCode::kNotFound,
                     "task " + std::string(ns) + "/" + std::string(name) + " not found in " + root_);
  }
  return task;
}

Result<std::vector<ListEntry>> FileStore::List() {
  const std::string tasks_dir = root_ + "/" + kTasksDir;
  auto namespaces = ListDir(tasks_dir);
  if (!namespaces) {
    if (namespaces.error().code() == ErrorCode::kNotFound) return std::vector<ListEntry>{};
    return std::unexpected(namespaces.error());
  }
  std::vector<ListEntry> entries;
  auto add_error = [&](const std::string& ns, const std::string& name, const std::string& path, const Error& error) {
    entries.push_back(ListEntry{ns, name, path, std::unexpected(error)});
  };
  for (const std::string& ns : *namespaces) {
    const std::string ns_dir = tasks_dir + "/" + ns;
    if (!api::IsDNS1123Label(ns).empty()) {
      add_error(ns, "", ns_dir, Error(ErrorCode::kInternal, ns_dir + ": not a namespace directory of ctask's"));
      continue;
    }
    auto names = ListDir(ns_dir);
    if (!names) {
      // Removed since we listed tasks/: nothing to report.
      if (names.error().code() != ErrorCode::kNotFound) add_error(ns, "", ns_dir, names.error());
      continue;
    }
    for (const std::string& name : *names) {
      const std::string task_dir = ns_dir + "/" + name;
      if (!api::IsDNS1123Label(name).empty()) {
        add_error(ns, name, task_dir, Error(ErrorCode::kInternal, task_dir + ": not a task directory of ctask's"));
        continue;
      }
      const std::string path = task_dir + "/" + kRecordFile;
      auto task = ReadRecord(path, ns, name);
      // No record: a task deleted meanwhile, or one with a log and no record
      // yet (OpenLog before the first Put). Neither is a task to list.
      if (!task && task.error().code() == ErrorCode::kNotFound) continue;
      entries.push_back(ListEntry{ns, name, path, std::move(task)});
    }
  }
  // ListDir sorts each level; the namespace/name order follows.
  return entries;
}

Status FileStore::Delete(std::string_view ns, std::string_view name) {
  if (auto valid = ValidateTaskKey(ns, name); !valid) return valid;
  std::lock_guard<std::mutex> guard(StripeFor(ns, name));
  Result<int> writers = LockWriters(ns, name);
  if (!writers) return std::unexpected(writers.error());
  Fd writers_lock(*writers);
  const std::string dir = TaskDir(ns, name);
  auto names = ListDir(dir);
  if (!names) return names.error().code() == ErrorCode::kNotFound ? Status{} : std::unexpected(names.error());
  // The record goes first: once it is gone the task is gone, even if a crash
  // interrupts the rest.
  std::stable_partition(names->begin(), names->end(), [](const std::string& n) { return n == kRecordFile; });
  for (const std::string& file : *names) {
    const std::string path = dir + "/" + file;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return std::unexpected(ErrnoError(path, "remove", errno));
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return std::unexpected(ErrnoError(dir, "remove", errno));
  // The namespace directory stays: removing it could race with a Put of
  // another task in the namespace, which holds a different stripe.
  return SyncDir(Parent(dir));
}

Result<LogWriterPtr> FileStore::OpenLog(std::string_view ns, std::string_view name, int64_t limit_bytes) {
  if (auto valid = ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
  std::lock_guard<std::mutex> guard(StripeFor(ns, name));
  const std::string dir = TaskDir(ns, name);
  if (auto made = MakeDirs(dir); !made) return std::unexpected(made.error());
  const std::string path = dir + "/" + kLogFile;
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return std::unexpected(ErrnoError(path, "open", errno));
  if (auto synced = SyncDir(dir); !synced) return std::unexpected(synced.error());
  return LogWriterPtr(new FileLogWriter(fd.Release(), path, limit_bytes));
}

Result<LogWriterPtr> FileStore::OpenItemLog(std::string_view ns, std::string_view name, int32_t item,
                                            int64_t limit_bytes) {
  if (auto valid = ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
  std::lock_guard<std::mutex> guard(StripeFor(ns, name));
  const std::string dir = TaskDir(ns, name);
  if (auto made = MakeDirs(dir); !made) return std::unexpected(made.error());
  const std::string path = dir + "/" + kItemLogPrefix + std::to_string(item);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return std::unexpected(ErrnoError(path, "open", errno));
  if (auto synced = SyncDir(dir); !synced) return std::unexpected(synced.error());
  return LogWriterPtr(new FileLogWriter(fd.Release(), path, limit_bytes));
}

Result<LogSummary> FileStore::PutResults(const api::ContainerTask& task, std::string_view document) {
  const std::string& ns = task.metadata.namespace_;
  const std::string& name = task.metadata.name;
  if (auto valid = ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
  std::lock_guard<std::mutex> guard(StripeFor(ns, name));
  const std::string dir = TaskDir(ns, name);
  if (auto made = MakeDirs(dir); !made) return std::unexpected(made.error());
  if (Status written = ReplaceFile(dir, kResultsFile, document); !written) return std::unexpected(written.error());
  LogSummary summary;
  summary.location = dir + "/" + kResultsFile;
  summary.size_bytes = static_cast<int64_t>(document.size());
  summary.sha256 = Sha256Hex(document);
  return summary;
}

std::string FileStore::InputPath(std::string_view ns, std::string_view name, std::string_view file) const {
  return TaskDir(ns, name) + "/" + kInputPrefix + std::string(file);
}

Status FileStore::PutInputs(const api::ContainerTask& task, const std::map<std::string, std::string>& files) {
  const std::string& ns = task.metadata.namespace_;
  const std::string& name = task.metadata.name;
  if (auto valid = ValidateTaskKey(ns, name); !valid) return valid;
  std::lock_guard<std::mutex> guard(StripeFor(ns, name));
  const std::string dir = TaskDir(ns, name);
  if (auto made = MakeDirs(dir); !made) return made;
  for (const auto& [file, content] : files) {
    // File names are task names plus ".json": no '/' can reach here.
    const std::string target = std::string(kInputPrefix) + file;
    if (Status written = ReplaceFile(dir, target.c_str(), content); !written) return written;
  }
  return {};
}

Result<std::string> FileStore::ReadLog(std::string_view ns, std::string_view name, uint64_t offset) {
  if (auto valid = ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
  return ReadFileFrom(LogPath(ns, name), offset,
                      "task " + std::string(ns) + "/" + std::string(name) + " has no log in " + root_);
}

Result<std::string> FileStore::ReadItemLog(std::string_view ns, std::string_view name, int32_t item, uint64_t offset) {
  if (auto valid = ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
  return ReadFileFrom(TaskDir(ns, name) + "/" + kItemLogPrefix + std::to_string(item), offset,
                      "task " + std::string(ns) + "/" + std::string(name) + " has no log of item " +
                          std::to_string(item) + " in " + root_);
}

Result<std::string> FileStore::ReadResults(std::string_view ns, std::string_view name) {
  if (auto valid = ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
  std::string all;
  while (true) {
    Result<std::string> part = ReadFileFrom(TaskDir(ns, name) + "/" + kResultsFile, all.size(),
                                            "task " + std::string(ns) + "/" + std::string(name) + " has no results");
    if (!part) return part;
    if (part->empty()) return all;
    all += *part;
  }
}

Result<std::string> FileStore::ReadFileFrom(const std::string& path, uint64_t offset, const std::string& absent) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, absent);
    return std::unexpected(ErrnoError(path, "open", errno));
  }
  std::string data;
  if (offset > static_cast<uint64_t>(std::numeric_limits<off_t>::max() / 2)) return data;  // past any end
  char buffer[64 * 1024];
  while (data.size() < kMaxLogReadBytes) {
    const std::size_t want = std::min(sizeof buffer, kMaxLogReadBytes - data.size());
    const ssize_t count = ::pread(fd.get(), buffer, want, static_cast<off_t>(offset + data.size()));
    if (count < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(path, "read", errno));
    }
    if (count == 0) break;
    data.append(buffer, static_cast<std::size_t>(count));
  }
  return data;
}

Status FileStore::RemoveStaleTempFiles() {
  const std::string tasks_dir = root_ + "/" + kTasksDir;
  auto namespaces = ListDir(tasks_dir);
  if (!namespaces)
    return namespaces.error().code() == ErrorCode::kNotFound ? Status{} : std::unexpected(namespaces.error());
  for (const std::string& ns : *namespaces) {
    if (!api::IsDNS1123Label(ns).empty()) continue;
    auto names = ListDir(tasks_dir + "/" + ns);
    if (!names) continue;
    for (const std::string& name : *names) {
      if (!api::IsDNS1123Label(name).empty()) continue;
      std::lock_guard<std::mutex> guard(StripeFor(ns, name));
      if (auto cleaned = RemoveTempFilesIn(TaskDir(ns, name)); !cleaned) return cleaned;
    }
  }
  return {};
}

}  // namespace ctask::store
