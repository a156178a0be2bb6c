// FakeRuntime: an in-memory runtime::Runtime and runtime::LogSource for the
// reconcile tests, as leveldb's in-memory Env is for its tests. Each
// (task UID, attempt) has at most one workload whose state the test scripts:
// Apply creates it (Running, unless an apply hook says otherwise), the test
// moves it on (SetObservation, Exit), and every call is counted so a test can
// check that an attempt was applied exactly once.
//
// FollowLogs emits the attempt's scripted output as the test appends it and
// returns when the test marks the workload exited (and ReleaseLogEnd was
// called, if HoldLogEnd was), or when `stop` is requested.
//
// Keys: a task is known by metadata.uid, or by "namespace/name" when it has
// none. Thread-safe: one mutex guards everything; callbacks run outside it.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>

#include "api/types.h"
#include "runtime/observation.h"
#include "runtime/runtime.h"
#include "util/error.h"
#include "util/time.h"

namespace ctask::fakes {

class FakeRuntime : public runtime::Runtime, public runtime::BlockingLogSource {
 public:
  // What Apply does to an attempt without a workload. It may fill `o` (the
  // workload created) and return an error; leaving o.state kAbsent creates
  // nothing. The default starts the workload: Running, started at `now`.
  using ApplyHook = std::function<Status(const api::ContainerTask& task, int attempt, runtime::Observation& o)>;

  explicit FakeRuntime(Timestamp now = Timestamp{}) : now_(now) {}

  static std::string Key(const api::ContainerTask& task) {
    std::string key = !task.metadata.uid.empty()
                          ? task.metadata.uid
                          : (task.metadata.namespace_.empty() ? std::string("default") : task.metadata.namespace_) +
                                "/" + task.metadata.name;
    if (task.item) key += "#" + std::to_string(task.item->index);  // an item's view: its own workloads
    return key;
  }

  // ---- scripting -------------------------------------------------------

  void SetNow(Timestamp now) {
    std::lock_guard lock(mu_);
    now_ = now;
  }
  void SetApplyHook(ApplyHook hook) {
    std::lock_guard lock(mu_);
    apply_hook_ = std::move(hook);
  }
  // Replaces the attempt's workload as the backend would see it.
  void SetObservation(const std::string& key, int attempt, runtime::Observation o) {
    std::lock_guard lock(mu_);
    o.attempt = attempt;
    Workload& w = workloads_[{key, attempt}];
    w.observation = std::move(o);
    w.exists = true;
    cv_.notify_all();
  }
  // The attempt's workload ends with `code`.
  void Exit(const std::string& key, int attempt, int code, std::optional<Timestamp> finished = std::nullopt) {
    std::lock_guard lock(mu_);
    Workload& w = workloads_[{key, attempt}];
    w.exists = true;
    w.observation.attempt = attempt;
    w.observation.state = runtime::WorkloadState::kExited;
    w.observation.exit_code = code;
    w.observation.finished_at = finished ? finished : now_;
    cv_.notify_all();
  }
  void AppendOutput(const std::string& key, int attempt, std::string_view data,
                    runtime::LogStream stream = runtime::LogStream::kStdout) {
    std::lock_guard lock(mu_);
    workloads_[{key, attempt}].output.emplace_back(stream, std::string(data));
    cv_.notify_all();
  }
  // While held, a follow does not end even when the workload has exited.
  void HoldLogEnd(const std::string& key, int attempt) {
    std::lock_guard lock(mu_);
    workloads_[{key, attempt}].hold_log_end = true;
  }
  void ReleaseLogEnd(const std::string& key, int attempt) {
    std::lock_guard lock(mu_);
    workloads_[{key, attempt}].hold_log_end = false;
    cv_.notify_all();
  }
  // The next `n` follows of the attempt emit what there is, then fail with `error`.
  void FailFollows(const std::string& key, int attempt, int n, Error error) {
    std::lock_guard lock(mu_);
    Workload& w = workloads_[{key, attempt}];
    w.follow_failures = n;
    w.follow_error = std::move(error);
  }
  // Every call fails with `error` until cleared (nullopt): the backend is away.
  void SetUnavailable(std::optional<Error> error) {
    std::lock_guard lock(mu_);
    unavailable_ = std::move(error);
  }

  // ---- inspection ------------------------------------------------------

