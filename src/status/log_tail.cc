#include "status/log_tail.h"

#include "util/utf8.h"

namespace ctask::status {

LogTail::LogTail(std::size_t max_lines, std::size_t max_bytes) : max_lines_(max_lines), max_bytes_(max_bytes) {}

void LogTail::Append(std::string_view data) {
  while (!data.empty()) {
    const std::size_t newline = data.find('\n');
    if (newline == std::string_view::npos) {
      partial_.append(data);
      CapPartial();
      break;
    }
    partial_.append(data.substr(0, newline + 1));
    CapPartial();  // a long complete line too: Trim must never drop it whole
    data.remove_prefix(newline + 1);
    bytes_ += partial_.size();
    lines_.push_back(std::move(partial_));
    partial_.clear();
    Trim();
  }
}

void LogTail::Trim() {
  const std::size_t partial_line = partial_.empty() ? 0 : 1;
  // A line goes by the byte bound only when the lines after it overflow the
  // bound on their own: nothing Text() could show is dropped.
  while (!lines_.empty() &&
         (lines_.size() + partial_line > max_lines_ || bytes_ - lines_.front().size() > max_bytes_)) {
    bytes_ -= lines_.front().size();
    lines_.pop_front();
  }
}

// An endless line keeps only what could ever be shown, plus one byte so that
// Text() sees it was cut and marks it.
void LogTail::CapPartial() {
  if (partial_.size() > 2 * max_bytes_) partial_.erase(0, partial_.size() - (max_bytes_ + 1));
}

std::string LogTail::Text() const {
  if (max_lines_ == 0 || max_bytes_ == 0) return "";
  std::string text;
  const std::size_t partial_line = partial_.empty() ? 0 : 1;
  std::size_t skip = lines_.size() + partial_line > max_lines_ ? lines_.size() + partial_line - max_lines_ : 0;
  for (std::size_t i = skip; i < lines_.size(); ++i) text += lines_[i];
  if (max_lines_ > 0) text += partial_;
  // Below 4 bytes there is no room for anything beside the marker (and
  // max_bytes_ - 3 would wrap).
  if (text.size() > max_bytes_ && max_bytes_ <= 3) return std::string(max_bytes_, '.');
  if (text.size() > max_bytes_) {
    // Cut from the front; "..." marks the cut, and the cut may split a
    // character: ToValidUtf8 turns the remnant into U+FFFD, so skip
    // continuation bytes first.
    std::size_t start = text.size() - (max_bytes_ - 3);
    while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
    text = "..." + text.substr(start);
  }
  std::string valid = ToValidUtf8(text);
  // Replacement characters are 3 bytes for 1: keep the bound.
  while (valid.size() > max_bytes_) {
    if (max_bytes_ <= 3) return std::string(max_bytes_, '.');
    std::size_t cut = valid.size() - max_bytes_ + 3;
    while (cut < valid.size() && (static_cast<unsigned char>(valid[cut]) & 0xC0) == 0x80) ++cut;
    valid = "..." + valid.substr(cut);
  }
  return valid;
}

}  // namespace ctask::status
