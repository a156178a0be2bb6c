#include "reconcile/admitter.h"

#include <algorithm>

#include "api/names.h"
#include "status/fan_out.h"

namespace ctask::reconcile {
namespace {

admission::TaskRef RefOf(const api::ContainerTask& task) {
  return admission::TaskRef{TaskKey(task), QueueId(task), task.spec.priority,
                            task.metadata.creation_timestamp.value_or(Timestamp{})};
}

// What the book holds of a record: the task, or each item in progress of a
// fan-out task (a fan-out task never takes a slot itself).
std::vector<api::ContainerTask> SlotHolders(const api::ContainerTask& task) {
  if (!status::IsFanOut(task.spec) || task.item) return {task};
  std::vector<api::ContainerTask> views;
  for (const api::ItemStatus& entry : status::ItemsInProgress(task)) {
    views.push_back(status::ItemView(task, entry, false));
  }
  return views;
}

std::string OutOf(int64_t count, const std::optional<int>& limit) {
  return limit ? std::to_string(count) + "/" + std::to_string(*limit) : std::to_string(count);
}

}  // namespace

std::string QueueId(const api::ContainerTask& task) {
  return api::NamespaceOrDefault(task.metadata.namespace_) + "/" + task.spec.queue_name;
}

admission::Slot SlotOf(const api::ContainerTask& task) {
  if (status::HoldsSlot(task)) return admission::Slot::kHolding;
  if (status::WantsSlot(task)) return admission::Slot::kWaiting;
  return admission::Slot::kNone;
}

admission::Limits WithTaskQueues(admission::Limits base, const std::vector<api::TaskQueue>& queues) {
  for (const api::TaskQueue& q : queues) {
    if (!q.max_running) continue;
    base.queues[api::NamespaceOrDefault(q.metadata.namespace_) + "/" + q.metadata.name] = *q.max_running;
  }
  return base;
}

std::string StandingMessage(const admission::Standing& s) {
  const std::string queue = s.queue.substr(s.queue.find('/') + 1);
  if (s.offered) return "a slot in queue " + queue + " is free; starting";
  std::string message = "position " + std::to_string(s.position) + " of " + std::to_string(s.waiting) + " in queue " +
                        queue + "; " + OutOf(s.running, s.queue_limit) + " running there, " +
                        OutOf(s.running_total, s.global_limit) + " in all";
  if (s.queue_limit && *s.queue_limit == 0) message += " (the queue's maxRunning is 0: it admits nothing)";
  return message;
}

Admitter::Admitter(admission::Limits limits, Wake wake, const Clock& clock, bool kueue)
    : book_(std::move(limits)), clock_(clock), kueue_(kueue), wake_(std::move(wake)) {}

admission::Slot Admitter::SlotFor(const api::ContainerTask& task) const {
  if (kueue_ && status::IsKueueManaged(task)) return admission::Slot::kNone;
  return SlotOf(task);
}

void Admitter::SetAdmittedListener(AdmittedListener listener) {
  std::lock_guard lock(mu_);
  on_admitted_ = std::move(listener);
}

void Admitter::NoteWaitingLocked(const std::string& key) {
  waiting_since_.try_emplace(key, clock_.Steady());
}

void Admitter::Admitted(const api::ContainerTask& task) {
  const std::string key = TaskKey(task);
  std::chrono::nanoseconds waited{};
  {
    std::lock_guard lock(mu_);
    auto it = waiting_since_.find(key);
    if (it != waiting_since_.end()) {
      waited = clock_.Steady() - it->second;
      waiting_since_.erase(it);
    }
  }
  if (on_admitted_) on_admitted_(task, QueueId(task), waited);
}

void Admitter::SetWake(Wake wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

void Admitter::WakeAll(const std::vector<std::string>& keys) const {
  if (!wake_) return;
  // An item's turn wakes its task.
  std::vector<std::string> woken;
  for (const std::string& key : keys) {
    std::string record = RecordKey(key);
    if (std::find(woken.begin(), woken.end(), record) != woken.end()) continue;
    wake_(record);
    woken.push_back(std::move(record));
  }
}

std::vector<std::string> Admitter::OfferLocked() {
  std::vector<std::string> wake = book_.Offer();
  for (const std::string& queue : book_.TakeChanged()) {
    for (std::string& key : book_.Front(queue, kRefreshedFront)) {
      if (std::find(wake.begin(), wake.end(), key) == wake.end()) wake.push_back(std::move(key));
    }
  }
  return wake;
}

void Admitter::SetLimits(admission::Limits limits) {
  std::vector<std::string> wake;
  {
    std::lock_guard lock(mu_);
    wake = book_.SetLimits(std::move(limits));  // withdrawn: their messages change
    std::vector<std::string> offered = OfferLocked();
    wake.insert(wake.end(), offered.begin(), offered.end());
  }
  WakeAll(wake);
}

void Admitter::SetQueueLimit(const std::string& queue, std::optional<int> limit) {
  admission::Limits limits = this->limits();
  if (limit) {
    limits.queues[queue] = *limit;
  } else {
    limits.queues.erase(queue);
  }
  SetLimits(std::move(limits));
}

admission::Limits Admitter::limits() const {
  std::lock_guard lock(mu_);
  return book_.limits();
}

void Admitter::Track(const api::ContainerTask& task) {
  std::vector<std::string> wake;
  {
    std::lock_guard lock(mu_);
    const admission::TaskRef ref = RefOf(task);
    const admission::Slot slot = SlotFor(task);
    book_.Set(ref, slot);
    if (slot == admission::Slot::kNone) waiting_since_.erase(ref.key);
    wake = OfferLocked();
  }
  WakeAll(wake);
}

void Admitter::TrackAll(const std::function<void(const RecordVisitor&)>& records) {
  std::vector<std::string> wake;
  {
    std::lock_guard lock(mu_);
    records([this](const api::ContainerTask& record) {
      for (const api::ContainerTask& task : SlotHolders(record)) book_.Set(RefOf(task), SlotFor(task));
    });
    wake = OfferLocked();
  }
  WakeAll(wake);
}

void Admitter::Forget(const std::string& key) {
  std::vector<std::string> wake;
  {
    std::lock_guard lock(mu_);
    book_.Remove(key);
    waiting_since_.erase(key);
    for (const std::string& item : book_.KeysWithPrefix(ItemKeyPrefix(key))) {
      book_.Remove(item);
      waiting_since_.erase(item);
    }
    wake = OfferLocked();
  }
  WakeAll(wake);
}

status::Admission Admitter::Ask(const api::ContainerTask& task) {
  const admission::TaskRef ref = RefOf(task);
  std::vector<std::string> wake;
  status::Admission answer;
  {
    std::lock_guard lock(mu_);
    book_.Set(ref, admission::Slot::kWaiting);
    NoteWaitingLocked(ref.key);
    wake = OfferLocked();
    answer.granted = book_.Claim(ref.key);
    answer.limited = book_.limits().global.has_value() || book_.limits().Of(ref.queue).has_value();
    if (!answer.granted) {
      answer.reason = status::reason::kWaitingForCapacity;
      if (std::optional<admission::Standing> standing = book_.StandingOf(ref.key)) {
        answer.message = StandingMessage(*standing);
        answer.position = standing->position;
      }
    }
  }
  std::erase(wake, ref.key);  // it is being reconciled now
  WakeAll(wake);
  return answer;
}

void Admitter::Unclaim(const std::string& key) {
  std::vector<std::string> wake;
  {
    std::lock_guard lock(mu_);
    book_.Unclaim(key);
    wake = OfferLocked();
  }
  WakeAll(wake);
}

std::map<std::string, admission::QueueCounts> Admitter::Counts() const {
  std::lock_guard lock(mu_);
  return book_.Counts();
}

}  // namespace ctask::reconcile
