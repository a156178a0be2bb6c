// HttpServer over real sockets on loopback: routes through CurlClient, the
// limits and failure modes through raw sockets (a client that sends too much,
// nothing, or garbage). Time bounds in assertions are hang guards or margins
// an order of magnitude wider than what they separate.
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/curl_client.h"

namespace ctask::http {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Only reached when something hangs.
constexpr auto kHangGuard = 20s;

Routes TestRoutes() {
  Routes routes;
  routes["/hello"] = [](const ServerRequest&) { return ServerResponse{200, "text/plain", "hello\n"}; };
  routes["/echo"] = [](const ServerRequest& request) {
    return ServerResponse{200, "text/plain", request.method + " " + request.path + " ?" + request.query};
  };
  routes["/teapot"] = [](const ServerRequest&) { return ServerResponse{418, "application/json", "{}"}; };
  routes["/throws"] = [](const ServerRequest&) -> ServerResponse { throw std::runtime_error("boom"); };
  return routes;
}

HttpServerPtr StartOrDie(std::string_view address = "127.0.0.1:0", ServerOptions options = {},
                         Routes routes = TestRoutes()) {
  Result<HttpServerPtr> server = HttpServer::Start(address, std::move(routes), options);
  EXPECT_TRUE(server.has_value()) << server.error().message();
  return server ? std::move(*server) : nullptr;
}

Result<Response> Fetch(const std::string& url, std::string method = "GET",
                       std::vector<std::pair<std::string, std::string>> headers = {}, std::string body = {}) {
  CurlClient client(CurlOptions{});
  Request request;
  request.method = std::move(method);
  request.url = url;
  request.headers = std::move(headers);
  request.body = std::move(body);
  request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kHangGuard);
  return client.Do(request);
}

std::string Url(const HttpServer& server, std::string_view path_and_query) {
  return "http://127.0.0.1:" + std::to_string(server.Port()) + std::string(path_and_query);
}

// A raw TCP connection to 127.0.0.1:port (or [::1]:port).
class RawClient {
 public:
  explicit RawClient(int port, bool ipv6 = false) {
    if (ipv6) {
      fd_ = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(static_cast<uint16_t>(port));
      address.sin6_addr = in6addr_loopback;
      connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    } else {
      fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<uint16_t>(port));
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    }
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Everything until the server closes (or a reset, or the hang guard).
  std::string ReadToClose() {
    std::string out;
    const auto deadline = SteadyClock::now() + kHangGuard;
    char buffer[4096];
    while (SteadyClock::now() < deadline) {
      pollfd fds = {fd_, POLLIN, 0};
      if (poll(&fds, 1, 100) <= 0) continue;
      ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<size_t>(n));
    }
    ADD_FAILURE() << "the server did not close the connection";
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// ---- routes ----

TEST(HttpServer, ServesARouteWithItsStatusTypeAndBody) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->Port(), 0);

  Result<Response> hello = Fetch(Url(*server, "/hello"));
  ASSERT_TRUE(hello.has_value()) << hello.error().message();
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello\n");
  EXPECT_EQ(hello->headers["content-type"], "text/plain");
  EXPECT_EQ(hello->headers["content-length"], "6");
  EXPECT_EQ(hello->headers["connection"], "close");

  Result<Response> teapot = Fetch(Url(*server, "/teapot"));
  ASSERT_TRUE(teapot.has_value()) << teapot.error().message();
  EXPECT_EQ(teapot->status, 418);
  EXPECT_EQ(teapot->headers["content-type"], "application/json");
  EXPECT_EQ(teapot->body, "{}");
}

TEST(HttpServer, HandsTheQueryStringToTheHandler) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  Result<Response> with_query = Fetch(Url(*server, "/echo?verbose&exclude=a%20b"));
  ASSERT_TRUE(with_query.has_value()) << with_query.error().message();
  EXPECT_EQ(with_query->body, "GET /echo ?verbose&exclude=a%20b");

  Result<Response> without = Fetch(Url(*server, "/echo"));
  ASSERT_TRUE(without.has_value()) << without.error().message();
  EXPECT_EQ(without->body, "GET /echo ?");
}

TEST(HttpServer, UnknownPathIs404AndPathsAreExact) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const char* path : {"/nope", "/hello/", "/hello/x", "/", "/HELLO"}) {
    Result<Response> response = Fetch(Url(*server, path));
    ASSERT_TRUE(response.has_value()) << response.error().message();
    EXPECT_EQ(response->status, 404) << path;
  }
}

TEST(HttpServer, OtherMethodsAre405WithAllow) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    Result<Response> response =
        Fetch(Url(*server, "/hello"), method, {{"Content-Type", "text/plain"}}, std::string(2000, 'x'));
    ASSERT_TRUE(response.has_value()) << method << ": " << response.error().message();
    EXPECT_EQ(response->status, 405) << method;
    EXPECT_EQ(response->headers["allow"], "GET, HEAD") << method;
  }
}

