// HttpServer (civetweb) over real sockets on 127.0.0.1: routes through
// CurlClient, the limits and failure modes through raw sockets (a client that
// sends too much, nothing, or garbage). Time bounds in assertions are hang
// guards or margins an order of magnitude wider than what they separate; no
// test sleeps to wait for the server. Addresses that would bind more than
// loopback are tested without binding, in listen_address_test.cc.
#include "metrics/server.h"

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

namespace ctask::metrics {
namespace {

using http::CurlClient;
using http::CurlOptions;
using http::Request;
using http::Response;

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

// A raw TCP connection to 127.0.0.1:port.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
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

// Sends `request` on a new connection and reads the answer to the close.
std::string Exchange(int port, std::string_view request) {
  RawClient client(port);
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(client.Send(request));
  return client.ReadToClose();
}

// The status code of a raw response ("HTTP/1.1 404 Not Found\r\n..."), or 0.
// The version is not checked: civetweb answers in the request's version,
// even a bogus one ("HTTP/SPDY/3 400 Bad Request").
int StatusOf(std::string_view response) {
  const size_t space = response.find(' ');
  if (!response.starts_with("HTTP/") || space == std::string_view::npos || response.size() < space + 4) return 0;
  return std::atoi(std::string(response.substr(space + 1, 3)).c_str());
}

// One server with the default options for the tests that need nothing else:
// civetweb's Stop takes up to 2 s (its threads poll their stop flag at that
// period), so a server per test would make the suite slow.
class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = StartOrDie().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static std::string UrlFor(std::string_view path_and_query) { return Url(*server_, path_and_query); }
  static int port() { return server_->Port(); }

