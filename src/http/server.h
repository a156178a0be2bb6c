// HttpServer: the operator's one inbound port — a minimal HTTP/1.1 server for
// GET and HEAD on exact paths, enough for /metrics, /healthz and /readyz
// (Prometheus scrapes, kubelet probes). Not a general web server: no request
// bodies, no keep-alive, no TLS, no percent-decoding.
//
// Contract:
//  - A route maps an exact path ("/metrics") to a Handler; the query string
//    ("verbose" of "/readyz?verbose") is passed to it undecoded. The handler's
//    ServerResponse is sent with Content-Length and "Connection: close", and
//    the connection is closed after it: one request per connection.
//  - Unknown path: 404. A known path with a method other than GET or HEAD: 405
//    with "Allow: GET, HEAD". HEAD gets GET's status and headers, no body. A
//    request line that is not HTTP: 400. A handler that throws: 500.
//  - It never wedges: a request's head (request line and headers) larger than
//    ServerOptions::max_header_bytes is answered 431; a client that has not
//    sent a complete head within read_timeout is dropped, and one that does
//    not take its response within write_timeout too. At most max_connections
//    requests are served at once; up to max_queued accepted connections wait
//    for a free worker, and beyond that a connection is answered 503 and
//    closed, so a flood costs bounded threads and memory.
//  - Stop (and the destructor) returns promptly: it wakes every blocked read,
//    write and accept, and waits only for handlers already running, which
//    should themselves be quick.
//
// Timeouts here are real time (socket polls): this is the I/O edge, and tests
// shorten them through ServerOptions rather than fake a clock.
//
// Thread-safety: handlers run on the server's worker threads, several at
// once, and must be safe to call concurrently. Port and Stop may be called
// from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ctask::http {

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
  // 8 KiB, as for the request head of most servers (Go's default is 1 MiB,
  // nginx's 8 KiB): probes and scrapes send a few hundred bytes.
  size_t max_header_bytes = size_t{8} * 1024;
  // A probe or scrape sends its request at once; a client silent this long
  // is broken or hostile and only holds a worker.
  std::chrono::milliseconds read_timeout{5'000};
  // Bounds sending the response (a /metrics body to a client that stops
  // reading).
  std::chrono::milliseconds write_timeout{10'000};
  // Requests served at once (worker threads). A scraper or two and the
  // kubelet's probes need few; a silent client holds one for read_timeout.
  int max_connections = 4;
  // Accepted connections waiting for a worker before new ones get 503.
  int max_queued = 16;
};

class HttpServer {
 public:
  // Listens on `address` and serves `routes` until Stop. The address is
  // "host:port" with a numeric host ("127.0.0.1:8080", "[::1]:9000") or
  // "localhost", or ":port" for every interface (IPv6 and IPv4 where the
  // host has IPv6). Port 0 picks a free port (see Port()).
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

}  // namespace ctask::http
