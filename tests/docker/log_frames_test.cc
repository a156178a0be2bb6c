// The Docker log stream framing, cut at every possible byte.
#include "docker/log_frames.h"

#include <gtest/gtest.h>

#include <string>

namespace ctask::docker {
namespace {

using docker::LogStream;

std::string Frame(int stream, std::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  return out + std::string(payload);
}

struct Collected {
  std::string out;
  std::string err;
};

TEST(LogDemuxerTest, SplitsStreamsWhereverTheNetworkCutsThem) {
  const std::string stream = Frame(1, "hello\n") + Frame(2, "oops\n") + Frame(1, "") +
                             Frame(1, std::string(70000, 'x')) + Frame(2, std::string_view("\0binary\xff", 8)) +
                             Frame(1, "end\n");
  const std::string want_out = "hello\n" + std::string(70000, 'x') + "end\n";
  const std::string want_err = std::string("oops\n") + std::string("\0binary\xff", 8);
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, size_t{8}, size_t{9}, size_t{4096}, stream.size()}) {
    LogDemuxer demuxer;
    Collected got;
    auto sink = [&got](LogStream s, std::string_view data) {
      (s == LogStream::kStdout ? got.out : got.err).append(data);
      return true;
    };
    for (size_t at = 0; at < stream.size(); at += piece) {
      ASSERT_TRUE(demuxer.Feed(std::string_view(stream).substr(at, piece), sink).has_value()) << piece;
    }
    EXPECT_EQ(got.out, want_out) << "piece " << piece;
    EXPECT_EQ(got.err, want_err) << "piece " << piece;
    EXPECT_TRUE(demuxer.AtFrameBoundary());
  }
}

TEST(LogDemuxerTest, KnowsWhenAStreamEndsInsideAFrame) {
  LogDemuxer demuxer;
  const std::string frame = Frame(1, "abcdef");
  auto sink = [](LogStream, std::string_view) { return true; };
  ASSERT_TRUE(demuxer.Feed(frame.substr(0, 10), sink).has_value());
  EXPECT_FALSE(demuxer.AtFrameBoundary());
  ASSERT_TRUE(demuxer.Feed(frame.substr(10), sink).has_value());
  EXPECT_TRUE(demuxer.AtFrameBoundary());
}

TEST(LogDemuxerTest, RefusesARawStream) {
  LogDemuxer demuxer;
  Status s = demuxer.Feed("hello from a tty\n", [](LogStream, std::string_view) { return true; });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message().find("TTY"), std::string::npos);
}

TEST(LogDemuxerTest, StopsWhenTheCallbackSaysSo) {
  LogDemuxer demuxer;
  int calls = 0;
  Status s = demuxer.Feed(Frame(1, "a") + Frame(1, "b"), [&calls](LogStream, std::string_view) {
    ++calls;
    return false;
  });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ctask::docker
