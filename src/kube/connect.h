// Connect: a KubeClient for a ClusterConfig (config.h) — the TLS transport
// from its certificates and the bearer token from its TokenSource, so the
// callers that only know "a kubeconfig" or "in-cluster" get a ready client.
//
// Thread-safety: a plain function; the client it returns is thread-safe.
#pragma once

#include "kube/client.h"
#include "kube/config.h"
#include "util/error.h"

namespace ctask::kube {

// kInvalidArgument for a config the transport cannot use (no server).
Result<KubeClientPtr> Connect(const ClusterConfig& config, const ClientOptions& options = {});

}  // namespace ctask::kube
