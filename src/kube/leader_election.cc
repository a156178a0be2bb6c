#include "kube/leader_election.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>
#include <utility>

#include "kube/resource.h"
#include "util/time.h"

namespace ctask::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// What client-go writes as leaseDurationSeconds on release: the shortest a
// Lease can say, for readers that still judge an empty holder by it.
constexpr int64_t kReleasedLeaseSeconds = 1;

std::string Millis(milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

std::string StringField(const api::Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t IntField(const api::Json& object, const char* key, int64_t fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

const api::Json& SpecOf(const api::Json& lease) {
  static const api::Json kEmpty = api::Json::object();
  if (!lease.is_object()) return kEmpty;
  auto it = lease.find("spec");
  return it != lease.end() && it->is_object() ? *it : kEmpty;
}

}  // namespace

std::string FormatMicroTime(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto micros = floor<microseconds>(t);
  const sys_seconds seconds = floor<std::chrono::seconds>(micros);
  std::string text = FormatRfc3339(seconds);  // "...:SSZ"
  char fraction[32];
  std::snprintf(fraction, sizeof fraction, ".%06d", static_cast<int>((micros - seconds).count()));
  text.insert(text.size() - 1, fraction);
  return text;
}

Status ValidateLeaderElectionConfig(const LeaderElectionConfig& config) {
  auto invalid = [](const std::string& message) { return InvalidArgument("leader election: " + message); };
  if (config.lease_namespace.empty()) return invalid("lease_namespace is required");
  if (config.lease_name.empty()) return invalid("lease_name is required");
  if (config.identity.empty()) {
    return invalid("identity is required (unique per replica, e.g. the pod name)");
  }
  if (config.lease_duration < std::chrono::seconds(1) ||
      config.lease_duration % std::chrono::seconds(1) != milliseconds(0)) {
    return invalid("lease_duration (" + Millis(config.lease_duration) +
                   ") must be a whole number of seconds, at least 1s: the Lease records whole seconds");
  }
  if (config.renew_deadline <= milliseconds(0)) {
    return invalid("renew_deadline (" + Millis(config.renew_deadline) + ") must be greater than zero");
  }
  if (config.retry_period <= milliseconds(0)) {
    return invalid("retry_period (" + Millis(config.retry_period) + ") must be greater than zero");
  }
  if (config.renew_deadline >= config.lease_duration) {
    return invalid("renew_deadline (" + Millis(config.renew_deadline) + ") must be shorter than lease_duration (" +
                   Millis(config.lease_duration) + "), or two replicas could lead at once");
  }
  if (static_cast<double>(config.renew_deadline.count()) <=
      kLeaderElectionJitterFactor * static_cast<double>(config.retry_period.count())) {
    return invalid("renew_deadline (" + Millis(config.renew_deadline) + ") must be longer than retry_period (" +
                   Millis(config.retry_period) + ") * 1.2, so that a renew can be retried before the deadline");
  }
  if (!config.on_started_leading) return invalid("on_started_leading is required");
  return {};
}

Result<std::unique_ptr<LeaderElector>> LeaderElector::Create(KubeClient& client, LeaderElectionConfig config,
                                                             const Clock& clock, std::function<double()> random) {
  Status valid = ValidateLeaderElectionConfig(config);
  if (!valid) return std::unexpected(valid.error());
  return std::unique_ptr<LeaderElector>(new LeaderElector(client, std::move(config), clock, std::move(random)));
}

LeaderElector::LeaderElector(KubeClient& client, LeaderElectionConfig config, const Clock& clock,
                             std::function<double()> random)
    : client_(client), config_(std::move(config)), clock_(clock), random_(std::move(random)) {
  if (!random_) {
    random_ = [engine = std::mt19937_64(std::random_device{}()),
               uniform = std::uniform_real_distribution<double>(0.0, 1.0)]() mutable { return uniform(engine); };
  }
}

bool LeaderElector::IsLeader() const {
  const auto now = clock_.Steady();
  std::lock_guard lock(mu_);
  return leading_ && now - last_renewed_ < config_.renew_deadline;
}

std::string LeaderElector::Leader() const {
  return ObservedHolder();
}

std::string LeaderElector::ObservedHolder() const {
  std::lock_guard lock(mu_);
  return observed_holder_;
}

void LeaderElector::Log(const std::string& line) const {
  if (config_.log) config_.log(line);
}

std::string LeaderElector::LeaseDescription() const {
  return "lease " + config_.lease_namespace + "/" + config_.lease_name;
}

milliseconds LeaderElector::Jittered() {
  const double factor = 1.0 + kLeaderElectionJitterFactor * random_();
  return milliseconds(static_cast<int64_t>(static_cast<double>(config_.retry_period.count()) * factor));
}

api::Json LeaderElector::LeaseWith(const std::string& holder, int64_t duration_seconds, const std::string& acquire_time,
                                   const std::string& renew_time, int64_t transitions) const {
  api::Json lease = lease_.is_object() ? lease_ : api::Json::object();
  lease["apiVersion"] = resources::Leases().ApiVersion();
  lease["kind"] = resources::Leases().kind;
  if (!lease.contains("metadata") || !lease["metadata"].is_object()) lease["metadata"] = api::Json::object();
  lease["metadata"]["name"] = config_.lease_name;
  lease["metadata"]["namespace"] = config_.lease_namespace;
  // Spec fields other than the record's (strategy, preferredHolder) are
  // kept: they belong to coordinated election, which ctask does not use.
  if (!lease.contains("spec") || !lease["spec"].is_object()) lease["spec"] = api::Json::object();
  api::Json& spec = lease["spec"];
  spec["holderIdentity"] = holder;
  spec["leaseDurationSeconds"] = duration_seconds;
  spec["acquireTime"] = acquire_time;
  spec["renewTime"] = renew_time;
  spec["leaseTransitions"] = transitions;
  return lease;
}

void LeaderElector::Observe(api::Json lease) {
  const api::Json& spec = SpecOf(lease);
  if (spec != observed_spec_) {
    observed_spec_ = spec;
    observed_time_ = clock_.Steady();
  }
  {
    std::lock_guard lock(mu_);
    observed_holder_ = StringField(spec, "holderIdentity");
  }
  lease_ = std::move(lease);
}

void LeaderElector::MaybeReportNewLeader() {
  const std::string holder = ObservedHolder();
  if (holder == reported_leader_) return;
  reported_leader_ = holder;
  Log(LeaseDescription() + ": the leader is now " + (holder.empty() ? "nobody (released)" : "\"" + holder + "\""));
  if (config_.on_new_leader) config_.on_new_leader(holder);
}

Status LeaderElector::TryAcquireOrRenew() {
  const Resource leases = resources::Leases();
  const std::string now_text = FormatMicroTime(clock_.Now());
  const int64_t duration_seconds = std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count();
  const api::Json& observed = observed_spec_;
  const bool observed_ours = ObservedHolder() == config_.identity;

  // 1. The fast path for the leader: an update from the last object it
  // wrote, which is current unless someone else wrote since (then the
  // update is a conflict and the slow path below re-reads).
  if (observed_ours) {
    const int64_t observed_seconds = IntField(observed, "leaseDurationSeconds", duration_seconds);
    if (clock_.Steady() < observed_time_ + std::chrono::seconds(observed_seconds)) {
      Result<api::Json> updated =
          client_.Update(leases, config_.lease_namespace,
                         LeaseWith(config_.identity, duration_seconds, StringField(observed, "acquireTime"), now_text,
                                   IntField(observed, "leaseTransitions", 0)));
      if (updated) {
        Observe(std::move(*updated));
        return {};
      }
      Log(LeaseDescription() + ": renew failed, reading the lease again: " + updated.error().message());
    }
  }

  // 2. Read the record, or create it.
  Result<api::Json> got = client_.Get(leases, config_.lease_namespace, config_.lease_name);
  if (!got) {
    if (got.error().code() != ErrorCode::kNotFound) return std::unexpected(got.error());
    lease_ = api::Json();
    Result<api::Json> created = client_.Create(leases, config_.lease_namespace,
                                               LeaseWith(config_.identity, duration_seconds, now_text, now_text, 0));
    if (!created) return std::unexpected(created.error());
    Observe(std::move(*created));
    return {};
  }
  Observe(std::move(*got));

  // 3. Held by another identity and not expired by our own clock: wait.
  const api::Json& spec = observed_spec_;
  const std::string holder = StringField(spec, "holderIdentity");
  const int64_t record_seconds = IntField(spec, "leaseDurationSeconds", duration_seconds);
  const bool expired = observed_time_ + std::chrono::seconds(record_seconds) < clock_.Steady();
  if (!holder.empty() && holder != config_.identity && !expired) {
    return MakeError(ErrorCode::kFailedPrecondition, LeaseDescription() + " is held by \"" + holder +
                                                         "\" and has not expired (" + std::to_string(record_seconds) +
                                                         "s after it last changed)");
  }
  if (expired && !holder.empty() && holder != config_.identity) {
    Log(LeaseDescription() + ": \"" + holder + "\" did not renew for " + std::to_string(record_seconds) +
        "s: taking over");
  }

  // 4. Write ourselves in, conditioned on the resourceVersion just read.
  const int64_t transitions = IntField(spec, "leaseTransitions", 0);
  api::Json lease =
      holder == config_.identity
          ? LeaseWith(config_.identity, duration_seconds, StringField(spec, "acquireTime"), now_text, transitions)
          : LeaseWith(config_.identity, duration_seconds, now_text, now_text, transitions + 1);
  Result<api::Json> updated = client_.Update(leases, config_.lease_namespace, lease);
  if (!updated) return std::unexpected(updated.error());
  Observe(std::move(*updated));
  return {};
}

bool LeaderElector::Acquire(const std::stop_token& stop) {
  Log(LeaseDescription() + ": \"" + config_.identity + "\" is campaigning");
  std::string last_failure;
  while (!stop.stop_requested()) {
    const auto started = clock_.Steady();
    Status attempt = TryAcquireOrRenew();
    MaybeReportNewLeader();
    if (attempt) {
      {
        std::lock_guard lock(mu_);
        leading_ = true;
        last_renewed_ = started;
      }
      Log(LeaseDescription() + ": \"" + config_.identity + "\" acquired it and leads");
      return true;
    }
    // "Held by another" repeats every retry while the leader is healthy;
    // it is said once, as on_new_leader.
    if (attempt.error().code() != ErrorCode::kFailedPrecondition && attempt.error().message() != last_failure) {
      Log(LeaseDescription() + ": could not acquire: " + attempt.error().message());
    }
    last_failure = attempt.error().message();
    if (!clock_.SleepFor(Jittered(), stop)) break;
  }
  return false;
}

Status LeaderElector::Renew(const std::stop_token& stop) {
  milliseconds wait = config_.retry_period;
  while (clock_.SleepFor(wait, stop)) {
    const auto started = clock_.Steady();
    Status renewed = TryAcquireOrRenew();
    MaybeReportNewLeader();
    if (renewed) {
      std::lock_guard lock(mu_);
      last_renewed_ = started;
      wait = config_.retry_period;
      continue;
    }
    const std::string holder = ObservedHolder();
    if (!holder.empty() && holder != config_.identity) {
      return MakeError(ErrorCode::kConflict,
                       LeaseDescription() + ": lost leadership: \"" + holder + "\" holds the lease now");
    }
    steady_clock::time_point deadline;
    {
      std::lock_guard lock(mu_);
      deadline = last_renewed_ + config_.renew_deadline;
    }
    const auto now = clock_.Steady();
    if (now >= deadline) {
      return MakeError(ErrorCode::kDeadlineExceeded, LeaseDescription() + ": lost leadership: no renew succeeded for " +
                                                         Millis(config_.renew_deadline) +
                                                         " (renew_deadline); last error: " + renewed.error().message());
    }
    Log(LeaseDescription() + ": renew failed, retrying: " + renewed.error().message());
    // One more try at the deadline at the latest.
    wait = std::min(config_.retry_period, std::chrono::ceil<milliseconds>(deadline - now));
  }
  return {};
}

void LeaderElector::Release() {
  if (ObservedHolder() != config_.identity) return;
  const std::string now_text = FormatMicroTime(clock_.Now());
  Result<api::Json> released = client_.Update(
      resources::Leases(), config_.lease_namespace,
      LeaseWith("", kReleasedLeaseSeconds, now_text, now_text, IntField(observed_spec_, "leaseTransitions", 0)));
  if (!released) {
    Log(LeaseDescription() +
        ": could not release it (the others take over when it expires): " + released.error().message());
    return;
  }
  Observe(std::move(*released));
  Log(LeaseDescription() + ": released");
}

Status LeaderElector::Run(std::stop_token stop) {
  if (!Acquire(stop)) return {};

  Status outcome;
  {
    std::stop_source leading;
    std::jthread worker([this, token = leading.get_token()] { config_.on_started_leading(token); });
    outcome = Renew(stop);
    {
      std::lock_guard lock(mu_);
      leading_ = false;
    }
    if (!outcome) Log(outcome.error().message());
    leading.request_stop();
    // Joined before the release: what the leader guarded must have stopped
    // before another replica may start it.
    worker.join();
  }
  if (config_.release_on_cancel) Release();
  MaybeReportNewLeader();
  if (config_.on_stopped_leading) config_.on_stopped_leading();
  return outcome;
}

}  // namespace ctask::kube
