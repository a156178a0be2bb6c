// KubeClient over a scripted transport: what each verb sends (method, path,
// query, headers, body) and how answers and failures come back.
#include "kube/client.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/fake_transport.h"

namespace ctask::kube {
namespace {

using fakes::Failure;
using fakes::FakeReply;
using fakes::FakeTransport;
using fakes::Header;
using fakes::Reply;
using fakes::StreamReply;

constexpr const char* kServer = "https://k8s.test:6443";

class KubeClientTest : public ::testing::Test {
 protected:
  KubeClient& client() {
    if (!client_) {
      auto transport = std::make_unique<FakeTransport>();
      fake_ = transport.get();
      for (FakeReply& reply : pending_) fake_->Push(std::move(reply));
      pending_.clear();
      ClientOptions options;
      options.qps = 0;  // no waiting in tests
      options.on_request = on_request_;
      client_ = std::make_unique<KubeClient>(std::move(transport), std::string(kServer) + "/", token_, options);
    }
    return *client_;
  }
  void Push(FakeReply reply) {
    if (fake_ != nullptr) {
      fake_->Push(std::move(reply));
    } else {
      pending_.push_back(std::move(reply));
    }
  }
  std::vector<http::Request> requests() { return fake_->requests(); }
  http::Request only_request() {
    std::vector<http::Request> all = requests();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? http::Request{} : all.front();
  }

