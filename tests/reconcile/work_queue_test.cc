// WorkQueue and RateLimiter. Time is a fake clock the test moves by hand, so
// no assertion depends on wall time; threads appear only where blocking is
// the behaviour under test, and their timeouts are hang guards, never
// expectations.
#include "reconcile/work_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"

namespace ctask::reconcile {
namespace {

using namespace std::chrono_literals;
using fakes::FakeClock;

// Generous: only reached when the queue hangs.
constexpr auto kHangGuard = 60s;

struct FakeClockQueue {
  FakeClock clock;
  WorkQueue queue{clock};

  // Moves time on and lets blocked Get callers see it.
  void Advance(std::chrono::nanoseconds d) {
    clock.Advance(d);
    queue.Poke();
  }
};

// A queue on its own fake clock, which lives as long as the queue does.
std::shared_ptr<WorkQueue> QueueOn(std::shared_ptr<FakeClock> clock) {
  return std::shared_ptr<WorkQueue>(new WorkQueue(*clock), [clock](WorkQueue* queue) { delete queue; });
}

// Runs queue->Get() on another thread. The queue is shared so that a hang
// (reported as a failure) does not leave the thread with a dangling queue.
std::future<std::optional<std::string>> GetAsync(std::shared_ptr<WorkQueue> queue) {
  std::packaged_task<std::optional<std::string>()> task([queue] { return queue->Get(); });
  auto result = task.get_future();
  std::thread(std::move(task)).detach();
  return result;
}

// ---- dedup and processing ----

TEST(WorkQueue, AddDeduplicatesQueuedKeys) {
  FakeClockQueue q;
  q.queue.Add("default/a");
  q.queue.Add("default/b");
  q.queue.Add("default/a");
  EXPECT_EQ(q.queue.Len(), 2);
  EXPECT_EQ(q.queue.Get(), "default/a");
  EXPECT_EQ(q.queue.Get(), "default/b");
  EXPECT_EQ(q.queue.Len(), 0);
}

TEST(WorkQueue, AddWhileProcessingIsRequeuedOnDone) {
  FakeClockQueue q;
  q.queue.Add("a");
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Add("a");
  q.queue.Add("a");
  EXPECT_EQ(q.queue.Len(), 0) << "a key being processed is not handed out again";
  q.queue.Done("a");
  EXPECT_EQ(q.queue.Len(), 1) << "both Adds collapse into one re-queue";
  EXPECT_EQ(q.queue.Get(), "a");
  q.queue.Done("a");
  EXPECT_EQ(q.queue.Len(), 0);
}

// ---- priority ----

TEST(WorkQueue, AWorkloadsChangeGoesBeforeTheInitialListsBacklog) {
  FakeClockQueue q;
  q.queue.Add("ns/listed-1", Priority::kLow);
  q.queue.Add("ns/listed-2", Priority::kLow);
  q.queue.Add("ns/created", Priority::kNormal);
  q.queue.Add("ns/pod-changed", Priority::kHigh);
  q.queue.Add("ns/listed-2", Priority::kHigh);  // its pod changed too: moved up
  EXPECT_EQ(q.queue.Len(), 4);
  EXPECT_EQ(q.queue.Get(), "ns/pod-changed");
  EXPECT_EQ(q.queue.Get(), "ns/listed-2");
  EXPECT_EQ(q.queue.Get(), "ns/created");
  EXPECT_EQ(q.queue.Get(), "ns/listed-1");
}

TEST(WorkQueue, AKeyAddedWhileProcessingIsRequeuedAtTheHighestPriorityAskedFor) {
  FakeClockQueue q;
  q.queue.Add("a");
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Add("b", Priority::kNormal);
  q.queue.Add("a", Priority::kLow);
  q.queue.Add("a", Priority::kHigh);
  q.queue.Done("a");
  EXPECT_EQ(q.queue.Get(), "a");
  EXPECT_EQ(q.queue.Get(), "b");
}

// A worker's own look-again at kLow (its task's first workload just
// created) goes behind the keys still waiting at kNormal; a later one comes
// due at kNormal.
TEST(WorkQueue, ALookAgainAtOnceQueuesAtThePriorityItNames) {
  FakeClockQueue q;
  q.queue.Add("started");
  ASSERT_EQ(q.queue.Get(), "started");
  q.queue.Add("waiting", Priority::kNormal);
  q.queue.AddAfter("started", std::chrono::nanoseconds(0), Priority::kLow);
  q.queue.Done("started");
  EXPECT_EQ(q.queue.Get(), "waiting");
  EXPECT_EQ(q.queue.Get(), "started");
}

TEST(WorkQueue, DoneWithoutAddDoesNotRequeue) {
  FakeClockQueue q;
  q.queue.Add("a");
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Done("a");
  EXPECT_EQ(q.queue.Len(), 0);
  q.queue.Done("a");  // not processing: ignored
  q.queue.Done("never-seen");
  EXPECT_EQ(q.queue.Len(), 0);
}

TEST(WorkQueue, OtherKeysFlowWhileOneIsProcessing) {
  FakeClockQueue q;
  q.queue.Add("a");
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Add("a");
  q.queue.Add("b");
  EXPECT_EQ(q.queue.Get(), "b");
  q.queue.Done("a");
  EXPECT_EQ(q.queue.Get(), "a");
}

// Several workers, one producer adding a few keys many times. Asserts, by
// counting, that no key is ever held by two workers, and that every key's
// last Add is followed by a processing that saw it (no Add is lost).
TEST(WorkQueue, NoKeyIsProcessedByTwoWorkersAtOnce) {
  constexpr int kWorkers = 4;
  constexpr int kKeys = 5;
  constexpr int kAddsPerKey = 2000;
  WorkQueue queue;  // the real clock: nothing here is delayed

  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("ns/key-" + std::to_string(i));

  std::map<std::string, std::atomic<int>> in_flight;
  for (const auto& key : keys) in_flight[key] = 0;
  std::atomic<int> overlaps{0};
  std::atomic<int> processed{0};

  // Per key: Adds made so far, and the most Adds a processing start has seen.
  std::mutex mu;
  std::condition_variable caught_up;
  std::map<std::string, int> adds;
  std::map<std::string, int> seen;

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (std::optional<std::string> key = queue.Get()) {
        if (in_flight.at(*key).fetch_add(1) != 0) ++overlaps;
        {
          std::lock_guard lock(mu);
          seen[*key] = std::max(seen[*key], adds[*key]);
        }
        caught_up.notify_all();
        std::this_thread::yield();
        ++processed;
        in_flight.at(*key).fetch_sub(1);
        queue.Done(*key);
      }
    });
  }

  std::thread producer([&] {
    for (int i = 0; i < kAddsPerKey; ++i) {
      for (const auto& key : keys) {
        {
          std::lock_guard lock(mu);
          ++adds[key];
        }
        queue.Add(key);
        if (i % 64 == 0) std::this_thread::yield();
      }
    }
  });
  producer.join();

  {
    std::unique_lock lock(mu);
    bool all_seen = caught_up.wait_for(lock, kHangGuard, [&] {
      for (const auto& key : keys) {
        if (seen[key] != kAddsPerKey) return false;
      }
      return true;
    });
    EXPECT_TRUE(all_seen) << "a key's last Add was never processed";
  }
  queue.ShutDown();
  for (auto& worker : workers) worker.join();

  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(processed.load(), kKeys);
  EXPECT_LE(processed.load(), kKeys * kAddsPerKey);
}

