#include "metrics/metrics_server.h"

namespace ctask::metrics {
namespace {

http::Handler HealthHandler(const HealthChecks& checks) {
  return [&checks](const http::ServerRequest& request) {
    HealthReport report = checks.Serve(request.query);
    return http::ServerResponse{report.http_status, "text/plain; charset=utf-8", std::move(report.body)};
  };
}

}  // namespace

http::Routes MetricsRoutes(const OperatorMetrics& metrics, const HealthChecks& healthz, const HealthChecks& readyz) {
  http::Routes routes;
  routes["/metrics"] = [&metrics](const http::ServerRequest&) {
    return http::ServerResponse{200, kPrometheusTextContentType, metrics.Render()};
  };
  routes["/healthz"] = HealthHandler(healthz);
  routes["/readyz"] = HealthHandler(readyz);
  return routes;
}

Result<http::HttpServerPtr> StartMetricsServer(std::string_view address, const OperatorMetrics& metrics,
                                               const HealthChecks& healthz, const HealthChecks& readyz,
                                               http::ServerOptions options) {
  return http::HttpServer::Start(address, MetricsRoutes(metrics, healthz, readyz), options);
}

}  // namespace ctask::metrics
