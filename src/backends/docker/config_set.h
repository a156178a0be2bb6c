// ConfigSet: the Secrets and ConfigMaps a Docker runtime resolves env from
// (the Kubernetes backend has the API server for that). Whoever loads them
// owns the set — `ctask run` from its manifests, the directory operator from
// the tasks directory on every change — and hands it to the runtime at
// construction (DockerRuntimeOptions::configs); the runtime reads a snapshot
// per attempt, so an attempt already created keeps the values it was
// created with.
//
// Thread-safety: Replace and Snapshot may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "api/types.h"

namespace ctask::backends {

class ConfigSet {
 public:
  explicit ConfigSet(std::vector<api::ConfigData> configs = {})
      : configs_(std::make_shared<const std::vector<api::ConfigData>>(std::move(configs))) {}

  void Replace(std::vector<api::ConfigData> configs) {
    auto next = std::make_shared<const std::vector<api::ConfigData>>(std::move(configs));
    std::lock_guard lock(mu_);
    configs_ = std::move(next);
  }

  std::shared_ptr<const std::vector<api::ConfigData>> Snapshot() const {
    std::lock_guard lock(mu_);
    return configs_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<api::ConfigData>> configs_;  // guarded by mu_
};

}  // namespace ctask::backends
