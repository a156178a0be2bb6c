// manifests/rbac.yaml against a real API server with RBAC on: the operator's
// ServiceAccount may do everything the Kubernetes backend needs and nothing
// else; above all it can never touch a Secret. Checked with impersonation
// (`kubectl auth can-i --as`) and with a real token of the ServiceAccount.
// Tokens are never printed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/cluster_env.h"

namespace ctask::testing {
namespace {

constexpr const char* kOperator = "system:serviceaccount:ctask-system:ctask-operator";
constexpr const char* kOperatorNamespace = "ctask-system";

// One `kubectl auth can-i` question. An empty namespace is asked with
// --all-namespaces (cluster-wide grants), "ns" for the test's namespace.
struct Access {
  std::string verb;
  std::string resource;  // resource[.group]
  std::string subresource;
  std::string where;  // "" (all namespaces), "ns" (the test's), or a namespace
};

std::string Describe(const Access& a) {
  return a.verb + " " + a.resource + (a.subresource.empty() ? "" : "/" + a.subresource) + " in " +
         (a.where.empty() ? std::string("all namespaces") : a.where);
}

class RbacTest : public ClusterTest {
 protected:
  std::string NamespacePrefix() const override { return "ctask-rbac"; }

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ClusterTest::SetUp());
    // `kubectl auth can-i` finds ctask.io's resources through discovery: on
    // a control plane without the CRD, every ContainerTask rule reads "no".
    ASSERT_NO_FATAL_FAILURE(InstallCrd());
    // Parallel suites apply the same objects: a create that loses the race
    // ("already exists") is tried again, then it is an update.
    BinaryResult applied;
    for (int attempt = 0; attempt < 3; ++attempt) {
      applied = Kubectl(
          {"apply", "-f", SourceDir() + "/manifests/namespace.yaml", "-f", SourceDir() + "/manifests/rbac.yaml"});
      if (applied.exit_code == 0 || applied.err.find("already exists") == std::string::npos) break;
    }
    ASSERT_EQ(applied.exit_code, 0) << Said(applied);
  }

  // "yes" (true) or "no" (false); anything else fails the test.
  bool CanI(const Access& a) {
    std::vector<std::string> args = {"auth", "can-i", a.verb, a.resource, "--as=" + std::string(kOperator)};
    if (!a.subresource.empty()) args.push_back("--subresource=" + a.subresource);
    if (a.where.empty()) {
      args.push_back("--all-namespaces");
    } else {
      args.push_back("--namespace=" + (a.where == "ns" ? ns() : a.where));
    }
    BinaryResult r = Kubectl(args);
    const bool yes = r.exit_code == 0 && r.out.starts_with("yes");
    const bool no = r.exit_code == 1 && r.out.starts_with("no");
    EXPECT_TRUE(yes || no) << Describe(a) << ": " << Said(r);
    return yes;
  }
};

TEST_F(RbacTest, OperatorMayDoWhatTheBackendNeeds) {
  std::vector<Access> needed;
  auto add = [&needed](const std::string& resource, const std::string& sub, std::vector<std::string> verbs,
                       std::vector<std::string> wheres = {"", "ns"}) {
    for (const std::string& verb : verbs) {
      for (const std::string& where : wheres) needed.push_back({verb, resource, sub, where});
    }
  };
  add("containertasks.ctask.io", "", {"get", "list", "watch", "update", "patch", "delete"});
  add("containertasks.ctask.io", "status", {"get", "update", "patch"});
  add("containertasks.ctask.io", "finalizers", {"update"});
  add("taskqueues.ctask.io", "", {"get", "list", "watch"});
  add("jobs.batch", "", {"get", "list", "watch", "create", "delete", "patch"});
  add("pods", "", {"get", "list", "watch", "create", "delete"});  // a fan-out's items (docs/fan-out.md)
  add("pods", "log", {"get"});
  add("configmaps", "", {"get", "list", "watch", "create", "update", "patch", "delete"});
  add("networkpolicies.networking.k8s.io", "", {"get", "list", "watch", "create", "patch", "delete"});
  add("events", "", {"create", "patch"});
  add("events.events.k8s.io", "", {"create", "patch"});
  add("leases.coordination.k8s.io", "", {"get", "create", "update"}, {kOperatorNamespace});
  for (const Access& a : needed) EXPECT_TRUE(CanI(a)) << "refused, but the operator needs it: " << Describe(a);
}

