#include "admission/book.h"

namespace ctask::admission {

AdmissionBook::Order AdmissionBook::OrderOf(const TaskRef& task) {
  return {-task.priority, task.created.time_since_epoch().count(), task.key};
}

void AdmissionBook::Enqueue(Entry& entry) {
  entry.state = State::kWaiting;
  queues_[entry.queue].waiting.insert(entry.order);
  changed_.insert(entry.queue);
}

void AdmissionBook::Take(Entry& entry, State state) {
  Queue& q = queues_[entry.queue];
  q.waiting.erase(entry.order);
  ++q.running;
  changed_.insert(entry.queue);
  ++running_total_;
  entry.state = state;
}

void AdmissionBook::Release(Entry& entry) {
  if (entry.state == State::kOffered) offers_.erase(entry.offer);
  auto q = queues_.find(entry.queue);
  if (q != queues_.end()) --q->second.running;
  changed_.insert(entry.queue);
  --running_total_;
}

void AdmissionBook::Prune(const std::string& queue) {
  auto q = queues_.find(queue);
  if (q != queues_.end() && q->second.waiting.empty() && q->second.running == 0) queues_.erase(q);
}

void AdmissionBook::Set(const TaskRef& task, Slot slot) {
  if (slot == Slot::kNone) {
    Remove(task.key);
    return;
  }
  auto [it, fresh] = entries_.try_emplace(task.key);
  Entry& entry = it->second;
  const Order order = OrderOf(task);
  if (fresh) {
    entry.queue = task.queue;
    entry.order = order;
    if (slot == Slot::kWaiting) {
      Enqueue(entry);
    } else {
      Take(entry, State::kHolding);
    }
    return;
  }
  const bool counted = entry.state != State::kWaiting;
  const bool moved = entry.queue != task.queue;
  if (slot == Slot::kWaiting && !counted && !moved && entry.order == order) return;  // as it was
  if (slot == Slot::kWaiting) {
    // An offer stays with its task; a slot it held (suspended and resumed)
    // or an offer in a queue it left is given back.
    const bool keeps_offer = (entry.state == State::kOffered || entry.state == State::kClaimed) && !moved;
    if (keeps_offer) {
      entry.order = order;
      return;
    }
    if (counted) {
      Release(entry);
    } else {
      queues_[entry.queue].waiting.erase(entry.order);
      changed_.insert(entry.queue);
    }
    const std::string old_queue = entry.queue;
    entry.queue = task.queue;
    entry.order = order;
    Enqueue(entry);
    if (moved) Prune(old_queue);
    return;
  }
  // kHolding: the record says it is admitted.
  if (!counted) {
    queues_[entry.queue].waiting.erase(entry.order);
    const std::string old_queue = entry.queue;
    entry.queue = task.queue;
    entry.order = order;
    Take(entry, State::kHolding);
    if (moved) Prune(old_queue);
    return;
  }
  if (entry.state == State::kOffered) offers_.erase(entry.offer);
  entry.state = State::kHolding;
  entry.order = order;
  if (moved) {
    --queues_[entry.queue].running;
    changed_.insert(entry.queue);
    const std::string old_queue = entry.queue;
    entry.queue = task.queue;
    ++queues_[entry.queue].running;
    changed_.insert(entry.queue);
    Prune(old_queue);
  }
}

std::vector<std::string> AdmissionBook::KeysWithPrefix(std::string_view prefix) const {
  std::vector<std::string> keys;
  for (const auto& [key, entry] : entries_) {
    if (key.starts_with(prefix)) keys.push_back(key);
  }
  return keys;
}

void AdmissionBook::Remove(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  if (entry.state == State::kWaiting) {
    queues_[entry.queue].waiting.erase(entry.order);
    changed_.insert(entry.queue);
  } else {
    Release(entry);
  }
  const std::string queue = entry.queue;
  entries_.erase(it);
  Prune(queue);
}

void AdmissionBook::Withdraw(const std::string& key) {
  Entry& entry = entries_.at(key);
  Release(entry);
  Enqueue(entry);
}

std::vector<std::string> AdmissionBook::SetLimits(Limits limits) {
  limits_ = std::move(limits);
  std::vector<std::string> withdrawn;
  // Newest offers first: the ones made last are the furthest from starting.
  std::vector<std::string> newest_first;
  for (auto it = offers_.rbegin(); it != offers_.rend(); ++it) newest_first.push_back(it->second);
  for (const std::string& key : newest_first) {
    const Entry& entry = entries_.at(key);
    const std::optional<int> queue_limit = limits_.Of(entry.queue);
    const bool over_queue = queue_limit && queues_.at(entry.queue).running > *queue_limit;
    const bool over_global = limits_.global && running_total_ > *limits_.global;
    if (!over_queue && !over_global) continue;
    Withdraw(key);
    withdrawn.push_back(key);
  }
  return withdrawn;
}

bool AdmissionBook::Eligible(const std::string& queue, const Queue& q) const {
  if (q.waiting.empty()) return false;
  const std::optional<int> limit = limits_.Of(queue);
  return !limit || q.running < *limit;
}

std::map<std::string, AdmissionBook::Queue>::iterator AdmissionBook::NextQueue() {
  // The eligible queue served longest ago; a queue never served (one that
  // has just got its first task) before any other, ties by name.
  auto best = queues_.end();
  uint64_t best_served = 0;
  for (auto it = queues_.begin(); it != queues_.end(); ++it) {
    if (!Eligible(it->first, it->second)) continue;
    auto served = last_served_.find(it->first);
    const uint64_t at = served == last_served_.end() ? 0 : served->second;
    if (best == queues_.end() || at < best_served) {
      best = it;
      best_served = at;
    }
  }
  return best;
}

std::vector<std::string> AdmissionBook::Offer() {
  std::vector<std::string> offered;
  while (!limits_.global || running_total_ < *limits_.global) {
    auto q = NextQueue();
    if (q == queues_.end()) break;
    const std::string key = std::get<2>(*q->second.waiting.begin());
    Entry& entry = entries_.at(key);
    Take(entry, State::kOffered);
    entry.offer = next_offer_++;
    offers_.emplace(entry.offer, key);
    last_served_[q->first] = ++serves_;
    offered.push_back(key);
  }
  return offered;
}

bool AdmissionBook::Claim(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  Entry& entry = it->second;
  if (entry.state == State::kOffered) {
    offers_.erase(entry.offer);
    entry.state = State::kClaimed;
  }
  return entry.state == State::kClaimed;
}

void AdmissionBook::Unclaim(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.state != State::kClaimed) return;
  Release(it->second);
  Enqueue(it->second);
}

