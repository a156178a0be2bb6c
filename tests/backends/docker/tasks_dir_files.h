// A temporary tasks directory for the tests of what reads it: TaskYaml makes
// a minimal manifest, TasksDirFiles owns a fresh directory per test and
// writes files into it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ctask::backends::testing {

inline std::string TaskYaml(const std::string& name, const std::string& image = "busybox:1.36") {
  return "apiVersion: ctask.io/v1alpha1\nkind: ContainerTask\nmetadata:\n  name: " + name +
         "\nspec:\n  image: " + image + "\n";
}

// A directory named after the process and the running test, removed at the
// end; parallel ctest runs never share one.
class TasksDirFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("ctask-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(tasks());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path tasks() const { return root_ / "tasks"; }
  void Write(const std::string& file, const std::string& content) {
    std::ofstream out(tasks() / file, std::ios::binary | std::ios::trunc);
    out << content;
  }

  std::filesystem::path root_;
};

}  // namespace ctask::backends::testing
