// The end-to-end fixtures of the Kubernetes operator: the real control plane
// (hack/cluster/up.sh: etcd, kube-apiserver, kube-controller-manager with its
// Job controller and garbage collector) and the `ctask operator` binary as a
// user runs it, watching the test's namespace.
//
// OperatorTest has no node: the one that runs the Jobs' pods is the
// subclass's (KubeOperatorTest below: a FakeKubelet; tests/node: the real
// kubelet and containerd of hack/cluster/up.sh --node).
//
// Each test gets its own namespace and operator process, so tests run in
// parallel on one control plane. Waits poll the API server with a generous
// bound (the machine may be loaded); they are guards against a hang, never
// what a test asserts.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/codec.h"
#include "cli/run_binary.h"
#include "cluster/fake_kubelet.h"
#include "cluster/kube_fixture.h"
#include "kube/resource.h"

namespace ctask::testing {

inline constexpr std::chrono::seconds kE2eGuard(90);

class OperatorTest : public KubeClientTest {
 protected:
  void SetUp() override {
    KubeClientTest::SetUp();
    if (HasFatalFailure()) return;
    InstallCrd();
    if (HasFatalFailure()) return;
    dir_ = std::filesystem::temp_directory_path() / ("ctask-op-e2e-" + ns());
    std::filesystem::create_directories(dir_);
    StartNode();
    if (HasFatalFailure()) return;
    if (StartsOperator()) StartOperator("operator");
  }

  // Makes the node that runs this test's pods ready.
  virtual void StartNode() {}
  virtual void StopNode() {}

  // Whether SetUp starts the default operator (no leader election).
  virtual bool StartsOperator() const { return true; }

  // The spec lines ApplyTask starts every task with (the image's).
  virtual std::string ImageLines() const { return "  image: busybox:1.36\n"; }

  void TearDown() override {
    if (HasFailure()) {
      for (auto& [name, op] : operators_) std::cerr << "--- " << name << " stderr:\n" << op->err() << "\n";
    }
    operators_.clear();
    StopNode();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    KubeClientTest::TearDown();
  }

  // Starts `ctask operator` for this namespace and waits until its caches
  // synced. Extra flags come after the defaults.
  Background& StartOperator(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"operator",   "--backend",           "kubernetes", "--namespace",
                                     ns(),         "--kube-api-qps",      "0",          "--stop-grace",
                                     "1",          "--log-tail-interval", "1",          "--http-address",
                                     "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    operators_.emplace_back(name, std::make_unique<Background>(args, dir_, name));
    Background& op = *operators_.back().second;
    EXPECT_TRUE(WaitFor([&] { return op.err().find("caches synced") != std::string::npos; }))
        << name << " did not sync:\n"
        << op.err();
    return op;
  }

  // The port the operator serves /metrics, /healthz and /readyz on (its
  // log says), 0 when not found.
  int MetricsPort(const std::string& name = "operator") {
    const std::string err = Operator(name).err();
    const size_t at = err.find("port=");
    return at == std::string::npos ? 0 : std::atoi(err.c_str() + at + 5);
  }

  Background& Operator(const std::string& name = "operator") {
    for (auto& [n, op] : operators_) {
      if (n == name) return *op;
    }
    ADD_FAILURE() << "no operator " << name;
    return *operators_.front().second;
  }

