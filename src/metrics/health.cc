#include "metrics/health.h"

#include <exception>
#include <utility>

namespace ctask::metrics {

HealthReport RenderHealth(std::string_view endpoint, const std::vector<CheckOutcome>& outcomes, bool verbose) {
  bool failed = false;
  std::string lines;
  for (const CheckOutcome& outcome : outcomes) {
    if (outcome.status) {
      lines += "[+]" + outcome.name + " ok\n";
      continue;
    }
    failed = true;
    lines +=
        "[-]" + outcome.name + " failed: " + (verbose ? outcome.status.error().message() : "reason withheld") + "\n";
  }
  if (failed) return HealthReport{500, lines + std::string(endpoint) + " check failed\n"};
  if (!verbose) return HealthReport{200, "ok"};
  return HealthReport{200, lines + std::string(endpoint) + " check passed\n"};
}

bool QueryHasVerbose(std::string_view query) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    if (param.substr(0, param.find('=')) == "verbose") return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

HealthChecks::HealthChecks(std::string endpoint) : endpoint_(std::move(endpoint)) {}

void HealthChecks::Add(std::string name, HealthCheck check) {
  std::lock_guard lock(mu_);
  for (auto& [existing, existing_check] : checks_) {
    if (existing == name) {
      existing_check = std::move(check);
      return;
    }
  }
  checks_.emplace_back(std::move(name), std::move(check));
}

std::vector<CheckOutcome> HealthChecks::Run() const {
  // Copied out so that a slow check does not hold up Add or another request.
  std::vector<std::pair<std::string, HealthCheck>> checks;
  {
    std::lock_guard lock(mu_);
    checks = checks_;
  }
  std::vector<CheckOutcome> outcomes;
  outcomes.reserve(checks.size());
  for (auto& [name, check] : checks) {
    Status status;
    try {
      status = check ? check() : MakeError(ErrorCode::kInternal, "no check function");
    } catch (const std::exception& e) {
      status = MakeError(ErrorCode::kInternal, std::string("check threw: ") + e.what());
    } catch (...) {
      status = MakeError(ErrorCode::kInternal, "check threw");
    }
    outcomes.push_back(CheckOutcome{name, std::move(status)});
  }
  return outcomes;
}

HealthReport HealthChecks::Serve(std::string_view query) const {
  return RenderHealth(endpoint_, Run(), QueryHasVerbose(query));
}

}  // namespace ctask::metrics
