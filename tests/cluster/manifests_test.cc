// manifests/ (kustomization.yaml and what it lists) against a real API
// server: it renders, a server-side dry run of `kubectl apply -k` is
// accepted, the operator's pod passes the restricted Pod Security Standard
// (and a weakened copy is refused, so the check can fail), and the names the
// Deployment, the bindings and the leader-election flag use agree with
// rbac.yaml.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cluster/cluster_env.h"

namespace ctask::testing {
namespace {

constexpr const char* kNamespace = "ctask-system";
constexpr const char* kServiceAccount = "ctask-operator";

class ManifestsTest : public ClusterTest {
 protected:
  std::string NamespacePrefix() const override { return "ctask-manifests"; }

  // `kubectl kustomize manifests/`, one node per object, by "Kind/name".
  std::map<std::string, YAML::Node> Rendered() {
    BinaryResult rendered = Kubectl({"kustomize", SourceDir() + "/manifests/"});
    EXPECT_EQ(rendered.exit_code, 0) << Said(rendered);
    std::map<std::string, YAML::Node> objects;
    for (const YAML::Node& doc : YAML::LoadAll(rendered.out)) {
      if (!doc.IsMap()) continue;
      const std::string id = doc["kind"].as<std::string>() + "/" + doc["metadata"]["name"].as<std::string>();
      EXPECT_EQ(objects.count(id), 0u) << "rendered twice: " << id;
      objects[id] = doc;
    }
    return objects;
  }

  // The namespace must exist for a dry run of the objects in it (a dry run
  // creates nothing). Parallel suites apply it too: a lost create race is
  // tried again, then it is an update.
  void EnsureNamespace() {
    BinaryResult applied;
    for (int attempt = 0; attempt < 3; ++attempt) {
      applied = Kubectl({"apply", "-f", SourceDir() + "/manifests/namespace.yaml"});
      if (applied.exit_code == 0 || applied.err.find("already exists") == std::string::npos) break;
    }
    ASSERT_EQ(applied.exit_code, 0) << Said(applied);
  }

  // The Deployment's pod template as a Pod in the test's namespace.
  YAML::Node PodFromTemplate(const YAML::Node& deployment) {
    YAML::Node pod;
    pod["apiVersion"] = "v1";
    pod["kind"] = "Pod";
    pod["metadata"]["name"] = "operator-from-template";
    pod["metadata"]["namespace"] = ns();
    pod["metadata"]["labels"] = YAML::Clone(deployment["spec"]["template"]["metadata"]["labels"]);
    pod["spec"] = YAML::Clone(deployment["spec"]["template"]["spec"]);
    return pod;
  }

