// The control-plane tier's fixture: kubectl (from PATH) against the API server
// of hack/cluster/up.sh, reached through KUBECONFIG (hack/cluster/env.sh).
//
// A missing or silent cluster FAILS every test, never skips it, with the
// command that starts one; any failure prints where the cluster's logs are.
// Each test gets its own namespace, deleted (without waiting) at the end, so
// suites may run in parallel on one cluster shared with other users.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/run_binary.h"
#include "testing/paths.h"

namespace ctask::testing {

inline constexpr const char* kStartCluster = "hack/cluster/up.sh && eval \"$(hack/cluster/env.sh)\"";

// kubectl calls are quick; a wait inside one (kubectl wait --timeout) gets
// its own, longer guard.
inline constexpr std::chrono::seconds kKubectlGuard(60);

inline std::string ClusterLogDir() {
  const char* dir = std::getenv("CTASK_CLUSTER_DIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp/ctask-cluster") + "/logs";
}

inline BinaryResult Kubectl(std::vector<std::string> args, std::chrono::seconds limit = kKubectlGuard) {
  args.insert(args.begin(), "kubectl");
  return RunCommand(args, "", limit);
}

// For assertion messages: what kubectl said, both streams.
inline std::string Said(const BinaryResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\nstdout:\n" + r.out +
         "stderr:\n" + r.err;
}

// A namespace name no other test (or process, or earlier run) uses.
inline std::string UniqueNamespace(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::string name = prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
  return name.substr(0, 63);
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* kubeconfig = std::getenv("KUBECONFIG");
    ASSERT_TRUE(kubeconfig != nullptr && *kubeconfig != '\0')
        << "KUBECONFIG is not set: this suite needs the test control plane. Start it with\n  " << kStartCluster
        << "\n(from the repository root), then run the suite again.";
    BinaryResult ready = Kubectl({"get", "--raw=/readyz"}, std::chrono::seconds(30));
    ASSERT_EQ(ready.exit_code, 0) << "the API server in KUBECONFIG=" << kubeconfig << " does not answer "
                                  << "(is kubectl on PATH?). Start it with\n  " << kStartCluster << "\n"
                                  << Said(ready);
    namespace_ = UniqueNamespace(NamespacePrefix());
    BinaryResult created = Kubectl({"create", "namespace", namespace_});
    ASSERT_EQ(created.exit_code, 0) << Said(created);
  }

  void TearDown() override {
    if (!namespace_.empty()) {
      ReleaseTasks();
      Kubectl({"delete", "namespace", namespace_, "--wait=false", "--ignore-not-found"});
    }
    if (HasFailure()) {
      std::cerr << "cluster logs: " << ClusterLogDir()
                << " (etcd.log, kube-apiserver.log, kube-controller-manager.log); hack/cluster/status.sh shows "
                   "what runs\n";
    }
  }

  // Installs crds/ and waits until the API server serves ContainerTasks.
  // Idempotent: every suite that needs the CRD calls it.
  void InstallCrd() {
    BinaryResult applied = ApplyCrds();
    ASSERT_EQ(applied.exit_code, 0) << Said(applied);
    BinaryResult established = Kubectl(
        {"wait", "--for=condition=Established", "crd/containertasks.ctask.io", "--timeout=60s"}, kKubectlGuard * 2);
    ASSERT_EQ(established.exit_code, 0) << Said(established);
  }

  virtual std::string NamespacePrefix() const { return "ctask-test"; }

  // Drops the finalizer of every ContainerTask left in the namespace. Its
  // operator has stopped with the test, so nothing would ever remove it: the
  // namespace would stay Terminating for good, and the namespace controller
  // would retry it (a core's worth of API calls) for the rest of the run.
  void ReleaseTasks() {
    BinaryResult listed = Kubectl({"get", "containertasks", "-n", namespace_, "-o", "name", "--ignore-not-found"});
    if (listed.exit_code != 0) return;  // no CRD in this suite
    std::istringstream names(listed.out);
    for (std::string name; std::getline(names, name);) {
      if (name.empty()) continue;
      Kubectl({"patch", "-n", namespace_, name, "--type=merge", "-p", R"({"metadata":{"finalizers":null}})"});
    }
  }

  // `kubectl apply -f crds/`. Parallel suites apply it at once: a create
  // that loses the race ("already exists") is tried again, then it is an
  // update.
  static BinaryResult ApplyCrds() {
    BinaryResult applied;
    for (int attempt = 0; attempt < 3; ++attempt) {
      applied = Kubectl({"apply", "-f", SourceDir() + "/crds/"});
      if (applied.exit_code == 0 || applied.err.find("already exists") == std::string::npos) break;
    }
    return applied;
  }

  const std::string& ns() const { return namespace_; }

 private:
  std::string namespace_;
};

inline std::vector<std::filesystem::path> FilesIn(const std::filesystem::path& dir, const std::string& extension) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == extension) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace ctask::testing
