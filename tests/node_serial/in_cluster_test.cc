// The operator inside the cluster, as a user installs it: the image of
// `make image` (imported into the node by hack/cluster/up.sh --node), the
// manifests of `kubectl apply -k manifests/`, its in-cluster ServiceAccount
// token and RBAC. It watches every namespace, so this suite runs alone
// (RUN_SERIAL): no other test's tasks may meet a second operator.
#include <gtest/gtest.h>

#include <string>

#include "node/node_fixture.h"
#include "testing/paths.h"

namespace ctask::testing {
namespace {

constexpr const char* kSystem = "ctask-system";
constexpr const char* kSelector = "app.kubernetes.io/name=ctask,app.kubernetes.io/component=operator";

class InClusterOperatorTest : public RealNodeTest {
 protected:
  bool StartsOperator() const override { return false; }

  void SetUp() override {
    RealNodeTest::SetUp();
    if (HasFatalFailure()) return;
    BinaryResult image = Ctr({"images", "ls", "-q", "name==docker.io/library/ctask:dev"});
    ASSERT_TRUE(image.exit_code == 0 && image.out.find("ctask:dev") != std::string::npos)
        << "the node has no ctask:dev image. Build it and import it with\n  make image && hack/cluster/up.sh --node\n"
        << Said(image);
    // The namespace may exist already (the cluster suites apply
    // manifests/namespace.yaml), or be still terminating after an earlier
    // run deleted it: nothing can be created in it then (a replacement pod
    // neither), so wait for that deletion to finish.
    BinaryResult phase = Kubectl({"get", "namespace", kSystem, "--ignore-not-found", "-o", "jsonpath={.status.phase}"});
    if (phase.out == "Terminating") {
      BinaryResult gone =
          Kubectl({"wait", "--for=delete", std::string("namespace/") + kSystem, "--timeout=300s"}, kKubectlGuard * 6);
      ASSERT_TRUE(gone.exit_code == 0 || gone.err.find("NotFound") != std::string::npos) << Said(gone);
    }
    BinaryResult applied = Kubectl({"apply", "-k", SourceDir() + "/manifests/"}, kKubectlGuard);
    ASSERT_EQ(applied.exit_code, 0) << Said(applied);
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- the operator's pods:\n" << Kubectl({"get", "pods", "-n", kSystem, "-o", "wide"}).out;
      std::cerr << "--- its log:\n"
                << Kubectl({"logs", "-n", kSystem, "-l", kSelector, "--tail=60", "--prefix"}).out << "\n";
    }
    // The tasks first (their finalizers are the operator's), then the
    // operator, waiting until its pods are gone (it watches every namespace:
    // the suites after this one must not meet it), then its namespace and
    // rights; the CRD stays for the other suites.
    ReleaseTasks();
    Kubectl({"delete", "deployment", "ctask-operator", "-n", kSystem, "--ignore-not-found"});
    Kubectl({"wait", "--for=delete", "pod", "-n", kSystem, "-l", kSelector, "--timeout=90s"}, kKubectlGuard * 2);
    Kubectl({"delete", "namespace", kSystem, "--wait=false", "--ignore-not-found"});
    Kubectl({"delete", "clusterrole,clusterrolebinding", "ctask-operator", "--ignore-not-found"});
    RealNodeTest::TearDown();
  }

  std::string OperatorPod() {
    BinaryResult pods = Kubectl({"get", "pods", "-n", kSystem, "-l", kSelector, "--field-selector",
                                 "status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}"});
    return pods.out.find(' ') == std::string::npos ? pods.out : "";
  }

  std::string LeaseHolder() {
    return Kubectl({"get", "lease", "-n", kSystem, "ctask-operator", "-o", "jsonpath={.spec.holderIdentity}"}).out;
  }
};

TEST_F(InClusterOperatorTest, TheManifestsRunTheOperatorWhichFinishesATaskOnceAcrossAPodDeletion) {
  // Ready through its readiness probe (/readyz: caches synced).
  BinaryResult rolled =
      Kubectl({"rollout", "status", "deployment/ctask-operator", "-n", kSystem, "--timeout=120s"}, kKubectlGuard * 3);
  ASSERT_EQ(rolled.exit_code, 0) << Said(rolled);
  std::string pod;
  ASSERT_TRUE(WaitFor([&] { return !(pod = OperatorPod()).empty(); }));
  // It holds the Lease, under its pod's name.
  EXPECT_TRUE(WaitFor([&] { return LeaseHolder().find(pod) != std::string::npos; })) << LeaseHolder();

  // On the node, the container runs as the image's non-root user with a
  // read-only root filesystem (the OCI spec containerd gave runc).
  std::string id;
  ASSERT_TRUE(WaitFor([&] {
    BinaryResult got =
        Kubectl({"get", "pod", "-n", kSystem, pod, "-o", "jsonpath={.status.containerStatuses[0].containerID}"});
    id = got.out.rfind("containerd://", 0) == 0 ? got.out.substr(13) : "";
    return !id.empty();
  }));
  BinaryResult info = Ctr({"containers", "info", id});
  ASSERT_EQ(info.exit_code, 0) << Said(info);
  EXPECT_NE(info.out.find("\"uid\": 65532"), std::string::npos) << info.out.substr(0, 2000);
  EXPECT_NE(info.out.find("\"readonly\": true"), std::string::npos);

  // A task that runs long enough to lose its operator midway, and to be
  // running at the operator's first log-tail refresh (10 s after it starts).
  ApplyTask("survivor", "  command: [sh, -c, 'echo started; sleep 30; echo done']\n");
  api::ContainerTaskStatus s = WaitPhase("survivor", "Running");
  ASSERT_TRUE(WaitFor([&] { return TaskStatus("survivor").log_tail == "started\n"; }));

  BinaryResult deleted = Kubectl({"delete", "pod", "-n", kSystem, pod, "--wait=false"});
  ASSERT_EQ(deleted.exit_code, 0) << Said(deleted);
  std::string replacement;
  EXPECT_TRUE(WaitFor([&] {
    replacement = OperatorPod();
    return !replacement.empty() && replacement != pod;
  })) << "no replacement pod";

  s = WaitFinished("survivor");
  EXPECT_EQ(s.phase, "Succeeded") << s.reason << ": " << s.message;
  EXPECT_EQ(s.attempts, 1);
  EXPECT_EQ(JobNames(), std::vector<std::string>{"survivor-1"}) << "one Job, not one per operator";
  EXPECT_TRUE(WaitFor([&] { return LeaseHolder().find(replacement) != std::string::npos; })) << LeaseHolder();
  EXPECT_EQ(RunBinary({"logs", "survivor", "-n", ns(), "--backend", "kubernetes"}).out, "started\ndone\n");
  EXPECT_EQ(KubectlLogs(s.pod_name).out, "started\ndone\n");
}

}  // namespace
}  // namespace ctask::testing
