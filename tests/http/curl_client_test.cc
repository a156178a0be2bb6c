// CurlClient against real sockets: a small HTTP/1.1 server on a Unix socket,
// run by the test, that writes canned responses (whole, chunked in pieces,
// never, cut off), and the real Docker daemon's /_ping. No fake transport: the
// point is what libcurl does with bytes on a socket.
#include "http/curl_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace ctask::http {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// What the server read: the request line's parts, the raw header block, the body.
struct ReceivedRequest {
  std::string method;
  std::string target;
  std::string head;
  std::string body;
};

// Reads one request: the head, then as much body as Content-Length says.
bool ReadRequest(int fd, ReceivedRequest* request) {
  std::string data;
  char buffer[4096];
  size_t end;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    data.append(buffer, static_cast<size_t>(n));
  }
  request->head = data.substr(0, end);
  request->body = data.substr(end + 4);
  size_t space = request->head.find(' ');
  request->method = request->head.substr(0, space);
  request->target = request->head.substr(space + 1, request->head.find(' ', space + 1) - space - 1);
  size_t length = 0;
  std::string lower;
  for (char c : request->head) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (size_t at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
    length = std::stoul(lower.substr(at + 17));
  }
  while (request->body.size() < length) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    request->body.append(buffer, static_cast<size_t>(n));
  }
  return true;
}

// Accepts one connection at a time on a Unix socket in a fresh temporary
// directory and hands each request to the handler, which writes the response
// itself (so it can pause, stream or hang up). The destructor stops the server
// even while a handler waits: handlers wait through WaitForClose.
class UnixHttpServer {
 public:
  using Handler = std::function<void(UnixHttpServer& server, int fd, const ReceivedRequest& request)>;

  explicit UnixHttpServer(Handler handler) : handler_(std::move(handler)) {
    char dir[] = "/tmp/ctask-http-test-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
    path_ = dir_ + "/server.sock";
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof(address.sun_path) - 1);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(listen_fd_, 8) != 0 || pipe(wake_) != 0) {
      std::abort();
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~UnixHttpServer() {
    stopping_ = true;
    char byte = 0;
    (void)!write(wake_[1], &byte, 1);
    thread_.join();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  const std::string& path() const { return path_; }

  ReceivedRequest last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

  // Writes all of `data`; false once the peer is gone (no SIGPIPE).
  static bool Send(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  static bool SendChunk(int fd, std::string_view data) {
    char size[32];
    snprintf(size, sizeof(size), "%zx\r\n", data.size());
    return Send(fd, size) && Send(fd, data) && Send(fd, "\r\n");
  }

  // Blocks until the client hangs up, the server stops, or `limit` passes;
  // true if the client hung up.
  bool WaitForClose(int fd, milliseconds limit) {
    Clock::time_point deadline = Clock::now() + limit;
    while (!stopping_ && Clock::now() < deadline) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, 50) > 0 && (fds[0].revents & (POLLIN | POLLHUP)) != 0) {
        char buffer[256];
        if (recv(fd, buffer, sizeof(buffer), 0) <= 0) return true;
      }
    }
    return false;
  }

  bool stopping() const { return stopping_; }

 private:
  void Run() {
    while (!stopping_) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) <= 0 || (fds[1].revents & POLLIN) != 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ReceivedRequest request;
      if (ReadRequest(fd, &request)) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          last_ = request;
        }
        handler_(*this, fd, request);
      }
      close(fd);
    }
  }

  Handler handler_;
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stopping_ = false;
  std::mutex mu_;
  ReceivedRequest last_;  // guarded by mu_
  std::thread thread_;
};

// Serves many requests per connection (HTTP/1.1 keep-alive) and many
// connections at once, a thread each, on 127.0.0.1 or on a Unix socket. It
// counts the connections it accepted: that is how a test sees reuse. The
// destructor shuts every open connection down, so no thread waits on a client.
class KeepAliveServer {
 public:
  enum class Transport { kTcp, kUnix };
  using Handler = std::function<void(KeepAliveServer& server, int fd, const ReceivedRequest& request)>;

