// bench_fan_out_kube: a fan-out of N items at parallelism P (issue 12) on the
// control plane of hack/cluster, the fake kubelet of tests/cluster as the
// node, against a plain Indexed Job of the same shape in the same run:
//
//   1. an Indexed Job (completionMode Indexed, completions N, parallelism P,
//      backoffLimitPerIndex 0), run by kube-controller-manager;
//   2. one ContainerTask (completions N, parallelism P), run by `ctask
//      operator` (one Job per item, docs/architecture.md);
//   3. the Indexed Job again.
//
// Each item's pod is played by this process: once the fake kubelet has
// taken it on it is set running and, after --item-ms, exited 0. Each round
// has a namespace of its own. Prints the time from create to all N done
// for each round, the ratio ctask / Indexed Job (mean of the two), the
// operator's peak RSS sampled through its round, its API requests, and the
// final status's size. A measurement, not a test: nothing here asserts a
// figure. See bench/README.md.
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
#include "kube/client.h"
#include "kube/config.h"
#include "kube/connect.h"
#include "kube/resource.h"
#include "kube_bench.h"

namespace {

using ctask::api::Json;
using ctask::bench::Clock;
using ctask::bench::Die;
using ctask::bench::Seconds;
using std::chrono::milliseconds;
namespace kube = ctask::kube;
namespace resources = ctask::kube::resources;

struct Options {
  std::string ctask = "build/controller/ctask";
  int items = 1000;
  int parallelism = 50;
  int item_ms = 100;
  std::string kube_api_qps;  // "" = the operator's default
  std::string run_id;        // "" = "bf-<pid>"
  std::string clean_up;
};

[[noreturn]] void Usage(int code) {
  std::cerr << "usage: bench_fan_out_kube [--ctask PATH] [-n ITEMS] [-p PARALLELISM] [--item-ms MS]\n"
               "                          [--kube-api-qps QPS] [--run-id ID] [--clean-up ID]\n";
  std::exit(code);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(2);
      return argv[++i];
    };
    if (a == "--ctask") {
      o.ctask = value();
    } else if (a == "-n") {
      o.items = std::stoi(value());
    } else if (a == "-p") {
      o.parallelism = std::stoi(value());
    } else if (a == "--item-ms") {
      o.item_ms = std::stoi(value());
    } else if (a == "--kube-api-qps") {
      o.kube_api_qps = value();
    } else if (a == "--run-id") {
      o.run_id = value();
    } else if (a == "--clean-up") {
      o.clean_up = value();
    } else if (a == "-h" || a == "--help") {
      Usage(0);
    } else {
      Usage(2);
    }
  }
  if (o.items < 1 || o.parallelism < 1 || o.item_ms < 0) Usage(2);
  return o;
}

// Plays every pod the fake node takes on: running, then exited 0 after
// `run_for`. One short thread per pod.
class PodDriver {
 public:
  PodDriver(ctask::testing::FakeKubelet& kubelet, milliseconds run_for) : kubelet_(kubelet), run_for_(run_for) {}
  ~PodDriver() { Join(); }

  void OnPod(const kube::WatchEvent& e) {
    const Json& pod = e.object;
    const std::string node = pod.value("spec", Json::object()).value("nodeName", "");
    if (node != kubelet_.node_name() || e.type == "DELETED") return;
    const std::string ns = pod["metadata"].value("namespace", "");
    const std::string name = pod["metadata"].value("name", "");
    std::lock_guard lock(mu_);
    if (!driven_.insert(ns + "/" + name).second) return;
    threads_.emplace_back([this, ns, name] { Drive(ns, name); });
  }
  void Join() {
    std::vector<std::jthread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
  }

 private:
  void Drive(const std::string& ns, const std::string& pod) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (true) {
      ctask::Status running = kubelet_.SetRunning(ns, pod);
      if (running) break;
      if (running.error().code() != ctask::ErrorCode::kNotFound || Clock::now() > deadline) return;
      std::this_thread::sleep_for(milliseconds(10));
    }
    std::this_thread::sleep_for(run_for_);
    (void)kubelet_.Exit(ns, pod, 0);
  }

  ctask::testing::FakeKubelet& kubelet_;
  const milliseconds run_for_;
  std::mutex mu_;
  std::set<std::string> driven_;       // guarded by mu_
  std::vector<std::jthread> threads_;  // guarded by mu_
};

