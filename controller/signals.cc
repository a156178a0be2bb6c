#include "signals.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace ctask::cli {

SignalWatcher::SignalWatcher(std::function<void(int signal, int count)> on_signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
  // The signals arrive on one descriptor and the request to stop on
  // another, so the thread sleeps until either: no polling, and destruction
  // is immediate.
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::jthread([this, on_signal = std::move(on_signal)](std::stop_token stop) {
    while (!stop.stop_requested() && signal_fd_ >= 0 && wake_fd_ >= 0) {
      pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      signalfd_siginfo info{};
      if (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        on_signal(static_cast<int>(info.ssi_signo), ++count_);
      }
    }
  });
}

SignalWatcher::~SignalWatcher() {
  thread_.request_stop();
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (signal_fd_ >= 0) close(signal_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace ctask::cli
