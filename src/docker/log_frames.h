// LogDemuxer: decodes the Docker Engine's multiplexed log and attach stream
// (containers without a TTY). Each frame is an 8-byte header — stream type
// (0 stdin, 1 stdout, 2 stderr), three zero bytes, a big-endian uint32
// payload length — then the payload. Network chunks cut frames anywhere, so
// the demuxer keeps the partial frame between calls.
//
// Pure and allocation-bounded: a frame's payload is handed on in pieces as it
// arrives, never buffered whole, so a 1 GiB frame costs no memory.
//
// Thread-safety: none; one demuxer per stream.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string_view>

#include "util/error.h"

namespace ctask::docker {

// Which of the container's streams a piece of log came from.
enum class LogStream { kStdout, kStderr };
// Receives each piece of log as it arrives; returns false to stop reading.
using LogCallback = std::function<bool(LogStream stream, std::string_view data)>;

class LogDemuxer {
 public:
  // Feeds the next bytes of the stream; calls on_data for each payload piece.
  // kInvalidArgument when a header is not a Docker frame header (e.g. the
  // container has a TTY and its stream is raw). Returns kCancelled when
  // on_data asked to stop.
  Status Feed(std::string_view bytes, const LogCallback& on_data);

  // Whether the stream ended between frames (not inside one).
  bool AtFrameBoundary() const { return header_filled_ == 0 && remaining_ == 0; }

 private:
  std::array<unsigned char, 8> header_{};
  size_t header_filled_ = 0;
  uint32_t remaining_ = 0;  // payload bytes of the current frame still to come
  LogStream stream_ = LogStream::kStdout;
};

}  // namespace ctask::docker
