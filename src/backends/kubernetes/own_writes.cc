#include "backends/kubernetes/own_writes.h"

#include <algorithm>

#include "kube/object_cache.h"

namespace ctask::backends {

using kube::ResourceVersionOf;

std::optional<api::Json> OwnWrites::Resolve(const std::string& key, std::optional<api::Json> cached) {
  std::lock_guard lock(mu_);
  auto it = written_.find(key);
  if (it == written_.end()) return cached;
  if (cached) {
    const std::vector<std::string>& replaced = it->second.replaced_versions;
    if (std::find(replaced.begin(), replaced.end(), ResourceVersionOf(*cached)) != replaced.end()) {
      return it->second.object;
    }
  }
  written_.erase(it);
  return cached;
}

void OwnWrites::Seen(const std::string& key, const std::string& resource_version) {
  std::lock_guard lock(mu_);
  auto it = written_.find(key);
  if (it == written_.end()) return;
  const std::vector<std::string>& replaced = it->second.replaced_versions;
  if (std::find(replaced.begin(), replaced.end(), resource_version) == replaced.end()) written_.erase(it);
}

std::vector<std::string> OwnWrites::ReplacedBy(const std::string& key, const api::Json& base) const {
  const std::string base_version = ResourceVersionOf(base);
  std::vector<std::string> replaced;
  {
    std::lock_guard lock(mu_);
    auto it = written_.find(key);
    if (it != written_.end() && ResourceVersionOf(it->second.object) == base_version) {
      replaced = it->second.replaced_versions;
    }
  }
  replaced.push_back(base_version);
  return replaced;
}

void OwnWrites::Record(const std::string& key, std::vector<std::string> replaced, api::Json written) {
  // The version written is news, never a stale one.
  std::erase(replaced, ResourceVersionOf(written));
  if (replaced.size() > kMaxReplacedVersions) {
    replaced.erase(replaced.begin(), replaced.end() - static_cast<std::ptrdiff_t>(kMaxReplacedVersions));
  }
  std::lock_guard lock(mu_);
  written_[key] = Written{std::move(replaced), std::move(written)};
}

void OwnWrites::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  written_.erase(key);
}

}  // namespace ctask::backends
