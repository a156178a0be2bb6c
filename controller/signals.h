// SignalWatcher: turns SIGINT and SIGTERM into calls of a handler on a
// thread of its own, so a command can react with ordinary code (cancel the
// tasks, stop the workers) instead of in a signal handler. Construct it
// before starting any other thread: it blocks the signals in the calling
// thread, and threads started afterwards inherit that mask, so only the
// watcher receives them. Destruction restores the previous mask.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace ctask::cli {

class SignalWatcher {
 public:
  // `on_signal(signal, count)`: count is how many signals arrived so far,
  // so a second Ctrl-C can mean "quit now".
  explicit SignalWatcher(std::function<void(int signal, int count)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  sigset_t previous_{};
  int signal_fd_ = -1;  // signalfd for SIGINT and SIGTERM
  int wake_fd_ = -1;    // eventfd: destruction wakes the thread
  std::atomic<int> count_{0};
  std::jthread thread_;
};

}  // namespace ctask::cli
