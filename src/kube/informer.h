// Informer: a Reflector on its own thread, its ObjectCache, an optional
// index, and the handlers its Deltas go to — client-go's shared informer,
// cut to what the operator needs.
//
// Contract:
//  - Start() runs the reflector on a thread; Stop() (or destruction) ends it
//    promptly. HasSynced() turns true after the first complete list: until
//    then the cache is not a view of the server, and a controller must not
//    act on an object's absence from it.
//  - Handlers are added before Start and called on the reflector's thread,
//    one Delta at a time, in server order (reflector.h). They must be quick:
//    enqueue keys, nothing more.
//  - The index maps each object to zero or more index values (say, the
//    owning task's UID and attempt); ByIndex(value) returns the objects
//    under it. The index is updated before the handlers see the Delta, so a
//    handler (or the reconcile it triggers) finds the object by index.
//  - Objects handed out are copies (the cache's are never modified).
//
// Thread-safety: Get, List, ByIndex, HasSynced and Stats from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/object_cache.h"
#include "kube/reflector.h"

namespace ctask::kube {

// The index values of an object (empty: not indexed).
using IndexFunction = std::function<std::vector<std::string>(const api::Json& object)>;

class Informer {
 public:
  // `client` must outlive the informer.
  Informer(KubeClient& client, ReflectorOptions options, IndexFunction index = {});
  ~Informer();  // Stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Before Start.
  void AddHandler(Reflector::Handler handler);

  void Start();
  void Stop();

  bool HasSynced() const;
  std::optional<api::Json> Get(std::string_view key) const;
  std::vector<api::Json> List() const;
  std::vector<std::string> Keys() const { return cache_.Keys(); }
  std::vector<api::Json> ByIndex(const std::string& value) const;
  size_t Size() const { return cache_.Size(); }
  ReflectorStats Stats() const;

 private:
  void OnDelta(const Delta& delta);

  ObjectCache cache_;
  const IndexFunction index_;
  std::vector<Reflector::Handler> handlers_;
  std::unique_ptr<Reflector> reflector_;
  std::jthread thread_;

  mutable std::mutex mu_;
  std::map<std::string, std::set<std::string>, std::less<>> index_keys_;     // guarded by mu_: value -> keys
  std::map<std::string, std::vector<std::string>, std::less<>> key_values_;  // guarded by mu_: key -> values
};

}  // namespace ctask::kube
