// LogTail: the last lines of an attempt's output, for status.logTail. Fed
// the output as it arrives, in pieces cut anywhere (mid-line, mid-character);
// keeps at most `max_lines` lines and `max_bytes` bytes, so a task that
// prints gigabytes costs a few KiB here. Text() is always valid UTF-8 (bytes
// that are not become U+FFFD): it goes into a JSON/YAML status.
//
// Thread-safety: not synchronised; one thread feeds it.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace ctask::status {

class LogTail {
 public:
  LogTail(std::size_t max_lines, std::size_t max_bytes);

  void Append(std::string_view data);

  // The kept lines, each ending in "\n" except an unfinished last one. When
  // the byte bound cuts the oldest kept line, it starts with "...".
  std::string Text() const;

 private:
  void Trim();
  void CapPartial();

  const std::size_t max_lines_;
  const std::size_t max_bytes_;
  std::deque<std::string> lines_;  // complete lines, "\n" included
  std::string partial_;            // the unfinished last line
  std::size_t bytes_ = 0;          // in lines_
};

}  // namespace ctask::status
