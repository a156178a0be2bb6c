// DirectoryWatch over a real temporary directory and real inotify. A wait
// that should end on a change has a long timeout, and Wait tells a change
// (true) from a timeout (false), so no assertion depends on how fast the
// machine is.
#include "backends/docker/dir_watch.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "backends/docker/tasks_dir_files.h"

namespace ctask::backends {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kLong{60'000};  // a change ends the wait long before

class DirectoryWatchTest : public testing::TasksDirFiles {};

TEST_F(DirectoryWatchTest, NothingChangedIsATimeout) {
  DirectoryWatch watch(tasks().string());
  ASSERT_TRUE(watch.watching()) << watch.error();
  EXPECT_FALSE(watch.Wait(milliseconds(50), {}));
}

TEST_F(DirectoryWatchTest, AFileWrittenMovedInOrRemovedIsAChange) {
  DirectoryWatch watch(tasks().string());
  ASSERT_TRUE(watch.watching()) << watch.error();
  Write("a.yaml", "written\n");
  EXPECT_TRUE(watch.Wait(kLong, {})) << "written";

  const fs::path staged = tasks().parent_path() / "staged.yaml";
  std::ofstream(staged) << "staged\n";
  fs::rename(staged, tasks() / "b.yaml");
  EXPECT_TRUE(watch.Wait(kLong, {})) << "moved in";

  fs::remove(tasks() / "a.yaml");
  EXPECT_TRUE(watch.Wait(kLong, {})) << "removed";
  EXPECT_FALSE(watch.Wait(milliseconds(50), {})) << "each change was reported once";
}

// A hundred files moved in at once (the benchmark's burst, an `mv *.yaml`)
// wake one wait; the next finds nothing left.
TEST_F(DirectoryWatchTest, ABurstOfChangesIsOneWake) {
  DirectoryWatch watch(tasks().string());
  ASSERT_TRUE(watch.watching()) << watch.error();
  for (int i = 0; i < 100; ++i) Write("t" + std::to_string(i) + ".yaml", "x\n");
  EXPECT_TRUE(watch.Wait(kLong, {}));
  EXPECT_FALSE(watch.Wait(milliseconds(50), {}));
}

TEST_F(DirectoryWatchTest, AStopEndsTheWaitWithoutAChange) {
  DirectoryWatch watch(tasks().string());
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(milliseconds(20));
    stop.request_stop();
  });
  EXPECT_FALSE(watch.Wait(kLong, stop.get_token()));
  EXPECT_FALSE(watch.Wait(kLong, stop.get_token())) << "stopped already: returns at once";
}

// A directory that cannot be watched (here: gone) says why; Wait then only
// times out, and the operator falls back to its scan interval.
TEST_F(DirectoryWatchTest, ADirectoryThatCannotBeWatchedSaysWhyAndOnlyTimesOut) {
  DirectoryWatch watch((tasks() / "missing").string());
  EXPECT_FALSE(watch.watching());
  EXPECT_NE(watch.error().find("inotify_add_watch"), std::string::npos) << watch.error();
  EXPECT_FALSE(watch.Wait(milliseconds(20), {}));
}

}  // namespace
}  // namespace ctask::backends
