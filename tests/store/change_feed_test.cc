#include "store/change_feed.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace ctask::store {
namespace {

namespace fs = std::filesystem;

class ChangeFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / ("ctask-feed-" + std::to_string(getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::vector<std::string> Poll(ChangeFeed& feed) {
    Result<std::vector<std::string>> keys = feed.Poll();
    EXPECT_TRUE(keys.has_value()) << keys.error().message();
    return keys.value_or(std::vector<std::string>{});
  }
  std::string root_;
};

TEST_F(ChangeFeedTest, AFeedReadsWhatIsAnnouncedAfterItStartsInOrder) {
  ASSERT_TRUE(AnnounceChange(root_, "default", "before").has_value());
  ChangeFeed feed(root_);
  EXPECT_TRUE(Poll(feed).empty()) << "what came before is the owner's start-up listing's";
  ASSERT_TRUE(AnnounceChange(root_, "default", "a").has_value());
  ASSERT_TRUE(AnnounceChange(root_, "team", "b").has_value());
  EXPECT_EQ(Poll(feed), (std::vector<std::string>{"default/a", "team/b"}));
  EXPECT_TRUE(Poll(feed).empty());
}

TEST_F(ChangeFeedTest, AJournalCreatedLaterIsReadFromItsStart) {
  ChangeFeed feed(root_);
  EXPECT_TRUE(Poll(feed).empty());
  ASSERT_TRUE(AnnounceChange(root_, "default", "first").has_value());
  EXPECT_EQ(Poll(feed), std::vector<std::string>{"default/first"});
}

TEST_F(ChangeFeedTest, AHalfWrittenLineWaitsForItsEnd) {
  ChangeFeed feed(root_);
  {
    std::ofstream out(root_ + "/changes", std::ios::app);
    out << "default/whole\ndefault/ha";
  }
  EXPECT_EQ(Poll(feed), std::vector<std::string>{"default/whole"});
  {
    std::ofstream out(root_ + "/changes", std::ios::app);
    out << "lf\n";
  }
  EXPECT_EQ(Poll(feed), std::vector<std::string>{"default/half"});
}

TEST_F(ChangeFeedTest, AReplacedJournalIsReadFromItsStart) {
  ChangeFeed feed(root_);
  ASSERT_TRUE(AnnounceChange(root_, "default", "old-one").has_value());
  EXPECT_EQ(Poll(feed).size(), 1u);
  fs::remove(root_ + "/changes");
  ASSERT_TRUE(AnnounceChange(root_, "default", "new").has_value());
  EXPECT_EQ(Poll(feed), std::vector<std::string>{"default/new"});
}

TEST_F(ChangeFeedTest, ConcurrentAnnouncersNeverInterleaveLines) {
  ChangeFeed feed(root_);
  constexpr int kEach = 200;
  std::vector<std::thread> announcers;
  for (int t = 0; t < 4; ++t) {
    announcers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ASSERT_TRUE(AnnounceChange(root_, "ns" + std::to_string(t), "task-" + std::to_string(i)).has_value());
      }
    });
  }
  for (std::thread& a : announcers) a.join();
  std::vector<std::string> keys = Poll(feed);
  ASSERT_EQ(keys.size(), 4u * kEach);
  for (const std::string& key : keys)
    EXPECT_TRUE(key.starts_with("ns") && key.find("/task-") != std::string::npos) << key;
}

}  // namespace
}  // namespace ctask::store
