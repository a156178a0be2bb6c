// `ctask run`'s exit status and summary lines: one rule per case, the clock given.
#include "run_outcome.h"

#include <gtest/gtest.h>

#include "status/decide.h"

namespace ctask::cli {
namespace {

using std::chrono::seconds;

const Timestamp kT0 = Timestamp(seconds(1'800'000'000));

api::ContainerTask Task(const std::string& name, const std::string& phase, const std::string& reason = "",
                        std::optional<int32_t> exit_code = std::nullopt) {
  api::ContainerTask t;
  t.metadata.name = name;
  t.status.phase = phase;
  t.status.reason = reason;
  t.status.exit_code = exit_code;
  t.status.attempts = 1;
  return t;
}

api::ContainerTask Succeeded(const std::string& name = "ok") {
  return Task(name, api::phase::kSucceeded, status::reason::kCompleted, 0);
}

struct ExitCase {
  std::string name;
  std::vector<api::ContainerTask> tasks;
  int want;
};

TEST(RunExitCodeTest, EveryRule) {
  using api::phase::kCancelled;
  using api::phase::kFailed;
  namespace r = status::reason;
  const std::vector<ExitCase> cases = {
      {"no tasks", {}, 0},
      {"all succeeded", {Succeeded("a"), Succeeded("b")}, 0},
      {"exit code of the failed task", {Succeeded(), Task("f", kFailed, r::kError, 3)}, 3},
      {"exit code 255", {Task("f", kFailed, r::kError, 255)}, 255},
      {"first failure in file order wins",
       {Succeeded(), Task("f1", kFailed, r::kError, 4), Task("f2", kFailed, r::kError, 5)},
       4},
      {"first failure wins over a later cancel",
       {Task("f", kFailed, r::kError, 2), Task("c", kCancelled, r::kCancelled)},
       2},
      {"backoff limit keeps the last exit code", {Task("f", kFailed, r::kBackoffLimitExceeded, 7)}, 7},
      {"deadline", {Task("f", kFailed, r::kDeadlineExceeded)}, kExitRunDeadline},
      {"deadline even with an exit code", {Task("f", kFailed, r::kDeadlineExceeded, 137)}, kExitRunDeadline},
      {"image pull failed", {Task("f", kFailed, "ImagePullFailed")}, kExitRunCannotStart},
      {"config error", {Task("f", kFailed, "ConfigError")}, kExitRunCannotStart},
      {"invalid spec", {Task("f", kFailed, r::kInvalidSpec)}, kExitRunCannotStart},
      {"pending timeout", {Task("f", kFailed, r::kPendingTimeout)}, kExitRunCannotStart},
      {"cancelled", {Task("c", kCancelled, r::kCancelled)}, kExitRunCancelled},
      {"cancelled with an exit code", {Task("c", kCancelled, r::kCancelled, 143)}, kExitRunCancelled},
      {"oom killed with exit code 0", {Task("f", kFailed, r::kOOMKilled, 0)}, kExitRunOomKilled},
      {"oom killed without exit code", {Task("f", kFailed, r::kOOMKilled)}, kExitRunOomKilled},
      {"oom killed keeps its exit code", {Task("f", kFailed, r::kOOMKilled, 137)}, 137},
      {"negative exit code is still a failure", {Task("f", kFailed, r::kError, -1)}, 1},
      {"exit code above 255 is still a failure", {Task("f", kFailed, r::kError, 256)}, 1},
  };
  for (const ExitCase& c : cases) EXPECT_EQ(RunExitCode(c.tasks), c.want) << c.name;
}

TEST(RunExitCodeTest, InfrastructureCodeIsDistinct) {
  for (int code : {kExitRunDeadline, kExitRunCannotStart, kExitRunCancelled, kExitRunOomKilled}) {
    EXPECT_NE(code, kExitRunInfrastructure);
  }
  EXPECT_EQ(kExitRunInfrastructure, 125);
}

TEST(SummaryLineTest, Succeeded) {
  api::ContainerTask t = Succeeded("hello");
  t.status.start_time = kT0;
  t.status.completion_time = kT0 + seconds(2);
  t.status.message = "attempt 1 exited 0";
  t.status.artifacts.log = api::LogArtifact{"File", "/state/tasks/default/hello/log", 12, "abc", false};
  EXPECT_EQ(SummaryLine(t, kT0 + seconds(100)),
            "hello: Succeeded (Completed), exit code 0, 1 attempt, 2s; log: /state/tasks/default/hello/log (12 B)");
}

TEST(SummaryLineTest, FailedShowsTheMessageAndAttempts) {
  api::ContainerTask t = Task("job", api::phase::kFailed, status::reason::kBackoffLimitExceeded, 3);
  t.status.attempts = 3;
  t.status.start_time = kT0;
  t.status.completion_time = kT0 + seconds(90);
  t.status.message = "all 3 attempts failed; the last exited with code 3";
  EXPECT_EQ(SummaryLine(t, kT0),
            "job: Failed (BackoffLimitExceeded), exit code 3, 3 attempts, 1m30s; "
            "all 3 attempts failed; the last exited with code 3");
}

TEST(SummaryLineTest, NotStartedAndNoPhase) {
  api::ContainerTask t;
  t.metadata.name = "fresh";
  EXPECT_EQ(SummaryLine(t, kT0), "fresh: Pending, 0 attempts");
  api::ContainerTask pull = Task("pull", api::phase::kFailed, "ImagePullFailed");
  pull.status.message = "attempt 1 could not start: image \"x\" could not be pulled";
  EXPECT_EQ(SummaryLine(pull, kT0),
            "pull: Failed (ImagePullFailed), 1 attempt; attempt 1 could not start: image \"x\" could not be pulled");
}

TEST(SummaryLineTest, DurationsAndSizes) {
  api::ContainerTask t = Succeeded("d");
  t.status.start_time = kT0;
  // Still running: measured to now.
  t.status.completion_time.reset();
  EXPECT_NE(SummaryLine(t, kT0 + seconds(59)).find(", 59s"), std::string::npos);
  EXPECT_NE(SummaryLine(t, kT0 + seconds(3600 + 61)).find(", 1h1m"), std::string::npos) << SummaryLine(t, kT0);
  EXPECT_NE(SummaryLine(t, kT0 + seconds(60)).find(", 1m0s"), std::string::npos);
  t.status.artifacts.log = api::LogArtifact{"File", "L", 2048, "", true};
  EXPECT_NE(SummaryLine(t, kT0).find("; log: L (2 KiB, truncated)"), std::string::npos) << SummaryLine(t, kT0);
  t.status.artifacts.log->size_bytes = 5 * 1024 * 1024 + 1;
  t.status.artifacts.log->truncated = false;
  EXPECT_NE(SummaryLine(t, kT0).find("; log: L (5 MiB)"), std::string::npos) << SummaryLine(t, kT0);
  // A succeeded task's message is not repeated.
  t.status.message = "attempt 1 exited 0";
  EXPECT_EQ(SummaryLine(t, kT0).find("exited 0"), std::string::npos);
}

}  // namespace
}  // namespace ctask::cli
