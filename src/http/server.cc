#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace ctask::http {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// Listen backlog: connections the kernel holds before accept; the acceptor
// drains it at once, so this only absorbs bursts.
constexpr int kListenBacklog = 64;
// After the response, what the client still sends (a body nobody reads) is
// read and dropped before closing, for at most this long and this much, so the
// close does not reset the connection before the client has read the answer.
constexpr std::chrono::milliseconds kLingerTime{1'000};
constexpr size_t kLingerBytes = size_t{64} * 1024;
// accept fails for lack of descriptors: the listening socket stays readable,
// so the acceptor pauses instead of spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{100};
// Connections answered 503 that may be closing gracefully at once (see
// AcceptLoop); beyond that they are closed at once.
constexpr size_t kMaxClosing = 64;

std::string ErrnoText(int error_number) {
  return std::strerror(error_number);
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "";  // the reason phrase may be empty (RFC 9112 4)
  }
}

// A listening address, resolved.
struct ListenAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  bool wildcard = false;  // ":port": every interface
};

Result<int> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("port must be a number from 0 to 65535");
  }
  int port = 0;
  for (char c : text) port = port * 10 + (c - '0');
  if (port > 65535) return InvalidArgument("port must be a number from 0 to 65535");
  return port;
}

ListenAddress Ipv4(in_addr addr, int port) {
  ListenAddress out;
  auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(static_cast<uint16_t>(port));
  sin->sin_addr = addr;
  out.length = sizeof(sockaddr_in);
  return out;
}

ListenAddress Ipv6(in6_addr addr, int port) {
  ListenAddress out;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(static_cast<uint16_t>(port));
  sin6->sin6_addr = addr;
  out.length = sizeof(sockaddr_in6);
  return out;
}

// "127.0.0.1:8080", "[::1]:9000", "localhost:80", ":8080". Numeric hosts only
// (and localhost): a listen address never waits on a name lookup.
Result<ListenAddress> ParseListenAddress(std::string_view address) {
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (address.starts_with('[')) {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return InvalidArgument("want [ipv6]:port");
    }
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
    bracketed = true;
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return InvalidArgument("want host:port or :port");
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return InvalidArgument("an IPv6 host goes in brackets: [::1]:9000");
  }
  Result<int> port = ParsePort(port_text);
  if (!port) return std::unexpected(port.error());

  const std::string host_text(host);
  if (bracketed) {
    in6_addr addr6{};
    if (inet_pton(AF_INET6, host_text.c_str(), &addr6) != 1) return InvalidArgument("not an IPv6 address in brackets");
    return Ipv6(addr6, *port);
  }
  if (host.empty()) {
    ListenAddress any = Ipv6(in6addr_any, *port);
    any.wildcard = true;
    return any;
  }
  in_addr addr4{};
  if (host == "localhost") {
    addr4.s_addr = htonl(INADDR_LOOPBACK);
    return Ipv4(addr4, *port);
  }
  if (inet_pton(AF_INET, host_text.c_str(), &addr4) != 1) {
    return InvalidArgument("host must be an IP address or localhost");
  }
  return Ipv4(addr4, *port);
}

