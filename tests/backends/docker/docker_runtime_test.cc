// DockerRuntime: ObservationFromInspect on hand-written inspect JSON, then the
// runtime against the real daemon hack/docker-up.sh starts. Each test uses a
// namespace of its own ("rt-<pid>-<n>") and removes its containers by the
// ctask.io/namespace label afterwards.
#include "backends/docker/docker_runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/names.h"
#include "fakes/fake_clock.h"
#include "http/curl_client.h"
#include "render/labels.h"

namespace ctask::backends {

using docker::DockerClient;
using docker::DockerSocketPath;
namespace {

using runtime::Observation;
using runtime::WorkloadState;

// Forwards to the daemon and keeps "METHOD /path" of every request, so a
// test can say what a step cost the daemon.
class CountingTransport : public http::Client {
 public:
  explicit CountingTransport(http::ClientPtr inner) : inner_(std::move(inner)) {}
  Result<http::Response> Do(const http::Request& request) override {
    Note(request);
    return inner_->Do(request);
  }
  Result<http::Response> Stream(const http::Request& request, const http::DataCallback& on_data) override {
    Note(request);
    return inner_->Stream(request, on_data);
  }
  // The requests since the last call.
  std::vector<std::string> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(seen_, {});
  }

 private:
  void Note(const http::Request& request) {
    const size_t path = request.url.find('/', request.url.find("//") + 2);
    std::string what = request.method + " " + request.url.substr(path);
    what = what.substr(0, what.find('?'));
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(what));
  }
  http::ClientPtr inner_;
  std::mutex mu_;
  std::vector<std::string> seen_;  // guarded by mu_
};

constexpr const char* kImage = "ctask-test/busybox:latest";

// ---- ObservationFromInspect ------------------------------------------------

api::Json Inspect(const std::string& status, int exit_code = 0, const std::string& error = "", bool oom = false,
                  const std::string& started = "2026-11-23T10:00:01.123456789Z",
                  const std::string& finished = "2026-11-23T10:00:05.5Z") {
  return api::Json::parse(R"({"Id":"abc123","Name":"/ctask-default-t-1","Created":"2026-11-23T10:00:00.9Z",
    "State":{"Status":")" +
                          status + R"(","ExitCode":)" + std::to_string(exit_code) + R"(,"Error":")" + error +
                          R"(","OOMKilled":)" + (oom ? "true" : "false") + R"(,"StartedAt":")" + started +
                          R"(","FinishedAt":")" + finished + R"("}})");
}

const Timestamp kCreated = *ParseRfc3339("2026-11-23T10:00:00Z");
const Timestamp kStarted = *ParseRfc3339("2026-11-23T10:00:01Z");
const Timestamp kFinished = *ParseRfc3339("2026-11-23T10:00:05Z");
constexpr const char* kZero = "0001-01-01T00:00:00Z";

TEST(ObservationFromInspectTest, Created) {
  Observation o = ObservationFromInspect(Inspect("created", 0, "", false, kZero, kZero), 2);
  EXPECT_EQ(o.attempt, 2);
  EXPECT_EQ(o.state, WorkloadState::kWaiting);
  EXPECT_EQ(o.workload_name, "ctask-default-t-1");
  EXPECT_EQ(o.container_id, "abc123");
  EXPECT_EQ(o.created_at, kCreated);
  EXPECT_EQ(o.started_at, std::nullopt);
  EXPECT_EQ(o.finished_at, std::nullopt);
  EXPECT_EQ(o.exit_code, std::nullopt);
}

TEST(ObservationFromInspectTest, Running) {
  Observation o = ObservationFromInspect(Inspect("running", 0, "", false, "2026-11-23T10:00:01.5Z", kZero), 1);
  EXPECT_EQ(o.state, WorkloadState::kRunning);
  EXPECT_EQ(o.started_at, kStarted);
  EXPECT_EQ(o.finished_at, std::nullopt) << "the zero time is no time";
  EXPECT_EQ(o.exit_code, std::nullopt);
}

