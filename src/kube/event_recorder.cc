#include "kube/event_recorder.h"

#include "api/names.h"
#include "kube/event.h"

namespace ctask::kube {
namespace {

constexpr std::chrono::minutes kSayOverBudgetEvery(1);

// The object an event is about, for its budget: its uid, or where it is.
std::string BudgetKey(const api::Json& object) {
  const api::Json& meta = object.is_object() && object.contains("metadata") ? object["metadata"] : object;
  if (!meta.is_object()) return "";
  const std::string uid = meta.value("uid", "");
  return uid.empty() ? meta.value("namespace", "") + "/" + meta.value("name", "") : uid;
}

}  // namespace

EventRecorder::EventRecorder(KubeClient& client, std::string component, std::string instance,
                             std::function<void(const std::string&)> log, const Clock& clock, EventBudgetOptions budget)
    : client_(client),
      component_(std::move(component)),
      instance_(std::move(instance)),
      log_(std::move(log)),
      clock_(clock),
      budget_(budget, clock.Steady()),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

EventRecorder::~EventRecorder() {
  Stop();
}

void EventRecorder::Record(const api::Json& involved_object, std::string type, std::string reason,
                           std::string message) {
  std::string say;  // a note on the events the budget has held back
  {
    std::lock_guard lock(mu_);
    const auto now = clock_.Steady();
    if (budget_.Admit(BudgetKey(involved_object), type == "Warning", now) != EventBudget::Verdict::kWrite) {
      ++over_budget_;
      if (!over_budget_said_ || now - *over_budget_said_ >= kSayOverBudgetEvery) {
        over_budget_said_ = now;
        say = std::to_string(over_budget_) +
              " events not recorded so far, over the event budget (25 per object, then one per 5 minutes; Normal "
              "events 5/s across the operator); each task's status says what happened";
      }
    } else if (pending_.size() >= kMaxPendingEvents) {
      ++dropped_;
      return;
    } else {
      pending_.push_back(Pending{involved_object, std::move(type), std::move(reason), std::move(message)});
      cv_.notify_one();
      return;
    }
  }
  if (!say.empty() && log_) log_(say);
}

void EventRecorder::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

int64_t EventRecorder::Dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

int64_t EventRecorder::OverBudget() const {
  std::lock_guard lock(mu_);
  return over_budget_;
}

int64_t EventRecorder::Written() const {
  std::lock_guard lock(mu_);
  return written_;
}

void EventRecorder::Run(std::stop_token stop) {
  while (true) {
    Pending next;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, stop, [&] { return !pending_.empty(); });
      // Stopping drains what is queued: those events describe what happened.
      if (pending_.empty()) return;
      next = std::move(pending_.front());
      pending_.pop_front();
    }
    const api::Json event =
        MakeEvent(next.object, next.type, next.reason, next.message, component_, clock_.Now(), instance_);
    const std::string ns = event["metadata"].value("namespace", api::kDefaultNamespace);
    Result<api::Json> created = client_.Create(resources::Events(), ns, event);
    if (created) {
      std::lock_guard lock(mu_);
      ++written_;
    } else if (log_) {
      log_("event " + next.reason + " not recorded: " + created.error().message());
    }
  }
}

}  // namespace ctask::kube
