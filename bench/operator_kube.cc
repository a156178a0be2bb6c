// bench_operator_kube: the Kubernetes operator under load (issues 5 and
// 13), in one run against the control plane of hack/cluster, with the fake
// kubelet of tests/cluster as the node. Prints its figures, each beside a
// baseline measured in the same run:
//
//  1. Job creation: N ContainerTasks waiting when the operator starts (a
//     backlog, as after a GitOps sync or an operator restart), against N
//     Jobs created directly through the same client with as many threads
//     as the operator has workers, once before the operator and once
//     after. Every round is timed the same way, by the same kind of watch
//     on its namespace's Jobs: from the first Job seen to the last, scaled
//     to N (the API server then serves the same watch in every round).
//     Ratio = operator Jobs/s / the two raw rounds' mean Jobs/s. Anchor:
//     the time kube-controller-manager takes to make the raw Jobs' pods.
//     The raw rounds have no node (their pods stay Pending); two more,
//     before and after the operator's, have the fake kubelet running
//     their pods as the operator's round does, and give the like-for-like
//     ratio: the cluster then does the same work for every Job in every
//     round, and the ratio is the operator's own cost.
//  2. The operator's API requests over those N tasks' lives, by verb.
//  3. Status delay: for each task, the time from its pod's terminal status
//     (the fake kubelet's write, seen by a watch) to the task's Succeeded
//     status (seen by a watch in the same process): p50 and p99, while the
//     backlog is still being started.
//  4. Memory: the operator's resident set (VmRSS) with M tasks cached and
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
#include <optional>
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
#include "kube_bench.h"
#include "render/job.h"

extern char** environ;

namespace {

using ctask::api::Json;
using ctask::bench::CleanUp;
using ctask::bench::Clock;
using ctask::bench::Die;
using ctask::bench::Namespace;
using ctask::bench::OperatorProcess;
using ctask::bench::Parallel;
using ctask::bench::Percentile;
using ctask::bench::Seconds;
using ctask::bench::SumBy;
using ctask::bench::WatchFrom;
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

// The operator for namespace `ns`, its client-side rate limit off.
std::vector<std::string> OperatorArgs(const Options& options, const std::string& ns) {
  return {options.ctask,    "operator", "--backend",      "kubernetes",
          "--namespace",    ns,         "--workers",      std::to_string(options.workers),
          "--kube-api-qps", "0",        "--http-address", "127.0.0.1:0"};
}

}  // namespace

// The Jobs a watch on one namespace has seen ADDED: how many, and when the
// first and the last came. Every round is timed by one.
class JobArrivals {
 public:
  JobArrivals(kube::KubeClient& client, const std::string& ns)
      : watch_(WatchFrom(client, resources::Jobs(), ns, [this](const kube::WatchEvent& e) {
          if (e.type != "ADDED") return;
          std::lock_guard lock(mu_);
          if (seen_++ == 0) first_ = Clock::now();
          last_ = Clock::now();
        })) {}

  int seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

  // From the first Job seen to the last, scaled to N: the rate once the
  // round runs (a round's first Job has no time before it to count).
  double Seconds(int n) const {
    std::lock_guard lock(mu_);
    return n > 1 ? ctask::bench::Seconds(last_ - first_) * n / (n - 1) : 0;
  }

