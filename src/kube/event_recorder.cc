#include "kube/event_recorder.h"

#include "api/names.h"
#include "kube/event.h"

namespace ctask::kube {

EventRecorder::EventRecorder(KubeClient& client, std::string component, std::string instance,
                             std::function<void(const std::string&)> log, const Clock& clock)
    : client_(client),
      component_(std::move(component)),
      instance_(std::move(instance)),
      log_(std::move(log)),
      clock_(clock),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

EventRecorder::~EventRecorder() {
  Stop();
}

void EventRecorder::Record(const api::Json& involved_object, std::string type, std::string reason,
                           std::string message) {
  {
    std::lock_guard lock(mu_);
    if (pending_.size() >= kMaxPendingEvents) {
      ++dropped_;
      return;
    }
    pending_.push_back(Pending{involved_object, std::move(type), std::move(reason), std::move(message)});
  }
  cv_.notify_one();
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
