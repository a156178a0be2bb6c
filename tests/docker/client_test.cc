// DockerClient against the real daemon hack/docker-up.sh starts (make test
// runs it first). A missing daemon is a failure, not a skip: in CI every tier
// runs.
#include "docker/client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "http/curl_client.h"

namespace ctask::docker {
namespace {

constexpr const char* kImage = "ctask-test/busybox:latest";

class DockerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> socket = DockerSocketPath();
    ASSERT_TRUE(socket.has_value()) << socket.error().message();
    socket_ = *socket;
    http::CurlOptions options;
    options.unix_socket_path = socket_;
    http_ = std::make_unique<http::CurlClient>(options);
    client_ = std::make_unique<DockerClient>(*http_, socket_);
    Status ping = client_->Ping();
    ASSERT_TRUE(ping.has_value()) << ping.error().message() << " (run hack/docker-up.sh)";
    name_ = "ctask-client-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  void TearDown() override {
    if (client_) (void)client_->RemoveContainer(name_, /*force=*/true);
  }

  api::Json Body(const std::vector<std::string>& command) {
    api::Json body = api::Json::object();
    body["Image"] = kImage;
    body["Entrypoint"] = command;
    body["Labels"] = api::Json::object({{"ctask.io/test", name_}});
    body["HostConfig"] = api::Json::object({{"NetworkMode", "none"}});
    return body;
  }

  std::string socket_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<DockerClient> client_;
  std::string name_;
};

TEST_F(DockerClientTest, RunsAContainerToCompletion) {
  Result<std::string> id = client_->CreateContainer(name_, Body({"sh", "-c", "echo out; echo err >&2; exit 3"}));
  ASSERT_TRUE(id.has_value()) << id.error().message();
  ASSERT_TRUE(client_->StartContainer(*id).has_value());
  Result<int64_t> code = client_->WaitContainer(*id);
  ASSERT_TRUE(code.has_value()) << code.error().message();
  EXPECT_EQ(*code, 3);
  std::string out, err;
  Status logs = client_->Logs(*id, /*follow=*/true, [&](docker::LogStream s, std::string_view data) {
    (s == docker::LogStream::kStdout ? out : err).append(data);
    return true;
  });
  ASSERT_TRUE(logs.has_value()) << logs.error().message();
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(err, "err\n");
  Result<api::Json> inspect = client_->InspectContainer(*id);
  ASSERT_TRUE(inspect.has_value());
  EXPECT_EQ((*inspect)["State"]["ExitCode"], 3);
  EXPECT_EQ((*inspect)["State"]["OOMKilled"], false);
  Result<std::vector<api::Json>> listed = client_->ListContainers({"ctask.io/test=" + name_});
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["Id"], *id);
  ASSERT_TRUE(client_->RemoveContainer(*id, false).has_value());
  ASSERT_TRUE(client_->RemoveContainer(*id, false).has_value()) << "removing twice is success";
  EXPECT_EQ(client_->InspectContainer(*id).error().code(), ErrorCode::kNotFound);
}

TEST_F(DockerClientTest, ANameTakenIsAConflict) {
  ASSERT_TRUE(client_->CreateContainer(name_, Body({"true"})).has_value());
  Result<std::string> again = client_->CreateContainer(name_, Body({"true"}));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
}

TEST_F(DockerClientTest, StopsARunningContainer) {
  Result<std::string> id = client_->CreateContainer(name_, Body({"sleep", "300"}));
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(client_->StartContainer(*id).has_value());
  ASSERT_TRUE(client_->StartContainer(*id).has_value()) << "starting a running container is success";
  ASSERT_TRUE(client_->StopContainer(*id, std::chrono::seconds(1)).has_value());
  Result<api::Json> inspect = client_->InspectContainer(*id);
  ASSERT_TRUE(inspect.has_value());
  EXPECT_EQ((*inspect)["State"]["Running"], false);
  ASSERT_TRUE(client_->StopContainer(*id, std::chrono::seconds(1)).has_value()) << "stopping twice is success";
}

TEST_F(DockerClientTest, MissingImagesAreNotFound) {
  EXPECT_TRUE(client_->InspectImage(kImage).has_value());
  Result<api::Json> missing = client_->InspectImage("ctask-test/does-not-exist:1");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  Result<std::string> created = client_->CreateContainer(name_, [] {
    api::Json body = api::Json::object();
    body["Image"] = "ctask-test/does-not-exist:1";
    return body;
  }());
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(created.error().message().find("does-not-exist"), std::string::npos) << created.error().message();
}

TEST(DockerClientUnreachableTest, SaysHowToStartTheDaemon) {
  http::CurlOptions options;
  options.unix_socket_path = "/tmp/ctask-no-such-docker.sock";
  http::CurlClient http(options);
  DockerClient client(http, options.unix_socket_path);
  Status ping = client.Ping();
  ASSERT_FALSE(ping.has_value());
  EXPECT_EQ(ping.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(ping.error().message().find("cannot reach the Docker daemon at unix:///tmp/ctask-no-such-docker.sock"),
            std::string::npos)
      << ping.error().message();
  EXPECT_NE(ping.error().message().find("make docker-up"), std::string::npos);
}

TEST(DockerSocketPathTest, HonoursUnixDockerHostOnly) {
  setenv("DOCKER_HOST", "unix:///run/x.sock", 1);
  EXPECT_EQ(DockerSocketPath(), "/run/x.sock");
  setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
  EXPECT_FALSE(DockerSocketPath().has_value());
  unsetenv("DOCKER_HOST");
  EXPECT_EQ(DockerSocketPath(), "/var/run/docker.sock");
}

}  // namespace
}  // namespace ctask::docker
