#include "metrics/metrics_server.h"

namespace ctask::metrics {
namespace {

Handler HealthHandler(const HealthChecks& checks) {
  return [&checks](const ServerRequest& request) {
    HealthReport report = checks.Serve(request.query);
    return ServerResponse{report.http_status, "text/plain; charset=utf-8", std::move(report.body)};
  };
}

}  // namespace

Routes MetricsRoutes(const OperatorMetrics& metrics, const HealthChecks& healthz, const HealthChecks& readyz) {
  Routes routes;
  routes["/metrics"] = [&metrics](const ServerRequest&) {
    return ServerResponse{200, kPrometheusTextContentType, metrics.Render()};
  };
  routes["/healthz"] = HealthHandler(healthz);
  routes["/readyz"] = HealthHandler(readyz);
  return routes;
}

Result<HttpServerPtr> StartMetricsServer(std::string_view address, const OperatorMetrics& metrics,
                                         const HealthChecks& healthz, const HealthChecks& readyz,
                                         ServerOptions options) {
  return HttpServer::Start(address, MetricsRoutes(metrics, healthz, readyz), options);
}

}  // namespace ctask::metrics
