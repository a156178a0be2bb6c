// bench_queue_admission: admission queues (issue 11) under load, against the
// control plane of hack/cluster with the fake kubelet of tests/cluster as the
// node. N short tasks (default 200, each running a planned 0.5-1 s) spread
// over Q queues (default 10), created at once in a shuffled order, run by
// `ctask operator --max-running 5 --queue-max-running 1`. From a watch on
// the tasks and one on their pods, stamped with this process's steady clock
// on receipt, it prints:
//
//  1. The most tasks holding a slot at once (Admitted=True), overall and in
//     one queue, beside the limits; the most pods running at once.
//  2. The admission order (queue of each admission), the largest
//     difference in starts between two queues while every queue still had
//     waiting tasks, admissions out of the rotation's turn, and admissions
//     out of FIFO order within a queue.
//  3. Slot freed (Admitted True -> False) to the next admission (False ->
//     True), releases and admissions paired first in, first out: p50, p99,
//     max; and where a slot's time goes, mean per task.
//  4. The time until all N succeeded, beside the ideal: N / slots x the
//     mean pod runtime (running -> exited, from the pod watch), as a ratio;
//     slots = min(max-running, queues x queue-max-running). And what the run
//     cost the operator (its /metrics).
//
// The pods are driven by this process: once the fake kubelet has taken one
// on, it is set running and, after its task's planned runtime, exited 0.
// A fresh namespace, deleted at the end. A measurement, not a test: nothing
// here asserts a figure. See bench/README.md.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
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
using ctask::bench::Millis;
using ctask::bench::Seconds;
using std::chrono::milliseconds;
namespace kube = ctask::kube;
namespace resources = ctask::kube::resources;

struct Options {
  std::string ctask = "build/controller/ctask";
  int queues = 10;
  int per_queue = 20;
  int max_running = 5;
  int queue_max_running = 1;
  int min_ms = 500;  // a task's planned runtime, uniform in [min_ms, max_ms]
  int max_ms = 1000;
  int workers = 4;
  std::string kube_api_qps = "0";  // the operator's client-side limit; "" = its default
  bool interleaved = false;        // create q0, q1, ..., q0, q1, ... instead of in a shuffled order
  unsigned seed = 11;
  std::string run_id;     // "" = "bq-<pid>"
  std::string clean_up;   // a run id: clean up after it and exit
  bool keep_log = false;  // keep /tmp/<run>/operator.log
};

// One task of the run: its queue and how long its pod will run.
struct PlannedTask {
  std::string name;
  int queue = 0;
  milliseconds runtime{0};
};

std::string QueueName(int q) {
  return "q" + std::to_string(q);
}

// Every task, in the order they are created: the queues mixed at random
// (seeded), or strictly interleaved; each task's runtime drawn from
// [min_ms, max_ms].
std::vector<PlannedTask> Plan(const Options& o) {
  std::mt19937 random(o.seed);
  std::uniform_int_distribution<int> runtime(o.min_ms, o.max_ms);
  std::vector<PlannedTask> plan;
  for (int q = 0; q < o.queues; ++q) {
    for (int i = 0; i < o.per_queue; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "q%d-%03d", q, i);
      plan.push_back({name, q, milliseconds(runtime(random))});
    }
  }
  if (o.interleaved) {
    std::stable_sort(plan.begin(), plan.end(), [](const PlannedTask& a, const PlannedTask& b) {
      return std::atoi(a.name.c_str() + a.name.find('-') + 1) < std::atoi(b.name.c_str() + b.name.find('-') + 1);
    });
  } else {
    std::shuffle(plan.begin(), plan.end(), random);
  }
  return plan;
}

Json Task(const std::string& ns, const PlannedTask& t) {
  char sleep[32];
  std::snprintf(sleep, sizeof sleep, "sleep %.3f", static_cast<double>(t.runtime.count()) / 1000.0);
  return {{"apiVersion", "ctask.io/v1alpha1"},
          {"kind", "ContainerTask"},
          {"metadata", {{"name", t.name}, {"namespace", ns}}},
          {"spec", {{"image", "busybox:1.36"}, {"command", {"sh", "-c", sleep}}, {"queueName", QueueName(t.queue)}}}};
}

// Plays each pod's container: once the fake kubelet has taken the pod on,
// sets it running, waits its task's planned runtime, exits 0. One thread
// per pod (a few at a time: the slots limit them).
class PodDriver {
 public:
  PodDriver(ctask::testing::FakeKubelet& kubelet, std::string ns, std::map<std::string, milliseconds> runtimes)
      : kubelet_(kubelet), ns_(std::move(ns)), runtimes_(std::move(runtimes)) {}

