#include "kube/object_cache.h"

#include <utility>

namespace ctask::kube {
namespace {

// metadata.<field> when it is a string, else "": objects come from a server,
// and a malformed one must not throw.
std::string MetadataString(const api::Json& object, const char* field) {
  if (!object.is_object()) return "";
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  auto value = metadata->find(field);
  return value != metadata->end() && value->is_string() ? value->get<std::string>() : "";
}

}  // namespace

std::string_view DeltaTypeName(Delta::Type type) {
  switch (type) {
    case Delta::Type::kAdded:
      return "Added";
    case Delta::Type::kUpdated:
      return "Updated";
    case Delta::Type::kDeleted:
      return "Deleted";
  }
  return "Unknown";
}

std::string ObjectKey(const api::Json& object) {
  const std::string name = MetadataString(object, "name");
  if (name.empty()) return "";
  const std::string ns = MetadataString(object, "namespace");
  return ns.empty() ? name : ns + "/" + name;
}

std::string ResourceVersionOf(const api::Json& object) {
  return MetadataString(object, "resourceVersion");
}

ObjectCache::Stored ObjectCache::Store(const api::Json& object) {
  Stored stored{ResourceVersionOf(object), api::Json::to_cbor(object)};
  stored.cbor.shrink_to_fit();
  return stored;
}

api::Json ObjectCache::Load(const Stored& stored) {
  // Written by Store from a valid tree: it decodes.
  return api::Json::from_cbor(stored.cbor);
}

std::vector<Delta> ObjectCache::Replace(std::vector<api::Json> items) {
  std::map<std::string, api::Json, std::less<>> fresh;
  for (api::Json& item : items) {
    std::string key = ObjectKey(item);
    if (!key.empty()) fresh.insert_or_assign(std::move(key), std::move(item));
  }
  std::vector<Delta> deltas;
  std::map<std::string, Stored, std::less<>> stored;
  std::lock_guard lock(mu_);
  for (const auto& [key, object] : objects_) {
    if (!fresh.contains(key)) deltas.push_back(Delta{Delta::Type::kDeleted, Load(object)});
  }
  for (auto& [key, object] : fresh) {
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      deltas.push_back(Delta{Delta::Type::kAdded, object});
    } else if (it->second.resource_version != ResourceVersionOf(object)) {
      deltas.push_back(Delta{Delta::Type::kUpdated, object});
    }
    stored.emplace_hint(stored.end(), key, Store(object));
  }
  objects_ = std::move(stored);
  return deltas;
}

std::optional<Delta> ObjectCache::Apply(const WatchEvent& event) {
  const std::string key = ObjectKey(event.object);
  if (key.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (event.type == "DELETED") {
    if (it == objects_.end()) return std::nullopt;
    objects_.erase(it);
    return Delta{Delta::Type::kDeleted, event.object};
  }
  if (event.type != "ADDED" && event.type != "MODIFIED") return std::nullopt;
  if (it == objects_.end()) {
    objects_.emplace(key, Store(event.object));
    return Delta{Delta::Type::kAdded, event.object};
  }
  if (it->second.resource_version == ResourceVersionOf(event.object)) return std::nullopt;
  it->second = Store(event.object);
  return Delta{Delta::Type::kUpdated, event.object};
}

std::optional<api::Json> ObjectCache::Get(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return Load(it->second);
}

std::vector<api::Json> ObjectCache::List() const {
  std::lock_guard lock(mu_);
  std::vector<api::Json> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(Load(object));
  return out;
}

std::vector<std::string> ObjectCache::Keys() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> keys;
  keys.reserve(objects_.size());
  for (const auto& [key, object] : objects_) keys.push_back(key);
  return keys;
}

size_t ObjectCache::Size() const {
  std::lock_guard lock(mu_);
  return objects_.size();
}

}  // namespace ctask::kube
