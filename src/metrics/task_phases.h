// TaskPhases: how many tasks are in each phase (the ctask_tasks gauge), kept
// incrementally from the task informer's deltas: a delta moves one task from
// its old phase to its new one, so the cost per delta is constant, not a
// recount of every cached task.
//
// Thread-safety: none; the caller serialises (deltas come from one informer
// thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace ctask::metrics {

class TaskPhases {
 public:
  // Records `key`'s phase now ("" when it is gone, or has none yet) and
  // returns the phase it had before ("" when none).
  std::string Set(const std::string& key, const std::string& phase);

  // Tasks per phase; a phase whose tasks all left stays, at 0.
  const std::map<std::string, int64_t, std::less<>>& counts() const { return counts_; }

 private:
  std::map<std::string, std::string> phases_;  // task key -> its phase
  std::map<std::string, int64_t, std::less<>> counts_;
};

}  // namespace ctask::metrics