TEST(ObservationFromInspectTest, ExitedZeroAndThree) {
  for (int code : {0, 3}) {
    Observation o = ObservationFromInspect(Inspect("exited", code), 1);
    EXPECT_EQ(o.state, WorkloadState::kExited);
    EXPECT_EQ(o.exit_code, code);
    EXPECT_FALSE(o.oom_killed);
    EXPECT_EQ(o.started_at, kStarted);
    EXPECT_EQ(o.finished_at, kFinished);
    EXPECT_EQ(o.termination_message, "");
  }
}

TEST(ObservationFromInspectTest, OomKilled) {
  Observation o = ObservationFromInspect(Inspect("exited", 137, "", true), 1);
  EXPECT_EQ(o.state, WorkloadState::kExited);
  EXPECT_EQ(o.exit_code, 137);
  EXPECT_TRUE(o.oom_killed);
}

TEST(ObservationFromInspectTest, CreatedWithAnErrorHasExited) {
  // The command could not be started: Docker says so with 127 (not found)...
  Observation o = ObservationFromInspect(
      Inspect("created", 127, "exec: \\\"nope\\\": executable file not found", false, kZero, kZero), 1);
  EXPECT_EQ(o.state, WorkloadState::kExited);
  EXPECT_EQ(o.exit_code, 127);
  EXPECT_NE(o.termination_message.find("executable file not found"), std::string::npos);
  EXPECT_EQ(o.started_at, std::nullopt);
  EXPECT_EQ(o.finished_at, kCreated) << "no start or finish: dated by its creation";
  // ... or with no code at all: 128, as Kubernetes' StartError.
  o = ObservationFromInspect(Inspect("created", 0, "OCI runtime create failed", false, kZero, kZero), 1);
  EXPECT_EQ(o.state, WorkloadState::kExited);
  EXPECT_EQ(o.exit_code, 128);
}

TEST(ObservationFromInspectTest, ZeroTimesAreNullopt) {
  api::Json inspect = Inspect("exited", 1, "", false, kZero, kZero);
  inspect["Created"] = kZero;
  Observation o = ObservationFromInspect(inspect, 1);
  EXPECT_EQ(o.created_at, std::nullopt);
  EXPECT_EQ(o.started_at, std::nullopt);
  EXPECT_EQ(o.finished_at, std::nullopt);
}

TEST(ObservationFromInspectTest, MissingFieldsDoNotThrow) {
  Observation o = ObservationFromInspect(api::Json::object(), 1);
  EXPECT_EQ(o.state, WorkloadState::kExited);
  EXPECT_EQ(o.workload_name, "");
  o = ObservationFromInspect(api::Json::parse(R"({"State":"weird","Created":5})"), 1);
  EXPECT_EQ(o.created_at, std::nullopt);
}

// ---- against the daemon ----------------------------------------------------

class DockerRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    ns_ = "rt-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    Result<std::string> socket = DockerSocketPath();
    ASSERT_TRUE(socket.has_value()) << socket.error().message();
    http::CurlOptions options;
    options.unix_socket_path = *socket;
    http_ = std::make_unique<CountingTransport>(std::make_unique<http::CurlClient>(options));
    client_ = std::make_unique<DockerClient>(*http_, *socket);
    Status ping = client_->Ping();
    ASSERT_TRUE(ping.has_value()) << ping.error().message() << " (run hack/docker-up.sh)";
    DockerRuntimeOptions runtime_options;
    runtime_options.clock = &clock_;
    runtime_options.configs = configs_;
    runtime_ = std::make_unique<DockerRuntime>(*client_, runtime_options);
  }
  void TearDown() override {
    if (!client_) return;
    Result<std::vector<api::Json>> listed = client_->ListContainers({std::string(render::kLabelNamespace) + "=" + ns_});
    ASSERT_TRUE(listed.has_value()) << listed.error().message();
    for (const api::Json& c : *listed) {
      Status removed = client_->RemoveContainer(c.value("Id", ""), /*force=*/true);
      EXPECT_TRUE(removed.has_value()) << removed.error().message();
    }
  }

  api::ContainerTask Task(std::vector<std::string> command, std::string name = "t") {
    static std::atomic<int> uid{0};
    api::ContainerTask t;
    t.metadata.namespace_ = ns_;
    t.metadata.name = std::move(name);
    t.metadata.uid = ns_ + "-uid-" + std::to_string(uid++);
    t.metadata.generation = 1;
    t.spec.image = kImage;
    t.spec.image_pull_policy = "Never";
    t.spec.command = std::move(command);
    t.spec.network.isolated = true;
    return t;
  }
  std::string Name(const api::ContainerTask& t, int attempt) {
    return api::DerivedContainerName(ns_, t.metadata.name, attempt);
  }
  int CountContainers() {
    Result<std::vector<api::Json>> listed = client_->ListContainers({std::string(render::kLabelNamespace) + "=" + ns_});
    EXPECT_TRUE(listed.has_value());
    return listed ? static_cast<int>(listed->size()) : -1;
  }
  std::string Logs(const std::string& name) {
    std::string out;
    Status logs = client_->Logs(name, /*follow=*/false, [&](docker::LogStream, std::string_view d) {
      out.append(d);
      return true;
    });
    EXPECT_TRUE(logs.has_value()) << logs.error().message();
    return out;
  }

  std::string ns_;
  fakes::FakeClock clock_{kCreated};
  std::unique_ptr<CountingTransport> http_;
  std::unique_ptr<DockerClient> client_;
  std::shared_ptr<ConfigSet> configs_ = std::make_shared<ConfigSet>();
  std::unique_ptr<DockerRuntime> runtime_;
};