// A socket listening on `addr`. A wildcard tries IPv6 dual-stack first and
// falls back to IPv4 on a host without IPv6.
Result<int> Listen(ListenAddress addr, std::string_view address) {
  const std::string where = "listen on \"" + std::string(address) + "\"";
  int fd = socket(addr.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && addr.wildcard && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
    in_addr any4{};
    any4.s_addr = htonl(INADDR_ANY);
    const int port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr.storage)->sin6_port);
    addr = Ipv4(any4, port);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) return MakeError(ErrorCodeForErrno(errno, ErrorCode::kUnavailable), where + ": " + ErrnoText(errno));
  // A restarted operator rebinds its port while the old connections sit in
  // TIME_WAIT. (On Linux this does not let two listeners share a port.)
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (addr.wildcard && addr.storage.ss_family == AF_INET6) {
    int zero = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.length) != 0 || listen(fd, kListenBacklog) != 0) {
    const int error_number = errno;
    close(fd);
    // Not an address of this host: the flag is wrong, not the moment.
    ErrorCode code = error_number == EADDRNOTAVAIL ? ErrorCode::kInvalidArgument
                                                   : ErrorCodeForErrno(error_number, ErrorCode::kUnavailable);
    return MakeError(code, where + ": " + ErrnoText(error_number));
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return 0;
  if (storage.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string RenderResponse(const ServerResponse& response, bool head_only, bool allow_header) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += ReasonPhrase(response.status);
  out += "\r\n";
  if (!response.content_type.empty()) out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  if (allow_header) out += "Allow: GET, HEAD\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += response.body;
  return out;
}

ServerResponse Plain(int status, std::string body) {
  return ServerResponse{status, "text/plain; charset=utf-8", std::move(body)};
}

// The end of the request head (just past the blank line), or npos. Bare LF
// line ends are accepted as well (RFC 9112 2.2 allows it).
size_t HeadEnd(std::string_view data) {
  size_t crlf = data.find("\r\n\r\n");
  size_t lf = data.find("\n\n");
  size_t end = std::string_view::npos;
  if (crlf != std::string_view::npos) end = crlf + 4;
  if (lf != std::string_view::npos) end = std::min(end, lf + 2);
  return end;
}

struct RequestLine {
  std::string method;
  std::string target;
};

std::optional<RequestLine> ParseRequestLine(std::string_view head) {
  std::string_view line = head.substr(0, head.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) return std::nullopt;
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, last - first - 1);
  std::string_view version = line.substr(last + 1);
  if (method.empty() || target.empty() || target.find(' ') != std::string_view::npos ||
      !version.starts_with("HTTP/1.")) {
    return std::nullopt;
  }
  if (!std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) return std::nullopt;
  // Absolute form ("http://host/path"), which a server must accept: keep the
  // path.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.starts_with(scheme)) {
      size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  if (!target.starts_with('/')) return std::nullopt;
  return RequestLine{std::string(method), std::string(target)};
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(int listen_fd, int wake_fd, Routes routes, ServerOptions options)
      : listen_fd_(listen_fd), wake_fd_(wake_fd), routes_(std::move(routes)), options_(options) {
    port_ = BoundPort(listen_fd_);
  }

  // Starts the threads. On failure (the system refuses a thread) the ones
  // started are stopped again.
  Status Launch() {
    try {
      for (int i = 0; i < options_.max_connections; ++i) workers_.emplace_back([this] { WorkerLoop(); });
      acceptor_ = std::thread([this] { AcceptLoop(); });
    } catch (const std::system_error& e) {
      Stop();
      return MakeError(ErrorCode::kUnavailable, std::string("cannot start the server's threads: ") + e.what());
    }
    return {};
  }

  ~Impl() { Stop(); }

  int port() const { return port_; }

  void Stop() {
    std::lock_guard stop_lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    // The eventfd is never read, so it stays readable: every poll that
    // includes it returns from now on.
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof(one));
    cv_.notify_all();
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& worker : workers_) worker.join();
    for (int fd : pending_) close(fd);
    pending_.clear();
    close(listen_fd_);
    close(wake_fd_);
  }

 private:
  enum class Wait { kReady, kTimedOut, kStopped };

  // Waits until `fd` has `events`, the deadline passes, or Stop.
  Wait WaitFor(int fd, short events, SteadyTime deadline) const {
    while (true) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Wait::kTimedOut;
      pollfd fds[2] = {{fd, events, 0}, {wake_fd_, POLLIN, 0}};
      int n = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
      if (n < 0 && errno != EINTR) return Wait::kStopped;  // cannot happen with valid fds; end the connection
      if (n <= 0) continue;
      if (fds[1].revents != 0) return Wait::kStopped;
      // POLLERR/POLLHUP count as ready: the next recv/send reports them.
      if (fds[0].revents != 0) return Wait::kReady;
    }
  }

  // A rejected connection being closed gracefully: answered 503 and
  // half-closed, its request read and dropped until the client hangs up or
  // the deadline, so that the close does not reset the connection under the
  // answer. The acceptor does this alongside accepting, never blocking on one.
  struct Closing {
    int fd;
    SteadyTime deadline;
  };

  void AcceptLoop() {
    std::vector<Closing> closing;
    std::vector<pollfd> fds;
    while (true) {
      fds.assign({{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}});
      SteadyTime next_deadline = SteadyTime::max();
      for (const Closing& c : closing) {
        fds.push_back({c.fd, POLLIN, 0});
        next_deadline = std::min(next_deadline, c.deadline);
      }
      int timeout = -1;
      if (!closing.empty()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(next_deadline - std::chrono::steady_clock::now());
        timeout = static_cast<int>(std::max<int64_t>(left.count(), 0));
      }
      int n = poll(fds.data(), fds.size(), timeout);
      if (n < 0 && errno != EINTR) break;
      if (fds[1].revents != 0) break;
      ReapClosing(closing, fds);
      if (n <= 0 || fds[0].revents == 0) continue;

      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          pollfd wake = {wake_fd_, POLLIN, 0};
          if (poll(&wake, 1, static_cast<int>(kAcceptBackoff.count())) > 0) break;
        }
        continue;  // EAGAIN, ECONNABORTED, EINTR: nothing to serve
      }
      std::unique_lock lock(mu_);
      if (stopping_) {
        close(fd);
        break;
      }
      // Busy means every worker serving and max_queued waiting already.
      if (static_cast<int>(pending_.size()) + serving_ >= options_.max_connections + options_.max_queued) {
        lock.unlock();
        RejectBusy(fd, closing);
        continue;
      }
      pending_.push_back(fd);
      lock.unlock();
      cv_.notify_one();
    }
    for (const Closing& c : closing) close(c.fd);
  }

  // Every worker busy and the queue full: say so now rather than leave the
  // client waiting. The socket buffer takes a response this small without
  // blocking. Past kMaxClosing graceful closes at once, the close is abrupt.
  static void RejectBusy(int fd, std::vector<Closing>& closing) {
    std::string response = RenderResponse(Plain(503, "server busy\n"), false, false);
    [[maybe_unused]] ssize_t sent = send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    if (closing.size() >= kMaxClosing) {
      close(fd);
      return;
    }
    closing.push_back(Closing{fd, std::chrono::steady_clock::now() + kLingerTime});
  }

  // Drains the closing connections poll found readable; closes those that
  // hung up, failed or ran out of time. fds[2 + i] is closing[i]'s.
  static void ReapClosing(std::vector<Closing>& closing, const std::vector<pollfd>& fds) {
    const SteadyTime now = std::chrono::steady_clock::now();
    std::vector<Closing> open;
    char buffer[4096];
    for (size_t i = 0; i < closing.size(); ++i) {
      bool done = now >= closing[i].deadline;
      if (!done && fds[2 + i].revents != 0) {
        ssize_t n = recv(closing[i].fd, buffer, sizeof(buffer), 0);
        done = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
      }
      if (done) {
        close(closing[i].fd);
      } else {
        open.push_back(closing[i]);
      }
    }
    closing = std::move(open);
  }

  void WorkerLoop() {
    while (true) {
      int fd = -1;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        if (stopping_) return;
        fd = pending_.front();
        pending_.pop_front();
        ++serving_;
      }
      Serve(fd);
      close(fd);
      std::lock_guard lock(mu_);
      --serving_;
    }
  }

  void Serve(int fd) const {
    const SteadyTime read_deadline = std::chrono::steady_clock::now() + options_.read_timeout;
    std::string data;
    size_t head_end = std::string::npos;
    char buffer[4096];
    while (true) {
      head_end = HeadEnd(data);
      if (head_end != std::string::npos) break;
      if (data.size() > options_.max_header_bytes) break;
      Wait waited = WaitFor(fd, POLLIN, read_deadline);
      if (waited != Wait::kReady) return;  // silent client, or Stop: drop it
      ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n == 0) return;  // the client gave up
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return;
      }
      data.append(buffer, static_cast<size_t>(n));
    }
    if (head_end == std::string::npos || head_end > options_.max_header_bytes) {
      Respond(fd, Plain(431, "request header fields too large\n"), false, false);
      return;
    }

    std::optional<RequestLine> line = ParseRequestLine(std::string_view(data).substr(0, head_end));
    if (!line) {
      Respond(fd, Plain(400, "bad request\n"), false, false);
      return;
    }
    ServerRequest request;
    request.method = line->method;
    size_t question = line->target.find('?');
    request.path = line->target.substr(0, question);
    if (question != std::string::npos) request.query = line->target.substr(question + 1);

    const bool head_only = request.method == "HEAD";
    auto route = routes_.find(request.path);
    if (route == routes_.end()) {
      Respond(fd, Plain(404, "404 page not found\n"), head_only, false);
      return;
    }
    if (request.method != "GET" && !head_only) {
      Respond(fd, Plain(405, "method not allowed\n"), false, true);
      return;
    }
    ServerResponse response;
    try {
      response = route->second(request);
    } catch (const std::exception& e) {
      response = Plain(500, std::string("internal error: ") + e.what() + "\n");
    } catch (...) {
      response = Plain(500, "internal error\n");
    }
    Respond(fd, response, head_only, false);
  }

  // Sends the response, then closes gracefully: half-close, and read what the
  // client still sends until it closes too (bounded), so that unread request
  // bytes do not turn the close into a reset that destroys the response.
  void Respond(int fd, const ServerResponse& response, bool head_only, bool allow_header) const {
    const std::string out = RenderResponse(response, head_only, allow_header);
    const SteadyTime write_deadline = std::chrono::steady_clock::now() + options_.write_timeout;
    size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;
      if (WaitFor(fd, POLLOUT, write_deadline) != Wait::kReady) return;
    }
    shutdown(fd, SHUT_WR);
    const SteadyTime linger_deadline = std::chrono::steady_clock::now() + kLingerTime;
    size_t drained = 0;
    char buffer[4096];
    while (drained < kLingerBytes) {
      if (WaitFor(fd, POLLIN, linger_deadline) != Wait::kReady) return;
      ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n == 0) return;
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return;
      }
      drained += static_cast<size_t>(n);
    }
  }

  const int listen_fd_;
  const int wake_fd_;  // eventfd, written once by Stop
  const Routes routes_;
  const ServerOptions options_;
  int port_ = 0;

  std::mutex stop_mu_;    // serializes Stop
  bool stopped_ = false;  // guarded by stop_mu_

  std::mutex mu_;
  std::condition_variable cv_;  // signalled on a new pending connection and on Stop
  bool stopping_ = false;       // guarded by mu_
  std::deque<int> pending_;     // accepted, waiting for a worker; guarded by mu_
  int serving_ = 0;             // workers inside Serve; guarded by mu_

  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(std::string_view address, Routes routes, ServerOptions options) {
  const std::string quoted = "listen address \"" + std::string(address) + "\"";
  if (options.max_connections < 1 || options.max_queued < 0 || options.max_header_bytes == 0 ||
      options.read_timeout.count() <= 0 || options.write_timeout.count() <= 0) {
    return InvalidArgument(quoted +
                           ": server options out of range (need max_connections >= 1, max_queued >= 0, "
                           "positive header limit and timeouts)");
  }
  Result<ListenAddress> parsed = ParseListenAddress(address);
  if (!parsed) return std::unexpected(parsed.error().WithContext(quoted));
  Result<int> listen_fd = Listen(*parsed, address);
  if (!listen_fd) return std::unexpected(listen_fd.error());
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int error_number = errno;
    close(*listen_fd);
    return MakeError(ErrorCode::kUnavailable, quoted + ": eventfd: " + ErrnoText(error_number));
  }
  auto impl = std::make_unique<Impl>(*listen_fd, wake_fd, std::move(routes), options);
  Status launched = impl->Launch();
  if (!launched) return std::unexpected(launched.error().WithContext(quoted));
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

}  // namespace ctask::http