// ---- delays ----

TEST(WorkQueue, AddAfterHandsKeysOutInDueOrder) {
  FakeClockQueue q;
  q.queue.AddAfter("c", 3s);
  q.queue.AddAfter("a", 1s);
  q.queue.AddAfter("b", 2s);
  EXPECT_EQ(q.queue.Len(), 0);
  q.Advance(999ms);
  EXPECT_EQ(q.queue.Len(), 0);
  q.Advance(1ms);
  EXPECT_EQ(q.queue.Len(), 1);
  q.Advance(5s);
  EXPECT_EQ(q.queue.Len(), 3);
  EXPECT_EQ(q.queue.Get(), "a");
  EXPECT_EQ(q.queue.Get(), "b");
  EXPECT_EQ(q.queue.Get(), "c");
  EXPECT_EQ(q.queue.Len(), 0);
}

TEST(WorkQueue, EqualDueTimesComeOutInAddOrder) {
  FakeClockQueue q;
  q.queue.AddAfter("x", 1s);
  q.queue.AddAfter("y", 1s);
  q.queue.AddAfter("z", 1s);
  q.Advance(1s);
  EXPECT_EQ(q.queue.Get(), "x");
  EXPECT_EQ(q.queue.Get(), "y");
  EXPECT_EQ(q.queue.Get(), "z");
}

