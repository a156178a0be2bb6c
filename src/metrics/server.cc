#include "metrics/server.h"

#include <civetweb.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "metrics/listen_address.h"

namespace ctask::metrics {
namespace {

// mg_init_library must run once before the first mg_start and is not
// thread-safe. No feature bit: TLS is the only one it initialises, and this
// port serves plain HTTP. Its return value cannot tell success here (with no
// bits it is 0 either way); mg_start2 reports an uninitialised library.
void InitCivetwebOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

bool CivetwebHasIpv6() {
  return mg_check_feature(MG_FEATURES_IPV6) != 0;
}

ServerResponse Plain(int status, std::string body) {
  return ServerResponse{status, "text/plain; charset=utf-8", std::move(body)};
}

// Writes `response` with civetweb's response-header calls, which keep the
// status line and framing civetweb's own (and HTTP/2-ready). Returns the
// status for civetweb's access accounting (a begin_request result of 1..999
// means "answered").
int Send(mg_connection* conn, const ServerResponse& response, bool head_only, bool allow_header) {
  mg_response_header_start(conn, response.status);
  if (!response.content_type.empty()) {
    mg_response_header_add(conn, "Content-Type", response.content_type.c_str(), -1);
  }
  const std::string length = std::to_string(response.body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  if (allow_header) mg_response_header_add(conn, "Allow", "GET, HEAD", -1);
  mg_response_header_add(conn, "Connection", "close", -1);
  mg_response_header_send(conn);
  if (!head_only && !response.body.empty()) mg_write(conn, response.body.data(), response.body.size());
  return response.status;
}

// Not an address of this host (the flag is wrong, not the moment), or a port
// the process may not bind; otherwise (in use, out of descriptors) retrying
// may help. civetweb reports a bind failure only as text ("cannot bind to
// 127.0.0.1:80: 98 (Address already in use)"), so the text is what is read.
ErrorCode CodeForStartFailure(std::string_view reason) {
  if (reason.find(std::strerror(EADDRNOTAVAIL)) != std::string_view::npos) return ErrorCode::kInvalidArgument;
  if (reason.find(std::strerror(EACCES)) != std::string_view::npos) return ErrorCode::kPermissionDenied;
  return ErrorCode::kUnavailable;
}

}  // namespace

class HttpServer::Impl {
 public:
  explicit Impl(Routes routes) : routes_(std::move(routes)) {}
  ~Impl() { Stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Starts civetweb listening on `listening_ports` (CivetListeningPorts).
  Status Start(const std::string& listening_ports, const ServerOptions& options) {
    // civetweb's options, as name/value pairs.
    const std::pair<const char*, std::string> settings[] = {
        {"listening_ports", listening_ports},
        {"num_threads", std::to_string(options.max_connections)},
        {"connection_queue", std::to_string(options.max_queued)},
        {"request_timeout_ms", std::to_string(options.request_timeout.count())},
        {"max_request_size", std::to_string(options.max_header_bytes)},
        // One request per connection: a worker is never held by an idle
        // keep-alive connection, and every response says Connection: close.
        {"enable_keep_alive", "no"},
        // Routes match the path as sent; no document_root, so civetweb never
        // serves a file.
        {"decode_url", "no"},
        // A request in absolute form ("GET http://host:port/metrics"), which
        // a server must accept (RFC 9112 3.2.2), is served when its port is
        // this server's; by default civetweb also wants the host to be its
        // authentication_domain, which this server does not have.
        {"enable_auth_domain_check", "no"},
    };
    std::vector<const char*> config;
    for (const auto& [name, value] : settings) {
      config.push_back(name);
      config.push_back(value.c_str());
    }
    config.push_back(nullptr);
    mg_callbacks callbacks{};
    callbacks.begin_request = &Impl::BeginRequest;
    callbacks.log_message = &Impl::LogMessage;
    mg_init_data init{};
    init.callbacks = &callbacks;
    init.user_data = this;
    init.configuration_options = config.data();
    char error_text[256] = "";
    mg_error_data error{};
    error.text = error_text;
    error.text_buffer_size = sizeof(error_text);

    InitCivetwebOnce();
    mg_context* ctx = mg_start2(&init, &error);
    std::lock_guard lock(mu_);
    starting_ = false;
    if (ctx == nullptr) {
      // civetweb's log says why (the bind error); its error text only that
      // the ports could not be set up.
      std::string reason = start_log_.empty() ? std::string(error_text) : start_log_;
      return MakeError(CodeForStartFailure(reason), reason);
    }
    ctx_ = ctx;
    mg_server_port port{};
    if (mg_get_server_ports(ctx_, 1, &port) == 1) port_ = port.port;
    return {};
  }

  int port() const {
    std::lock_guard lock(mu_);
    return port_;
  }

  void Stop() {
    std::lock_guard stop_lock(stop_mu_);
    mg_context* ctx = nullptr;
    {
      std::lock_guard lock(mu_);
      ctx = std::exchange(ctx_, nullptr);
    }
    // Waits for civetweb's threads; not under mu_, which LogMessage takes on
    // those threads.
    if (ctx != nullptr) mg_stop(ctx);
  }

 private:
  // civetweb's "handle everything" callback, run on a worker thread for every
  // request it has parsed: the routing is ours, so that paths are exact and
  // other methods get 405 (civetweb's request handlers match prefixes).
  static int BeginRequest(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    const auto* self = static_cast<const Impl*>(info->user_data);
    // No exception may unwind into civetweb's C frames.
    try {
      return self->Serve(conn, *info);
    } catch (...) {
      // Building the request or the answer failed (out of memory): drop the
      // connection unanswered rather than let civetweb answer for a route.
      mg_disable_connection_keep_alive(conn);
      return 500;
    }
  }

  // civetweb's error log. While starting, its messages are the reason a
  // start fails (the bind error); after that the operator has no use for
  // them (a client that went away, a timeout), so they are dropped, and the
  // non-zero return keeps civetweb from writing them anywhere itself.
  static int LogMessage(const mg_connection* conn, const char* message) {
    auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
    if (self == nullptr || message == nullptr) return 1;
    std::lock_guard lock(self->mu_);
    if (self->starting_ && self->start_log_.empty()) self->start_log_ = message;
    return 1;
  }

  int Serve(mg_connection* conn, const mg_request_info& info) const {
    ServerRequest request;
    request.method = info.request_method != nullptr ? info.request_method : "";
    request.path = info.local_uri_raw != nullptr ? info.local_uri_raw : "";
    request.query = info.query_string != nullptr ? info.query_string : "";

    const bool head_only = request.method == "HEAD";
    auto route = routes_.find(request.path);
    if (route == routes_.end()) return Send(conn, Plain(404, "404 page not found\n"), head_only, false);
    if (request.method != "GET" && !head_only) return Send(conn, Plain(405, "method not allowed\n"), false, true);

    ServerResponse response;
    try {
      response = route->second(request);
    } catch (const std::exception& e) {
      response = Plain(500, std::string("internal error: ") + e.what() + "\n");
    } catch (...) {
      response = Plain(500, "internal error\n");
    }
    if (response.status < 100 || response.status > 599) {
      response = Plain(500, "internal error: the handler answered status " + std::to_string(response.status) + "\n");
    }
    return Send(conn, response, head_only, false);
  }

  const Routes routes_;

  std::mutex stop_mu_;  // serializes Stop

  mutable std::mutex mu_;
  mg_context* ctx_ = nullptr;  // guarded by mu_; null before Start succeeds and after Stop
  int port_ = 0;               // guarded by mu_
  bool starting_ = true;       // guarded by mu_; true until mg_start2 returns
  std::string start_log_;      // guarded by mu_; civetweb's first message while starting
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(std::string_view address, Routes routes, ServerOptions options) {
  const std::string quoted = "listen address \"" + std::string(address) + "\"";
  if (options.max_connections < 1 || options.max_queued < 1 || options.max_header_bytes < 1024 ||
      options.max_header_bytes > INT_MAX || options.request_timeout.count() <= 0 ||
      options.request_timeout.count() > INT_MAX) {
    return InvalidArgument(quoted +
                           ": server options out of range (need max_connections >= 1, max_queued >= 1, "
                           "max_header_bytes >= 1024, a positive request_timeout)");
  }
  Result<std::string> ports = CivetListeningPorts(address, CivetwebHasIpv6());
  if (!ports) return std::unexpected(ports.error().WithContext(quoted));
  auto impl = std::make_unique<Impl>(std::move(routes));
  Status started = impl->Start(*ports, options);
  if (!started) return std::unexpected(started.error().WithContext("listen on \"" + std::string(address) + "\""));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Stop();
}

int HttpServer::Port() const {
  return impl_->port();
}

void HttpServer::Stop() {
  impl_->Stop();
}

}  // namespace ctask::metrics
