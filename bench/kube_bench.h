// What a benchmark of the Kubernetes operator needs around the control plane
// of hack/cluster: the `ctask operator` child process and its /metrics, a
// namespace of its own, a watch from "now" on a thread, clean-up after a
// failed run, percentiles. The same patterns as bench/operator_kube.cc
// (which keeps its own copy for now), header-only so each benchmark stays
// one file.
//
// Failure is fatal: Die prints the reason, kills the operator processes
// still running and exits 1; namespaces are left to the wrapper script's
// --clean-up. Thread-safety: Die and the process registry may be used from
// any thread; the rest as a std type would be.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http/curl_client.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/connect.h"
#include "kube/resource.h"

extern char** environ;

namespace ctask::bench {

using Clock = std::chrono::steady_clock;
using api::Json;

// The program's name, the prefix of every message Die prints.
inline std::string& ProgramName() {
  static std::string name = "bench";
  return name;
}

// The operator processes running now: a failing run stops them before it
// exits (std::exit runs no destructors).
inline std::mutex children_mu;
inline std::vector<pid_t> children;

[[noreturn]] inline void Die(const std::string& why) {
  std::cerr << ProgramName() << ": " << why << "\n";
  std::lock_guard lock(children_mu);
  for (pid_t pid : children) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::exit(1);
}

// A client for the test control plane in $KUBECONFIG (hack/cluster/env.sh),
// client-side rate limit off; dies unless its server is on 127.0.0.1.
inline kube::KubeClientPtr ConnectToTestCluster() {
  Result<kube::ClusterConfig> config = kube::LoadKubeconfig({});
  if (!config) Die(config.error().message());
  if (!config->server.starts_with("https://127.0.0.1:")) Die("the API server must be on 127.0.0.1: " + config->server);
  kube::ClientOptions client_options;
  client_options.qps = 0;
  Result<kube::KubeClientPtr> connected = kube::Connect(*config, client_options);
  if (!connected) Die(connected.error().message());
  return std::move(*connected);
}

inline double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
inline double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Runs fn(i) for i in [0, n) on `threads` threads; dies on the first error.
inline void Parallel(int n, int threads, const std::function<Status(int)>& fn) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::string error;
  std::vector<std::jthread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        Status s = fn(i);
        if (!s) {
          std::lock_guard lock(mu);
          if (error.empty()) error = s.error().message();
          next = n;
        }
      }
    });
  }
  pool.clear();
  if (!error.empty()) Die(error);
}

// The value at fraction p (0..1) of v, nearest rank below; 0 when empty.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t at = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[at];
}

inline double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

// `ctask operator ARGS...` as a child process, its stderr in a file; the
// constructor returns once the operator has logged "caches synced". ARGS
// must include --http-address 127.0.0.1:0 (Metrics reads the port it
// logs).
class OperatorProcess {
 public:
  OperatorProcess(std::vector<std::string> args, std::string log_path) : log_path_(std::move(log_path)) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    {
      std::lock_guard lock(children_mu);
      if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        std::cerr << ProgramName() << ": cannot start " << args[0] << "\n";
        std::exit(1);
      }
      children.push_back(pid_);
    }
    posix_spawn_file_actions_destroy(&actions);
    const auto deadline = Clock::now() + std::chrono::minutes(2);
    while (Log().find("caches synced") == std::string::npos) {
      if (Clock::now() > deadline || waitpid(pid_, nullptr, WNOHANG) == pid_) {
        Die("the operator did not sync; its log (" + log_path_ + "):\n" + Log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const std::string log = Log();
    const size_t port = log.find(" port=");
    if (port == std::string::npos) Die("the operator's log names no metrics port:\n" + log);
    port_ = std::atoi(log.c_str() + port + 6);
  }
  ~OperatorProcess() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    std::lock_guard lock(children_mu);
    std::erase(children, pid_);
  }
  OperatorProcess(const OperatorProcess&) = delete;
  OperatorProcess& operator=(const OperatorProcess&) = delete;

  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // /metrics, or "" when it does not answer.
  pid_t pid() const { return pid_; }
  // VmRSS in MiB.
  double RssMiB() const { return StatusMiB("VmRSS:"); }
  // VmHWM in MiB: the resident set's peak.
  double PeakRssMiB() const { return StatusMiB("VmHWM:"); }

  std::string Metrics() const {
    http::CurlClient client({});
    http::Request request;
    request.method = "GET";
    request.url = "http://127.0.0.1:" + std::to_string(port_) + "/metrics";
    Result<http::Response> r = client.Do(request);
    return r ? r->body : "";
  }

 private:
  double StatusMiB(const std::string& field) const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with(field)) return std::stod(line.substr(field.size())) / 1024.0;
    }
    return 0;
  }

  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// The samples of `metric` (exposition text) summed by the value of one
