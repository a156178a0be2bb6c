// LeaderElector: Lease-based leader election, so that of several operator
// replicas exactly one acts at a time. It follows client-go's
// k8s.io/client-go/tools/leaderelection over a coordination.k8s.io/v1 Lease,
// so that its records read the same to kubectl and to client-go tools:
//
//  - The Lease's spec holds holderIdentity, leaseDurationSeconds,
//    acquireTime, renewTime (RFC 3339 MicroTime, UTC, six fraction digits)
//    and leaseTransitions (incremented each time the holder changes).
//  - Acquire: Get the Lease; Create it when absent. A Lease another identity
//    holds is taken over only once it has expired, and "expired" is judged
//    on the LOCAL steady clock: leaseDurationSeconds (the record's own)
//    after this elector last saw the record change (client-go's
//    observedTime). The remote renewTime is never compared with our clock,
//    so clock skew between replicas does not matter, only clock rate. An
//    empty holderIdentity (a released Lease) is free at once. Take-over is
//    an Update conditioned on the resourceVersion read: a conflict means
//    another candidate won, and the loop goes on. Attempts are
//    retry_period apart with client-go's jitter (JitterFactor 1.2: each
//    wait is retry_period * (1 + 1.2 * U[0,1))).
//  - Renew: every retry_period, an Update from the last write (the fast
//    path), falling back to Get + Update on failure. Leadership is lost
//    when no renew has succeeded for renew_deadline, counted from the start
//    of the last successful write (stricter than client-go, which counts
//    from the first failed retry), or at once when the Lease is seen held by
//    another identity (client-go keeps trying until the deadline).
//  - On loss: `leading` (the token on_started_leading got) is requested,
//    on_started_leading is waited for, on_stopped_leading runs, and Run
//    returns the reason. As with client-go, the process should then exit
//    and start afresh rather than campaign again with state it built while
//    leading.
//  - On stop while leading: `leading` is requested and on_started_leading
//    is waited for; then, with release_on_cancel, the Lease is released as
//    client-go releases it (holderIdentity "", leaseDurationSeconds 1,
//    acquireTime and renewTime now), so another replica takes over within
//    its next retry instead of after lease_duration; then
//    on_stopped_leading runs. Because the release is written only after
//    on_started_leading has returned, the work it guards has stopped
//    before anyone else may start it (client-go leaves that to the
//    caller).
//
// What it guarantees: the other replicas take over no sooner than
// lease_duration after they last saw this one renew, and this one stops
// (IsLeader false, `leading` requested) once renew_deadline has passed
// without a renew: with renew_deadline < lease_duration, and clocks that run
// at about the same rate, two replicas never both lead. There is no fencing
// token: a write the old leader started before it noticed the loss can
// still land. Each request must therefore end well within renew_deadline:
// give the elector its own KubeClient whose ClientOptions::request_timeout
// is at most renew_deadline (kube-controller-manager does the same), since a
// request cannot be cut short from here.
//
// Differences from client-go, on purpose: on_stopped_leading runs only if
// this elector led (client-go runs it whenever Run returns); Run reports why
// it returned; IsLeader also turns false when renew_deadline has passed
// without a renew, even while a request is still hanging.
//
// Thread-safety: Run is called once, from one thread; IsLeader and Leader
// may be called from any thread at any time. on_started_leading runs on a
// thread of its own; on_new_leader, on_stopped_leading and log run on Run's
// thread and must not call Run.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "api/json.h"
#include "kube/client.h"
#include "util/clock.h"
#include "util/error.h"

namespace ctask::kube {

// client-go's jitter on the acquire retries: each wait is retry_period
// stretched by up to 120%, so that candidates started together do not poll
// the Lease in lockstep.
inline constexpr double kLeaderElectionJitterFactor = 1.2;

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  // Who this replica is, unique among the candidates (the pod name, or
  // hostname + a random suffix): two candidates with one identity would
  // both believe they lead.
  std::string identity;

  // client-go's defaults, as kube-controller-manager uses them. The Lease
  // records whole seconds, hence lease_duration must be whole seconds.
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
  bool release_on_cancel = true;

