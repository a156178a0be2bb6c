// JobRuntime over the scripted transport: what Apply makes of the API
// server's answers to the Job create. A refusal no retry can fix (422, an
// RBAC 403) is a terminal error (reconcile/outcome.h) whose message names
// the field or the permission; a quota's 403 is transient.
#include "backends/kubernetes/job_runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "fakes/fake_clock.h"
#include "fakes/fake_transport.h"
#include "fakes/listed_informer.h"
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

// DeleteAll (a task's workload TTL) finds the task's Jobs by its UID in the
// index, not by a scan of every cached Job, and deletes only those it
// controls in its namespace, each in the background and only that
// incarnation.
TEST_F(JobRuntimeTest, DeleteAllDeletesTheTasksOwnJobsOnly) {
  const std::string uid = Task().metadata.uid;
  auto job = [](const std::string& ns, const std::string& name, const std::string& task_uid,
                const std::string& owner_uid) {
    return api::Json{
        {"apiVersion", "batch/v1"},
        {"kind", "Job"},
        {"metadata",
         {{"name", name},
          {"namespace", ns},
          {"uid", "uid-of-" + name},
          {"resourceVersion", "9"},
          {"labels", {{"ctask.io/task-uid", task_uid}, {"ctask.io/attempt", name.substr(name.size() - 1)}}},
          {"ownerReferences", api::Json::array({{{"uid", owner_uid}, {"controller", true}}})}}},
        {"spec", api::Json::object()},
        {"status", api::Json::object()}};
  };
  const api::Json list = {
      {"kind", "JobList"},
      {"metadata", {{"resourceVersion", "9"}}},
      {"items", api::Json::array({job("team", "neg-1", uid, uid), job("team", "neg-2", uid, uid),
                                  job("team", "other-1", "other-uid", "other-uid"),
                                  job("team", "stray-1", uid, "someone-else"), job("elsewhere", "neg-1", uid, uid)})}};
  ASSERT_TRUE(fakes::StartListed(*fake_, *jobs_, list));
  const size_t before = fake_->requests().size();

  fake_->Push(Reply(200, R"({"kind":"Status","status":"Success"})"));
  fake_->Push(Reply(200, R"({"kind":"Status","status":"Success"})"));
  ASSERT_TRUE(runtime_->DeleteAll(Task()));
  const std::vector<http::Request> sent = fake_->requests();  // a copy: requests() returns by value
  std::vector<std::string> deleted;
  for (size_t i = before; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].method, "DELETE") << sent[i].url;
    const api::Json options = api::Json::parse(sent[i].body);
    EXPECT_EQ(options["propagationPolicy"], "Background");
    EXPECT_EQ(options["preconditions"]["uid"], "uid-of-" + sent[i].url.substr(sent[i].url.rfind('/') + 1));
    deleted.push_back(sent[i].url.substr(sent[i].url.find("/namespaces/")));
  }
  std::sort(deleted.begin(), deleted.end());
  EXPECT_EQ(deleted, (std::vector<std::string>{"/namespaces/team/jobs/neg-1", "/namespaces/team/jobs/neg-2"}));
  jobs_->Stop();
}

}  // namespace
}  // namespace ctask::backends
