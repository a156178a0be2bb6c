#include "backends/docker/dir_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace ctask::backends {
namespace {

constexpr uint32_t kChangeEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB;

enum class Woken { kTimeout, kEvent, kStop, kFailed };

// What ended a poll of the inotify descriptor and the stop eventfd within
// `timeout`. An interrupted poll counts as a timeout (the caller's deadline
// decides); a failed one ends the wait (the scan interval still runs).
Woken PollBoth(int inotify_fd, int stop_fd, std::chrono::milliseconds timeout) {
  std::array<pollfd, 2> fds{{{inotify_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}}};
  const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(timeout.count(), 0)));
  if (n < 0) return errno == EINTR ? Woken::kTimeout : Woken::kFailed;
  if (n == 0) return Woken::kTimeout;
  if ((fds[1].revents & POLLIN) != 0) return Woken::kStop;
  return (fds[0].revents & POLLIN) != 0 ? Woken::kEvent : Woken::kTimeout;
}

}  // namespace

DirectoryWatch::DirectoryWatch(const std::string& dir) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) {
    error_ = std::string("inotify_init1: ") + std::strerror(errno);
    return;
  }
  if (::inotify_add_watch(fd, dir.c_str(), kChangeEvents | IN_ONLYDIR) < 0) {
    // ENOSPC: the per-user limit, fs.inotify.max_user_watches.
    error_ = std::string("inotify_add_watch: ") + std::strerror(errno);
    ::close(fd);
    return;
  }
  inotify_fd_ = fd;
}

DirectoryWatch::~DirectoryWatch() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

bool DirectoryWatch::Drain() {
  bool changed = false;
  alignas(inotify_event) std::array<char, 4096> buffer{};
  while (true) {
    const ssize_t n = ::read(inotify_fd_, buffer.data(), buffer.size());
    if (n <= 0) return changed;  // EAGAIN: drained; an error: the scan still runs
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + at);
      // IN_Q_OVERFLOW: events were lost, so something changed.
      if ((event->mask & (kChangeEvents | IN_Q_OVERFLOW)) != 0) changed = true;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
}

bool DirectoryWatch::Wait(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (stop.stop_requested()) return false;
  std::stop_callback on_stop(stop, [this] {
    const uint64_t one = 1;
    if (stop_fd_ >= 0) (void)!::write(stop_fd_, &one, sizeof one);
  });
  if (inotify_fd_ < 0 || stop_fd_ < 0) {
    // No watch: sleep out the timeout, or until stop.
    pollfd fd{stop_fd_, POLLIN, 0};
    ::poll(&fd, stop_fd_ >= 0 ? 1 : 0, static_cast<int>(timeout.count()));
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool changed = false;
  while (!changed) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    const Woken woken = PollBoth(inotify_fd_, stop_fd_, left);
    if (woken == Woken::kStop || woken == Woken::kFailed) return false;
    if (woken == Woken::kEvent) changed = Drain();
  }
  // Gather the rest of a burst: until kQuiet passes without an event, or
  // kSettle in all.
  const auto settle_until = std::chrono::steady_clock::now() + kSettle;
  while (std::chrono::steady_clock::now() < settle_until && PollBoth(inotify_fd_, stop_fd_, kQuiet) == Woken::kEvent) {
    Drain();
  }
  return true;
}

}  // namespace ctask::backends