  static HttpServer* server_;
};

HttpServer* HttpServerTest::server_ = nullptr;

// ---- routes ----

TEST_F(HttpServerTest, ServesARouteWithItsStatusTypeAndBody) {
  EXPECT_GT(port(), 0);

  Result<Response> hello = Fetch(UrlFor("/hello"));
  ASSERT_TRUE(hello.has_value()) << hello.error().message();
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello\n");
  EXPECT_EQ(hello->headers["content-type"], "text/plain");
  EXPECT_EQ(hello->headers["content-length"], "6");
  EXPECT_EQ(hello->headers["connection"], "close");

  Result<Response> teapot = Fetch(UrlFor("/teapot"));
  ASSERT_TRUE(teapot.has_value()) << teapot.error().message();
  EXPECT_EQ(teapot->status, 418);
  EXPECT_EQ(teapot->headers["content-type"], "application/json");
  EXPECT_EQ(teapot->body, "{}");
}

TEST_F(HttpServerTest, HandsTheQueryStringToTheHandler) {
  Result<Response> with_query = Fetch(UrlFor("/echo?verbose&exclude=a%20b"));
  ASSERT_TRUE(with_query.has_value()) << with_query.error().message();
  EXPECT_EQ(with_query->body, "GET /echo ?verbose&exclude=a%20b");

  Result<Response> without = Fetch(UrlFor("/echo"));
  ASSERT_TRUE(without.has_value()) << without.error().message();
  EXPECT_EQ(without->body, "GET /echo ?");
}

TEST_F(HttpServerTest, UnknownPathIs404AndPathsAreExact) {
  // civetweb's own request handlers would take "/hello/x" for "/hello".
  for (const char* path : {"/nope", "/hello/", "/hello/x", "/", "/HELLO"}) {
    Result<Response> response = Fetch(UrlFor(path));
    ASSERT_TRUE(response.has_value()) << response.error().message();
    EXPECT_EQ(response->status, 404) << path;
    EXPECT_EQ(response->body, "404 page not found\n") << path;
  }
  // Matched as sent: neither percent-decoded nor cleaned of dot segments
  // (curl would clean them, so these go raw).
  for (const char* path : {"/%68ello", "/x/../hello", "/./hello"}) {
    EXPECT_EQ(StatusOf(Exchange(port(), "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n")), 404) << path;
  }
}

TEST_F(HttpServerTest, OtherMethodsAre405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    Result<Response> response =
        Fetch(UrlFor("/hello"), method, {{"Content-Type", "text/plain"}}, std::string(2000, 'x'));
    ASSERT_TRUE(response.has_value()) << method << ": " << response.error().message();
    EXPECT_EQ(response->status, 405) << method;
    EXPECT_EQ(response->headers["allow"], "GET, HEAD") << method;
  }
  // An unknown path is unknown whatever the method.
  Result<Response> unknown = Fetch(UrlFor("/nope"), "POST", {}, "x");
  ASSERT_TRUE(unknown.has_value()) << unknown.error().message();
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(HttpServerTest, HeadAnswersLikeGetWithoutTheBody) {
  std::string response = Exchange(port(), "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_NE(response.find("Content-Length: 6\r\n"), std::string::npos) << response;
  EXPECT_TRUE(response.ends_with("\r\n\r\n")) << response;  // no body

  std::string missing = Exchange(port(), "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(missing), 404) << missing;
  EXPECT_TRUE(missing.ends_with("\r\n\r\n")) << missing;
}

TEST_F(HttpServerTest, AHandlerThatThrowsIs500) {
  Result<Response> response = Fetch(UrlFor("/throws"));
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 500);
  EXPECT_NE(response->body.find("boom"), std::string::npos);
  // The server survives it.
  Result<Response> after = Fetch(UrlFor("/hello"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpServerTest, ManyConcurrentClientsAreAllServed) {
  std::atomic<int> ok = 0;
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        Result<Response> response = Fetch(UrlFor("/hello"));
        if (response && response->status == 200) ++ok;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(ok, 60);
}

// ---- what clients send ----

// The shared server has the default limit, 8 KiB.
TEST_F(HttpServerTest, AHugeRequestHeadIsRefused) {
  ASSERT_EQ(ServerOptions{}.max_header_bytes, 8u * 1024);
  // Through curl: one huge header. civetweb answers a head that does not fit
  // its buffer with a 4xx of its choosing.
  Result<Response> response = Fetch(UrlFor("/hello"), "GET", {{"X-Big", std::string(9 * 1024, 'a')}});
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_GE(response->status, 400);
  EXPECT_LT(response->status, 500);

  // A head that never ends: answered once the limit is passed, not read on.
  RawClient endless(port());
  ASSERT_TRUE(endless.connected());
  ASSERT_TRUE(endless.Send("GET /hello HTTP/1.1\r\n" + std::string(20 * 1024, 'h')));
  const int status = StatusOf(endless.ReadToClose());
  EXPECT_GE(status, 400);
  EXPECT_LT(status, 500);

  // Just under the limit is fine.
  Result<Response> fits = Fetch(UrlFor("/hello"), "GET", {{"X-Big", std::string(7 * 1024, 'a')}});
  ASSERT_TRUE(fits.has_value()) << fits.error().message();
  EXPECT_EQ(fits->status, 200);
}

TEST_F(HttpServerTest, GarbageIs400) {
  for (std::string garbage : {"hello\r\n\r\n", "GET /hello\r\n\r\n", "GET hello HTTP/1.1\r\n\r\n",
                              "GET /hello SPDY/3\r\n\r\n", "get /hello HTTP/1.1\r\n\r\n"}) {
    EXPECT_EQ(StatusOf(Exchange(port(), garbage)), 400) << garbage;
  }
}

TEST_F(HttpServerTest, AcceptsBareLineFeedsAndAbsoluteForm) {
  std::string bare = Exchange(port(), "GET /echo?a HTTP/1.0\n\n");
  EXPECT_EQ(StatusOf(bare), 200) << bare;
  EXPECT_TRUE(bare.ends_with("GET /echo ?a")) << bare;

  const std::string host = "127.0.0.1:" + std::to_string(port());
  std::string absolute = Exchange(port(), "GET http://" + host + "/echo?b HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  EXPECT_TRUE(absolute.ends_with("GET /echo ?b")) << absolute;
}

TEST(HttpServer, ASilentClientIsDroppedAfterTheRequestTimeout) {
  ServerOptions options;
  options.request_timeout = 200ms;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  RawClient silent(server->Port());
  ASSERT_TRUE(silent.connected());
  RawClient half(server->Port());
  ASSERT_TRUE(half.Send("GET /hello HT"));
  // Closed without an answer (ReadToClose fails the test if it never is);
  // the half-sent request gets at most civetweb's 400.
  EXPECT_EQ(silent.ReadToClose(), "");
  const std::string half_answer = half.ReadToClose();
  EXPECT_TRUE(half_answer.empty() || StatusOf(half_answer) == 400) << half_answer;
}

TEST(HttpServer, SilentClientsDoNotBlockOthers) {
  ServerOptions options;
  options.request_timeout = 60s;  // far beyond the hang guard: only other workers can answer
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

// More silent clients than workers and queue together: civetweb stops
// accepting (the rest wait in the listen backlog) rather than refusing. Once
// they hang up, the server answers again.
TEST(HttpServer, RecoversOnceAFloodOfSilentClientsGoes) {
  ServerOptions options;
  options.request_timeout = 60s;
  options.max_connections = 2;
  options.max_queued = 2;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  {
    std::vector<std::unique_ptr<RawClient>> flood;
    for (int i = 0; i < 20; ++i) {
      flood.push_back(std::make_unique<RawClient>(server->Port()));
      ASSERT_TRUE(flood.back()->connected());
    }
  }  // the flood hangs up
  Result<Response> after = Fetch(Url(*server, "/hello"));
  ASSERT_TRUE(after.has_value()) << after.error().message();
  EXPECT_EQ(after->status, 200);
}

// ---- stopping ----

TEST(HttpServer, StopIsPromptWithClientsConnected) {
  ServerOptions options;
  options.request_timeout = 60s;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  const int port = server->Port();
  RawClient silent(port);
  RawClient half(port);
  ASSERT_TRUE(half.Send("GET /hello HTTP/1.1\r\n"));
  ASSERT_TRUE(silent.connected());
  // Connections are taken in order and there are workers for all three: once
  // this one is answered, the two before it are being served (waiting for
  // their request), which is what Stop has to interrupt.
  Result<Response> served = Fetch(Url(*server, "/hello"));
  ASSERT_TRUE(served.has_value()) << served.error().message();

  const auto before = SteadyClock::now();
  std::future<void> stopped = std::async(std::launch::async, [&] { server->Stop(); });
  ASSERT_EQ(stopped.wait_for(kHangGuard), std::future_status::ready);
  // request_timeout is 60s: returning well within it means Stop woke the
  // reads (civetweb looks at its stop flag every 2 s).
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
  options.request_timeout = 60s;
  HttpServerPtr server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  RawClient silent(server->Port());
  ASSERT_TRUE(silent.connected());
  std::future<void> destroyed = std::async(std::launch::async, [&] { server.reset(); });
  ASSERT_EQ(destroyed.wait_for(kHangGuard), std::future_status::ready);
}

// ---- addresses ----

TEST(HttpServer, ListensOnLocalhost) {
  HttpServerPtr localhost = StartOrDie("localhost:0");
  ASSERT_NE(localhost, nullptr);
  Result<Response> response = Fetch(Url(*localhost, "/hello"));
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);
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

TEST_F(HttpServerTest, APortInUseIsUnavailableNamingTheAddress) {
  const std::string address = "127.0.0.1:" + std::to_string(port());
  Result<HttpServerPtr> second = HttpServer::Start(address, TestRoutes());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message().find(address), std::string::npos) << second.error().message();
  EXPECT_NE(second.error().message().find("in use"), std::string::npos) << second.error().message();
}

TEST(HttpServer, BadOptionsAreRefused) {
  ServerOptions no_workers;
  no_workers.max_connections = 0;
  ServerOptions no_queue;
  no_queue.max_queued = 0;
  ServerOptions tiny_head;
  tiny_head.max_header_bytes = 512;  // civetweb needs 1 KiB
  ServerOptions no_timeout;
  no_timeout.request_timeout = 0ms;
  for (const ServerOptions& options : {no_workers, no_queue, tiny_head, no_timeout}) {
    Result<HttpServerPtr> server = HttpServer::Start("127.0.0.1:0", TestRoutes(), options);
    ASSERT_FALSE(server.has_value());
    EXPECT_EQ(server.error().code(), ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace ctask::metrics
