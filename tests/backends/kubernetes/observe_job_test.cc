// ObserveAttempt: a Job and its pod, as the kubelet and the Job controller
// leave them, in runtime::Observation's words. One table of named cases.
#include "backends/kubernetes/observe_job.h"

#include <gtest/gtest.h>

namespace ctask::backends {
namespace {

using api::Json;
using runtime::WorkloadState;

Json JobWith(Json status, Json spec = Json::object()) {
  return {{"metadata", {{"name", "hello-1"}, {"creationTimestamp", "2026-11-23T10:00:00Z"}}},
          {"spec", std::move(spec)},
          {"status", std::move(status)}};
}

Json PodWith(Json container_state, std::string phase = "Pending", Json extra_status = Json::object()) {
  Json status = {{"phase", phase}};
  if (!container_state.is_null()) {
    status["containerStatuses"] = Json::array({{{"name", "task"}, {"state", std::move(container_state)}}});
  }
  for (auto& [k, v] : extra_status.items()) status[k] = v;
  return {{"metadata", {{"name", "hello-1-abcde"}, {"creationTimestamp", "2026-11-23T10:00:01Z"}}},
          {"status", std::move(status)}};
}

Json Waiting(const std::string& reason, const std::string& message = "") {
  return {{"waiting", {{"reason", reason}, {"message", message}}}};
}

Json Terminated(int code, const std::string& reason, const std::string& message = "") {
  return {{"terminated",
           {{"exitCode", code},
            {"reason", reason},
            {"message", message},
            {"startedAt", "2026-11-23T10:00:05Z"},
            {"finishedAt", "2026-11-23T10:00:09Z"}}}};
}

Json Condition(const std::string& type, const std::string& reason) {
  return {{"type", type}, {"status", "True"}, {"reason", reason}, {"message", type + " because " + reason}};
}

struct Case {
  std::string name;
  std::optional<Json> job;
  std::optional<Json> pod;
  WorkloadState state;
  std::string waiting_reason = "";
  bool permanent = false;
  std::optional<int32_t> exit_code = std::nullopt;
  bool oom = false;
  bool deadline = false;
  std::string message_part = "";  // in waiting_message or termination_message
  std::string evicted = "";
};

class ObserveAttemptTest : public ::testing::TestWithParam<Case> {};

TEST_P(ObserveAttemptTest, Observes) {
  const Case& c = GetParam();
  const runtime::Observation o = ObserveAttempt(3, c.job, c.pod);
  EXPECT_EQ(o.attempt, 3);
  EXPECT_EQ(runtime::WorkloadStateName(o.state), runtime::WorkloadStateName(c.state));
  EXPECT_EQ(o.waiting_reason, c.waiting_reason);
  EXPECT_EQ(o.waiting_permanent, c.permanent);
  EXPECT_EQ(o.exit_code, c.exit_code);
  EXPECT_EQ(o.oom_killed, c.oom);
  EXPECT_EQ(o.deadline_exceeded, c.deadline);
  EXPECT_EQ(o.evicted, c.evicted);
  if (!c.message_part.empty()) {
    EXPECT_NE((o.waiting_message + "|" + o.termination_message).find(c.message_part), std::string::npos)
        << o.waiting_message << "|" << o.termination_message;
  }
  if (c.job) {
    EXPECT_EQ(o.workload_name, "hello-1");
    EXPECT_EQ(o.created_at, ParseRfc3339("2026-11-23T10:00:00Z"));
  }
  if (c.pod) {
    EXPECT_EQ(o.pod_name, "hello-1-abcde");
  }
}

const Json kNull = nullptr;

INSTANTIATE_TEST_SUITE_P(
    Cases, ObserveAttemptTest,
    ::testing::Values(
        Case{"NoJob", std::nullopt, std::nullopt, WorkloadState::kAbsent},
        Case{"JobWithoutPodYet", JobWith({{"active", 0}}), std::nullopt, WorkloadState::kWaiting},
        Case{"PodNotStarted", JobWith({}), PodWith(kNull), WorkloadState::kWaiting},
        Case{"ContainerCreatingIsNoCause", JobWith({}), PodWith(Waiting("ContainerCreating")), WorkloadState::kWaiting},
        Case{"ErrImagePull", JobWith({}), PodWith(Waiting("ErrImagePull", "pull access denied")),
             WorkloadState::kWaiting, "ImagePullFailed", false, std::nullopt, false, false, "pull access denied"},
        Case{"ImagePullBackOff", JobWith({}), PodWith(Waiting("ImagePullBackOff")), WorkloadState::kWaiting,
             "ImagePullFailed"},
        Case{"InvalidImageNameIsPermanent", JobWith({}), PodWith(Waiting("InvalidImageName")), WorkloadState::kWaiting,
             "ImagePullFailed", true},
        Case{"MissingSecretKey", JobWith({}),
             PodWith(Waiting("CreateContainerConfigError", "couldn't find key password in Secret dev/db")),
             WorkloadState::kWaiting, "ConfigError", false, std::nullopt, false, false, "couldn't find key password"},
        Case{"CreateContainerError", JobWith({}), PodWith(Waiting("CreateContainerError")), WorkloadState::kWaiting,
             "ContainerCreateFailed"},
        Case{"Unschedulable", JobWith({}),
             PodWith(kNull, "Pending",
                     {{"conditions", Json::array({{{"type", "PodScheduled"},
                                                   {"status", "False"},
                                                   {"reason", "Unschedulable"},
                                                   {"message", "0/3 nodes are available"}}})}}),
             WorkloadState::kWaiting, "Unschedulable", false, std::nullopt, false, false, "0/3 nodes"},
        Case{"Running", JobWith({{"active", 1}}),
             PodWith({{"running", {{"startedAt", "2026-11-23T10:00:05Z"}}}}, "Running"), WorkloadState::kRunning},
        Case{"ExitedZero", JobWith({}), PodWith(Terminated(0, "Completed", "the result"), "Succeeded"),
             WorkloadState::kExited, "", false, 0, false, false, "the result"},
        Case{"ExitedNonZero", JobWith({}), PodWith(Terminated(3, "Error"), "Failed"), WorkloadState::kExited, "", false,
             3},
        Case{"OOMKilledWithExitZero", JobWith({}), PodWith(Terminated(0, "OOMKilled"), "Failed"),
             WorkloadState::kExited, "", false, 0, true},
        Case{"DeadlineKilledPod", JobWith({{"conditions", Json::array({Condition("Failed", "DeadlineExceeded")})}}),
             PodWith(Terminated(137, "Error"), "Failed"), WorkloadState::kExited, "", false, 137, false, true},
        Case{"DeadlineAndPodGone", JobWith({{"conditions", Json::array({Condition("Failed", "DeadlineExceeded")})}}),
             std::nullopt, WorkloadState::kExited, "", false, std::nullopt, false, true},
        Case{"PodFailedWithoutContainerStatus", JobWith({}),
             PodWith(kNull, "Failed", {{"reason", "Evicted"}, {"message", "node ran out of memory"}}),
             WorkloadState::kExited, "", false, std::nullopt, false, false, "node ran out of memory",
             "node ran out of memory"},
        // What the real kubelet reports for an emptyDir beyond its sizeLimit:
        // the container it stopped looks like any exit; the pod says why.
        Case{"EvictedAfterItsContainerRan", JobWith({}),
             PodWith(Terminated(137, "Error"), "Failed",
                     {{"reason", "Evicted"}, {"message", "Usage of EmptyDir volume \"workspace\" exceeds the limit"}}),
             WorkloadState::kExited, "", false, 137, false, false, "",
             "Usage of EmptyDir volume \"workspace\" exceeds the limit"},
        Case{"CompleteJobWhosePodIsGone", JobWith({{"conditions", Json::array({Condition("Complete", "")})}}),
             std::nullopt, WorkloadState::kExited, "", false, 0},
        Case{"SuspendedJobWithoutPodIsStopped", JobWith({}, {{"suspend", true}}), std::nullopt,
             WorkloadState::kExited}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

Json KueueJob(Json status, bool suspended) {
  Json job = JobWith(std::move(status), {{"suspend", suspended}});
  job["metadata"]["labels"] = {{"kueue.x-k8s.io/queue-name", "lq"}, {"ctask.io/task", "hello"}};
  return job;
}

TEST(ObserveKueueJobTest, SuspendedByKueueIsHeldNotStopped) {
  const runtime::Observation held = ObserveAttempt(1, KueueJob({}, true), std::nullopt);
  EXPECT_EQ(held.state, WorkloadState::kWaiting);
  EXPECT_TRUE(held.held_for_admission);
  EXPECT_EQ(held.waiting_reason, "WaitingForKueue");
  EXPECT_EQ(held.waiting_message, "Job hello-1 is suspended until Kueue admits it (LocalQueue lq)");
  // Preempted: Kueue suspended it again while its pod still runs.
  const runtime::Observation preempted =
      ObserveAttempt(1, KueueJob({}, true), PodWith({{"running", {{"startedAt", "2026-11-23T10:00:05Z"}}}}, "Running"));
  EXPECT_TRUE(preempted.held_for_admission);
  EXPECT_EQ(preempted.state, WorkloadState::kWaiting);
  // Admitted: an ordinary Job, pending time from its (re)start.
  const runtime::Observation admitted =
      ObserveAttempt(1, KueueJob({{"startTime", "2026-11-23T10:07:00Z"}}, false), std::nullopt);
  EXPECT_FALSE(admitted.held_for_admission);
  EXPECT_EQ(admitted.state, WorkloadState::kWaiting);
  EXPECT_EQ(admitted.created_at, ParseRfc3339("2026-11-23T10:07:00Z"));
  // Unsuspended a moment ago, no startTime yet: no start time to count
  // pending time from (its creation was before the wait for Kueue).
  EXPECT_FALSE(ObserveAttempt(1, KueueJob({}, false), std::nullopt).created_at);
  // Finished: what it did, whatever suspend says.
  const runtime::Observation done =
      ObserveAttempt(1, KueueJob({{"conditions", Json::array({Condition("Complete", "")})}}, true), std::nullopt);
  EXPECT_EQ(done.state, WorkloadState::kExited);
  EXPECT_FALSE(done.held_for_admission);
}

TEST(CurrentPodTest, PrefersTheNewestLivePod) {
  auto pod = [](const std::string& name, const std::string& created, bool deleting) {
    Json p = {{"metadata", {{"name", name}, {"creationTimestamp", created}}}};
    if (deleting) p["metadata"]["deletionTimestamp"] = "2026-11-23T10:00:09Z";
    return p;
  };
  EXPECT_EQ(CurrentPod({}), std::nullopt);
  std::optional<Json> got =
      CurrentPod({pod("old", "2026-11-23T10:00:00Z", false), pod("newer-deleting", "2026-11-23T10:00:05Z", true),
                  pod("new", "2026-11-23T10:00:03Z", false)});
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["metadata"]["name"], "new");
  got = CurrentPod({pod("deleting", "2026-11-23T10:00:05Z", true)});
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["metadata"]["name"], "deleting") << "a pod being deleted is still observed when it is the only one";
}

// A fan-out item's bare pod (render/pod.h): the same words from the pod
// alone, with the pod's own deadline and no Job to fall back on.
TEST(ObservePodAttemptTest, NoPodIsAbsent) {
  const runtime::Observation o = ObservePodAttempt(2, std::nullopt);
  EXPECT_EQ(o.attempt, 2);
  EXPECT_EQ(o.state, WorkloadState::kAbsent);
}

TEST(ObservePodAttemptTest, APodJustCreatedWaitsFromItsCreation) {
  const runtime::Observation o =
      ObservePodAttempt(1, Json{{"metadata", {{"name", "map-i3-a1"}, {"creationTimestamp", "2026-11-23T10:00:01Z"}}}});
  EXPECT_EQ(o.state, WorkloadState::kWaiting);
  EXPECT_EQ(o.pod_name, "map-i3-a1");
  EXPECT_EQ(o.workload_name, "") << "no Job for the status to name";
  EXPECT_EQ(o.created_at, ParseRfc3339("2026-11-23T10:00:01Z"));
  EXPECT_TRUE(o.waiting_reason.empty());
}

TEST(ObservePodAttemptTest, TheContainersExitIsTheAttempts) {
  runtime::Observation o = ObservePodAttempt(1, PodWith(Terminated(3, "Error", "half done"), "Failed"));
  EXPECT_EQ(o.state, WorkloadState::kExited);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.termination_message, "half done");
  EXPECT_FALSE(o.deadline_exceeded);
  o = ObservePodAttempt(1, PodWith(Terminated(137, "OOMKilled"), "Failed"));
  EXPECT_TRUE(o.oom_killed);
  o = ObservePodAttempt(1, PodWith(Waiting("ImagePullBackOff", "back-off pulling")));
  EXPECT_EQ(o.state, WorkloadState::kWaiting);
  EXPECT_EQ(o.waiting_reason, runtime::kReasonImagePullFailed);
}

TEST(ObservePodAttemptTest, ThePodsActiveDeadlineIsTheDeadlineStartedOrNot) {
  const Json deadline = {{"reason", "DeadlineExceeded"}, {"message", "Pod was active on the node longer than ..."}};
  runtime::Observation o = ObservePodAttempt(1, PodWith(Terminated(137, "Error"), "Failed", deadline));
  EXPECT_EQ(o.state, WorkloadState::kExited);
  EXPECT_TRUE(o.deadline_exceeded) << "the kubelet killed it for activeDeadlineSeconds";
  o = ObservePodAttempt(1, PodWith(Waiting("ContainerCreating"), "Failed", deadline));
  EXPECT_EQ(o.state, WorkloadState::kExited);
  EXPECT_TRUE(o.deadline_exceeded) << "before its container started";
}

TEST(ObservePodAttemptTest, APodBeingDeletedIsLiveUntilItsContainerEnded) {
  Json pod = PodWith({{"running", {{"startedAt", "2026-11-23T10:00:05Z"}}}}, "Running");
  pod["metadata"]["deletionTimestamp"] = "2026-11-23T10:00:09Z";
  EXPECT_EQ(ObservePodAttempt(1, pod).state, WorkloadState::kRunning);
  pod["status"] = PodWith(Terminated(137, "Error"), "Failed")["status"];
  const runtime::Observation o = ObservePodAttempt(1, pod);
  EXPECT_EQ(o.state, WorkloadState::kExited);
  EXPECT_EQ(o.exit_code, 137);
}

}  // namespace
}  // namespace ctask::backends