Json IndexedJob(const std::string& ns, const Options& o) {
  Json container = {
      {"name", "item"}, {"image", "busybox:1.36"}, {"command", {"sh", "-c", "echo $JOB_COMPLETION_INDEX"}}};
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"metadata", {{"name", "indexed"}, {"namespace", ns}}},
          {"spec",
           {{"completionMode", "Indexed"},
            {"completions", o.items},
            {"parallelism", o.parallelism},
            {"backoffLimitPerIndex", 0},
            {"template", {{"spec", {{"restartPolicy", "Never"}, {"containers", Json::array({container})}}}}}}}};
}

Json FanOutTask(const std::string& ns, const Options& o) {
  return {{"apiVersion", "ctask.io/v1alpha1"},
          {"kind", "ContainerTask"},
          {"metadata", {{"name", "fanout"}, {"namespace", ns}}},
          {"spec",
           {{"image", "busybox:1.36"},
            {"command", {"sh", "-c", "echo $CTASK_INDEX"}},
            {"completions", o.items},
            {"parallelism", o.parallelism}}}};
}

// Polls `done` every 200 ms (with a line of progress every 10 s) until it
// holds; dies after 30 minutes.
template <typename Done, typename Progress>
double WaitDone(Clock::time_point start, Done done, Progress progress) {
  auto last = Clock::now();
  while (!done()) {
    if (Clock::now() - start > std::chrono::minutes(30)) Die("not done after 30 minutes: " + progress());
    if (Clock::now() - last > std::chrono::seconds(10)) {
      std::cerr << "  " << progress() << "\n";
      last = Clock::now();
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  return Seconds(Clock::now() - start);
}

// What a round cost the API server: every request it answered, from all
// clients (this benchmark's polls and the fake kubelet's included, alike in
// every round but for the round's length), and kube-controller-manager's
// share of them. -1 where a /metrics did not answer.
struct Cost {
  double apiserver = 0;
  double kcm = 0;
};

Cost CountersNow() {
  return {ctask::bench::ApiServerRequests(), ctask::bench::KcmRequests()};
}

Cost Since(const Cost& before) {
  const Cost now = CountersNow();
  auto minus = [](double a, double b) { return a < 0 || b < 0 ? -1 : a - b; };
  return {minus(now.apiserver, before.apiserver), minus(now.kcm, before.kcm)};
}

std::string PerItem(double requests, int items) {
  if (requests < 0) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", requests / items);
  return text;
}

double IndexedJobRound(kube::KubeClient& client, const std::string& ns, const Options& o) {
  std::cerr << "Indexed Job: " << o.items << " completions at parallelism " << o.parallelism << " in " << ns << "\n";
  const auto start = Clock::now();
  if (auto created = client.Create(resources::Jobs(), ns, IndexedJob(ns, o)); !created) {
    Die(created.error().message());
  }
  int succeeded = 0;
  return WaitDone(
      start,
      [&] {
        ctask::Result<Json> job = client.Get(resources::Jobs(), ns, "indexed");
        if (!job) return false;
        const Json status = job->value("status", Json::object());
        if (status.value("failed", 0) > 0) Die("the Indexed Job had a failed pod: " + status.dump());
        succeeded = status.value("succeeded", 0);
        return succeeded >= o.items;
      },
      [&] { return std::to_string(succeeded) + " succeeded"; });
}

struct CtaskRound {
  double seconds = 0;
  double peak_rss_mib = 0;
  std::map<std::string, double> requests;  // the operator's, by verb
  size_t status_bytes = 0;
};

CtaskRound ContainerTaskRound(kube::KubeClient& client, const std::string& ns, const Options& o,
                              const std::string& log_path) {
  std::vector<std::string> args = {o.ctask,       "operator", "--backend",      "kubernetes",
                                   "--namespace", ns,         "--http-address", "127.0.0.1:0"};
  if (!o.kube_api_qps.empty()) {
    args.push_back("--kube-api-qps");
    args.push_back(o.kube_api_qps);
  }
  ctask::bench::OperatorProcess op(args, log_path);
  std::cerr << "ContainerTask: completions " << o.items << " at parallelism " << o.parallelism << " in " << ns << "\n";
  CtaskRound round;
  const auto start = Clock::now();
  if (auto created = client.Create(resources::ContainerTasks(), ns, FanOutTask(ns, o)); !created) {
    Die(created.error().message());
  }
  Json status;
  round.seconds = WaitDone(
      start,
      [&] {
        round.peak_rss_mib = std::max(round.peak_rss_mib, op.RssMiB());
        ctask::Result<Json> task = client.Get(resources::ContainerTasks(), ns, "fanout");
        if (!task) return false;
        status = task->value("status", Json::object());
        const std::string phase = status.value("phase", "");
        if (phase == "Failed" || phase == "Cancelled") Die("the fan-out ended " + phase + ": " + status.dump());
        return phase == "Succeeded";
      },
      [&] { return status.value("fanOut", Json::object()).dump().substr(0, 200); });
  round.status_bytes = status.dump().size();
  round.requests = ctask::bench::SumBy(op.Metrics(), "ctask_kube_api_requests_total", "verb");
  return round;
}

}  // namespace

int main(int argc, char** argv) {
  ctask::bench::ProgramName() = "bench_fan_out_kube";
  const Options o = Parse(argc, argv);
  const kube::KubeClientPtr connected = ctask::bench::ConnectToTestCluster();
  kube::KubeClient& client = *connected;
  if (!o.clean_up.empty()) {
    ctask::bench::CleanUp(client, o.clean_up);
    return 0;
  }
  const std::string run = o.run_id.empty() ? "bf-" + std::to_string(getpid()) : o.run_id;
  const std::string tmp = "/tmp/" + run;
  std::filesystem::create_directories(tmp);

  ctask::bench::Namespace job1(client, run + "-job1");
  ctask::bench::Namespace fan(client, run + "-ctask");
  ctask::bench::Namespace job2(client, run + "-job2");
  ctask::testing::FakeKubeletOptions kubelet_options;
  kubelet_options.namespaces = {job1.name(), fan.name(), job2.name()};
  kubelet_options.workers = 4;
  ctask::testing::FakeKubelet kubelet(client, kubelet_options);
  if (ctask::Status started = kubelet.Start(); !started) Die(started.error().message());
  PodDriver driver(kubelet, milliseconds(o.item_ms));
  std::vector<std::jthread> watches;
  for (const std::string& ns : {job1.name(), fan.name(), job2.name()}) {
    watches.push_back(
        ctask::bench::WatchFrom(client, resources::Pods(), ns, [&](const kube::WatchEvent& e) { driver.OnPod(e); }));
  }

  Cost before = CountersNow();
  const double first = IndexedJobRound(client, job1.name(), o);
  const Cost first_cost = Since(before);
  before = CountersNow();
  const CtaskRound ctask_round = ContainerTaskRound(client, fan.name(), o, tmp + "/operator.log");
  const Cost ctask_cost = Since(before);
  before = CountersNow();
  const double second = IndexedJobRound(client, job2.name(), o);
  const Cost second_cost = Since(before);
  for (std::jthread& w : watches) w.request_stop();
  watches.clear();
  driver.Join();

  const double baseline = (first + second) / 2;
  std::printf("fan-out of %d items at parallelism %d, each pod running %d ms (fake kubelet)\n", o.items, o.parallelism,
              o.item_ms);
  std::printf("Indexed Job, round 1:     %8.1f s  (%.1f items/s)\n", first, o.items / first);
  std::printf("ContainerTask (ctask):    %8.1f s  (%.1f items/s)  operator --kube-api-qps %s\n", ctask_round.seconds,
              o.items / ctask_round.seconds, o.kube_api_qps.empty() ? "default" : o.kube_api_qps.c_str());
  std::printf("Indexed Job, round 2:     %8.1f s  (%.1f items/s)\n", second, o.items / second);
  std::printf("ratio ctask / Indexed Job (mean of 2): %.2f\n", ctask_round.seconds / baseline);
  double operator_requests = 0;
  std::string by_verb;
  for (const auto& [verb, n] : ctask_round.requests) {
    operator_requests += n;
    by_verb += (by_verb.empty() ? "" : ", ") + verb + " " + PerItem(n, o.items);
  }
  std::printf("operator: peak RSS %.1f MiB, %.0f API requests (%.1f per item: %s), final status %zu bytes\n",
              ctask_round.peak_rss_mib, operator_requests, operator_requests / o.items, by_verb.c_str(),
              ctask_round.status_bytes);
  std::printf(
      "API server requests per item, all clients (kube-controller-manager's): Indexed Job %s (%s), "
      "ctask %s (%s), Indexed Job %s (%s)\n",
      PerItem(first_cost.apiserver, o.items).c_str(), PerItem(first_cost.kcm, o.items).c_str(),
      PerItem(ctask_cost.apiserver, o.items).c_str(), PerItem(ctask_cost.kcm, o.items).c_str(),
      PerItem(second_cost.apiserver, o.items).c_str(), PerItem(second_cost.kcm, o.items).c_str());
  std::fflush(stdout);
  std::filesystem::remove_all(tmp);
  return 0;
}
