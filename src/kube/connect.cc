#include "kube/connect.h"

#include <memory>

#include "http/curl_client.h"

namespace ctask::kube {

Result<KubeClientPtr> Connect(const ClusterConfig& config, const ClientOptions& options) {
  if (config.server.empty()) {
    return InvalidArgument("the cluster configuration from " + config.source + " names no server");
  }
  auto tokens = std::make_shared<TokenSource>(config);
  TokenProvider token = [tokens] { return tokens->Token(); };
  return std::make_unique<KubeClient>(std::make_unique<http::CurlClient>(ToCurlOptions(config)), config.server,
                                      std::move(token), options);
}

}  // namespace ctask::kube