  BinaryResult DryRunCreate(const YAML::Node& object) {
    YAML::Emitter out;
    out << object;
    return RunCommand({"kubectl", "create", "--dry-run=server", "-f", "-"}, out.c_str(), kKubectlGuard);
  }
};

TEST_F(ManifestsTest, RendersEveryObject) {
  const std::map<std::string, YAML::Node> objects = Rendered();
  for (const char* id :
       {"CustomResourceDefinition/containertasks.ctask.io", "CustomResourceDefinition/taskqueues.ctask.io",
        "Namespace/ctask-system", "ServiceAccount/ctask-operator", "ClusterRole/ctask-operator",
        "ClusterRoleBinding/ctask-operator", "Role/ctask-operator-leader-election",
        "RoleBinding/ctask-operator-leader-election", "Deployment/ctask-operator", "Service/ctask-operator-metrics"}) {
    EXPECT_EQ(objects.count(id), 1u) << "kubectl kustomize manifests/ does not render " << id;
  }
  EXPECT_EQ(objects.size(), 10u);
}

TEST_F(ManifestsTest, ServerDryRunAcceptsEverything) {
  ASSERT_NO_FATAL_FAILURE(EnsureNamespace());
  BinaryResult applied = Kubectl({"apply", "-k", SourceDir() + "/manifests/", "--dry-run=server"});
  ASSERT_EQ(applied.exit_code, 0) << Said(applied);
  for (const char* object : {"deployment.apps/ctask-operator", "service/ctask-operator-metrics",
                             "customresourcedefinition.apiextensions.k8s.io/containertasks.ctask.io",
                             "customresourcedefinition.apiextensions.k8s.io/taskqueues.ctask.io"}) {
    EXPECT_NE(applied.out.find(object), std::string::npos) << object << "\n" << Said(applied);
  }
  // namespace.yaml also warns on restricted: the Deployment's pod template
  // is checked at admission ("would violate PodSecurity").
  EXPECT_EQ(applied.err.find("PodSecurity"), std::string::npos) << Said(applied);
}

TEST_F(ManifestsTest, PodTemplatePassesTheRestrictedStandard) {
  std::map<std::string, YAML::Node> objects = Rendered();
  ASSERT_EQ(objects.count("Deployment/ctask-operator"), 1u);
  BinaryResult labelled = Kubectl({"label", "namespace", ns(), "pod-security.kubernetes.io/enforce=restricted",
                                   "pod-security.kubernetes.io/enforce-version=latest"});
  ASSERT_EQ(labelled.exit_code, 0) << Said(labelled);
  // The ServiceAccount admission plugin wants the pod's account to exist.
  BinaryResult account = Kubectl({"create", "serviceaccount", kServiceAccount, "-n", ns()});
  ASSERT_EQ(account.exit_code, 0) << Said(account);

  const YAML::Node pod = PodFromTemplate(objects["Deployment/ctask-operator"]);
  BinaryResult created = DryRunCreate(pod);
  EXPECT_EQ(created.exit_code, 0) << Said(created);
  EXPECT_EQ(created.err.find("PodSecurity"), std::string::npos) << Said(created);

  // The same pod with one hardening undone is refused: the label is in force.
  struct Weakening {
    std::string what;
    void (*apply)(YAML::Node& container);
  };
  const std::vector<Weakening> weakenings = {
      {"allowPrivilegeEscalation: true",
       [](YAML::Node& c) { c["securityContext"]["allowPrivilegeEscalation"] = true; }},
      {"capabilities not dropped", [](YAML::Node& c) { c["securityContext"].remove("capabilities"); }},
      {"runAsUser: 0", [](YAML::Node& c) { c["securityContext"]["runAsUser"] = 0; }},
  };
  for (const Weakening& w : weakenings) {
    YAML::Node weak = YAML::Clone(pod);
    YAML::Node container = weak["spec"]["containers"][0];
    w.apply(container);
    BinaryResult refused = DryRunCreate(weak);
    EXPECT_NE(refused.exit_code, 0) << w.what << " was accepted\n" << Said(refused);
    EXPECT_NE(refused.err.find("violates PodSecurity \"restricted"), std::string::npos) << w.what << "\n"
                                                                                        << Said(refused);
  }
}

// Names read from rbac.yaml's objects as rendered, compared with what the
// Deployment, the bindings and the Service use.
TEST_F(ManifestsTest, NamesAgreeWithRbac) {
  std::map<std::string, YAML::Node> objects = Rendered();
  ASSERT_EQ(objects.count("ServiceAccount/ctask-operator"), 1u);
  ASSERT_EQ(objects.count("Deployment/ctask-operator"), 1u);
  const YAML::Node account = objects["ServiceAccount/ctask-operator"];
  EXPECT_EQ(account["metadata"]["namespace"].as<std::string>(), kNamespace);

  const YAML::Node deployment = objects["Deployment/ctask-operator"];
  EXPECT_EQ(deployment["metadata"]["namespace"].as<std::string>(), kNamespace);
  const YAML::Node spec = deployment["spec"]["template"]["spec"];
  EXPECT_EQ(spec["serviceAccountName"].as<std::string>(), kServiceAccount);

  for (const char* binding : {"ClusterRoleBinding/ctask-operator", "RoleBinding/ctask-operator-leader-election"}) {
    ASSERT_EQ(objects.count(binding), 1u) << binding;
    const YAML::Node subjects = objects[binding]["subjects"];
    ASSERT_EQ(subjects.size(), 1u) << binding;
    EXPECT_EQ(subjects[0]["kind"].as<std::string>(), "ServiceAccount") << binding;
    EXPECT_EQ(subjects[0]["name"].as<std::string>(), kServiceAccount) << binding;
    EXPECT_EQ(subjects[0]["namespace"].as<std::string>(), kNamespace) << binding;
  }
  // The leader-election Lease lives where the Role grants it.
  const std::string role_namespace =
      objects["Role/ctask-operator-leader-election"]["metadata"]["namespace"].as<std::string>();
  ASSERT_EQ(spec["containers"].size(), 1u);
  const YAML::Node container = spec["containers"][0];
  std::vector<std::string> args;
  for (const YAML::Node& arg : container["args"]) args.push_back(arg.as<std::string>());
  EXPECT_EQ(std::count(args.begin(), args.end(), "--leader-election-namespace=" + role_namespace), 1)
      << "the operator's --leader-election-namespace is not the Role's namespace " << role_namespace;
  EXPECT_EQ(std::count(args.begin(), args.end(), "--leader-elect"), 1);
  EXPECT_EQ(std::count(args.begin(), args.end(), "--backend=kubernetes"), 1);
  EXPECT_EQ(std::count(args.begin(), args.end(), "--http-address=:8080"), 1);

  // Probes and the metrics Service meet on the container's named port.
  EXPECT_EQ(container["ports"][0]["name"].as<std::string>(), "http-metrics");
  EXPECT_EQ(container["ports"][0]["containerPort"].as<int>(), 8080);
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  const YAML::Node service = objects["Service/ctask-operator-metrics"];
  EXPECT_EQ(service["metadata"]["namespace"].as<std::string>(), kNamespace);
  EXPECT_EQ(service["spec"]["ports"][0]["name"].as<std::string>(), "http-metrics");
  EXPECT_EQ(service["spec"]["ports"][0]["targetPort"].as<std::string>(), "http-metrics");
  const YAML::Node labels = deployment["spec"]["template"]["metadata"]["labels"];
  for (const auto& kv : service["spec"]["selector"]) {
    const std::string key = kv.first.as<std::string>();
    ASSERT_TRUE(labels[key].IsDefined()) << "the Service selects on " << key << ", which the pods lack";
    EXPECT_EQ(labels[key].as<std::string>(), kv.second.as<std::string>()) << key;
  }
  // The pod's identity for leader election comes from the downward API.
  std::map<std::string, std::string> env;
  for (const YAML::Node& var : container["env"]) {
    env[var["name"].as<std::string>()] = var["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>();
  }
  EXPECT_EQ(env["POD_NAMESPACE"], "metadata.namespace");
  EXPECT_EQ(env["POD_NAME"], "metadata.name");
}

}  // namespace
}  // namespace ctask::testing
