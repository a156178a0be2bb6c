// DirectoryWatch: wakes the directory operator (directory_operator.h) as
// soon as a manifest in its tasks directory is written, moved in or out, or
// removed, through inotify, so a `cp` or `mv` into the directory is acted on
// in milliseconds instead of at the next scan (on average half a scan
// interval, 0.5 s at the default: 3% of a 100-task burst that takes 16 s).
// The scan interval stays as the fallback: a filesystem that sends no
// events (some network mounts), an event queue that overflowed, or inotify
// refused (the per-user watch limit) only means changes wait for the scan.
//
// Events that mean a file's content is complete wake it (IN_CLOSE_WRITE,
// IN_MOVED_TO), and so do removals (IN_MOVED_FROM, IN_DELETE) and IN_ATTRIB
// (a touch); IN_CREATE and IN_MODIFY do not (a file half written would be
// read and reported as broken). A burst of events (an editor's save, 100
// files moved in at once) is gathered for up to kSettle, so it costs one
// scan, not one per file.
//
// Thread-safety: Wait on one thread; `stop` may be requested from any.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>

namespace ctask::backends {

// How long Wait keeps gathering once the first event came, while more
// follow within kQuiet of each other.
inline constexpr std::chrono::milliseconds kSettle{200};
inline constexpr std::chrono::milliseconds kQuiet{20};

class DirectoryWatch {
 public:
  // Watches `dir` (not its subdirectories: the tasks directory is flat).
  explicit DirectoryWatch(const std::string& dir);
  ~DirectoryWatch();
  DirectoryWatch(const DirectoryWatch&) = delete;
  DirectoryWatch& operator=(const DirectoryWatch&) = delete;

  // Whether inotify watches the directory; false: Wait only times out, and
  // error() says why.
  bool watching() const { return inotify_fd_ >= 0; }
  const std::string& error() const { return error_; }

  // Blocks until a change in the directory (true), `timeout` or `stop`
  // (false).
  bool Wait(std::chrono::milliseconds timeout, std::stop_token stop);

 private:
  // Reads every queued event; whether one of them was a change.
  bool Drain();

  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd the stop callback writes
  std::string error_;
};

}  // namespace ctask::backends
