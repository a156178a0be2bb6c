// bench_logs_kube: N tasks running at once, each printing, each log
// followed by the operator (issue 13), against the control plane of
// hack/cluster with the fake kubelet of tests/cluster as the node. The
// operator runs with its default flags (client QPS and burst, workers), as
// a user who installed manifests/ runs it. Prints:
//
//  1. Start rate at default flags: N tasks waiting when the operator starts
//     (a backlog); tasks/s from its first Job to the N-th task Running.
//  2. Steady state, N running: for S seconds every pod prints a line every
//     second. The operator's threads, its open sockets, its TCP connections
//     to the API server, its RSS (and peak), its API requests per second by
//     verb; the logs it follows (ctask_log_follows); how many tasks'
//     status.logTail shows a line printed in the window. Beside them, the
//     same process's figures before the tasks existed (its baseline).
//  3. Completeness: every pod exits 0; each task's archived log
//     (status.artifacts.log: size and SHA-256) against what its pod
//     printed (the fake kubelet's record): how many match.
//
// A fresh namespace, deleted at the end. A measurement, not a test: nothing
// here asserts a figure. See bench/README.md.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/fake_kubelet.h"
#include "cluster/proc_sockets.h"
#include "kube/client.h"
#include "kube/resource.h"
#include "kube_bench.h"
#include "util/sha256.h"

namespace {

using ctask::api::Json;
using ctask::bench::CleanUp;
using ctask::bench::Clock;
using ctask::bench::Die;
using ctask::bench::Namespace;
using ctask::bench::OperatorProcess;
using ctask::bench::Parallel;
using ctask::bench::Seconds;
using ctask::bench::SumBy;
using ctask::bench::WatchFrom;
namespace kube = ctask::kube;
namespace resources = ctask::kube::resources;

struct Options {
  std::string ctask = "build/controller/ctask";
  int tasks = 1000;
  int seconds = 30;  // the steady window
  std::string run_id;
  std::string clean_up;
};

Json Task(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "ctask.io/v1alpha1"},
          {"kind", "ContainerTask"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"image", "busybox:1.36"}, {"command", {"sh", "-c", "echo started"}}}}};
}

// What the operator process is and holds at one moment.
struct Snapshot {
  int threads = 0;
  int sockets = 0;
  int api_connections = 0;
  double rss_mib = 0;
  std::map<std::string, double> requests;  // by verb, since start
};

Snapshot Take(const OperatorProcess& op, int api_port) {
  Snapshot s;
  s.threads = ctask::testing::ThreadsOf(op.pid());
  s.sockets = static_cast<int>(ctask::testing::SocketInodes(op.pid()).size());
  s.api_connections = ctask::testing::ConnectionsTo(op.pid(), api_port);
  s.rss_mib = op.RssMiB();
  s.requests = SumBy(op.Metrics(), "ctask_kube_api_requests_total", "verb");
  return s;
}

// Waits until `done` (checked every 200 ms), printing `progress` every
// 10 s; dies after `limit`.
void WaitFor(const std::function<bool()>& done, const std::function<std::string()>& progress,
             std::chrono::minutes limit, const std::string& what) {
  const auto deadline = Clock::now() + limit;
  auto last_report = Clock::now();
  while (!done()) {
    if (Clock::now() > deadline) Die(what + " did not happen in " + std::to_string(limit.count()) + " min");
    if (Clock::now() - last_report > std::chrono::seconds(10)) {
      std::cerr << "  " << progress() << "\n";
      last_report = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Options Parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::cout << "Usage: bench_logs_kube [--ctask PATH] [--tasks N] [--seconds S] [--run-id ID]\n"
                   "       bench_logs_kube --clean-up ID\n"
                   "  --ctask PATH    the ctask binary (default build/controller/ctask)\n"
                   "  --tasks N       tasks running at once (default 1000)\n"
                   "  --seconds S     the steady window, every pod printing a line a second (default 30)\n"
                   "  --run-id ID     prefix of the run's namespace (default bl-PID)\n"
                   "  --clean-up ID   delete what a failed run ID left: its namespace, its tasks' finalizers\n";
      std::exit(0);
    }
    if (i + 1 >= argc) Die(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--ctask") {
      options.ctask = value;
    } else if (flag == "--tasks") {
      options.tasks = std::stoi(value);
    } else if (flag == "--seconds") {
      options.seconds = std::stoi(value);
    } else if (flag == "--run-id") {
      options.run_id = value;
    } else if (flag == "--clean-up") {
      options.clean_up = value;
    } else {
      Die("unknown flag " + flag);
    }
  }
  if (options.tasks < 1 || options.seconds < 1) Die("--tasks and --seconds must be positive");
  return options;
}

