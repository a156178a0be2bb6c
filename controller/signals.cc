#include "signals.h"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace ctask::cli {
namespace {

sigset_t Watched() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int signal, int count)> on_signal) {
  const sigset_t set = Watched();
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
  thread_ = std::jthread([this, set, on_signal = std::move(on_signal)](std::stop_token stop) {
    // A short timeout lets the thread notice it should end; signals are
    // taken the moment they arrive.
    const timespec tick{0, 200'000'000};
    while (!stop.stop_requested()) {
      const int signal = sigtimedwait(&set, nullptr, &tick);
      if (signal > 0) on_signal(signal, ++count_);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  thread_.request_stop();
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace ctask::cli
