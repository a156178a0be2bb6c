// `ctask version --server` against the test control plane: the kubeconfig
// flags reach a real API server through our client.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "cluster/cluster_env.h"

namespace ctask::testing {
namespace {

class VersionServerTest : public ClusterTest {
 protected:
  std::string NamespacePrefix() const override { return "ctask-version"; }
};

TEST_F(VersionServerTest, ShowsTheServerAndTheCrd) {
  ASSERT_NO_FATAL_FAILURE(InstallCrd());
  BinaryResult shown = RunBinary({"version", "--server", "--kubeconfig", std::getenv("KUBECONFIG"), "--kube-api-qps",
                                  "5", "--kube-api-burst", "2", "--request-timeout", "10s"});
  ASSERT_EQ(shown.exit_code, 0) << Said(shown);
  EXPECT_NE(shown.out.find("(Kubernetes v1.35."), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("server: https://127.0.0.1:"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("containertasks.ctask.io is Established, serving v1alpha1"), std::string::npos) << shown.out;
}

TEST_F(VersionServerTest, BadFlagsAndContextsAreClearErrors) {
  BinaryResult qps = RunBinary({"version", "--server", "--kube-api-qps", "-3"});
  EXPECT_EQ(qps.exit_code, 2) << Said(qps);
  EXPECT_NE(qps.err.find("--kube-api-qps"), std::string::npos) << qps.err;

  BinaryResult context = RunBinary({"version", "--server", "--context", "no-such-context"});
  EXPECT_EQ(context.exit_code, 1) << Said(context);
  EXPECT_NE(context.err.find("context \"no-such-context\" not found"), std::string::npos) << context.err;

  // A server that does not answer: a clear error naming it, quickly.
  const std::string dir = ::testing::TempDir();
  const std::string config = dir + "/unreachable.kubeconfig";
  std::ofstream(config) << "apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters:\n- name: c\n  cluster: "
                           "{server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  "
                           "user: {}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n";
  BinaryResult down = RunBinary({"version", "--server", "--kubeconfig", config, "--request-timeout", "5s"});
  EXPECT_EQ(down.exit_code, 1) << Said(down);
  EXPECT_NE(down.err.find("https://127.0.0.1:1"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace ctask::testing
