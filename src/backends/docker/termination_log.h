// TerminationLogs: /dev/termination-log for Docker containers, as the
// kubelet gives one to every container: an empty host file, named after the
// container, bind-mounted at that path; the container writes its result
// there, and after it exits the first kMaxResultBytes are its termination
// message (status.result; a fan-out item's result, docs/fan-out.md).
//
// The files live in one directory of the state directory (0700; each file
// 0666 so a container running as any user can write it, reachable only by
// the operator's user and through the mount). A file is removed with its
// container.
//
// Thread-safety: every method may be called from any thread; distinct
// containers use distinct files.
#pragma once

#include <string>

#include "util/error.h"

namespace ctask::backends {

class TerminationLogs {
 public:
  // `dir` empty: containers get no termination log, and Read is always "".
  explicit TerminationLogs(std::string dir) : dir_(std::move(dir)) {}

  bool enabled() const { return !dir_.empty(); }
  // The host file of container `name` (for the bind mount).
  std::string PathOf(const std::string& container_name) const;
  // Creates the container's file, empty (an earlier one is truncated).
  Status Prepare(const std::string& container_name) const;
  // What the container wrote, at most kMaxResultBytes; "" when nothing (or
  // no file).
  std::string Read(const std::string& container_name) const;
  void Remove(const std::string& container_name) const;

 private:
  const std::string dir_;
};

}  // namespace ctask::backends