  TokenProvider token_ = [] { return Result<std::string>("tok-123"); };
  std::function<void(std::string_view, int)> on_request_;  // ClientOptions::on_request; unset by default
  std::vector<FakeReply> pending_;
  FakeTransport* fake_ = nullptr;
  std::unique_ptr<KubeClient> client_;
};

api::Json Task(std::string name) {
  return {{"apiVersion", "ctask.io/v1alpha1"},
          {"kind", "ContainerTask"},
          {"metadata", {{"name", name}, {"namespace", "y"}, {"resourceVersion", "7"}}},
          {"spec", {{"image", "busybox"}}}};
}

std::string StatusBody(int code, std::string reason, std::string message) {
  return api::Json{{"kind", "Status"}, {"code", code}, {"reason", reason}, {"message", message}}.dump();
}

TEST_F(KubeClientTest, GetSendsPathAcceptAndBearerToken) {
  Push(Reply(200, Task("x").dump()));
  Result<api::Json> got = client().Get(resources::ContainerTasks(), "y", "x");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ((*got)["metadata"]["name"], "x");
  const http::Request request = only_request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.url, std::string(kServer) + "/apis/ctask.io/v1alpha1/namespaces/y/containertasks/x");
  EXPECT_EQ(Header(request, "Authorization"), "Bearer tok-123");
  EXPECT_EQ(Header(request, "Accept"), "application/json");
  EXPECT_EQ(Header(request, "User-Agent"), "ctask");
  EXPECT_EQ(request.timeout, std::chrono::milliseconds(30'000));
  EXPECT_EQ(Header(request, "Content-Type"), std::nullopt);
}

TEST_F(KubeClientTest, NoAuthorizationWhenTokenIsEmpty) {
  token_ = [] { return Result<std::string>(""); };
  Push(Reply(200, "{}"));
  ASSERT_TRUE(client().Get(resources::Pods(), "y", "p").has_value());
  EXPECT_EQ(Header(only_request(), "Authorization"), std::nullopt);
}

TEST_F(KubeClientTest, TokenProviderErrorIsReturnedAndNothingSent) {
  token_ = [] { return Result<std::string>(MakeError(ErrorCode::kFailedPrecondition, "token file is empty")); };
  Push(Reply(200, "{}"));
  Result<api::Json> got = client().Get(resources::ContainerTasks(), "y", "x");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(got.error().message(), R"(get containertasks.ctask.io "x" in namespace "y": token file is empty)");
  EXPECT_TRUE(requests().empty());
}

TEST_F(KubeClientTest, ErrorMessageNamesVerbAndObject) {
  Push(Reply(404, StatusBody(404, "NotFound", R"(containertasks.ctask.io "x" not found)")));
  Result<api::Json> got = client().Get(resources::ContainerTasks(), "y", "x");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(got.error().http_status(), 404);
  EXPECT_EQ(got.error().message().rfind(R"(get containertasks.ctask.io "x" in namespace "y": )", 0), 0u)
      << got.error().message();
}

TEST_F(KubeClientTest, TransportErrorKeepsCodeWithContext) {
  Push(Failure(ErrorCode::kUnavailable, "connection refused"));
  Result<api::Json> got = client().Get(resources::Pods(), "y", "p");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(got.error().message(), R"(get pods "p" in namespace "y": connection refused)");
}

TEST_F(KubeClientTest, NonJsonSuccessIsUnavailable) {
  Push(Reply(200, "<html>"));
  Result<api::Json> got = client().Get(resources::Pods(), "y", "p");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kUnavailable);
}

TEST_F(KubeClientTest, CreatePostsJsonWithFieldManagerAndDryRun) {
  Push(Reply(201, Task("x").dump()));
  WriteOptions options;
  options.dry_run = true;
  ASSERT_TRUE(client().Create(resources::ContainerTasks(), "y", Task("x"), options).has_value());
  const http::Request request = only_request();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(
      request.url,
      std::string(kServer) +
          "/apis/ctask.io/v1alpha1/namespaces/y/containertasks?dryRun=All&fieldManager=ctask&fieldValidation=Strict");
  EXPECT_EQ(Header(request, "Content-Type"), "application/json");
  EXPECT_EQ(api::Json::parse(request.body), Task("x"));
}

TEST_F(KubeClientTest, CreateAlreadyExists) {
  Push(Reply(409, StatusBody(409, "AlreadyExists", "exists")));
  Result<api::Json> got = client().Create(resources::ContainerTasks(), "y", Task("x"));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(got.error().message().rfind(R"(create containertasks.ctask.io "x" in namespace "y": exists)", 0), 0u);
}

TEST_F(KubeClientTest, CreateWithOddMetadataDoesNotThrow) {
  Push(Reply(201, "{}"));
  api::Json object = {{"metadata", {{"name", 5}}}};
  EXPECT_NO_THROW(EXPECT_TRUE(client().Create(resources::ConfigMaps(), "y", object).has_value()));
}

TEST_F(KubeClientTest, UpdatePutsToTheObjectsName) {
  Push(Reply(200, Task("x").dump()));
  ASSERT_TRUE(client().Update(resources::ContainerTasks(), "y", Task("x")).has_value());
  const http::Request request = only_request();
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.url,
            std::string(kServer) +
                "/apis/ctask.io/v1alpha1/namespaces/y/containertasks/x?fieldManager=ctask&fieldValidation=Strict");
  EXPECT_EQ(Header(request, "Content-Type"), "application/json");
}

TEST_F(KubeClientTest, UpdateConflict) {
  Push(Reply(409, StatusBody(409, "Conflict", "the object has been modified")));
  Result<api::Json> got = client().Update(resources::ContainerTasks(), "y", Task("x"));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(got.error().reason(), "Conflict");
}

TEST_F(KubeClientTest, UpdateWithoutNameIsInvalidAndSendsNothing) {
  api::Json object = Task("x");
  object["metadata"].erase("name");
  Result<api::Json> got = client().Update(resources::ContainerTasks(), "y", object);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(got.error().message().find("metadata.name"), std::string::npos);
  EXPECT_TRUE(requests().empty());
}

TEST_F(KubeClientTest, UpdateStatusPutsToStatusSubresource) {
  Push(Reply(200, "{}"));
  ASSERT_TRUE(client().UpdateStatus(resources::ContainerTasks(), "y", Task("x")).has_value());
  EXPECT_EQ(
      only_request().url,
      std::string(kServer) +
          "/apis/ctask.io/v1alpha1/namespaces/y/containertasks/x/status?fieldManager=ctask&fieldValidation=Strict");
}

TEST_F(KubeClientTest, MergePatchContentType) {
  Push(Reply(200, "{}"));
  const api::Json patch = {{"metadata", {{"labels", {{"a", nullptr}}}}}};
  ASSERT_TRUE(client().MergePatch(resources::ContainerTasks(), "y", "x", patch, "status").has_value());
  const http::Request request = only_request();
  EXPECT_EQ(request.method, "PATCH");
  EXPECT_EQ(
      request.url,
      std::string(kServer) +
          "/apis/ctask.io/v1alpha1/namespaces/y/containertasks/x/status?fieldManager=ctask&fieldValidation=Strict");
  EXPECT_EQ(Header(request, "Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(api::Json::parse(request.body), patch);
}

TEST_F(KubeClientTest, ApplyIsForcedServerSideApply) {
  Push(Reply(200, "{}"));
  ApplyOptions options;
  options.dry_run = true;
  ASSERT_TRUE(client().Apply(resources::Jobs(), "y", api::Json{{"metadata", {{"name", "j"}}}}, options).has_value());
  const http::Request request = only_request();
  EXPECT_EQ(request.method, "PATCH");
  EXPECT_EQ(request.url,
            std::string(kServer) +
                "/apis/batch/v1/namespaces/y/jobs/j?fieldManager=ctask&force=true&dryRun=All&fieldValidation=Strict");
  EXPECT_EQ(Header(request, "Content-Type"), "application/apply-patch+yaml");
}

TEST_F(KubeClientTest, DeleteSendsOptionsBody) {
  Push(Reply(200, "{}"));
  DeleteOptions options;
  options.propagation_policy = "Foreground";
  options.precondition_uid = "uid-1";
  options.precondition_resource_version = "42";
  options.grace_period_seconds = 0;
  ASSERT_TRUE(client().Delete(resources::Pods(), "y", "p", options).has_value());
  const http::Request request = only_request();
  EXPECT_EQ(request.method, "DELETE");
  EXPECT_EQ(request.url, std::string(kServer) + "/api/v1/namespaces/y/pods/p");
  EXPECT_EQ(Header(request, "Content-Type"), "application/json");
  const api::Json body = api::Json::parse(request.body);
  EXPECT_EQ(body["kind"], "DeleteOptions");
  EXPECT_EQ(body["propagationPolicy"], "Foreground");
  EXPECT_EQ(body["preconditions"]["uid"], "uid-1");
  EXPECT_EQ(body["preconditions"]["resourceVersion"], "42");
  EXPECT_EQ(body["gracePeriodSeconds"], 0);
  EXPECT_FALSE(body.contains("dryRun"));
}

TEST_F(KubeClientTest, DeleteDryRunAndNotFound) {
  Push(Reply(404, StatusBody(404, "NotFound", "gone")));
  DeleteOptions options;
  options.dry_run = true;
  Status deleted = client().Delete(resources::Pods(), "y", "p", options);
  ASSERT_FALSE(deleted.has_value());
  EXPECT_EQ(deleted.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(api::Json::parse(only_request().body)["dryRun"], api::Json::array({"All"}));
}

TEST_F(KubeClientTest, ListFillsApiVersionAndKind) {
  Push(Reply(200, R"({"kind":"PodList","metadata":{"resourceVersion":"100","continue":"c1"},
                      "items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]})"));
  ListOptions options;
  options.label_selector = "app=x,tier!=db";
  options.limit = 2;
  Result<ObjectList> list = client().List(resources::Pods(), "y", options);
  ASSERT_TRUE(list.has_value()) << list.error().message();
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0]["apiVersion"], "v1");
  EXPECT_EQ(list->items[0]["kind"], "Pod");
  EXPECT_EQ(list->items[1]["metadata"]["name"], "b");
  EXPECT_EQ(list->resource_version, "100");
  EXPECT_EQ(list->continue_token, "c1");
  EXPECT_EQ(only_request().url,
            std::string(kServer) + "/api/v1/namespaces/y/pods?labelSelector=app%3Dx%2Ctier%21%3Ddb&limit=2");
}

TEST_F(KubeClientTest, ListOfSomethingElseIsUnavailable) {
  Push(Reply(200, R"({"kind":"Pod"})"));
  Result<ObjectList> list = client().List(resources::Pods(), "");
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(list.error().message().find("list pods in all namespaces"), std::string::npos);
}

TEST_F(KubeClientTest, ListAllFollowsContinueTokens) {
  Push(Reply(200, R"({"metadata":{"resourceVersion":"9","continue":"c1"},"items":[{"metadata":{"name":"a"}}]})"));
  Push(Reply(200, R"({"metadata":{"resourceVersion":"9","continue":"c2"},"items":[{"metadata":{"name":"b"}}]})"));
  Push(Reply(200, R"({"metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"c"}}]})"));
  ListOptions options;
  options.resource_version = "5";
  options.resource_version_match = "NotOlderThan";
  Result<ObjectList> all = client().ListAll(resources::ContainerTasks(), "y", options, 1);
  ASSERT_TRUE(all.has_value()) << all.error().message();
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[2]["metadata"]["name"], "c");
  EXPECT_EQ(all->items[2]["kind"], "ContainerTask");
  EXPECT_EQ(all->resource_version, "9");
  EXPECT_EQ(all->continue_token, "");
  const std::vector<http::Request> sent = requests();
  ASSERT_EQ(sent.size(), 3u);
  const std::string base = std::string(kServer) + "/apis/ctask.io/v1alpha1/namespaces/y/containertasks";
  EXPECT_EQ(sent[0].url, base + "?limit=1&resourceVersion=5&resourceVersionMatch=NotOlderThan");
  EXPECT_EQ(sent[1].url, base + "?limit=1&continue=c1");
  EXPECT_EQ(sent[2].url, base + "?limit=1&continue=c2");
}