// label ("" sums them all under ""); `metric` may name a histogram's _sum
// or _count.
inline std::map<std::string, double> SumBy(const std::string& metrics, const std::string& metric,
                                           const std::string& label) {
  std::map<std::string, double> by;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(metric + "{") && !line.starts_with(metric + " ")) continue;
    const size_t value = line.rfind(' ');
    if (value == std::string::npos) continue;
    std::string key;
    if (!label.empty()) {
      const size_t at = line.find(label + "=\"");
      if (at == std::string::npos) continue;
      const size_t start = at + label.size() + 2;
      key = line.substr(start, line.find('"', start) - start);
    }
    by[key] += std::stod(line.substr(value + 1));
  }
  return by;
}

// The /metrics text of a test control-plane component on 127.0.0.1:`port`
// (kube-apiserver, or kube-controller-manager on its secure port), read with
// $KUBECONFIG's CA and admin credentials (hack/cluster/up.sh signs both
// servers' certificates with that CA; system:masters may read /metrics on
// both); "" when it does not answer.
inline std::string ControlPlaneMetrics(int port) {
  Result<kube::ClusterConfig> config = kube::LoadKubeconfig({});
  if (!config) return "";
  http::CurlOptions tls;
  tls.ca_data = config->ca_data;
  tls.ca_file = config->ca_file;
  tls.client_cert_data = config->client_cert_data;
  tls.client_cert_file = config->client_cert_file;
  tls.client_key_data = config->client_key_data;
  tls.client_key_file = config->client_key_file;
  tls.insecure = config->insecure;
  http::CurlClient client(tls);
  http::Request request;
  request.method = "GET";
  request.url = "https://127.0.0.1:" + std::to_string(port) + "/metrics";
  request.timeout = std::chrono::seconds(10);
  Result<http::Response> r = client.Do(request);
  return r && r->status == 200 ? r->body : "";
}

// kube-controller-manager's secure port (hack/cluster/up.sh).
inline int KcmPort() {
  const char* port = std::getenv("CTASK_CLUSTER_KCM_PORT");
  return port != nullptr ? std::atoi(port) : 20257;
}

// The requests kube-controller-manager has sent the API server so far (its
// client's rest_client_requests_total), or -1 when its /metrics does not
// answer: the Job controller's share of what a run costs the API server.
inline double KcmRequests() {
  const std::string metrics = ControlPlaneMetrics(KcmPort());
  if (metrics.empty()) return -1;
  const std::map<std::string, double> sum = SumBy(metrics, "rest_client_requests_total", "");
  return sum.contains("") ? sum.at("") : 0;
}

// Every request the API server of $KUBECONFIG has answered so far, from
// all clients (apiserver_request_total; a watch counts when it ends), or -1
// when its /metrics does not answer.
inline double ApiServerRequests() {
  Result<kube::ClusterConfig> config = kube::LoadKubeconfig({});
  if (!config) return -1;
  const size_t colon = config->server.rfind(':');
  const std::string metrics = ControlPlaneMetrics(std::atoi(config->server.c_str() + colon + 1));
  if (metrics.empty()) return -1;
  const std::map<std::string, double> sum = SumBy(metrics, "apiserver_request_total", "");
  return sum.contains("") ? sum.at("") : 0;
}

