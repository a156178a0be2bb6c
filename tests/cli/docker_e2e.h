// The fixture of the end-to-end suites over the real dockerd: each test
// works in a namespace of its own (so tests running in parallel never share a
// container name), in a temporary directory with its own state directory,
// and removes its containers afterwards.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api/json.h"
#include "docker/client.h"
#include "http/curl_client.h"
#include "run_binary.h"
#include "util/sha256.h"

namespace ctask::cli {
namespace e2e {

namespace fs = std::filesystem;
using json = api::Json;
using testing::Background;
using testing::BinaryResult;
using testing::ReadFile;
using testing::RunBinary;

inline constexpr std::chrono::seconds kRunGuard(120);

inline void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A process that exists and is not a zombie (a detached run's parent is gone;
// whoever adopted it may reap it late).
inline bool Alive(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

inline std::string Shown(const BinaryResult& r) {
  return "exit " + std::to_string(r.exit_code) + " signal " + std::to_string(r.signal) +
         (r.timed_out ? " TIMED OUT" : "") + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

class DockerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    ns_ = "e2e-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    dir_ = fs::temp_directory_path() / ("ctask-" + ns_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    state_ = (dir_ / "state").string();
    Result<std::string> socket = docker::DockerSocketPath();
    ASSERT_TRUE(socket.has_value());
    http::CurlOptions options;
    options.unix_socket_path = *socket;
    http_ = std::make_unique<http::CurlClient>(options);
    docker_ = std::make_unique<docker::DockerClient>(*http_, *socket);
    Status ping = docker_->Ping();
    ASSERT_TRUE(ping.has_value()) << ping.error().message() << " (run hack/docker-up.sh)";
  }

  void TearDown() override {
    if (docker_) {
      auto containers = docker_->ListContainers({"ctask.io/namespace=" + ns_});
      if (containers) {
        for (const json& c : *containers) (void)docker_->RemoveContainer(c.value("Id", ""), true);
      }
    }
    fs::remove_all(dir_);
  }

  // A ContainerTask manifest in this test's namespace; `spec` is YAML
  // indented by two spaces.
  std::string Task(const std::string& name, const std::string& spec) const {
    return "apiVersion: ctask.io/v1alpha1\nkind: ContainerTask\nmetadata:\n  name: " + name + "\n  namespace: " + ns_ +
           "\nspec:\n" + spec;
  }

  fs::path Manifest(const std::string& file, const std::string& text) const {
    const fs::path path = dir_ / file;
    WriteFile(path, text);
    return path;
  }

  BinaryResult Ctask(std::vector<std::string> args) const {
    args.push_back("--state-dir");
    args.push_back(state_);
    return RunBinary(args, "", kRunGuard);
  }

  json Record(const std::string& name) const {
    BinaryResult r = Ctask({"get", name, "-n", ns_, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << Shown(r);
    return json::parse(r.out, nullptr, false);
  }

  // The record's status.phase; "" before the first status is written.
  std::string PhaseOf(const std::string& name) const {
    const json record = Record(name);
    const auto status = record.is_object() ? record.find("status") : record.end();
    return status != record.end() && status->is_object() ? status->value("phase", "") : "";
  }

  // The record as the operator last wrote it, read from the state
  // directory without a process; null when there is none.
  json Stored(const std::string& name) const {
    const std::string text = ReadFile(fs::path(state_) / "tasks" / ns_ / name / "task.json");
    return text.empty() ? json() : json::parse(text, nullptr, false);
  }

  // Its status.phase; "" before there is one.
  std::string Phase(const std::string& name) const {
    const json record = Stored(name);
    if (!record.is_object() || !record.contains("status")) return "";
    return record["status"].value("phase", "");
  }

  // Polls until `done` holds; false when `guard` passes first.
  template <typename Predicate>
  bool WaitUntil(Predicate done, std::chrono::seconds guard = std::chrono::seconds(120)) const {
    const auto deadline = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  std::string Artifact(const std::string& name) const {
    return ReadFile(fs::path(state_) / "tasks" / ns_ / name / "log");
  }

  std::vector<json> Containers(const std::string& name) const {
    auto containers = docker_->ListContainers({"ctask.io/namespace=" + ns_, "ctask.io/task=" + name});
    EXPECT_TRUE(containers.has_value());
    return containers ? *containers : std::vector<json>{};
  }

  std::string ns_;
  fs::path dir_;
  std::string state_;
  std::unique_ptr<http::CurlClient> http_;
  std::unique_ptr<docker::DockerClient> docker_;
};

inline constexpr const char* kImage = "  image: ctask-test/busybox:latest\n";

}  // namespace e2e
}  // namespace ctask::cli
