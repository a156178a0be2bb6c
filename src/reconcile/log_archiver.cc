#include "reconcile/log_archiver.h"

#include <utility>
#include <vector>

#include "api/names.h"
#include "api/schema.h"
#include "status/log_tail.h"

namespace ctask::reconcile {

struct LogArchiver::Follower {
  std::string key;
  api::ContainerTask task;  // the view followed (an item's for an item)
  int attempt = 0;
  int tries = 0;                      // guarded by LogArchiver::mu_
  uint64_t delivered = 0;             // this try's bytes, counted by its follow's callbacks
  bool forgotten = false;             // guarded by LogArchiver::mu_: no result, no callback
  std::optional<ArchivedLog> result;  // guarded by LogArchiver::mu_
  // The try's artifact, written by the follow's callbacks only.
  store::LogWriterPtr writer;
  std::string write_error;
  // The tail, read by LiveTail while the attempt runs.
  std::mutex tail_mu;
  std::optional<status::LogTail> tail;  // guarded by tail_mu
  // Last member: destroyed first, so no callback outlives the rest.
  std::unique_ptr<runtime::LogFollow> follow;  // guarded by LogArchiver::mu_
};

LogArchiver::LogArchiver(store::Store& store, runtime::LogSource& logs,
                         std::function<void(const std::string& key)> on_finished, LogDisplay display)
    : store_(store), logs_(logs), on_finished_(std::move(on_finished)), display_(std::move(display)) {}

LogArchiver::~LogArchiver() {
  std::map<std::string, std::unique_ptr<Follower>> followers;
  {
    std::lock_guard lock(mu_);
    followers.swap(followers_);
    for (auto& [key, follower] : followers) follower->forgotten = true;
  }
  followers.clear();  // stops the follows, outside the lock: their callbacks take it
}

void LogArchiver::Ensure(const api::ContainerTask& task, int attempt) {
  const std::string key = TaskKey(task);
  std::unique_ptr<Follower> replaced;
  {
    std::lock_guard lock(mu_);
    auto it = followers_.find(key);
    if (it != followers_.end()) {
      if (it->second->attempt >= attempt) return;
      replaced = std::move(it->second);
      replaced->forgotten = true;
      followers_.erase(it);
    }
    auto follower = std::make_unique<Follower>();
    follower->key = key;
    follower->task = task;
    follower->attempt = attempt;
    Follower& added = *follower;
    followers_.emplace(key, std::move(follower));
    StartTry(added, std::chrono::milliseconds(0));
  }
  // The older attempt's follow ended with its workload; stopping it is prompt.
  replaced.reset();
}

void LogArchiver::StartTry(Follower& f, std::chrono::milliseconds delay) {
  ++f.tries;
  const api::LogSpec& spec = f.task.spec.logs;
  {
    std::lock_guard tail_lock(f.tail_mu);
    f.tail.emplace(static_cast<size_t>(spec.tail_lines), api::kMaxLogTailBytes);
  }
  // Each try starts the artifact afresh: the follow reads from the first byte.
  f.writer.reset();
  f.write_error.clear();
  f.delivered = 0;
  if (spec.archive) {
    const std::string ns = f.key.substr(0, f.key.find('/'));
    Result<store::LogWriterPtr> opened =
        f.task.item ? store_.OpenItemLog(ns, f.task.metadata.name, f.task.item->index, spec.archive_limit_bytes)
                    : store_.OpenLog(ns, f.task.metadata.name, spec.archive_limit_bytes);
    if (opened) {
      f.writer = std::move(*opened);
    } else {
      f.write_error = "the log artifact could not be opened: " + opened.error().message();
    }
  }
  Follower* raw = &f;
  auto on_data = [this, raw](runtime::LogStream stream, std::string_view data) {
    raw->delivered += data.size();
    {
      std::lock_guard tail_lock(raw->tail_mu);
      raw->tail->Append(data);
    }
    if (raw->writer) {
      if (Status appended = raw->writer->Append(data); !appended && raw->write_error.empty()) {
        raw->write_error = "the log artifact could not be written: " + appended.error().message();
      }
    }
    if (display_) display_(raw->key, raw->attempt, stream, data);
    return true;
  };
  // Replacing the previous try's follow inside its own on_end is allowed
  // (runtime.h).
  f.follow = logs_.StartFollow(
      f.task, f.attempt, std::move(on_data), [this, raw](Status followed) { Ended(*raw, std::move(followed)); }, delay);
  if (!f.follow) {
    f.tries = kMaxFollowTries;
    f.result = ArchivedLog{.attempt = f.attempt, .error = "this backend's client cannot follow logs"};
  }
}

void LogArchiver::Ended(Follower& f, Status followed) {
  {
    std::lock_guard lock(mu_);
    if (f.forgotten) return;
    // A try starts the artifact afresh; after the workload is gone
    // (kNotFound: its pod or container was removed) a new try reads
    // nothing, so what this one archived is kept instead.
    const bool gone_after_output = !followed && followed.error().code() == ErrorCode::kNotFound && f.delivered > 0;
    if (!followed && f.tries < kMaxFollowTries && !gone_after_output) {
      StartTry(f, std::chrono::milliseconds(200 * f.tries));
      return;
    }
  }
  ArchivedLog result;
  result.attempt = f.attempt;
  {
    std::lock_guard tail_lock(f.tail_mu);
    result.tail = f.tail->Text();
  }
  result.error = !followed ? "following the log failed: " + followed.error().message() : f.write_error;
  if (f.writer) {
    Result<store::LogSummary> summary = f.writer->Close();
    if (summary) {
      result.summary = *summary;
    } else if (result.error.empty()) {
      result.error = "the log artifact could not be closed: " + summary.error().message();
    }
  }
  {
    std::lock_guard lock(mu_);
    if (f.forgotten) return;
    f.result = std::move(result);
  }
  if (on_finished_) on_finished_(RecordKey(f.key));
}

std::optional<ArchivedLog> LogArchiver::Finished(const std::string& key, int attempt) const {
  std::lock_guard lock(mu_);
  auto it = followers_.find(key);
  if (it == followers_.end() || it->second->attempt != attempt) return std::nullopt;
  return it->second->result;
}

std::optional<std::string> LogArchiver::LiveTail(const std::string& key, int attempt) const {
  std::lock_guard lock(mu_);
  auto it = followers_.find(key);
  if (it == followers_.end() || it->second->attempt != attempt || it->second->result) return std::nullopt;
  std::lock_guard tail_lock(it->second->tail_mu);
  if (!it->second->tail) return std::nullopt;
  return it->second->tail->Text();
}

void LogArchiver::Forget(const std::string& key) {
  std::vector<std::unique_ptr<Follower>> forgotten;
  {
    std::lock_guard lock(mu_);
    auto it = followers_.find(key);
    if (it != followers_.end()) {
      forgotten.push_back(std::move(it->second));
      followers_.erase(it);
    }
    // A fan-out task's items ("key#N") go with it.
    const std::string items = ItemKeyPrefix(key);
    for (auto item = followers_.lower_bound(items); item != followers_.end() && item->first.starts_with(items);) {
      forgotten.push_back(std::move(item->second));
      item = followers_.erase(item);
    }
    for (auto& follower : forgotten) follower->forgotten = true;
  }
  forgotten.clear();  // stops the follows, outside the lock
}

}  // namespace ctask::reconcile
