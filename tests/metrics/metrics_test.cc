// OperatorMetrics through what a scraper sees: Render's text format parsed
// back into samples, so the tests check names, types, labels and values
// rather than byte layout; and the three routes served over real HTTP on
// loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "http/curl_client.h"
#include "metrics/health.h"
#include "metrics/metrics_server.h"
#include "metrics/operator_metrics.h"

namespace ctask::metrics {
namespace {

using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// The exposition format's sample lines: name{k="v",...} value. Label values
// here never hold quotes or commas, so the parse can stay simple.
struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;

  static Exposition Parse(const std::string& text) {
    Exposition out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      if (line.starts_with("# TYPE ") || line.starts_with("# HELP ")) {
        std::string rest = line.substr(7);
        size_t space = rest.find(' ');
        (line[2] == 'T' ? out.types : out.help)[rest.substr(0, space)] = rest.substr(space + 1);
        continue;
      }
      Sample sample;
      size_t brace = line.find('{');
      size_t value_at = line.rfind(' ');
      if (brace != std::string::npos && brace < value_at) {
        sample.name = line.substr(0, brace);
        std::string labels = line.substr(brace + 1, line.find('}') - brace - 1);
        std::istringstream pairs(labels);
        std::string pair;
        while (std::getline(pairs, pair, ',')) {
          size_t eq = pair.find('=');
          sample.labels[pair.substr(0, eq)] = pair.substr(eq + 2, pair.size() - eq - 3);
        }
      } else {
        sample.name = line.substr(0, value_at);
      }
      sample.value = std::stod(line.substr(value_at + 1));
      out.samples.push_back(sample);
    }
    return out;
  }

  std::optional<double> Value(const std::string& name, const Labels& labels = {}) const {
    for (const Sample& sample : samples) {
      if (sample.name == name && sample.labels == labels) return sample.value;
    }
    return std::nullopt;
  }

  // The cumulative count of the bucket whose bound is `le`.
  std::optional<double> Bucket(const std::string& family, double le, Labels labels = {}) const {
    for (const Sample& sample : samples) {
      if (sample.name != family + "_bucket") continue;
      Labels rest = sample.labels;
      auto bound = rest.find("le");
      if (bound == rest.end()) continue;
      const double at = bound->second == "+Inf" ? 1e300 : std::stod(bound->second);
      rest.erase(bound);
      if (rest == labels && at == le) return sample.value;
    }
    return std::nullopt;
  }
};

Exposition Scrape(const OperatorMetrics& metrics) {
  return Exposition::Parse(metrics.Render());
}

TEST(OperatorMetrics, EveryFamilyIsPresentWithItsType) {
  OperatorMetrics metrics;
  metrics.CountKubeRequest("get", 200);  // families with open label sets appear with their first series
  metrics.CountWatchRestart("pods");
  metrics.ObserveAdmissionWait("ns/q", 1s);
  metrics.ObserveBootTime("ns/q", 1s);
  metrics.SetQueueTasks({{"ns/q", {1, 1}}});
  const Exposition e = Scrape(metrics);
  const std::map<std::string, std::string> want = {
      {"ctask_tasks", "gauge"},
      {"ctask_reconcile_total", "counter"},
      {"ctask_reconcile_duration_seconds", "histogram"},
      {"ctask_workqueue_depth", "gauge"},
      {"ctask_workqueue_adds_total", "counter"},
      {"ctask_workqueue_retries_total", "counter"},
      {"ctask_workqueue_queue_duration_seconds", "histogram"},
      {"ctask_task_start_latency_seconds", "histogram"},
      {"ctask_task_duration_seconds", "histogram"},
      {"ctask_kube_api_requests_total", "counter"},
      {"ctask_watch_restarts_total", "counter"},
      {"ctask_leader", "gauge"},
      {"ctask_log_follows", "gauge"},
      {"ctask_log_connections", "gauge"},
      {"ctask_queue_wait_seconds", "histogram"},
      {"ctask_queue_boot_seconds", "histogram"},
      {"ctask_queue_tasks", "gauge"},
      {"ctask_heap_bytes", "gauge"},
  };
  EXPECT_EQ(e.types, want);
  for (const auto& [family, type] : want) {
    EXPECT_TRUE(e.help.contains(family) && !e.help.at(family).empty()) << family << " has no help text";
  }
}