TEST_F(RbacTest, OperatorIsRefusedEverythingElse) {
  std::vector<Access> refused;
  // Secrets: never, anywhere, in any way (the pod reads them, not the operator).
  for (const char* verb : {"get", "list", "watch", "create", "update", "patch", "delete"}) {
    for (const char* where : {"", "ns", kOperatorNamespace, "kube-system"}) {
      refused.push_back({verb, "secrets", "", where});
    }
  }
  // Pods are created and deleted whole (a fan-out's items), never rewritten.
  for (const char* verb : {"update", "patch"}) refused.push_back({verb, "pods", "", "ns"});
  refused.push_back({"update", "pods", "status", "ns"});
  refused.push_back({"create", "pods", "exec", "ns"});
  refused.push_back({"create", "pods", "eviction", "ns"});
  // Tasks are the user's to create; jobs only in the batch group and never
  // rewritten whole; no other workload kinds.
  refused.push_back({"create", "containertasks.ctask.io", "", "ns"});
  // TaskQueues are the platform team's: read, never written.
  for (const char* verb : {"create", "update", "patch", "delete"})
    refused.push_back({verb, "taskqueues.ctask.io", "", "ns"});
  refused.push_back({"update", "jobs.batch", "", "ns"});
  refused.push_back({"create", "jobs.example.com", "", "ns"});
  refused.push_back({"create", "cronjobs.batch", "", "ns"});
  refused.push_back({"create", "deployments.apps", "", "ns"});
  refused.push_back({"update", "jobs.batch", "status", "ns"});
  // Leases only in its own namespace (leader election), never the control plane's.
  refused.push_back({"update", "leases.coordination.k8s.io", "", "kube-system"});
  refused.push_back({"get", "leases.coordination.k8s.io", "", "ns"});
  refused.push_back({"delete", "leases.coordination.k8s.io", "", kOperatorNamespace});
  // Cluster objects, RBAC itself, identities.
  for (const char* verb : {"get", "list", "update"}) refused.push_back({verb, "nodes", "", ""});
  refused.push_back({"delete", "namespaces", "", ""});
  refused.push_back({"create", "namespaces", "", ""});
  for (const char* verb : {"get", "create", "update", "bind", "escalate"}) {
    refused.push_back({verb, "clusterroles.rbac.authorization.k8s.io", "", ""});
  }
  refused.push_back({"create", "clusterrolebindings.rbac.authorization.k8s.io", "", ""});
  refused.push_back({"create", "rolebindings.rbac.authorization.k8s.io", "", "ns"});
  refused.push_back({"update", "customresourcedefinitions.apiextensions.k8s.io", "", ""});
  // Not even a read: the operator checks its CRD by listing ContainerTasks.
  refused.push_back({"get", "customresourcedefinitions.apiextensions.k8s.io", "", ""});
  refused.push_back({"impersonate", "users", "", ""});
  refused.push_back({"impersonate", "serviceaccounts", "", "ns"});
  refused.push_back({"create", "serviceaccounts", "token", kOperatorNamespace});
  refused.push_back({"get", "serviceaccounts", "", "ns"});
  refused.push_back({"create", "persistentvolumeclaims", "", "ns"});
  refused.push_back({"delete", "events", "", "ns"});
  for (const Access& a : refused) EXPECT_FALSE(CanI(a)) << "allowed, but the operator must not: " << Describe(a);
}

// Nothing is granted by wildcard: every rule of the operator's roles names
// its verbs and resources.
TEST_F(RbacTest, NoWildcardsAndNoSecretsInTheRules) {
  for (const std::string& where : {ns(), std::string(kOperatorNamespace)}) {
    BinaryResult list = Kubectl({"auth", "can-i", "--list", "--as=" + std::string(kOperator), "-n", where});
    ASSERT_EQ(list.exit_code, 0) << Said(list);
    std::istringstream lines(list.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("/") || line.starts_with(" ")) continue;  // non-resource URLs (discovery, health)
      EXPECT_EQ(line.find("secrets"), std::string::npos) << line;
      EXPECT_EQ(line.find('*'), std::string::npos) << line;
    }
  }
}

