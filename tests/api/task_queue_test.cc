// TaskQueue manifests: what is read, and each problem named by its field.
#include "api/task_queue.h"

#include <gtest/gtest.h>

#include "api/manifest.h"

namespace ctask::api {
namespace {

Manifests Load(const std::string& text) {
  Manifests m;
  AddManifestText(m, "queues.yaml", text);
  return m;
}

std::string Problems(const Manifests& m) {
  std::string out;
  for (const ManifestProblem& p : m.problems) out += p.ToString() + "\n";
  return out;
}

TEST(TaskQueueTest, ReadsNameAndMaxRunning) {
  Manifests m = Load(
      "apiVersion: ctask.io/v1alpha1\nkind: TaskQueue\nmetadata:\n  name: team-a\n  namespace: dev\n"
      "spec:\n  maxRunning: 2\n---\n"
      "apiVersion: ctask.io/v1alpha1\nkind: TaskQueue\nmetadata:\n  name: open\n");
  ASSERT_TRUE(m.ok()) << Problems(m);
  ASSERT_EQ(m.queues.size(), 2u);
  EXPECT_EQ(m.queues[0].metadata.name, "team-a");
  EXPECT_EQ(m.queues[0].metadata.namespace_, "dev");
  EXPECT_EQ(m.queues[0].max_running, 2);
  EXPECT_EQ(m.queues[1].max_running, std::nullopt) << "no spec: the operator's default";
}

TEST(TaskQueueTest, EveryProblemNamesItsField) {
  struct Case {
    std::string name;
    std::string doc;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"negative limit", "metadata: {name: q}\nspec: {maxRunning: -1}\n", "spec.maxRunning"},
      {"limit as text", "metadata: {name: q}\nspec: {maxRunning: lots}\n", "spec.maxRunning"},
      {"unknown spec field", "metadata: {name: q}\nspec: {maxRuning: 1}\n", "spec.maxRuning"},
      {"bad name", "metadata: {name: Team_A}\nspec: {}\n", "metadata.name"},
      {"no name", "metadata: {}\nspec: {}\n", "metadata.name: required"},
      {"unknown top-level field", "metadata: {name: q}\nspecs: {}\n", "specs: unknown field"},
  };
  for (const Case& c : cases) {
    Manifests m = Load("apiVersion: ctask.io/v1alpha1\nkind: TaskQueue\n" + c.doc);
    EXPECT_FALSE(m.ok()) << c.name;
    EXPECT_TRUE(m.queues.empty()) << c.name;
    EXPECT_NE(Problems(m).find(c.want), std::string::npos) << c.name << ": " << Problems(m);
  }
  Manifests wrong_version = Load("apiVersion: ctask.io/v1\nkind: TaskQueue\nmetadata: {name: q}\n");
  EXPECT_NE(Problems(wrong_version).find("apiVersion: must be \"ctask.io/v1alpha1\""), std::string::npos)
      << Problems(wrong_version);
}

}  // namespace
}  // namespace ctask::api
