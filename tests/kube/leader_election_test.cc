// LeaderElector over a scripted transport, with a fake clock that moves only
// when the elector sleeps: what it reads and writes at each step of
// campaigning, renewing, losing and releasing, with no wall-time waits.
#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_transport.h"

namespace ctask::kube {
namespace {

using fakes::Failure;
using fakes::FakeTransport;
using fakes::Reply;
using std::chrono::milliseconds;

constexpr const char* kServer = "https://k8s.test:6443";
constexpr const char* kLeasePath = "https://k8s.test:6443/apis/coordination.k8s.io/v1/namespaces/ops/leases";
constexpr const char* kLeaseUrl =
    "https://k8s.test:6443/apis/coordination.k8s.io/v1/namespaces/ops/leases/ctask-operator";
// The fake wall clock starts here; MicroTime keeps the microseconds.
constexpr const char* kT0 = "2026-11-23T18:00:00.123456Z";
// Another holder's renewTime, an hour before our clock: it must not matter.
constexpr const char* kOldRenew = "2026-11-23T17:00:00.000000Z";

struct LeaseFields {
  std::string holder;
  std::string resource_version;
  int64_t transitions = 0;
  std::string renew_time = kOldRenew;
  int64_t duration_seconds = 15;
  std::string acquire_time = kOldRenew;
};

std::string LeaseBody(const LeaseFields& f) {
  return api::Json{
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", {{"name", "ctask-operator"}, {"namespace", "ops"}, {"resourceVersion", f.resource_version}}},
      {"spec",
       {{"holderIdentity", f.holder},
        {"leaseDurationSeconds", f.duration_seconds},
        {"acquireTime", f.acquire_time},
        {"renewTime", f.renew_time},
        {"leaseTransitions", f.transitions}}}}
      .dump();
}

std::string StatusBody(int code, const std::string& reason) {
  return api::Json{{"kind", "Status"}, {"code", code}, {"reason", reason}, {"message", reason}}.dump();
}

api::Json BodyOf(const http::Request& request) {
  return api::Json::parse(request.body);
}

class LeaderElectionTest : public ::testing::Test {
 protected:
  LeaderElectionTest() {
    auto transport = std::make_unique<FakeTransport>();
    fake_ = transport.get();
    ClientOptions options;
    options.qps = 0;
    client_ = std::make_unique<KubeClient>(std::move(transport), kServer, nullptr, options);

    config_.lease_namespace = "ops";
    config_.lease_name = "ctask-operator";
    config_.identity = "me";
    config_.release_on_cancel = false;
    config_.on_started_leading = [this](std::stop_token leading) {
      started_.fetch_add(1);
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait(lock, leading, [] { return false; });
      requests_when_leading_stopped_ = fake_->requests().size();
      saw_leading_stop_ = true;
    };
    config_.on_stopped_leading = [this] { stopped_leading_calls_++; };
    config_.on_new_leader = [this](const std::string& identity) { new_leaders_.push_back(identity); };
    clock_.OnSleep(
        [this](std::chrono::nanoseconds delay, const std::stop_token& stop) { return OnSleep(delay, stop); });
  }

  // The fake clock: time moves only in sleeps. The run stops at sleep
  // number `stop_at_sleep_` (1-based), or when nothing is left scripted.
  bool OnSleep(std::chrono::nanoseconds delay, const std::stop_token& stop) {
    sleeps_.push_back(std::chrono::duration_cast<milliseconds>(delay));
    leader_at_sleep_.push_back(elector_->IsLeader());
    if (stop.stop_requested()) return false;
    const bool stop_now = stop_at_sleep_ > 0 ? sleeps_.size() >= stop_at_sleep_ : fake_->remaining() == 0;
    if (stop_now) {
      stop_.request_stop();
      return false;
    }
    return true;
  }

  milliseconds Elapsed() const { return std::chrono::duration_cast<milliseconds>(clock_.Steady() - start_); }

  Status Run() {
    // Every acquire wait: 2s * (1 + 1.2 * 0.5) = 3.2s.
    Result<LeaderElectorPtr> elector = LeaderElector::Create(*client_, config_, clock_, [] { return 0.5; });
    EXPECT_TRUE(elector.has_value()) << elector.error().message();
    if (!elector) return std::unexpected(elector.error());
    elector_ = std::move(*elector);
    return elector_->Run(stop_.get_token());
  }

