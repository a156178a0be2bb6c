// AdmissionBook: limits, FIFO within a queue, round-robin across queues,
// offers kept and withdrawn, positions. Pure: no clock, no threads.
#include "admission/book.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

namespace ctask::admission {
namespace {

const Timestamp kT0 = Timestamp(std::chrono::seconds(1'800'000'000));

TaskRef Ref(const std::string& name, const std::string& queue, int seconds = 0, int32_t priority = 0) {
  return TaskRef{"ns/" + name, "ns/" + queue, priority, kT0 + std::chrono::seconds(seconds)};
}

Limits Global(int global, std::optional<int> per_queue = std::nullopt) {
  Limits l;
  l.global = global;
  l.per_queue = per_queue;
  return l;
}

// Offers, then claims and holds every offer, as reconciles would.
std::vector<std::string> Admit(AdmissionBook& book, const std::vector<TaskRef>& all) {
  std::vector<std::string> offered = book.Offer();
  for (const std::string& key : offered) {
    EXPECT_TRUE(book.Claim(key)) << key;
    auto ref = std::find_if(all.begin(), all.end(), [&](const TaskRef& r) { return r.key == key; });
    book.Set(*ref, Slot::kHolding);
  }
  return offered;
}

TEST(AdmissionBookTest, NoLimitsOfferEveryWaitingTask) {
  AdmissionBook book;
  book.Set(Ref("a", "q"), Slot::kWaiting);
  book.Set(Ref("b", "r"), Slot::kWaiting);
  EXPECT_EQ(book.Offer(), (std::vector<std::string>{"ns/a", "ns/b"}));
  EXPECT_TRUE(book.Offer().empty());
}

TEST(AdmissionBookTest, FifoWithinAQueueByCreationThenName) {
  AdmissionBook book(Global(1));
  std::vector<TaskRef> all = {Ref("late", "q", 5), Ref("b", "q", 1), Ref("a", "q", 1), Ref("first", "q", 0)};
  for (const TaskRef& r : all) book.Set(r, Slot::kWaiting);
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    std::vector<std::string> offered = Admit(book, all);
    ASSERT_EQ(offered.size(), 1u);
    order.push_back(offered[0]);
    book.Set(*std::find_if(all.begin(), all.end(), [&](const TaskRef& r) { return r.key == offered[0]; }),
             Slot::kNone);  // finished
  }
  EXPECT_EQ(order, (std::vector<std::string>{"ns/first", "ns/a", "ns/b", "ns/late"}));
}

TEST(AdmissionBookTest, PriorityGoesFirstWithinAQueueOnly) {
  AdmissionBook book(Global(1));
  std::vector<TaskRef> all = {Ref("old", "q", 0), Ref("urgent", "q", 9, 10)};
  for (const TaskRef& r : all) book.Set(r, Slot::kWaiting);
  EXPECT_EQ(Admit(book, all), std::vector<std::string>{"ns/urgent"});
}

TEST(AdmissionBookTest, RoundRobinAcrossQueuesDoesNotStarveASmallQueue) {
  AdmissionBook book(Global(1));
  std::vector<TaskRef> all;
  for (int i = 0; i < 500; ++i) all.push_back(Ref("big-" + std::to_string(1000 + i), "big", 0));
  all.push_back(Ref("small", "small", 100));
  all.push_back(Ref("mid-1", "mid", 50));
  all.push_back(Ref("mid-2", "mid", 51));
  for (const TaskRef& r : all) book.Set(r, Slot::kWaiting);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    std::vector<std::string> offered = Admit(book, all);
    ASSERT_EQ(offered.size(), 1u);
    order.push_back(offered[0]);
    book.Remove(offered[0]);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"ns/big-1000", "ns/mid-1", "ns/small", "ns/big-1001", "ns/mid-2",
                                             "ns/big-1002"}));
}