TEST(OperatorMetrics, FixedLabelSetsStartAtZero) {
  OperatorMetrics metrics;
  const Exposition e = Scrape(metrics);
  for (const char* phase : {"Pending", "Queued", "Running", "Succeeded", "Failed", "Cancelled", "Suspended"}) {
    EXPECT_EQ(e.Value("ctask_tasks", {{"phase", phase}}), 0.0) << phase;
  }
  for (const char* result : {"success", "error", "requeue"}) {
    EXPECT_EQ(e.Value("ctask_reconcile_total", {{"result", result}}), 0.0) << result;
  }
  for (const char* phase : {"Succeeded", "Failed", "Cancelled"}) {
    EXPECT_EQ(e.Value("ctask_task_duration_seconds_count", {{"phase", phase}}), 0.0) << phase;
  }
  EXPECT_EQ(e.Value("ctask_leader"), 0.0);
  EXPECT_EQ(e.Value("ctask_workqueue_depth"), 0.0);
  EXPECT_EQ(e.Value("ctask_workqueue_adds_total"), 0.0);
}

TEST(OperatorMetrics, TaskCountsReplaceTheLastOnes) {
  OperatorMetrics metrics;
  metrics.SetTaskCounts({{"Running", 3}, {"Succeeded", 10}, {"Weird", 1}});
  Exposition e = Scrape(metrics);
  EXPECT_EQ(e.Value("ctask_tasks", {{"phase", "Running"}}), 3.0);
  EXPECT_EQ(e.Value("ctask_tasks", {{"phase", "Succeeded"}}), 10.0);
  EXPECT_EQ(e.Value("ctask_tasks", {{"phase", "Weird"}}), 1.0);
  EXPECT_EQ(e.Value("ctask_tasks", {{"phase", "Pending"}}), 0.0);

  metrics.SetTaskCounts({{"Succeeded", 13}});
  e = Scrape(metrics);
  EXPECT_EQ(e.Value("ctask_tasks", {{"phase", "Running"}}), 0.0) << "a phase that emptied reads 0";
  EXPECT_EQ(e.Value("ctask_tasks", {{"phase", "Weird"}}), 0.0);
  EXPECT_EQ(e.Value("ctask_tasks", {{"phase", "Succeeded"}}), 13.0);
}

TEST(OperatorMetrics, ReconcileCountsByResultAndObservesDuration) {
  OperatorMetrics metrics;
  metrics.ObserveReconcile(ReconcileResult::kSuccess, 30ms);
  metrics.ObserveReconcile(ReconcileResult::kSuccess, 2ms);
  metrics.ObserveReconcile(ReconcileResult::kError, 20s);
  metrics.ObserveReconcile(ReconcileResult::kRequeue, 1ms);
  const Exposition e = Scrape(metrics);
  EXPECT_EQ(e.Value("ctask_reconcile_total", {{"result", "success"}}), 2.0);
  EXPECT_EQ(e.Value("ctask_reconcile_total", {{"result", "error"}}), 1.0);
  EXPECT_EQ(e.Value("ctask_reconcile_total", {{"result", "requeue"}}), 1.0);
  EXPECT_EQ(e.Value("ctask_reconcile_duration_seconds_count"), 4.0);
  EXPECT_NEAR(*e.Value("ctask_reconcile_duration_seconds_sum"), 20.033, 1e-9);
  EXPECT_EQ(e.Bucket("ctask_reconcile_duration_seconds", 0.001), 1.0);
  EXPECT_EQ(e.Bucket("ctask_reconcile_duration_seconds", 0.0025), 2.0);
  EXPECT_EQ(e.Bucket("ctask_reconcile_duration_seconds", 0.025), 2.0);
  EXPECT_EQ(e.Bucket("ctask_reconcile_duration_seconds", 0.05), 3.0);
  EXPECT_EQ(e.Bucket("ctask_reconcile_duration_seconds", 10), 3.0);
  EXPECT_EQ(e.Bucket("ctask_reconcile_duration_seconds", 1e300), 4.0) << "+Inf";
}