TEST(HttpServer, HeadAnswersLikeGetWithoutTheBody) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  RawClient client(server->Port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string response = client.ReadToClose();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_NE(response.find("Content-Length: 6\r\n"), std::string::npos) << response;
  EXPECT_TRUE(response.ends_with("\r\n\r\n")) << response;  // no body
}

TEST(HttpServer, AHandlerThatThrowsIs500) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  Result<Response> response = Fetch(Url(*server, "/throws"));
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 500);
  EXPECT_NE(response->body.find("boom"), std::string::npos);
  // The server survives it.
  Result<Response> after = Fetch(Url(*server, "/hello"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST(HttpServer, ManyConcurrentClientsAreAllServed) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  std::atomic<int> ok = 0;
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        Result<Response> response = Fetch(Url(*server, "/hello"));
        if (response && response->status == 200) ++ok;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(ok, 60);
}

// ---- what clients send ----

TEST(HttpServer, OversizedRequestHeadIs431) {
  ServerOptions options;
  options.max_header_bytes = 8 * 1024;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);

  // Through curl: one huge header.
  Result<Response> response = Fetch(Url(*server, "/hello"), "GET", {{"X-Big", std::string(9 * 1024, 'a')}});
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 431);

  // A head that never ends: answered once the limit is passed, not read on.
  RawClient endless(server->Port());
  ASSERT_TRUE(endless.connected());
  ASSERT_TRUE(endless.Send("GET /hello HTTP/1.1\r\n" + std::string(20 * 1024, 'h')));
  EXPECT_TRUE(endless.ReadToClose().starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));

  // Just under the limit is fine.
  Result<Response> fits = Fetch(Url(*server, "/hello"), "GET", {{"X-Big", std::string(7 * 1024, 'a')}});
  ASSERT_TRUE(fits.has_value()) << fits.error().message();
  EXPECT_EQ(fits->status, 200);
}

TEST(HttpServer, GarbageIs400) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (std::string garbage : {"hello\r\n\r\n", "GET /hello\r\n\r\n", "GET hello HTTP/1.1\r\n\r\n",
                              "GET /hello SPDY/3\r\n\r\n", "get /hello HTTP/1.1\r\n\r\n"}) {
    RawClient client(server->Port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.Send(garbage));
    EXPECT_TRUE(client.ReadToClose().starts_with("HTTP/1.1 400 Bad Request\r\n")) << garbage;
  }
}

