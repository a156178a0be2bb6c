// bench_kube_create: how fast ctask's Kubernetes client creates objects.
// Creates --objects ConfigMaps (small data) in --namespace from --concurrency
// worker threads through one kube::KubeClient (the one the operator uses, from
// $KUBECONFIG), with the client-side rate limit off, and prints one line:
//
//   kube_create impl=ctask objects=2000 concurrency=4 seconds=6.123 objects_per_s=326.6
//
// bench/clientgo/main.go prints the same line for client-go, and
// bench/kube_create.sh runs both, interleaved, and prints the ratio. The
// namespace must exist; this program neither creates nor deletes it. On the
// first failed create every worker stops, the error is printed and the exit
// status is 1. A measurement, not a test: nothing here asserts a duration.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/connect.h"
#include "kube/resource.h"

namespace {

using Clock = std::chrono::steady_clock;
using ctask::Result;
using ctask::api::Json;

struct Options {
  std::string ns;
  int objects = 2000;
  int concurrency = 4;
  std::string prefix = "bench";
};

void Usage(std::ostream& out) {
  out << "Usage: bench_kube_create --namespace NS [--objects N] [--concurrency C] [--prefix P]\n"
         "  --namespace NS   an existing namespace to create the ConfigMaps in (required)\n"
         "  --objects N      ConfigMaps to create (default 2000), named P-00000, P-00001, ...\n"
         "  --concurrency C  worker threads, each creating one object at a time (default 4)\n"
         "  --prefix P       name prefix (default bench)\n"
         "The API server and credentials come from $KUBECONFIG (else ~/.kube/config).\n";
}

bool ParseCount(const std::string& flag, const std::string& value, int max, int& out) {
  char* end = nullptr;
  long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < 1 || n > max) {
    std::cerr << "bench_kube_create: " << flag << ": want a number from 1 to " << max << ", got \"" << value << "\"\n";
    return false;
  }
  out = static_cast<int>(n);
  return true;
}

// Returns false (after printing why) when the command line is wrong.
bool ParseFlags(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      Usage(std::cout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::cerr << "bench_kube_create: " << flag << ": missing value or unknown flag\n";
      Usage(std::cerr);
      return false;
    }
    std::string value = argv[++i];
    if (flag == "--namespace") {
      options.ns = value;
    } else if (flag == "--objects") {
      if (!ParseCount(flag, value, 1'000'000, options.objects)) return false;
    } else if (flag == "--concurrency") {
      if (!ParseCount(flag, value, 1000, options.concurrency)) return false;
    } else if (flag == "--prefix") {
      options.prefix = value;
    } else {
      std::cerr << "bench_kube_create: unknown flag " << flag << "\n";
      Usage(std::cerr);
      return false;
    }
  }
  if (options.ns.empty()) {
    std::cerr << "bench_kube_create: --namespace is required\n";
    Usage(std::cerr);
    return false;
  }
  return true;
}

// The i-th object: the same name and data as bench/clientgo/main.go makes.
Json ConfigMap(const std::string& prefix, int i) {
  char name[32];
  std::snprintf(name, sizeof name, "-%05d", i);
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", prefix + name}}},
          {"data", {{"index", std::to_string(i)}, {"payload", "ctask bench object"}}}};
}

// Shared by the workers: the next index to create, and the first error.
class Work {
 public:
  explicit Work(int objects) : objects_(objects) {}

  // The next index, or nullopt when all are taken or a worker failed.
  std::optional<int> Next() {
    if (failed_.load(std::memory_order_relaxed)) return std::nullopt;
    int i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= objects_) return std::nullopt;
    return i;
  }

  void Fail(std::string message) {
    std::lock_guard lock(mu_);
    if (!failed_.exchange(true)) first_error_ = std::move(message);
  }

  bool failed() const { return failed_.load(); }
  std::string first_error() {
    std::lock_guard lock(mu_);
    return first_error_;
  }

 private:
  const int objects_;
  std::atomic<int> next_{0};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::string first_error_;  // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseFlags(argc, argv, options)) return 2;

  Result<ctask::kube::ClusterConfig> config = ctask::kube::LoadKubeconfig({});
  if (!config) {
    std::cerr << "bench_kube_create: " << config.error().message() << "\n";
    return 1;
  }
  // qps 0: no client-side rate limit, as client-go with QPS -1 in the baseline.
  Result<ctask::kube::KubeClientPtr> client =
      ctask::kube::Connect(*config, ctask::kube::ClientOptions{.qps = 0, .user_agent = "ctask-bench"});
  if (!client) {
    std::cerr << "bench_kube_create: " << client.error().message() << "\n";
    return 1;
  }
  const ctask::kube::Resource config_maps = ctask::kube::resources::ConfigMaps();
  // Built before the clock starts, as main.go builds its objects.
  std::vector<Json> objects;
  objects.reserve(options.objects);
  for (int i = 0; i < options.objects; ++i) objects.push_back(ConfigMap(options.prefix, i));

  Work work(options.objects);
  Clock::time_point start = Clock::now();
  {
    std::vector<std::jthread> workers;
    for (int w = 0; w < options.concurrency; ++w) {
      workers.emplace_back([&] {
        while (std::optional<int> i = work.Next()) {
          Result<Json> created = (*client)->Create(config_maps, options.ns, objects[*i]);
          if (!created) work.Fail(created.error().message());
        }
      });
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (work.failed()) {
    std::cerr << "bench_kube_create: " << work.first_error() << "\n";
    return 1;
  }
  std::printf("kube_create impl=ctask objects=%d concurrency=%d seconds=%.3f objects_per_s=%.1f\n", options.objects,
              options.concurrency, seconds, options.objects / seconds);
  return 0;
}