  // Required. Runs on its own thread once leadership is acquired; `leading`
  // is requested when leadership is lost or Run stops, and the function must
  // then return promptly (Run waits for it).
  std::function<void(std::stop_token leading)> on_started_leading;
  // Optional: after on_started_leading returned (and the release, if any).
  std::function<void()> on_stopped_leading;
  // Optional: each time the observed holder changes, including to ""
  // (released) and to this identity.
  std::function<void(const std::string& identity)> on_new_leader;
  // Optional: one line per state change or failed attempt.
  std::function<void(const std::string& line)> log;
};

// kInvalidArgument naming the field when `config` cannot work: an empty
// lease_namespace, lease_name or identity; a lease_duration that is not
// whole seconds of at least 1s; renew_deadline not shorter than
// lease_duration; renew_deadline not longer than retry_period *
// kLeaderElectionJitterFactor (client-go's checks); no on_started_leading.
Status ValidateLeaderElectionConfig(const LeaderElectionConfig& config);

class LeaderElector {
 public:
  // kInvalidArgument when ValidateLeaderElectionConfig refuses `config`.
  // `client` and `clock` must outlive the elector. Time and chance are
  // injected so that tests drive them and never wait: the clock's Steady
  // time for observations, expiry and the renew deadline, its wall time
  // for acquireTime and renewTime (read by people only), its SleepFor
  // between attempts; `random` (uniform in [0, 1); unset: a random engine)
  // for the jitter.
  static Result<std::unique_ptr<LeaderElector>> Create(KubeClient& client, LeaderElectionConfig config,
                                                       const Clock& clock = RealClock(),
                                                       std::function<double()> random = {});

  // Campaigns, then leads (see the contract above), until `stop` is
  // requested (returns success, after the release) or leadership is lost:
  // kDeadlineExceeded when no renew succeeded for renew_deadline,
  // kConflict when another identity took the Lease. Call once.
  Status Run(std::stop_token stop);

  // Whether this elector holds the Lease now: acquired, not lost or
  // released, and renewed within renew_deadline.
  bool IsLeader() const;
  // The holder last observed ("" before the first read or once released).
  std::string Leader() const;

 private:
  LeaderElector(KubeClient& client, LeaderElectionConfig config, const Clock& clock, std::function<double()> random);

  // One attempt (client-go's tryAcquireOrRenew): success when this elector
  // holds the Lease afterwards; kFailedPrecondition when another identity
  // holds it and it has not expired.
  Status TryAcquireOrRenew();
  bool Acquire(const std::stop_token& stop);
  // Success when `stop` was requested while leading; the loss otherwise.
  Status Renew(const std::stop_token& stop);
  void Release();

  // The Lease as a write of `holder` would make it from the last object read.
  api::Json LeaseWith(const std::string& holder, int64_t duration_seconds, const std::string& acquire_time,
                      const std::string& renew_time, int64_t transitions) const;
  // Takes `lease` (a server answer) as the last object and observed record.
  void Observe(api::Json lease);
  void MaybeReportNewLeader();
  std::string ObservedHolder() const;
  std::chrono::milliseconds Jittered();
  void Log(const std::string& line) const;
  std::string LeaseDescription() const;

  KubeClient& client_;
  const LeaderElectionConfig config_;
  const Clock& clock_;
  std::function<double()> random_;

  // Run's thread only.
  api::Json lease_;          // the last Lease read or written: its resourceVersion conditions updates
  api::Json observed_spec_;  // the record as last observed
  std::chrono::steady_clock::time_point observed_time_{};  // when observed_spec_ last changed
  std::string reported_leader_;                            // what on_new_leader last got

  mutable std::mutex mu_;
  bool leading_ = false;                                  // guarded by mu_
  std::chrono::steady_clock::time_point last_renewed_{};  // guarded by mu_: start of the last successful write
  std::string observed_holder_;                           // guarded by mu_
};

using LeaderElectorPtr = std::unique_ptr<LeaderElector>;

// "2026-11-23T18:00:00.123456Z": a metav1.MicroTime as the API writes it.
std::string FormatMicroTime(std::chrono::system_clock::time_point t);

}  // namespace ctask::kube
