#include "reconcile/log_archiver.h"

#include <thread>

#include "api/names.h"
#include "api/schema.h"
#include "status/log_tail.h"

namespace ctask::reconcile {

struct LogArchiver::Follower {
  int attempt = 0;
  std::optional<ArchivedLog> result;  // guarded by LogArchiver::mu_
  // The follower thread's tail, read by LiveTail while the attempt runs.
  std::mutex tail_mu;
  std::optional<status::LogTail> tail;  // guarded by tail_mu
  std::jthread thread;                  // last member: joined first on destruction
};

LogArchiver::LogArchiver(store::Store& store, runtime::LogSource& logs,
                         std::function<void(const std::string& key)> on_finished, LogDisplay display)
    : store_(store), logs_(logs), on_finished_(std::move(on_finished)), display_(std::move(display)) {}

LogArchiver::~LogArchiver() {
  std::map<std::string, std::unique_ptr<Follower>> followers;
  {
    std::lock_guard lock(mu_);
    followers.swap(followers_);
  }
  for (auto& [key, follower] : followers) follower->thread.request_stop();
  followers.clear();  // joins, outside the lock: followers take it to finish
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
      followers_.erase(it);
    }
    auto follower = std::make_unique<Follower>();
    follower->attempt = attempt;
    Follower* raw = follower.get();
    follower->thread =
        std::jthread([this, task, attempt, raw](std::stop_token stop) { Follow(stop, task, attempt, raw); });
    followers_.emplace(key, std::move(follower));
  }
  // The older attempt's follow ended with its workload; joining is prompt.
  replaced.reset();
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
  }
  for (auto& follower : forgotten) follower->thread.request_stop();
}

void LogArchiver::Follow(std::stop_token stop, const api::ContainerTask& task, int attempt, Follower* follower) {
  const std::string key = TaskKey(task);
  const std::string ns = key.substr(0, key.find('/'));
  const api::LogSpec& spec = task.spec.logs;
  ArchivedLog result;
  result.attempt = attempt;

  for (int tries = 1; tries <= kMaxFollowTries && !stop.stop_requested(); ++tries) {
    {
      std::lock_guard tail_lock(follower->tail_mu);
      follower->tail.emplace(static_cast<size_t>(spec.tail_lines), api::kMaxLogTailBytes);
    }
    store::LogWriterPtr writer;
    std::string write_error;
    if (spec.archive) {
      Result<store::LogWriterPtr> opened =
          task.item ? store_.OpenItemLog(ns, task.metadata.name, task.item->index, spec.archive_limit_bytes)
                    : store_.OpenLog(ns, task.metadata.name, spec.archive_limit_bytes);
      if (opened) {
        writer = std::move(*opened);
      } else {
        write_error = "the log artifact could not be opened: " + opened.error().message();
      }
    }
    auto on_data = [&](runtime::LogStream stream, std::string_view data) {
      {
        std::lock_guard tail_lock(follower->tail_mu);
        follower->tail->Append(data);
      }
      if (writer) {
        if (Status appended = writer->Append(data); !appended && write_error.empty()) {
          write_error = "the log artifact could not be written: " + appended.error().message();
        }
      }
      if (display_) display_(key, attempt, stream, data);
      return !stop.stop_requested();
    };
    Status followed = logs_.FollowLogs(task, attempt, on_data, stop);
    if (stop.stop_requested()) return;  // shutting down or forgotten: no result
    if (!followed && tries < kMaxFollowTries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * tries));
      continue;
    }
    {
      std::lock_guard tail_lock(follower->tail_mu);
      result.tail = follower->tail->Text();
    }
    result.error = !followed ? "following the log failed: " + followed.error().message() : write_error;
    if (writer) {
      Result<store::LogSummary> summary = writer->Close();
      if (summary) {
        result.summary = *summary;
      } else if (result.error.empty()) {
        result.error = "the log artifact could not be closed: " + summary.error().message();
      }
    }
    break;
  }
  if (stop.stop_requested()) return;
  {
    std::lock_guard lock(mu_);
    follower->result = std::move(result);
  }
  if (on_finished_) on_finished_(RecordKey(key));
}

}  // namespace ctask::reconcile
