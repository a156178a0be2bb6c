#include "backends/kubernetes/own_writes.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace ctask::backends {
namespace {

using api::Json;

Json Task(const std::string& rv, const std::string& phase = "") {
  Json task = {{"metadata", {{"name", "t"}, {"namespace", "ns"}, {"resourceVersion", rv}}}};
  if (!phase.empty()) task["status"] = {{"phase", phase}};
  return task;
}

std::string VersionSeen(OwnWrites& writes, const std::optional<Json>& cached) {
  std::optional<Json> seen = writes.Resolve("ns/t", cached);
  return seen ? (*seen)["metadata"].value("resourceVersion", "") : "none";
}

TEST(OwnWritesTest, NothingWrittenReadsTheCache) {
  OwnWrites writes;
  EXPECT_EQ(VersionSeen(writes, Task("5")), "5");
  EXPECT_EQ(VersionSeen(writes, std::nullopt), "none");
}

TEST(OwnWritesTest, TheWriteIsSeenUntilTheCacheMovesPastEveryVersionItReplaced) {
  struct Case {
    std::string name;
    std::string cached;  // "" = gone from the cache
    std::string want;
  };
  // A Put from version 1: a metadata patch (-> 2), then a status write (-> 3).
  for (const Case& c : std::vector<Case>{
           {"the cache still at the start", "1", "3"},
           {"the cache at the patch, between the two writes", "2", "3"},
           {"the cache caught up", "3", "3"},
           {"someone else wrote since", "4", "4"},
           {"the task is gone", "", "none"},
       }) {
    OwnWrites writes;
    std::vector<std::string> replaced = writes.ReplacedBy("ns/t", Task("1"));
    replaced.push_back("2");
    writes.Record("ns/t", replaced, Task("3", "Running"));
    EXPECT_EQ(VersionSeen(writes, c.cached.empty() ? std::nullopt : std::optional(Task(c.cached))), c.want) << c.name;
  }
}

TEST(OwnWritesTest, OnceTheCacheMovedOnTheRecordIsDropped) {
  OwnWrites writes;
  writes.Record("ns/t", writes.ReplacedBy("ns/t", Task("1")), Task("3"));
  EXPECT_EQ(VersionSeen(writes, Task("4")), "4");
  EXPECT_EQ(VersionSeen(writes, Task("1")), "1") << "a cache going back is read as it is once the record is gone";
}

// The informer's deltas drop a record the cache has caught up with, so a
// task written once and never read again keeps no copy.
TEST(OwnWritesTest, SeenDropsTheRecordOnceTheCacheShowsAVersionItDidNotReplace) {
  OwnWrites writes;
  std::vector<std::string> replaced = writes.ReplacedBy("ns/t", Task("1"));
  replaced.push_back("2");
  writes.Record("ns/t", replaced, Task("3", "Running"));
  writes.Seen("ns/t", "2");  // the patch between: still behind
  EXPECT_EQ(VersionSeen(writes, Task("1")), "3");
  writes.Record("ns/t", writes.ReplacedBy("ns/t", Task("3")), Task("5", "Succeeded"));
  writes.Seen("ns/t", "5");
  EXPECT_EQ(VersionSeen(writes, Task("3")), "3") << "the record was dropped: the cache is read as it is";
}

TEST(OwnWritesTest, WritesInARowKeepEveryVersionTheyReplaced) {
  OwnWrites writes;
  // Reconcile 1 writes 1 -> 2 -> 3; reconcile 2 reads 3 (ours) and writes 3 -> 4.
  std::vector<std::string> first = writes.ReplacedBy("ns/t", Task("1"));
  first.push_back("2");
  writes.Record("ns/t", first, Task("3"));
  EXPECT_EQ(writes.ReplacedBy("ns/t", Task("3")), (std::vector<std::string>{"1", "2", "3"}));
  writes.Record("ns/t", writes.ReplacedBy("ns/t", Task("3")), Task("4"));
  for (const std::string cached : {"1", "2", "3"}) {
    EXPECT_EQ(VersionSeen(writes, Task(cached)), "4") << "cache at " << cached;
  }
  EXPECT_EQ(VersionSeen(writes, Task("4")), "4");
}

TEST(OwnWritesTest, AWriteFromTheCachesObjectDoesNotInheritOlderVersions) {
  OwnWrites writes;
  writes.Record("ns/t", writes.ReplacedBy("ns/t", Task("1")), Task("2"));
  // Someone else wrote 3; the next Put starts from the cache's 3.
  EXPECT_EQ(writes.ReplacedBy("ns/t", Task("3")), (std::vector<std::string>{"3"}));
}

TEST(OwnWritesTest, APatchWithNoStatusWriteAfterItIsNotStale) {
  OwnWrites writes;
  std::vector<std::string> replaced = writes.ReplacedBy("ns/t", Task("1"));
  replaced.push_back("2");                     // the patch, as Put records it before the status write...
  writes.Record("ns/t", replaced, Task("2"));  // ...which did not happen: the patch is the latest
  EXPECT_EQ(VersionSeen(writes, Task("1")), "2");
  EXPECT_EQ(VersionSeen(writes, Task("2")), "2");
  EXPECT_EQ(VersionSeen(writes, Task("1")), "1") << "the cache reached the write: the record is gone";
}

TEST(OwnWritesTest, OnlyTheNewestVersionsAreKept) {
  OwnWrites writes;
  std::string base = "100";
  for (int i = 1; i <= 20; ++i) {
    const std::string next = std::to_string(100 + i);
    writes.Record("ns/t", writes.ReplacedBy("ns/t", Task(base)), Task(next));
    base = next;
  }
  const std::vector<std::string> replaced = writes.ReplacedBy("ns/t", Task(base));
  EXPECT_EQ(replaced.size(), OwnWrites::kMaxReplacedVersions + 1);
  EXPECT_EQ(replaced.back(), "120");
  EXPECT_EQ(VersionSeen(writes, Task("119")), "120");
  EXPECT_EQ(VersionSeen(writes, Task("100")), "100") << "too far behind: read as it is";
}

TEST(OwnWritesTest, ForgetDropsTheRecordAndKeysAreApart) {
  OwnWrites writes;
  writes.Record("ns/t", writes.ReplacedBy("ns/t", Task("1")), Task("2"));
  EXPECT_EQ(writes.Resolve("ns/other", Task("1")).value()["metadata"]["resourceVersion"], "1");
  writes.Forget("ns/t");
  EXPECT_EQ(VersionSeen(writes, Task("1")), "1");
}

}  // namespace
}  // namespace ctask::backends