// `each` sees every item before the next page is asked for: an informer
// transforms one page of whole objects at a time.
TEST_F(KubeClientTest, ListAllAppliesEachToAPageAsItArrives) {
  Push(Reply(200, R"({"metadata":{"resourceVersion":"9","continue":"c1"},"items":[{"metadata":{"name":"a"}}]})"));
  Push(Reply(200, R"({"metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"b"}}]})"));
  std::vector<std::string> seen;  // "<name> after <requests sent>"
  Result<ObjectList> all = client().ListAll(resources::Pods(), "y", {}, 1, [&](api::Json& item) {
    seen.push_back(item["metadata"]["name"].get<std::string>() + " after " + std::to_string(requests().size()));
    item.erase("metadata");
  });
  ASSERT_TRUE(all.has_value()) << all.error().message();
  EXPECT_EQ(seen, (std::vector<std::string>{"a after 1", "b after 2"}));
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_FALSE(all->items[0].contains("metadata"));  // what the list keeps is what `each` left
}

TEST_F(KubeClientTest, ListAllExpiredContinueToken) {
  Push(Reply(200, R"({"metadata":{"continue":"c1"},"items":[]})"));
  Push(Reply(410, StatusBody(410, "Expired", "continue token too old")));
  Result<ObjectList> all = client().ListAll(resources::Pods(), "y");
  ASSERT_FALSE(all.has_value());
  EXPECT_EQ(all.error().code(), ErrorCode::kExpired);
}