  // A pod bound to the fake node, for `task`; idempotent.
  void Take(const std::string& pod, const std::string& task) {
    auto runtime = runtimes_.find(task);
    if (runtime == runtimes_.end()) return;
    std::lock_guard lock(mu_);
    if (!driven_.insert(pod).second) return;
    threads_.emplace_back([this, pod, run_for = runtime->second] { Drive(pod, run_for); });
  }
  std::optional<std::string> error() const {
    std::lock_guard lock(mu_);
    return error_;
  }
  void Join() {
    std::vector<std::jthread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    threads.clear();
  }

 private:
  void Drive(const std::string& pod, milliseconds run_for) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (true) {
      ctask::Status running = kubelet_.SetRunning(ns_, pod);
      if (running) break;
      if (running.error().code() != ctask::ErrorCode::kNotFound || Clock::now() > deadline) {
        return Fail(running.error().message());
      }
      std::this_thread::sleep_for(milliseconds(10));  // not taken on yet
    }
    std::this_thread::sleep_for(run_for);  // the container's work
    if (ctask::Status exited = kubelet_.Exit(ns_, pod, 0); !exited) Fail(exited.error().message());
  }
  void Fail(const std::string& why) {
    std::lock_guard lock(mu_);
    if (!error_) error_ = why;
  }

  ctask::testing::FakeKubelet& kubelet_;
  const std::string ns_;
  const std::map<std::string, milliseconds> runtimes_;
  mutable std::mutex mu_;
  std::set<std::string> driven_;       // guarded by mu_
  std::vector<std::jthread> threads_;  // guarded by mu_
  std::optional<std::string> error_;   // guarded by mu_
};

// A change in a task's record as the task watch saw it, stamped on receipt.
struct TaskEvent {
  // kStatus: the first status the operator wrote (it has reconciled the
  // task once, so its admission book knows it).
  enum class Kind { kCreated, kStatus, kAdmitted, kReleased, kSucceeded };
  Kind kind;
  std::string task;
  std::string queue;
  std::string created;  // metadata.creationTimestamp (RFC 3339: sorts as text)
  Clock::time_point at;
};

// What the two watches saw. Fed from the watch threads; read once they
// have stopped.
class Observations {
 public:
  void OnTask(const kube::WatchEvent& e) {
    if (e.type != "ADDED" && e.type != "MODIFIED") return;
    const auto now = Clock::now();
    const Json& meta = e.object["metadata"];
    TaskEvent event{TaskEvent::Kind::kCreated, meta.value("name", ""),
                    e.object.value("spec", Json::object()).value("queueName", "default"),
                    meta.value("creationTimestamp", ""), now};
    const Json& status = e.object.value("status", Json::object());
    const bool admitted = AdmittedIn(status);
    const std::string phase = status.value("phase", "");
    std::lock_guard lock(mu_);
    auto [state, first] = tasks_.try_emplace(event.task);
    ++writes_;
    if (phase == "Queued" && state->second.queued) ++queued_rewrites_;
    state->second.queued = phase == "Queued";
    if (first) Append(event, TaskEvent::Kind::kCreated);
    if (!phase.empty() && !state->second.has_status) {
      Append(event, TaskEvent::Kind::kStatus);
      state->second.has_status = true;
    }
    if (admitted != state->second.admitted) {
      Append(event, admitted ? TaskEvent::Kind::kAdmitted : TaskEvent::Kind::kReleased);
      state->second.admitted = admitted;
    }
    if (phase == "Succeeded" && !state->second.succeeded) {
      Append(event, TaskEvent::Kind::kSucceeded);
      state->second.succeeded = true;
    }
  }

  // Pods running (by the container's state), and the pods to drive.
  void OnPod(const kube::WatchEvent& e, const std::string& node, PodDriver& driver) {
    if (e.type != "ADDED" && e.type != "MODIFIED") return;
    const auto now = Clock::now();
    const std::string pod = e.object["metadata"].value("name", "");
    const std::string task = e.object["metadata"].value("labels", Json::object()).value("ctask.io/task", "");
    const Json& statuses = e.object.value("status", Json::object()).value("containerStatuses", Json::array());
    const Json state = statuses.empty() ? Json::object() : statuses[0].value("state", Json::object());
    if (state.contains("terminated")) {
      std::lock_guard lock(mu_);
      if (running_pods_.erase(pod) > 0) pod_exited_.try_emplace(task, now);
      return;
    }
    if (state.contains("running")) {
      std::lock_guard lock(mu_);
      if (running_pods_.insert(pod).second) pod_running_.try_emplace(task, now);
      max_running_pods_ = std::max(max_running_pods_, static_cast<int>(running_pods_.size()));
      return;
    }
    if (e.object.value("spec", Json::object()).value("nodeName", "") == node) driver.Take(pod, task);
  }