  int applies(const std::string& key, int attempt) const { return Count(key, attempt, &Workload::applies); }
  int stops(const std::string& key, int attempt) const { return Count(key, attempt, &Workload::stops); }
  int deletes(const std::string& key, int attempt) const { return Count(key, attempt, &Workload::deletes); }
  int follows(const std::string& key, int attempt) const { return Count(key, attempt, &Workload::follows); }
  int total_applies() const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [k, w] : workloads_) n += w.applies;
    return n;
  }
  bool exists(const std::string& key, int attempt) const {
    std::lock_guard lock(mu_);
    auto it = workloads_.find({key, attempt});
    return it != workloads_.end() && it->second.exists;
  }
  // Follows running right now.
  int active_follows() const {
    std::lock_guard lock(mu_);
    return active_follows_;
  }
  // Waits until `n` follows run; false after `timeout` (a hang guard).
  bool WaitForActiveFollows(int n, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return active_follows_ >= n; });
  }

  // ---- runtime::Runtime ------------------------------------------------

  Status Apply(const api::ContainerTask& task, int attempt) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return std::unexpected(*unavailable_);
    Workload& w = workloads_[{Key(task), attempt}];
    ++w.applies;
    if (w.exists) return {};  // idempotent: an attempt runs at most once
    runtime::Observation o;
    o.attempt = attempt;
    o.workload_name = "fake-" + task.metadata.name + "-" + std::to_string(attempt);
    o.container_id = "id-" + std::to_string(attempt);
    o.created_at = now_;
    Status status;
    if (apply_hook_) {
      status = apply_hook_(task, attempt, o);
    } else {
      o.state = runtime::WorkloadState::kRunning;
      o.started_at = now_;
    }
    if (o.state != runtime::WorkloadState::kAbsent) {
      w.observation = std::move(o);
      w.exists = true;
    }
    cv_.notify_all();
    return status;
  }

  Result<runtime::Observation> Observe(const api::ContainerTask& task, int attempt) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return std::unexpected(*unavailable_);
    auto it = workloads_.find({Key(task), attempt});
    if (it == workloads_.end() || !it->second.exists) {
      runtime::Observation absent;
      absent.attempt = attempt;
      return absent;
    }
    return it->second.observation;
  }

  // Running stops as SIGTERM would (exit 143); a workload that never started
  // (Waiting) goes away, as Docker's remembered start failures do.
  Status Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds /*grace*/) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return std::unexpected(*unavailable_);
    Workload& w = workloads_[{Key(task), attempt}];
    ++w.stops;
    if (!w.exists) return {};
    if (w.observation.state == runtime::WorkloadState::kWaiting) {
      w.exists = false;
      w.observation = {};
    } else if (w.observation.state == runtime::WorkloadState::kRunning) {
      w.observation.state = runtime::WorkloadState::kExited;
      w.observation.exit_code = 143;
      w.observation.finished_at = now_;
    }
    cv_.notify_all();
    return {};
  }

  Status Delete(const api::ContainerTask& task, int attempt) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return std::unexpected(*unavailable_);
    Workload& w = workloads_[{Key(task), attempt}];
    ++w.deletes;
    w.exists = false;
    w.observation = {};
    cv_.notify_all();
    return {};
  }

  Status DeleteAll(const api::ContainerTask& task) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return std::unexpected(*unavailable_);
    const std::string key = Key(task);
    for (auto& [id, w] : workloads_) {
      if (id.first != key && !id.first.starts_with(key + "#")) continue;
      ++w.deletes;
      w.exists = false;
      w.observation = {};
    }
    cv_.notify_all();
    return {};
  }

  // ---- runtime::BlockingLogSource ----------------------------------------------

  Status FollowLogs(const api::ContainerTask& task, int attempt, const runtime::LogCallback& on_data,
                    std::stop_token stop) override {
    const std::pair<std::string, int> id{Key(task), attempt};
    std::unique_lock lock(mu_);
    Workload& w = workloads_[id];  // std::map: the reference stays valid
    ++w.follows;
    if (!w.exists) return MakeError(ErrorCode::kNotFound, "no workload for attempt " + std::to_string(attempt));
    ++active_follows_;
    cv_.notify_all();
    size_t emitted = 0;  // pieces of w.output sent
    const bool fail = w.follow_failures > 0;
    if (fail) --w.follow_failures;
    Status result;
    while (true) {
      const bool more = cv_.wait(
          lock, stop, [&] { return emitted < w.output.size() || fail || (Ended(w) && !w.hold_log_end) || !w.exists; });
      if (!more) break;  // stop requested
      while (emitted < w.output.size()) {
        const auto [stream, data] = w.output[emitted++];
        lock.unlock();
        const bool go_on = on_data(stream, data);
        lock.lock();
        if (!go_on) goto done;
      }
      if (fail) {
        result = std::unexpected(w.follow_error.value_or(Error(ErrorCode::kUnavailable, "follow broke")));
        break;
      }
      if ((Ended(w) && !w.hold_log_end) || !w.exists) break;
    }
  done:
    --active_follows_;
    cv_.notify_all();
    return result;
  }

 private:
  struct Workload {
    bool exists = false;
    runtime::Observation observation;
    std::vector<std::pair<runtime::LogStream, std::string>> output;
    bool hold_log_end = false;
    int follow_failures = 0;
    std::optional<Error> follow_error;
    int applies = 0;
    int stops = 0;
    int deletes = 0;
    int follows = 0;
  };

  static bool Ended(const Workload& w) { return w.observation.state == runtime::WorkloadState::kExited; }

  int Count(const std::string& key, int attempt, int Workload::*field) const {
    std::lock_guard lock(mu_);
    auto it = workloads_.find({key, attempt});
    return it == workloads_.end() ? 0 : it->second.*field;
  }

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  Timestamp now_;                                              // guarded by mu_
  ApplyHook apply_hook_;                                       // guarded by mu_
  std::optional<Error> unavailable_;                           // guarded by mu_
  std::map<std::pair<std::string, int>, Workload> workloads_;  // guarded by mu_
  int active_follows_ = 0;                                     // guarded by mu_
};

}  // namespace ctask::fakes
