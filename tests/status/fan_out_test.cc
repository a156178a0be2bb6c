// Fan-out, pure: index ranges, the item view and back, which items open
// next, folding items into the task's status, the results document, and
// the status's size at the largest fan-out the schema allows.
#include "status/fan_out.h"

#include <gtest/gtest.h>

#include "api/codec.h"
#include "api/schema.h"
#include "status/index_set.h"
#include "status/item_results.h"

namespace ctask::status {
namespace {

using runtime::Observation;
using runtime::WorkloadState;

const Timestamp kT0 = *ParseRfc3339("2026-12-04T10:00:00Z");

api::ContainerTask FanOut(int32_t completions, int32_t parallelism) {
  api::ContainerTask t;
  t.metadata.name = "map";
  t.metadata.generation = 1;
  t.spec.image = "busybox";
  t.spec.completions = completions;
  t.spec.parallelism = parallelism;
  return t;
}

// Every item of `task` in progress decided against `observe(view)`, folded.
template <typename Observe>
api::ContainerTask Pass(api::ContainerTask task, Observe observe, Timestamp now = kT0) {
  const std::string stop = StopCause(task, "");
  std::vector<api::ItemStatus> entries = ItemsInProgress(task);
  for (int32_t i : NextItems(task, "")) entries.push_back(NewItem(task, i));
  std::vector<ItemPass> passes;
  for (const api::ItemStatus& e : entries) {
    api::ContainerTask view = ItemView(task, e, !stop.empty());
    std::optional<Observation> o = observe(view);
    Decision d = Decide(view, o, now, "", Admission{});
    const bool live = o && (o->state == WorkloadState::kRunning || o->state == WorkloadState::kWaiting);
    passes.push_back({ItemEntry(e, d.status, stop), live && IsTerminal(d.status.phase) ? true : live});
  }
  task.status = FoldFanOut(task, passes, "", "", now);
  return task;
}

Observation Exited(const api::ContainerTask& view, int32_t code) {
  Observation o;
  o.attempt = view.status.attempts;
  o.state = WorkloadState::kExited;
  o.exit_code = code;
  o.termination_message = "result of " + std::to_string(view.item->index);
  o.finished_at = kT0;
  return o;
}

TEST(IndexSetTest, RangesRoundTrip) {
  EXPECT_EQ(FormatIndexSet({0, 1, 2, 3, 7, 9, 10}), "0-3,7,9-10");
  EXPECT_EQ(FormatIndexSet({}), "");
  EXPECT_EQ(ParseIndexSet("0-3,7,9-10"), (std::set<int32_t>{0, 1, 2, 3, 7, 9, 10}));
  // A hand edit is read as far as it makes sense.
  EXPECT_EQ(ParseIndexSet("x,2,5-3,-1,4"), (std::set<int32_t>{2, 4}));
  EXPECT_TRUE(ParseIndexSet("0-2000000000").empty());
}

TEST(FanOutTest, ViewCarriesTheItemAndItsEnvironment) {
  api::ContainerTask t = FanOut(0, 2);
  t.spec.completions.reset();
  t.spec.items = {"a.txt", "b.txt"};
  t.spec.env = {{"CTASK_ITEM", "mine", std::nullopt}, {"OTHER", "x", std::nullopt}};
  t.spec.ttl_seconds_after_finished = 60;
  api::ContainerTask view = ItemView(t, NewItem(t, 1), false);
  ASSERT_TRUE(view.item);
  EXPECT_EQ(view.item->index, 1);
  EXPECT_EQ(view.item->value, "b.txt");
  EXPECT_EQ(view.item->count, 2);
  EXPECT_FALSE(IsFanOut(view.spec));
  EXPECT_FALSE(view.spec.ttl_seconds_after_finished);  // the task's, not the item's
  ASSERT_EQ(view.spec.env.size(), 4u);
  EXPECT_EQ(view.spec.env[0].name, "CTASK_INDEX");
  EXPECT_EQ(view.spec.env[0].value, "1");
  EXPECT_EQ(view.spec.env[1].name, "CTASK_COUNT");
  EXPECT_EQ(view.spec.env[2].name, "CTASK_ITEM");
  EXPECT_EQ(view.spec.env[2].value, "b.txt");  // ours win over the task's variable of the same name
  EXPECT_EQ(view.spec.env[3].name, "OTHER");
  EXPECT_TRUE(WantsSlot(view));
  EXPECT_FALSE(WantsSlot(t));  // the task itself never takes a slot
  EXPECT_FALSE(HoldsSlot(t));
}

TEST(FanOutTest, ParallelismBoundsTheItemsStarted) {
  api::ContainerTask t = FanOut(20, 4);
  t = Pass(t, [](const api::ContainerTask&) { return std::optional<Observation>(); });
  ASSERT_TRUE(t.status.fan_out);
  EXPECT_EQ(t.status.fan_out->active, 4);
  EXPECT_EQ(t.status.fan_out->waiting, 16);
  EXPECT_EQ(t.status.fan_out->items.size(), 4u);
  EXPECT_EQ(t.status.phase, api::phase::kPending);
  EXPECT_TRUE(NextItems(t, "").empty());  // full
}

TEST(FanOutTest, AllSucceedThenTheTaskSucceeds) {
  api::ContainerTask t = FanOut(5, 2);
  for (int pass = 0; pass < 20 && !IsTerminal(t.status.phase); ++pass) {
    t = Pass(t, [](const api::ContainerTask& v) {
      return v.status.attempts > 0 ? std::optional<Observation>(Exited(v, 0)) : std::nullopt;
    });
  }
  EXPECT_EQ(t.status.phase, api::phase::kSucceeded);
  EXPECT_EQ(t.status.reason, reason::kCompleted);
  EXPECT_EQ(t.status.fan_out->succeeded, 5);
  EXPECT_EQ(t.status.fan_out->succeeded_indexes, "0-4");
  EXPECT_EQ(t.status.fan_out->waiting, 0);
  EXPECT_TRUE(ItemsInProgress(t).empty());
}

TEST(FanOutTest, AFailingItemIsRetriedAloneThenTheTaskFailsAtTheEnd) {
  api::ContainerTask t = FanOut(3, 3);
  t.spec.retries = 1;
  t.spec.retry_policy.backoff_seconds = 1;
  int runs_of_1 = 0;
  Timestamp now = kT0;
  for (int pass = 0; pass < 30 && !IsTerminal(t.status.phase); ++pass) {
    now += std::chrono::seconds(2);
    t = Pass(
        t,
        [&](const api::ContainerTask& v) -> std::optional<Observation> {
          if (v.status.attempts == 0 || v.status.phase == api::phase::kQueued) return std::nullopt;
          if (v.item->index == 1 && v.status.phase == api::phase::kPending) ++runs_of_1;
          return Exited(v, v.item->index == 1 ? 2 : 0);
        },
        now);
  }
  EXPECT_EQ(runs_of_1, 2);  // the first attempt and one retry
  EXPECT_EQ(t.status.phase, api::phase::kFailed);
  EXPECT_EQ(t.status.reason, reason::kItemsFailed);
  EXPECT_EQ(t.status.fan_out->succeeded_indexes, "0,2");
  EXPECT_EQ(t.status.fan_out->failed_indexes, "1");
  ASSERT_FALSE(t.status.fan_out->items.empty());
  const api::ItemStatus& failed = t.status.fan_out->items[0];  // failures first
  EXPECT_EQ(failed.index, 1);
  EXPECT_EQ(failed.attempts, 2);
  EXPECT_EQ(failed.failures, 2);
  EXPECT_EQ(failed.exit_code, 2);
  EXPECT_NE(t.status.message.find("failed indexes 1"), std::string::npos) << t.status.message;
}

TEST(FanOutTest, FailFastStopsTheRest) {
  api::ContainerTask t = FanOut(10, 3);
  t.spec.fail_fast = true;
  // Items 0-2 start; item 0 fails, 1 and 2 run on.
  t = Pass(t, [](const api::ContainerTask&) { return std::optional<Observation>(); });
  t = Pass(t, [](const api::ContainerTask& v) -> std::optional<Observation> {
    if (v.item->index == 0) return Exited(v, 1);
    Observation o;
    o.attempt = v.status.attempts;
    o.state = WorkloadState::kRunning;
    return o;
  });
  EXPECT_EQ(t.status.phase, api::phase::kFailed);
  EXPECT_EQ(t.status.reason, reason::kItemsFailed);
  EXPECT_NE(t.status.message.find("item 0 failed"), std::string::npos) << t.status.message;
  EXPECT_EQ(StopCause(t, "").empty(), false);
  EXPECT_TRUE(NextItems(t, "").empty());
  // The running ones are stopped: cancelled once their containers are gone.
  t = Pass(t, [](const api::ContainerTask& v) { return std::optional<Observation>(Exited(v, 137)); });
  EXPECT_EQ(t.status.fan_out->cancelled, 2);
  EXPECT_EQ(t.status.fan_out->cancelled_indexes, "1-2");
  EXPECT_EQ(t.status.fan_out->waiting, 7);  // never started
  EXPECT_TRUE(ItemsInProgress(t).empty());
}

TEST(FanOutTest, SuccessPolicyOfKSucceedsEarly) {
  api::ContainerTask t = FanOut(10, 4);
  t.spec.success_policy = api::SuccessPolicy{2};
  t = Pass(t, [](const api::ContainerTask&) { return std::optional<Observation>(); });
  t = Pass(t, [](const api::ContainerTask& v) -> std::optional<Observation> {
    if (v.item->index < 2) return Exited(v, 0);
    Observation o;
    o.attempt = v.status.attempts;
    o.state = WorkloadState::kRunning;
    return o;
  });
  EXPECT_EQ(t.status.phase, api::phase::kSucceeded);
  EXPECT_NE(t.status.message.find("successPolicy.minSucceeded 2 met"), std::string::npos) << t.status.message;
  EXPECT_EQ(ItemsInProgress(t).size(), 2u);  // still to be stopped
  EXPECT_TRUE(NextItems(t, "").empty());
}

TEST(FanOutTest, ResultsDocumentRoundTripsAndIsBounded) {
  ItemResults results;
  for (int32_t i = 0; i < 3; ++i)
    results[i] = ItemResult{i, "item", "Succeeded", "Completed", 0, 1, "r" + std::to_string(i)};
  ResultsDocument doc = EncodeResults("map", 3, results);
  EXPECT_FALSE(doc.truncated);
  ItemResults back = DecodeResults(doc.text);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[2].result, "r2");
  EXPECT_EQ(back[2].exit_code, 0);

