// The flags of every command that talks to a Kubernetes API server, named as
// kubectl and kube-controller-manager name them, and what they turn into: a
// ClusterConfig (where the server is, how to authenticate) and the client's
// ClientOptions (rate limit, request timeout).
//
//   --kubeconfig FILE        else $KUBECONFIG, else in-cluster, else ~/.kube/config
//   --context NAME           a kubeconfig context other than the current one
//   --kube-api-qps N         client-side requests per second (default 100; 0: no limit)
//   --kube-api-burst N       requests allowed at once above the rate (default 200)
//   --request-timeout D      bound on each non-streaming request: 30s, 2m, 45 (seconds)
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string_view>
#include <vector>

#include "flags.h"
#include "kube/client.h"
#include "kube/config.h"
#include "util/error.h"

namespace ctask::cli {

std::vector<FlagSpec> KubeFlagSpecs();

// kInvalidArgument naming the flag for a malformed value (exit 2: usage);
// the configuration's own errors (no such context, unreadable file) as
// kube::LoadDefault reports them.
Result<kube::ClientOptions> KubeClientOptionsFromFlags(const ParsedFlags& flags);
Result<kube::ClusterConfig> KubeConfigFromFlags(const ParsedFlags& flags,
                                                const kube::Getenv& getenv = kube::ProcessGetenv);

// "30s", "2m", "1h" or plain seconds "45"; in [1 s, 1 h].
Result<std::chrono::milliseconds> ParseRequestTimeout(std::string_view text);

// A duration flag's value: "500ms", "30s", "2m", "1h" or plain seconds, in
// [min, max]; the error names --flag, the range and what was given.
Result<std::chrono::milliseconds> ParseDurationFlag(std::string_view flag, std::string_view text,
                                                    std::chrono::milliseconds min, std::chrono::milliseconds max);

}  // namespace ctask::cli
