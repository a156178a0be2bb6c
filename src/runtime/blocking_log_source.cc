// BlockingLogSource::StartFollow (runtime.h): a thread per follow.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "runtime/runtime.h"

namespace ctask::runtime {
namespace {

class ThreadFollow : public LogFollow {
 public:
  explicit ThreadFollow(std::function<void(std::stop_token)> body) : thread_(std::move(body)) {}
  ~ThreadFollow() override {
    thread_.request_stop();
    // Destroyed inside its own on_end: the thread is about to return, and
    // cannot join itself.
    if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
  }  // else the jthread joins

 private:
  std::jthread thread_;
};

// Sleeps `delay`, or less if `stop` is requested; false then.
bool SleepUnlessStopped(std::chrono::milliseconds delay, const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any wake;
  std::unique_lock lock(mu);
  return !wake.wait_for(lock, stop, delay, [] { return false; });
}

}  // namespace

std::unique_ptr<LogFollow> BlockingLogSource::StartFollow(const api::ContainerTask& task, int attempt,
                                                          LogCallback on_data, LogEnd on_end,
                                                          std::chrono::milliseconds delay) {
  return std::make_unique<ThreadFollow>([this, task, attempt, on_data = std::move(on_data), on_end = std::move(on_end),
                                         delay](const std::stop_token& stop) {
    if (delay.count() > 0 && !SleepUnlessStopped(delay, stop)) return;
    Status followed = FollowLogs(task, attempt, on_data, stop);
    if (stop.stop_requested()) return;  // destroyed: no callback
    on_end(std::move(followed));
  });
}

}  // namespace ctask::runtime
