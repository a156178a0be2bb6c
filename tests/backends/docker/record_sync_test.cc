// RecordSync and Tombstones over a real tasks directory and a real local
// store (FileStore) in temporary directories: what the directory operator
// does to records for each change of its files. No Docker: the workers are
// not part of it; `enqueue` records the keys they would be given.
#include "backends/docker/record_sync.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "backends/docker/local_backend.h"
#include "backends/docker/tasks_dir_files.h"
#include "store/file_store.h"

namespace ctask::backends {
namespace {

namespace fs = std::filesystem;

using testing::TaskYaml;

class RecordSyncTest : public testing::TasksDirFiles {
 protected:
  void SetUp() override {
    TasksDirFiles::SetUp();
    Result<std::unique_ptr<store::FileStore>> opened = store::FileStore::Open((root_ / "state").string());
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(*opened);
    tasks_dir_ = std::make_unique<TasksDir>(tasks().string());
    tombstones_ = std::make_unique<Tombstones>(store_->root());
    sync_ = std::make_unique<RecordSync>(
        *store_, *tombstones_, RealClock(),
        [this](const std::string& key) {
          enqueued_.push_back(key);
          steps_.push_back("queued " + key);
        },
        [this](const std::string& line) { lines_.push_back(line); },
        [this](const api::ContainerTask& record) {
          EXPECT_EQ(record.metadata.uid, Record(record.metadata.name).metadata.uid) << "the record as written";
          created_.push_back(record.metadata.name);
          steps_.push_back("created " + record.metadata.name);
        });
  }
  void ScanAndSync() {
    tasks_dir_->Scan();
    sync_->Sync(*tasks_dir_);
  }
  api::ContainerTask Record(const std::string& name) {
    Result<api::ContainerTask> task = store_->Get("default", name);
    EXPECT_TRUE(task) << task.error().message();
    return task ? *task : api::ContainerTask{};
  }
  bool Said(const std::string& part) const {
    for (const std::string& line : lines_) {
      if (line.find(part) != std::string::npos) return true;
    }
    return false;
  }
  int CountSaid(const std::string& part) const {
    int n = 0;
    for (const std::string& line : lines_) n += line.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

  std::unique_ptr<store::FileStore> store_;
  std::unique_ptr<Tombstones> tombstones_;
  std::unique_ptr<RecordSync> sync_;
  std::unique_ptr<TasksDir> tasks_dir_;
  std::vector<std::string> enqueued_;
  std::vector<std::string> lines_;
  std::vector<std::string> created_;  // names told to `created`, in order
  std::vector<std::string> steps_;    // created and queued, in order
};

TEST_F(RecordSyncTest, ANewTaskBecomesAFreshRecordNamingItsFile) {
  Write("a.yaml", TaskYaml("one"));
  ScanAndSync();
  const api::ContainerTask one = Record("one");
  EXPECT_EQ(one.metadata.generation, 1);
  EXPECT_FALSE(one.metadata.uid.empty());
  EXPECT_EQ(one.metadata.annotations.at(kAnnotationSourceFile), (tasks() / "a.yaml").string());
  EXPECT_EQ(enqueued_, (std::vector<std::string>{"default/one"}));
  EXPECT_EQ(created_, (std::vector<std::string>{"one"}));
  EXPECT_TRUE(Said("task default/one: created from")) << lines_.front();

  enqueued_.clear();
  ScanAndSync();  // nothing changed: nothing written, nothing queued
  EXPECT_TRUE(enqueued_.empty());
  EXPECT_EQ(created_.size(), 1u) << "a record already there is not new";
  EXPECT_EQ(Record("one").metadata.resource_version, one.metadata.resource_version);
}

TEST_F(RecordSyncTest, EachNewRecordIsToldInCreationOrderBeforeItsKeyIsQueued) {
  // The admitter learns of every task of a sync before any worker can ask
  // for a slot for one of them, in the order they were created.
  Write("a.yaml", TaskYaml("beta-2") + "---\n" + TaskYaml("beta-1") + "---\n" + TaskYaml("alpha-1"));
  ScanAndSync();
  EXPECT_EQ(steps_, (std::vector<std::string>{"created alpha-1", "queued default/alpha-1", "created beta-1",
                                              "queued default/beta-1", "created beta-2", "queued default/beta-2"}));
  EXPECT_LE(Record("beta-1").metadata.creation_timestamp, Record("beta-2").metadata.creation_timestamp);
}

TEST_F(RecordSyncTest, AChangedSpecBumpsTheGenerationAndARefusedChangeKeepsTheSpec) {
  Write("a.yaml", TaskYaml("one"));
  ScanAndSync();
  Write("a.yaml", TaskYaml("one", "alpine:3.20.1"));
  ScanAndSync();
  EXPECT_EQ(Record("one").metadata.generation, 2);
  EXPECT_EQ(Record("one").spec.image, "alpine:3.20.1");
  EXPECT_TRUE(Said("spec changed in")) << lines_.back();

  // Cancelling is one way (as the CRD's rule says): taking it back is
  // refused, said once, and the record keeps its spec.
  Write("a.yaml", TaskYaml("one", "alpine:3.20.1") + "  cancel: true\n");
  ScanAndSync();
  EXPECT_EQ(Record("one").metadata.generation, 3);
  Write("a.yaml", TaskYaml("one", "alpine:3.20.1"));
  ScanAndSync();
  ScanAndSync();
  EXPECT_EQ(Record("one").metadata.generation, 3);
  EXPECT_TRUE(Record("one").spec.cancel);
  EXPECT_EQ(CountSaid("the change is refused"), 1);
}

TEST_F(RecordSyncTest, ARemovedManifestMarksOnlyItsOwnRecordsForDeletion) {
  Write("a.yaml", TaskYaml("one"));
  ScanAndSync();
  // A `ctask run` record in the same state directory: never the sync's.
  api::ContainerTask other = Record("one");
  other.metadata.name = "by-run";
  other.metadata.annotations.clear();
  other.metadata.resource_version.clear();
  ASSERT_TRUE(store_->Put(other));

  fs::remove(tasks() / "a.yaml");
  enqueued_.clear();
  ScanAndSync();
  EXPECT_TRUE(Record("one").metadata.deletion_timestamp.has_value());
  EXPECT_FALSE(Record("by-run").metadata.deletion_timestamp.has_value());
  EXPECT_EQ(enqueued_, (std::vector<std::string>{"default/one"}));
  EXPECT_TRUE(Said("its manifest is gone"));
}

TEST_F(RecordSyncTest, ABrokenManifestIsUnknownNotGoneAndDeletesNothing) {
  Write("a.yaml", TaskYaml("one"));
  ScanAndSync();
  // A fresh process (a restart) that meets the file half-saved: its tasks
  // are not in the desired state, and still not deleted.
  tasks_dir_ = std::make_unique<TasksDir>(tasks().string());
  Write("a.yaml", TaskYaml("one") + "  command: [unclosed\n");
  ScanAndSync();
  EXPECT_FALSE(Record("one").metadata.deletion_timestamp.has_value());
}

TEST_F(RecordSyncTest, ARecordOfTheSameNameNotFromTheDirectoryIsReplaced) {
  api::ContainerTask by_run;
  by_run.metadata.name = "one";
  by_run.metadata.namespace_ = "default";
  by_run.spec.image = "busybox:1.36";
  ASSERT_TRUE(CreateRecord(*store_, RealClock(), by_run));
  Write("a.yaml", TaskYaml("one", "alpine:3.20.1"));
  ScanAndSync();
  // First the old one goes (through the workers, which remove its
  // containers), then the file's is created.
  EXPECT_TRUE(Record("one").metadata.deletion_timestamp.has_value());
  EXPECT_EQ(Record("one").spec.image, "busybox:1.36");
  EXPECT_EQ(enqueued_, (std::vector<std::string>{"default/one"}));
  ASSERT_TRUE(store_->Delete("default", "one"));  // what the workers do
  ScanAndSync();
  EXPECT_EQ(Record("one").spec.image, "alpine:3.20.1");
  EXPECT_FALSE(Record("one").metadata.deletion_timestamp.has_value());
}

TEST_F(RecordSyncTest, ATaskItsTtlRemovedIsNotCreatedAgainUntilItsManifestChanges) {
  Write("a.yaml", TaskYaml("one"));
  ScanAndSync();
  const api::ContainerTask one = Record("one");
  // The TTL removed the record; the operator left a tombstone.
  ASSERT_TRUE(store_->Delete("default", "one"));
  ASSERT_TRUE(tombstones_->Put("default", "one", Tombstones::Digest(one.spec)));
  ScanAndSync();
  ScanAndSync();
  EXPECT_EQ(store_->Get("default", "one").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(CountSaid("change or re-add the manifest to run it again"), 1);

  Write("a.yaml", TaskYaml("one", "alpine:3.20.1"));  // edited: a new task
  ScanAndSync();
  EXPECT_EQ(Record("one").spec.image, "alpine:3.20.1");
  EXPECT_NE(Record("one").metadata.uid, one.metadata.uid);
}

TEST(TombstonesTest, AreKeptPerKeyAndRemovedWhenTheirManifestGoes) {
  const fs::path root = fs::temp_directory_path() / ("ctask-tombstones-" + std::to_string(getpid()));
  fs::remove_all(root);
  Tombstones stones(root.string());
  api::ContainerTaskSpec spec;
  spec.image = "busybox:1.36";
  const std::string digest = Tombstones::Digest(spec);
  EXPECT_FALSE(stones.Matches("default", "one", digest));
  ASSERT_TRUE(stones.Put("default", "one", digest));
  ASSERT_TRUE(stones.Put("team", "two", digest));
  EXPECT_TRUE(stones.Matches("default", "one", digest));
  spec.image = "alpine:3.20.1";
  EXPECT_FALSE(stones.Matches("default", "one", Tombstones::Digest(spec)));  // an edited spec is a new task

  Tombstones reopened(root.string());  // kept on disk: a restart keeps them
  EXPECT_TRUE(reopened.Matches("team", "two", digest));
  reopened.RemoveAllBut({"team/two"});
  EXPECT_FALSE(reopened.Matches("default", "one", digest));
  EXPECT_TRUE(reopened.Matches("team", "two", digest));
  reopened.Remove("team", "two");
  EXPECT_FALSE(reopened.Matches("team", "two", digest));
  fs::remove_all(root);
}

}  // namespace
}  // namespace ctask::backends