  // How many tasks have been admitted, released and have succeeded so far.
  std::array<size_t, 3> Progress() const {
    std::lock_guard lock(mu_);
    return {counts_[2], counts_[3], counts_[4]};
  }

  struct Seen {
    std::vector<TaskEvent> events;                                     // in the order the watch delivered them
    std::map<std::string, Clock::time_point> pod_running, pod_exited;  // by task
    int max_running_pods = 0;
    int64_t writes = 0;  // task events: creations and every write after
    int64_t queued_rewrites = 0;
  };
  Seen seen() const {
    std::lock_guard lock(mu_);
    return {events_, pod_running_, pod_exited_, max_running_pods_, writes_, queued_rewrites_};
  }

 private:
  struct TaskState {
    bool has_status = false;
    bool queued = false;  // phase Queued in its last event
    bool admitted = false;
    bool succeeded = false;
  };
  static bool AdmittedIn(const Json& status) {
    for (const Json& c : status.value("conditions", Json::array())) {
      if (c.value("type", "") == "Admitted") return c.value("status", "") == "True";
    }
    return false;
  }
  void Append(TaskEvent event, TaskEvent::Kind kind) {  // mu_ held
    event.kind = kind;
    ++counts_[static_cast<int>(kind)];
    events_.push_back(std::move(event));
  }

  mutable std::mutex mu_;
  std::map<std::string, TaskState> tasks_;
  std::vector<TaskEvent> events_;
  std::array<size_t, 5> counts_{};  // by TaskEvent::Kind
  int64_t writes_ = 0;              // ADDED and MODIFIED events
  int64_t queued_rewrites_ = 0;     // a Queued task written again while Queued
  std::set<std::string> running_pods_;
  int max_running_pods_ = 0;
  std::map<std::string, Clock::time_point> pod_running_, pod_exited_;  // by task, first seen
};

// --- what the events say (pure) ---------------------------------------------

// The most tasks holding a slot at once, overall and in one queue.
struct Holding {
  int most = 0;
  int most_in_queue = 0;
  std::string where;  // the queue that had most_in_queue
};
Holding HoldingOf(const std::vector<TaskEvent>& events) {
  Holding h;
  int now = 0;
  std::map<std::string, int> in_queue;
  for (const TaskEvent& e : events) {
    if (e.kind == TaskEvent::Kind::kAdmitted) {
      h.most = std::max(h.most, ++now);
      if (int n = ++in_queue[e.queue]; n > h.most_in_queue) {
        h.most_in_queue = n;
        h.where = e.queue;
      }
    } else if (e.kind == TaskEvent::Kind::kReleased) {
      --now;
      --in_queue[e.queue];
    }
  }
  return h;
}

// Slot freed -> the admission that took it: releases and admissions paired
// first in, first out (an admission with no release before it took one of
// the first free slots). `in_burst`: the admission came while the operator
// had not yet written a first status for every task (its work queue still
// held part of the burst of creations).
struct Refill {
  std::string freed_by;
  std::string taken_by;
  double ms = 0;
  bool in_burst = false;
};
std::vector<Refill> RefillsOf(const std::vector<TaskEvent>& events) {
  size_t created = 0;
  size_t with_status = 0;
  std::deque<const TaskEvent*> freed;
  std::vector<Refill> refills;
  for (const TaskEvent& e : events) {
    created += e.kind == TaskEvent::Kind::kCreated ? 1 : 0;
    with_status += e.kind == TaskEvent::Kind::kStatus ? 1 : 0;
    if (e.kind == TaskEvent::Kind::kReleased) freed.push_back(&e);
    if (e.kind != TaskEvent::Kind::kAdmitted || freed.empty()) continue;
    refills.push_back({freed.front()->task, e.task, Millis(e.at - freed.front()->at), with_status < created});
    freed.pop_front();
  }
  return refills;
}

