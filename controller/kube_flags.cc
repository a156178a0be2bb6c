#include "kube_flags.h"

#include <charconv>
#include <cmath>
#include <string>

namespace ctask::cli {
namespace {

constexpr double kMaxQps = 10'000;
constexpr long kMaxBurst = 100'000;
constexpr std::chrono::seconds kMinTimeout{1};
constexpr std::chrono::hours kMaxTimeout{1};

}  // namespace

std::vector<FlagSpec> KubeFlagSpecs() {
  return {
      {"kubeconfig", '\0', true, "FILE", "Kubeconfig to use (default: $KUBECONFIG, in-cluster, ~/.kube/config)"},
      {"context", '\0', true, "NAME", "Kubeconfig context to use (default: its current-context)"},
      {"kube-api-qps", '\0', true, "N", "Requests per second to the API server, client-side (default 20; 0: no limit)"},
      {"kube-api-burst", '\0', true, "N", "Requests allowed at once above --kube-api-qps (default 30)"},
      {"request-timeout", '\0', true, "DURATION", "Bound on each API request that is not a stream (default 30s)"},
  };
}

Result<std::chrono::milliseconds> ParseRequestTimeout(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgument("--request-timeout: want a duration such as 30s, 2m or 1h (from 1s to 1h), got \"" +
                           std::string(text) + "\"");
  };
  if (text.empty()) return bad();
  long seconds_per_unit = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 's':
      digits.remove_suffix(1);
      break;
    case 'm':
      seconds_per_unit = 60;
      digits.remove_suffix(1);
      break;
    case 'h':
      seconds_per_unit = 3600;
      digits.remove_suffix(1);
      break;
    default:
      break;
  }
  long value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || value < 0 || value > 3600) {
    return bad();
  }
  const std::chrono::seconds timeout(value * seconds_per_unit);
  if (timeout < kMinTimeout || timeout > kMaxTimeout) return bad();
  return std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
}

Result<kube::ClientOptions> KubeClientOptionsFromFlags(const ParsedFlags& flags) {
  kube::ClientOptions options;
  if (flags.Has("kube-api-qps")) {
    const std::string text = flags.Get("kube-api-qps");
    double qps = -1;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), qps);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || !std::isfinite(qps) || qps < 0 ||
        qps > kMaxQps) {
      return InvalidArgument("--kube-api-qps: want a number from 0 (no limit) to 10000, got \"" + text + "\"");
    }
    options.qps = qps;
  }
  Result<long> burst = flags.Number("kube-api-burst", options.burst, 1, kMaxBurst);
  if (!burst) return std::unexpected(burst.error());
  options.burst = static_cast<int>(*burst);
  if (flags.Has("request-timeout")) {
    Result<std::chrono::milliseconds> timeout = ParseRequestTimeout(flags.Get("request-timeout"));
    if (!timeout) return std::unexpected(timeout.error());
    options.request_timeout = *timeout;
  }
  return options;
}

Result<kube::ClusterConfig> KubeConfigFromFlags(const ParsedFlags& flags, const kube::Getenv& getenv) {
  kube::KubeconfigSource source;
  if (flags.Has("kubeconfig")) source.paths = {flags.Get("kubeconfig")};
  source.context = flags.Get("context");
  return kube::LoadDefault(source, getenv);
}

}  // namespace ctask::cli
