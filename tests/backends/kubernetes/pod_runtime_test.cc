// PodRuntime and KubeRuntime over the scripted transport: which object an
// attempt becomes (a fan-out item's bare pod; a Job otherwise, and for
// Kueue), what Apply makes of the API server's answers to the pod create,
// and how a pod is stopped. The items' whole life against the real API
// server is tests/operator/fan_out_test.cc's.
#include "backends/kubernetes/pod_runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "backends/kubernetes/kube_runtime.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_transport.h"
#include "fakes/listed_informer.h"
#include "reconcile/outcome.h"

namespace ctask::backends {
namespace {

namespace resources = kube::resources;
using api::Json;
using fakes::FakeTransport;
using fakes::Reply;

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return Json{{"kind", "Status"}, {"code", code}, {"reason", reason}, {"message", message}}.dump();
}

constexpr const char* kUid = "0b5c3a9e-1111-2222-3333-444455556666";

api::ContainerTask Item(int index = 3) {
  api::ContainerTask t;
  t.metadata.namespace_ = "team";
  t.metadata.name = "map";
  t.metadata.uid = kUid;
  t.metadata.generation = 1;
  t.spec.image = "busybox";
  t.item = api::ItemRef{.index = index, .value = "x", .count = 5};
  return t;
}

// The pod the server answers with: as created, owned by `owner_uid`.
std::string PodBody(const std::string& owner_uid, const std::string& pod_uid = "pod-uid-1") {
  Json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", "map-i3-a1"},
                {"namespace", "team"},
                {"uid", pod_uid},
                {"creationTimestamp", "2026-12-05T10:00:00Z"},
                {"ownerReferences", Json::array({{{"apiVersion", "ctask.io/v1alpha1"},
                                                  {"kind", "ContainerTask"},
                                                  {"name", "map"},
                                                  {"uid", owner_uid},
                                                  {"controller", true}}})}}},
              {"spec", {{"containers", Json::array({{{"name", "task"}, {"image", "busybox"}}})}}},
              {"status", {{"phase", "Pending"}}}};
  return pod.dump();
}

class PodRuntimeTest : public ::testing::Test {
 protected:
  PodRuntimeTest() {
    auto transport = std::make_unique<FakeTransport>();
    fake_ = transport.get();
    kube::ClientOptions options;
    options.qps = 0;
    client_ = std::make_unique<kube::KubeClient>(
        std::move(transport), "https://k8s.test:6443/", [] { return Result<std::string>("tok"); }, options);
    jobs_ =
        std::make_unique<kube::Informer>(*client_, kube::ReflectorOptions{.resource = resources::Jobs()}, AttemptIndex);
    pods_ =
        std::make_unique<kube::Informer>(*client_, kube::ReflectorOptions{.resource = resources::Pods()}, AttemptIndex);
    events_ = std::make_unique<kube::EventRecorder>(*client_, "ctask", "test");
    runtime_ = std::make_unique<KubeRuntime>(*client_, *jobs_, *pods_, *events_, nullptr, clock_);
  }

  fakes::FakeClock clock_{*ParseRfc3339("2026-12-05T10:00:00Z")};
  FakeTransport* fake_ = nullptr;
  std::unique_ptr<kube::KubeClient> client_;
  std::unique_ptr<kube::Informer> jobs_;
  std::unique_ptr<kube::Informer> pods_;
  std::unique_ptr<kube::EventRecorder> events_;
  std::unique_ptr<KubeRuntime> runtime_;
};

TEST_F(PodRuntimeTest, AnItemRunsAsAPodOwnedByItsTaskAndIsSeenBeforeTheCacheHasIt) {
  api::ContainerTask item = Item();
  item.spec.timeout_seconds = 60;
  fake_->Push(Reply(201, PodBody(kUid)));
  ASSERT_TRUE(runtime_->Apply(item, 1));
  const std::vector<http::Request> sent_requests = fake_->requests();  // a copy: requests() returns by value
  ASSERT_EQ(sent_requests.size(), 1u);
  const http::Request& create = sent_requests[0];
  EXPECT_EQ(create.method, "POST");
  EXPECT_NE(create.url.find("/api/v1/namespaces/team/pods"), std::string::npos) << create.url;
  const Json sent = Json::parse(create.body);
  EXPECT_EQ(sent["kind"], "Pod");
  EXPECT_EQ(sent["metadata"]["name"], "map-i3-a1");
  EXPECT_EQ(sent["spec"]["activeDeadlineSeconds"], 60);

  Result<runtime::Observation> seen = runtime_->Observe(item, 1);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->state, runtime::WorkloadState::kWaiting) << "created, not yet in the cache: not absent";
  // A second Apply adopts it: nothing is created twice.
  ASSERT_TRUE(runtime_->Apply(item, 1));
  EXPECT_EQ(fake_->requests().size(), 1u);
}

