#include "reconcile/ready_keys.h"

namespace ctask::reconcile {

void ReadyKeys::Push(const std::string& key, Priority priority) {
  const uint64_t id = next_id_++;
  auto [it, fresh] = live_.try_emplace(key, Live{priority, id, id});
  if (!fresh) {
    if (priority <= it->second.priority) return;
    it->second.priority = priority;  // its old entry goes stale
    it->second.id = id;
  }
  levels_[static_cast<size_t>(priority)].push_back(Entry{key, id});
}

void ReadyKeys::DropStale(size_t level) {
  std::deque<Entry>& entries = levels_[level];
  while (!entries.empty()) {
    auto it = live_.find(entries.front().key);
    if (it != live_.end() && it->second.id == entries.front().id) return;
    entries.pop_front();
  }
}

std::optional<std::string> ReadyKeys::Pop() {
  if (live_.empty()) return std::nullopt;
  for (size_t level = 0; level < levels_.size(); ++level) DropStale(level);
  const bool oldest = ++pops_ % kOldestEvery == 0;
  size_t chosen = levels_.size();
  for (size_t level = levels_.size(); level-- > 0;) {
    if (levels_[level].empty()) continue;
    if (chosen == levels_.size()) {
      chosen = level;  // the highest
      if (!oldest) break;
    } else if (live_.at(levels_[level].front().key).since < live_.at(levels_[chosen].front().key).since) {
      chosen = level;
    }
  }
  std::string key = std::move(levels_[chosen].front().key);
  levels_[chosen].pop_front();
  live_.erase(key);
  return key;
}

}  // namespace ctask::reconcile