std::string Requests(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                     double seconds, double* total) {
  std::string out;
  *total = 0;
  for (const auto& [verb, count] : after) {
    auto it = before.find(verb);
    const double rate = (count - (it == before.end() ? 0 : it->second)) / seconds;
    *total += rate;
    if (rate >= 0.05) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%s %.1f, ", verb.c_str(), rate);
      out += buffer;
    }
  }
  if (out.ends_with(", ")) out.resize(out.size() - 2);
  return out.empty() ? "none" : out;
}

}  // namespace

int main(int argc, char** argv) {
  ctask::bench::ProgramName() = "bench_logs_kube";
  const Options options = Parse(argc, argv);
  const kube::KubeClientPtr connected = ctask::bench::ConnectToTestCluster();
  kube::KubeClient& client = *connected;
  const int api_port = std::stoi(client.server().substr(client.server().rfind(':') + 1));
  if (!options.clean_up.empty()) {
    CleanUp(client, options.clean_up);
    return 0;
  }
  const std::string run = options.run_id.empty() ? "bl-" + std::to_string(getpid()) : options.run_id;
  const std::string tmp = "/tmp/" + run;
  std::filesystem::create_directories(tmp);
  const int n = options.tasks;

  Namespace ns(client, run + "-logs");
  ctask::testing::FakeKubeletOptions kubelet_options;
  kubelet_options.namespaces = {ns.name()};
  kubelet_options.workers = 4;
  // Running as soon as admitted, printing a first line; the exits are ours.
  kubelet_options.auto_run = ctask::testing::AutoRun{{"started"}, 0, "", "", std::chrono::hours(2)};
  ctask::testing::FakeKubelet kubelet(client, kubelet_options);
  if (ctask::Status started = kubelet.Start(); !started) Die(started.error().message());

  std::mutex mu;
  std::map<std::string, std::string> pod_of;  // task -> pod
  std::set<std::string> running;              // tasks seen Running
  std::set<std::string> succeeded;
  Clock::time_point first_job;
  Clock::time_point last_job;
  Clock::time_point last_running;
  int jobs = 0;
  std::jthread job_watch = WatchFrom(client, resources::Jobs(), ns.name(), [&](const kube::WatchEvent& e) {
    if (e.type != "ADDED") return;
    std::lock_guard lock(mu);
    if (jobs++ == 0) first_job = Clock::now();
    last_job = Clock::now();
  });
  std::jthread pod_watch = WatchFrom(client, resources::Pods(), ns.name(), [&](const kube::WatchEvent& e) {
    const std::string task = e.object["metadata"].value("labels", Json::object()).value("ctask.io/task", "");
    std::lock_guard lock(mu);
    if (!task.empty()) pod_of[task] = e.object["metadata"].value("name", "");
  });
  std::jthread task_watch = WatchFrom(client, resources::ContainerTasks(), ns.name(), [&](const kube::WatchEvent& e) {
    const std::string phase = e.object.value("status", Json::object()).value("phase", "");
    const std::string name = e.object["metadata"].value("name", "");
    std::lock_guard lock(mu);
    if (phase == "Running" && running.insert(name).second) last_running = Clock::now();
    if (phase == "Succeeded") succeeded.insert(name);
  });

  // The operator before any task: its baseline.
  const std::vector<std::string> args = {options.ctask, "operator", "--backend",      "kubernetes",
                                         "--namespace", ns.name(),  "--http-address", "127.0.0.1:0"};
  Snapshot idle;
  {
    OperatorProcess op(args, tmp + "/operator-idle.log");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    idle = Take(op, api_port);
  }
  std::cerr << "creating " << n << " ContainerTasks...\n";
  Parallel(n, 8, [&](int i) -> ctask::Status {
    ctask::Result<Json> created = client.Create(resources::ContainerTasks(), ns.name(),
                                                Task(ns.name(), "t-" + std::to_string(100000 + i).substr(1)));
    if (!created) return std::unexpected(created.error());
    return {};
  });

  // 1. The backlog started at default flags.
  std::cerr << "starting the operator (default flags)...\n";
  OperatorProcess op(args, tmp + "/operator.log");
  auto count = [&](const std::set<std::string>& s) {
    std::lock_guard lock(mu);
    return static_cast<int>(s.size());
  };
  WaitFor([&] { return count(running) >= n; },
          [&] { return std::to_string(count(running)) + " of " + std::to_string(n) + " tasks Running"; },
          std::chrono::minutes(20), "every task Running");
  double start_seconds = 0;
  double job_seconds = 0;
  {
    std::lock_guard lock(mu);
    start_seconds = Seconds(last_running - first_job);
    job_seconds = Seconds(last_job - first_job) * n / std::max(n - 1, 1);
  }
  std::cerr << n << " tasks Running " << start_seconds << " s after the first Job\n";
  auto follows = [&] { return SumBy(op.Metrics(), "ctask_log_follows", "")[""]; };
  WaitFor([&] { return follows() >= n; },
          [&] { return std::to_string(static_cast<int>(follows())) + " logs followed"; }, std::chrono::minutes(5),
          "every log followed");

  // 2. The steady window: every pod prints a line a second.
  std::map<std::string, std::string> pods;
  {
    std::lock_guard lock(mu);
    pods = pod_of;
  }
  const Snapshot before = Take(op, api_port);
  const auto window_start = Clock::now();
  std::atomic<int> append_errors = 0;
  std::string marker;  // the line every pod prints last in the window
  for (int second = 0; second < options.seconds; ++second) {
    const auto tick = Clock::now();
    marker = "window second " + std::to_string(second);
    for (const auto& [task, pod] : pods) {
      if (!kubelet.AppendLog(ns.name(), pod, task + " " + marker + "\n")) ++append_errors;
    }
    std::this_thread::sleep_until(tick + std::chrono::seconds(1));
  }
  const double window = Seconds(Clock::now() - window_start);
  const Snapshot after = Take(op, api_port);
  const double followed = follows();
  const double log_connections = SumBy(op.Metrics(), "ctask_log_connections", "")[""];
  // Does status.logTail follow? The tail is written at most every 10 s
  // (--log-tail-interval); a line from the window's second half must show.
  std::this_thread::sleep_for(std::chrono::seconds(11));
  int live_tails = 0;
  if (ctask::Result<kube::ObjectList> listed = client.List(resources::ContainerTasks(), ns.name()); listed) {
    for (const Json& t : listed->items) {
      const std::string tail = t.value("status", Json::object()).value("logTail", "");
      for (int s = options.seconds / 2; s < options.seconds; ++s) {
        if (tail.find("window second " + std::to_string(s) + "\n") != std::string::npos) {
          ++live_tails;
          break;
        }
      }
    }
  }

  // 3. Every pod exits; every archive against what its pod printed.
  std::cerr << "exiting every pod...\n";
  std::vector<std::pair<std::string, std::string>> list(pods.begin(), pods.end());
  Parallel(static_cast<int>(list.size()), 8,
           [&](int i) -> ctask::Status { return kubelet.Exit(ns.name(), list[i].second, 0); });
  WaitFor([&] { return count(succeeded) >= n; },
          [&] { return std::to_string(count(succeeded)) + " of " + std::to_string(n) + " tasks Succeeded"; },
          std::chrono::minutes(10), "every task Succeeded");
  const double peak_rss = op.PeakRssMiB();
  int complete = 0;
  std::string first_mismatch;
  if (ctask::Result<kube::ObjectList> listed = client.List(resources::ContainerTasks(), ns.name()); listed) {
    for (const Json& t : listed->items) {
      const std::string name = t["metadata"].value("name", "");
      const Json log =
          t.value("status", Json::object()).value("artifacts", Json::object()).value("log", Json::object());
      ctask::Result<std::string> printed = kubelet.LogOf(ns.name(), pods[name]);
      if (printed && log.value("sha256", "") == ctask::Sha256Hex(*printed) &&
          log.value("sizeBytes", int64_t{-1}) == static_cast<int64_t>(printed->size())) {
        ++complete;
      } else if (first_mismatch.empty()) {
        first_mismatch = name + ": archived " + log.dump() + ", printed " +
                         (printed ? std::to_string(printed->size()) + " bytes" : printed.error().message());
      }
    }
  }
  job_watch.request_stop();
  pod_watch.request_stop();
  task_watch.request_stop();
  ns.DeleteAndWait();
  std::filesystem::remove_all(tmp);

  double steady_rate = 0;
  const std::string by_verb = Requests(before.requests, after.requests, window, &steady_rate);
  std::printf(
      "start at default flags: the operator's %d Jobs in %.1f s (%.1f Jobs/s); all Running %.1f s after the first Job "
      "(%.1f tasks/s: pods come from kube-controller-manager, see operator_kube's anchor)\n",
      n, job_seconds, n / job_seconds, start_seconds, n / start_seconds);
  std::printf(
      "%d running, each printing 1 line/s for %.0f s: logs followed %.0f over %.0f connections; operator threads %d "
      "(idle %d), sockets %d (idle %d), TCP connections to the API server %d (idle %d); RSS %.1f MiB (idle %.1f), "
      "peak %.1f MiB\n",
      n, window, followed, log_connections, after.threads, idle.threads, after.sockets, idle.sockets,
      after.api_connections, idle.api_connections, after.rss_mib, idle.rss_mib, peak_rss);
  std::printf("API requests while they ran: %.1f/s (%s); append errors %d\n", steady_rate, by_verb.c_str(),
              append_errors.load());
  std::printf("status.logTail showing a line from the window's second half: %d of %d tasks\n", live_tails, n);
  std::printf("archived logs matching what the pod printed (size and SHA-256): %d of %d%s%s\n", complete, n,
              first_mismatch.empty() ? "" : "; first mismatch: ", first_mismatch.c_str());
  return 0;
}
