// The `ctask get` table: every cell and the layout, with the clock given.
#include "task_table.h"

#include <gtest/gtest.h>

namespace ctask::cli {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kNow = Timestamp(seconds(1'800'000'000));

api::ContainerTask Task(const std::string& name) {
  api::ContainerTask task;
  task.metadata.name = name;
  task.metadata.namespace_ = "default";
  task.metadata.creation_timestamp = kNow - minutes(5);
  task.spec.image = "busybox:1.36";
  return task;
}

TEST(HumanAgeTest, FollowsKubectl) {
  struct Case {
    seconds age;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {seconds(-5), "<invalid>"},
           {seconds(-1), "0s"},
           {seconds(0), "0s"},
           {seconds(5), "5s"},
           {seconds(119), "119s"},
           {seconds(120), "2m"},
           {minutes(3) + seconds(20), "3m20s"},
           {minutes(9) + seconds(59), "9m59s"},
           {minutes(10) + seconds(30), "10m"},
           {minutes(179), "179m"},
           {hours(3), "3h"},
           {hours(2) + minutes(200), "5h20m"},
           {hours(7) + minutes(59), "7h59m"},
           {hours(8) + minutes(30), "8h"},
           {hours(47), "47h"},
           {days(2), "2d"},
           {days(4) + hours(5), "4d5h"},
           {days(8), "8d"},
           {days(729), "729d"},
           {days(730), "2y"},
           {days(365 * 3 + 10), "3y10d"},
           {days(365 * 9), "9y"},
       }) {
    EXPECT_EQ(HumanAge(c.age), c.want) << c.age.count() << "s";
  }
}

TEST(TaskRowTest, ShowsThePrinterColumns) {
  api::ContainerTask task = Task("build");
  task.status.phase = "Failed";
  task.status.reason = "BackoffLimitExceeded";
  task.status.exit_code = 3;
  task.status.attempts = 2;
  EXPECT_EQ(TaskRow(task, kNow, {}), (TableRow{"build", "Failed", "BackoffLimitExceeded", "3", "2", "5m"}));
}

TEST(TaskRowTest, MissingValuesAreEmptyOrMarked) {
  api::ContainerTask task = Task("fresh");
  task.metadata.creation_timestamp.reset();
  EXPECT_EQ(TaskRow(task, kNow, {}), (TableRow{"fresh", "<none>", "", "", "0", "<unknown>"}));
}

TEST(TaskRowTest, ExitCodeZeroIsShown) {
  api::ContainerTask task = Task("ok");
  task.status.phase = "Succeeded";
  task.status.exit_code = 0;
  EXPECT_EQ(TaskRow(task, kNow, {})[3], "0");
}

TEST(TaskRowTest, WideAndAllNamespacesAddColumns) {
  api::ContainerTask task = Task("build");
  task.metadata.namespace_ = "ci";
  task.status.phase = "Running";
  task.status.attempts = 1;
  task.status.container_id = "0123456789abcdef0123456789abcdef";
  task.status.message = "attempt 1 running\nsecond line";
  const TableOptions options{.wide = true, .all_namespaces = true};
  EXPECT_EQ(TableHeader(options), (TableRow{"NAMESPACE", "NAME", "PHASE", "REASON", "EXIT", "ATTEMPTS", "AGE", "IMAGE",
                                            "CONTAINER", "MESSAGE"}));
  EXPECT_EQ(TaskRow(task, kNow, options), (TableRow{"ci", "build", "Running", "", "", "1", "5m", "busybox:1.36",
                                                    "0123456789ab", "attempt 1 running..."}));
}

TEST(TaskRowTest, UnreadableAndDeletedRows) {
  EXPECT_EQ(UnreadableRow("ci", "broken", {.all_namespaces = true}),
            (TableRow{"ci", "broken", "<unreadable>", "", "", "", ""}));
  EXPECT_EQ(UnreadableRow("ci", "broken", {.wide = true}),
            (TableRow{"broken", "<unreadable>", "", "", "", "", "", "", ""}));
  api::ContainerTask task = Task("gone");
  task.status.phase = "Succeeded";
  EXPECT_EQ(WithPhase(TaskRow(task, kNow, {}), kPhaseDeleted, {}), (TableRow{"gone", "<deleted>", "", "", "0", "5m"}));
}

TEST(FormatTableTest, AlignsLikeKubectl) {
  api::ContainerTask build = Task("build");
  build.status.phase = "Succeeded";
  build.status.reason = "Completed";
  build.status.exit_code = 0;
  build.status.attempts = 1;
  api::ContainerTask lint = Task("lint");
  lint.status.phase = "Running";
  lint.status.attempts = 1;
  lint.metadata.creation_timestamp = kNow - seconds(42);
  const std::string want =
      "NAME    PHASE       REASON      EXIT   ATTEMPTS   AGE\n"
      "build   Succeeded   Completed   0      1          5m\n"
      "lint    Running                        1          42s\n";
  EXPECT_EQ(FormatTable({}, {TaskRow(build, kNow, {}), TaskRow(lint, kNow, {})}), want);
}

TEST(FormatTableTest, NarrowColumnsAreSixWideAndLinesHaveNoTrailingSpaces) {
  // The second row's empty last cells must not leave padding behind.
  EXPECT_EQ(FormatRows({{"A", "BB", "C"}, {"x", "", ""}}, ColumnWidths({{"A", "BB", "C"}})), "A     BB    C\nx\n");
}

TEST(FormatTableTest, RowsKeepEarlierWidthsAndGrowPastThem) {
  const std::vector<std::size_t> widths = ColumnWidths({{"NAME", "PHASE", "AGE"}});
  EXPECT_EQ(widths, (std::vector<std::size_t>{7, 8, 0}));
  EXPECT_EQ(FormatRows({{"a-much-longer-name", "Running", "1s"}}, widths), "a-much-longer-name   Running   1s\n");
  EXPECT_EQ(FormatRows({{"a", "Done", "1s"}}, widths), "a      Done    1s\n");
}

}  // namespace
}  // namespace ctask::cli