// A namespace of the run: created by the constructor, deleted (without
// waiting) by the destructor.
class Namespace {
 public:
  Namespace(kube::KubeClient& client, std::string name) : client_(client), name_(std::move(name)) {
    Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name_}}}};
    if (auto created = client_.Create(kube::resources::Namespaces(), "", ns); !created) {
      Die(created.error().message());
    }
  }
  ~Namespace() { (void)client_.Delete(kube::resources::Namespaces(), "", name_); }
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;
  const std::string& name() const { return name_; }

  // Deletes it and waits until it is gone (call it while the operator
  // still runs: it removes its tasks' finalizers).
  void DeleteAndWait() {
    std::cerr << "deleting namespace " << name_ << " and waiting for it to go...\n";
    (void)client_.Delete(kube::resources::Namespaces(), "", name_);
    const auto deadline = Clock::now() + std::chrono::minutes(10);
    while (true) {
      Result<Json> ns = client_.Get(kube::resources::Namespaces(), "", name_);
      if (!ns && ns.error().code() == ErrorCode::kNotFound) return;
      if (Clock::now() > deadline) Die("namespace " + name_ + " was not gone after 10 minutes");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

 private:
  kube::KubeClient& client_;
  std::string name_;
};

// Watches `resource` in `ns` from now (after a list) on a thread, calling
// on_event on that thread for every event; a dropped watch resumes from the
// last resourceVersion seen. Stops when the thread is asked to.
inline std::jthread WatchFrom(kube::KubeClient& client, const kube::Resource& resource, const std::string& ns,
                              std::function<void(const kube::WatchEvent&)> on_event) {
  kube::WatchOptions options;
  Result<kube::ObjectList> listed = client.List(resource, ns);
  if (!listed) Die(listed.error().message());
  options.resource_version = listed->resource_version;
  return std::jthread([&client, resource, ns, options, on_event](std::stop_token stop) mutable {
    while (!stop.stop_requested()) {
      (void)client.Watch(
          resource, ns, options,
          [&](kube::WatchEvent& e) {
            options.resource_version = e.object["metadata"].value("resourceVersion", options.resource_version);
            on_event(e);
            return !stop.stop_requested();
          },
          stop);
    }
  });
}

// What a failed run leaves (the wrapper calls this at exit): the namespaces
// named "<run>-*" are deleted and their tasks' finalizers removed, since no
// operator is left to remove them.
inline void CleanUp(kube::KubeClient& client, const std::string& run) {
  namespace resources = kube::resources;
  Result<kube::ObjectList> namespaces = client.ListAll(resources::Namespaces(), "");
  if (!namespaces) Die(namespaces.error().message());
  for (const Json& item : namespaces->items) {
    const std::string ns = item["metadata"].value("name", "");
    if (!ns.starts_with(run + "-")) continue;
    std::cerr << "clean-up: namespace " << ns << "\n";
    (void)client.Delete(resources::Namespaces(), "", ns);
    Result<kube::ObjectList> tasks = client.ListAll(resources::ContainerTasks(), ns);
    if (!tasks) continue;
    Parallel(static_cast<int>(tasks->items.size()), 8, [&](int i) -> Status {
      const std::string name = tasks->items[i]["metadata"].value("name", "");
      const Json patch = {{"metadata", {{"finalizers", nullptr}}}};
      Result<Json> patched = client.MergePatch(resources::ContainerTasks(), ns, name, patch);
      if (!patched && patched.error().code() != ErrorCode::kNotFound) return std::unexpected(patched.error());
      return {};
    });
  }
}

}  // namespace ctask::bench