TEST_F(DockerRuntimeTest, ObserveIsAbsentBeforeApply) {
  api::ContainerTask t = Task({"true"});
  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value()) << o.error().message();
  EXPECT_EQ(o->state, WorkloadState::kAbsent);
  EXPECT_EQ(o->attempt, 1);
}

// A start right after the look that found nothing, with the image seen a
// moment ago, costs the daemon what `docker run -d` costs it: create and
// start.
TEST_F(DockerRuntimeTest, AStartRightAfterALookThatFoundNothingIsCreateAndStart) {
  api::ContainerTask first = Task({"true"}, "first");
  ASSERT_TRUE(runtime_->Observe(first, 1).has_value());
  ASSERT_TRUE(runtime_->Apply(first, 1).has_value());
  (void)http_->Take();
  api::ContainerTask t = Task({"true"}, "second");
  ASSERT_TRUE(runtime_->Observe(t, 1).has_value());
  EXPECT_EQ(http_->Take().size(), 1u) << "one inspect";
  ASSERT_TRUE(runtime_->Apply(t, 1).has_value());
  const std::vector<std::string> sent = http_->Take();
  ASSERT_EQ(sent.size(), 2u) << ::testing::PrintToString(sent);
  EXPECT_TRUE(sent[0].starts_with("POST ") && sent[0].ends_with("/containers/create")) << sent[0];
  EXPECT_TRUE(sent[1].starts_with("POST ") && sent[1].ends_with("/start")) << sent[1];
  // Without the look just before, the start asks first.
  api::ContainerTask cold = Task({"true"}, "third");
  std::this_thread::sleep_for(kRecentlySeen);  // the image's sighting is steady-clock old
  ASSERT_TRUE(runtime_->Apply(cold, 1).has_value());
  EXPECT_EQ(http_->Take().size(), 4u) << "inspect the name, inspect the image, create, start";
}

// A container of the name appearing between the look and the start (a
// leftover of an earlier task of the name): the create is refused, and the
// next start settles it the long way.
TEST_F(DockerRuntimeTest, AContainerThatAppearsAfterTheLookIsSettledByTheNextStart) {
  api::ContainerTask new_task = Task({"sh", "-c", "echo new"});
  Result<Observation> o = runtime_->Observe(new_task, 1);
  ASSERT_TRUE(o.has_value());
  ASSERT_EQ(o->state, WorkloadState::kAbsent);
  DockerRuntimeOptions other_options;
  other_options.clock = &clock_;
  other_options.configs = configs_;
  DockerRuntime other(*client_, other_options);
  api::ContainerTask old_task = Task({"sh", "-c", "echo old"});  // same name, another UID
  ASSERT_TRUE(other.Apply(old_task, 1).has_value());
  ASSERT_TRUE(client_->WaitContainer(Name(old_task, 1)).has_value());
  ASSERT_TRUE(runtime_->Apply(new_task, 1).has_value()) << "the refused create waits for the next pass";
  ASSERT_TRUE(runtime_->Apply(new_task, 1).has_value());
  ASSERT_TRUE(client_->WaitContainer(Name(new_task, 1)).has_value());
  EXPECT_EQ(CountContainers(), 1);
  EXPECT_EQ(Logs(Name(new_task, 1)), "new\n");
}

