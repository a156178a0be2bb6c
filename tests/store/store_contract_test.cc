// The Store contract (store/store.h), one set of cases run over every Store
// the tests use: the FileStore (the Docker backend's records) and the
// in-memory fake of tests/fakes/memory_store.h. A unit test over the fake
// can then be trusted to behave as it would over the real store.
// FileStore-only behaviour (layout, durability, locks) stays in
// file_store_test.cc.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "api/codec.h"
#include "fakes/memory_store.h"
#include "store/file_store.h"
#include "util/sha256.h"

namespace ctask::store {
namespace {

namespace fs = std::filesystem;

api::ContainerTask Task(const std::string& ns, const std::string& name) {
  api::ContainerTask task;
  task.metadata.namespace_ = ns;
  task.metadata.name = name;
  task.metadata.uid = "uid-" + name;
  task.spec.image = "busybox:1.36";
  return task;
}

// How each Store under test is made and cleaned up.
struct FileStoreMaker {
  std::unique_ptr<Store> Make() {
    std::string pattern = (fs::temp_directory_path() / "ctask-contract-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return nullptr;
    dir = pattern;
    Result<std::unique_ptr<FileStore>> opened = FileStore::Open(dir + "/state");
    return opened ? std::move(*opened) : nullptr;
  }
  ~FileStoreMaker() {
    std::error_code ignored;
    if (!dir.empty()) fs::remove_all(dir, ignored);
  }
  std::string dir;
};

struct MemoryStoreMaker {
  std::unique_ptr<Store> Make() { return std::make_unique<fakes::MemoryStore>(); }
};

template <typename Maker>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = maker_.Make();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { store_.reset(); }

  std::string ReadAll(const std::string& name) {
    Result<std::string> log = store_->ReadLog("default", name, 0);
    EXPECT_TRUE(log) << log.error().message();
    return log ? *log : "";
  }

  Maker maker_;  // declared first: outlives the store
  std::unique_ptr<Store> store_;
};

using Stores = ::testing::Types<FileStoreMaker, MemoryStoreMaker>;
class StoreNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, FileStoreMaker> ? "FileStore" : "MemoryStore";
  }
};
TYPED_TEST_SUITE(StoreContractTest, Stores, StoreNames);

TYPED_TEST(StoreContractTest, GetOfAnAbsentTaskIsNotFound) {
  Result<api::ContainerTask> got = this->store_->Get("default", "absent");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
}

TYPED_TEST(StoreContractTest, AKeyThatIsNotADnsLabelIsRefusedNamingTheField) {
  api::ContainerTask task = Task("default", "../escape");
  Status put = this->store_->Put(task);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(put.error().message().find("metadata.name"), std::string::npos) << put.error().message();
  Result<api::ContainerTask> got = this->store_->Get("Bad_NS", "x");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(got.error().message().find("metadata.namespace"), std::string::npos) << got.error().message();
}

TYPED_TEST(StoreContractTest, EveryPutBumpsTheResourceVersion) {
  api::ContainerTask task = Task("default", "hello");
  ASSERT_TRUE(this->store_->Put(task));
  Result<api::ContainerTask> first = this->store_->Get("default", "hello");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->metadata.resource_version, "1");
  EXPECT_EQ(api::EncodeContainerTask(*first)["spec"], api::EncodeContainerTask(task)["spec"]);

  first->status.phase = api::phase::kRunning;
  ASSERT_TRUE(this->store_->Put(*first));
  Result<api::ContainerTask> second = this->store_->Get("default", "hello");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->metadata.resource_version, "2");
  EXPECT_EQ(second->status.phase, api::phase::kRunning);
}

TYPED_TEST(StoreContractTest, APutFromAnOlderReadIsAConflictAndChangesNothing) {
  ASSERT_TRUE(this->store_->Put(Task("default", "hello")));
  Result<api::ContainerTask> read = this->store_->Get("default", "hello");
  ASSERT_TRUE(read);
  api::ContainerTask winner = *read;
  winner.status.message = "winner";
  ASSERT_TRUE(this->store_->Put(winner));

  api::ContainerTask loser = *read;  // resourceVersion "1", stored is "2"
  loser.status.message = "loser";
  Status put = this->store_->Put(loser);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code(), ErrorCode::kConflict);
  Result<api::ContainerTask> now = this->store_->Get("default", "hello");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->status.message, "winner");

  // An empty resourceVersion replaces unconditionally.
  loser.metadata.resource_version.clear();
  EXPECT_TRUE(this->store_->Put(loser));
}