  ItemResults big;
  for (int32_t i = 0; i < 1000; ++i) big[i] = ItemResult{i, "", "Succeeded", "Completed", 0, 1, std::string(4096, 'x')};
  ResultsDocument cut = EncodeResults("map", 1000, big);
  EXPECT_TRUE(cut.truncated);
  EXPECT_LE(cut.text.size(), kMaxResultsBytes);
  EXPECT_EQ(DecodeResults(cut.text).size(), 1000u);
  EXPECT_TRUE(DecodeResults("not json").empty());
}

// At the schema's largest fan-out, with the worst status it can have (every
// slot of parallelism in progress, failures everywhere), the encoded status
// stays far below etcd's 1.5 MiB object limit.
TEST(FanOutTest, StatusStaysSmallAtTenThousandItems) {
  api::ContainerTask t = FanOut(api::kMaxItems, api::kMaxParallelism);
  api::FanOutStatus f;
  f.total = api::kMaxItems;
  std::set<int32_t> every_other;
  for (int32_t i = 0; i < api::kMaxItems; i += 2) every_other.insert(i);
  f.failed_indexes = FormatIndexSet(every_other);
  for (int32_t i = 0; i < api::kMaxParallelism + static_cast<int32_t>(api::kMaxFinishedItemEntries); ++i) {
    api::ItemStatus e = NewItem(t, i);
    e.phase = api::phase::kRunning;
    e.reason = std::string(128, 'R');
    e.message = std::string(api::kMaxItemMessageLength, 'm');
    e.item = std::string(api::kMaxItemDisplayBytes, 'i');
    e.attempts = 101;
    e.job_name = std::string(63, 'j');
    e.pod_name = std::string(63, 'p');
    e.start_time = e.admission_time = e.completion_time = e.last_failure_time = kT0;
    f.items.push_back(e);
  }
  t.status.fan_out = f;
  const size_t bytes = api::EncodeContainerTask(t).dump().size();
  EXPECT_LT(bytes, 512u * 1024) << bytes;
}

}  // namespace
}  // namespace ctask::status
