// The Kubernetes operator's lifetime (kube_operator.h) over the fake
// transport: the checks that end it before anything runs, and a stop before
// the caches synced. The whole run (workers, leader election, the metrics
// port) is proven against the real API server by tests/operator/ and
// tests/cluster/leader_election_test.cc.
#include "backends/kubernetes/kube_operator.h"

#include <gtest/gtest.h>

#include "fakes/fake_transport.h"

namespace ctask::backends {
namespace {

using fakes::FakeTransport;
using fakes::Reply;

class KubeOperatorRunTest : public ::testing::Test {
 protected:
  KubeOperatorRunTest() {
    auto transport = std::make_unique<FakeTransport>();
    fake_ = transport.get();
    kube::ClientOptions options;
    options.qps = 0;
    client_ = std::make_unique<kube::KubeClient>(
        std::move(transport), "https://k8s.test:6443/", [] { return Result<std::string>("tok"); }, options);
  }

  KubeOperatorOptions Options() {
    KubeOperatorOptions options;
    options.backend.metrics = &metrics_;
    options.http_address = "127.0.0.1:0";
    return options;
  }

  FakeTransport* fake_ = nullptr;
  std::unique_ptr<kube::KubeClient> client_;
  metrics::OperatorMetrics metrics_;
};

TEST_F(KubeOperatorRunTest, WithoutTheCrdItSaysHowToInstallItAndStartsNothing) {
  fake_->Push(Reply(404, R"({"kind":"Status","code":404,"reason":"NotFound","message":"not found"})"));
  std::stop_source stop;
  Result<KubeOperatorEnd> end = RunKubeOperator(*client_, nullptr, Options(), stop.get_token());
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(end.error().message().find("containertasks.ctask.io"), std::string::npos) << end.error().message();
  EXPECT_NE(end.error().message().find("kubectl apply -f crds/"), std::string::npos) << end.error().message();
  // One list of at most one task (the permission the operator has anyway;
  // not a read of the CRD, which manifests/rbac.yaml does not grant).
  ASSERT_EQ(fake_->requests().size(), 1u);
  EXPECT_NE(fake_->requests()[0].url.find("/apis/ctask.io/v1alpha1/containertasks?limit=1"), std::string::npos)
      << fake_->requests()[0].url;
}

TEST_F(KubeOperatorRunTest, WithoutTheTaskQueueCrdItNamesThatOne) {
  fake_->Push(Reply(200, R"({"kind":"ContainerTaskList","metadata":{},"items":[]})"));
  fake_->Push(Reply(404, R"({"kind":"Status","code":404,"reason":"NotFound","message":"not found"})"));
  std::stop_source stop;
  Result<KubeOperatorEnd> end = RunKubeOperator(*client_, nullptr, Options(), stop.get_token());
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(end.error().message().find("taskqueues.ctask.io"), std::string::npos) << end.error().message();
  EXPECT_NE(end.error().message().find("kubectl apply -f crds/"), std::string::npos) << end.error().message();
}

TEST_F(KubeOperatorRunTest, AForbiddenListIsReportedAsItIsNotAsAMissingCrd) {
  fake_->Push(Reply(403, R"({"kind":"Status","code":403,"reason":"Forbidden","message":"containertasks.ctask.io is )"
                         R"(forbidden: User \"system:serviceaccount:x:y\" cannot list resource"})"));
  std::stop_source stop;
  Result<KubeOperatorEnd> end = RunKubeOperator(*client_, nullptr, Options(), stop.get_token());
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code(), ErrorCode::kPermissionDenied) << end.error().message();
  EXPECT_EQ(end.error().message().find("kubectl apply -f crds/"), std::string::npos) << end.error().message();
}

TEST_F(KubeOperatorRunTest, AnAddressThatCannotBeServedIsAnInvalidArgumentNamingTheFlag) {
  fake_->Push(Reply(200, R"({"kind":"ContainerTaskList","metadata":{},"items":[]})"));
  fake_->Push(Reply(200, R"({"kind":"TaskQueueList","metadata":{},"items":[]})"));
  KubeOperatorOptions options = Options();
  options.http_address = "not-an-address";
  std::stop_source stop;
  Result<KubeOperatorEnd> end = RunKubeOperator(*client_, nullptr, std::move(options), stop.get_token());
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(end.error().message().find("--http-address"), std::string::npos) << end.error().message();
}

TEST_F(KubeOperatorRunTest, AnElectionThatCannotWorkIsRefusedBeforeAnythingStarts) {
  fake_->Push(Reply(200, R"({"kind":"ContainerTaskList","metadata":{},"items":[]})"));
  fake_->Push(Reply(200, R"({"kind":"TaskQueueList","metadata":{},"items":[]})"));
  KubeOperatorOptions options = Options();
  options.election.emplace();
  options.election->lease_namespace = "ctask-system";
  options.election->lease_name = "ctask-operator";
  options.election->identity = "me";
  options.election->renew_deadline = options.election->lease_duration;  // must be shorter
  std::stop_source stop;
  Result<KubeOperatorEnd> end = RunKubeOperator(*client_, client_.get(), std::move(options), stop.get_token());
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(fake_->requests().size(), 2u);
}

TEST_F(KubeOperatorRunTest, AStopBeforeTheCachesSyncedEndsItCleanly) {
  fake_->Push(Reply(200, R"({"kind":"ContainerTaskList","metadata":{},"items":[]})"));
  fake_->Push(Reply(200, R"({"kind":"TaskQueueList","metadata":{},"items":[]})"));
  std::stop_source stop;
  stop.request_stop();
  Result<KubeOperatorEnd> end = RunKubeOperator(*client_, nullptr, Options(), stop.get_token());
  ASSERT_TRUE(end) << end.error().message();
  EXPECT_EQ(*end, KubeOperatorEnd::kStopped);
}

}  // namespace
}  // namespace ctask::backends