  KeepAliveServer(Transport transport, Handler handler) : handler_(std::move(handler)) {
    if (pipe(wake_) != 0) std::abort();
    if (transport == Transport::kTcp) {
      listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = 0;  // any free port
      socklen_t length = sizeof(address);
      if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
          getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        std::abort();
      }
      base_url_ = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
    } else {
      char dir[] = "/tmp/ctask-http-test-XXXXXX";
      if (mkdtemp(dir) == nullptr) std::abort();
      dir_ = dir;
      socket_path_ = dir_ + "/server.sock";
      listen_fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      socket_path_.copy(address.sun_path, sizeof(address.sun_path) - 1);
      if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        std::abort();
      }
      base_url_ = "http://localhost";
    }
    if (listen(listen_fd_, 64) != 0) std::abort();
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~KeepAliveServer() {
    stopping_ = true;
    char byte = 0;
    (void)!write(wake_[1], &byte, 1);
    acceptor_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (std::thread& thread : threads) thread.join();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
    if (!socket_path_.empty()) {
      unlink(socket_path_.c_str());
      rmdir(dir_.c_str());
    }
  }

  // The URL of `path` on this server.
  std::string Url(std::string_view path) const { return base_url_ + std::string(path); }
  // Empty for TCP.
  const std::string& socket_path() const { return socket_path_; }
  int connections() const { return connections_; }
  bool stopping() const { return stopping_; }

  ReceivedRequest last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

  // A 200 whose body is the request's target, so a caller can tell its
  // response from another thread's. A HEAD gets the headers only.
  static void Echo(KeepAliveServer&, int fd, const ReceivedRequest& request) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(request.target.size()) + "\r\n\r\n";
    UnixHttpServer::Send(fd, request.method == "HEAD" ? head : head + request.target);
  }

  // Blocks until the client hangs up, the server stops, or `limit` passes;
  // true if the client hung up.
  bool WaitForClose(int fd, milliseconds limit) {
    Clock::time_point deadline = Clock::now() + limit;
    while (!stopping_ && Clock::now() < deadline) {
      pollfd fds[1] = {{fd, POLLIN, 0}};
      if (poll(fds, 1, 50) > 0 && (fds[0].revents & (POLLIN | POLLHUP)) != 0) {
        char buffer[256];
        if (recv(fd, buffer, sizeof(buffer), 0) <= 0) return true;
      }
    }
    return false;
  }

 private:
  void Accept() {
    while (!stopping_) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) <= 0 || (fds[1].revents & POLLIN) != 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Answers requests on one connection until the client hangs up or the
  // destructor shuts the connection down.
  void Serve(int fd) {
    ReceivedRequest request;
    while (!stopping_ && ReadRequest(fd, &request)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_ = request;
      }
      handler_(*this, fd, request);
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::erase(open_fds_, fd);
    close(fd);
  }

  Handler handler_;
  std::string dir_;
  std::string socket_path_;
  std::string base_url_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stopping_ = false;
  std::atomic<int> connections_ = 0;
  std::mutex mu_;
  ReceivedRequest last_;              // guarded by mu_
  std::vector<int> open_fds_;         // guarded by mu_
  std::vector<std::thread> threads_;  // guarded by mu_
  std::thread acceptor_;
};

