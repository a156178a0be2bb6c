// The reflector across the outages a controller meets in production,
// caused on purpose against the real control plane: a kube-apiserver killed
// and started again, and an etcd compaction that makes the resourceVersion
// the watch would resume from unavailable (410 Gone), so it must relist.
// These suites stop the shared API server: ctest runs them alone
// (RUN_SERIAL in tests/CMakeLists.txt).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "cluster/kube_fixture.h"
#include "cluster/reflector_harness.h"
#include "http/curl_client.h"

namespace ctask::testing {
namespace {

using api::Json;
using Type = kube::Delta::Type;
namespace resources = kube::resources;

std::string ClusterDir() {
  const char* dir = std::getenv("CTASK_CLUSTER_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp/ctask-cluster";
}

// A value from the `ports` file up.sh writes (shell assignments).
std::string RecordedPort(const std::string& variable) {
  std::ifstream in(ClusterDir() + "/ports");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(variable + "=", 0) == 0) return line.substr(variable.size() + 1);
  }
  return "";
}

bool Alive(pid_t pid) {
  return kill(pid, 0) == 0;
}

class ApiServerOutageTest : public ReflectedConfigMapsTest {
 protected:
  std::string NamespacePrefix() const override { return "outage"; }

  // kill -9 of kube-apiserver, then hack/cluster/up.sh starts it again (and
  // only it), waiting until it is ready.
  void RestartApiServer() {
    std::ifstream pid_file(ClusterDir() + "/pids/kube-apiserver.pid");
    pid_t pid = 0;
    pid_file >> pid;
    ASSERT_GT(pid, 0) << "no pid in " << ClusterDir() << "/pids/kube-apiserver.pid";
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    for (int i = 0; i < 200 && Alive(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_FALSE(Alive(pid));
    BinaryResult up = RunCommand({SourceRoot() + "/hack/cluster/up.sh"}, "", std::chrono::seconds(120));
    ASSERT_EQ(up.exit_code, 0) << Said(up);
  }

  // Compacts etcd's history up to its current revision, through etcd's
  // HTTP gateway on the loopback client port up.sh recorded.
  void CompactEtcd() {
    const std::string port = RecordedPort("ETCD_PORT");
    ASSERT_FALSE(port.empty()) << "no ETCD_PORT in " << ClusterDir() << "/ports";
    http::CurlClient etcd({});
    http::Request range;
    range.method = "POST";
    range.url = "http://127.0.0.1:" + port + "/v3/kv/range";
    range.headers = {{"Content-Type", "application/json"}};
    range.body = R"({"key":"Lw=="})";  // "/": any key; the answer's header has the revision
    range.timeout = std::chrono::seconds(10);
    Result<http::Response> answer = etcd.Do(range);
    ASSERT_TRUE(answer.has_value()) << answer.error().message();
    ASSERT_EQ(answer->status, 200) << answer->body;
    const std::string revision = Json::parse(answer->body)["header"].value("revision", "");
    ASSERT_FALSE(revision.empty()) << answer->body;
    http::Request compact = range;
    compact.url = "http://127.0.0.1:" + port + "/v3/kv/compaction";
    compact.body = Json{{"revision", revision}, {"physical", true}}.dump();
    Result<http::Response> compacted = etcd.Do(compact);
    ASSERT_TRUE(compacted.has_value()) << compacted.error().message();
    ASSERT_EQ(compacted->status, 200) << compacted->body;
  }
};

TEST_F(ApiServerOutageTest, TheReflectorComesBackAfterTheApiServerRestarts) {
  ReflectorHarness harness(ns(), "suite=outage");
  ASSERT_TRUE(harness.WaitUntil([&] { return harness.reflector().HasSynced(); })) << harness.Log();
  Put("before", "1");
  ASSERT_TRUE(harness.WaitFor(Type::kAdded, "before"));

  RestartApiServer();
  if (HasFatalFailure()) return;
  Put("after", "1");
  Put("before", "2");
  ASSERT_TRUE(harness.WaitFor(Type::kAdded, "after", std::chrono::seconds(90))) << harness.Log();
  ASSERT_TRUE(harness.WaitUntil([&] { return Versions(harness.cache().List()) == ServerVersions(); })) << harness.Log();
  const auto by_name = harness.SeenByName();
  EXPECT_EQ(by_name.at("before"), (std::vector<Type>{Type::kAdded, Type::kUpdated}));
  EXPECT_GE(harness.reflector().Stats().failures, 1) << "the outage was seen\n" << harness.Log();
}

TEST_F(ApiServerOutageTest, AfterACompactionThe410RelistDeliversWhatTheWatchMissed) {
  Put("kept", "1");
  Put("changed", "1");
  Put("deleted", "1");
  ReflectorHarness harness(ns(), "suite=outage");
  ASSERT_TRUE(harness.WaitUntil([&] { return harness.reflector().HasSynced(); })) << harness.Log();
  ASSERT_TRUE(harness.WaitFor(Type::kAdded, "deleted"));

  // Partitioned from the API server while objects change and etcd forgets
  // the history; the restarted API server's watch cache starts after it.
  harness.transport().CutStreams(/*blocked=*/true);
  Put("changed", "2");
  Remove("deleted");
  Put("new", "1");
  CompactEtcd();
  if (HasFatalFailure()) return;
  RestartApiServer();
  if (HasFatalFailure()) return;
  harness.transport().Unblock();

  ASSERT_TRUE(harness.WaitUntil([&] { return harness.reflector().Stats().expired >= 1; }, std::chrono::seconds(90)))
      << "no 410 was met\n"
      << harness.Log();
  ASSERT_TRUE(harness.WaitFor(Type::kDeleted, "deleted")) << harness.Log();
  ASSERT_TRUE(harness.WaitUntil([&] { return Versions(harness.cache().List()) == ServerVersions(); })) << harness.Log();
  const auto by_name = harness.SeenByName();
  EXPECT_EQ(by_name.at("kept"), (std::vector<Type>{Type::kAdded}));
  EXPECT_EQ(by_name.at("changed"), (std::vector<Type>{Type::kAdded, Type::kUpdated}));
  EXPECT_EQ(by_name.at("deleted"), (std::vector<Type>{Type::kAdded, Type::kDeleted}));
  EXPECT_EQ(by_name.at("new"), (std::vector<Type>{Type::kAdded}));
  EXPECT_GE(harness.reflector().Stats().lists, 2);
}

}  // namespace
}  // namespace ctask::testing