std::optional<Standing> AdmissionBook::StandingOf(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  const Entry& entry = it->second;
  const Queue& q = queues_.at(entry.queue);
  Standing s;
  s.queue = entry.queue;
  s.offered = entry.state == State::kOffered || entry.state == State::kClaimed;
  if (entry.state == State::kWaiting) s.position = static_cast<int64_t>(q.waiting.order_of_key(entry.order)) + 1;
  s.waiting = static_cast<int64_t>(q.waiting.size());
  s.running = q.running;
  s.queue_limit = limits_.Of(entry.queue);
  s.running_total = running_total_;
  s.global_limit = limits_.global;
  return s;
}

std::vector<std::string> AdmissionBook::TakeChanged() {
  std::vector<std::string> changed(changed_.begin(), changed_.end());
  changed_.clear();
  return changed;
}

std::vector<std::string> AdmissionBook::Front(const std::string& queue, size_t n) const {
  std::vector<std::string> keys;
  auto q = queues_.find(queue);
  if (q == queues_.end()) return keys;
  for (auto it = q->second.waiting.begin(); it != q->second.waiting.end() && keys.size() < n; ++it) {
    keys.push_back(std::get<2>(*it));
  }
  return keys;
}

std::map<std::string, QueueCounts> AdmissionBook::Counts() const {
  std::map<std::string, QueueCounts> counts;
  for (const auto& [id, q] : queues_) counts[id] = {static_cast<int64_t>(q.waiting.size()), q.running};
  return counts;
}

}  // namespace ctask::admission
