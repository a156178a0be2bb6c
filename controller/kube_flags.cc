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
      {"kube-api-qps", '\0', true, "N",
       "Requests per second to the API server, client-side (default 100; 0: no limit)"},
      {"kube-api-burst", '\0', true, "N", "Requests allowed at once above --kube-api-qps (default 200)"},
      {"request-timeout", '\0', true, "DURATION", "Bound on each API request that is not a stream (default 30s)"},
  };
}

namespace {

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() % 3'600'000 == 0) return std::to_string(d.count() / 3'600'000) + "h";
  if (d.count() % 60'000 == 0) return std::to_string(d.count() / 60'000) + "m";
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

Result<std::chrono::milliseconds> ParseDurationFlag(std::string_view flag, std::string_view text,
                                                    std::chrono::milliseconds min, std::chrono::milliseconds max) {
  const auto bad = [&] {
    return InvalidArgument("--" + std::string(flag) + ": want a duration such as 500ms, 30s, 2m or 1h (from " +
                           FormatDuration(min) + " to " + FormatDuration(max) + "), got \"" + std::string(text) + "\"");
  };
  long ms_per_unit = 1000;  // a plain number is seconds
  std::string_view digits = text;
  if (digits.ends_with("ms")) {
    ms_per_unit = 1;
    digits.remove_suffix(2);
  } else if (digits.ends_with("s")) {
    digits.remove_suffix(1);
  } else if (digits.ends_with("m")) {
    ms_per_unit = 60'000;
    digits.remove_suffix(1);
  } else if (digits.ends_with("h")) {
    ms_per_unit = 3'600'000;
    digits.remove_suffix(1);
  }
  long value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || value < 0 ||
      value > 1'000'000'000L / ms_per_unit) {
    return bad();
  }
  const std::chrono::milliseconds d(value * ms_per_unit);
  if (d < min || d > max) return bad();
  return d;
}

Result<std::chrono::milliseconds> ParseRequestTimeout(std::string_view text) {
  return ParseDurationFlag("request-timeout", text, kMinTimeout, kMaxTimeout);
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
