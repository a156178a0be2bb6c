// DescribeFailure: the error kind and wording of a failed transfer, for the
// cases a real socket cannot easily produce (a connect that times out).
#include "http/curl_failure.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

namespace ctask::http {
namespace {

using std::chrono::milliseconds;

struct Case {
  std::string name;
  CurlFailure failure;
  std::string socket;            // CurlOptions::unix_socket_path
  milliseconds connect{10'000};  // CurlOptions::connect_timeout
  milliseconds timeout{0};       // Request::timeout
  ErrorCode want_code;
  std::string want_message;
};

TEST(DescribeFailureTest, Table) {
  const std::vector<Case> cases = {
      {.name = "missing socket",
       .failure = {.code = CURLE_COULDNT_CONNECT, .detail = "Could not connect", .os_errno = ENOENT},
       .socket = "/run/d.sock",
       .want_code = ErrorCode::kUnavailable,
       .want_message = "GET u: the socket /run/d.sock does not exist (is the daemon running?)"},
      {.name = "refused socket",
       .failure = {.code = CURLE_COULDNT_CONNECT, .detail = "Could not connect", .os_errno = ECONNREFUSED},
       .socket = "/run/d.sock",
       .want_code = ErrorCode::kUnavailable,
       .want_message = "GET u: connection refused on /run/d.sock (is the daemon running?)"},
      {.name = "refused over tcp names errno",
       .failure = {.code = CURLE_COULDNT_CONNECT, .detail = "Could not connect", .os_errno = ECONNREFUSED},
       .want_code = ErrorCode::kUnavailable,
       .want_message = "GET u: Could not connect (Connection refused)"},
      {.name = "no errno, detail only",
       .failure = {.code = CURLE_RECV_ERROR, .detail = "recv failure"},
       .want_code = ErrorCode::kUnavailable,
       .want_message = "GET u: recv failure"},
      {.name = "never connected, no request timeout",
       .failure = {.code = CURLE_OPERATION_TIMEDOUT, .detail = "timed out"},
       .connect = milliseconds(500),
       .want_code = ErrorCode::kUnavailable,
       .want_message = "GET u: could not connect within 500 ms: timed out"},
      {.name = "never connected, connect bound shorter",
       .failure = {.code = CURLE_OPERATION_TIMEDOUT, .detail = "timed out"},
       .connect = milliseconds(500),
       .timeout = milliseconds(2000),
       .want_code = ErrorCode::kUnavailable,
       .want_message = "GET u: could not connect within 500 ms: timed out"},
      {.name = "never connected, request bound shorter",
       .failure = {.code = CURLE_OPERATION_TIMEDOUT, .detail = "timed out"},
       .connect = milliseconds(5000),
       .timeout = milliseconds(200),
       .want_code = ErrorCode::kDeadlineExceeded,
       .want_message = "GET u: no complete response within 200 ms: timed out"},
      {.name = "connected, then slow",
       .failure = {.code = CURLE_OPERATION_TIMEDOUT, .detail = "timed out", .connect_us = 1200},
       .connect = milliseconds(500),
       .timeout = milliseconds(2000),
       .want_code = ErrorCode::kDeadlineExceeded,
       .want_message = "GET u: no complete response within 2000 ms: timed out"},
      {.name = "bad certificate",
       .failure = {.code = CURLE_PEER_FAILED_VERIFICATION, .detail = "SSL peer certificate"},
       .want_code = ErrorCode::kFailedPrecondition,
       .want_message = "GET u: SSL peer certificate"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    CurlOptions options;
    options.unix_socket_path = c.socket;
    options.connect_timeout = c.connect;
    Request request;
    request.timeout = c.timeout;
    Error error = DescribeFailure(c.failure, request, options, "GET u");
    EXPECT_EQ(error.code(), c.want_code);
    EXPECT_EQ(error.message(), c.want_message);
  }
}

TEST(CodeForTest, MapsByWhatTheCallerShouldDo) {
  EXPECT_EQ(CodeFor(CURLE_OPERATION_TIMEDOUT), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(CodeFor(CURLE_URL_MALFORMAT), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeFor(CURLE_SSL_CACERT_BADFILE), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(CodeFor(CURLE_OUT_OF_MEMORY), ErrorCode::kInternal);
  EXPECT_EQ(CodeFor(CURLE_COULDNT_RESOLVE_HOST), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace ctask::http