constexpr char kChunkedHead[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";

CurlClient ClientFor(const UnixHttpServer& server) {
  CurlOptions options;
  options.unix_socket_path = server.path();
  return CurlClient(options);
}

Request Get(std::string path) {
  Request request;
  request.url = "http://localhost" + path;
  return request;
}

milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

TEST(CurlClientTest, DoSendsTheRequestAndReturnsStatusHeadersAndBody) {
  UnixHttpServer server([](UnixHttpServer&, int fd, const ReceivedRequest&) {
    UnixHttpServer::Send(fd,
                         "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Multi: a\r\nx-multi: b\r\n"
                         "Content-Length: 11\r\n\r\n{\"id\":\"c1\"}");
  });
  CurlOptions options;
  options.unix_socket_path = server.path();
  options.bearer_token = "t0ken";
  CurlClient client(options);

  Request request;
  request.method = "POST";
  request.url = "http://docker/v1.41/containers/create?name=task-1";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = R"({"Image":"busybox"})";
  Result<Response> response = client.Do(request);

  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"id":"c1"})");
  EXPECT_EQ(response->headers["content-type"], "application/json");
  EXPECT_EQ(response->headers["x-multi"], "a, b");
  ReceivedRequest received = server.last_request();
  EXPECT_EQ(received.method, "POST");
  EXPECT_EQ(received.target, "/v1.41/containers/create?name=task-1");
  EXPECT_EQ(received.body, request.body);
  EXPECT_NE(received.head.find("Content-Type: application/json\r\n"), std::string::npos) << received.head;
  EXPECT_NE(received.head.find("Authorization: Bearer t0ken\r\n"), std::string::npos) << received.head;
  EXPECT_EQ(received.head.find("Expect:"), std::string::npos) << received.head;
}

TEST(CurlClientTest, EmptyPostCarriesContentLengthAndNoFormType) {
  UnixHttpServer server([](UnixHttpServer&, int fd, const ReceivedRequest&) {
    UnixHttpServer::Send(fd, "HTTP/1.1 204 No Content\r\n\r\n");
  });
  CurlClient client = ClientFor(server);
  Request request = Get("/v1.41/containers/c1/start");
  request.method = "POST";
  Result<Response> response = client.Do(request);
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 204);
  ReceivedRequest received = server.last_request();
  EXPECT_EQ(received.method, "POST");
  EXPECT_NE(received.head.find("Content-Length: 0"), std::string::npos) << received.head;
  EXPECT_EQ(received.head.find("x-www-form-urlencoded"), std::string::npos) << received.head;
}

TEST(CurlClientTest, AnErrorStatusIsAResponseNotAnError) {
  UnixHttpServer server([](UnixHttpServer&, int fd, const ReceivedRequest&) {
    UnixHttpServer::Send(fd,
                         "HTTP/1.1 404 Not Found\r\nContent-Length: 35\r\n\r\n{\"message\":\"No such container: c1\"}");
  });
  CurlClient client = ClientFor(server);
  Result<Response> response = client.Do(Get("/v1.41/containers/c1/json"));
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body, "{\"message\":\"No such container: c1\"}");
}

TEST(CurlClientTest, StreamDeliversEachPieceBeforeTheNextIsSent) {
  // The server sends the next piece only after the client has seen the one
  // before, so passing proves the body is streamed, with no timing involved.
  std::promise<void> first_seen;
  std::future<void> first_seen_future = first_seen.get_future();
  UnixHttpServer server([&](UnixHttpServer&, int fd, const ReceivedRequest&) {
    UnixHttpServer::Send(fd, kChunkedHead);
    UnixHttpServer::SendChunk(fd, "one\n");
    if (first_seen_future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return;
    UnixHttpServer::SendChunk(fd, "two\n");
    UnixHttpServer::SendChunk(fd, "three\n");
    UnixHttpServer::Send(fd, "0\r\n\r\n");
  });
  CurlClient client = ClientFor(server);
  std::string received;
  int calls = 0;
  Result<Response> response = client.Stream(Get("/logs?follow=1"), [&](std::string_view chunk) {
    if (calls++ == 0) {
      EXPECT_EQ(chunk, "one\n");
      first_seen.set_value();
    }
    received += chunk;
    return true;
  });
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "text/plain");
  EXPECT_EQ(response->body, "");
  EXPECT_EQ(received, "one\ntwo\nthree\n");
  EXPECT_GE(calls, 2);
}

