// Reflector: keeps an ObjectCache equal to what the API server holds for one
// resource, and hands every change to a handler — client-go's reflector.
//
//   1. List every page (a consistent snapshot), Replace the cache with it,
//      deliver the Deltas that makes. HasSynced() is true from here on.
//   2. Watch from the list's resourceVersion with bookmarks; apply and
//      deliver each event; remember the newest resourceVersion (bookmarks
//      move it without changing anything).
//   3. When the server ends the stream (its timeoutSeconds), watch again
//      from the remembered version. When the version is too old (HTTP 410,
//      or an ERROR event with 410 inside a 200 stream: the history was
//      compacted), go to 1: the Replace delivers whatever the watch missed,
//      deletions included. On any other error (connection refused, the API
//      server restarting), back off exponentially and watch again from the
//      remembered version, relisting if that fails with 410.
//
// Deltas reach the handler from the Run thread only, one at a time, in the
// order the server produced them, so per object nothing is lost or
// reordered. The handler must be quick (enqueue a key); it must not call
// back into the reflector.
//
// Thread-safety: Run on one thread; HasSynced, LastResourceVersion and
// Stats from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>

#include "kube/client.h"
#include "kube/object_cache.h"
#include "kube/resource.h"
#include "util/clock.h"

namespace ctask::kube {

struct ReflectorOptions {
  Resource resource;
  std::string ns;  // "" = every namespace
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  // Backoff after a failed list or watch: doubles from initial to max
  // (util/backoff.h), from initial again after a success; client-go's
  // reflector uses 800 ms and 30 s.
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30'000};
  // Each watch asks the server to end it after a random time in
  // [min, 2*min), so many watchers do not reconnect in lockstep.
  std::chrono::seconds min_watch_timeout{300};
  // Why the reflector waits or fails, for the operator's log; may be empty.
  std::function<void(const std::string& message)> log;
  // Applied to every object before it enters the cache (list items and
  // watch events alike): an informer drops the fields its controller never
  // reads, so the cache stays small (client-go's TransformFunc). It must
  // keep metadata.name, metadata.namespace and metadata.resourceVersion.
  std::function<void(api::Json& object)> transform;
  // Fields the transform would drop, left out of watch events as they are
  // parsed, so they are never built (kube/watch_decoder.h). List pages are
  // parsed whole and rely on the transform alone.
  std::vector<FieldPath> skipped_fields;
  // The backoff waits; must outlive the reflector.
  const Clock* clock = &RealClock();
};

struct ReflectorStats {
  int64_t lists = 0;     // complete lists (the first one included)
  int64_t expired = 0;   // relists forced by 410
  int64_t watches = 0;   // watch requests started
  int64_t failures = 0;  // lists or watches that failed with an error
};

class Reflector {
 public:
  using Handler = std::function<void(const Delta& delta)>;

  // `client` and `cache` must outlive the reflector.
  Reflector(KubeClient& client, ObjectCache& cache, ReflectorOptions options, Handler handler);

  // Lists and watches until `stop` is requested. Returns then, promptly
  // (within about a second of a stop during a quiet watch).
  void Run(std::stop_token stop);

  bool HasSynced() const { return synced_.load(); }
  std::string LastResourceVersion() const;
  ReflectorStats Stats() const;

 private:
  enum class WatchEnd { kStopped, kRelist, kRetry };

  // Step 1; false when stopped.
  bool ListUntilDone(const std::stop_token& stop);
  // Steps 2 and 3 for one watch request.
  WatchEnd WatchOnce(const std::stop_token& stop);
  void Deliver(const Delta& delta);
  void Log(const std::string& message) const;
  std::chrono::milliseconds NextBackoff();

  KubeClient& client_;
  ObjectCache& cache_;
  const ReflectorOptions options_;
  const Handler handler_;

  std::atomic<bool> synced_{false};
  mutable std::mutex mu_;
  std::string resource_version_;  // guarded by mu_
  ReflectorStats stats_;          // guarded by mu_
  int failures_ = 0;              // Run thread only: failures since the last success
};

}  // namespace ctask::kube