TEST_F(DockerRuntimeTest, ApplyTwiceMakesOneContainer) {
  api::ContainerTask t = Task({"sleep", "300"});
  ASSERT_TRUE(runtime_->Apply(t, 1).has_value());
  ASSERT_TRUE(runtime_->Apply(t, 1).has_value());
  EXPECT_EQ(CountContainers(), 1);
  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kRunning);
  EXPECT_EQ(o->workload_name, Name(t, 1));
  EXPECT_FALSE(o->container_id.empty());
  EXPECT_TRUE(o->started_at.has_value());
}

TEST_F(DockerRuntimeTest, ApplyAfterExitDoesNotRestart) {
  api::ContainerTask t = Task({"sh", "-c", "echo once"});
  ASSERT_TRUE(runtime_->Apply(t, 1).has_value());
  Result<int64_t> code = client_->WaitContainer(Name(t, 1));
  ASSERT_TRUE(code.has_value()) << code.error().message();
  EXPECT_EQ(*code, 0);
  Result<api::Json> before = client_->InspectContainer(Name(t, 1));
  ASSERT_TRUE(before.has_value());
  const std::string started = (*before)["State"]["StartedAt"].get<std::string>();

  ASSERT_TRUE(runtime_->Apply(t, 1).has_value());
  Result<api::Json> after = client_->InspectContainer(Name(t, 1));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ((*after)["State"]["StartedAt"].get<std::string>(), started);
  EXPECT_EQ((*after)["State"]["Status"].get<std::string>(), "exited");
  EXPECT_EQ(Logs(Name(t, 1)), "once\n");
  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kExited);
  EXPECT_EQ(o->exit_code, 0);
}

TEST_F(DockerRuntimeTest, FollowLogsReadsToTheEnd) {
  api::ContainerTask t = Task({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(runtime_->Apply(t, 1).has_value());
  std::string out, err;
  Status followed = runtime_->FollowLogs(t, 1,
                                         [&](runtime::LogStream s, std::string_view d) {
                                           (s == runtime::LogStream::kStdout ? out : err).append(d);
                                           return true;
                                         },
                                         {});
  ASSERT_TRUE(followed.has_value()) << followed.error().message();
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(err, "err\n");
  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kExited);
  EXPECT_EQ(o->exit_code, 3);
}

TEST_F(DockerRuntimeTest, StopThenObserveExited) {
  api::ContainerTask t = Task({"sleep", "300"});
  ASSERT_TRUE(runtime_->Apply(t, 1).has_value());
  Status stopped = runtime_->Stop(t, 1, std::chrono::seconds(1));
  ASSERT_TRUE(stopped.has_value()) << stopped.error().message();
  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kExited);
  ASSERT_TRUE(o->exit_code.has_value());
  EXPECT_NE(*o->exit_code, 0);
  EXPECT_TRUE(runtime_->Stop(t, 1, std::chrono::seconds(1)).has_value()) << "stopping a stopped one succeeds";
  EXPECT_TRUE(runtime_->Stop(t, 2, std::chrono::seconds(1)).has_value()) << "stopping an absent one succeeds";
}

TEST_F(DockerRuntimeTest, DeleteRemovesAndIsIdempotent) {
  api::ContainerTask t = Task({"sleep", "300"});
  ASSERT_TRUE(runtime_->Apply(t, 1).has_value());
  ASSERT_EQ(CountContainers(), 1);
  Status deleted = runtime_->Delete(t, 1);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message();
  EXPECT_EQ(CountContainers(), 0);
  EXPECT_TRUE(runtime_->Delete(t, 1).has_value());
  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kAbsent);
}