// Round-robin across queues, two ways.
//  - Spread: the largest difference in starts between two queues, counted
//    from the first admission, up to the last admission before which every
//    queue still had a task waiting (the figure round-robin should keep at
//    1). Strict rotation never makes up a missed turn, so a queue passed over
//    once (no task of it created yet, or at its own limit at its turn) can
//    stay one start behind for the rest of the run.
//  - Out of turn: admissions that went to another queue than the one the
//    rotation names, as far as the watch can tell: of the queues with a
//    task waiting (created, not admitted) and fewer slots held than their
//    limit, the one served longest ago (never served first, ties by queue
//    id). The watch lags the operator's book, and a
//    task enters the book only at its first reconcile, so those during the
//    creation burst (some task with no status yet) are counted apart.
struct Rotation {
  int spread = 0;
  size_t spread_over = 0;  // admissions counted
  size_t above_one = 0;    // of those, how many left the difference > 1
  int out_of_turn = 0;
  int out_of_turn_in_burst = 0;
  std::vector<std::string> examples;  // "#12 q3, turn of q1"
};
int Difference(const std::map<std::string, int>& starts) {
  const auto [low, high] = std::minmax_element(starts.begin(), starts.end(),
                                               [](const auto& x, const auto& y) { return x.second < y.second; });
  return high->second - low->second;
}
Rotation RotationOf(const std::vector<TaskEvent>& events, int queues, int per_queue, int queue_limit) {
  std::map<std::string, int> started, waiting, holding;  // by queue, in the book's order
  for (int q = 0; q < queues; ++q) started[QueueName(q)] = waiting[QueueName(q)] = holding[QueueName(q)] = 0;
  Rotation r;
  size_t created = 0, with_status = 0, admitted = 0;
  bool counting = true;
  std::map<std::string, size_t> last_served;  // queue -> the admission number it last had (0: never)
  for (const TaskEvent& e : events) {
    created += e.kind == TaskEvent::Kind::kCreated ? 1 : 0;
    with_status += e.kind == TaskEvent::Kind::kStatus ? 1 : 0;
    if (e.kind == TaskEvent::Kind::kCreated) ++waiting[e.queue];
    if (e.kind == TaskEvent::Kind::kReleased) --holding[e.queue];
    if (e.kind != TaskEvent::Kind::kAdmitted) continue;
    ++admitted;
    // The rotation's choice: the queue with a task waiting and room under
    // its limit that was served longest ago (never served first; ties by
    // queue id), as src/admission/book.h gives slots.
    std::string turn;
    size_t turn_served = 0;
    for (const auto& [queue, count] : waiting) {
      if (count <= 0 || holding[queue] >= queue_limit) continue;
      const size_t served = last_served[queue];
      if (turn.empty() || served < turn_served) {
        turn = queue;
        turn_served = served;
      }
    }
    if (!turn.empty() && turn != e.queue) {
      ++r.out_of_turn;
      r.out_of_turn_in_burst += with_status < created ? 1 : 0;
      if (r.examples.size() < 3 && with_status >= created) {
        r.examples.push_back("#" + std::to_string(admitted) + " " + e.queue + ", the turn of " + turn);
      }
    }
    counting =
        counting && std::none_of(started.begin(), started.end(), [&](const auto& q) { return q.second >= per_queue; });
    --waiting[e.queue];
    ++holding[e.queue];
    ++started[e.queue];
    last_served[e.queue] = admitted;
    if (!counting) continue;
    const int d = Difference(started);
    r.spread = std::max(r.spread, d);
    r.above_one += d > 1 ? 1 : 0;
    r.spread_over = admitted;
  }
  return r;
}

// FIFO within a queue (creationTimestamp, then name): admissions that went
// before an older task of their queue the operator had already reconciled
// (its first status was seen first), with the first few named. The operator
// orders only what its admission book holds, and a task enters the book at
// its first reconcile; creation times have whole seconds, so a task created
// later in the same second can be older by name.
struct Fifo {
  int passed = 0;
  std::vector<std::string> examples;
};
Fifo FifoOf(const std::vector<TaskEvent>& events) {
  using Key = std::pair<std::string, std::string>;                // (created, name)
  std::map<std::string, std::map<Key, Clock::time_point>> known;  // queue -> reconciled, not admitted
  Fifo f;
  for (const TaskEvent& e : events) {
    const Key key{e.created, e.task};
    if (e.kind == TaskEvent::Kind::kStatus) known[e.queue].try_emplace(key, e.at);
    if (e.kind != TaskEvent::Kind::kAdmitted) continue;
    std::map<Key, Clock::time_point>& waiting = known[e.queue];
    if (!waiting.empty() && waiting.begin()->first < key) {
      ++f.passed;
      if (f.examples.size() < 3) {
        const auto& [older, since] = *waiting.begin();
        f.examples.push_back(e.task + " (created " + e.created + ") before " + older.second + " (created " +
                             older.first + ", its first status seen " + std::to_string(Millis(e.at - since)) +
                             " ms before)");
      }
    }
    waiting.erase(key);
  }
  return f;
}

