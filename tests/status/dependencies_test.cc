// Dependencies, pure: the verdict from the records of the tasks a task
// runs after, cycles, and the status of a task they hold back.
#include "status/dependencies.h"

#include <gtest/gtest.h>

#include "status/decide.h"

namespace ctask::status {
namespace {

const Timestamp kT0 = *ParseRfc3339("2026-12-04T10:00:00Z");

api::ContainerTask Named(const std::string& name, std::vector<std::string> run_after = {}, const char* phase = "") {
  api::ContainerTask t;
  t.metadata.name = name;
  t.metadata.generation = 1;
  t.spec.image = "busybox";
  t.spec.run_after = std::move(run_after);
  t.status.phase = phase;
  return t;
}

TaskLookup Of(const std::vector<api::ContainerTask>& tasks) {
  return [tasks](const std::string& name) -> std::optional<api::ContainerTask> {
    for (const api::ContainerTask& t : tasks) {
      if (t.metadata.name == name) return t;
    }
    return std::nullopt;
  };
}

TEST(DependenciesTest, WaitsNamingWhatItWaitsFor) {
  const api::ContainerTask reduce = Named("reduce", {"map", "other"});
  const DependencyVerdict v = CheckDependencies(reduce, Of({Named("map", {}, api::phase::kRunning)}));
  EXPECT_EQ(v.state, DependencyState::kWaiting);
  EXPECT_NE(v.message.find("map (Running)"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("other (no such task yet)"), std::string::npos) << v.message;
  const api::ContainerTaskStatus st = HeldByDependencies(reduce, v, kT0);
  EXPECT_EQ(st.phase, api::phase::kQueued);
  EXPECT_EQ(st.reason, reason::kWaitingForDependencies);
  api::ContainerTask held = reduce;
  held.status = st;
  EXPECT_FALSE(WantsSlot(held)) << "not in any queue while its dependencies hold it";
  EXPECT_TRUE(NotStarted(held));
}

TEST(DependenciesTest, ReadyWhenAllSucceeded) {
  const api::ContainerTask reduce = Named("reduce", {"a", "b"});
  EXPECT_EQ(CheckDependencies(reduce, Of({Named("a", {}, "Succeeded"), Named("b", {}, "Succeeded")})).state,
            DependencyState::kReady);
}

TEST(DependenciesTest, AFailedOrCancelledDependencyFailsTheTask) {
  api::ContainerTask map = Named("map", {}, api::phase::kFailed);
  map.status.reason = "ItemsFailed";
  const DependencyVerdict v = CheckDependencies(Named("reduce", {"map"}), Of({map}));
  EXPECT_EQ(v.state, DependencyState::kFailed);
  EXPECT_NE(v.message.find("task map failed (ItemsFailed"), std::string::npos) << v.message;
  const api::ContainerTaskStatus st = HeldByDependencies(Named("reduce", {"map"}), v, kT0);
  EXPECT_EQ(st.phase, api::phase::kFailed);
  EXPECT_EQ(st.reason, reason::kDependencyFailed);
  EXPECT_EQ(CheckDependencies(Named("reduce", {"map"}), Of({Named("map", {}, api::phase::kCancelled)})).state,
            DependencyState::kFailed);
}

TEST(DependenciesTest, ACycleIsInvalidNamingIt) {
  const DependencyVerdict self = CheckDependencies(Named("a", {"a"}), Of({}));
  EXPECT_EQ(self.state, DependencyState::kCycle);
  const DependencyVerdict loop =
      CheckDependencies(Named("a", {"b"}), Of({Named("b", {"c"}), Named("c", {"a"}), Named("a", {"b"})}));
  EXPECT_EQ(loop.state, DependencyState::kCycle);
  EXPECT_NE(loop.message.find("a -> b -> c -> a"), std::string::npos) << loop.message;
  EXPECT_EQ(HeldByDependencies(Named("a", {"b"}), loop, kT0).reason, reason::kInvalidSpec);
  // A diamond is no cycle.
  EXPECT_EQ(CheckDependencies(Named("d", {"b", "c"}), Of({Named("b", {"a"}, "Succeeded"),
                                                          Named("c", {"a"}, "Succeeded"), Named("a", {}, "Succeeded")}))
                .state,
            DependencyState::kReady);
}

TEST(DependenciesTest, InputDocumentOfASingleTask) {
  api::ContainerTask one = Named("one", {}, api::phase::kSucceeded);
  one.status.result = "42";
  one.status.exit_code = 0;
  const ItemResults back = DecodeResults(InputDocument(one, "", kMaxResultsBytes));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back.at(0).result, "42");
}

}  // namespace
}  // namespace ctask::status