TEST(WorkQueue, ShorterDelayReplacesPendingLongerOne) {
  FakeClockQueue q;
  q.queue.AddAfter("a", 10s);
  q.queue.AddAfter("a", 2s);
  q.Advance(2s);
  EXPECT_EQ(q.queue.Len(), 1);
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Done("a");
  q.Advance(10s);
  EXPECT_EQ(q.queue.Len(), 0) << "the superseded 10s entry must not fire";
}

TEST(WorkQueue, LongerDelayDoesNotPostponePendingShorterOne) {
  FakeClockQueue q;
  q.queue.AddAfter("a", 1s);
  q.queue.AddAfter("a", 5s);
  q.Advance(1s);
  EXPECT_EQ(q.queue.Len(), 1);
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Done("a");
  q.Advance(5s);
  EXPECT_EQ(q.queue.Len(), 0);
}

TEST(WorkQueue, AddCancelsPendingDelay) {
  FakeClockQueue q;
  q.queue.AddAfter("a", 5s);
  q.queue.Add("a");
  EXPECT_EQ(q.queue.Len(), 1);
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Done("a");
  q.Advance(5s);
  EXPECT_EQ(q.queue.Len(), 0);
}

TEST(WorkQueue, AddAfterOfQueuedKeyChangesNothing) {
  FakeClockQueue q;
  q.queue.Add("a");
  q.queue.AddAfter("a", 1s);
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Done("a");
  q.Advance(1s);
  EXPECT_EQ(q.queue.Len(), 0);
}

TEST(WorkQueue, NonPositiveDelayIsAdd) {
  FakeClockQueue q;
  q.queue.AddAfter("zero", 0s);
  q.queue.AddAfter("negative", -1s);
  EXPECT_EQ(q.queue.Len(), 2);
  EXPECT_EQ(q.queue.Get(), "zero");
  EXPECT_EQ(q.queue.Get(), "negative");
}

TEST(WorkQueue, DelayedKeyFallingDueWhileProcessingWaitsForDone) {
  FakeClockQueue q;
  q.queue.Add("a");
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.AddAfter("a", 1s);
  q.Advance(1s);
  EXPECT_EQ(q.queue.Len(), 0);
  q.queue.Add("b");
  ASSERT_EQ(q.queue.Get(), "b");  // promotes a, which becomes dirty
  q.queue.Done("a");
  EXPECT_EQ(q.queue.Len(), 1);
  EXPECT_EQ(q.queue.Get(), "a");
}