TEST(CurlClientTest, StreamReturnsAnErrorBodyInsteadOfStreamingIt) {
  UnixHttpServer server([](UnixHttpServer&, int fd, const ReceivedRequest&) {
    UnixHttpServer::Send(fd, "HTTP/1.1 410 Gone\r\nTransfer-Encoding: chunked\r\n\r\n");
    UnixHttpServer::SendChunk(fd, "{\"reason\":");
    UnixHttpServer::SendChunk(fd, "\"Expired\"}");
    UnixHttpServer::Send(fd, "0\r\n\r\n");
  });
  CurlClient client = ClientFor(server);
  bool called = false;
  Result<Response> response = client.Stream(Get("/watch"), [&](std::string_view) { return called = true; });
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 410);
  EXPECT_EQ(response->body, "{\"reason\":\"Expired\"}");
  EXPECT_FALSE(called);
}

TEST(CurlClientTest, OnDataReturningFalseStopsPromptly) {
  // The server sends many pieces and keeps the response open until the
  // client hangs up; the client stops after the first piece.
  UnixHttpServer server([](UnixHttpServer& self, int fd, const ReceivedRequest&) {
    UnixHttpServer::Send(fd, kChunkedHead);
    for (int i = 0; i < 100 && UnixHttpServer::SendChunk(fd, "tick\n"); ++i) {
    }
    self.WaitForClose(fd, std::chrono::seconds(30));
  });
  CurlClient client = ClientFor(server);
  int calls = 0;
  Clock::time_point start = Clock::now();
  Result<Response> response = client.Stream(Get("/logs?follow=1"), [&](std::string_view) {
    ++calls;
    return false;
  });
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kCancelled) << response.error().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_LT(Since(start), milliseconds(5000));
}

TEST(CurlClientTest, StopTokenCancelsAStreamWhileNoDataFlows) {
  // After one piece the server goes quiet until the client hangs up; only the
  // stop request can end the call.
  UnixHttpServer server([](UnixHttpServer& self, int fd, const ReceivedRequest&) {
    UnixHttpServer::Send(fd, kChunkedHead);
    UnixHttpServer::SendChunk(fd, "started\n");
    self.WaitForClose(fd, std::chrono::seconds(30));
  });
  CurlClient client = ClientFor(server);
  std::stop_source stop;
  std::promise<void> started;
  // Another thread stops the call once the only data has arrived. Whether the
  // stop lands while the client still handles that piece or once it waits
  // for more, nothing but the stop can end the call: the server sends
  // nothing more and holds the connection open.
  std::jthread stopper([&, started_future = started.get_future()] {
    started_future.wait();
    stop.request_stop();
  });
  Request request = Get("/watch");
  request.stop = stop.get_token();
  Clock::time_point start = Clock::now();
  Result<Response> response = client.Stream(request, [&](std::string_view) {
    started.set_value();
    return true;
  });
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kCancelled) << response.error().ToString();
  EXPECT_LT(Since(start), milliseconds(10000));
}

TEST(CurlClientTest, ASlowServerMeetsTheRequestTimeout) {
  UnixHttpServer server([](UnixHttpServer& self, int fd, const ReceivedRequest&) {
    self.WaitForClose(fd, std::chrono::seconds(30));  // never answers
  });
  CurlClient client = ClientFor(server);
  Request request = Get("/slow");
  request.timeout = milliseconds(200);
  Clock::time_point start = Clock::now();
  Result<Response> response = client.Do(request);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kDeadlineExceeded) << response.error().ToString();
  EXPECT_NE(response.error().message().find("200 ms"), std::string::npos) << response.error().message();
  EXPECT_LT(Since(start), milliseconds(10000));
}

