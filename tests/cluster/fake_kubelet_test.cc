// The fake kubelet (fake_kubelet.h) against the real control plane: Jobs
// made through our client get their pods from kube-controller-manager, the
// harness binds and drives them, and what the Job controller, the garbage
// collector and the API server's pods/log proxy make of that is checked —
// so the operator's end-to-end suites can trust the harness. The pure log
// rules (fake_kubelet_log.h) are checked first, without a cluster.
#include "cluster/fake_kubelet.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/kube_fixture.h"
#include "cluster/proc_sockets.h"
#include "http/curl_client.h"
#include "kube/log_streams.h"
#include "kube/resource.h"

namespace ctask::testing {
namespace {

using api::Json;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace resources = kube::resources;

// --- the log rules, without a cluster ------------------------------------------------

LogTimePoint At(int64_t seconds_since_epoch, int64_t nanos) {
  return LogTimePoint(std::chrono::seconds(seconds_since_epoch) + std::chrono::nanoseconds(nanos));
}

// 2026-11-23T18:50:00Z
constexpr int64_t kBase = 1795459800;

std::string Serve(const std::vector<LogEntry>& log, const std::string& query) {
  Result<ContainerLogQuery> parsed = ParseContainerLogQuery(query, At(kBase + 100, 0));
  EXPECT_TRUE(parsed.has_value()) << query;
  if (!parsed) return "";
  LogResponder responder(*parsed);
  std::string out;
  for (size_t i = responder.FirstEntry(log.size()); i < log.size(); ++i) {
    if (!responder.Next(log[i], out)) break;
  }
  return out;
}

TEST(FakeKubeletLogTest, TimestampsHaveNineFractionDigitsInUtc) {
  EXPECT_EQ(FormatLogTimestamp(At(kBase, 5)), "2026-11-23T18:50:00.000000005Z");
  EXPECT_EQ(FormatLogTimestamp(At(kBase + 61, 123456789)), "2026-11-23T18:51:01.123456789Z");
}

TEST(FakeKubeletLogTest, EntriesAreOneLineEachAndStrictlyOrdered) {
  std::vector<LogEntry> first = SplitIntoEntries("a\nb\npart", At(kBase, 0), std::nullopt);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].text, "a\n");
  EXPECT_EQ(first[2].text, "part");
  EXPECT_LT(first[0].time, first[1].time);
  // A clock that went back still stamps after the last entry.
  std::vector<LogEntry> later = SplitIntoEntries("ial\n", At(kBase - 5, 0), first.back().time);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_GT(later[0].time, first.back().time);
}

TEST(FakeKubeletLogTest, ServesLikeTheKubelet) {
  const std::vector<LogEntry> log = {
      {At(kBase, 0), "one\n"},       {At(kBase + 10, 0), "two\n"}, {At(kBase + 20, 0), "thr"},  // a partial line ...
      {At(kBase + 21, 0), "ee\n"},  // ... and its end: no timestamp of its own
      {At(kBase + 30, 0), "four\n"},
  };
  EXPECT_EQ(Serve(log, ""), "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(Serve(log, "timestamps=true"),
            "2026-11-23T18:50:00.000000000Z one\n2026-11-23T18:50:10.000000000Z two\n"
            "2026-11-23T18:50:20.000000000Z three\n2026-11-23T18:50:30.000000000Z four\n");
  // sinceTime keeps an entry exactly at it; the API server sends seconds.
  EXPECT_EQ(Serve(log, "sinceTime=2026-11-23T18%3A50%3A10Z"), "two\nthree\nfour\n");
  // sinceSeconds counts back from now (kBase + 100); the later bound wins.
  EXPECT_EQ(Serve(log, "sinceSeconds=75"), "four\n");
  EXPECT_EQ(Serve(log, "sinceSeconds=1000&sinceTime=2026-11-23T18%3A50%3A21Z"), "ee\nfour\n");
  // tailLines counts entries (file lines), a partial one too.
  EXPECT_EQ(Serve(log, "tailLines=2"), "ee\nfour\n");
  EXPECT_EQ(Serve(log, "tailLines=0"), "");
  EXPECT_EQ(Serve(log, "tailLines=9"), "one\ntwo\nthree\nfour\n");
  // limitBytes cuts mid-line, timestamps included.
  EXPECT_EQ(Serve(log, "limitBytes=6"), "one\ntw");
  EXPECT_EQ(Serve(log, "limitBytes=33&timestamps=true"), "2026-11-23T18:50:00.000000000Z on");
  EXPECT_EQ(Serve(log, "stream=Stderr"), "");
  EXPECT_EQ(Serve(log, "stream=All&follow=false"), "one\ntwo\nthree\nfour\n");

  EXPECT_FALSE(ParseContainerLogQuery("stream=Both", At(kBase, 0)).has_value());
  EXPECT_FALSE(ParseContainerLogQuery("tailLines=-1", At(kBase, 0)).has_value());
  EXPECT_FALSE(ParseContainerLogQuery("limitBytes=0", At(kBase, 0)).has_value());
  EXPECT_FALSE(ParseContainerLogQuery("follow=maybe", At(kBase, 0)).has_value());
  EXPECT_FALSE(ParseContainerLogQuery("sinceTime=yesterday", At(kBase, 0)).has_value());
}