TEST(AdmissionBookTest, GlobalAndPerQueueLimitsAreNeverExceeded) {
  AdmissionBook book(Global(5, 1));
  std::vector<TaskRef> all;
  for (int q = 0; q < 10; ++q) {
    for (int i = 0; i < 20; ++i)
      all.push_back(Ref("t" + std::to_string(q) + "-" + std::to_string(i), "q" + std::to_string(q), i));
  }
  for (const TaskRef& r : all) book.Set(r, Slot::kWaiting);
  std::map<std::string, int> started;  // queue -> starts
  std::deque<std::string> running;     // in start order: every task takes as long
  size_t finished = 0;
  while (finished < all.size()) {
    for (const std::string& key : Admit(book, all)) {
      running.push_back(key);
      ++started[key.substr(3, key.find('-') - 3)];
    }
    ASSERT_LE(running.size(), 5u);
    ASSERT_EQ(book.running_total(), static_cast<int64_t>(running.size()));
    for (const auto& [id, counts] : book.Counts()) ASSERT_LE(counts.running, 1) << id;
    // Round-robin: while every queue has work, no queue is more than one
    // start ahead of another.
    if (finished + running.size() < all.size() - 10) {
      int lo = 1 << 30, hi = 0;
      for (int q = 0; q < 10; ++q) {
        lo = std::min(lo, started["t" + std::to_string(q)]);
        hi = std::max(hi, started["t" + std::to_string(q)]);
      }
      ASSERT_LE(hi - lo, 1) << "after " << finished << " finished";
    }
    // The task that started first finishes first.
    const std::string done = running.front();
    running.pop_front();
    book.Set(*std::find_if(all.begin(), all.end(), [&](const TaskRef& r) { return r.key == done; }), Slot::kNone);
    ++finished;
  }
  EXPECT_EQ(book.running_total(), 0);
  EXPECT_TRUE(book.Counts().empty());
}

TEST(AdmissionBookTest, AnOfferCountsUntilClaimedAndIsKeptWhileTheTaskWaits) {
  AdmissionBook book(Global(1));
  book.Set(Ref("a", "q", 0), Slot::kWaiting);
  book.Set(Ref("b", "q", 1), Slot::kWaiting);
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/a"});
  EXPECT_TRUE(book.Offer().empty()) << "the offer to a takes the only slot";
  book.Set(Ref("a", "q", 0), Slot::kWaiting);  // its record still says waiting
  EXPECT_FALSE(book.Claim("ns/b"));
  EXPECT_TRUE(book.Claim("ns/a"));
  EXPECT_TRUE(book.StandingOf("ns/a")->offered);
  book.Unclaim("ns/a");  // the admission could not be written
  EXPECT_EQ(book.running_total(), 0);
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/a"}) << "back in its place, first";
}

TEST(AdmissionBookTest, HoldingFromRecordsCountsBeforeAnyOffer) {
  // After a restart the records say who holds a slot: nothing more is
  // offered until one of them lets go.
  AdmissionBook book(Global(2));
  book.Set(Ref("r1", "q"), Slot::kHolding);
  book.Set(Ref("r2", "p"), Slot::kHolding);
  book.Set(Ref("w", "q", 5), Slot::kWaiting);
  EXPECT_TRUE(book.Offer().empty());
  book.Set(Ref("r2", "p"), Slot::kNone);
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/w"});
}

TEST(AdmissionBookTest, LoweringALimitWithdrawsNewestOffersOnlyAndKeepsHeldSlots) {
  AdmissionBook book(Global(4));
  for (const char* n : {"a", "b", "c", "d"}) book.Set(Ref(n, "q"), Slot::kWaiting);
  std::vector<std::string> offered = book.Offer();
  ASSERT_EQ(offered.size(), 4u);
  book.Claim("ns/a");
  book.Set(Ref("a", "q"), Slot::kHolding);
  book.Claim("ns/b");
  std::vector<std::string> withdrawn = book.SetLimits(Global(1));
  EXPECT_EQ(withdrawn, (std::vector<std::string>{"ns/d", "ns/c"}));
  EXPECT_EQ(book.running_total(), 2) << "a holds, b claimed: both kept though the limit is 1";
  EXPECT_TRUE(book.Offer().empty());
  book.Set(Ref("a", "q"), Slot::kNone);
  book.Set(Ref("b", "q"), Slot::kNone);
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/c"});
  // Raising it offers at once.
  book.SetLimits(Global(3));
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/d"});
}

TEST(AdmissionBookTest, PerQueueOverrideAndAPausedQueue) {
  Limits limits = Global(10, 1);
  limits.queues["ns/wide"] = 3;
  limits.queues["ns/paused"] = 0;
  AdmissionBook book(limits);
  for (int i = 0; i < 5; ++i) {
    book.Set(Ref("w" + std::to_string(i), "wide", i), Slot::kWaiting);
    book.Set(Ref("n" + std::to_string(i), "narrow", i), Slot::kWaiting);
    book.Set(Ref("p" + std::to_string(i), "paused", i), Slot::kWaiting);
  }
  std::vector<std::string> offered = book.Offer();
  std::sort(offered.begin(), offered.end());
  EXPECT_EQ(offered, (std::vector<std::string>{"ns/n0", "ns/w0", "ns/w1", "ns/w2"}));
  const std::optional<Standing> p = book.StandingOf("ns/p3");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->position, 4);
  EXPECT_EQ(p->waiting, 5);
  EXPECT_EQ(p->running, 0);
  EXPECT_EQ(p->queue_limit, 0);
}