// A kubeconfig holding only the server, its CA and a token: no client
// certificate that would authenticate as the admin instead.
class TokenKubeconfig {
 public:
  TokenKubeconfig(const std::string& server, const std::string& ca_data, const std::string& token) {
    char path[] = "/tmp/ctask-rbac-kubeconfig-XXXXXX";
    const int fd = mkstemp(path);  // mode 0600
    if (fd < 0) return;
    close(fd);
    path_ = path;
    std::ofstream out(path_);
    out << "apiVersion: v1\nkind: Config\n"
        << "clusters:\n- name: test\n  cluster:\n    server: " << server
        << "\n    certificate-authority-data: " << ca_data << "\n"
        << "users:\n- name: operator\n  user:\n    token: " << token << "\n"
        << "contexts:\n- name: operator\n  context:\n    cluster: test\n    user: operator\n"
        << "current-context: operator\n";
  }
  ~TokenKubeconfig() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_F(RbacTest, RealTokenIsForbiddenSecretsButListsTasks) {
  ASSERT_NO_FATAL_FAILURE(InstallCrd());
  BinaryResult server =
      Kubectl({"config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"});
  ASSERT_EQ(server.exit_code, 0) << Said(server);
  BinaryResult ca = Kubectl(
      {"config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"});
  ASSERT_EQ(ca.exit_code, 0) << "exit " << ca.exit_code << ": " << ca.err;  // out is the CA only, but keep it short
  ASSERT_FALSE(ca.out.empty()) << "the admin kubeconfig embeds no CA";
  // A Secret the operator must not see, in the test's namespace.
  BinaryResult secret =
      Kubectl({"create", "secret", "generic", "not-for-the-operator", "--from-literal=k=v", "-n", ns()});
  ASSERT_EQ(secret.exit_code, 0) << Said(secret);

  BinaryResult token = Kubectl({"create", "token", "ctask-operator", "-n", kOperatorNamespace, "--duration=10m"});
  // Never print the token: only the exit status and stderr.
  ASSERT_EQ(token.exit_code, 0) << "kubectl create token: exit " << token.exit_code << "\n" << token.err;
  std::string value = token.out;
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  ASSERT_FALSE(value.empty()) << "kubectl create token printed no token";
  const TokenKubeconfig kubeconfig(server.out, ca.out, value);
  ASSERT_FALSE(kubeconfig.path().empty()) << "cannot write a temporary kubeconfig";
  const std::string as_operator = "--kubeconfig=" + kubeconfig.path();

  BinaryResult who = Kubectl({as_operator, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"});
  ASSERT_EQ(who.exit_code, 0) << Said(who);
  EXPECT_EQ(who.out, kOperator) << "the token kubeconfig does not authenticate as the ServiceAccount";

  for (const std::vector<std::string>& get :
       {std::vector<std::string>{"get", "secrets", "-n", ns()},
        std::vector<std::string>{"get", "secret", "not-for-the-operator", "-n", ns()},
        std::vector<std::string>{"get", "secrets", "-n", kOperatorNamespace},
        std::vector<std::string>{"get", "secrets", "-A"}}) {
    std::vector<std::string> args = {as_operator};
    args.insert(args.end(), get.begin(), get.end());
    BinaryResult r = Kubectl(args);
    EXPECT_NE(r.exit_code, 0) << Said(r);
    EXPECT_NE(r.err.find("Forbidden"), std::string::npos) << Said(r);
    EXPECT_EQ(r.out.find("not-for-the-operator"), std::string::npos) << "the operator saw the Secret";
  }

  BinaryResult tasks = Kubectl({as_operator, "get", "containertasks", "-A"});
  EXPECT_EQ(tasks.exit_code, 0) << Said(tasks);
  BinaryResult jobs = Kubectl({as_operator, "get", "jobs", "-n", ns()});
  EXPECT_EQ(jobs.exit_code, 0) << Said(jobs);
  BinaryResult nodes = Kubectl({as_operator, "get", "nodes"});
  EXPECT_NE(nodes.exit_code, 0) << Said(nodes);
  EXPECT_NE(nodes.err.find("Forbidden"), std::string::npos) << Said(nodes);
}

}  // namespace
}  // namespace ctask::testing