  // Polls `done` every 50 ms until it holds or kE2eGuard passes.
  static bool WaitFor(const std::function<bool()>& done, std::chrono::seconds guard = kE2eGuard) {
    const auto deadline = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  // `kubectl apply` of a ContainerTask named `name` whose spec is the YAML
  // lines `spec` (indented by 2), after ImageLines() and the command `echo
  // hi` unless `spec` has its own image or command.
  void ApplyTask(const std::string& name, const std::string& spec = "") {
    auto has = [&](const std::string& key) {
      return spec.rfind("  " + key + ":", 0) == 0 || spec.find("\n  " + key + ":") != std::string::npos;
    };
    const bool has_command = has("command");
    const std::string yaml = "apiVersion: ctask.io/v1alpha1\nkind: ContainerTask\nmetadata:\n  name: " + name +
                             "\n  namespace: " + ns() + "\nspec:\n" + (has("image") ? "" : ImageLines()) +
                             (has_command ? "" : "  command: [sh, -c, 'echo hi']\n") + spec;
    BinaryResult applied = RunCommand({"kubectl", "apply", "-f", "-"}, yaml, kKubectlGuard);
    ASSERT_EQ(applied.exit_code, 0) << Said(applied) << yaml;
  }

  void PatchSpec(const std::string& name, const std::string& json) {
    BinaryResult patched =
        Kubectl({"patch", "-n", ns(), "containertask", name, "--type=merge", "-p", "{\"spec\":" + json + "}"});
    ASSERT_EQ(patched.exit_code, 0) << Said(patched);
  }

  std::optional<api::Json> TaskJson(const std::string& name) {
    Result<api::Json> got = client().Get(kube::resources::ContainerTasks(), ns(), name);
    if (!got) return std::nullopt;
    return *got;
  }

  api::ContainerTaskStatus TaskStatus(const std::string& name) {
    std::optional<api::Json> task = TaskJson(name);
    if (!task || !task->contains("status")) return {};
    return api::DecodeStatus((*task)["status"]);
  }

  // Until the task's status.phase is `phase`; the status then.
  api::ContainerTaskStatus WaitPhase(const std::string& name, const std::string& phase) {
    api::ContainerTaskStatus last;
    const bool reached = WaitFor([&] {
      last = TaskStatus(name);
      return last.phase == phase;
    });
    EXPECT_TRUE(reached) << name << ": phase " << last.phase << " (" << last.reason << ": " << last.message
                         << "), want " << phase;
    return last;
  }

  bool JobExists(const std::string& job) { return client().Get(kube::resources::Jobs(), ns(), job).has_value(); }

  std::vector<std::string> JobNames() {
    std::vector<std::string> names;
    Result<kube::ObjectList> jobs = client().List(kube::resources::Jobs(), ns());
    if (!jobs) return names;
    for (const api::Json& job : jobs->items) names.push_back(job["metadata"].value("name", ""));
    return names;
  }

  // "Type Reason" of the events about task `name`, oldest first.
  std::vector<std::string> Events(const std::string& name) {
    std::vector<std::string> out;
    kube::ListOptions options;
    options.field_selector = "involvedObject.kind=ContainerTask,involvedObject.name=" + name;
    Result<kube::ObjectList> events = client().List(kube::resources::Events(), ns(), options);
    if (!events) return out;
    for (const api::Json& e : events->items) out.push_back(e.value("type", "") + " " + e.value("reason", ""));
    return out;
  }

  std::filesystem::path dir_;
  std::vector<std::pair<std::string, std::unique_ptr<Background>>> operators_;
};

// The operator with a FakeKubelet as the node (tests/cluster/fake_kubelet.h):
// binding the Jobs' pods, reporting their containers as the test says,
// serving their logs through the API server's pods/log proxy.
class KubeOperatorTest : public OperatorTest {
 protected:
  void StartNode() override {
    FakeKubeletOptions options;
    options.namespaces = {ns()};
    kubelet_ = std::make_unique<FakeKubelet>(client(), options);
    Status started = kubelet_->Start();
    ASSERT_TRUE(started.has_value()) << started.error().message();
  }

  void StopNode() override {
    if (kubelet_) kubelet_->Stop();
  }

  // The pod of `job`, admitted by the fake node.
  std::string PodOf(const std::string& job) {
    Result<std::string> pod = kubelet_->WaitForJobPod(ns(), job, kE2eGuard);
    EXPECT_TRUE(pod.has_value()) << (pod ? "" : pod.error().message());
    return pod.value_or("");
  }

  void Run(const std::string& pod, const std::string& log = "") {
    Status running = kubelet_->SetRunning(ns(), pod);
    ASSERT_TRUE(running.has_value()) << running.error().message();
    if (!log.empty()) {
      Status appended = kubelet_->AppendLog(ns(), pod, log);
      ASSERT_TRUE(appended.has_value()) << appended.error().message();
    }
  }

  void Exit(const std::string& pod, int code, const std::string& reason = "", const std::string& message = "") {
    Status exited = kubelet_->Exit(ns(), pod, code, reason, message);
    ASSERT_TRUE(exited.has_value()) << exited.error().message();
  }

  std::unique_ptr<FakeKubelet> kubelet_;
};

}  // namespace ctask::testing