TEST(CurlClientTest, AConnectionClosedMidBodyIsUnavailable) {
  UnixHttpServer server([](UnixHttpServer&, int fd, const ReceivedRequest& request) {
    if (request.target == "/fixed") {
      UnixHttpServer::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    } else {
      UnixHttpServer::Send(fd, kChunkedHead);
      UnixHttpServer::SendChunk(fd, "partial\n");
    }
    // Returning closes the connection before the body is complete.
  });
  CurlClient client = ClientFor(server);

  Result<Response> fixed = client.Do(Get("/fixed"));
  ASSERT_FALSE(fixed.has_value());
  EXPECT_EQ(fixed.error().code(), ErrorCode::kUnavailable) << fixed.error().ToString();

  std::string received;
  Result<Response> streamed = client.Stream(Get("/chunked"), [&](std::string_view chunk) {
    received += chunk;
    return true;
  });
  ASSERT_FALSE(streamed.has_value());
  EXPECT_EQ(streamed.error().code(), ErrorCode::kUnavailable) << streamed.error().ToString();
  EXPECT_EQ(received, "partial\n");
}

TEST(CurlClientTest, AMissingSocketIsUnavailableAndNamed) {
  CurlOptions options;
  options.unix_socket_path = "/tmp/ctask-http-test-no-such-dir/docker.sock";
  CurlClient client(options);
  Result<Response> response = client.Do(Get("/_ping"));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message().find("/tmp/ctask-http-test-no-such-dir/docker.sock does not exist"),
            std::string::npos)
      << response.error().message();
}

TEST(CurlClientTest, ASocketNobodyListensOnIsUnavailableAndNamed) {
  // A socket file whose server has gone: connect() is refused.
  char dir[] = "/tmp/ctask-http-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/dead.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  close(fd);

  CurlOptions options;
  options.unix_socket_path = path;
  Result<Response> response = CurlClient(options).Do(Get("/_ping"));
  unlink(path.c_str());
  rmdir(dir);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message().find("connection refused on " + path), std::string::npos)
      << response.error().message();
}

TEST(CurlClientTest, ManyThreadsShareOneClient) {
  UnixHttpServer server([](UnixHttpServer&, int fd, const ReceivedRequest& request) {
    std::string body = request.target;
    UnixHttpServer::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  });
  CurlClient client = ClientFor(server);
  std::atomic<int> ok = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
        Result<Response> response = client.Do(Get(path));
        if (response.has_value() && response->body == path) ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok, 40);
}

// Reuse: each call takes a pooled easy handle, whose connection cache keeps the
// last connection alive. These run over KeepAliveServer, which keeps a
// connection open and counts the ones it accepted.

Request GetFrom(const KeepAliveServer& server, std::string_view path) {
  Request request;
  request.url = server.Url(path);
  return request;
}

CurlClient ClientFor(const KeepAliveServer& server) {
  CurlOptions options;
  options.unix_socket_path = server.socket_path();
  return CurlClient(options);
}

TEST(CurlClientReuseTest, SequentialRequestsOverTcpShareOneConnection) {
  KeepAliveServer server(KeepAliveServer::Transport::kTcp, &KeepAliveServer::Echo);
  CurlClient client = ClientFor(server);
  for (int i = 0; i < 20; ++i) {
    std::string path = "/r" + std::to_string(i);
    Result<Response> response = client.Do(GetFrom(server, path));
    ASSERT_TRUE(response.has_value()) << response.error().ToString();
    EXPECT_EQ(response->body, path);
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client.idle_handles(), 1u);
}