TEST(OperatorMetrics, AdmissionPerQueue) {
  OperatorMetrics metrics;
  metrics.ObserveAdmissionWait("team-a/default", 90s);
  metrics.ObserveAdmissionWait("team-a/default", 200ms);
  metrics.ObserveBootTime("team-a/default", 300ms);
  metrics.SetQueueTasks({{"team-a/default", {7, 1}}, {"team-b/etl", {0, 2}}});
  Exposition e = Scrape(metrics);
  const Labels a = {{"queue", "team-a/default"}};
  EXPECT_EQ(e.Value("ctask_queue_wait_seconds_count", a), 2.0);
  EXPECT_EQ(e.Bucket("ctask_queue_wait_seconds", 0.5, a), 1.0);
  EXPECT_EQ(e.Bucket("ctask_queue_wait_seconds", 300, a), 2.0);
  EXPECT_EQ(e.Bucket("ctask_queue_boot_seconds", 0.25, a), 0.0);
  EXPECT_EQ(e.Bucket("ctask_queue_boot_seconds", 0.5, a), 1.0);
  EXPECT_EQ(e.Value("ctask_queue_tasks", {{"queue", "team-a/default"}, {"state", "waiting"}}), 7.0);
  EXPECT_EQ(e.Value("ctask_queue_tasks", {{"queue", "team-b/etl"}, {"state", "running"}}), 2.0);
  metrics.SetQueueTasks({{"team-b/etl", {0, 1}}});
  e = Scrape(metrics);
  EXPECT_EQ(e.Value("ctask_queue_tasks", {{"queue", "team-a/default"}, {"state", "waiting"}}), 0.0)
      << "a queue that emptied reads 0";
  EXPECT_EQ(e.Value("ctask_queue_tasks", {{"queue", "team-b/etl"}, {"state", "running"}}), 1.0);
}

TEST(OperatorMetrics, QueueKubeWatchAndLeader) {
  OperatorMetrics metrics;
  metrics.CountQueueAdd();
  metrics.CountQueueAdd();
  metrics.CountQueueRetry();
  metrics.SetQueueDepth(7);
  metrics.ObserveQueueWait(40ms);
  metrics.CountKubeRequest("list", 200);
  metrics.CountKubeRequest("list", 200);
  metrics.CountKubeRequest("update", 409);
  metrics.CountKubeRequest("watch", 0);
  metrics.KubeRequestHook()("get", 404);
  metrics.CountWatchRestart("containertasks");
  metrics.CountWatchRestart("containertasks");
  metrics.SetLeader(true);
  const Exposition e = Scrape(metrics);
  EXPECT_EQ(e.Value("ctask_workqueue_adds_total"), 2.0);
  EXPECT_EQ(e.Value("ctask_workqueue_retries_total"), 1.0);
  EXPECT_EQ(e.Value("ctask_workqueue_depth"), 7.0);
  EXPECT_EQ(e.Value("ctask_workqueue_queue_duration_seconds_count"), 1.0);
  EXPECT_EQ(e.Bucket("ctask_workqueue_queue_duration_seconds", 0.01), 0.0);
  EXPECT_EQ(e.Bucket("ctask_workqueue_queue_duration_seconds", 0.05), 1.0);
  EXPECT_EQ(e.Value("ctask_kube_api_requests_total", {{"verb", "list"}, {"code", "200"}}), 2.0);
  EXPECT_EQ(e.Value("ctask_kube_api_requests_total", {{"verb", "update"}, {"code", "409"}}), 1.0);
  EXPECT_EQ(e.Value("ctask_kube_api_requests_total", {{"verb", "watch"}, {"code", "error"}}), 1.0);
  EXPECT_EQ(e.Value("ctask_kube_api_requests_total", {{"verb", "get"}, {"code", "404"}}), 1.0);
  EXPECT_EQ(e.Value("ctask_watch_restarts_total", {{"resource", "containertasks"}}), 2.0);
  EXPECT_EQ(e.Value("ctask_leader"), 1.0);
  metrics.SetLeader(false);
  EXPECT_EQ(Scrape(metrics).Value("ctask_leader"), 0.0);
  metrics.SetLogFollows(1000, 4);
  EXPECT_EQ(Scrape(metrics).Value("ctask_log_follows"), 1000.0);
  EXPECT_EQ(Scrape(metrics).Value("ctask_log_connections"), 4.0);
}

TEST(OperatorMetrics, TaskLatencyAndDurationUseLongBuckets) {
  OperatorMetrics metrics;
  metrics.ObserveTaskStartLatency(8s);
  metrics.ObserveTaskDuration("Succeeded", 90min);
  metrics.ObserveTaskDuration("Failed", 3s);
  const Exposition e = Scrape(metrics);
  EXPECT_EQ(e.Bucket("ctask_task_start_latency_seconds", 5), 0.0);
  EXPECT_EQ(e.Bucket("ctask_task_start_latency_seconds", 10), 1.0);
  EXPECT_EQ(e.Bucket("ctask_task_start_latency_seconds", 3600), 1.0);
  EXPECT_EQ(e.Bucket("ctask_task_duration_seconds", 3600, {{"phase", "Succeeded"}}), 0.0);
  EXPECT_EQ(e.Bucket("ctask_task_duration_seconds", 7200, {{"phase", "Succeeded"}}), 1.0);
  EXPECT_EQ(e.Bucket("ctask_task_duration_seconds", 5, {{"phase", "Failed"}}), 1.0);
  EXPECT_EQ(e.Value("ctask_task_duration_seconds_sum", {{"phase", "Succeeded"}}), 5400.0);
  EXPECT_EQ(e.Value("ctask_task_duration_seconds_count", {{"phase", "Cancelled"}}), 0.0);
}

