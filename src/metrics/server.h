// HttpServer: the operator's one inbound port (/metrics, /healthz, /readyz)
// on civetweb, the embedded server Debian ships and prometheus-cpp's pull
// exposer runs on (DESIGN.md section 2: what a Debian package does well is
// used, not rewritten). This file is only the small interface the operator
// needs in front of it: GET and HEAD on exact paths, nothing else.
//
// Contract:
//  - A route maps an exact path ("/metrics") to a Handler; the query string
//    ("verbose" of "/readyz?verbose") is passed to it undecoded. The path is
//    matched as sent, without percent-decoding or dot-segment removal, so
//    "/metrics/" and "/metrics/x" are not "/metrics".
//  - Unknown path: 404. A known path with a method other than GET or HEAD: 405
//    with "Allow: GET, HEAD". HEAD gets GET's status and headers, no body. A
//    handler that throws: 500. A request civetweb cannot parse: its 4xx.
//  - Every response carries Content-Length and "Connection: close": one
//    request per connection (civetweb's keep-alive stays off).
//  - Bounded: ServerOptions::max_connections worker threads serve requests;
//    up to max_queued accepted connections wait for one, further ones wait in
//    the kernel's listen backlog. A client that has not sent its request head
//    within request_timeout is dropped, so silent clients hold a worker for
//    at most that long; a head larger than max_header_bytes is refused
//    (civetweb answers 400).
//  - Stop (and the destructor) stops accepting, drops open connections and
//    waits for the threads: civetweb's threads look at its stop flag at least
//    every 2 s (SOCKET_TIMEOUT_QUANTUM, fixed when the library is built), so
//    Stop takes up to about 2 s, plus the time of handlers already running,
//    which must be quick.
//  - Side effect: civetweb's threads set SIGPIPE to ignored, process-wide, as
//    a server must so that a client hanging up cannot kill the process.
//
// Timeouts here are real time (civetweb's socket polls): this is the I/O edge,
// and tests shorten them through ServerOptions rather than fake a clock.
//
// Thread-safety: handlers run on civetweb's worker threads, several at once,
// and must be safe to call concurrently. Port and Stop may be called from any
// thread; Stop must not be called from a handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ctask::metrics {

// What a handler sees of a request.
struct ServerRequest {
  std::string method;  // "GET" or "HEAD"
  std::string path;    // "/readyz"
  std::string query;   // "verbose" for "/readyz?verbose"; "" when none
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;
// Exact path -> handler.
using Routes = std::map<std::string, Handler, std::less<>>;

struct ServerOptions {
  // 8 KiB, as for the request head of most servers (nginx's 8 KiB; civetweb's
  // own default is 16 KiB): probes and scrapes send a few hundred bytes.
  // civetweb needs at least 1 KiB.
  size_t max_header_bytes = size_t{8} * 1024;
  // civetweb's request_timeout_ms: how long a client may take to send its
  // request head, and to take each part of the response. A probe or scrape
  // sends its request at once; a client silent this long is broken or
  // hostile and only holds a worker.
  std::chrono::milliseconds request_timeout{5'000};
  // Requests served at once (civetweb's num_threads). A scraper or two and
  // the kubelet's probes need few; a silent client holds one for
  // request_timeout.
  int max_connections = 4;
  // Accepted connections waiting for a worker (civetweb's connection_queue,
  // at least 1); beyond that they wait in the listen backlog.
  int max_queued = 16;
};

class HttpServer {
 public:
  // Listens on `address` and serves `routes` until Stop. The address is
  // "host:port" with a numeric IPv4 host ("127.0.0.1:8080") or "localhost",
  // or ":port" for every interface. "[ipv6]:port" only where the civetweb
  // library was built with IPv6 (Debian 12's was not: there ":port" is every
  // IPv4 interface). Port 0 picks a free port (see Port()).
  // Errors: kInvalidArgument for a malformed address or options, otherwise
  // the bind/listen failure (kUnavailable for an address in use); the
  // message names the address.
  static Result<std::unique_ptr<HttpServer>> Start(std::string_view address, Routes routes, ServerOptions options = {});

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port: the chosen one when the address asked for port 0.
  int Port() const;

  // Stops accepting, drops open connections, waits for running handlers.
  // Idempotent.
  void Stop();

 private:
  class Impl;  // server.cc
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

using HttpServerPtr = std::unique_ptr<HttpServer>;

}  // namespace ctask::metrics