TYPED_TEST(StoreContractTest, ListIsSortedByNamespaceThenName) {
  for (const auto& [ns, name] : {std::pair{"zeta", "a"}, std::pair{"alpha", "b"}, std::pair{"alpha", "a"}}) {
    ASSERT_TRUE(this->store_->Put(Task(ns, name)));
  }
  Result<std::vector<ListEntry>> list = this->store_->List();
  ASSERT_TRUE(list);
  std::vector<std::string> keys;
  for (const ListEntry& entry : *list) {
    ASSERT_TRUE(entry.task) << entry.task.error().message();
    EXPECT_FALSE(entry.location.empty());
    keys.push_back(entry.namespace_ + "/" + entry.name);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"alpha/a", "alpha/b", "zeta/a"}));
}

TYPED_TEST(StoreContractTest, DeleteRemovesTheRecordAndTheLogAndMayRepeat) {
  ASSERT_TRUE(this->store_->Put(Task("default", "hello")));
  Result<LogWriterPtr> writer = this->store_->OpenLog("default", "hello", 1024);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Append("out\n"));
  ASSERT_TRUE((*writer)->Close());

  ASSERT_TRUE(this->store_->Delete("default", "hello"));
  EXPECT_EQ(this->store_->Get("default", "hello").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(this->store_->ReadLog("default", "hello", 0).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(this->store_->Delete("default", "hello"));
}

TYPED_TEST(StoreContractTest, ALogGrowsAsItIsWrittenAndReadsFromAnOffset) {
  EXPECT_EQ(this->store_->ReadLog("default", "hello", 0).error().code(), ErrorCode::kNotFound);
  Result<LogWriterPtr> writer = this->store_->OpenLog("default", "hello", 1024);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Append("one\n"));
  EXPECT_EQ(this->ReadAll("hello"), "one\n");
  ASSERT_TRUE((*writer)->Append("two\n"));
  Result<std::string> rest = this->store_->ReadLog("default", "hello", 4);
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, "two\n");
  Result<std::string> past = this->store_->ReadLog("default", "hello", 100);
  ASSERT_TRUE(past);
  EXPECT_EQ(*past, "");

  Result<LogSummary> summary = (*writer)->Close();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->size_bytes, 8);
  EXPECT_FALSE(summary->truncated);
  EXPECT_EQ(summary->sha256, DigestHex([] {
              Sha256 h;
              h.Update("one\ntwo\n");
              return h.Finish();
            }()));
  EXPECT_EQ((*writer)->Append("late").error().code(), ErrorCode::kFailedPrecondition);
}

TYPED_TEST(StoreContractTest, OutputBeyondTheLimitIsDroppedAndTheMarkerSaysHowMuch) {
  Result<LogWriterPtr> writer = this->store_->OpenLog("default", "hello", 5);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Append("abc"));
  ASSERT_TRUE((*writer)->Append("defgh"));
  Result<LogSummary> summary = (*writer)->Close();
  ASSERT_TRUE(summary);
  const std::string want = "abcde" + TruncationMarker(3);
  EXPECT_EQ(this->ReadAll("hello"), want);
  EXPECT_TRUE(summary->truncated);
  EXPECT_EQ(summary->dropped_bytes, 3);
  EXPECT_EQ(summary->size_bytes, static_cast<int64_t>(want.size()));
}

TYPED_TEST(StoreContractTest, OpeningTheLogAgainStartsItAfresh) {
  Result<LogWriterPtr> first = this->store_->OpenLog("default", "hello", 1024);
  ASSERT_TRUE(first);
  ASSERT_TRUE((*first)->Append("attempt 1\n"));
  ASSERT_TRUE((*first)->Close());
  Result<LogWriterPtr> second = this->store_->OpenLog("default", "hello", 1024);
  ASSERT_TRUE(second);
  EXPECT_EQ(this->ReadAll("hello"), "");
  ASSERT_TRUE((*second)->Append("attempt 2\n"));
  EXPECT_EQ(this->ReadAll("hello"), "attempt 2\n");
}

}  // namespace
}  // namespace ctask::store
