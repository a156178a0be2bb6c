// PollSource: a source of keys for the work queue (controller-runtime's
// source.Source) for backends without a watch: on a thread of its own it
// calls `poll` every `interval` and Adds each key poll returns. The local
// backend feeds it from the state directory's change journal
// (store/change_feed.h), so an intent another ctask process wrote reaches
// the reconciler within one interval.
//
// Thread-safety: Start and Stop from one thread; `poll` runs on the
// source's thread only.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "reconcile/work_queue.h"

namespace ctask::reconcile {

class PollSource {
 public:
  using Poll = std::function<std::vector<std::string>()>;

  // `queue` must outlive the source.
  PollSource(WorkQueue& queue, std::chrono::milliseconds interval, Poll poll);
  ~PollSource();  // Stop()
  PollSource(const PollSource&) = delete;
  PollSource& operator=(const PollSource&) = delete;

  void Start();
  // Returns once the thread has ended; an interval in progress is cut short.
  void Stop();

 private:
  WorkQueue& queue_;
  const std::chrono::milliseconds interval_;
  const Poll poll_;
  std::jthread thread_;
};

}  // namespace ctask::reconcile
