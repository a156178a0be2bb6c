#include "docker/log_frames.h"

namespace ctask::docker {

Status LogDemuxer::Feed(std::string_view bytes, const LogCallback& on_data) {
  while (!bytes.empty()) {
    if (remaining_ == 0) {
      const size_t take = std::min(bytes.size(), header_.size() - header_filled_);
      for (size_t i = 0; i < take; ++i) header_[header_filled_ + i] = static_cast<unsigned char>(bytes[i]);
      header_filled_ += take;
      bytes.remove_prefix(take);
      if (header_filled_ < header_.size()) return {};
      header_filled_ = 0;
      if (header_[0] > 2 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        return InvalidArgument("not a multiplexed Docker log stream (a container with a TTY?)");
      }
      // stdin (0) never carries container output; count it as stdout.
      stream_ = header_[0] == 2 ? LogStream::kStderr : LogStream::kStdout;
      remaining_ = (uint32_t{header_[4]} << 24) | (uint32_t{header_[5]} << 16) | (uint32_t{header_[6]} << 8) |
                   uint32_t{header_[7]};
      continue;
    }
    const size_t take = std::min<size_t>(bytes.size(), remaining_);
    remaining_ -= static_cast<uint32_t>(take);
    if (!on_data(stream_, bytes.substr(0, take))) return MakeError(ErrorCode::kCancelled, "log follow stopped");
    bytes.remove_prefix(take);
  }
  return {};
}

}  // namespace ctask::docker