TEST(CurlClientReuseTest, SequentialRequestsOverAUnixSocketShareOneConnection) {
  KeepAliveServer server(KeepAliveServer::Transport::kUnix, &KeepAliveServer::Echo);
  CurlClient client = ClientFor(server);
  for (int i = 0; i < 5; ++i) {
    Result<Response> response = client.Do(GetFrom(server, "/_ping"));
    ASSERT_TRUE(response.has_value()) << response.error().ToString();
    EXPECT_EQ(response->body, "/_ping");
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(CurlClientReuseTest, NothingOfOneRequestReachesTheNext) {
  KeepAliveServer server(KeepAliveServer::Transport::kTcp, &KeepAliveServer::Echo);
  CurlOptions options;
  options.bearer_token = "t0ken";
  CurlClient client(options);

  Request post = GetFrom(server, "/create");
  post.method = "POST";
  post.headers = {{"Content-Type", "application/json"}, {"Authorization", "Basic b3duOnRva2Vu"}, {"X-First", "1"}};
  post.body = R"({"kind":"Pod"})";
  ASSERT_TRUE(client.Do(post).has_value());
  EXPECT_EQ(server.last_request().body, post.body);

  Request head = GetFrom(server, "/head");
  head.method = "HEAD";
  ASSERT_TRUE(client.Do(head).has_value());

  Result<Response> get = client.Do(GetFrom(server, "/get"));
  ASSERT_TRUE(get.has_value()) << get.error().ToString();
  EXPECT_EQ(get->body, "/get");  // HEAD's no-body setting did not carry over
  ReceivedRequest received = server.last_request();
  EXPECT_EQ(received.method, "GET");
  EXPECT_EQ(received.body, "");
  EXPECT_EQ(received.head.find("X-First"), std::string::npos) << received.head;
  EXPECT_EQ(received.head.find("Content-Type"), std::string::npos) << received.head;
  EXPECT_EQ(received.head.find("Content-Length"), std::string::npos) << received.head;
  // The head ends without its last line break.
  EXPECT_NE(received.head.find("\r\nAuthorization: Bearer t0ken"), std::string::npos) << received.head;
  EXPECT_EQ(received.head.find("Basic"), std::string::npos) << received.head;
  EXPECT_EQ(server.connections(), 1);
}

TEST(CurlClientReuseTest, ConcurrentCallsAllSucceedAndThePoolStaysBounded) {
  // Every request waits at the server until all are in flight, so the client
  // holds kThreads handles at once; when they come back the pool keeps only
  // kMaxIdleHandles of them.
  constexpr int kThreads = static_cast<int>(CurlClient::kMaxIdleHandles) + 4;
  std::mutex arrived_mu;
  std::condition_variable arrived_cv;
  int arrived = 0;  // guarded by arrived_mu
  KeepAliveServer server(
      KeepAliveServer::Transport::kTcp, [&](KeepAliveServer& self, int fd, const ReceivedRequest& request) {
        if (request.target.starts_with("/together")) {
          std::unique_lock lock(arrived_mu);
          ++arrived;
          arrived_cv.notify_all();
          // Bounded: a hang guard, not a timing claim.
          arrived_cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived >= kThreads || self.stopping(); });
        }
        KeepAliveServer::Echo(self, fd, request);
      });
  CurlClient client = ClientFor(server);
  std::atomic<int> ok = 0;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::string path = "/together/" + std::to_string(t);
        Result<Response> response = client.Do(GetFrom(server, path));
        if (response.has_value() && response->body == path) ++ok;
      });
    }
  }
  EXPECT_EQ(ok, kThreads);
  EXPECT_EQ(client.idle_handles(), CurlClient::kMaxIdleHandles);

  // Then steady load from a few threads: all served, over the pooled
  // connections plus at most one new one per thread.
  int before = server.connections();
  ok = 0;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
          Result<Response> response = client.Do(GetFrom(server, path));
          if (response.has_value() && response->body == path) ++ok;
        }
      });
    }
  }
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(server.connections(), before);
}

TEST(CurlClientReuseTest, ATimedOutCallsHandleIsFreedAndTheNextCallReconnects) {
  KeepAliveServer server(KeepAliveServer::Transport::kTcp,
                         [](KeepAliveServer& self, int fd, const ReceivedRequest& request) {
                           if (request.target == "/slow") {
                             self.WaitForClose(fd, std::chrono::seconds(30));  // never answers
                             return;
                           }
                           KeepAliveServer::Echo(self, fd, request);
                         });
  CurlClient client = ClientFor(server);
  ASSERT_TRUE(client.Do(GetFrom(server, "/fast")).has_value());
  ASSERT_EQ(client.idle_handles(), 1u);

  Request slow = GetFrom(server, "/slow");
  slow.timeout = milliseconds(200);
  Result<Response> timed_out = client.Do(slow);
  ASSERT_FALSE(timed_out.has_value());
  EXPECT_EQ(timed_out.error().code(), ErrorCode::kDeadlineExceeded) << timed_out.error().ToString();
  EXPECT_EQ(client.idle_handles(), 0u);

  Result<Response> next = client.Do(GetFrom(server, "/fast"));
  ASSERT_TRUE(next.has_value()) << next.error().ToString();
  EXPECT_EQ(next->body, "/fast");
  EXPECT_EQ(server.connections(), 2);  // the first one went with the timed-out handle
}

