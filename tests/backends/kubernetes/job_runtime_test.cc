// JobRuntime over the scripted transport: what Apply makes of the API
// server's answers to the Job create. A refusal no retry can fix (422, an
// RBAC 403) is a terminal error (reconcile/outcome.h) whose message names
// the field or the permission; a quota's 403 is transient.
#include "backends/kubernetes/job_runtime.h"

#include <gtest/gtest.h>

#include <memory>

#include "fakes/fake_clock.h"
#include "fakes/fake_transport.h"
#include "reconcile/outcome.h"

namespace ctask::backends {

namespace resources = kube::resources;

using kube::ClientOptions;
using kube::EventRecorder;
using kube::Informer;
using kube::KubeClient;
using kube::ReflectorOptions;
namespace {

using fakes::FakeTransport;
using fakes::Reply;

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return api::Json{{"kind", "Status"}, {"code", code}, {"reason", reason}, {"message", message}}.dump();
}

class JobRuntimeTest : public ::testing::Test {
 protected:
  JobRuntimeTest() {
    auto transport = std::make_unique<FakeTransport>();
    fake_ = transport.get();
    ClientOptions options;
    options.qps = 0;
    client_ = std::make_unique<KubeClient>(
        std::move(transport), "https://k8s.test:6443/", [] { return Result<std::string>("tok"); }, options);
    jobs_ = std::make_unique<Informer>(*client_, ReflectorOptions{.resource = resources::Jobs()}, AttemptIndex);
    pods_ = std::make_unique<Informer>(*client_, ReflectorOptions{.resource = resources::Pods()}, AttemptIndex);
    events_ = std::make_unique<EventRecorder>(*client_, "ctask", "test");
    runtime_ = std::make_unique<JobRuntime>(*client_, *jobs_, *pods_, *events_, nullptr, clock_);
  }

  static api::ContainerTask Task() {
    api::ContainerTask t;
    t.metadata.namespace_ = "team";
    t.metadata.name = "neg";
    t.metadata.uid = "0b5c3a9e-1111-2222-3333-444455556666";
    t.metadata.generation = 1;
    t.spec.image = "busybox";
    return t;
  }

  fakes::FakeClock clock_{*ParseRfc3339("2026-12-03T10:00:00Z")};
  FakeTransport* fake_ = nullptr;
  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<Informer> jobs_;
  std::unique_ptr<Informer> pods_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<JobRuntime> runtime_;
};

TEST_F(JobRuntimeTest, AJobTheServerRefusesAsInvalidIsTerminalAndNamesTheTasksField) {
  fake_->Push(Reply(422, StatusBody(422, "Invalid",
                                    "Job.batch \"neg-1\" is invalid: spec.template.spec.containers[0].resources."
                                    "requests[cpu]: Invalid value: \"-2\": must be greater than or equal to 0")));
  Status applied = runtime_->Apply(Task(), 1);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(reconcile::IsTerminalError(applied.error()));
  const std::string& message = applied.error().message();
  EXPECT_NE(message.find("refused the Job rendered from the task as invalid"), std::string::npos) << message;
  EXPECT_NE(message.find("spec.template.spec.containers[0].resources.requests[cpu]"), std::string::npos) << message;
  EXPECT_NE(message.find("in the task that is spec.resources.requests[cpu]"), std::string::npos) << message;
  ASSERT_EQ(fake_->requests().size(), 1u);
  EXPECT_EQ(fake_->requests()[0].method, "POST");
  EXPECT_NE(fake_->requests()[0].url.find("/apis/batch/v1/namespaces/team/jobs"), std::string::npos);
}

TEST_F(JobRuntimeTest, AMissingPermissionIsTerminalAndNamesIt) {
  fake_->Push(Reply(403, StatusBody(403, "Forbidden",
                                    "jobs.batch is forbidden: User \"system:serviceaccount:ctask-system:ctask\" "
                                    "cannot create resource \"jobs\" in API group \"batch\" in the namespace "
                                    "\"team\"")));
  Status applied = runtime_->Apply(Task(), 1);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(reconcile::IsTerminalError(applied.error()));
  EXPECT_NE(applied.error().message().find("cannot create resource \"jobs\""), std::string::npos);
  EXPECT_NE(applied.error().message().find("grant the operator this permission"), std::string::npos);
}

TEST_F(JobRuntimeTest, AnExceededQuotaIsTransient) {
  fake_->Push(Reply(403, StatusBody(403, "Forbidden",
                                    "jobs.batch \"neg-1\" is forbidden: exceeded quota: jobs, requested: "
                                    "count/jobs.batch=1, used: count/jobs.batch=5, limited: count/jobs.batch=5")));
  Status applied = runtime_->Apply(Task(), 1);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(reconcile::IsTerminalError(applied.error()));
}

TEST_F(JobRuntimeTest, AnUnavailableServerIsTransient) {
  fake_->Push(Reply(503, StatusBody(503, "ServiceUnavailable", "etcd is away")));
  Status applied = runtime_->Apply(Task(), 1);
  ASSERT_FALSE(applied.has_value());
  EXPECT_FALSE(reconcile::IsTerminalError(applied.error()));
}

}  // namespace
}  // namespace ctask::backends
