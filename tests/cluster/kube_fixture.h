// The fixture for suites that drive our own Kubernetes client (src/kube)
// against the test control plane: ClusterTest's namespace and checks, plus a
// connected KubeClient from KUBECONFIG, the way `ctask operator` would make
// one.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "cluster/cluster_env.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/connect.h"

namespace ctask::testing {

class KubeClientTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) return;
    Result<kube::ClusterConfig> config = kube::LoadKubeconfig({});
    ASSERT_TRUE(config.has_value()) << config.error().message();
    kube::ClientOptions options;
    options.qps = 0;  // the tests measure behaviour, not our throttle
    Result<kube::KubeClientPtr> client = kube::Connect(*config, options);
    ASSERT_TRUE(client.has_value()) << client.error().message();
    client_ = std::move(*client);
  }

  kube::KubeClient& client() { return *client_; }

  static api::Json ConfigMap(const std::string& name, const std::string& value) {
    return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"value", value}}}};
  }

  api::Json Task(const std::string& name) const {
    return {{"apiVersion", "ctask.io/v1alpha1"},
            {"kind", "ContainerTask"},
            {"metadata", {{"name", name}, {"namespace", ns()}}},
            {"spec", {{"image", "busybox:1.36"}, {"command", {"echo", "hi"}}}}};
  }

 private:
  kube::KubeClientPtr client_;
};

}  // namespace ctask::testing