TEST(CurlClientReuseTest, ACancelledStreamsHandleIsFreedAndACleanStreamsIsKept) {
  KeepAliveServer server(KeepAliveServer::Transport::kTcp,
                         [](KeepAliveServer& self, int fd, const ReceivedRequest& request) {
                           UnixHttpServer::Send(fd, kChunkedHead);
                           UnixHttpServer::SendChunk(fd, "event\n");
                           if (request.target == "/watch?forever=1") {
                             self.WaitForClose(fd, std::chrono::seconds(30));
                             return;
                           }
                           UnixHttpServer::Send(fd, "0\r\n\r\n");
                         });
  CurlClient client = ClientFor(server);

  Result<Response> cancelled =
      client.Stream(GetFrom(server, "/watch?forever=1"), [](std::string_view) { return false; });
  ASSERT_FALSE(cancelled.has_value());
  EXPECT_EQ(cancelled.error().code(), ErrorCode::kCancelled) << cancelled.error().ToString();
  EXPECT_EQ(client.idle_handles(), 0u);

  std::string received;
  Result<Response> clean = client.Stream(GetFrom(server, "/watch"), [&](std::string_view chunk) {
    received += chunk;
    return true;
  });
  ASSERT_TRUE(clean.has_value()) << clean.error().ToString();
  EXPECT_EQ(received, "event\n");
  EXPECT_EQ(client.idle_handles(), 1u);
  EXPECT_EQ(server.connections(), 2);

  Result<Response> after = client.Stream(GetFrom(server, "/watch"), [](std::string_view) { return true; });
  ASSERT_TRUE(after.has_value()) << after.error().ToString();
  EXPECT_EQ(server.connections(), 2);  // the clean stream's connection, reused
}

TEST(CurlClientReuseTest, AFailedTransfersHandleIsFreed) {
  // The connection is cut mid-body: a transport error, state unknown.
  UnixHttpServer server([](UnixHttpServer&, int fd, const ReceivedRequest&) {
    UnixHttpServer::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
  });
  CurlClient client = ClientFor(server);
  Result<Response> cut = client.Do(Get("/fixed"));
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().code(), ErrorCode::kUnavailable) << cut.error().ToString();
  EXPECT_EQ(client.idle_handles(), 0u);
}

// The Docker tier: hack/test.sh (and `make docker-up`) start the daemon, so a
// missing one is a failure, not a skip.
TEST(CurlClientDockerTest, TheDaemonAnswersPingOverItsUnixSocket) {
  const char* docker_host = std::getenv("DOCKER_HOST");
  std::string host = docker_host != nullptr && *docker_host != '\0' ? docker_host : "unix:///var/run/docker.sock";
  ASSERT_TRUE(host.starts_with("unix://")) << "DOCKER_HOST=" << host << ": only unix:// sockets are supported here";
  CurlOptions options;
  options.unix_socket_path = host.substr(7);
  Request request = Get("/_ping");
  request.timeout = milliseconds(10000);
  Result<Response> response = CurlClient(options).Do(request);
  ASSERT_TRUE(response.has_value()) << response.error().ToString()
                                    << "\nNo Docker daemon answers: run hack/docker-up.sh (make docker-up).";
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "OK");
  EXPECT_FALSE(response->headers["api-version"].empty());
}

}  // namespace
}  // namespace ctask::http
