// bench_operator_kube: the Kubernetes operator under load (issue 5), in one
// run against the control plane of hack/cluster, with the fake kubelet of
// tests/cluster as the node. Prints three figures, each beside a baseline
// measured in the same run:
//
//  1. Job creation: N ContainerTasks applied at once; the time until the
//     operator has created all N Jobs (seen by a watch), against N Jobs
//     created directly through the same client with as many threads as the
//     operator has workers. Ratio = operator Jobs/s / raw Jobs/s.
//  2. Status delay: for each task, the time from its pod's terminal status
//     (the fake kubelet's write, seen by a watch) to the task's Succeeded
//     status (seen by a watch in the same process): p50 and p99.
//  3. Memory: the operator's resident set (VmRSS) with M tasks cached and
//     reconciled (created suspended, so no Jobs), against the same operator
//     watching an empty namespace.
//
// Every phase uses a fresh namespace, deleted at the end. A measurement,
// not a test: nothing here asserts a figure. See bench/README.md.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/fake_kubelet.h"
#include "http/curl_client.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/connect.h"
#include "kube/resource.h"
#include "render/job.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using ctask::api::Json;
namespace kube = ctask::kube;
namespace resources = ctask::kube::resources;

struct Options {
  std::string ctask = "build/controller/ctask";
  int tasks = 1000;
  int cached = 10000;
  int workers = 4;
  std::string run_id;    // "" = "bo-<pid>"
  std::string clean_up;  // a run id: clean up after it and exit
};

// The operator processes running now: a failing run stops them before it
// exits (std::exit runs no destructors). Namespaces are left to the wrapper
// (bench/operator_kube.sh deletes every namespace of the run).
std::mutex children_mu;
std::vector<pid_t> children;