TEST(WorkQueue, BlockedGetWakesWhenFakeClockReachesDueTime) {
  auto clock = std::make_shared<FakeClock>();
  auto queue = QueueOn(clock);
  queue->AddAfter("a", 10s);
  auto got = GetAsync(queue);
  clock->Advance(10s);
  queue->Poke();
  ASSERT_EQ(got.wait_for(kHangGuard), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");
}

TEST(WorkQueue, BlockedGetWakesForAdd) {
  auto clock = std::make_shared<FakeClock>();
  auto queue = QueueOn(clock);
  auto got = GetAsync(queue);
  queue->Add("a");
  ASSERT_EQ(got.wait_for(kHangGuard), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");
}

// Real clock: a Get sleeping until an hour-away key must notice a key added
// with a short delay meanwhile.
TEST(WorkQueue, BlockedGetNoticesEarlierDelayedKey) {
  auto queue = std::make_shared<WorkQueue>();
  queue->AddAfter("later", 1h);
  auto got = GetAsync(queue);
  queue->AddAfter("sooner", 1ms);
  ASSERT_EQ(got.wait_for(kHangGuard), std::future_status::ready);
  EXPECT_EQ(got.get(), "sooner");
  queue->ShutDown();
}

TEST(WorkQueue, KeysFallingDueTogetherReachEveryBlockedGet) {
  auto clock = std::make_shared<FakeClock>();
  auto queue = QueueOn(clock);
  std::vector<std::future<std::optional<std::string>>> gets;
  for (int i = 0; i < 3; ++i) gets.push_back(GetAsync(queue));
  queue->AddAfter("a", 1s);
  queue->AddAfter("b", 1s);
  queue->AddAfter("c", 1s);
  clock->Advance(1s);
  queue->Poke();
  std::vector<std::string> keys;
  for (auto& got : gets) {
    ASSERT_EQ(got.wait_for(kHangGuard), std::future_status::ready);
    std::optional<std::string> key = got.get();
    ASSERT_TRUE(key.has_value());
    keys.push_back(*key);
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c"}));
}

// ---- shutdown ----

TEST(WorkQueue, ShutDownUnblocksBlockedGet) {
  auto queue = std::make_shared<WorkQueue>();
  auto got = GetAsync(queue);
  queue->ShutDown();
  ASSERT_EQ(got.wait_for(kHangGuard), std::future_status::ready);
  EXPECT_EQ(got.get(), std::nullopt);
  EXPECT_TRUE(queue->ShuttingDown());
}

TEST(WorkQueue, GetAfterShutDownReturnsNulloptEvenWithKeysQueued) {
  FakeClockQueue q;
  q.queue.Add("a");
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Add("b");
  q.queue.ShutDown();
  EXPECT_EQ(q.queue.Get(), std::nullopt);
  q.queue.Done("a");  // workers can still finish their key
  q.queue.Add("c");   // ignored
  q.queue.AddAfter("d", 1s);
  q.queue.AddRateLimited("e");
  EXPECT_EQ(q.queue.Get(), std::nullopt);
  EXPECT_EQ(q.queue.NumRequeues("e"), 0);
}

// ---- rate limiting ----

TEST(RateLimiter, PerKeyBackoffDoublesFromBaseToCap) {
  FakeClock clock;
  RateLimiter limiter({}, clock.Steady());
  const std::vector<std::chrono::nanoseconds> expected = {
      100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms, 6400ms, 12800ms, 25600ms, 51200ms, 60s, 60s, 60s,
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    clock.Advance(1h);  // keep the bucket full: only the backoff shows
    EXPECT_EQ(limiter.When("a", clock.Steady()), expected[i]) << "failure " << i + 1;
    EXPECT_EQ(limiter.NumRequeues("a"), static_cast<int>(i + 1));
  }
  for (int i = 0; i < 100; ++i) {
    clock.Advance(1h);
    ASSERT_EQ(limiter.When("a", clock.Steady()), 60s) << "the cap must hold, without overflow";
  }
}

TEST(RateLimiter, ForgetResetsOnlyThatKey) {
  FakeClock clock;
  RateLimiter limiter({}, clock.Steady());
  for (int i = 0; i < 3; ++i) limiter.When("a", clock.Steady());
  limiter.When("b", clock.Steady());
  EXPECT_EQ(limiter.NumRequeues("a"), 3);
  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.NumRequeues("b"), 1);
  EXPECT_EQ(limiter.When("a", clock.Steady()), 100ms);
  EXPECT_EQ(limiter.When("b", clock.Steady()), 200ms);
}

TEST(RateLimiter, TokenBucketDelaysRetriesBeyondTheBurst) {
  FakeClock clock;
  RateLimiter limiter({}, clock.Steady());
  // Distinct keys, so each backoff is the base 100ms; the bucket's 100
  // tokens cover the first 100 retries.
  int k = 0;
  auto next = [&] { return limiter.When("key-" + std::to_string(k++), clock.Steady()); };
  for (int i = 0; i < kDefaultBurst; ++i) ASSERT_EQ(next(), 100ms) << "retry " << i + 1;
  // Then one token per 100ms (10 qps), each retry queued behind the last.
  EXPECT_EQ(next(), 100ms);
  EXPECT_EQ(next(), 200ms);
  EXPECT_EQ(next(), 300ms);
  EXPECT_EQ(next(), 400ms);
  EXPECT_EQ(next(), 500ms);
  // 200ms refill two of the five tokens owed.
  clock.Advance(200ms);
  EXPECT_EQ(next(), 400ms);
  // A long idle refills the bucket only up to the burst.
  clock.Advance(1h);
  for (int i = 0; i < kDefaultBurst; ++i) ASSERT_EQ(next(), 100ms) << "retry " << i + 1 << " after idling";
  EXPECT_EQ(next(), 100ms);
  EXPECT_EQ(next(), 200ms);
}

TEST(RateLimiter, CustomOptions) {
  FakeClock clock;
  RateLimiter limiter({.base_delay = 1s, .max_delay = 3s, .qps = 1, .burst = 1}, clock.Steady());
  EXPECT_EQ(limiter.When("a", clock.Steady()), 1s);
  EXPECT_EQ(limiter.When("b", clock.Steady()), 1s);  // bucket: one token owed
  EXPECT_EQ(limiter.When("c", clock.Steady()), 2s);  // bucket: two owed
  EXPECT_EQ(limiter.When("a", clock.Steady()), 3s);  // backoff 2s, bucket 3s
  clock.Advance(1h);
  EXPECT_EQ(limiter.When("a", clock.Steady()), 3s);  // backoff 4s, capped
}

TEST(WorkQueue, AddRateLimitedBacksOffPerKey) {
  FakeClockQueue q;
  q.queue.AddRateLimited("a");
  EXPECT_EQ(q.queue.NumRequeues("a"), 1);
  q.Advance(99ms);
  EXPECT_EQ(q.queue.Len(), 0);
  q.Advance(1ms);
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.AddRateLimited("a");  // failed again while processing
  q.queue.Done("a");
  q.Advance(199ms);
  EXPECT_EQ(q.queue.Len(), 0);
  q.Advance(1ms);
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Forget("a");  // succeeded
  q.queue.Done("a");
  EXPECT_EQ(q.queue.NumRequeues("a"), 0);
  q.queue.AddRateLimited("a");
  q.Advance(100ms);
  EXPECT_EQ(q.queue.Len(), 1);
}

TEST(WorkQueue, AddRateLimitedBeyondTheBurstWaitsForTheBucket) {
  FakeClockQueue q;
  for (int i = 0; i <= kDefaultBurst + 1; ++i) q.queue.AddRateLimited("key-" + std::to_string(i));
  q.Advance(100ms);
  EXPECT_EQ(q.queue.Len(), kDefaultBurst + 1) << "the last key owes a second token";
  q.Advance(100ms);
  EXPECT_EQ(q.queue.Len(), kDefaultBurst + 2);
}

// ---- observer ----

// Records what the queue reports. Plain members: the callbacks run under the
// queue's lock, and these tests read them from the calling thread only.
struct Recorder {
  int added = 0;
  int retried = 0;
  std::vector<int> depths;
  std::vector<std::chrono::nanoseconds> waits;

  QueueObserver Observer() {
    return QueueObserver{
        .added = [this] { ++added; },
        .retried = [this] { ++retried; },
        .depth = [this](int depth) { depths.push_back(depth); },
        .waited = [this](std::chrono::nanoseconds waited) { waits.push_back(waited); },
    };
  }
};

TEST(WorkQueueObserver, ReportsAddsDepthAndTimeQueued) {
  FakeClockQueue q;
  Recorder r;
  q.queue.SetObserver(r.Observer());
  EXPECT_EQ(r.depths, std::vector<int>{0}) << "the depth at once";

  q.queue.Add("a");
  q.Advance(2ms);
  q.queue.Add("b");
  q.queue.Add("a");  // deduplicated: not an add
  EXPECT_EQ(r.added, 2);
  EXPECT_EQ(r.depths, (std::vector<int>{0, 1, 2}));

  q.Advance(5ms);
  ASSERT_EQ(q.queue.Get(), "a");
  ASSERT_EQ(q.queue.Get(), "b");
  EXPECT_EQ(r.depths, (std::vector<int>{0, 1, 2, 1, 0}));
  EXPECT_EQ(r.waits, (std::vector<std::chrono::nanoseconds>{7ms, 5ms}));

  // Added while processing: counted now, queued (and its depth reported) on
  // Done, and its wait runs from the add.
  q.queue.Add("a");
  EXPECT_EQ(r.added, 3);
  EXPECT_EQ(r.depths.size(), 5u);
  q.Advance(3ms);
  q.queue.Done("a");
  EXPECT_EQ(r.depths.back(), 1);
  q.Advance(1ms);
  ASSERT_EQ(q.queue.Get(), "a");
  EXPECT_EQ(r.waits.back(), 4ms);
  EXPECT_EQ(r.retried, 0);
}

TEST(WorkQueueObserver, RetriesAndDelayedKeysCountWhenTheyComeDue) {
  FakeClockQueue q;
  Recorder r;
  q.queue.SetObserver(r.Observer());
  q.queue.AddRateLimited("a");  // 100ms backoff
  q.queue.AddAfter("b", 1s);
  EXPECT_EQ(r.retried, 1);
  EXPECT_EQ(r.added, 0) << "delayed keys are not queued yet";

  q.Advance(130ms);  // a came due 30ms ago
  ASSERT_EQ(q.queue.Get(), "a");
  EXPECT_EQ(r.added, 1);
  EXPECT_EQ(r.waits, std::vector<std::chrono::nanoseconds>{30ms}) << "waiting began at the due time";
  q.queue.AddRateLimited("a");
  EXPECT_EQ(r.retried, 2);
  q.queue.Done("a");

  q.queue.ShutDown();
  q.queue.AddRateLimited("a");
  q.queue.Add("c");
  EXPECT_EQ(r.retried, 2) << "ignored after ShutDown";
  EXPECT_EQ(r.added, 1);
}

TEST(WorkQueueObserver, UnsetOrRemovedReportsNothing) {
  FakeClockQueue q;
  q.queue.Add("a");  // no observer: nothing to call
  Recorder r;
  q.queue.SetObserver(r.Observer());
  EXPECT_EQ(r.depths, std::vector<int>{1});
  q.queue.SetObserver({});
  q.queue.Add("b");
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.AddRateLimited("a");
  EXPECT_EQ(r.added, 0);
  EXPECT_EQ(r.retried, 0);
  EXPECT_EQ(r.depths, std::vector<int>{1});
  EXPECT_TRUE(r.waits.empty());
}

TEST(WorkQueueObserver, PartialObserversAreFine) {
  FakeClockQueue q;
  int depth = -1;
  q.queue.SetObserver(QueueObserver{.depth = [&](int d) { depth = d; }});
  q.queue.Add("a");
  q.queue.AddRateLimited("b");
  EXPECT_EQ(depth, 1);
  ASSERT_EQ(q.queue.Get(), "a");
  EXPECT_EQ(depth, 0);
}

}  // namespace
}  // namespace ctask::reconcile