  void Push(fakes::FakeReply reply) { fake_->Push(std::move(reply)); }
  std::vector<http::Request> requests() const { return fake_->requests(); }
  std::vector<std::string> Methods() const {
    std::vector<std::string> out;
    for (const http::Request& r : requests()) out.push_back(r.method);
    return out;
  }

  // The fake wall clock starts at kT0.
  fakes::FakeClock clock_{std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + std::chrono::hours(18) +
                          std::chrono::microseconds(123456)};
  const std::chrono::steady_clock::time_point start_ = clock_.Steady();
  FakeTransport* fake_ = nullptr;
  std::unique_ptr<KubeClient> client_;
  LeaderElectionConfig config_;
  LeaderElectorPtr elector_;
  std::stop_source stop_;
  size_t stop_at_sleep_ = 0;

  std::vector<milliseconds> sleeps_;
  std::vector<bool> leader_at_sleep_;
  std::atomic<int> started_{0};
  std::atomic<size_t> requests_when_leading_stopped_{0};
  std::atomic<bool> saw_leading_stop_{false};
  int stopped_leading_calls_ = 0;
  std::vector<std::string> new_leaders_;
};

TEST_F(LeaderElectionTest, CreatesTheLeaseWhenAbsentAndLeads) {
  Push(Reply(404, StatusBody(404, "NotFound")));
  Push(Reply(201, LeaseBody({.holder = "me", .resource_version = "1", .renew_time = kT0, .acquire_time = kT0})));

  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();

  const std::vector<http::Request> sent = requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].method, "GET");
  EXPECT_EQ(sent[0].url, kLeaseUrl);
  EXPECT_EQ(sent[1].method, "POST");
  EXPECT_EQ(sent[1].url.substr(0, sent[1].url.find('?')), kLeasePath);
  const api::Json created = BodyOf(sent[1]);
  EXPECT_EQ(created["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(created["kind"], "Lease");
  EXPECT_EQ(created["metadata"]["name"], "ctask-operator");
  EXPECT_EQ(created["metadata"]["namespace"], "ops");
  EXPECT_FALSE(created["metadata"].contains("resourceVersion"));
  EXPECT_EQ(created["spec"], (api::Json{{"holderIdentity", "me"},
                                        {"leaseDurationSeconds", 15},
                                        {"acquireTime", kT0},
                                        {"renewTime", kT0},
                                        {"leaseTransitions", 0}}));

  EXPECT_EQ(started_, 1);
  EXPECT_TRUE(saw_leading_stop_);
  EXPECT_EQ(leader_at_sleep_, std::vector<bool>{true});  // leading at the first renew wait
  EXPECT_EQ(stopped_leading_calls_, 1);
  EXPECT_EQ(new_leaders_, std::vector<std::string>{"me"});
  EXPECT_FALSE(elector_->IsLeader());
  EXPECT_EQ(elector_->Leader(), "me");  // not released (release_on_cancel is off here)
}

TEST_F(LeaderElectionTest, WaitsWhileAnotherHoldersLeaseIsFreshByTheLocalClock) {
  // The same record at t = 0, 3.2, 6.4, 9.6, 12.8s: under 15s since it was
  // first seen, so it is not expired, although its renewTime is an hour
  // older than our wall clock.
  for (int i = 0; i < 5; ++i)
    Push(Reply(200, LeaseBody({.holder = "other", .resource_version = "7", .transitions = 3})));

  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();

  EXPECT_EQ(Methods(), std::vector<std::string>(5, "GET"));
  // client-go's jitter: 2s * (1 + 1.2 * 0.5).
  EXPECT_EQ(sleeps_, std::vector<milliseconds>(5, milliseconds(3200)));
  EXPECT_EQ(started_, 0);
  EXPECT_EQ(stopped_leading_calls_, 0);  // it never led
  EXPECT_FALSE(elector_->IsLeader());
  EXPECT_EQ(elector_->Leader(), "other");
  EXPECT_EQ(new_leaders_, std::vector<std::string>{"other"});
}

TEST_F(LeaderElectionTest, AHolderThatKeepsRenewingIsNeverTakenOver) {
  // 8 reads over 25.6s, each with a new renewTime: every change restarts the
  // observation, so the lease never expires.
  for (int i = 0; i < 8; ++i) {
    Push(Reply(200, LeaseBody({.holder = "other",
                               .resource_version = std::to_string(10 + i),
                               .renew_time = "2026-11-23T17:00:0" + std::to_string(i) + ".000000Z"})));
  }
  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_EQ(Methods(), std::vector<std::string>(8, "GET"));
  EXPECT_EQ(started_, 0);
}

TEST_F(LeaderElectionTest, TakesOverOnceLeaseDurationPassedSinceTheRecordLastChanged) {
  // Reads at 0 .. 12.8s see the record unchanged; at 16s, 15s have passed
  // since it was first observed: take over, conditioned on its version.
  for (int i = 0; i < 6; ++i)
    Push(Reply(200, LeaseBody({.holder = "other", .resource_version = "7", .transitions = 3})));
  const std::string t16 = "2026-11-23T18:00:16.123456Z";
  Push(Reply(
      200,
      LeaseBody({.holder = "me", .resource_version = "8", .transitions = 4, .renew_time = t16, .acquire_time = t16})));

  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();

  std::vector<std::string> expected(6, "GET");
  expected.push_back("PUT");
  EXPECT_EQ(Methods(), expected);
  const http::Request take_over = requests().back();
  EXPECT_EQ(take_over.url.substr(0, take_over.url.find('?')), kLeaseUrl);
  const api::Json body = BodyOf(take_over);
  EXPECT_EQ(body["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(body["spec"]["holderIdentity"], "me");
  EXPECT_EQ(body["spec"]["leaseTransitions"], 4);
  EXPECT_EQ(body["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(body["spec"]["acquireTime"], t16);
  EXPECT_EQ(body["spec"]["renewTime"], t16);
  EXPECT_EQ(started_, 1);
  EXPECT_EQ(new_leaders_, (std::vector<std::string>{"other", "me"}));
}

TEST_F(LeaderElectionTest, ExpiryFollowsTheRecordsLeaseDurationSeconds) {
  // The holder wrote leaseDurationSeconds 5: expired at 6.4s (> 5s observed).
  for (int i = 0; i < 3; ++i) {
    Push(Reply(200, LeaseBody({.holder = "other", .resource_version = "7", .duration_seconds = 5})));
  }
  Push(Reply(200, LeaseBody({.holder = "me", .resource_version = "8", .transitions = 1})));
  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_EQ(Methods(), (std::vector<std::string>{"GET", "GET", "GET", "PUT"}));
  EXPECT_EQ(BodyOf(requests().back())["spec"]["leaseDurationSeconds"], 15);  // ours, from now on
}

TEST_F(LeaderElectionTest, AReleasedLeaseIsTakenAtOnce) {
  Push(Reply(200, LeaseBody({.holder = "", .resource_version = "3", .transitions = 2, .duration_seconds = 1})));
  Push(Reply(200, LeaseBody({.holder = "me", .resource_version = "4", .transitions = 3})));
  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_EQ(Methods(), (std::vector<std::string>{"GET", "PUT"}));
  const api::Json body = BodyOf(requests().back());
  EXPECT_EQ(body["metadata"]["resourceVersion"], "3");
  EXPECT_EQ(body["spec"]["leaseTransitions"], 3);
  EXPECT_EQ(body["spec"]["acquireTime"], kT0);
  EXPECT_EQ(started_, 1);
}

TEST_F(LeaderElectionTest, AConflictOnTakeOverMeansAnotherCandidateWonAndTheLoopGoesOn) {
  Push(Reply(200, LeaseBody({.holder = "", .resource_version = "3", .transitions = 2})));
  Push(Reply(409, StatusBody(409, "Conflict")));
  // The winner, read after the jittered wait: fresh, so this one waits.
  Push(Reply(200, LeaseBody({.holder = "rival", .resource_version = "4", .transitions = 3, .renew_time = kT0})));
  Push(Reply(200, LeaseBody({.holder = "rival", .resource_version = "4", .transitions = 3, .renew_time = kT0})));

  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_EQ(Methods(), (std::vector<std::string>{"GET", "PUT", "GET", "GET"}));
  EXPECT_EQ(BodyOf(requests()[1])["metadata"]["resourceVersion"], "3");
  EXPECT_EQ(sleeps_.front(), milliseconds(3200));
  EXPECT_EQ(started_, 0);
  EXPECT_FALSE(elector_->IsLeader());
  EXPECT_EQ(elector_->Leader(), "rival");
}

TEST_F(LeaderElectionTest, RenewsEveryRetryPeriodFromTheLastWrite) {
  const std::string t2 = "2026-11-23T18:00:02.123456Z";
  const std::string t4 = "2026-11-23T18:00:04.123456Z";
  Push(Reply(404, StatusBody(404, "NotFound")));
  Push(Reply(201, LeaseBody({.holder = "me", .resource_version = "1", .renew_time = kT0, .acquire_time = kT0})));
  Push(Reply(200, LeaseBody({.holder = "me", .resource_version = "2", .renew_time = t2, .acquire_time = kT0})));
  Push(Reply(200, LeaseBody({.holder = "me", .resource_version = "3", .renew_time = t4, .acquire_time = kT0})));

  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();

  // The fast path: no read between renews, each update from the last answer.
  EXPECT_EQ(Methods(), (std::vector<std::string>{"GET", "POST", "PUT", "PUT"}));
  const api::Json first = BodyOf(requests()[2]);
  const api::Json second = BodyOf(requests()[3]);
  EXPECT_EQ(first["metadata"]["resourceVersion"], "1");
  EXPECT_EQ(second["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(first["spec"]["renewTime"], t2);
  EXPECT_EQ(second["spec"]["renewTime"], t4);
  EXPECT_EQ(first["spec"]["acquireTime"], kT0);
  EXPECT_EQ(second["spec"]["acquireTime"], kT0);
  EXPECT_EQ(second["spec"]["holderIdentity"], "me");
  EXPECT_EQ(second["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(sleeps_, std::vector<milliseconds>(3, milliseconds(2000)));  // no jitter while leading
  EXPECT_EQ(leader_at_sleep_, std::vector<bool>(3, true));
  EXPECT_EQ(started_, 1);
}

TEST_F(LeaderElectionTest, ARenewConflictRereadsAndRenewsFromTheFreshVersion) {
  Push(Reply(404, StatusBody(404, "NotFound")));
  Push(Reply(201, LeaseBody({.holder = "me", .resource_version = "1", .renew_time = kT0, .acquire_time = kT0})));
  Push(Reply(409, StatusBody(409, "Conflict")));  // someone touched the object (a label, say)
  Push(Reply(200, LeaseBody({.holder = "me", .resource_version = "5", .renew_time = kT0, .acquire_time = kT0})));
  Push(Reply(200, LeaseBody({.holder = "me", .resource_version = "6", .acquire_time = kT0})));

  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_EQ(Methods(), (std::vector<std::string>{"GET", "POST", "PUT", "GET", "PUT"}));
  const api::Json renewed = BodyOf(requests()[4]);
  EXPECT_EQ(renewed["metadata"]["resourceVersion"], "5");
  EXPECT_EQ(renewed["spec"]["leaseTransitions"], 0);  // still ours: no transition
  EXPECT_EQ(renewed["spec"]["acquireTime"], kT0);
  EXPECT_EQ(stopped_leading_calls_, 1);
  EXPECT_EQ(leader_at_sleep_, std::vector<bool>(2, true));
}

TEST_F(LeaderElectionTest, LosesLeadershipWhenNoRenewSucceedsWithinRenewDeadline) {
  config_.release_on_cancel = false;
  Push(Reply(404, StatusBody(404, "NotFound")));
  Push(Reply(201, LeaseBody({.holder = "me", .resource_version = "1", .renew_time = kT0, .acquire_time = kT0})));
  // Attempts at 2, 4, 6, 8 and 10s, each an update then a read, all failing.
  for (int i = 0; i < 10; ++i) Push(Failure(ErrorCode::kUnavailable, "connection refused"));

  Status run = Run();
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(run.error().message().find("renew_deadline"), std::string::npos) << run.error().message();
  EXPECT_NE(run.error().message().find("connection refused"), std::string::npos) << run.error().message();

  EXPECT_EQ(requests().size(), 12u);
  EXPECT_EQ(fake_->remaining(), 0u);
  EXPECT_EQ(sleeps_, std::vector<milliseconds>(5, milliseconds(2000)));
  EXPECT_EQ(Elapsed(), milliseconds(10'000));
  EXPECT_TRUE(saw_leading_stop_);
  EXPECT_EQ(stopped_leading_calls_, 1);
  EXPECT_FALSE(elector_->IsLeader());
  EXPECT_FALSE(stop_.stop_requested());  // Run returned on its own
}

TEST_F(LeaderElectionTest, TheLastTryIsAtTheDeadline) {
  config_.retry_period = milliseconds(3000);  // 10s is not a multiple: tries at 3, 6, 9, 10s
  Push(Reply(404, StatusBody(404, "NotFound")));
  Push(Reply(201, LeaseBody({.holder = "me", .resource_version = "1", .renew_time = kT0, .acquire_time = kT0})));
  for (int i = 0; i < 8; ++i) Push(Failure(ErrorCode::kUnavailable, "connection refused"));
  Status run = Run();
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(3000), milliseconds(3000), milliseconds(3000),
                                                milliseconds(1000)}));
}

TEST_F(LeaderElectionTest, LosesAtOnceWhenTheLeaseIsSeenHeldByAnotherIdentity) {
  config_.release_on_cancel = true;  // and no release: the lease is not ours
  Push(Reply(404, StatusBody(404, "NotFound")));
  Push(Reply(201, LeaseBody({.holder = "me", .resource_version = "1", .renew_time = kT0, .acquire_time = kT0})));
  Push(Reply(409, StatusBody(409, "Conflict")));
  Push(Reply(200, LeaseBody({.holder = "usurper", .resource_version = "9", .transitions = 1, .renew_time = kT0})));

  Status run = Run();
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code(), ErrorCode::kConflict);
  EXPECT_NE(run.error().message().find("usurper"), std::string::npos) << run.error().message();
  EXPECT_EQ(Methods(), (std::vector<std::string>{"GET", "POST", "PUT", "GET"}));
  EXPECT_EQ(stopped_leading_calls_, 1);
  EXPECT_EQ(new_leaders_, (std::vector<std::string>{"me", "usurper"}));
}

TEST_F(LeaderElectionTest, StopWhileLeadingStopsTheWorkThenReleasesWithAnEmptyHolder) {
  config_.release_on_cancel = true;
  stop_at_sleep_ = 1;  // stop at the first renew wait
  Push(Reply(200, LeaseBody({.holder = "", .resource_version = "5", .transitions = 2})));
  Push(Reply(
      200,
      LeaseBody({.holder = "me", .resource_version = "6", .transitions = 3, .renew_time = kT0, .acquire_time = kT0})));
  Push(Reply(200, LeaseBody({.holder = "",
                             .resource_version = "7",
                             .transitions = 3,
                             .renew_time = kT0,
                             .duration_seconds = 1,
                             .acquire_time = kT0})));

  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();

  EXPECT_EQ(Methods(), (std::vector<std::string>{"GET", "PUT", "PUT"}));
  const api::Json release = BodyOf(requests()[2]);
  EXPECT_EQ(release["metadata"]["resourceVersion"], "6");
  EXPECT_EQ(release["spec"], (api::Json{{"holderIdentity", ""},
                                        {"leaseDurationSeconds", 1},
                                        {"acquireTime", kT0},
                                        {"renewTime", kT0},
                                        {"leaseTransitions", 3}}));
  // The leading work had stopped before the release was written.
  EXPECT_TRUE(saw_leading_stop_);
  EXPECT_EQ(requests_when_leading_stopped_, 2u);
  EXPECT_EQ(stopped_leading_calls_, 1);
  EXPECT_EQ(elector_->Leader(), "");
  EXPECT_EQ(new_leaders_, (std::vector<std::string>{"me", ""}));
}

TEST_F(LeaderElectionTest, AFailedReleaseStillEndsTheRun) {
  config_.release_on_cancel = true;
  stop_at_sleep_ = 1;
  Push(Reply(404, StatusBody(404, "NotFound")));
  Push(Reply(201, LeaseBody({.holder = "me", .resource_version = "1", .renew_time = kT0, .acquire_time = kT0})));
  Push(Reply(409, StatusBody(409, "Conflict")));
  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_EQ(Methods(), (std::vector<std::string>{"GET", "POST", "PUT"}));
  EXPECT_EQ(stopped_leading_calls_, 1);
}

TEST_F(LeaderElectionTest, AStopBeforeRunSendsNothing) {
  stop_.request_stop();
  Status run = Run();
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_TRUE(requests().empty());
  EXPECT_EQ(started_, 0);
  EXPECT_EQ(stopped_leading_calls_, 0);
}

TEST(LeaderElectionConfigTest, RefusesWhatCannotWorkNamingTheField) {
  auto valid = [] {
    LeaderElectionConfig config;
    config.lease_namespace = "ops";
    config.lease_name = "ctask-operator";
    config.identity = "pod-a";
    config.on_started_leading = [](std::stop_token) {};
    return config;
  };
  ASSERT_TRUE(ValidateLeaderElectionConfig(valid()).has_value());

  struct Case {
    const char* name;
    std::function<void(LeaderElectionConfig&)> change;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no namespace", [](auto& c) { c.lease_namespace = ""; }, "lease_namespace is required"},
      {"no name", [](auto& c) { c.lease_name = ""; }, "lease_name is required"},
      {"no identity", [](auto& c) { c.identity = ""; }, "identity is required"},
      {"sub-second lease", [](auto& c) { c.lease_duration = milliseconds(500); }, "lease_duration (500ms)"},
      {"fractional lease", [](auto& c) { c.lease_duration = milliseconds(15'500); },
       "lease_duration (15500ms) must be a whole number of seconds"},
      {"renew deadline = lease", [](auto& c) { c.renew_deadline = milliseconds(15'000); },
       "renew_deadline (15000ms) must be shorter than lease_duration (15000ms)"},
      {"renew deadline within jittered retry", [](auto& c) { c.retry_period = milliseconds(9'000); },
       "renew_deadline (10000ms) must be longer than retry_period (9000ms) * 1.2"},
      {"zero retry", [](auto& c) { c.retry_period = milliseconds(0); }, "retry_period (0ms) must be greater than zero"},
      {"zero renew", [](auto& c) { c.renew_deadline = milliseconds(0); }, "renew_deadline (0ms) must be greater"},
      {"no callback", [](auto& c) { c.on_started_leading = nullptr; }, "on_started_leading is required"},
  };
  for (const Case& c : cases) {
    LeaderElectionConfig config = valid();
    c.change(config);
    Status status = ValidateLeaderElectionConfig(config);
    ASSERT_FALSE(status.has_value()) << c.name;
    EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument) << c.name;
    EXPECT_NE(status.error().message().find(c.message), std::string::npos)
        << c.name << ": " << status.error().message();
    EXPECT_EQ(status.error().message().rfind("leader election: ", 0), 0u) << status.error().message();
  }

  // Create refuses the same way.
  auto transport = std::make_unique<FakeTransport>();
  FakeTransport* fake = transport.get();
  KubeClient client(std::move(transport), kServer, nullptr, {});
  LeaderElectionConfig bad = valid();
  bad.identity = "";
  Result<LeaderElectorPtr> elector = LeaderElector::Create(client, bad);
  ASSERT_FALSE(elector.has_value());
  EXPECT_EQ(elector.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(fake->requests().empty());
}

TEST(LeaderElectionConfigTest, ClientGoDefaultsAreValid) {
  LeaderElectionConfig config;
  config.lease_namespace = "ops";
  config.lease_name = "ctask-operator";
  config.identity = "pod-a";
  config.on_started_leading = [](std::stop_token) {};
  EXPECT_TRUE(ValidateLeaderElectionConfig(config).has_value());
  EXPECT_EQ(config.lease_duration, milliseconds(15'000));
  EXPECT_EQ(config.renew_deadline, milliseconds(10'000));
  EXPECT_EQ(config.retry_period, milliseconds(2'000));
}

TEST(MicroTimeTest, FormatsSixFractionDigitsInUtc) {
  using namespace std::chrono;
  const auto t = sys_days(year(2026) / 11 / 23) + hours(18) + microseconds(123456) + nanoseconds(789);
  EXPECT_EQ(FormatMicroTime(t), "2026-11-23T18:00:00.123456Z");
  EXPECT_EQ(FormatMicroTime(sys_days(year(2026) / 1 / 2) + seconds(3)), "2026-01-02T00:00:03.000000Z");
}

}  // namespace
}  // namespace ctask::kube