[[noreturn]] void Die(const std::string& why) {
  std::cerr << "bench_operator_kube: " << why << "\n";
  std::lock_guard lock(children_mu);
  for (pid_t pid : children) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::exit(1);
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Runs fn(i) for i in [0, n) on `threads` threads; dies on the first error.
void Parallel(int n, int threads, const std::function<ctask::Status(int)>& fn) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::string error;
  std::vector<std::jthread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        ctask::Status s = fn(i);
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

Json Task(const std::string& ns, const std::string& name, bool suspended) {
  Json spec = {{"image", "busybox:1.36"}, {"command", {"sh", "-c", "echo done"}}};
  if (suspended) spec["suspend"] = true;
  return {{"apiVersion", "ctask.io/v1alpha1"},
          {"kind", "ContainerTask"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", spec}};
}

std::string Name(const std::string& prefix, int i) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%05d", i);
  return prefix + buffer;
}

// The operator as a child process, its stderr in a file.
class OperatorProcess {
 public:
  OperatorProcess(const Options& options, const std::string& ns, const std::string& log_path) : log_path_(log_path) {
    std::vector<std::string> args = {options.ctask,    "operator", "--backend",      "kubernetes",
                                     "--namespace",    ns,         "--workers",      std::to_string(options.workers),
                                     "--kube-api-qps", "0",        "--http-address", "127.0.0.1:0"};
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
        std::cerr << "bench_operator_kube: cannot start " << args[0] << "\n";
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
  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // VmRSS in MiB.
  double RssMiB() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024.0;
    }
    return 0;
  }
  // /metrics, or "" when it does not answer.
  std::string Metrics(ctask::http::CurlClient& http) const {
    ctask::http::Request request;
    request.method = "GET";
    request.url = "http://127.0.0.1:" + std::to_string(port_) + "/metrics";
    ctask::Result<ctask::http::Response> r = http.Do(request);
    return r ? r->body : "";
  }
  // A metric's value ("ctask_tasks{phase=\"Suspended\"}"), -1 when absent.
  double Metric(ctask::http::CurlClient& http, const std::string& series) const {
    const std::string body = Metrics(http);
    const size_t at = body.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
  }
  // ctask_kube_api_requests_total summed by one label ("verb", "code"):
  // what each Job cost, and how many requests were refused.
  std::map<std::string, double> RequestsBy(ctask::http::CurlClient& http, const std::string& label) const {
    std::map<std::string, double> by;
    std::istringstream lines(Metrics(http));
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("ctask_kube_api_requests_total{")) continue;
      const size_t at = line.find(label + "=\"");
      const size_t value = line.rfind(' ');
      if (at == std::string::npos || value == std::string::npos) continue;
      const size_t start = at + label.size() + 2;
      by[line.substr(start, line.find('"', start) - start)] += std::stod(line.substr(value + 1));
    }
    return by;
  }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class Namespace {
 public:
  Namespace(kube::KubeClient& client, std::string name) : client_(client), name_(std::move(name)) {
    Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name_}}}};
    if (auto created = client_.Create(resources::Namespaces(), "", ns); !created) Die(created.error().message());
  }
  ~Namespace() { (void)client_.Delete(resources::Namespaces(), "", name_); }
  const std::string& name() const { return name_; }

  // Deletes it and waits until it is gone, so the namespace controller's
  // clean-up of one phase does not load the API server during the next.
  void DeleteAndWait() {
    std::cerr << "deleting namespace " << name_ << " and waiting for it to go...\n";
    (void)client_.Delete(resources::Namespaces(), "", name_);
    const auto deadline = Clock::now() + std::chrono::minutes(10);
    while (true) {
      ctask::Result<Json> ns = client_.Get(resources::Namespaces(), "", name_);
      if (!ns && ns.error().code() == ctask::ErrorCode::kNotFound) return;
      if (Clock::now() > deadline) Die("namespace " + name_ + " was not gone after 10 minutes");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

 private:
  kube::KubeClient& client_;
  std::string name_;
};

// Watches `resource` in `ns` from now on a thread, calling on_event.
std::jthread WatchFrom(kube::KubeClient& client, const kube::Resource& resource, const std::string& ns,
                       std::function<void(const kube::WatchEvent&)> on_event) {
  kube::WatchOptions options;
  ctask::Result<kube::ObjectList> listed = client.List(resource, ns);
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

// What a failed run leaves (bench/operator_kube.sh calls this at exit, with
// --clean-up): its namespaces are deleted and their tasks' finalizers
// removed, since no operator is left to remove them.
void CleanUp(kube::KubeClient& client, const std::string& run) {
  ctask::Result<kube::ObjectList> namespaces = client.ListAll(resources::Namespaces(), "");
  if (!namespaces) Die(namespaces.error().message());
  for (const Json& item : namespaces->items) {
    const std::string ns = item["metadata"].value("name", "");
    if (!ns.starts_with(run + "-")) continue;
    std::cerr << "clean-up: namespace " << ns << "\n";
    (void)client.Delete(resources::Namespaces(), "", ns);
    ctask::Result<kube::ObjectList> tasks = client.ListAll(resources::ContainerTasks(), ns);
    if (!tasks) continue;
    Parallel(static_cast<int>(tasks->items.size()), 8, [&](int i) -> ctask::Status {
      const std::string name = tasks->items[i]["metadata"].value("name", "");
      const Json patch = {{"metadata", {{"finalizers", nullptr}}}};
      ctask::Result<Json> patched = client.MergePatch(resources::ContainerTasks(), ns, name, patch);
      if (!patched && patched.error().code() != ctask::ErrorCode::kNotFound) return std::unexpected(patched.error());
      return {};
    });
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t at = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[at];
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::cout << "Usage: bench_operator_kube [--ctask PATH] [--tasks N] [--cached M] [--workers W] [--run-id ID]\n"
                   "       bench_operator_kube --clean-up ID\n"
                   "  --ctask PATH    the ctask binary (default build/controller/ctask)\n"
                   "  --tasks N       tasks for the Job-creation and status-delay figures (default 1000)\n"
                   "  --cached M      suspended tasks cached for the memory figure (default 10000)\n"
                   "  --workers W     operator workers, and raw-creation threads (default 4)\n"
                   "  --run-id ID     prefix of the run's namespaces (default bo-PID)\n"
                   "  --clean-up ID   delete what a failed run ID left: its namespaces, its tasks' finalizers\n"
                   "The API server comes from $KUBECONFIG (hack/cluster/env.sh); it must be on 127.0.0.1.\n";
      return 0;
    }
    if (i + 1 >= argc) Die(flag + ": missing value");
    const std::string value = argv[++i];
    auto number = [&](int max) {
      const int n = std::atoi(value.c_str());
      if (n < 1 || n > max) Die(flag + ": want a number from 1 to " + std::to_string(max));
      return n;
    };
    if (flag == "--ctask") {
      options.ctask = value;
    } else if (flag == "--tasks") {
      options.tasks = number(100000);
    } else if (flag == "--cached") {
      options.cached = number(1000000);
    } else if (flag == "--workers") {
      options.workers = number(64);
    } else if (flag == "--run-id") {
      options.run_id = value;
    } else if (flag == "--clean-up") {
      options.clean_up = value;
    } else {
      Die("unknown flag " + flag);
    }
  }
  ctask::Result<kube::ClusterConfig> config = kube::LoadKubeconfig({});
  if (!config) Die(config.error().message());
  if (!config->server.starts_with("https://127.0.0.1:")) Die("the API server must be on 127.0.0.1: " + config->server);
  kube::ClientOptions client_options;
  client_options.qps = 0;
  ctask::Result<kube::KubeClientPtr> connected = kube::Connect(*config, client_options);
  if (!connected) Die(connected.error().message());
  kube::KubeClient& client = **connected;
  if (!options.clean_up.empty()) {
    CleanUp(client, options.clean_up);
    return 0;
  }
  const std::string run = options.run_id.empty() ? "bo-" + std::to_string(getpid()) : options.run_id;
  const std::string tmp = "/tmp/" + run;
  std::filesystem::create_directories(tmp);

  // 1. Raw Job creation: the baseline.
  double raw_seconds = 0;
  {
    Namespace ns(client, run + "-raw");
    ctask::api::ContainerTask task;
    task.metadata.namespace_ = ns.name();
    task.spec.image = "busybox:1.36";
    task.spec.command = {"sh", "-c", "echo done"};
    const auto start = Clock::now();
    Parallel(options.tasks, options.workers, [&](int i) -> ctask::Status {
      ctask::api::ContainerTask t = task;
      t.metadata.name = Name("raw", i);
      ctask::Result<Json> job = ctask::render::RenderJob(t, {1, std::nullopt});
      if (!job) return std::unexpected(job.error());
      ctask::Result<Json> created = client.Create(resources::Jobs(), ns.name(), *job);
      if (!created) return std::unexpected(created.error());
      return {};
    });
    raw_seconds = Seconds(Clock::now() - start);
    std::cerr << "raw client: " << options.tasks << " Jobs in " << raw_seconds << " s\n";
    ns.DeleteAndWait();
  }

  // 2. The operator: Job creation and status delay.
  double op_seconds = 0;
  std::vector<double> delays_ms;
  std::string requests;  // the operator's API requests by verb
  double requests_total = 0;
  std::string refused;  // the answers that were not 2xx, by code
  {
    Namespace ns(client, run + "-op");
    ctask::testing::FakeKubeletOptions kubelet_options;
    kubelet_options.namespaces = {ns.name()};
    kubelet_options.workers = 4;
    kubelet_options.auto_run = ctask::testing::AutoRun{{"done"}, 0, "", "", std::chrono::milliseconds(0)};
    ctask::testing::FakeKubelet kubelet(client, kubelet_options);
    if (ctask::Status started = kubelet.Start(); !started) Die(started.error().message());
    OperatorProcess op(options, ns.name(), tmp + "/operator.log");

    std::mutex mu;
    std::map<std::string, Clock::time_point> terminal;  // task -> pod terminal seen
    std::map<std::string, Clock::time_point> done;      // task -> Succeeded seen
    int jobs = 0;
    Clock::time_point last_job;
    std::jthread job_watch = WatchFrom(client, resources::Jobs(), ns.name(), [&](const kube::WatchEvent& e) {
      if (e.type != "ADDED") return;
      std::lock_guard lock(mu);
      ++jobs;
      last_job = Clock::now();
    });
    std::jthread pod_watch = WatchFrom(client, resources::Pods(), ns.name(), [&](const kube::WatchEvent& e) {
      const Json& statuses = e.object.value("status", Json::object()).value("containerStatuses", Json::array());
      if (statuses.empty() || !statuses[0].value("state", Json::object()).contains("terminated")) return;
      const std::string task = e.object["metadata"].value("labels", Json::object()).value("ctask.io/task", "");
      std::lock_guard lock(mu);
      terminal.try_emplace(task, Clock::now());
    });
    std::jthread task_watch = WatchFrom(client, resources::ContainerTasks(), ns.name(), [&](const kube::WatchEvent& e) {
      if (e.object.value("status", Json::object()).value("phase", "") != "Succeeded") return;
      std::lock_guard lock(mu);
      done.try_emplace(e.object["metadata"].value("name", ""), Clock::now());
    });
    const auto start = Clock::now();
    Parallel(options.tasks, options.workers, [&](int i) -> ctask::Status {
      ctask::Result<Json> created =
          client.Create(resources::ContainerTasks(), ns.name(), Task(ns.name(), Name("t", i), false));
      if (!created) return std::unexpected(created.error());
      return {};
    });
    std::cerr << "operator: " << options.tasks << " ContainerTasks created; waiting for them to succeed...\n";
    const auto deadline = Clock::now() + std::chrono::minutes(15);
    auto last_report = Clock::now();
    while (true) {
      {
        std::lock_guard lock(mu);
        if (static_cast<int>(done.size()) >= options.tasks) break;
        if (Clock::now() - last_report > std::chrono::seconds(10)) {
          std::cerr << "  " << jobs << " Jobs, " << terminal.size() << " pods terminated, " << done.size()
                    << " tasks Succeeded\n";
          last_report = Clock::now();
        }
        if (Clock::now() > deadline) {
          Die("only " + std::to_string(done.size()) + " of " + std::to_string(options.tasks) +
              " tasks succeeded in 15 minutes; operator log: " + tmp + "/operator.log");
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    {
      std::lock_guard lock(mu);
      op_seconds = Seconds(last_job - start);
      for (const auto& [task, at] : done) {
        auto t = terminal.find(task);
        if (t != terminal.end()) delays_ms.push_back(std::chrono::duration<double, std::milli>(at - t->second).count());
      }
    }
    job_watch.request_stop();
    pod_watch.request_stop();
    task_watch.request_stop();
    ctask::http::CurlClient http({});
    for (const auto& [verb, count] : op.RequestsBy(http, "verb")) {
      requests += verb + " " + std::to_string(static_cast<int>(count)) + ", ";
      requests_total += count;
    }
    if (requests.ends_with(", ")) requests.resize(requests.size() - 2);
    for (const auto& [code, count] : op.RequestsBy(http, "code")) {
      if (!code.starts_with("2")) refused += code + " " + std::to_string(static_cast<int>(count)) + ", ";
    }
    refused = refused.empty() ? "none" : refused.substr(0, refused.size() - 2);
    // With the operator still running: it removes each task's finalizer.
    ns.DeleteAndWait();
  }
  std::cerr << "operator: " << options.tasks << " Jobs in " << op_seconds << " s\n";

  // 3. Memory: empty, then `cached` suspended tasks.
  double rss_empty = 0;
  double rss_cached = 0;
  {
    ctask::http::CurlClient http({});
    Namespace ns(client, run + "-rss");
    {
      OperatorProcess empty(options, ns.name(), tmp + "/operator-empty.log");
      std::this_thread::sleep_for(std::chrono::seconds(2));
      rss_empty = empty.RssMiB();
    }
    std::cerr << "creating " << options.cached << " suspended tasks...\n";
    Parallel(options.cached, options.workers * 2, [&](int i) -> ctask::Status {
      ctask::Result<Json> created =
          client.Create(resources::ContainerTasks(), ns.name(), Task(ns.name(), Name("c", i), true));
      if (!created) return std::unexpected(created.error());
      return {};
    });
    OperatorProcess op(options, ns.name(), tmp + "/operator-cached.log");
    const auto deadline = Clock::now() + std::chrono::minutes(20);
    auto last_report = Clock::now();
    double suspended = 0;
    while ((suspended = op.Metric(http, "ctask_tasks{phase=\"Suspended\"}")) < options.cached) {
      if (Clock::now() > deadline) Die("the operator did not reconcile every cached task in 20 minutes");
      if (Clock::now() - last_report > std::chrono::seconds(10)) {
        std::cerr << "  " << suspended << " of " << options.cached << " tasks reported Suspended\n";
        last_report = Clock::now();
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    rss_cached = op.RssMiB();
    std::cerr << "operator RSS with " << options.cached << " tasks cached: " << rss_cached << " MiB\n";
    ns.DeleteAndWait();
  }
  std::filesystem::remove_all(tmp);

  const double raw_rate = options.tasks / raw_seconds;
  const double op_rate = options.tasks / op_seconds;
  std::printf(
      "job creation: raw client %d Jobs in %.2f s (%.0f/s); operator %d Jobs in %.2f s (%.0f/s) -> ratio "
      "operator/raw %.2f\n",
      options.tasks, raw_seconds, raw_rate, options.tasks, op_seconds, op_rate, op_rate / raw_rate);
  std::printf("operator API requests for %d tasks: %.0f (%.1f per task: %s); not 2xx: %s\n", options.tasks,
              requests_total, requests_total / options.tasks, requests.c_str(), refused.c_str());
  std::printf("pod terminal -> task Succeeded: p50 %.0f ms, p99 %.0f ms (%zu tasks, %d workers)\n",
              Percentile(delays_ms, 0.50), Percentile(delays_ms, 0.99), delays_ms.size(), options.workers);
  std::printf("operator RSS: %.1f MiB watching an empty namespace; %.1f MiB with %d tasks cached (%.2f KiB/task)\n",
              rss_empty, rss_cached, options.cached, (rss_cached - rss_empty) * 1024.0 / options.cached);
  return 0;
}
