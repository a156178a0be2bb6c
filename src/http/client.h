// Client: the outbound HTTP transport both API clients stand on — the
// Kubernetes API (TLS, bearer tokens, watch streams) and the Docker Engine API
// (a Unix socket, log streams). The API clients speak in Requests and
// Responses; how bytes reach the server is the implementation's business
// (CurlClient, curl_client.h), and tests of the API clients put a fake here.
//
// Contract:
//  - An HTTP status, any status, is a successful call: mapping 404 or 409 to an
//    outcome is the API client's job. An Error means no complete response
//    arrived: kUnavailable (cannot connect, connection lost: retry with
//    backoff), kDeadlineExceeded (Request::timeout passed), kCancelled (the
//    caller stopped it), kInvalidArgument (a malformed URL or method),
//    kFailedPrecondition (TLS set-up refused: fix the certificates first).
//  - Nothing is retried and no redirect is followed here.
//
// Thread-safety: implementations are safe to call from many threads at once;
// each call is independent.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace ctask::http {

class StreamLoop;

struct Request {
  std::string method = "GET";
  // "http://docker/v1.41/containers/json". Over a Unix socket the host part
  // only fills the Host header; the path and query are what matter.
  std::string url;
  // Sent as given, in order. A body needs its Content-Type stated here; none is
  // invented.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The whole exchange, body included; zero means no limit (a watch or a
  // followed log is bounded by `stop` or by the server instead).
  std::chrono::milliseconds timeout{0};
  // Cancels the call from another thread, even while no data flows (seen
  // within about a second: libcurl's idle progress interval).
  std::stop_token stop;
};

struct Response {
  int status = 0;
  // Names lower-cased; a repeated header's values joined with ", ".
  std::map<std::string, std::string> headers;
  // Do: the whole body. Stream: only a non-2xx response's body (bounded by
  // kMaxErrorBodyBytes), which is not handed to on_data.
  std::string body;
};

// How much of an error body Stream keeps: enough for a Kubernetes Status or a
// Docker {"message": ...}, and a bound against a server that streams garbage.
inline constexpr size_t kMaxErrorBodyBytes = size_t{64} * 1024;

// Receives a streamed body piece by piece as it arrives (chunk boundaries are
// the network's, not the server's). Returning false cancels the call.
using DataCallback = std::function<bool(std::string_view chunk)>;

class Client {
 public:
  virtual ~Client() = default;

  // One request, the whole response in memory. For bounded bodies.
  virtual Result<Response> Do(const Request& request) = 0;

  // One request whose 2xx body goes to on_data as it arrives: watches, log
  // follows. Returns the status and headers once the body ends; kCancelled if
  // on_data returned false or `stop` was requested. A non-2xx body is not
  // streamed but returned in Response::body, so errors keep their message.
  virtual Result<Response> Stream(const Request& request, const DataCallback& on_data) = 0;

  // A loop that runs many streams on one thread (stream_loop.h), set up as
  // this client's requests are; null when this transport has none.
  virtual std::unique_ptr<StreamLoop> NewStreamLoop();
};

using ClientPtr = std::unique_ptr<Client>;

}  // namespace ctask::http