TEST_F(PodRuntimeTest, ATaskThatIsNoItemAndAKueueItemRunAsJobs) {
  api::ContainerTask single = Item();
  single.item.reset();
  fake_->Push(Reply(201, R"({"kind":"Job","metadata":{"name":"map-1","namespace":"team"}})"));
  ASSERT_TRUE(runtime_->Apply(single, 1));
  api::ContainerTask kueue = Item();
  kueue.metadata.labels["kueue.x-k8s.io/queue-name"] = "lq";
  fake_->Push(Reply(201, R"({"kind":"Job","metadata":{"name":"map-i3-a1","namespace":"team"}})"));
  ASSERT_TRUE(runtime_->Apply(kueue, 1));
  ASSERT_EQ(fake_->requests().size(), 2u);
  for (const http::Request& r : fake_->requests()) {
    EXPECT_NE(r.url.find("/apis/batch/v1/namespaces/team/jobs"), std::string::npos) << r.url;
  }
  EXPECT_FALSE(RunsAsPod(single));
  EXPECT_FALSE(RunsAsPod(kueue));
  EXPECT_TRUE(RunsAsPod(Item()));
}

TEST_F(PodRuntimeTest, AnItemAttemptBegunAsAJobByAnEarlierOperatorStaysAJob) {
  // The Jobs informer lists one: item 3's attempt 1, a Job of this task.
  const Json job = {{"apiVersion", "batch/v1"},
                    {"kind", "Job"},
                    {"metadata",
                     {{"name", "map-i3-a1"},
                      {"namespace", "team"},
                      {"uid", "job-uid"},
                      {"resourceVersion", "5"},
                      {"labels", {{"ctask.io/task-uid", kUid}, {"ctask.io/attempt", "1"}, {"ctask.io/item", "3"}}},
                      {"ownerReferences", Json::array({{{"uid", kUid}, {"controller", true}}})}}},
                    {"spec", Json::object()},
                    {"status", {{"active", 1}}}};
  const Json list = {{"kind", "JobList"}, {"metadata", {{"resourceVersion", "5"}}}, {"items", Json::array({job})}};
  ASSERT_TRUE(fakes::StartListed(*fake_, *jobs_, list));
  const size_t before = fake_->requests().size();

  ASSERT_TRUE(runtime_->Apply(Item(), 1)) << "adopted: the Job is this task's";
  Result<runtime::Observation> seen = runtime_->Observe(Item(), 1);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->workload_name, "map-i3-a1") << "observed as the Job it is";
  EXPECT_EQ(fake_->requests().size(), before) << "no pod created beside it";
  jobs_->Stop();
}

TEST_F(PodRuntimeTest, APodOfTheNameThatIsAnothersIsNeverTouchedAndTheAttemptIsRefused) {
  fake_->Push(Reply(409, StatusBody(409, "AlreadyExists", "pods \"map-i3-a1\" already exists")));
  fake_->Push(Reply(200, PodBody("someone-else")));
  Status applied = runtime_->Apply(Item(), 1);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(applied.error().message().find("pod map-i3-a1 exists and is not controlled by this task"),
            std::string::npos)
      << applied.error().message();
  Result<runtime::Observation> seen = runtime_->Observe(Item(), 1);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->state, runtime::WorkloadState::kWaiting);
  EXPECT_TRUE(seen->waiting_permanent);
  EXPECT_EQ(seen->waiting_reason, kReasonPodNameTaken);
}

TEST_F(PodRuntimeTest, APodTheServerRefusesAsInvalidIsTerminalAndNamesTheTasksField) {
  fake_->Push(Reply(422, StatusBody(422, "Invalid",
                                    "Pod \"map-i3-a1\" is invalid: spec.containers[0].resources.requests[cpu]: "
                                    "Invalid value: \"-2\": must be greater than or equal to 0")));
  Status applied = runtime_->Apply(Item(), 1);
  ASSERT_FALSE(applied);
  EXPECT_TRUE(reconcile::IsTerminalError(applied.error()));
  const std::string& message = applied.error().message();
  EXPECT_NE(message.find("refused the Pod rendered from the task as invalid"), std::string::npos) << message;
  EXPECT_NE(message.find("in the task that is spec.resources.requests[cpu]"), std::string::npos) << message;
}

