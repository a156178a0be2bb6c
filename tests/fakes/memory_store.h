// MemoryStore: store::Store in memory, as leveldb's memenv is an Env in
// memory: unit tests of what uses a store (the reconciler) run without a
// disk, and each starts empty. It keeps the Store contract (store/store.h):
// keys checked as DNS-1123 labels, resourceVersion compare-and-swap, List
// sorted, logs that grow as they are written and are cut at the limit with
// the marker. tests/store/store_contract_test.cc proves it against the same
// cases as the FileStore, so a test that passes over it passes over the real
// store.
//
// Thread-safety: as Store; one mutex guards the records and the logs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store.h"
#include "util/sha256.h"

namespace ctask::fakes {

class MemoryStore : public store::Store {
 public:
  // Where a task's record "lives", for messages and ListEntry::location.
  static std::string Location(std::string_view ns, std::string_view name) {
    return "memory:" + std::string(ns) + "/" + std::string(name);
  }

  Result<api::ContainerTask> Get(std::string_view ns, std::string_view name) override {
    if (Status valid = store::ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
    std::lock_guard lock(mu_);
    auto it = records_.find(Key(ns, name));
    if (it == records_.end()) {
      return MakeError(ErrorCode::kNotFound, "task " + std::string(ns) + "/" + std::string(name) + " not found");
    }
    return it->second;
  }

  Result<std::vector<store::ListEntry>> List() override {
    std::lock_guard lock(mu_);
    std::vector<store::ListEntry> entries;
    for (const auto& [key, task] : records_) {
      entries.push_back(store::ListEntry{key.first, key.second, Location(key.first, key.second), task});
    }
    return entries;  // std::map: sorted by (namespace, name)
  }

  Result<std::string> ReadLog(std::string_view ns, std::string_view name, uint64_t offset) override {
    if (Status valid = store::ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
    std::lock_guard lock(mu_);
    auto it = logs_.find(Key(ns, name));
    if (it == logs_.end()) {
      return MakeError(ErrorCode::kNotFound, "task " + std::string(ns) + "/" + std::string(name) + " has no log");
    }
    const std::string& bytes = it->second->bytes;
    return offset >= bytes.size() ? std::string() : bytes.substr(offset);
  }

  Status Put(const api::ContainerTask& task) override {
    const std::string& ns = task.metadata.namespace_;
    const std::string& name = task.metadata.name;
    if (Status valid = store::ValidateTaskKey(ns, name); !valid) return valid;
    std::lock_guard lock(mu_);
    uint64_t stored_version = 0;
    if (auto it = records_.find(Key(ns, name)); it != records_.end()) {
      const std::string& stored = it->second.metadata.resource_version;
      const std::string& expected = task.metadata.resource_version;
      if (!expected.empty() && expected != stored) {
        return MakeError(ErrorCode::kConflict, "task " + ns + "/" + name + " was changed since it was read (" +
                                                   "resourceVersion " + expected + ", now " + stored + ")");
      }
      stored_version = std::stoull(stored);
    }
    api::ContainerTask versioned = task;
    versioned.metadata.resource_version = std::to_string(stored_version + 1);
    records_[Key(ns, name)] = std::move(versioned);
    return {};
  }

  Status Delete(std::string_view ns, std::string_view name) override {
    if (Status valid = store::ValidateTaskKey(ns, name); !valid) return valid;
    std::lock_guard lock(mu_);
    records_.erase(Key(ns, name));
    logs_.erase(Key(ns, name));
    return {};
  }

  Result<store::LogWriterPtr> OpenLog(std::string_view ns, std::string_view name, int64_t limit_bytes) override {
    if (Status valid = store::ValidateTaskKey(ns, name); !valid) return std::unexpected(valid.error());
    auto log = std::make_shared<Log>();
    {
      std::lock_guard lock(mu_);
      logs_[Key(ns, name)] = log;  // a writer of the previous log keeps writing to that one
    }
    return store::LogWriterPtr(new Writer(mu_, std::move(log), Location(ns, name) + "/log", limit_bytes));
  }

 private:
  using TaskKey = std::pair<std::string, std::string>;  // (namespace, name)
  struct Log {
    std::string bytes;
  };

  // Keeps at most the limit, counts the rest, appends the marker on Close:
  // what FileStore's writer does, into a string.
  class Writer : public store::LogWriter {
   public:
    Writer(std::mutex& mu, std::shared_ptr<Log> log, std::string location, int64_t limit_bytes)
        : mu_(mu), log_(std::move(log)), location_(std::move(location)), limit_(std::max<int64_t>(limit_bytes, 0)) {}

    Status Append(std::string_view bytes) override {
      if (closed_) return MakeError(ErrorCode::kFailedPrecondition, location_ + ": log writer is closed");
      const auto room = static_cast<std::size_t>(limit_ - written_);
      const std::string_view kept = bytes.substr(0, std::min(bytes.size(), room));
      dropped_ += static_cast<int64_t>(bytes.size() - kept.size());
      Write(kept);
      return {};
    }

    Result<store::LogSummary> Close() override {
      if (closed_) return MakeError(ErrorCode::kFailedPrecondition, location_ + ": log writer is closed");
      closed_ = true;
      if (dropped_ > 0) Write(store::TruncationMarker(dropped_));
      store::LogSummary summary;
      summary.location = location_;
      summary.truncated = dropped_ > 0;
      summary.dropped_bytes = dropped_;
      summary.size_bytes = written_;
      summary.sha256 = DigestHex(hash_.Finish());
      return summary;
    }

   private:
    void Write(std::string_view bytes) {
      std::lock_guard lock(mu_);
      log_->bytes.append(bytes);
      hash_.Update(bytes);
      written_ += static_cast<int64_t>(bytes.size());
    }

    std::mutex& mu_;
    const std::shared_ptr<Log> log_;
    const std::string location_;
    const int64_t limit_;
    int64_t written_ = 0;
    int64_t dropped_ = 0;
    Sha256 hash_;
    bool closed_ = false;
  };

  static TaskKey Key(std::string_view ns, std::string_view name) { return {std::string(ns), std::string(name)}; }

  std::mutex mu_;
  std::map<TaskKey, api::ContainerTask> records_;  // guarded by mu_
  std::map<TaskKey, std::shared_ptr<Log>> logs_;   // guarded by mu_
};

}  // namespace ctask::fakes