const std::string kWatchEvents = R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}})"
                                 "\n"
                                 R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"2"}}})"
                                 "\n"
                                 R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"3"}}})"
                                 "\n";

TEST_F(KubeClientTest, WatchDeliversEventsInOrder) {
  // Chunks cut through the middle of events.
  Push(StreamReply({kWatchEvents.substr(0, 30), kWatchEvents.substr(30, 80), kWatchEvents.substr(110)}));
  WatchOptions options;
  options.resource_version = "1";
  options.timeout_seconds = 300;
  options.label_selector = "app=x";
  std::vector<std::string> seen;
  Status watched = client().Watch(resources::ContainerTasks(), "", options, [&](WatchEvent& event) {
    seen.push_back(event.type + "/" + event.object["metadata"]["resourceVersion"].get<std::string>());
    return true;
  });
  ASSERT_TRUE(watched.has_value()) << watched.error().message();
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED/1", "BOOKMARK/2", "MODIFIED/3"}));
  const http::Request request = only_request();
  EXPECT_EQ(request.url, std::string(kServer) +
                             "/apis/ctask.io/v1alpha1/containertasks?watch=true&labelSelector=app%3Dx&resourceVersion="
                             "1&allowWatchBookmarks=true&timeoutSeconds=300");
  EXPECT_EQ(request.timeout, std::chrono::milliseconds(0));
}