TEST_F(PodRuntimeTest, StopDeletesThePodWithTheGraceAndOnlyThatIncarnation) {
  fake_->Push(Reply(201, PodBody(kUid, "pod-uid-7")));
  ASSERT_TRUE(runtime_->Apply(Item(), 1));
  fake_->Push(Reply(200, PodBody(kUid, "pod-uid-7")));
  ASSERT_TRUE(runtime_->Stop(Item(), 1, std::chrono::seconds(12)));
  const std::vector<http::Request> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 2u);
  const http::Request& del = sent[1];
  EXPECT_EQ(del.method, "DELETE");
  EXPECT_NE(del.url.find("/api/v1/namespaces/team/pods/map-i3-a1"), std::string::npos) << del.url;
  const Json options = Json::parse(del.body);
  EXPECT_EQ(options["gracePeriodSeconds"], 12);
  EXPECT_EQ(options["preconditions"]["uid"], "pod-uid-7");
  // Never seen by the cache and now deleted: gone, not waiting for good.
  Result<runtime::Observation> seen = runtime_->Observe(Item(), 1);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->state, runtime::WorkloadState::kAbsent);
}

TEST_F(PodRuntimeTest, DeletingAPodThatIsGoneIsSuccess) {
  fake_->Push(Reply(404, StatusBody(404, "NotFound", "pods \"map-i3-a1\" not found")));
  EXPECT_TRUE(runtime_->Delete(Item(), 1)) << "absent: nothing to do";
  ASSERT_EQ(fake_->requests().size(), 1u);
  EXPECT_EQ(fake_->requests()[0].method, "GET");
}

// A pod in the cache as the informer lists it: ctask's labels for `task_uid`
// (item, attempt) and a controller reference to `owner_uid`.
Json ListedPod(const std::string& ns, const std::string& name, const std::string& task_uid, const std::string& item,
               const std::string& owner_uid) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", "uid-of-" + name},
            {"resourceVersion", "7"},
            {"labels", {{"ctask.io/task-uid", task_uid}, {"ctask.io/attempt", "1"}, {"ctask.io/item", item}}},
            {"ownerReferences", Json::array({{{"uid", owner_uid}, {"controller", true}}})}}},
          {"spec", Json::object()},
          {"status", {{"phase", "Running"}}}};
}

TEST(AttemptIndexTest, AnObjectIsIndexedByItsAttemptAndByItsTask) {
  EXPECT_EQ(AttemptIndex(ListedPod("team", "map-i3-a1", kUid, "3", kUid)),
            (std::vector<std::string>{std::string(kUid) + "/i3/1", kUid}));
  EXPECT_EQ(AttemptIndexValue(Item(3), 1), std::string(kUid) + "/i3/1");
  EXPECT_TRUE(AttemptIndex(Json{{"metadata", {{"name", "unlabelled"}}}}).empty());
}

// DeleteAll (a task's workload TTL, its deletion) finds the task's pods by
// its UID in the index, not by a scan of every cached pod, and deletes only
// those it controls in its namespace.
TEST_F(PodRuntimeTest, DeleteAllDeletesTheTasksOwnPodsOnly) {
  const Json list = {{"kind", "PodList"},
                     {"metadata", {{"resourceVersion", "7"}}},
                     {"items", Json::array({
                                   ListedPod("team", "map-i0-a1", kUid, "0", kUid),
                                   ListedPod("team", "map-i1-a1", kUid, "1", kUid),
                                   ListedPod("team", "other-i0-a1", "other-uid", "0", "other-uid"),
                                   ListedPod("team", "stray-i2-a1", kUid, "2", "someone-else"),
                                   ListedPod("elsewhere", "map-i0-a1", kUid, "0", kUid),
                               })}};
  ASSERT_TRUE(fakes::StartListed(*fake_, *pods_, list));
  const size_t before = fake_->requests().size();

  fake_->Push(Reply(200, PodBody(kUid)));
  fake_->Push(Reply(200, PodBody(kUid)));
  ASSERT_TRUE(runtime_->DeleteAll(Item()));
  const std::vector<http::Request> sent = fake_->requests();  // a copy: requests() returns by value
  std::vector<std::string> deleted;
  for (size_t i = before; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].method, "DELETE") << sent[i].url;
    deleted.push_back(sent[i].url.substr(sent[i].url.find("/namespaces/")));
  }
  std::sort(deleted.begin(), deleted.end());
  EXPECT_EQ(deleted, (std::vector<std::string>{"/namespaces/team/pods/map-i0-a1", "/namespaces/team/pods/map-i1-a1"}));
  pods_->Stop();
}

}  // namespace
}  // namespace ctask::backends