  // Waits until `n` Jobs have been seen (dies after `limit`).
  void WaitFor(int n, std::chrono::seconds limit) const {
    const auto deadline = Clock::now() + limit;
    while (seen() < n) {
      if (Clock::now() > deadline) Die("only " + std::to_string(seen()) + " of " + std::to_string(n) + " Jobs seen");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  mutable std::mutex mu_;
  int seen_ = 0;
  Clock::time_point first_;
  Clock::time_point last_;
  std::jthread watch_;  // last: stopped before the fields it writes go
};

// N Jobs created straight through the client, with as many threads as the
// operator has workers, rendered as the operator renders them. Timed by the
// round's JobArrivals, as the operator's round is; `answered` is the time
// from the first request to the last answer, printed beside it.
double CreateRawJobs(kube::KubeClient& client, const std::string& ns, const Options& options) {
  const JobArrivals arrivals(client, ns);
  ctask::api::ContainerTask task;
  task.metadata.namespace_ = ns;
  task.spec.image = "busybox:1.36";
  task.spec.command = {"sh", "-c", "echo done"};
  const auto start = Clock::now();
  Parallel(options.tasks, options.workers, [&](int i) -> ctask::Status {
    ctask::api::ContainerTask t = task;
    t.metadata.name = Name("raw", i);
    ctask::Result<Json> job = ctask::render::RenderJob(t, {1, std::nullopt});
    if (!job) return std::unexpected(job.error());
    ctask::Result<Json> created = client.Create(resources::Jobs(), ns, *job);
    if (!created) return std::unexpected(created.error());
    return {};
  });
  const double answered = Seconds(Clock::now() - start);
  arrivals.WaitFor(options.tasks, std::chrono::minutes(1));
  const double seconds = arrivals.Seconds(options.tasks);
  std::cerr << "raw client: " << options.tasks << " Jobs in " << seconds << " s by the watch (" << answered
            << " s from the first request to the last answer)\n";
  return seconds;
}

// The fake kubelet as the namespace's node, running every pod at once to a
// clean exit: the operator's round has it, and so does the like-for-like
// raw round, so both rounds' Jobs cost the cluster the same (the pods'
// status writes, the Job controller's completions).
std::unique_ptr<ctask::testing::FakeKubelet> StartNode(kube::KubeClient& client, const std::string& ns) {
  ctask::testing::FakeKubeletOptions kubelet_options;
  kubelet_options.namespaces = {ns};
  kubelet_options.workers = 4;
  kubelet_options.auto_run = ctask::testing::AutoRun{{"done"}, 0, "", "", std::chrono::milliseconds(0)};
  auto kubelet = std::make_unique<ctask::testing::FakeKubelet>(client, kubelet_options);
  if (ctask::Status started = kubelet->Start(); !started) Die(started.error().message());
  return kubelet;
}

// A raw round with the node running its pods, as in the operator's round.
double CreateRawJobsWithNode(kube::KubeClient& client, const std::string& ns_name, const Options& options) {
  Namespace ns(client, ns_name);
  const std::unique_ptr<ctask::testing::FakeKubelet> node = StartNode(client, ns.name());
  const double seconds = CreateRawJobs(client, ns.name(), options);
  ns.DeleteAndWait();  // the node still up: it confirms its pods' deletion
  return seconds;
}

int main(int argc, char** argv) {
  ctask::bench::ProgramName() = "bench_operator_kube";
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
  const kube::KubeClientPtr connected = ctask::bench::ConnectToTestCluster();
  kube::KubeClient& client = *connected;
  if (!options.clean_up.empty()) {
    CleanUp(client, options.clean_up);
    return 0;
  }
  const std::string run = options.run_id.empty() ? "bo-" + std::to_string(getpid()) : options.run_id;
  const std::string tmp = "/tmp/" + run;
  std::filesystem::create_directories(tmp);

  // 1. Raw Job creation: the baseline.
  double raw_seconds = 0;
  double kcm_seconds = 0;
  double kcm_requests = -1;  // kube-controller-manager's while it made the pods
  {
    Namespace ns(client, run + "-raw");
    std::mutex pods_mu;
    int pods_seen = 0;
    Clock::time_point last_pod;
    std::jthread pod_watch = WatchFrom(client, resources::Pods(), ns.name(), [&](const kube::WatchEvent& e) {
      if (e.type != "ADDED") return;
      std::lock_guard lock(pods_mu);
      ++pods_seen;
      last_pod = Clock::now();
    });
    const double kcm_before = ctask::bench::KcmRequests();
    const auto start = Clock::now();
    raw_seconds = CreateRawJobs(client, ns.name(), options);
    // The anchor: kube-controller-manager's Job controller making the pods
    // of those Jobs (no kubelet here: they stay Pending).
    std::cerr << "waiting for kube-controller-manager to create their pods...\n";
    const auto deadline = Clock::now() + std::chrono::minutes(15);
    while (true) {
      {
        std::lock_guard lock(pods_mu);
        if (pods_seen >= options.tasks) break;
      }
      if (Clock::now() > deadline) Die("kube-controller-manager did not create every pod in 15 minutes");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    {
      std::lock_guard lock(pods_mu);
      kcm_seconds = Seconds(last_pod - start);
    }
    const double kcm_after = ctask::bench::KcmRequests();
    if (kcm_before >= 0 && kcm_after >= 0) kcm_requests = kcm_after - kcm_before;
    pod_watch.request_stop();
    std::cerr << "kube-controller-manager: " << options.tasks << " pods in " << kcm_seconds << " s\n";
    ns.DeleteAndWait();
  }

  // The like-for-like baseline: the same raw Jobs with the node running
  // their pods, as the operator's are.
  const double raw_node = CreateRawJobsWithNode(client, run + "-rawn", options);

  // 2. The operator: Job creation and status delay.
  double op_seconds = 0;
  std::vector<double> delays_ms;
  std::string requests;  // the operator's API requests by verb
  double requests_total = 0;
  std::string refused;  // the answers that were not 2xx, by code
  {
    Namespace ns(client, run + "-op");
    const std::unique_ptr<ctask::testing::FakeKubelet> node = StartNode(client, ns.name());

    std::mutex mu;
    std::map<std::string, Clock::time_point> terminal;  // task -> pod terminal seen
    std::map<std::string, Clock::time_point> done;      // task -> Succeeded seen
    std::optional<JobArrivals> jobs(std::in_place, client, ns.name());
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
    // The backlog first, then the operator: its Job rate is its own, not
    // the rate at which this program creates tasks (a ContainerTask create
    // takes the API server longer than a Job create).
    Parallel(options.tasks, options.workers, [&](int i) -> ctask::Status {
      ctask::Result<Json> created =
          client.Create(resources::ContainerTasks(), ns.name(), Task(ns.name(), Name("t", i), false));
      if (!created) return std::unexpected(created.error());
      return {};
    });
    std::cerr << "operator: " << options.tasks << " ContainerTasks created; starting the operator...\n";
    OperatorProcess op(OperatorArgs(options, ns.name()), tmp + "/operator.log");
    const auto deadline = Clock::now() + std::chrono::minutes(15);
    auto last_report = Clock::now();
    while (true) {
      {
        std::lock_guard lock(mu);
        if (static_cast<int>(done.size()) >= options.tasks) break;
        if (Clock::now() - last_report > std::chrono::seconds(10)) {
          std::cerr << "  " << jobs->seen() << " Jobs, " << terminal.size() << " pods terminated, " << done.size()
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
      op_seconds = jobs->Seconds(options.tasks);
      for (const auto& [task, at] : done) {
        auto t = terminal.find(task);
        if (t != terminal.end()) delays_ms.push_back(std::chrono::duration<double, std::milli>(at - t->second).count());
      }
    }
    jobs.reset();
    pod_watch.request_stop();
    task_watch.request_stop();
    const std::string metrics = op.Metrics();
    for (const auto& [verb, count] : SumBy(metrics, "ctask_kube_api_requests_total", "verb")) {
      requests += verb + " " + std::to_string(static_cast<int>(count)) + ", ";
      requests_total += count;
    }
    if (requests.ends_with(", ")) requests.resize(requests.size() - 2);
    for (const auto& [code, count] : SumBy(metrics, "ctask_kube_api_requests_total", "code")) {
      if (!code.starts_with("2")) refused += code + " " + std::to_string(static_cast<int>(count)) + ", ";
    }
    refused = refused.empty() ? "none" : refused.substr(0, refused.size() - 2);
    // With the operator still running: it removes each task's finalizer.
    ns.DeleteAndWait();
  }
  std::cerr << "operator: " << options.tasks << " Jobs in " << op_seconds << " s\n";

  // The baseline again, after the operator (the machine's state drifts
  // over a run: a ratio against one baseline was off by half between two
  // runs of the same commit).
  const double raw_node_again = CreateRawJobsWithNode(client, run + "-rawn2", options);
  double raw_again = 0;
  {
    Namespace ns(client, run + "-raw2");
    raw_again = CreateRawJobs(client, ns.name(), options);
    ns.DeleteAndWait();
  }

  // 3. Memory: empty, then `cached` suspended tasks.
  double rss_empty = 0;
  double rss_cached = 0;
  double heap_cached = 0;  // MiB in use, by the allocator's count
  double rss_first = 0;    // 11 s after the last task was reconciled
  int settled_after = 11;  // seconds after the last reconcile when rss_cached was read
  {
    Namespace ns(client, run + "-rss");
    {
      OperatorProcess empty(OperatorArgs(options, ns.name()), tmp + "/operator-empty.log");
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
    OperatorProcess op(OperatorArgs(options, ns.name()), tmp + "/operator-cached.log");
    const auto deadline = Clock::now() + std::chrono::minutes(20);
    auto last_report = Clock::now();
    double suspended = 0;
    while ((suspended = SumBy(op.Metrics(), "ctask_tasks", "phase")["Suspended"]) < options.cached) {
      if (Clock::now() > deadline) Die("the operator did not reconcile every cached task in 20 minutes");
      if (Clock::now() - last_report > std::chrono::seconds(10)) {
        std::cerr << "  " << suspended << " of " << options.cached << " tasks reported Suspended\n";
        last_report = Clock::now();
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    // The operator gives free heap back every 10 s (util/heap.h): read
    // after that, and the allocator's own in-use figure beside it. Then
    // every 10 s until it settles (a reading within 1 MiB of the one before,
    // at most a minute): what the last reconciles' buffers leave goes over
    // the following trims.
    std::this_thread::sleep_for(std::chrono::seconds(11));
    rss_first = op.RssMiB();
    rss_cached = rss_first;
    for (int i = 0; i < 6; ++i) {
      std::this_thread::sleep_for(std::chrono::seconds(10));
      const double now = op.RssMiB();
      settled_after += 10;
      const bool settled = rss_cached - now < 1.0;
      rss_cached = now;
      if (settled) break;
    }
    heap_cached = SumBy(op.Metrics(), "ctask_heap_bytes", "state")["in_use"] / (1024.0 * 1024.0);
    std::cerr << "operator RSS with " << options.cached << " tasks cached: " << rss_cached << " MiB\n";
    ns.DeleteAndWait();
  }
  std::filesystem::remove_all(tmp);

  const double raw_rate = options.tasks / ((raw_seconds + raw_again) / 2);
  const double raw_node_rate = options.tasks / ((raw_node + raw_node_again) / 2);
  const double op_rate = options.tasks / op_seconds;
  std::printf(
      "job creation: raw client %d Jobs in %.2f s before the operator and %.2f s after (mean %.0f/s); operator %d "
      "Jobs in %.2f s (%.0f/s) -> ratio operator/raw %.2f\n",
      options.tasks, raw_seconds, raw_again, raw_rate, options.tasks, op_seconds, op_rate, op_rate / raw_rate);
  std::printf(
      "job creation, like for like (the fake kubelet running the raw Jobs' pods too, as the operator's): raw client "
      "%.2f s before the operator and %.2f s after (mean %.0f/s) -> ratio operator/raw %.2f\n",
      raw_node, raw_node_again, raw_node_rate, op_rate / raw_node_rate);
  std::printf(
      "anchor: kube-controller-manager made the raw Jobs' %d pods in %.2f s (%.0f pods/s; %.0f requests, %.1f/s)\n",
      options.tasks, kcm_seconds, options.tasks / kcm_seconds, kcm_requests, kcm_requests / kcm_seconds);
  std::printf("operator API requests for %d tasks: %.0f (%.1f per task: %s); not 2xx: %s\n", options.tasks,
              requests_total, requests_total / options.tasks, requests.c_str(), refused.c_str());
  std::printf("pod terminal -> task Succeeded: p50 %.0f ms, p99 %.0f ms (%zu tasks, %d workers)\n",
              Percentile(delays_ms, 0.50), Percentile(delays_ms, 0.99), delays_ms.size(), options.workers);
  std::printf(
      "operator RSS: %.1f MiB watching an empty namespace; %.1f MiB with %d tasks cached (%.2f KiB/task), settled "
      "%d s after the last reconcile (%.1f MiB at 11 s); heap in use %.1f MiB\n",
      rss_empty, rss_cached, options.cached, (rss_cached - rss_empty) * 1024.0 / options.cached, settled_after,
      rss_first, heap_cached);
  return 0;
}
