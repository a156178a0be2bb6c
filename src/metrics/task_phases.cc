#include "metrics/task_phases.h"

namespace ctask::metrics {

std::string TaskPhases::Set(const std::string& key, const std::string& phase) {
  std::string before;
  auto it = phases_.find(key);
  if (it != phases_.end()) {
    before = it->second;
    if (before == phase) return before;
    --counts_[before];
    if (phase.empty()) {
      phases_.erase(it);
    } else {
      it->second = phase;
    }
  } else if (!phase.empty()) {
    phases_.emplace(key, phase);
  }
  if (!phase.empty()) ++counts_[phase];
  return before;
}

}  // namespace ctask::metrics
