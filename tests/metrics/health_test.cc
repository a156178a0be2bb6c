// HealthChecks and RenderHealth: kube-apiserver's /healthz and /readyz
// answers, one table of cases for the rendering, then the check set itself.
#include "metrics/health.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ctask::metrics {
namespace {

CheckOutcome Pass(std::string name) {
  return CheckOutcome{std::move(name), Status()};
}

CheckOutcome Fail(std::string name, std::string reason) {
  return CheckOutcome{std::move(name), MakeError(ErrorCode::kUnavailable, std::move(reason))};
}

TEST(RenderHealth, MatchesKubeApiserverFormat) {
  struct Case {
    const char* name;
    std::vector<CheckOutcome> outcomes;
    bool verbose;
    int want_status;
    std::string want_body;
  };
  const std::vector<Case> cases = {
      {"all pass", {Pass("ping"), Pass("leader")}, false, 200, "ok"},
      {"all pass verbose",
       {Pass("ping"), Pass("leader")},
       true,
       200,
       "[+]ping ok\n[+]leader ok\nreadyz check passed\n"},
      {"no checks", {}, false, 200, "ok"},
      {"no checks verbose", {}, true, 200, "readyz check passed\n"},
      {"one fails",
       {Pass("ping"), Fail("leader", "lease held by b")},
       false,
       500,
       "[+]ping ok\n[-]leader failed: reason withheld\nreadyz check failed\n"},
      {"one fails verbose",
       {Pass("ping"), Fail("leader", "lease held by b")},
       true,
       500,
       "[+]ping ok\n[-]leader failed: lease held by b\nreadyz check failed\n"},
      {"all fail",
       {Fail("a", "x"), Fail("b", "y")},
       false,
       500,
       "[-]a failed: reason withheld\n[-]b failed: reason withheld\nreadyz check failed\n"},
  };
  for (const Case& c : cases) {
    HealthReport report = RenderHealth("readyz", c.outcomes, c.verbose);
    EXPECT_EQ(report.http_status, c.want_status) << c.name;
    EXPECT_EQ(report.body, c.want_body) << c.name;
  }
}

TEST(QueryHasVerbose, AnyVerboseParameter) {
  EXPECT_TRUE(QueryHasVerbose("verbose"));
  EXPECT_TRUE(QueryHasVerbose("verbose=1"));
  EXPECT_TRUE(QueryHasVerbose("verbose="));
  EXPECT_TRUE(QueryHasVerbose("exclude=x&verbose"));
  EXPECT_TRUE(QueryHasVerbose("verbose&exclude=x"));
  EXPECT_FALSE(QueryHasVerbose(""));
  EXPECT_FALSE(QueryHasVerbose("verbosely"));
  EXPECT_FALSE(QueryHasVerbose("x=verbose"));
  EXPECT_FALSE(QueryHasVerbose("&&"));
}

TEST(HealthChecks, RunsChecksInOrderAndServes) {
  HealthChecks checks("healthz");
  EXPECT_EQ(checks.endpoint(), "healthz");
  std::atomic<bool> healthy = true;
  checks.Add("ping", [] { return Status(); });
  checks.Add("workers", [&] { return healthy ? Status() : MakeError(ErrorCode::kUnavailable, "no worker alive"); });
  std::vector<CheckOutcome> outcomes = checks.Run();
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].name, "ping");
  EXPECT_EQ(outcomes[1].name, "workers");
  EXPECT_EQ(checks.Serve("").http_status, 200);

  healthy = false;
  HealthReport report = checks.Serve("verbose");
  EXPECT_EQ(report.http_status, 500);
  EXPECT_EQ(report.body, "[+]ping ok\n[-]workers failed: no worker alive\nhealthz check failed\n");
}

TEST(HealthChecks, AddingANameAgainReplacesItsCheck) {
  HealthChecks checks("readyz");
  checks.Add("leader", [] { return MakeError(ErrorCode::kUnavailable, "not yet"); });
  checks.Add("leader", [] { return Status(); });
  std::vector<CheckOutcome> outcomes = checks.Run();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].status.has_value());
}

TEST(HealthChecks, AThrowingOrEmptyCheckFails) {
  HealthChecks checks("healthz");
  checks.Add("throws", []() -> Status { throw std::runtime_error("kaput"); });
  checks.Add("empty", HealthCheck());
  HealthReport report = checks.Serve("verbose");
  EXPECT_EQ(report.http_status, 500);
  EXPECT_EQ(report.body,
            "[-]throws failed: check threw: kaput\n[-]empty failed: no check function\nhealthz check failed\n");
}

TEST(HealthChecks, ConcurrentAddAndRun) {
  HealthChecks checks("healthz");
  std::thread adder([&] {
    for (int i = 0; i < 200; ++i) checks.Add("c" + std::to_string(i), [] { return Status(); });
  });
  for (int i = 0; i < 200; ++i) EXPECT_EQ(checks.Serve("").http_status, 200);
  adder.join();
  EXPECT_EQ(checks.Run().size(), 200u);
}

}  // namespace
}  // namespace ctask::metrics
