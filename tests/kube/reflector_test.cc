// The reflector's list/watch/relist logic over a scripted transport: which
// requests it makes (resourceVersion, bookmarks), which Deltas it hands out
// and which backoffs it asks of its (fake) clock, for each way a watch can
// end. The same behaviour against a real API
// server is in tests/cluster/reflector_test.cc and tests/cluster_disruptive/.
#include "kube/reflector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_transport.h"

namespace ctask::kube {
namespace {

using api::Json;
using fakes::Failure;
using fakes::FakeTransport;
using fakes::Reply;
using fakes::StreamReply;
using Type = Delta::Type;
using namespace std::chrono_literals;

Json Object(const std::string& name, const std::string& rv) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", "ns"}, {"resourceVersion", rv}}}};
}

std::string ListBody(const std::string& rv, const std::vector<Json>& items) {
  Json list = {{"kind", "ConfigMapList"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", rv}}}};
  list["items"] = Json::array();
  for (Json item : items) {
    item.erase("apiVersion");
    item.erase("kind");
    list["items"].push_back(item);
  }
  return list.dump();
}

std::string Event(const std::string& type, const Json& object) {
  return Json{{"type", type}, {"object", object}}.dump() + "\n";
}

std::string Bookmark(const std::string& rv) {
  return Event("BOOKMARK", {{"kind", "ConfigMap"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", rv}}}});
}

std::string Expired() {
  return Event("ERROR", {{"kind", "Status"},
                         {"apiVersion", "v1"},
                         {"status", "Failure"},
                         {"message", "too old resource version: 10 (20)"},
                         {"reason", "Expired"},
                         {"code", 410}});
}

fakes::FakeReply QuietWatch() {
  fakes::FakeReply reply = StreamReply({});
  reply.hold_until_stop = true;
  return reply;
}

// The query parameter `name` of a request's URL, "" when absent.
std::string Param(const http::Request& request, const std::string& name) {
  const size_t query = request.url.find('?');
  if (query == std::string::npos) return "";
  const std::string needle = name + "=";
  for (size_t at = query + 1; at < request.url.size();) {
    size_t end = request.url.find('&', at);
    if (end == std::string::npos) end = request.url.size();
    if (request.url.compare(at, needle.size(), needle) == 0) {
      return request.url.substr(at + needle.size(), end - at - needle.size());
    }
    at = end + 1;
  }
  return "";
}

class ReflectorUnitTest : public ::testing::Test {
 protected:
  ReflectorUnitTest() {
    auto transport = std::make_unique<FakeTransport>();
    transport_ = transport.get();
    ClientOptions options;
    options.qps = 0;
    client_ = std::make_unique<KubeClient>(std::move(transport), "https://127.0.0.1:1", nullptr, options);
  }
  ~ReflectorUnitTest() override { Stop(); }

  void Start() {
    ReflectorOptions options;
    options.resource = resources::ConfigMaps();
    options.ns = "ns";
    options.initial_backoff = std::chrono::milliseconds(1);
    options.max_backoff = std::chrono::milliseconds(4);
    options.clock = &clock_;
    reflector_ = std::make_unique<Reflector>(*client_, cache_, options, [this](const Delta& delta) {
      std::lock_guard lock(mu_);
      seen_.emplace_back(delta.type, ObjectKey(delta.object) + "@" + ResourceVersionOf(delta.object));
    });
    thread_ = std::jthread([this](std::stop_token stop) { reflector_->Run(stop); });
  }
  void Stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }
  // Waits (bounded: a hang guard, not a timing claim) until the reflector
  // sits in the last, quiet watch: its one thread has then handled every
  // reply scripted before it.
  void WaitForScriptToRunOut() {
    ASSERT_TRUE(transport_->WaitForHeld(1, std::chrono::seconds(60))) << "the reflector stopped asking";
    ASSERT_EQ(transport_->remaining(), 0u);
  }
  std::vector<std::pair<Type, std::string>> Seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  fakes::FakeClock clock_;
  FakeTransport* transport_ = nullptr;
  std::unique_ptr<KubeClient> client_;
  ObjectCache cache_;
  std::unique_ptr<Reflector> reflector_;
  std::mutex mu_;
  std::vector<std::pair<Type, std::string>> seen_;
  std::jthread thread_;
};

TEST_F(ReflectorUnitTest, ListsThenWatchesFromTheListVersionAndResumesAfterBookmarks) {
  transport_->Push(Reply(200, ListBody("10", {Object("a", "5"), Object("b", "7")})));
  transport_->Push(StreamReply(
      {Event("ADDED", Object("c", "11")), Bookmark("15"), Event("MODIFIED", Object("a", "16")), Bookmark("20")}));
  transport_->Push(QuietWatch());
  Start();
  WaitForScriptToRunOut();
  EXPECT_TRUE(reflector_->HasSynced());
  EXPECT_EQ(
      Seen(),
      (std::vector<std::pair<Type, std::string>>{
          {Type::kAdded, "ns/a@5"}, {Type::kAdded, "ns/b@7"}, {Type::kAdded, "ns/c@11"}, {Type::kUpdated, "ns/a@16"}}));
  const std::vector<http::Request> requests = transport_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(Param(requests[0], "watch"), "");
  EXPECT_EQ(Param(requests[0], "limit"), "500");
  EXPECT_EQ(Param(requests[1], "watch"), "true");
  EXPECT_EQ(Param(requests[1], "resourceVersion"), "10");
  EXPECT_EQ(Param(requests[1], "allowWatchBookmarks"), "true");
  EXPECT_FALSE(Param(requests[1], "timeoutSeconds").empty()) << "the server ends each watch; we do not hang on one";
  EXPECT_EQ(Param(requests[2], "resourceVersion"), "20") << "the last bookmark is where the next watch starts";
  EXPECT_EQ(reflector_->LastResourceVersion(), "20");
  EXPECT_EQ(reflector_->Stats().lists, 1);
}

TEST_F(ReflectorUnitTest, AnExpiredErrorEventRelistsAndDeliversTheDeleteTheWatchMissed) {
  transport_->Push(Reply(200, ListBody("10", {Object("a", "5"), Object("b", "7")})));
  transport_->Push(StreamReply({Event("MODIFIED", Object("a", "12")), Expired()}));
  // Meanwhile b was deleted and c created; the watch never said so.
  transport_->Push(Reply(200, ListBody("30", {Object("a", "12"), Object("c", "25")})));
  transport_->Push(QuietWatch());
  Start();
  WaitForScriptToRunOut();
  EXPECT_EQ(Seen(), (std::vector<std::pair<Type, std::string>>{{Type::kAdded, "ns/a@5"},
                                                               {Type::kAdded, "ns/b@7"},
                                                               {Type::kUpdated, "ns/a@12"},
                                                               {Type::kDeleted, "ns/b@7"},
                                                               {Type::kAdded, "ns/c@25"}}));
  const ReflectorStats stats = reflector_->Stats();
  EXPECT_EQ(stats.lists, 2);
  EXPECT_EQ(stats.expired, 1);
  EXPECT_EQ(Param(transport_->requests()[3], "resourceVersion"), "30");
  EXPECT_EQ(cache_.Size(), 2u);
}

TEST_F(ReflectorUnitTest, AnHttp410RelistsToo) {
  transport_->Push(Reply(200, ListBody("10", {Object("a", "5")})));
  transport_->Push(
      Reply(410, R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410})"));
  transport_->Push(Reply(200, ListBody("40", {})));
  transport_->Push(QuietWatch());
  Start();
  WaitForScriptToRunOut();
  EXPECT_EQ(Seen(), (std::vector<std::pair<Type, std::string>>{{Type::kAdded, "ns/a@5"}, {Type::kDeleted, "ns/a@5"}}));
  EXPECT_EQ(reflector_->Stats().expired, 1);
}

TEST_F(ReflectorUnitTest, AConnectionFailureRetriesTheWatchFromTheSameVersionWithoutRelisting) {
  transport_->Push(Reply(200, ListBody("10", {})));
  transport_->Push(Failure(ErrorCode::kUnavailable, "connection refused"));
  fakes::FakeReply reset = StreamReply({Event("ADDED", Object("a", "11"))});
  reset.end_error = Error(ErrorCode::kUnavailable, "connection reset");
  transport_->Push(reset);
  transport_->Push(QuietWatch());
  Start();
  WaitForScriptToRunOut();
  const std::vector<http::Request> requests = transport_->requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(Param(requests[1], "resourceVersion"), "10");
  EXPECT_EQ(Param(requests[2], "resourceVersion"), "10");
  EXPECT_EQ(Param(requests[3], "resourceVersion"), "11") << "resumes after the last event it delivered";
  EXPECT_EQ(reflector_->Stats().lists, 1);
  EXPECT_EQ(reflector_->Stats().failures, 2);
  EXPECT_EQ(Seen(), (std::vector<std::pair<Type, std::string>>{{Type::kAdded, "ns/a@11"}}));
  // The event between the failures resets the backoff.
  EXPECT_EQ(clock_.Sleeps(), (std::vector<std::chrono::nanoseconds>{1ms, 1ms}));
}

TEST_F(ReflectorUnitTest, AFailedListIsRetriedAndNothingIsSyncedBeforeIt) {
  transport_->Push(Reply(503, R"({"kind":"Status","reason":"ServiceUnavailable","code":503})"));
  transport_->Push(Failure(ErrorCode::kUnavailable, "connection refused"));
  transport_->Push(Reply(200, ListBody("10", {Object("a", "5")})));
  transport_->Push(QuietWatch());
  Start();
  WaitForScriptToRunOut();
  EXPECT_TRUE(reflector_->HasSynced());
  EXPECT_EQ(reflector_->Stats().failures, 2);
  EXPECT_EQ(clock_.Sleeps(), (std::vector<std::chrono::nanoseconds>{1ms, 2ms})) << "backed off, doubling";
  EXPECT_EQ(Seen(), (std::vector<std::pair<Type, std::string>>{{Type::kAdded, "ns/a@5"}}));
}

TEST_F(ReflectorUnitTest, AForbiddenWatchStartsOverFromAList) {
  transport_->Push(Reply(200, ListBody("10", {Object("a", "5")})));
  transport_->Push(Reply(403, R"({"kind":"Status","reason":"Forbidden","code":403,"message":"no"})"));
  transport_->Push(Reply(200, ListBody("12", {Object("a", "5")})));
  transport_->Push(QuietWatch());
  Start();
  WaitForScriptToRunOut();
  EXPECT_EQ(reflector_->Stats().lists, 2);
  EXPECT_EQ(Seen(), (std::vector<std::pair<Type, std::string>>{{Type::kAdded, "ns/a@5"}})) << "no change, no delta";
}

TEST_F(ReflectorUnitTest, StopEndsAQuietWatch) {
  transport_->Push(Reply(200, ListBody("10", {})));
  transport_->Push(QuietWatch());
  Start();
  WaitForScriptToRunOut();
  Stop();  // returns: the hold ends on the request's stop token
  EXPECT_FALSE(thread_.joinable());
}

}  // namespace
}  // namespace ctask::kube