TEST(FakeKubeletLogTest, TheFallbackTerminationMessageIsTheLogsEnd) {
  std::vector<LogEntry> log;
  for (int i = 0; i < 100; ++i) log.push_back({At(kBase, i), "line " + std::to_string(i) + "\n"});
  const std::string message = TerminationMessageFromLog(log);
  EXPECT_EQ(message.substr(0, 8), "line 20\n") << "the last 80 lines";
  log.push_back({At(kBase, 200), std::string(3000, 'x') + "\n"});
  EXPECT_EQ(TerminationMessageFromLog(log), std::string(2047, 'x') + "\n") << "at most 2048 bytes";
}

// --- against the control plane ------------------------------------------------------

constexpr milliseconds kPodTimeout{30'000};
constexpr milliseconds kJobTimeout{60'000};

class FakeKubeletTest : public KubeClientTest {
 protected:
  void SetUp() override {
    KubeClientTest::SetUp();
    if (HasFatalFailure()) return;
    // The ServiceAccount admission plugin refuses pods until the namespace's
    // default ServiceAccount exists; the Job controller would only retry.
    ASSERT_TRUE(Eventually(seconds(30),
                           [&] { return client().Get(resources::ServiceAccounts(), ns(), "default").has_value(); }))
        << "no default ServiceAccount in " << ns();
    kubelet_ = std::make_unique<FakeKubelet>(client(), Options());
    Status started = kubelet_->Start();
    ASSERT_TRUE(started.has_value()) << started.error().message();
  }

  void TearDown() override {
    // Before the namespace goes: the harness confirms its pods' deletion.
    if (kubelet_) kubelet_->Stop();
    KubeClientTest::TearDown();
  }

  std::string NamespacePrefix() const override { return "fake-kubelet"; }

  virtual FakeKubeletOptions Options() const {
    FakeKubeletOptions options;
    options.namespaces = {ns()};
    return options;
  }

  FakeKubelet& kubelet() { return *kubelet_; }

  static bool Eventually(milliseconds timeout, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return true;
  }

  // A Job as the operator renders one attempt: restartPolicy Never,
  // backoffLimit 0, FallbackToLogsOnError.
  Json JobObject(const std::string& name) const {
    return {{"apiVersion", "batch/v1"},
            {"kind", "Job"},
            {"metadata", {{"name", name}, {"namespace", ns()}}},
            {"spec",
             {{"backoffLimit", 0},
              {"template",
               {{"metadata", {{"labels", {{"app", name}}}}},
                {"spec",
                 {{"restartPolicy", "Never"},
                  {"automountServiceAccountToken", false},
                  {"containers", Json::array({{{"name", "task"},
                                               {"image", "busybox:1.36"},
                                               {"command", Json::array({"sh", "-c", "echo hi"})},
                                               {"terminationMessagePolicy", "FallbackToLogsOnError"}}})}}}}}}}};
  }

  // Creates the Job and returns its pod, admitted by the harness.
  std::string StartJob(const std::string& name) {
    Result<Json> created = client().Create(resources::Jobs(), ns(), JobObject(name));
    EXPECT_TRUE(created.has_value()) << created.error().message();
    Result<std::string> pod = kubelet().WaitForJobPod(ns(), name, kPodTimeout);
    EXPECT_TRUE(pod.has_value()) << pod.error().message();
    return pod.value_or("");
  }

  Json Pod(const std::string& name) {
    Result<Json> pod = client().Get(resources::Pods(), ns(), name);
    EXPECT_TRUE(pod.has_value()) << pod.error().message();
    return pod.value_or(Json::object());
  }

  static Json ContainerState(const Json& pod) {
    const Json& statuses = pod["status"].value("containerStatuses", Json::array());
    return statuses.empty() ? Json::object() : statuses[0].value("state", Json::object());
  }

  // status.conditions[type].status of a Job, "" when absent.
  std::string JobCondition(const std::string& job, const std::string& type) {
    Result<Json> got = client().Get(resources::Jobs(), ns(), job);
    if (!got) return "";
    for (const Json& c : (*got)["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == type) return c.value("status", "");
    }
    return "";
  }

  void ExpectJobCondition(const std::string& job, const std::string& type) {
    EXPECT_TRUE(Eventually(kJobTimeout, [&] { return JobCondition(job, type) == "True"; }))
        << "Job " << job << " has no " << type
        << "=True condition: " << client().Get(resources::Jobs(), ns(), job).value_or(Json())["status"].dump(2);
  }

 private:
  std::unique_ptr<FakeKubelet> kubelet_;
};

TEST_F(FakeKubeletTest, RegistersALiveNodeThatTheApiServerReachesForLogs) {
  Result<Json> node = client().Get({"", "v1", "nodes", "Node", false}, "", kubelet().node_name());
  ASSERT_TRUE(node.has_value()) << node.error().message();
  EXPECT_EQ((*node)["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], kubelet().port());
  bool ready = false;
  for (const Json& c : (*node)["status"]["conditions"]) ready |= c["type"] == "Ready" && c["status"] == "True";
  EXPECT_TRUE(ready) << (*node)["status"].dump(2);
  // The TaintNodesByCondition admission plugin gives a new node the
  // not-ready:NoSchedule taint; the node lifecycle controller removes it once
  // it sees the node Ready, and never adds a NoExecute one.
  Json spec;
  EXPECT_TRUE(Eventually(seconds(40), [&] {
    Result<Json> now = client().Get({"", "v1", "nodes", "Node", false}, "", kubelet().node_name());
    spec = now ? (*now)["spec"] : Json();
    return now && spec.value("taints", Json::array()).empty();
  })) << spec.dump();
  Result<Json> lease = client().Get(resources::Leases(), "kube-node-lease", kubelet().node_name());
  ASSERT_TRUE(lease.has_value()) << lease.error().message();
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], kubelet().node_name());

  // The serving certificate chains to the cluster CA, for 127.0.0.1.
  ASSERT_TRUE(kubelet().serving_cert_signed_by_cluster_ca());
  const char* dir = std::getenv("CTASK_CLUSTER_DIR");
  http::CurlOptions tls;
  tls.ca_file = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp/ctask-cluster") + "/certs/ca.crt";
  http::CurlClient curl(tls);
  http::Request request;
  request.url = "https://127.0.0.1:" + std::to_string(kubelet().port()) + "/healthz";
  request.timeout = milliseconds(10'000);
  Result<http::Response> health = curl.Do(request);
  ASSERT_TRUE(health.has_value()) << health.error().message();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");
}

TEST_F(FakeKubeletTest, AJobCompletesWhenItsPodRunsAndExitsZero) {
  const std::string pod = StartJob("ok");
  ASSERT_FALSE(pod.empty());
  Json bound = Pod(pod);
  EXPECT_EQ(bound["spec"]["nodeName"], kubelet().node_name());
  EXPECT_TRUE(Eventually(kPodTimeout, [&] {
    bound = Pod(pod);
    return bound["status"].value("phase", "") == "Pending" && ContainerState(bound).contains("waiting");
  })) << bound["status"].dump(2);
  EXPECT_EQ(ContainerState(bound)["waiting"]["reason"], "ContainerCreating");

  ASSERT_TRUE(kubelet().SetRunning(ns(), pod).has_value());
  Json running = Pod(pod);
  EXPECT_EQ(running["status"]["phase"], "Running");
  EXPECT_TRUE(ContainerState(running).contains("running")) << running["status"].dump(2);
  EXPECT_FALSE(ContainerState(running).contains("waiting")) << "the waiting state is replaced, not merged";
  EXPECT_EQ(running["status"]["containerStatuses"][0]["ready"], true);
  EXPECT_EQ(running["status"]["hostIP"], "127.0.0.1");
  // The Job controller counts the pod as active (and ready).
  EXPECT_TRUE(Eventually(kPodTimeout, [&] {
    Result<Json> job = client().Get(resources::Jobs(), ns(), "ok");
    return job && (*job)["status"].value("active", 0) == 1 && (*job)["status"].value("ready", 0) == 1;
  }));

  ASSERT_TRUE(kubelet().AppendLog(ns(), pod, "hello\nworld\n").has_value());
  ASSERT_TRUE(kubelet().Exit(ns(), pod, 0).has_value());
  Json done = Pod(pod);
  EXPECT_EQ(done["status"]["phase"], "Succeeded");
  EXPECT_EQ(ContainerState(done)["terminated"]["exitCode"], 0);
  EXPECT_EQ(ContainerState(done)["terminated"]["reason"], "Completed");
  EXPECT_FALSE(ContainerState(done)["terminated"].contains("message")) << "exit 0 does not fall back to the log";
  ExpectJobCondition("ok", "Complete");
  EXPECT_EQ(kubelet().LogOf(ns(), pod).value_or(""), "hello\nworld\n");

  // Exits are final.
  Status again = kubelet().SetRunning(ns(), pod);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(FakeKubeletTest, ExitOneWithBackoffLimitZeroFailsTheJob) {
  const std::string pod = StartJob("fails");
  ASSERT_FALSE(pod.empty());
  ASSERT_TRUE(kubelet().SetRunning(ns(), pod).has_value());
  ASSERT_TRUE(kubelet().AppendLog(ns(), pod, "starting\nboom: no such file\n").has_value());
  ASSERT_TRUE(kubelet().Exit(ns(), pod, 1).has_value());
  Json failed = Pod(pod);
  EXPECT_EQ(failed["status"]["phase"], "Failed");
  EXPECT_EQ(ContainerState(failed)["terminated"]["exitCode"], 1);
  EXPECT_EQ(ContainerState(failed)["terminated"]["reason"], "Error");
  EXPECT_EQ(ContainerState(failed)["terminated"]["message"], "starting\nboom: no such file\n")
      << "FallbackToLogsOnError takes the log's end";
  ExpectJobCondition("fails", "Failed");
  Result<Json> job = client().Get(resources::Jobs(), ns(), "fails");
  ASSERT_TRUE(job.has_value());
  std::string reason;
  for (const Json& c : (*job)["status"]["conditions"]) {
    if (c["type"] == "Failed") reason = c.value("reason", "");
  }
  EXPECT_EQ(reason, "BackoffLimitExceeded");
}

TEST_F(FakeKubeletTest, OomKilledShowsInThePodStatus) {
  const std::string pod = StartJob("oom");
  ASSERT_FALSE(pod.empty());
  ASSERT_TRUE(kubelet().SetRunning(ns(), pod).has_value());
  ASSERT_TRUE(kubelet().Exit(ns(), pod, {137, "OOMKilled", "memory limit 64Mi"}).has_value());
  Json killed = Pod(pod);
  EXPECT_EQ(killed["status"]["phase"], "Failed");
  EXPECT_EQ(ContainerState(killed)["terminated"]["reason"], "OOMKilled");
  EXPECT_EQ(ContainerState(killed)["terminated"]["exitCode"], 137);
  EXPECT_EQ(ContainerState(killed)["terminated"]["message"], "memory limit 64Mi");
  ExpectJobCondition("oom", "Failed");
}

TEST_F(FakeKubeletTest, AWaitingReasonShowsInContainerStatusesAndInLogRequests) {
  const std::string pod = StartJob("pull");
  ASSERT_FALSE(pod.empty());
  ASSERT_TRUE(kubelet().SetWaiting(ns(), pod, "ErrImagePull", "pull access denied for busybox").has_value());
  Json waiting = Pod(pod);
  EXPECT_EQ(waiting["status"]["phase"], "Pending");
  EXPECT_EQ(ContainerState(waiting)["waiting"]["reason"], "ErrImagePull");
  EXPECT_EQ(ContainerState(waiting)["waiting"]["message"], "pull access denied for busybox");
  BinaryResult logs = Kubectl({"-n", ns(), "logs", pod});
  EXPECT_NE(logs.exit_code, 0) << Said(logs);
  EXPECT_NE(logs.err.find("is waiting to start: image can't be pulled"), std::string::npos) << Said(logs);
  ASSERT_TRUE(kubelet().SetWaiting(ns(), pod, "ImagePullBackOff", "Back-off pulling image").has_value());
  EXPECT_EQ(ContainerState(Pod(pod))["waiting"]["reason"], "ImagePullBackOff");
}

TEST_F(FakeKubeletTest, LogsReachKubectlAndOurClientThroughTheApiServer) {
  const std::string pod = StartJob("logs");
  ASSERT_FALSE(pod.empty());
  ASSERT_TRUE(kubelet().SetRunning(ns(), pod).has_value());
  ASSERT_TRUE(kubelet().AppendLog(ns(), pod, "first\nsecond\n").has_value());

  BinaryResult logs = Kubectl({"-n", ns(), "logs", pod});
  ASSERT_EQ(logs.exit_code, 0) << Said(logs);
  EXPECT_EQ(logs.out, "first\nsecond\n");
  BinaryResult tail = Kubectl({"-n", ns(), "logs", pod, "--tail=1", "--timestamps"});
  ASSERT_EQ(tail.exit_code, 0) << Said(tail);
  std::optional<kube::TimestampedLine> stamped = kube::SplitTimestamp(tail.out);
  ASSERT_TRUE(stamped.has_value()) << tail.out;
  EXPECT_EQ(stamped->text, "second\n");

  // A follow through our client streams what comes and ends after the exit.
  std::string followed;
  std::mutex mu;
  auto stream = std::async(std::launch::async, [&] {
    kube::LogOptions options;
    options.follow = true;
    options.timestamps = true;
    return client().StreamLogs(ns(), pod, options, [&](std::string_view chunk) {
      std::lock_guard lock(mu);
      followed.append(chunk);
      return true;
    });
  });
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    ASSERT_TRUE(kubelet().AppendLog(ns(), pod, "more " + std::to_string(i) + "\n").has_value());
  }
  EXPECT_TRUE(Eventually(seconds(10), [&] {
    std::lock_guard lock(mu);
    return followed.find("more 4\n") != std::string::npos;
  })) << "lines arrive while the container runs";
  EXPECT_EQ(stream.wait_for(milliseconds(500)), std::future_status::timeout) << "a follow waits while it runs";
  ASSERT_TRUE(kubelet().Exit(ns(), pod, 0).has_value());
  ASSERT_EQ(stream.wait_for(seconds(15)), std::future_status::ready) << "the follow ends after the exit";
  Status ended = stream.get();
  EXPECT_TRUE(ended.has_value()) << ended.error().message();
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < followed.size()) {
    const size_t end = followed.find('\n', start);
    const std::string line = followed.substr(start, end - start + 1);
    std::optional<kube::TimestampedLine> split = kube::SplitTimestamp(line);
    ASSERT_TRUE(split.has_value()) << line;
    lines.emplace_back(split->text);
    start = end + 1;
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"first\n", "second\n", "more 0\n", "more 1\n", "more 2\n", "more 3\n",
                                             "more 4\n"}));

  // After the exit the log stays readable, and the query options pass
  // through the API server.
  kube::LogOptions limited;
  limited.limit_bytes = 8;
  EXPECT_EQ(client().Logs(ns(), pod, limited).value_or("?"), "first\nse");
  kube::LogOptions tail2;
  tail2.tail_lines = 2;
  EXPECT_EQ(client().Logs(ns(), pod, tail2).value_or("?"), "more 3\nmore 4\n");
}

int PortOf(const std::string& server) {
  return std::stoi(server.substr(server.rfind(':') + 1));
}

// Many pods' logs followed at once on one loop (kube/log_streams.h) through
// the real API server's pods/log proxy: every line of each, once, in order,
// over a few HTTP/2 connections rather than one per pod.
TEST_F(FakeKubeletTest, ManyLogsFollowedOnOneLoopEachCompleteOverFewConnections) {
  constexpr int kPods = 12;
  std::vector<std::string> pods;
  for (int i = 0; i < kPods; ++i) {
    pods.push_back(StartJob("follow-" + std::to_string(i)));
    ASSERT_FALSE(pods.back().empty());
    ASSERT_TRUE(kubelet().SetRunning(ns(), pods.back()).has_value());
  }
  std::unique_ptr<http::StreamLoop> loop = client().NewStreamLoop();
  ASSERT_NE(loop, nullptr);
  const int before = ConnectionsTo(getpid(), PortOf(client().server()));
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> got;
  std::map<std::string, Status> ended;
  std::condition_variable all_ended;
  {
    kube::LogStreams streams(client(), *loop);
    for (const std::string& pod : pods) {
      auto still_running = [this, pod]() -> Result<bool> {
        Result<Json> current = client().Get(resources::Pods(), ns(), pod);
        if (!current) return std::unexpected(current.error());
        const std::string phase = (*current)["status"].value("phase", "");
        return phase == "Pending" || phase == "Running";
      };
      streams.Follow(
          ns(), [pod]() -> Result<std::string> { return pod; }, {}, still_running,
          [&, pod](std::string_view line) {
            std::lock_guard lock(mu);
            got[pod].emplace_back(line);
            return true;
          },
          [&, pod](Status s) {
            std::lock_guard lock(mu);
            ended[pod] = std::move(s);
            all_ended.notify_all();
          });
    }
    std::map<std::string, std::vector<std::string>> want;
    for (int batch = 0; batch < 5; ++batch) {
      for (const std::string& pod : pods) {
        std::string text;
        for (int i = 0; i < 10; ++i) {
          want[pod].push_back(pod + " batch " + std::to_string(batch) + " line " + std::to_string(i) + "\n");
          text += want[pod].back();
        }
        ASSERT_TRUE(kubelet().AppendLog(ns(), pod, text).has_value());
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    EXPECT_TRUE(Eventually(seconds(10), [&] { return loop->streams() == static_cast<size_t>(kPods); }))
        << loop->streams() << " streams running";
    const int during = ConnectionsTo(getpid(), PortOf(client().server())) - before;
    EXPECT_GE(during, 1);
    EXPECT_LE(during, 2) << "the loop's streams share an HTTP/2 connection";
    EXPECT_EQ(loop->connections(), static_cast<size_t>(during)) << "the loop counts what /proc shows";
    for (const std::string& pod : pods) ASSERT_TRUE(kubelet().Exit(ns(), pod, 0).has_value());
    std::unique_lock lock(mu);
    ASSERT_TRUE(all_ended.wait_for(lock, seconds(30), [&] { return ended.size() == pods.size(); }))
        << ended.size() << " of " << pods.size() << " follows ended";
    for (const std::string& pod : pods) {
      EXPECT_TRUE(ended[pod].has_value()) << pod << ": " << ended[pod].error().message();
      EXPECT_EQ(got[pod], want[pod]) << pod;
    }
    EXPECT_EQ(streams.following(), 0u);
  }
}

TEST_F(FakeKubeletTest, SuspendingTheJobRemovesItsPodThroughGracefulDeletion) {
  const std::string pod = StartJob("suspend");
  ASSERT_FALSE(pod.empty());
  ASSERT_TRUE(kubelet().SetRunning(ns(), pod).has_value());
  Result<Json> patched = client().MergePatch(resources::Jobs(), ns(), "suspend", {{"spec", {{"suspend", true}}}});
  ASSERT_TRUE(patched.has_value()) << patched.error().message();
  Status gone = kubelet().WaitForPodGone(ns(), pod, kJobTimeout);
  EXPECT_TRUE(gone.has_value()) << gone.error().message();
  // The pod may be gone a moment before the harness's DELETE call returns.
  EXPECT_TRUE(Eventually(seconds(5), [&] { return kubelet().Stats().deleted == 1; }))
      << "the harness confirmed the deletion (grace 0)";
  EXPECT_EQ(kubelet().Stats().exited, 1) << "after killing the container";
  ExpectJobCondition("suspend", "Suspended");
  Status control = kubelet().SetRunning(ns(), pod);
  ASSERT_FALSE(control.has_value());
  EXPECT_EQ(control.error().code(), ErrorCode::kNotFound);
}

TEST_F(FakeKubeletTest, DeletingTheJobInTheBackgroundRemovesItsPod) {
  const std::string pod = StartJob("gc");
  ASSERT_FALSE(pod.empty());
  ASSERT_TRUE(kubelet().SetRunning(ns(), pod).has_value());
  kube::DeleteOptions options;
  options.propagation_policy = "Background";
  Status deleted = client().Delete(resources::Jobs(), ns(), "gc", options);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message();
  Status gone = kubelet().WaitForPodGone(ns(), pod, kJobTimeout);
  EXPECT_TRUE(gone.has_value()) << gone.error().message();
  EXPECT_TRUE(Eventually(seconds(5), [&] { return kubelet().Stats().deleted == 1; }));
}

TEST_F(FakeKubeletTest, AutoRunFinishesManyJobsWithoutATestDrivingThem) {
  kubelet().SetAutoRun(AutoRun{{"auto one", "auto two"}, 0, "", "", milliseconds(200)});
  constexpr int kJobs = 5;
  for (int i = 0; i < kJobs; ++i) {
    Result<Json> created = client().Create(resources::Jobs(), ns(), JobObject("auto-" + std::to_string(i)));
    ASSERT_TRUE(created.has_value()) << created.error().message();
  }
  for (int i = 0; i < kJobs; ++i) ExpectJobCondition("auto-" + std::to_string(i), "Complete");
  Result<std::string> pod = kubelet().WaitForJobPod(ns(), "auto-0", kPodTimeout);
  ASSERT_TRUE(pod.has_value()) << pod.error().message();
  BinaryResult logs = Kubectl({"-n", ns(), "logs", *pod});
  ASSERT_EQ(logs.exit_code, 0) << Said(logs);
  EXPECT_EQ(logs.out, "auto one\nauto two\n");
  FakeKubeletStats stats = kubelet().Stats();
  EXPECT_EQ(stats.admitted, kJobs);
  EXPECT_EQ(stats.exited, kJobs);
  EXPECT_EQ(stats.bound, kJobs);
}

}  // namespace
}  // namespace ctask::testing