TEST_F(KubeClientTest, WatchErrorEventExpired) {
  const api::Json status = {
      {"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old resource version: 1 (5)"}};
  Push(StreamReply({api::Json{{"type", "ERROR"}, {"object", status}}.dump() + "\n"}));
  int seen = 0;
  Status watched = client().Watch(resources::Pods(), "y", {}, [&](WatchEvent&) { return ++seen, true; });
  ASSERT_FALSE(watched.has_value());
  EXPECT_EQ(watched.error().code(), ErrorCode::kExpired);
  EXPECT_EQ(watched.error().http_status(), 410);
  EXPECT_EQ(seen, 0);
  EXPECT_EQ(watched.error().message().rfind(R"(watch pods in namespace "y": too old resource version)", 0), 0u);
}

TEST_F(KubeClientTest, WatchHttp410IsExpired) {
  Push(Reply(410, StatusBody(410, "Expired", "too old")));
  Status watched = client().Watch(resources::Pods(), "y", {}, [](WatchEvent&) { return true; });
  ASSERT_FALSE(watched.has_value());
  EXPECT_EQ(watched.error().code(), ErrorCode::kExpired);
  EXPECT_EQ(watched.error().http_status(), 410);
}

TEST_F(KubeClientTest, WatchCallerStopIsCancelled) {
  Push(StreamReply({kWatchEvents}));
  int seen = 0;
  Status watched = client().Watch(resources::Pods(), "y", {}, [&](WatchEvent&) { return ++seen < 2; });
  ASSERT_FALSE(watched.has_value());
  EXPECT_EQ(watched.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(seen, 2);
}

TEST_F(KubeClientTest, WatchTransportErrorWithContext) {
  FakeReply reply = StreamReply({kWatchEvents.substr(0, 50)});
  reply.end_error = Error(ErrorCode::kUnavailable, "connection reset");
  Push(std::move(reply));
  Status watched = client().Watch(resources::Pods(), "y", {}, [](WatchEvent&) { return true; });
  ASSERT_FALSE(watched.has_value());
  EXPECT_EQ(watched.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(watched.error().message(), R"(watch pods in namespace "y": connection reset)");
}

TEST_F(KubeClientTest, WatchBrokenLineIsUnavailable) {
  Push(StreamReply({"not json\n"}));
  Status watched = client().Watch(resources::Pods(), "y", {}, [](WatchEvent&) { return true; });
  ASSERT_FALSE(watched.has_value());
  EXPECT_EQ(watched.error().code(), ErrorCode::kUnavailable);
}

TEST_F(KubeClientTest, LogsQuery) {
  Push(StreamReply({"line 1\n", "line 2\n"}));
  LogOptions options;
  options.container = "main";
  options.timestamps = true;
  options.tail_lines = 10;
  options.follow = true;  // Logs never follows
  Result<std::string> text = client().Logs("y", "p", options);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text, "line 1\nline 2\n");
  const http::Request request = only_request();
  EXPECT_EQ(request.url,
            std::string(kServer) + "/api/v1/namespaces/y/pods/p/log?container=main&timestamps=true&tailLines=10");
  EXPECT_EQ(request.timeout, std::chrono::milliseconds(30'000));
}

TEST_F(KubeClientTest, CallSendsRawPath) {
  Push(Reply(200, R"({"gitVersion":"v1.31.0"})"));
  Result<api::Json> version = client().Call("GET", "/version", "read the server version");
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ((*version)["gitVersion"], "v1.31.0");
  EXPECT_EQ(only_request().url, std::string(kServer) + "/version");
}

// ---- ClientOptions::on_request ----

TEST_F(KubeClientTest, OnRequestReportsEveryRequestsVerbAndStatus) {
  std::vector<std::string> seen;
  on_request_ = [&](std::string_view verb, int status) {
    seen.push_back(std::string(verb) + " " + std::to_string(status));
  };
  Push(Reply(200, Task("x").dump()));
  Push(Reply(404, StatusBody(404, "NotFound", "nope")));
  Push(Failure(ErrorCode::kUnavailable, "connection refused"));
  Push(Reply(200, R"({"metadata":{"resourceVersion":"5"},"items":[]})"));
  Push(Reply(201, Task("x").dump()));
  Push(Reply(409, StatusBody(409, "Conflict", "stale")));
  Push(Reply(200, Task("x").dump()));
  Push(Reply(200, Task("x").dump()));
  Push(Reply(200, Task("x").dump()));
  Push(Reply(200, "{}"));
  Push(Reply(200, R"({"gitVersion":"v1"})"));

  const Resource tasks = resources::ContainerTasks();
  EXPECT_TRUE(client().Get(tasks, "y", "x").has_value());
  EXPECT_FALSE(client().Get(tasks, "y", "gone").has_value());
  EXPECT_FALSE(client().Get(tasks, "y", "x").has_value());
  EXPECT_TRUE(client().List(tasks, "y").has_value());
  EXPECT_TRUE(client().Create(tasks, "y", Task("x")).has_value());
  EXPECT_FALSE(client().Update(tasks, "y", Task("x")).has_value());
  EXPECT_TRUE(client().UpdateStatus(tasks, "y", Task("x")).has_value());
  EXPECT_TRUE(client().MergePatch(tasks, "y", "x", api::Json{{"a", 1}}).has_value());
  EXPECT_TRUE(client().Apply(tasks, "y", Task("x")).has_value());
  EXPECT_TRUE(client().Delete(tasks, "y", "x").has_value());
  EXPECT_TRUE(client().Call("GET", "/version", "read the server version").has_value());
  EXPECT_EQ(seen, (std::vector<std::string>{"get 200", "get 404", "get 0", "list 200", "create 201", "update 409",
                                            "update 200", "patch 200", "apply 200", "delete 200", "get 200"}));
}

TEST_F(KubeClientTest, OnRequestReportsStreamsWhenTheyEnd) {
  std::vector<std::string> seen;
  on_request_ = [&](std::string_view verb, int status) {
    seen.push_back(std::string(verb) + " " + std::to_string(status));
  };
  Push(StreamReply({kWatchEvents}));                        // ends cleanly
  Push(Reply(410, StatusBody(410, "Expired", "too old")));  // refused
  FakeReply cut = StreamReply({kWatchEvents.substr(0, 50)});
  cut.end_error = Error(ErrorCode::kUnavailable, "connection reset");
  Push(std::move(cut));                                          // answered 200, then cut
  Push(Failure(ErrorCode::kUnavailable, "connection refused"));  // never answered
  Push(StreamReply({kWatchEvents}));                             // the caller stops it
  Push(StreamReply({"line 1\n"}));

  const Resource pods = resources::Pods();
  auto all = [](WatchEvent&) { return true; };
  EXPECT_TRUE(client().Watch(pods, "y", {}, all).has_value());
  EXPECT_FALSE(client().Watch(pods, "y", {}, all).has_value());
  EXPECT_FALSE(client().Watch(pods, "y", {}, all).has_value());
  EXPECT_FALSE(client().Watch(pods, "y", {}, all).has_value());
  EXPECT_FALSE(client().Watch(pods, "y", {}, [](WatchEvent&) { return false; }).has_value());
  EXPECT_TRUE(client().Logs("y", "p", {}).has_value());
  EXPECT_EQ(seen,
            (std::vector<std::string>{"watch 200", "watch 410", "watch 200", "watch 0", "watch 200", "logs 200"}));
}

TEST_F(KubeClientTest, OnRequestUnsetChangesNothing) {
  Push(Reply(200, Task("x").dump()));
  EXPECT_TRUE(client().Get(resources::ContainerTasks(), "y", "x").has_value());
}

TEST(DescribeTest, NamesVerbAndObject) {
  EXPECT_EQ(Describe("get", resources::ContainerTasks(), "y", "x"),
            R"(get containertasks.ctask.io "x" in namespace "y")");
  EXPECT_EQ(Describe("list", resources::Pods(), ""), "list pods in all namespaces");
  EXPECT_EQ(Describe("delete", resources::Namespaces(), "", "dev"), R"(delete namespaces "dev")");
}

}  // namespace
}  // namespace ctask::kube
