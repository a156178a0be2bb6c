// ReadyKeys: the keys a WorkQueue hands out next, in three priorities —
// controller-runtime's priority queue, cut down to what the operator
// needs. A key whose Job or pod just changed (its container started or
// ended) is served before a task added by the informer's initial list,
// so a status does not wait behind a backlog of new tasks; and the key
// queued longest is served every kOldestEvery-th time whatever its
// priority, so the backlog is not starved either (it moves at no less
// than 1/kOldestEvery of the workers' pace, and all of it when nothing
// more urgent waits).
//
// Within a priority, first in, first out. Pushing a queued key again at a
// higher priority moves it up (to the back of that level); at the same or
// a lower one it changes nothing. Entries that moved up stay behind in
// their old level and are skipped (lazy deletion), so every operation is
// amortised O(1).
//
// Thread-safety: a plain value; WorkQueue calls it under its own lock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace ctask::reconcile {

enum class Priority : uint8_t {
  kLow = 0,     // the initial list (tasks there before the operator), a Job or pod first seen
  kNormal = 1,  // a task created or changed, a timer come due, a wake-up
  kHigh = 2,    // the task's workload changed: its container started, ended or was refused
};

inline constexpr int kOldestEvery = 4;

class ReadyKeys {
 public:
  // Queues `key`, or moves a queued key up to `priority`.
  void Push(const std::string& key, Priority priority);
  // The next key (and takes it out); nullopt when empty.
  std::optional<std::string> Pop();

  bool contains(const std::string& key) const { return live_.contains(key); }
  size_t size() const { return live_.size(); }
  bool empty() const { return live_.empty(); }

 private:
  struct Entry {
    std::string key;
    uint64_t id;  // this entry's; the key's live one is in live_
  };
  struct Live {
    Priority priority;
    uint64_t id;     // its entry
    uint64_t since;  // when it was first queued (an id), for the oldest
  };
  // Drops entries at the front of `level` that are no longer live.
  void DropStale(size_t level);

  std::array<std::deque<Entry>, 3> levels_;  // by Priority
  std::unordered_map<std::string, Live> live_;
  uint64_t next_id_ = 0;
  uint64_t pops_ = 0;
};

}  // namespace ctask::reconcile
