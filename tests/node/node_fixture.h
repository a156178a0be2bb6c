// The fixture of the real-pod tier: the `ctask operator` binary against the
// test cluster with its real node (hack/cluster/up.sh --node: kube-scheduler,
// a kubelet, containerd 2.x and runc), so every container a test starts is a
// real one, its log comes from the kubelet's pods/log, an OOM kill from the
// kernel.
//
// A missing node FAILS every test with the command that starts it; it never
// skips. The test image is ctask-test/busybox:latest, imported into the
// node's containerd (nothing is pulled), so every task says
// imagePullPolicy: IfNotPresent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "operator/operator_fixture.h"

namespace ctask::testing {

inline constexpr const char* kStartNode =
    "hack/docker-up.sh && hack/cluster/up.sh --node && eval \"$(hack/cluster/env.sh)\"";

class RealNodeTest : public OperatorTest {
 protected:
  void StartNode() override {
    BinaryResult ready =
        Kubectl({"get", "node", "127.0.0.1", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"});
    ASSERT_TRUE(ready.exit_code == 0 && ready.out == "True")
        << "this tier needs the test cluster's real node, Ready. Start it with\n  " << kStartNode << "\n"
        << Said(ready);
    const char* ctr = std::getenv("CTASK_NODE_CTR");
    const char* socket = std::getenv("CTASK_NODE_CONTAINERD");
    ASSERT_TRUE(ctr != nullptr && socket != nullptr)
        << "CTASK_NODE_CTR / CTASK_NODE_CONTAINERD are not set: eval \"$(hack/cluster/env.sh)\" after "
           "hack/cluster/up.sh --node";
    ctr_ = ctr;
    containerd_ = socket;
  }

  std::string ImageLines() const override {
    return "  image: ctask-test/busybox:latest\n  imagePullPolicy: IfNotPresent\n";
  }

  // Until the task's phase is one that ends it; the status then.
  api::ContainerTaskStatus WaitFinished(const std::string& name) {
    api::ContainerTaskStatus last;
    const bool finished = WaitFor([&] {
      last = TaskStatus(name);
      return last.phase == "Succeeded" || last.phase == "Failed" || last.phase == "Cancelled";
    });
    EXPECT_TRUE(finished) << name << ": still " << last.phase << " (" << last.reason << ": " << last.message << ")";
    return last;
  }

  // `ctask logs NAME`: the archived log, as a user reads it.
  BinaryResult CtaskLogs(const std::string& name) {
    return RunBinary({"logs", name, "-n", ns(), "--backend", "kubernetes"}, "", kHangGuard);
  }

  BinaryResult KubectlLogs(const std::string& pod) { return Kubectl({"logs", "-n", ns(), pod}); }

  // ctr on the node's containerd, in the kubelet's namespace.
  BinaryResult Ctr(std::vector<std::string> args) {
    args.insert(args.begin(), {ctr_, "--address", containerd_, "--namespace", "k8s.io"});
    return RunCommand(args, "", kKubectlGuard);
  }

  // The containerd ID of the pod's (only) container, "" before it has one.
  std::string ContainerId(const std::string& pod) {
    BinaryResult id =
        Kubectl({"get", "pod", "-n", ns(), pod, "-o", "jsonpath={.status.containerStatuses[0].containerID}"});
    const std::string prefix = "containerd://";
    return id.out.rfind(prefix, 0) == 0 ? id.out.substr(prefix.size()) : "";
  }

  // Whether containerd on the node runs a process for that container
  // (`ctr tasks ls`: a RUNNING task of that ID).
  bool ContainerRuns(const std::string& id) {
    BinaryResult tasks = Ctr({"tasks", "ls"});
    EXPECT_EQ(tasks.exit_code, 0) << Said(tasks);
    std::istringstream lines(tasks.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(id, 0) == 0 && line.find("RUNNING") != std::string::npos) return true;
    }
    return false;
  }

  // Whether the node still has that container at all (`ctr containers ls`).
  bool ContainerExists(const std::string& id) {
    BinaryResult containers = Ctr({"containers", "ls", "-q"});
    EXPECT_EQ(containers.exit_code, 0) << Said(containers);
    return ("\n" + containers.out).find("\n" + id + "\n") != std::string::npos;
  }

  // Every pod in this test's namespace (the tasks' Jobs' and fan-out items').
  std::vector<std::string> PodNames() {
    BinaryResult pods = Kubectl({"get", "pods", "-n", ns(), "-o", "jsonpath={.items[*].metadata.name}"});
    std::vector<std::string> names;
    std::istringstream words(pods.out);
    for (std::string w; words >> w;) names.push_back(w);
    return names;
  }

 private:
  std::string ctr_;
  std::string containerd_;
};

}  // namespace ctask::testing
