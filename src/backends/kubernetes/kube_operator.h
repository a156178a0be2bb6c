// KubeOperator: the Kubernetes operator's lifetime (`ctask operator
// --backend kubernetes`), around the backend (kube_backend.h):
//   1. the CRD is there (without it every list fails with 404 for ever);
//   2. /metrics, /healthz, /readyz on the one inbound port (readyz: the
//      caches have listed and the operator is not shutting down);
//   3. the informers start and list once;
//   4. the workers run: at once, or, with leader election, only while this
//      replica holds the Lease. The caches run on every replica, so a
//      standby takes over warm. The elector gets its own client, whose
//      requests end within the renew deadline, so a hung request cannot
//      outlast leadership;
//   5. on `stop` the workers drain (reconciles in flight finish; pods keep
//      running and are adopted at the next start) and the Lease is released.
// Each step is logged through util/log.h.
//
// Thread-safety: Run once, on one thread.
#pragma once

#include <optional>
#include <stop_token>
#include <string>

#include "backends/kubernetes/kube_backend.h"
#include "kube/client.h"
#include "kube/leader_election.h"
#include "metrics/operator_metrics.h"

namespace ctask::backends {

inline constexpr const char* kContainerTaskCrdName = "containertasks.ctask.io";

struct KubeOperatorOptions {
  KubeBackendOptions backend;  // backend.metrics: required
  std::string http_address;    // of /metrics, /healthz, /readyz
  // Set: act only while holding this Lease. Its on_started_leading and
  // on_new_leader are the operator's; `log` goes to the operator's log.
  std::optional<kube::LeaderElectionConfig> election;
};

enum class KubeOperatorEnd {
  kStopped,         // `stop` was requested (before or after the caches synced)
  kLeadershipLost,  // the Lease was lost: exit, and start again as a standby
};

// Errors: kNotFound naming the CRD and how to install it; kInvalidArgument
// for an http_address that cannot be served or an election config that
// cannot work; a connection error of the election client.
// `election_client` is used only with options.election; both clients must
// outlive the call.
Result<KubeOperatorEnd> RunKubeOperator(kube::KubeClient& client, kube::KubeClient* election_client,
                                        KubeOperatorOptions options, std::stop_token stop);

}  // namespace ctask::backends
