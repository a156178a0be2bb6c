#include "kube/reflector.h"

#include <algorithm>
#include <limits>
#include <random>
#include <utility>

#include "util/backoff.h"

namespace ctask::kube {

Reflector::Reflector(KubeClient& client, ObjectCache& cache, ReflectorOptions options, Handler handler)
    : client_(client), cache_(cache), options_(std::move(options)), handler_(std::move(handler)) {}

std::string Reflector::LastResourceVersion() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

ReflectorStats Reflector::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Reflector::Log(const std::string& message) const {
  if (options_.log) options_.log(message);
}

void Reflector::Deliver(const Delta& delta) {
  if (handler_) handler_(delta);
}

std::chrono::milliseconds Reflector::NextBackoff() {
  const std::chrono::milliseconds wait = ExponentialBackoff(options_.initial_backoff, options_.max_backoff, failures_);
  if (failures_ < std::numeric_limits<int>::max()) ++failures_;
  return wait;
}

void Reflector::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    if (!ListUntilDone(stop)) return;
    while (true) {
      const WatchEnd end = WatchOnce(stop);
      if (end == WatchEnd::kStopped) return;
      if (end == WatchEnd::kRelist) break;
    }
  }
}

bool Reflector::ListUntilDone(const std::stop_token& stop) {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  while (!stop.stop_requested()) {
    // resourceVersion "" is a consistent read (quorum), so the snapshot is
    // never older than what this reflector saw before.
    // The transform runs as each page arrives: the whole objects of one
    // page are alive at once, not the whole list's (10,000 tasks' managed
    // fields would be the process's peak, and what the allocator keeps).
    Result<ObjectList> list =
        client_.ListAll(options_.resource, options_.ns, list_options, options_.page_size, options_.transform);
    if (list) {
      failures_ = 0;
      for (const Delta& delta : cache_.Replace(std::move(list->items))) Deliver(delta);
      {
        std::lock_guard lock(mu_);
        resource_version_ = list->resource_version;
        ++stats_.lists;
      }
      synced_ = true;
      return true;
    }
    {
      std::lock_guard lock(mu_);
      ++stats_.failures;
    }
    const auto wait = NextBackoff();
    Log(list.error().message() + "; listing again in " + std::to_string(wait.count()) + " ms");
    if (!options_.clock->SleepFor(wait, stop)) return false;
  }
  return false;
}

Reflector::WatchEnd Reflector::WatchOnce(const std::stop_token& stop) {
  WatchOptions watch_options;
  watch_options.label_selector = options_.label_selector;
  watch_options.field_selector = options_.field_selector;
  watch_options.resource_version = LastResourceVersion();
  watch_options.allow_bookmarks = true;
  watch_options.skipped_fields = options_.skipped_fields;
  {
    static thread_local std::minstd_rand random(std::random_device{}());
    const auto min = std::max<int64_t>(options_.min_watch_timeout.count(), 1);
    watch_options.timeout_seconds = static_cast<int>(min + static_cast<int64_t>(random() % min));
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.watches;
  }

  Status watched = client_.Watch(
      options_.resource, options_.ns, watch_options,
      [&](WatchEvent& event) {
        const std::string version = ResourceVersionOf(event.object);
        if (event.type != "BOOKMARK") {
          if (options_.transform && event.type != "ERROR") options_.transform(event.object);
          if (std::optional<Delta> delta = cache_.Apply(event)) Deliver(*delta);
          failures_ = 0;
        }
        if (!version.empty()) {
          std::lock_guard lock(mu_);
          resource_version_ = version;
        }
        return !stop.stop_requested();
      },
      stop);
  if (stop.stop_requested()) return WatchEnd::kStopped;
  if (watched) return WatchEnd::kRetry;  // the server's timeout: resume at once

  const Error& error = watched.error();
  if (error.code() == ErrorCode::kExpired) {
    std::lock_guard lock(mu_);
    ++stats_.expired;
    Log(error.message() + "; listing again");
    return WatchEnd::kRelist;
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.failures;
  }
  const auto wait = NextBackoff();
  Log(error.message() + "; watching again in " + std::to_string(wait.count()) + " ms");
  if (!options_.clock->SleepFor(wait, stop)) return WatchEnd::kStopped;
  // A refusal that will not pass by waiting (no permission, the resource
  // is gone) is a reason to start over from a list, as client-go does.
  const bool transient = error.code() == ErrorCode::kUnavailable || error.code() == ErrorCode::kDeadlineExceeded;
  return transient ? WatchEnd::kRetry : WatchEnd::kRelist;
}

}  // namespace ctask::kube