// The queue of each admission, one character per queue (0-9, then a-z),
// 50 to a line.
std::string Sequence(const std::vector<TaskEvent>& events) {
  std::string out;
  size_t n = 0;
  for (const TaskEvent& e : events) {
    if (e.kind != TaskEvent::Kind::kAdmitted) continue;
    if (n++ % 50 == 0) out += n == 1 ? "  " : "\n  ";
    const int q = std::atoi(e.queue.c_str() + 1);
    out += q < 10 ? static_cast<char>('0' + q) : static_cast<char>('a' + q - 10);
  }
  return out;
}

std::vector<std::string> OperatorArgs(const Options& o, const std::string& ns) {
  std::vector<std::string> args = {o.ctask,
                                   "operator",
                                   "--backend",
                                   "kubernetes",
                                   "--namespace",
                                   ns,
                                   "--workers",
                                   std::to_string(o.workers),
                                   "--http-address",
                                   "127.0.0.1:0",
                                   "--max-running",
                                   std::to_string(o.max_running),
                                   "--queue-max-running",
                                   std::to_string(o.queue_max_running)};
  if (!o.kube_api_qps.empty()) {
    args.push_back("--kube-api-qps");
    args.push_back(o.kube_api_qps);
  }
  return args;
}

// Where a slot's time goes, per task (ms): admitted -> its pod running ->
// its pod exited -> the slot given back.
struct SlotTimes {
  std::vector<double> to_running, runtime, to_released;
  std::vector<double> to_succeeded;  // exited -> Succeeded (the same write as the release, or before it)
};
SlotTimes SlotTimesOf(const Observations::Seen& seen) {
  std::map<std::string, Clock::time_point> admitted, released, succeeded;
  for (const TaskEvent& e : seen.events) {
    if (e.kind == TaskEvent::Kind::kAdmitted) admitted.try_emplace(e.task, e.at);
    if (e.kind == TaskEvent::Kind::kReleased) released.try_emplace(e.task, e.at);
    if (e.kind == TaskEvent::Kind::kSucceeded) succeeded.try_emplace(e.task, e.at);
  }
  SlotTimes t;
  for (const auto& [task, at] : admitted) {
    auto running = seen.pod_running.find(task);
    auto exited = seen.pod_exited.find(task);
    auto freed = released.find(task);
    if (running != seen.pod_running.end()) t.to_running.push_back(Millis(running->second - at));
    if (running != seen.pod_running.end() && exited != seen.pod_exited.end()) {
      t.runtime.push_back(Millis(exited->second - running->second));
    }
    if (exited != seen.pod_exited.end() && freed != released.end()) {
      t.to_released.push_back(Millis(freed->second - exited->second));
    }
    if (auto done = succeeded.find(task); exited != seen.pod_exited.end() && done != succeeded.end()) {
      t.to_succeeded.push_back(Millis(done->second - exited->second));
    }
  }
  return t;
}

// What the run cost the operator, from its /metrics at the end.
struct OperatorCost {
  double reconciles = 0;
  double queue_wait_ms = 0;  // mean, queued -> handed to a worker
  double reconcile_ms = 0;   // mean pass
  double requests = 0;
  std::string by_verb;  // "create 600, patch 400, ..."
  std::string refused;  // answers that were not 2xx, by code; "none"
};
OperatorCost CostOf(const std::string& metrics) {
  using ctask::bench::SumBy;
  auto one = [&](const std::string& metric) {
    const std::map<std::string, double> sum = SumBy(metrics, metric, "");
    return sum.empty() ? 0.0 : sum.begin()->second;
  };
  auto mean_ms = [&](const std::string& histogram) {
    const double count = one(histogram + "_count");
    return count > 0 ? 1000.0 * one(histogram + "_sum") / count : 0.0;
  };
  OperatorCost c{one("ctask_reconcile_total"), mean_ms("ctask_workqueue_queue_duration_seconds"),
                 mean_ms("ctask_reconcile_duration_seconds")};
  for (const auto& [verb, n] : SumBy(metrics, "ctask_kube_api_requests_total", "verb")) {
    c.requests += n;
    c.by_verb += (c.by_verb.empty() ? "" : ", ") + verb + " " + std::to_string(static_cast<int>(n));
  }
  for (const auto& [code, n] : SumBy(metrics, "ctask_kube_api_requests_total", "code")) {
    if (!code.starts_with("2"))
      c.refused += (c.refused.empty() ? "" : ", ") + code + " " + std::to_string(static_cast<int>(n));
  }
  if (c.refused.empty()) c.refused = "none";
  return c;
}