TEST(AdmissionBookTest, StandingSaysPositionAndCounts) {
  AdmissionBook book(Global(5, 1));
  book.Set(Ref("run", "team-a"), Slot::kHolding);
  for (int i = 0; i < 7; ++i) book.Set(Ref("w" + std::to_string(i), "team-a", i + 1), Slot::kWaiting);
  const std::optional<Standing> s = book.StandingOf("ns/w2");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->queue, "ns/team-a");
  EXPECT_FALSE(s->offered);
  EXPECT_EQ(s->position, 3);
  EXPECT_EQ(s->waiting, 7);
  EXPECT_EQ(s->running, 1);
  EXPECT_EQ(s->queue_limit, 1);
  EXPECT_EQ(s->running_total, 1);
  EXPECT_EQ(s->global_limit, 5);
  EXPECT_FALSE(book.StandingOf("ns/unknown"));
}

TEST(AdmissionBookTest, ResumedTaskGivesItsSlotBackAndWaitsAgain) {
  AdmissionBook book(Global(1));
  book.Set(Ref("a", "q"), Slot::kHolding);
  book.Set(Ref("b", "q", 1), Slot::kWaiting);
  book.Set(Ref("a", "q"), Slot::kWaiting);  // suspended, resumed: in line again, at its place
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/a"});
}

TEST(AdmissionBookTest, MovingToAnotherQueueMovesTheTask) {
  AdmissionBook book(Global(5, 1));
  book.Set(Ref("a", "q"), Slot::kHolding);
  book.Set(Ref("b", "q", 1), Slot::kWaiting);
  book.Set(Ref("b", "other", 1), Slot::kWaiting);
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/b"});
  book.Set(Ref("b", "third", 1), Slot::kWaiting);  // moved while offered: the offer goes
  EXPECT_EQ(book.running_total(), 1);
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/b"});
  book.Set(Ref("a", "q"), Slot::kNone);
  book.Remove("ns/b");
  EXPECT_EQ(book.running_total(), 0);
  EXPECT_TRUE(book.Counts().empty());
}

TEST(AdmissionBookTest, AQueueWhoseFirstTaskComesLateIsServedNextNotARoundLater) {
  AdmissionBook book(Global(1));
  std::vector<TaskRef> all;
  for (const char* q : {"a", "b", "c"}) {
    for (int i = 0; i < 3; ++i) all.push_back(Ref(std::string(q) + std::to_string(i), q, i));
  }
  for (const TaskRef& r : all) {
    if (r.queue != "ns/a") book.Set(r, Slot::kWaiting);
  }
  std::vector<std::string> order;
  auto next = [&] {
    std::vector<std::string> offered = Admit(book, all);
    ASSERT_EQ(offered.size(), 1u);
    order.push_back(offered[0]);
    book.Remove(offered[0]);
  };
  next();  // b0
  next();  // c0
  for (const TaskRef& r : all) {
    if (r.queue == "ns/a") book.Set(r, Slot::kWaiting);  // queue a's tasks arrive now
  }
  next();
  next();
  next();
  EXPECT_EQ(order, (std::vector<std::string>{"ns/b0", "ns/c0", "ns/a0", "ns/b1", "ns/c1"}))
      << "a, never served, goes before b and c, served once each";
}

TEST(AdmissionBookTest, ChangedQueuesAndTheirFront) {
  AdmissionBook book(Global(1));
  book.Set(Ref("a", "q", 0), Slot::kWaiting);
  book.Set(Ref("b", "q", 1), Slot::kWaiting);
  book.Set(Ref("c", "r", 1), Slot::kWaiting);
  EXPECT_EQ(book.TakeChanged(), (std::vector<std::string>{"ns/q", "ns/r"}));
  book.Set(Ref("a", "q", 0), Slot::kWaiting);
  EXPECT_TRUE(book.TakeChanged().empty()) << "the same record again changes nothing";
  EXPECT_EQ(book.Offer(), std::vector<std::string>{"ns/a"});
  EXPECT_EQ(book.TakeChanged(), std::vector<std::string>{"ns/q"});
  EXPECT_EQ(book.Front("ns/q", 3), std::vector<std::string>{"ns/b"});
  EXPECT_TRUE(book.Front("ns/none", 3).empty());
}

}  // namespace
}  // namespace ctask::admission
