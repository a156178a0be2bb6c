// StartMetricsServer: the operator's one inbound port, serving
//   /metrics  the OperatorMetrics in Prometheus text format
//   /healthz  the liveness checks (the kubelet restarts the pod on failure)
//   /readyz   the readiness checks (failing takes the pod out of Services)
// over HttpServer (civetweb; GET and HEAD; see server.h for limits and
// timeouts).
//
// `metrics`, `healthz` and `readyz` are read at every request: they must
// outlive the returned server (stop or destroy it first).
//
// Thread-safety: as HttpServer; handlers run on its worker threads.
#pragma once

#include <string_view>

#include "metrics/health.h"
#include "metrics/operator_metrics.h"
#include "metrics/server.h"
#include "util/error.h"

namespace ctask::metrics {

// The operator's default listen address (controller-runtime's metrics port).
inline constexpr const char* kDefaultMetricsAddress = ":8080";

// The three routes, for a caller that serves them beside others.
Routes MetricsRoutes(const OperatorMetrics& metrics, const HealthChecks& healthz, const HealthChecks& readyz);

Result<HttpServerPtr> StartMetricsServer(std::string_view address, const OperatorMetrics& metrics,
                                         const HealthChecks& healthz, const HealthChecks& readyz,
                                         ServerOptions options = {});

}  // namespace ctask::metrics
