// ObjectCache: the reflector's copy of what the API server holds for one
// resource, keyed "namespace/name", and the changes each list or watch event
// makes to it (Deltas). Controllers read from here instead of asking the API
// server, and react to the Deltas.
//
// Replace (after a list) reports what the list changed against the cache —
// including deletions the watch never delivered, e.g. while a 410 forced a
// relist — so a consumer that saw every Delta has seen every change, in
// order, per object. Objects handed out are copies: never modify the cache's.
//
// Memory: each object is kept as its CBOR encoding (RFC 8949, nlohmann's
// to_cbor), not as a JSON tree, and decoded by Get and List. A tree of a
// task's spec and status costs some 10 KiB in nodes, maps and small
// strings; its CBOR a fraction of that, and decoding it takes microseconds,
// about what copying the tree out (as Get did before) took. What is cached
// is what the reflector's transform left (kubernetes/slim.h: no
// managedFields, no last-applied-configuration).
//
// Thread-safety: safe to call from many threads; one writer (the reflector)
// and any number of readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "kube/watch_decoder.h"

namespace ctask::kube {

struct Delta {
  enum class Type { kAdded, kUpdated, kDeleted };
  Type type;
  api::Json object;  // kDeleted: the last state the cache knew
};

std::string_view DeltaTypeName(Delta::Type type);

// "namespace/name", or "name" for a cluster-scoped object; "" when the
// object has no metadata.name.
std::string ObjectKey(const api::Json& object);

// metadata.resourceVersion, or "".
std::string ResourceVersionOf(const api::Json& object);

class ObjectCache {
 public:
  // Makes the cache hold exactly `items`; returns the changes: kAdded for new
  // keys, kUpdated for keys whose resourceVersion differs, kDeleted for keys
  // the list no longer has (in key order).
  std::vector<Delta> Replace(std::vector<api::Json> items);

  // Applies one watch event (ADDED, MODIFIED, DELETED); nullopt when it
  // changes nothing (a DELETED of an unknown key, an event repeating the
  // cached resourceVersion). BOOKMARK and ERROR are not for the cache.
  std::optional<Delta> Apply(const WatchEvent& event);

  std::optional<api::Json> Get(std::string_view key) const;
  std::vector<api::Json> List() const;  // in key order
  // The keys, in order: for a caller that reads every object one at a time
  // (List decodes them all at once: 10,000 tasks' trees side by side).
  std::vector<std::string> Keys() const;
  size_t Size() const;

 private:
  struct Stored {
    std::string resource_version;
    std::vector<uint8_t> cbor;
  };
  static Stored Store(const api::Json& object);
  static api::Json Load(const Stored& stored);

  mutable std::mutex mu_;
  std::map<std::string, Stored, std::less<>> objects_;  // guarded by mu_
};

}  // namespace ctask::kube
