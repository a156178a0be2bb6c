#include "store/change_feed.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ctask::store {
namespace {

constexpr const char* kJournal = "/changes";
// A Poll reads at most this much; the rest waits for the next one.
constexpr size_t kMaxPollBytes = 1 << 20;

Error JournalError(const std::string& path, const char* what, int error_number) {
  return Error(ErrorCodeForErrno(error_number, ErrorCode::kInternal),
               "change journal " + path + ": " + what + ": " + std::strerror(error_number));
}

}  // namespace

Status AnnounceChange(const std::string& root, std::string_view ns, std::string_view name) {
  const std::string path = root + kJournal;
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(JournalError(path, "open", errno));
  std::string line = std::string(ns) + "/" + std::string(name) + "\n";
  ssize_t written;
  do {
    written = ::write(fd, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  const int error_number = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size())) {
    return std::unexpected(JournalError(path, "append", written < 0 ? error_number : EIO));
  }
  return {};
}

ChangeFeed::ChangeFeed(std::string root) : path_(std::move(root) + kJournal) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    offset_ = static_cast<uint64_t>(st.st_size);
    inode_ = static_cast<uint64_t>(st.st_ino);
  }
}

Result<std::vector<std::string>> ChangeFeed::Poll() {
  std::vector<std::string> keys;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return keys;
    return std::unexpected(JournalError(path_, "open", errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error_number = errno;
    ::close(fd);
    return std::unexpected(JournalError(path_, "stat", error_number));
  }
  if (static_cast<uint64_t>(st.st_ino) != inode_ || static_cast<uint64_t>(st.st_size) < offset_) {
    inode_ = static_cast<uint64_t>(st.st_ino);  // a new journal: from its start
    offset_ = 0;
  }
  std::string data(std::min<uint64_t>(static_cast<uint64_t>(st.st_size) - offset_, kMaxPollBytes), '\0');
  ssize_t got = data.empty() ? 0 : ::pread(fd, data.data(), data.size(), static_cast<off_t>(offset_));
  const int error_number = errno;
  ::close(fd);
  if (got < 0) return std::unexpected(JournalError(path_, "read", error_number));
  data.resize(static_cast<size_t>(got));
  // Whole lines only; a partial last line is read again next time.
  size_t start = 0;
  for (size_t end = data.find('\n'); end != std::string::npos; end = data.find('\n', start)) {
    if (end > start) keys.push_back(data.substr(start, end - start));
    start = end + 1;
  }
  offset_ += start;
  return keys;
}

}  // namespace ctask::store
