#include "reconcile/error_reports.h"

#include <gtest/gtest.h>

namespace ctask::reconcile {
namespace {

Result<ReconcileResult> Failed(ErrorCode code, std::string message) {
  return std::unexpected(Error(code, std::move(message)));
}

TEST(ErrorReportsTest, AnErrorIsReportedOnceUntilItChangesOrTheKeyRecovers) {
  ErrorReports reports;
  std::optional<ErrorReport> first = reports.Report("ns/a", Failed(ErrorCode::kUnavailable, "daemon away"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->message, "daemon away");
  EXPECT_FALSE(first->terminal);
  EXPECT_EQ(first->what_next, "retrying with backoff");
  EXPECT_FALSE(reports.Report("ns/a", Failed(ErrorCode::kUnavailable, "daemon away")).has_value()) << "same again";
  EXPECT_TRUE(reports.Report("ns/b", Failed(ErrorCode::kUnavailable, "daemon away")).has_value()) << "other key";
  EXPECT_TRUE(reports.Report("ns/a", Failed(ErrorCode::kUnavailable, "timeout")).has_value()) << "changed";
  EXPECT_FALSE(reports.Report("ns/a", ReconcileResult{}).has_value());
  EXPECT_TRUE(reports.Report("ns/a", Failed(ErrorCode::kUnavailable, "timeout")).has_value()) << "after recovery";
}

TEST(ErrorReportsTest, ConflictsAreNeverReportedAndTerminalErrorsSaySo) {
  ErrorReports reports;
  EXPECT_FALSE(reports.Report("ns/a", Failed(ErrorCode::kConflict, "stale")).has_value());
  std::optional<ErrorReport> terminal = reports.Report("ns/a", Failed(ErrorCode::kInvalidArgument, "bad Job"));
  ASSERT_TRUE(terminal.has_value());
  EXPECT_TRUE(terminal->terminal);
  EXPECT_NE(terminal->what_next.find("not retried"), std::string::npos) << terminal->what_next;
}

}  // namespace
}  // namespace ctask::reconcile