// One row of refill delays: those `keep` selects, p50/p99/max and the
// slowest pair.
void PrintRefills(const char* label, const std::vector<Refill>& refills,
                  const std::function<bool(const Refill&)>& keep) {
  std::vector<double> ms;
  const Refill* slowest = nullptr;
  if (std::none_of(refills.begin(), refills.end(), keep)) {
    std::printf("%-36s    0\n", label);
    return;
  }
  for (const Refill& r : refills) {
    if (!keep(r)) continue;
    ms.push_back(r.ms);
    if (slowest == nullptr || r.ms > slowest->ms) slowest = &r;
  }
  std::printf("%-36s %4zu  p50 %5.0f ms  p99 %5.0f ms  max %5.0f ms", label, ms.size(),
              ctask::bench::Percentile(ms, 0.50), ctask::bench::Percentile(ms, 0.99), slowest ? slowest->ms : 0.0);
  if (slowest != nullptr) std::printf("  (%s freed -> %s)", slowest->freed_by.c_str(), slowest->taken_by.c_str());
  std::printf("\n");
}

void PrintFigures(const Options& o, const Observations::Seen& seen, const OperatorCost& cost, Clock::time_point start) {
  using ctask::bench::Mean;
  using ctask::bench::Percentile;
  const int n = o.queues * o.per_queue;
  std::printf(
      "queue_admission: %d tasks (planned runtime %d-%d ms) in %d queues of %d, created at once, %s "
      "(seed %u)\n",
      n, o.min_ms, o.max_ms, o.queues, o.per_queue, o.interleaved ? "interleaved" : "in a shuffled order", o.seed);
  std::printf("operator: --max-running %d --queue-max-running %d --workers %d --kube-api-qps %s\n\n", o.max_running,
              o.queue_max_running, o.workers, o.kube_api_qps.empty() ? "(its default)" : o.kube_api_qps.c_str());

  const Holding holding = HoldingOf(seen.events);
  std::printf("most at once                                 seen  limit\n");
  std::printf("  tasks holding a slot (Admitted=True)     %5d  %5d\n", holding.most, o.max_running);
  std::printf("  in one queue (first: %-4s)               %5d  %5d\n", holding.where.c_str(), holding.most_in_queue,
              o.queue_max_running);
  std::printf("  pods running (pod watch)                 %5d      -\n\n", seen.max_running_pods);

  std::printf("admission order (the queue of each admission):\n%s\n", Sequence(seen.events).c_str());
  const Rotation rotation = RotationOf(seen.events, o.queues, o.per_queue, o.queue_max_running);
  std::printf(
      "round-robin: largest difference in starts between two queues %d (admissions 1-%zu, while every "
      "queue had tasks waiting; %zu left it > 1)\n",
      rotation.spread, rotation.spread_over, rotation.above_one);
  std::printf(
      "  admissions out of turn (not the next queue with a waiting task under its limit): %d, %d of them "
      "in the creation burst\n",
      rotation.out_of_turn, rotation.out_of_turn_in_burst);
  for (const std::string& example : rotation.examples) std::printf("  %s\n", example.c_str());
  const Fifo fifo = FifoOf(seen.events);
  std::printf("FIFO within a queue: %d admissions went before an older task of their queue already reconciled\n",
              fifo.passed);
  for (const std::string& example : fifo.examples) std::printf("  %s\n", example.c_str());
  std::printf("\n");

  const std::vector<Refill> refills = RefillsOf(seen.events);
  PrintRefills("slot freed -> next admission, all", refills, [](const Refill&) { return true; });
  PrintRefills("  once every task had a status", refills, [](const Refill& r) { return !r.in_burst; });
  PrintRefills("  before (the creation burst)", refills, [](const Refill& r) { return r.in_burst; });
  std::vector<double> refill_ms;
  for (const Refill& r : refills) refill_ms.push_back(r.ms);
  const SlotTimes slot = SlotTimesOf(seen);
  std::printf(
      "a slot's time, mean per task: admitted -> pod running %.0f ms, running -> exited %.0f ms, exited -> "
      "slot freed %.0f ms (-> Succeeded %.0f ms), freed -> next admission %.0f ms\n\n",
      Mean(slot.to_running), Mean(slot.runtime), Mean(slot.to_released), Mean(slot.to_succeeded), Mean(refill_ms));

  Clock::time_point last = start;
  for (const TaskEvent& e : seen.events) {
    if (e.kind == TaskEvent::Kind::kSucceeded) last = std::max(last, e.at);
  }
  const double total_s = Seconds(last - start);
  const int slots = std::min(o.max_running, o.queues * o.queue_max_running);
  const double runtime_s = Mean(slot.runtime) / 1000.0;
  const double ideal_s = static_cast<double>(n) / slots * runtime_s;
  double busy_s = 0;
  for (double ms : slot.runtime) busy_s += ms / 1000.0;
  std::printf(
      "total: all %d Succeeded %.1f s after the first create; ideal %d/%d x mean pod runtime %.3f s = %.1f s; "
      "ratio total/ideal %.2f\n",
      n, total_s, n, slots, runtime_s, ideal_s, ideal_s > 0 ? total_s / ideal_s : 0);
  std::printf("slots busy with a running pod: %.0f%% of %d x %.1f s\n",
              total_s > 0 ? 100.0 * busy_s / (slots * total_s) : 0, slots, total_s);
  std::printf(
      "operator: %.0f reconciles (%.1f per task; mean %.0f ms queued, %.0f ms a pass); %.0f API requests "
      "(%.1f per task: %s); not 2xx: %s\n",
      cost.reconciles, cost.reconciles / n, cost.queue_wait_ms, cost.reconcile_ms, cost.requests, cost.requests / n,
      cost.by_verb.c_str(), cost.refused.c_str());
  std::printf(
      "task writes seen by the watch: %lld (%.1f per task), of which a Queued task written again while "
      "Queued (its position message): %lld (%.1f per task)\n",
      static_cast<long long>(seen.writes), static_cast<double>(seen.writes) / n,
      static_cast<long long>(seen.queued_rewrites), static_cast<double>(seen.queued_rewrites) / n);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::cout << "Usage: bench_queue_admission [--ctask PATH] [--queues Q] [--per-queue N] [--max-running M]\n"
                   "         [--queue-max-running K] [--runtime-ms MIN-MAX] [--workers W] [--kube-api-qps R|default]\n"
                   "         [--order random|interleaved] [--seed S] [--run-id ID] [--keep-log]\n"
                   "       bench_queue_admission --clean-up ID\n"
                   "  --ctask PATH          the ctask binary (default build/controller/ctask)\n"
                   "  --queues Q            queues q0..q(Q-1) (default 10, at most 36)\n"
                   "  --per-queue N         tasks per queue (default 20)\n"
                   "  --max-running M       the operator's --max-running (default 5)\n"
                   "  --queue-max-running K the operator's --queue-max-running (default 1)\n"
                   "  --runtime-ms MIN-MAX  each pod's planned runtime, uniform (default 500-1000)\n"
                   "  --workers W           operator workers (default 4)\n"
                   "  --kube-api-qps R      the operator's client-side limit (default 0: none; 'default': its own)\n"
                   "  --order O             creation order: random (default) or interleaved (q0, q1, ..., q0, ...)\n"
                   "  --seed S              the random order and the runtimes (default 11)\n"
                   "  --run-id ID           prefix of the run's namespace (default bq-PID)\n"
                   "  --keep-log            keep the operator's log, /tmp/ID/operator.log\n"
                   "  --clean-up ID         delete what a failed run ID left: its namespace, its tasks' finalizers\n"
                   "The API server comes from $KUBECONFIG (hack/cluster/env.sh); it must be on 127.0.0.1.\n";
      std::exit(0);
    }
    if (flag == "--keep-log") {
      o.keep_log = true;
      continue;
    }
    if (i + 1 >= argc) Die(flag + ": missing value");
    const std::string value = argv[++i];
    auto number = [&](int min, int max) {
      const int n = std::atoi(value.c_str());
      if (n < min || n > max) Die(flag + ": want a number from " + std::to_string(min) + " to " + std::to_string(max));
      return n;
    };
    if (flag == "--ctask") {
      o.ctask = value;
    } else if (flag == "--queues") {
      o.queues = number(1, 36);
    } else if (flag == "--per-queue") {
      o.per_queue = number(1, 10000);
    } else if (flag == "--max-running") {
      o.max_running = number(1, 10000);
    } else if (flag == "--queue-max-running") {
      o.queue_max_running = number(1, 10000);
    } else if (flag == "--runtime-ms") {
      if (std::sscanf(value.c_str(), "%d-%d", &o.min_ms, &o.max_ms) != 2 || o.min_ms < 0 || o.max_ms < o.min_ms) {
        Die("--runtime-ms: want MIN-MAX in milliseconds, e.g. 500-1000");
      }
    } else if (flag == "--workers") {
      o.workers = number(1, 64);
    } else if (flag == "--kube-api-qps") {
      o.kube_api_qps = value == "default" ? "" : value;
    } else if (flag == "--order") {
      if (value != "random" && value != "interleaved") Die("--order: want random or interleaved");
      o.interleaved = value == "interleaved";
    } else if (flag == "--seed") {
      o.seed = static_cast<unsigned>(number(0, 1 << 30));
    } else if (flag == "--run-id") {
      o.run_id = value;
    } else if (flag == "--clean-up") {
      o.clean_up = value;
    } else {
      Die("unknown flag " + flag);
    }
  }
  return o;
}

