// The reflector (src/kube/reflector.h) against the real API server: what a
// watch delivers, in which order, and what happens when the connection is
// cut. The suites that restart the API server are in cluster_disruptive/.
#include <gtest/gtest.h>

#include <string>

#include "cluster/kube_fixture.h"
#include "cluster/reflector_harness.h"

namespace ctask::testing {
namespace {

using api::Json;
using Type = kube::Delta::Type;
namespace resources = kube::resources;

class ReflectorTest : public ReflectedConfigMapsTest {
 protected:
  std::string NamespacePrefix() const override { return "reflector"; }
};

TEST_F(ReflectorTest, TheListThenEveryCreateUpdateAndDeleteInOrder) {
  Put("before", "0");
  ReflectorHarness harness(ns(), "suite=reflector");
  ASSERT_TRUE(harness.WaitUntil([&] { return harness.reflector().HasSynced(); })) << harness.Log();
  ASSERT_TRUE(harness.WaitFor(Type::kAdded, "before"));

  Put("x", "1");
  Put("y", "1");
  Put("x", "2");
  Put("x", "3");
  Remove("y");
  Put("z", "1");
  Remove("x");
  ASSERT_TRUE(harness.WaitFor(Type::kDeleted, "x")) << harness.Log();

  const auto by_name = harness.SeenByName();
  EXPECT_EQ(by_name.at("before"), (std::vector<Type>{Type::kAdded}));
  EXPECT_EQ(by_name.at("x"), (std::vector<Type>{Type::kAdded, Type::kUpdated, Type::kUpdated, Type::kDeleted}));
  EXPECT_EQ(by_name.at("y"), (std::vector<Type>{Type::kAdded, Type::kDeleted}));
  EXPECT_EQ(by_name.at("z"), (std::vector<Type>{Type::kAdded}));
  // The values arrive in the order they were written.
  std::vector<std::string> x_values;
  for (const SeenDelta& d : harness.Seen()) {
    if (d.name == "x" && d.type != Type::kDeleted) x_values.push_back(d.value);
  }
  EXPECT_EQ(x_values, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(Versions(harness.cache().List()), ServerVersions());
  EXPECT_EQ(harness.reflector().Stats().lists, 1);
}

TEST_F(ReflectorTest, ACutConnectionResumesFromTheLastVersionWithoutLosingEvents) {
  ReflectorHarness harness(ns(), "suite=reflector");
  ASSERT_TRUE(harness.WaitUntil([&] { return harness.reflector().HasSynced(); })) << harness.Log();
  Put("a", "1");
  ASSERT_TRUE(harness.WaitFor(Type::kAdded, "a"));

  // Partitioned: the watch is cut and cannot come back while these happen.
  harness.transport().CutStreams(/*blocked=*/true);
  Put("a", "2");
  Put("b", "1");
  Remove("a");
  Put("c", "1");
  harness.transport().Unblock();

  ASSERT_TRUE(harness.WaitFor(Type::kAdded, "c")) << harness.Log();
  const auto by_name = harness.SeenByName();
  EXPECT_EQ(by_name.at("a"), (std::vector<Type>{Type::kAdded, Type::kUpdated, Type::kDeleted}));
  EXPECT_EQ(by_name.at("b"), (std::vector<Type>{Type::kAdded}));
  EXPECT_EQ(Versions(harness.cache().List()), ServerVersions());
  const kube::ReflectorStats stats = harness.reflector().Stats();
  EXPECT_EQ(stats.lists, 1) << "resumed from the last resourceVersion, no relist needed\n" << harness.Log();
  EXPECT_GE(stats.watches, 2);
  EXPECT_GE(stats.failures, 1) << "the cut was seen";
}

TEST_F(ReflectorTest, StopsPromptlyDuringAQuietWatch) {
  auto harness = std::make_unique<ReflectorHarness>(ns(), "suite=reflector");
  ASSERT_TRUE(harness->WaitUntil([&] { return harness->reflector().HasSynced(); })) << harness->Log();
  const auto start = std::chrono::steady_clock::now();
  harness.reset();  // requests stop and joins
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "a stop must not wait for the watch's server-side timeout";
}

}  // namespace
}  // namespace ctask::testing
