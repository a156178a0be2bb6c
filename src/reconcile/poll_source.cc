#include "reconcile/poll_source.h"

#include "util/sleep.h"

namespace ctask::reconcile {

PollSource::PollSource(WorkQueue& queue, std::chrono::milliseconds interval, Poll poll)
    : queue_(queue), interval_(interval), poll_(std::move(poll)) {}

PollSource::~PollSource() {
  Stop();
}

void PollSource::Start() {
  thread_ = std::jthread([this](std::stop_token stop) {
    while (SleepFor(interval_, stop)) {
      for (const std::string& key : poll_()) queue_.Add(key);
    }
  });
}

void PollSource::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

}  // namespace ctask::reconcile
