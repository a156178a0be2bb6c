// AdmissionBook: who waits for a slot, who holds one, and whose turn is next.
// The pure core of admission, shared by both backends: no I/O, no clock, no
// threads (reconcile/admitter.h wraps it in a lock and wakes the tasks it
// picks).
//
// A task is in at most one queue (its id "namespace/name"). In a queue,
// waiting tasks are ordered by priority (higher first), then creation time,
// then key — first come, first served, with a tie in one second settled by
// name so every process orders them alike. Across queues, free slots go
// round-robin: to the queue, among those with a waiting task and under
// their limit, that was served longest ago (one never served first). A
// queue with 500 waiting tasks therefore gets one slot per turn, as does a
// queue with one, and a queue whose first task arrives late is not passed
// over for a whole round.
//
// A slot is counted from the moment it is offered: offered, claimed (the
// reconciler took the offer and is writing the admission) and holding (the
// task's record says it is admitted) all count against the queue's and the
// global limit, so an offer never makes room for a second one. Offers are
// withdrawn only when the limits are lowered below them; once claimed, a slot
// is the task's until its record gives it back (Set) or the claim is undone
// (Unclaim).
//
// Thread-safety: none; one caller at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "admission/limits.h"
#include "admission/ordered_set.h"
#include "util/time.h"

namespace ctask::admission {

// What a task's record says about its slot (status/admission.h reads it).
enum class Slot {
  kNone,     // finished, suspended, cancelled, being deleted: not in the book
  kWaiting,  // wants a slot
  kHolding,  // admitted: counts against the limits
};

struct TaskRef {
  std::string key;    // "namespace/name"
  std::string queue;  // "namespace/queue"
  int32_t priority = 0;
  Timestamp created{};
};

// Where a waiting task stands, for its status message.
struct Standing {
  std::string queue;
  bool offered = false;  // a slot is offered or claimed: it is about to start
  int64_t position = 0;  // 1-based among the queue's waiting tasks
  int64_t waiting = 0;   // the queue's waiting tasks
  int64_t running = 0;   // the queue's slots taken
  std::optional<int> queue_limit;
  int64_t running_total = 0;
  std::optional<int> global_limit;
};

struct QueueCounts {
  int64_t waiting = 0;
  int64_t running = 0;
};

class AdmissionBook {
 public:
  explicit AdmissionBook(Limits limits = {}) : limits_(std::move(limits)) {}

  // Records what `task`'s record says. A waiting task keeps an offer made to
  // it (unless it moved to another queue); a holding one takes a slot.
  void Set(const TaskRef& task, Slot slot);
  // Forgets the task (deleted); its slot, if any, is free.
  void Remove(const std::string& key);

  // Replaces the limits. Offers beyond the new limits are withdrawn, newest
  // first, and their keys returned (their tasks wait again); slots already
  // claimed or held are kept: lowering a limit lets running tasks finish.
  std::vector<std::string> SetLimits(Limits limits);
  const Limits& limits() const { return limits_; }

  // Offers every free slot to the task whose turn it is, round-robin across
  // queues; returns the keys offered, in order.
  std::vector<std::string> Offer();
  // Takes the slot offered to `key` (true), or false when none was offered.
  bool Claim(const std::string& key);
  // A claimed slot that could not be used (its admission was not written):
  // the task waits again in its place, and the slot is free.
  void Unclaim(const std::string& key);

  std::optional<Standing> StandingOf(const std::string& key) const;
  // The queues whose waiting tasks or slots changed since the last call:
  // the standing of their waiting tasks moved.
  std::vector<std::string> TakeChanged();
  // The first `n` waiting tasks of `queue`, in order.
  std::vector<std::string> Front(const std::string& queue, size_t n) const;
  // The keys in the book that start with `prefix` (a task's items).
  std::vector<std::string> KeysWithPrefix(std::string_view prefix) const;
  // Per queue id, for metrics; queues with nothing in them are left out.
  std::map<std::string, QueueCounts> Counts() const;
  int64_t running_total() const { return running_total_; }

 private:
  enum class State { kWaiting, kOffered, kClaimed, kHolding };
  // Priority first (negated: higher first), then creation, then key.
  using Order = std::tuple<int32_t, int64_t, std::string>;
  struct Entry {
    std::string queue;
    Order order;
    State state = State::kWaiting;
    uint64_t offer = 0;  // kOffered: its sequence number in offers_
  };
  struct Queue {
    OrderedSet<Order> waiting;
    int64_t running = 0;  // offered + claimed + holding
  };

  static Order OrderOf(const TaskRef& task);
  void Enqueue(Entry& entry);             // into its queue's waiting set
  void Take(Entry& entry, State state);   // waiting -> counted
  void Release(Entry& entry);             // counted -> not counted
  void Withdraw(const std::string& key);  // offered -> waiting
  bool Eligible(const std::string& queue, const Queue& q) const;
  std::map<std::string, Queue>::iterator NextQueue();
  void Prune(const std::string& queue);

  Limits limits_;
  std::unordered_map<std::string, Entry> entries_;
  std::map<std::string, Queue> queues_;
  std::map<uint64_t, std::string> offers_;  // outstanding offers by sequence
  uint64_t next_offer_ = 1;
  // Queue id -> when it was last offered a slot (a count of offers): kept
  // when the queue empties, so a queue that drains and refills waits its
  // turn like the others.
  std::map<std::string, uint64_t, std::less<>> last_served_;
  uint64_t serves_ = 0;
  std::set<std::string> changed_;
  int64_t running_total_ = 0;
};

}  // namespace ctask::admission
