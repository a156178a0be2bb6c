// HealthChecks: a named set of checks behind one health endpoint (/healthz
// or /readyz), answered in kube-apiserver's format so that the kubelet, curl
// users and tools that know Kubernetes' endpoints read it the same way.
//
//  - All pass: 200 "ok"; with ?verbose one line per check and
//    "<name> check passed":
//        [+]informer-synced ok
//        [+]leader-election ok
//        readyz check passed
//  - Any fails: 500, one line per check with the failure's reason withheld
//    (as kube-apiserver does for a caller that did not ask), then
//    "<name> check failed":
//        [+]informer-synced ok
//        [-]leader-election failed: reason withheld
//        readyz check failed
//    With ?verbose the reason is given: "[-]leader-election failed: lease
//    held by replica-b". (The port is the operator's own, not a public API,
//    and a reason is what an operator's human needs.)
//  - A set with no checks passes.
//
// Checks run in the order added, on the requesting thread, at every request:
// they must be quick and non-blocking (read a flag or a cached state, never
// call the API server from a liveness check). A check that throws fails.
//
// Thread-safety: Add and Run may be called from any thread at once; a check
// may run on several threads at once.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace ctask::metrics {

using HealthCheck = std::function<Status()>;

struct CheckOutcome {
  std::string name;
  Status status;
};

struct HealthReport {
  int http_status = 200;
  std::string body;
};

// Pure: the response for `outcomes` of the endpoint `endpoint` ("readyz").
HealthReport RenderHealth(std::string_view endpoint, const std::vector<CheckOutcome>& outcomes, bool verbose);

// Whether an endpoint's query string asks for the verbose form: a "verbose"
// parameter with any value ("verbose", "verbose=1", "a=b&verbose").
bool QueryHasVerbose(std::string_view query);

class HealthChecks {
 public:
  // `endpoint` names the set in its answers ("healthz", "readyz").
  explicit HealthChecks(std::string endpoint);

  // A name appears once: adding an existing name replaces its check.
  void Add(std::string name, HealthCheck check);

  // Runs every check, in order.
  std::vector<CheckOutcome> Run() const;

  // Runs the checks and renders the answer for a request with `query`.
  HealthReport Serve(std::string_view query) const;

  const std::string& endpoint() const { return endpoint_; }

 private:
  const std::string endpoint_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, HealthCheck>> checks_;  // guarded by mu_
};

}  // namespace ctask::metrics