// Waits until every task has succeeded and given its slot back; dies after
// 15 minutes or when a pod could not be driven.
void WaitForAll(const Observations& seen, const PodDriver& driver, size_t n, const std::string& log_path) {
  const auto deadline = Clock::now() + std::chrono::minutes(15);
  auto last_report = Clock::now();
  while (true) {
    const auto [admitted, released, succeeded] = seen.Progress();
    if (succeeded >= n && released >= n) return;
    if (std::optional<std::string> error = driver.error()) Die("driving a pod: " + *error);
    if (Clock::now() > deadline) {
      Die(std::to_string(succeeded) + " of " + std::to_string(n) +
          " tasks succeeded in 15 minutes; operator log: " + log_path);
    }
    if (Clock::now() - last_report > std::chrono::seconds(10)) {
      std::cerr << "  " << admitted << " admitted, " << released << " released, " << succeeded << " Succeeded\n";
      last_report = Clock::now();
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
}

}  // namespace

int main(int argc, char** argv) {
  ctask::bench::ProgramName() = "bench_queue_admission";
  const Options options = Parse(argc, argv);
  const kube::KubeClientPtr connected = ctask::bench::ConnectToTestCluster();
  kube::KubeClient& client = *connected;
  if (!options.clean_up.empty()) {
    ctask::bench::CleanUp(client, options.clean_up);
    return 0;
  }
  const std::string run = options.run_id.empty() ? "bq-" + std::to_string(getpid()) : options.run_id;
  const std::string tmp = "/tmp/" + run;
  std::filesystem::create_directories(tmp);
  const std::string log_path = tmp + "/operator.log";

  const std::vector<PlannedTask> plan = Plan(options);
  std::map<std::string, milliseconds> runtimes;
  for (const PlannedTask& t : plan) runtimes[t.name] = t.runtime;

  ctask::bench::Namespace ns(client, run + "-q");
  ctask::testing::FakeKubeletOptions kubelet_options;
  kubelet_options.namespaces = {ns.name()};
  kubelet_options.workers = 4;
  ctask::testing::FakeKubelet kubelet(client, kubelet_options);
  if (ctask::Status started = kubelet.Start(); !started) Die(started.error().message());
  PodDriver driver(kubelet, ns.name(), runtimes);
  ctask::bench::OperatorProcess op(OperatorArgs(options, ns.name()), log_path);

  Observations seen;
  std::jthread task_watch = ctask::bench::WatchFrom(client, resources::ContainerTasks(), ns.name(),
                                                    [&](const kube::WatchEvent& e) { seen.OnTask(e); });
  std::jthread pod_watch =
      ctask::bench::WatchFrom(client, resources::Pods(), ns.name(),
                              [&](const kube::WatchEvent& e) { seen.OnPod(e, kubelet.node_name(), driver); });

  std::cerr << "creating " << plan.size() << " tasks in namespace " << ns.name() << "...\n";
  const auto start = Clock::now();
  ctask::bench::Parallel(static_cast<int>(plan.size()), 4, [&](int i) -> ctask::Status {
    ctask::Result<Json> created = client.Create(resources::ContainerTasks(), ns.name(), Task(ns.name(), plan[i]));
    if (!created) return std::unexpected(created.error());
    return {};
  });
  std::cerr << "created in " << Seconds(Clock::now() - start) << " s; waiting for them to run...\n";
  WaitForAll(seen, driver, plan.size(), log_path);
  task_watch.request_stop();
  pod_watch.request_stop();
  task_watch = {};
  pod_watch = {};
  driver.Join();

  const OperatorCost cost = CostOf(op.Metrics());
  PrintFigures(options, seen.seen(), cost, start);
  std::fflush(stdout);
  ns.DeleteAndWait();  // with the operator still running: it removes each task's finalizer
  if (options.keep_log) {
    std::cerr << "operator log: " << log_path << "\n";
  } else {
    std::filesystem::remove_all(tmp);
  }
  return 0;
}
