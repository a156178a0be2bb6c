// Leader election (src/kube/leader_election.h) against the real API server:
// two candidates with their own clients on one Lease, short durations, the
// real clock. Never both lead; a release hands over within a retry; a
// candidate that vanishes is replaced after about lease_duration; a leader
// that finds the Lease taken stops at once; kubectl sees the records.
#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/kube_fixture.h"

namespace ctask::testing {
namespace {

using api::Json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* kLease = "ctask-operator";
// Short, and far enough apart that a loaded test machine does not lose a
// renew by accident: renew_deadline (2s) is about six renews.
constexpr milliseconds kLeaseDuration{3'000};
constexpr milliseconds kRenewDeadline{2'000};
constexpr milliseconds kRetryPeriod{300};

// What the candidates' leading work shares: how many run at once, and the
// most that ever did.
struct Acting {
  std::atomic<int> now{0};
  std::atomic<int> most{0};
};

class Candidate {
 public:
  Candidate(std::string identity, std::string ns, bool release_on_cancel, Acting& acting) : identity_(identity) {
    Result<kube::ClusterConfig> config = kube::LoadKubeconfig({});
    EXPECT_TRUE(config.has_value()) << config.error().message();
    if (!config) return;
    kube::ClientOptions options;
    options.qps = 0;
    // Each request ends within renew_deadline, as the header asks.
    options.request_timeout = kRenewDeadline;
    Result<kube::KubeClientPtr> client = kube::Connect(*config, options);
    EXPECT_TRUE(client.has_value()) << client.error().message();
    if (!client) return;
    client_ = std::move(*client);

    kube::LeaderElectionConfig election;
    election.lease_namespace = std::move(ns);
    election.lease_name = kLease;
    election.identity = identity;
    election.lease_duration = kLeaseDuration;
    election.renew_deadline = kRenewDeadline;
    election.retry_period = kRetryPeriod;
    election.release_on_cancel = release_on_cancel;
    election.on_started_leading = [this, &acting](std::stop_token leading) {
      const int now = ++acting.now;
      int most = acting.most.load();
      while (now > most && !acting.most.compare_exchange_weak(most, now)) {
      }
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait(lock, leading, [] { return false; });
      --acting.now;
    };
    election.on_stopped_leading = [this] { ++stopped_leading_; };
    election.log = [this](const std::string& line) {
      std::lock_guard lock(mu_);
      log_ += identity_ + ": " + line + "\n";
    };
    Result<kube::LeaderElectorPtr> elector = kube::LeaderElector::Create(*client_, election);
    EXPECT_TRUE(elector.has_value()) << elector.error().message();
    if (!elector) return;
    elector_ = std::move(*elector);
    thread_ = std::jthread([this](std::stop_token stop) {
      Status outcome = elector_->Run(stop);
      std::lock_guard lock(mu_);
      outcome_ = outcome;
      returned_ = true;
    });
  }

  ~Candidate() { Stop(); }

  // Stops Run (releasing, if configured) and waits until it returned.
  void Stop() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
  }

  bool IsLeader() const { return elector_ != nullptr && elector_->IsLeader(); }
  const std::string& identity() const { return identity_; }
  int stopped_leading() const { return stopped_leading_; }
  bool returned() const {
    std::lock_guard lock(mu_);
    return returned_;
  }
  Status outcome() const {
    std::lock_guard lock(mu_);
    return outcome_;
  }
  std::string Log() const {
    std::lock_guard lock(mu_);
    return log_;
  }

 private:
  const std::string identity_;
  kube::KubeClientPtr client_;
  kube::LeaderElectorPtr elector_;
  std::atomic<int> stopped_leading_{0};
  mutable std::mutex mu_;
  std::string log_;        // guarded by mu_
  Status outcome_;         // guarded by mu_
  bool returned_ = false;  // guarded by mu_
  std::jthread thread_;    // last: stopped first
};

class LeaderElectionTest : public KubeClientTest {
 protected:
  std::string NamespacePrefix() const override { return "leader"; }

  // Samples both candidates every few ms for `duration` or until `done`;
  // counts the samples in which both said they lead.
  bool Sample(
      milliseconds duration, const std::function<bool()>& done = [] { return false; }) {
    const auto until = steady_clock::now() + duration;
    while (steady_clock::now() < until) {
      const bool a = a_->IsLeader();
      const bool b = b_->IsLeader();
      ++samples_;
      if (a && b) ++both_;
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return done();
  }

  Candidate* Leader() const {
    if (a_->IsLeader()) return a_.get();
    if (b_->IsLeader()) return b_.get();
    return nullptr;
  }
  Candidate* Other(const Candidate* c) const { return c == a_.get() ? b_.get() : a_.get(); }

  Json LeaseFromKubectl() {
    BinaryResult got = Kubectl({"get", "lease", kLease, "-n", ns(), "-o", "json"});
    EXPECT_EQ(got.exit_code, 0) << Said(got);
    Json lease = Json::parse(got.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(lease.is_discarded()) << got.out;
    return lease.is_discarded() ? Json::object() : lease;
  }

  std::string Logs() const { return a_->Log() + b_->Log(); }

  void Start(bool release_on_cancel) {
    a_ = std::make_unique<Candidate>("replica-a", ns(), release_on_cancel, acting_);
    b_ = std::make_unique<Candidate>("replica-b", ns(), release_on_cancel, acting_);
  }

  void TearDown() override {
    if (a_) a_->Stop();
    if (b_) b_->Stop();
    if (HasFailure() && a_ && b_) std::cerr << Logs();
    KubeClientTest::TearDown();
  }

  Acting acting_;
  std::unique_ptr<Candidate> a_;
  std::unique_ptr<Candidate> b_;
  int samples_ = 0;
  int both_ = 0;
};

TEST_F(LeaderElectionTest, ExactlyOneLeadsAndAReleaseHandsOverWithinARetry) {
  Start(/*release_on_cancel=*/true);
  ASSERT_TRUE(Sample(milliseconds(15'000), [&] { return Leader() != nullptr; })) << "nobody leads\n" << Logs();

  // Steady state: the same one leads throughout, the other waits.
  Candidate* leader = Leader();
  Candidate* other = Other(leader);
  int changes = 0;
  Sample(milliseconds(3'000), [&] {
    if (!leader->IsLeader() || other->IsLeader()) ++changes;
    return false;
  });
  EXPECT_EQ(changes, 0) << Logs();

  Json lease = LeaseFromKubectl();
  EXPECT_EQ(lease["spec"].value("holderIdentity", ""), leader->identity()) << lease.dump(2);
  EXPECT_EQ(lease["spec"].value("leaseDurationSeconds", 0), 3) << lease.dump(2);
  EXPECT_EQ(lease["spec"].value("leaseTransitions", -1), 0) << lease.dump(2);

  // Stopping the leader releases the lease: the other takes it at its next
  // attempt (at most retry_period * 2.2), far sooner than lease_duration.
  const auto stopped = steady_clock::now();
  leader->Stop();
  EXPECT_TRUE(leader->outcome().has_value()) << leader->outcome().error().message();
  EXPECT_EQ(leader->stopped_leading(), 1);
  ASSERT_TRUE(Sample(milliseconds(10'000), [&] { return other->IsLeader(); })) << Logs();
  const auto handover = steady_clock::now() - stopped;
  std::cout << "release handed over in " << std::chrono::duration_cast<milliseconds>(handover).count() << " ms\n";
  EXPECT_LT(handover, milliseconds(1'500)) << Logs();

  lease = LeaseFromKubectl();
  EXPECT_EQ(lease["spec"].value("holderIdentity", ""), other->identity()) << lease.dump(2);
  EXPECT_EQ(lease["spec"].value("leaseTransitions", -1), 1) << lease.dump(2);
  EXPECT_EQ(lease["spec"].value("leaseDurationSeconds", 0), 3) << lease.dump(2);

  EXPECT_EQ(both_, 0) << "both led in " << both_ << " of " << samples_ << " samples\n" << Logs();
  EXPECT_EQ(acting_.most, 1) << Logs();
}

TEST_F(LeaderElectionTest, AVanishedLeaderIsTakenOverAfterAboutTheLeaseDuration) {
  Start(/*release_on_cancel=*/false);
  ASSERT_TRUE(Sample(milliseconds(15'000), [&] { return Leader() != nullptr; })) << "nobody leads\n" << Logs();
  Candidate* leader = Leader();
  Candidate* other = Other(leader);
  Sample(milliseconds(1'000));  // let the other observe a few renews

  const auto stopped = steady_clock::now();
  leader->Stop();  // gone without a word, as a killed process
  EXPECT_TRUE(leader->outcome().has_value()) << leader->outcome().error().message();
  EXPECT_FALSE(leader->IsLeader());
  Json lease = LeaseFromKubectl();
  EXPECT_EQ(lease["spec"].value("holderIdentity", ""), leader->identity()) << "not released\n" << lease.dump(2);

  ASSERT_TRUE(Sample(milliseconds(15'000), [&] { return other->IsLeader(); })) << Logs();
  const auto takeover = steady_clock::now() - stopped;
  std::cout << "vanished leader taken over in " << std::chrono::duration_cast<milliseconds>(takeover).count()
            << " ms\n";
  // lease_duration (3s) after the other last saw the record change, which
  // it saw at most a renew and a jittered retry (0.3s + 0.66s) before the
  // stop; then up to one jittered retry (0.66s) to notice, and some
  // latency on a loaded machine (measured: 3.6-3.9s).
  EXPECT_GE(takeover, milliseconds(1'800)) << Logs();
  EXPECT_LE(takeover, milliseconds(6'000)) << Logs();

  lease = LeaseFromKubectl();
  EXPECT_EQ(lease["spec"].value("holderIdentity", ""), other->identity()) << lease.dump(2);
  EXPECT_EQ(lease["spec"].value("leaseTransitions", -1), 1) << lease.dump(2);
  EXPECT_EQ(both_, 0) << Logs();
  EXPECT_EQ(acting_.most, 1) << Logs();
}

TEST_F(LeaderElectionTest, ALeaderThatFindsTheLeaseTakenStopsAtOnce) {
  Start(/*release_on_cancel=*/true);
  ASSERT_TRUE(Sample(milliseconds(15'000), [&] { return Leader() != nullptr; })) << "nobody leads\n" << Logs();
  Candidate* leader = Leader();
  Candidate* other = Other(leader);
  other->Stop();  // a waiting candidate: nothing to release
  EXPECT_EQ(other->stopped_leading(), 0);

  // An intruder (another client, or a person) writes itself in.
  BinaryResult patched = Kubectl(
      {"patch", "lease", kLease, "-n", ns(), "--type=merge", "-p", R"({"spec":{"holderIdentity":"intruder"}})"});
  ASSERT_EQ(patched.exit_code, 0) << Said(patched);

  const auto start = steady_clock::now();
  while (!leader->returned() && steady_clock::now() - start < milliseconds(10'000)) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(leader->returned()) << Logs();
  // Seen at the next renew, not after renew_deadline.
  EXPECT_LT(steady_clock::now() - start, kRenewDeadline) << Logs();
  Status outcome = leader->outcome();
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), ErrorCode::kConflict) << outcome.error().message();
  EXPECT_NE(outcome.error().message().find("intruder"), std::string::npos) << outcome.error().message();
  EXPECT_FALSE(leader->IsLeader());
  EXPECT_EQ(leader->stopped_leading(), 1);
  EXPECT_EQ(acting_.now, 0);
  // Not released: it is not ours.
  EXPECT_EQ(LeaseFromKubectl()["spec"].value("holderIdentity", ""), "intruder");
}

}  // namespace
}  // namespace ctask::testing
