// OwnWrites: read-your-own-writes over an informer cache that lags behind
// the API server. A reconcile that writes a task and is run again before
// the watch has delivered that write would otherwise read the older object
// from the cache: it would decide again from the older status, and its next
// write, conditioned on the older resourceVersion, would be a conflict (and
// a rate-limited retry).
//
// Contract:
//  - Record(key, replaced, written) after a successful write: `written` is
//    what the API server returned; `replaced` every resourceVersion the
//    write made stale (ReplacedBy gives them).
//  - Resolve(key, cached) is what a reader should see: `written` while the
//    cache still shows one of the replaced versions; otherwise `cached`
//    (the cache has caught up, someone else has written since, or the
//    object is gone), and the record is dropped.
//  - Versions are compared for equality only: resourceVersions are opaque.
//  - At most kMaxReplacedVersions versions are kept per key (the oldest go
//    first); a cache further behind than that is simply read as it is.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/json.h"

namespace ctask::backends {

class OwnWrites {
 public:
  // Enough for the writes of a few reconciles in a row while the watch lags.
  static constexpr size_t kMaxReplacedVersions = 8;

  std::optional<api::Json> Resolve(const std::string& key, std::optional<api::Json> cached);

  // The versions a write starting from `base` replaces: base's own, after
  // those of earlier writes the cache has not shown yet when `base` is what
  // they wrote (so a cache still at one of those is not taken for news).
  std::vector<std::string> ReplacedBy(const std::string& key, const api::Json& base) const;

  void Record(const std::string& key, std::vector<std::string> replaced, api::Json written);
  // The cache now holds `resource_version` of the key: the record is
  // dropped unless that is one of the versions it replaced (Resolve's rule,
  // without a read).
  void Seen(const std::string& key, const std::string& resource_version);
  void Forget(const std::string& key);

 private:
  struct Written {
    std::vector<std::string> replaced_versions;  // oldest first
    api::Json object;
  };
  mutable std::mutex mu_;
  std::map<std::string, Written> written_;  // guarded by mu_
};

}  // namespace ctask::backends