TEST_F(DockerRuntimeTest, AMissingImageWithPullPolicyNeverFailsPermanently) {
  api::ContainerTask t = Task({"true"});
  t.spec.image = "ctask-test/no-such-image-" + ns_ + ":latest";
  Status applied = runtime_->Apply(t, 1);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(applied.error().message().find("imagePullPolicy"), std::string::npos) << applied.error().message();
  EXPECT_EQ(CountContainers(), 0);

  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kWaiting);
  EXPECT_EQ(o->waiting_reason, runtime::kReasonImagePullFailed);
  EXPECT_TRUE(o->waiting_permanent);
  EXPECT_NE(o->waiting_message.find(t.spec.image), std::string::npos) << o->waiting_message;
  EXPECT_EQ(o->created_at, kCreated) << "dated by the injected clock";

  EXPECT_TRUE(runtime_->Apply(t, 1).has_value()) << "failed already: Observe says why";
  ASSERT_TRUE(runtime_->Stop(t, 1, std::chrono::seconds(1)).has_value());
  o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kAbsent);
}

TEST_F(DockerRuntimeTest, AForeignContainerOfTheSameNameIsNeverTouched) {
  api::ContainerTask t = Task({"true"});
  api::Json body = api::Json::object();
  body["Image"] = kImage;
  body["Entrypoint"] = std::vector<std::string>{"sleep", "300"};
  body["Labels"] = api::Json::object({{render::kLabelNamespace, ns_}});  // for TearDown only
  body["HostConfig"] = api::Json::object({{"NetworkMode", "none"}});
  Result<std::string> foreign = client_->CreateContainer(Name(t, 1), body);
  ASSERT_TRUE(foreign.has_value()) << foreign.error().message();

  Status applied = runtime_->Apply(t, 1);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(applied.error().message().find("not managed by ctask"), std::string::npos) << applied.error().message();
  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kWaiting);
  EXPECT_EQ(o->waiting_reason, runtime::kReasonConfigError);
  EXPECT_TRUE(o->waiting_permanent);

  EXPECT_TRUE(runtime_->Stop(t, 1, std::chrono::seconds(1)).has_value());
  EXPECT_TRUE(runtime_->Delete(t, 1).has_value());
  Result<api::Json> still = client_->InspectContainer(Name(t, 1));
  ASSERT_TRUE(still.has_value()) << "the foreign container was removed";
  EXPECT_EQ(still->value("Id", ""), *foreign);
  EXPECT_EQ((*still)["State"]["Status"].get<std::string>(), "created") << "and never started";
}

TEST_F(DockerRuntimeTest, ALeftoverOfAnEarlierTaskIsReplaced) {
  api::ContainerTask old_task = Task({"sh", "-c", "echo old"});
  ASSERT_TRUE(runtime_->Apply(old_task, 1).has_value());
  ASSERT_TRUE(client_->WaitContainer(Name(old_task, 1)).has_value());
  api::ContainerTask new_task = Task({"sh", "-c", "echo new"});  // same name, another UID
  ASSERT_NE(new_task.metadata.uid, old_task.metadata.uid);
  Result<Observation> o = runtime_->Observe(new_task, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kAbsent) << "another UID's container is not this task's";
  ASSERT_TRUE(runtime_->Apply(new_task, 1).has_value());
  ASSERT_TRUE(client_->WaitContainer(Name(new_task, 1)).has_value());
  EXPECT_EQ(CountContainers(), 1);
  EXPECT_EQ(Logs(Name(new_task, 1)), "new\n");
}

TEST_F(DockerRuntimeTest, AMissingSecretKeyIsAConfigErrorNamingTheKey) {
  api::ConfigData secret;
  secret.kind = "Secret";
  secret.metadata.name = "creds";
  secret.metadata.namespace_ = ns_;
  secret.data = {{"present", "hunter2"}};
  configs_->Replace({secret});
  api::ContainerTask t = Task({"true"});
  api::EnvVar env;
  env.name = "TOKEN";
  env.value_from = api::EnvVarSource{api::SecretKeySelector{"creds", "absent-key", false}, std::nullopt};
  t.spec.env.push_back(env);

  Status applied = runtime_->Apply(t, 1);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(applied.error().message().find("absent-key"), std::string::npos) << applied.error().message();
  EXPECT_EQ(applied.error().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(CountContainers(), 0);
  Result<Observation> o = runtime_->Observe(t, 1);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->state, WorkloadState::kWaiting);
  EXPECT_EQ(o->waiting_reason, runtime::kReasonConfigError);
  EXPECT_TRUE(o->waiting_permanent);
  EXPECT_NE(o->waiting_message.find("absent-key"), std::string::npos) << o->waiting_message;
  EXPECT_EQ(o->waiting_message.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace ctask::backends
