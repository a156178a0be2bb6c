#include "backends/docker/termination_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/schema.h"

namespace ctask::backends {

std::string TerminationLogs::PathOf(const std::string& container_name) const {
  return dir_ + "/" + container_name;
}

Status TerminationLogs::Prepare(const std::string& container_name) const {
  if (dir_.empty()) return {};
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kUnavailable, dir_ + ": cannot create: " + std::strerror(errno));
  }
  const std::string path = PathOf(container_name);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, path + ": cannot create: " + std::strerror(errno));
  // Writable by the container's user, whoever it is: the directory keeps
  // everyone else out.
  const int chmod_error = ::fchmod(fd, 0666) != 0 ? errno : 0;
  ::close(fd);
  if (chmod_error != 0) return MakeError(ErrorCode::kUnavailable, path + ": chmod: " + std::strerror(chmod_error));
  return {};
}

std::string TerminationLogs::Read(const std::string& container_name) const {
  if (dir_.empty()) return "";
  const int fd = ::open(PathOf(container_name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return "";
  std::string out(api::kMaxResultBytes, '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

void TerminationLogs::Remove(const std::string& container_name) const {
  if (!dir_.empty()) ::unlink(PathOf(container_name).c_str());
}

}  // namespace ctask::backends
