// TasksDir over a real temporary directory. Files that change are rewritten
// with another size, so a change never depends on the file system's mtime
// granularity.
#include "backends/docker/tasks_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "backends/docker/tasks_dir_files.h"

namespace ctask::backends {
namespace {

namespace fs = std::filesystem;

using testing::TaskYaml;

class TasksDirTest : public testing::TasksDirFiles {
 protected:
  std::vector<std::string> Names(const TasksDir& d) {
    std::vector<std::string> keys;
    for (const auto& [key, task] : d.desired().tasks) keys.push_back(key);
    return keys;
  }
};

using Keys = std::vector<std::string>;

TEST_F(TasksDirTest, ANewFileBringsItsTasks) {
  TasksDir d(tasks().string());
  ScanResult r = d.Scan();
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_TRUE(d.desired().tasks.empty());

  Write("a.yaml", TaskYaml("one") + "---\n" + TaskYaml("two"));
  r = d.Scan();
  EXPECT_TRUE(r.changed);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(Names(d), (Keys{"default/one", "default/two"}));
  const DesiredTask& one = d.desired().tasks.at("default/one");
  EXPECT_EQ(one.task.metadata.namespace_, "default");
  EXPECT_EQ(one.file, (tasks() / "a.yaml").string());
  EXPECT_EQ(one.task.spec.image, "busybox:1.36");

  r = d.Scan();  // nothing changed
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(Names(d), (Keys{"default/one", "default/two"}));
}

TEST_F(TasksDirTest, AChangedFileIsReadAgain) {
  TasksDir d(tasks().string());
  Write("a.yml", TaskYaml("one"));
  ASSERT_TRUE(d.Scan().changed);
  Write("a.yml", TaskYaml("one", "alpine:3.20.1"));
  ScanResult r = d.Scan();
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(d.desired().tasks.at("default/one").task.spec.image, "alpine:3.20.1");
}

TEST_F(TasksDirTest, AnInvalidEditKeepsTheLastGoodTasksAndReportsOnce) {
  TasksDir d(tasks().string());
  Write("a.yaml", TaskYaml("one"));
  ASSERT_TRUE(d.Scan().changed);

  Write("a.yaml", TaskYaml("one") + "  command: [unclosed\n");  // half-saved
  ScanResult r = d.Scan();
  EXPECT_FALSE(r.changed);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems.back().find("kept its last good content"), std::string::npos) << r.problems.back();
  EXPECT_NE(r.problems.front().find("a.yaml"), std::string::npos) << r.problems.front();
  EXPECT_EQ(Names(d), (Keys{"default/one"}));

  r = d.Scan();  // the same broken file: not reported again
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(Names(d), (Keys{"default/one"}));

  Write("a.yaml", TaskYaml("fixed-one"));  // fixed
  r = d.Scan();
  EXPECT_TRUE(r.changed);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(Names(d), (Keys{"default/fixed-one"}));
}

TEST_F(TasksDirTest, AFileThatNeverLoadedHoldsNoTasks) {
  TasksDir d(tasks().string());
  Write("bad.yaml", "kind: ContainerTask\nmetadata:\n  name: x\n");  // no apiVersion, no spec
  ScanResult r = d.Scan();
  EXPECT_FALSE(r.changed);
  EXPECT_FALSE(r.problems.empty());
  EXPECT_TRUE(d.desired().tasks.empty());
}

TEST_F(TasksDirTest, ADeletedFileRemovesItsTasks) {
  TasksDir d(tasks().string());
  Write("a.yaml", TaskYaml("one"));
  Write(
      "b.json",
      R"({"apiVersion":"ctask.io/v1alpha1","kind":"ContainerTask","metadata":{"name":"two"},"spec":{"image":"busybox"}})");
  ASSERT_TRUE(d.Scan().changed);
  EXPECT_EQ(Names(d), (Keys{"default/one", "default/two"}));
  fs::remove(tasks() / "a.yaml");
  ScanResult r = d.Scan();
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(Names(d), (Keys{"default/two"}));
}

TEST_F(TasksDirTest, HiddenBackupAndOtherFilesAreIgnored) {
  TasksDir d(tasks().string());
  Write(".hidden.yaml", TaskYaml("hidden"));
  Write("a.yaml~", TaskYaml("backup"));
  Write("#a.yaml#", TaskYaml("emacs"));
  Write("notes.txt", TaskYaml("text"));
  Write("a.yaml.swp", TaskYaml("swap"));
  fs::create_directories(tasks() / "sub.yaml");
  std::ofstream(tasks() / "sub.yaml" / "x.yaml") << TaskYaml("nested");
  ScanResult r = d.Scan();
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_TRUE(d.desired().tasks.empty());
}

TEST_F(TasksDirTest, DuplicateNamesAcrossFilesFirstWins) {
  TasksDir d(tasks().string());
  Write("a.yaml", TaskYaml("same", "busybox:from-a"));
  Write("b.yaml", TaskYaml("other") + "---\n" + TaskYaml("same", "busybox:from-b"));
  ScanResult r = d.Scan();
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(Names(d), (Keys{"default/other", "default/same"}));
  EXPECT_EQ(d.desired().tasks.at("default/same").task.spec.image, "busybox:from-a");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("b.yaml: doc 2: ContainerTask/same"), std::string::npos) << r.problems[0];
  EXPECT_NE(r.problems[0].find("a.yaml defines this task already"), std::string::npos) << r.problems[0];
}

TEST_F(TasksDirTest, AMissingDirectoryKeepsTheTasks) {
  TasksDir d(tasks().string());
  Write("a.yaml", TaskYaml("one"));
  ASSERT_TRUE(d.Scan().changed);
  fs::remove_all(tasks());
  ScanResult r = d.Scan();
  EXPECT_FALSE(r.changed);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("cannot read the tasks directory"), std::string::npos);
  EXPECT_EQ(Names(d), (Keys{"default/one"}));
}

TEST_F(TasksDirTest, SecretsAndConfigMapsAreCollected) {
  TasksDir d(tasks().string());
  Write("a.yaml", TaskYaml("one") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v\n");
  ASSERT_TRUE(d.Scan().changed);
  ASSERT_EQ(d.desired().configs.size(), 1u);
  EXPECT_EQ(d.desired().configs[0].kind, "ConfigMap");
  EXPECT_EQ(d.desired().configs[0].metadata.name, "cfg");
}

}  // namespace
}  // namespace ctask::backends