TEST(OperatorMetrics, BucketsAscendAndSpanTheirRange) {
  for (const std::vector<double>& buckets :
       {ReconcileBuckets(), QueueWaitBuckets(), StartLatencyBuckets(), TaskDurationBuckets()}) {
    ASSERT_FALSE(buckets.empty());
    EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
    EXPECT_EQ(std::adjacent_find(buckets.begin(), buckets.end()), buckets.end());
  }
  EXPECT_EQ(ReconcileBuckets().front(), 0.001);
  EXPECT_EQ(ReconcileBuckets().back(), 10.0);
  EXPECT_EQ(StartLatencyBuckets().back(), 3600.0);
  EXPECT_EQ(TaskDurationBuckets().back(), 86400.0);
}

// ---- served over HTTP ----

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<HttpServerPtr> started = StartMetricsServer("127.0.0.1:0", metrics_, healthz_, readyz_);
    ASSERT_TRUE(started.has_value()) << started.error().message();
    server_ = std::move(*started);
  }

  Result<http::Response> Get(const std::string& path_and_query, std::string method = "GET") {
    http::CurlClient client(http::CurlOptions{});
    http::Request request;
    request.method = std::move(method);
    request.url = "http://127.0.0.1:" + std::to_string(server_->Port()) + path_and_query;
    request.timeout = 20s;
    return client.Do(request);
  }

  OperatorMetrics metrics_;
  HealthChecks healthz_{"healthz"};
  HealthChecks readyz_{"readyz"};
  HttpServerPtr server_;  // last: stopped before what it serves goes
};

TEST_F(MetricsServerTest, ServesMetricsInTheTextFormat) {
  metrics_.ObserveReconcile(ReconcileResult::kSuccess, 5ms);
  metrics_.SetLeader(true);
  Result<http::Response> response = Get("/metrics");
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  const Exposition e = Exposition::Parse(response->body);
  EXPECT_EQ(e.types.at("ctask_reconcile_duration_seconds"), "histogram");
  EXPECT_EQ(e.Value("ctask_reconcile_total", {{"result", "success"}}), 1.0);
  EXPECT_EQ(e.Value("ctask_leader"), 1.0);

  Result<http::Response> head = Get("/metrics", "HEAD");
  ASSERT_TRUE(head.has_value()) << head.error().message();
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

TEST_F(MetricsServerTest, HealthAndReadinessAreSeparateSets) {
  std::atomic<bool> synced = false;  // read on the server's worker thread
  healthz_.Add("ping", [] { return Status(); });
  readyz_.Add("informer-sync",
              [&] { return synced ? Status() : MakeError(ErrorCode::kUnavailable, "tasks not listed yet"); });

  Result<http::Response> live = Get("/healthz");
  ASSERT_TRUE(live.has_value()) << live.error().message();
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->body, "ok");

  Result<http::Response> ready = Get("/readyz");
  ASSERT_TRUE(ready.has_value()) << ready.error().message();
  EXPECT_EQ(ready->status, 500);
  EXPECT_EQ(ready->body, "[-]informer-sync failed: reason withheld\nreadyz check failed\n");

  Result<http::Response> verbose = Get("/readyz?verbose");
  ASSERT_TRUE(verbose.has_value()) << verbose.error().message();
  EXPECT_EQ(verbose->status, 500);
  EXPECT_EQ(verbose->body, "[-]informer-sync failed: tasks not listed yet\nreadyz check failed\n");

  synced = true;
  Result<http::Response> now_ready = Get("/readyz?verbose=1");
  ASSERT_TRUE(now_ready.has_value()) << now_ready.error().message();
  EXPECT_EQ(now_ready->status, 200);
  EXPECT_EQ(now_ready->body, "[+]informer-sync ok\nreadyz check passed\n");

  Result<http::Response> other = Get("/livez");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->status, 404);
}

TEST(StartMetricsServer, ABadAddressIsAnError) {
  OperatorMetrics metrics;
  HealthChecks healthz("healthz");
  HealthChecks readyz("readyz");
  Result<HttpServerPtr> started = StartMetricsServer("127.0.0.1:notaport", metrics, healthz, readyz);
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(started.error().message().find("127.0.0.1:notaport"), std::string::npos);
}

}  // namespace
}  // namespace ctask::metrics