TEST(HttpServer, AcceptsBareLineFeedsAndAbsoluteForm) {
  HttpServerPtr server = StartOrDie();
  ASSERT_NE(server, nullptr);
  RawClient bare(server->Port());
  ASSERT_TRUE(bare.Send("GET /echo?a HTTP/1.0\n\n"));
  std::string response = bare.ReadToClose();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_TRUE(response.ends_with("GET /echo ?a")) << response;

  RawClient absolute(server->Port());
  ASSERT_TRUE(absolute.Send("GET http://127.0.0.1/echo?b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_TRUE(absolute.ReadToClose().ends_with("GET /echo ?b"));
}

TEST(HttpServer, ASilentClientIsDroppedAfterTheReadTimeout) {
  ServerOptions options;
  options.read_timeout = 200ms;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  RawClient silent(server->Port());
  ASSERT_TRUE(silent.connected());
  RawClient half(server->Port());
  ASSERT_TRUE(half.Send("GET /hello HT"));
  // Closed without an answer (ReadToClose fails the test if it never is).
  EXPECT_EQ(silent.ReadToClose(), "");
  EXPECT_EQ(half.ReadToClose(), "");
}

TEST(HttpServer, SilentClientsDoNotBlockOthers) {
  ServerOptions options;
  options.read_timeout = 60s;  // far beyond the hang guard: only other workers can answer
  options.max_connections = 3;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  RawClient silent_a(server->Port());
  RawClient silent_b(server->Port());
  ASSERT_TRUE(silent_b.Send("GET /hello HTTP/1.1\r\nHost"));
  ASSERT_TRUE(silent_a.connected());
  for (int i = 0; i < 5; ++i) {
    Result<Response> response = Fetch(Url(*server, "/hello"));
    ASSERT_TRUE(response.has_value()) << response.error().message();
    EXPECT_EQ(response->status, 200);
  }
}

TEST(HttpServer, BeyondWorkersAndQueueNewConnectionsGet503) {
  ServerOptions options;
  options.read_timeout = 60s;
  options.max_connections = 1;
  options.max_queued = 0;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  RawClient holder(server->Port());  // holds the only worker
  ASSERT_TRUE(holder.connected());
  Result<Response> response = Fetch(Url(*server, "/hello"));
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 503);
}

TEST(HttpServer, RecoversOnceAFloodOfSilentClientsGoes) {
  ServerOptions options;
  options.read_timeout = 60s;
  options.max_connections = 2;
  options.max_queued = 2;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  {
    std::vector<std::unique_ptr<RawClient>> flood;
    for (int i = 0; i < 20; ++i) flood.push_back(std::make_unique<RawClient>(server->Port()));
    Result<Response> during = Fetch(Url(*server, "/hello"));
    ASSERT_TRUE(during.has_value()) << during.error().message();
    EXPECT_EQ(during->status, 503);
  }  // the flood hangs up
  int status = 0;
  for (auto deadline = SteadyClock::now() + kHangGuard; status != 200 && SteadyClock::now() < deadline;) {
    Result<Response> after = Fetch(Url(*server, "/hello"));
    status = after ? after->status : 0;
  }
  EXPECT_EQ(status, 200);
}

// ---- stopping ----

TEST(HttpServer, StopIsPromptWithClientsConnected) {
  ServerOptions options;
  options.read_timeout = 60s;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  const int port = server->Port();
  RawClient silent(port);
  RawClient half(port);
  ASSERT_TRUE(half.Send("GET /hello HTTP/1.1\r\n"));
  ASSERT_TRUE(silent.connected());
  std::this_thread::sleep_for(50ms);  // let the workers pick them up (Stop is prompt either way)

  const auto before = SteadyClock::now();
  std::future<void> stopped = std::async(std::launch::async, [&] { server->Stop(); });
  ASSERT_EQ(stopped.wait_for(kHangGuard), std::future_status::ready);
  // read_timeout is 60s: returning well within it means Stop woke the reads.
  EXPECT_LT(SteadyClock::now() - before, 10s);
  EXPECT_EQ(silent.ReadToClose(), "");
  server->Stop();  // idempotent
  server.reset();  // and the destructor after Stop

  RawClient after(port);
  EXPECT_FALSE(after.connected() && after.Send("GET /hello HTTP/1.1\r\n\r\n") &&
               after.ReadToClose().starts_with("HTTP/1.1"));
}

TEST(HttpServer, DestructorStopsARunningServer) {
  ServerOptions options;
  options.read_timeout = 60s;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  RawClient silent(server->Port());
  ASSERT_TRUE(silent.connected());
  std::future<void> destroyed = std::async(std::launch::async, [&] { server.reset(); });
  ASSERT_EQ(destroyed.wait_for(kHangGuard), std::future_status::ready);
}

// ---- addresses ----

TEST(HttpServer, ListensOnIpv6LoopbackAndOnEveryInterface) {
  HttpServerPtr v6 = StartOrDie("[::1]:0");
  ASSERT_NE(v6, nullptr);
  Result<Response> response = Fetch("http://[::1]:" + std::to_string(v6->Port()) + "/hello");
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);

  // ":port" takes both families; the test talks to it over loopback only.
  HttpServerPtr any = StartOrDie(":0");
  ASSERT_NE(any, nullptr);
  Result<Response> over_v4 = Fetch(Url(*any, "/hello"));
  ASSERT_TRUE(over_v4.has_value()) << over_v4.error().message();
  EXPECT_EQ(over_v4->status, 200);
  Result<Response> over_v6 = Fetch("http://[::1]:" + std::to_string(any->Port()) + "/hello");
  ASSERT_TRUE(over_v6.has_value()) << over_v6.error().message();
  EXPECT_EQ(over_v6->status, 200);

  HttpServerPtr localhost = StartOrDie("localhost:0");
  ASSERT_NE(localhost, nullptr);
  EXPECT_EQ(Fetch(Url(*localhost, "/hello"))->status, 200);
}

TEST(HttpServer, BadAddressesAreRefusedNamingTheAddress) {
  for (const char* address : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http", "::1:80", "[::1:80",
                              "[::1]80", "[127.0.0.1]:80", "example.com:80", "300.1.1.1:80"}) {
    Result<HttpServerPtr> server = HttpServer::Start(address, TestRoutes());
    ASSERT_FALSE(server.has_value()) << address;
    EXPECT_EQ(server.error().code(), ErrorCode::kInvalidArgument) << address << ": " << server.error().message();
    EXPECT_NE(server.error().message().find("\"" + std::string(address) + "\""), std::string::npos)
        << server.error().message();
  }
}

TEST(HttpServer, APortInUseIsUnavailableNamingTheAddress) {
  HttpServerPtr first = StartOrDie();
  ASSERT_NE(first, nullptr);
  const std::string address = "127.0.0.1:" + std::to_string(first->Port());
  Result<HttpServerPtr> second = HttpServer::Start(address, TestRoutes());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message().find(address), std::string::npos) << second.error().message();
  EXPECT_NE(second.error().message().find("in use"), std::string::npos) << second.error().message();
}

TEST(HttpServer, BadOptionsAreRefused) {
  ServerOptions options;
  options.max_connections = 0;
  Result<HttpServerPtr> server = HttpServer::Start("127.0.0.1:0", TestRoutes(), options);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ctask::http
