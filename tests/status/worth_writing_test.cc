#include "status/worth_writing.h"

#include <gtest/gtest.h>

#include "render/labels.h"
#include "status/log_attempt.h"

namespace ctask::status {
namespace {

api::ContainerTask Pending() {
  api::ContainerTask t;
  t.metadata.name = "t";
  t.status.phase = "Pending";
  t.status.reason = "Starting";
  t.status.message = "starting attempt 1";
  t.status.attempts = 1;
  return t;
}

TEST(WorthWritingTest, NothingChangedIsNoWrite) {
  EXPECT_FALSE(WorthWriting(Pending(), Pending()));
}

TEST(WorthWritingTest, TheWorkloadsNamesAloneWaitForTheNextChange) {
  api::ContainerTask after = Pending();
  after.status.job_name = "t-1";
  after.status.pod_name = "t-1-abcde";
  after.status.container_id = "0123";
  EXPECT_FALSE(WorthWriting(Pending(), after));
}

TEST(WorthWritingTest, ANamesChangeGoesWithAnythingAUserSees) {
  api::ContainerTask after = Pending();
  after.status.pod_name = "t-1-abcde";
  after.status.phase = "Running";
  EXPECT_TRUE(WorthWriting(Pending(), after));
  after = Pending();
  after.status.message = "attempt 1 is waiting to start: ContainerCreating";
  EXPECT_TRUE(WorthWriting(Pending(), after));
  after = Pending();
  after.status.log_tail = "hello\n";
  EXPECT_TRUE(WorthWriting(Pending(), after));
  after = Pending();
  after.metadata.annotations["ctask.io/x"] = "y";
  EXPECT_TRUE(WorthWriting(Pending(), after));
}

// A first attempt created before its status: its status is written by
// the pass that sees the workload, whatever it says.
TEST(WriteWaitTest, AFirstWorkloadIsWrittenAtOnce) {
  const Timestamp created = Timestamp(std::chrono::seconds(1000));
  api::ContainerTask before;  // nothing written yet
  Decision d;
  d.status = Pending().status;
  runtime::Observation job;
  job.attempt = 1;
  job.state = runtime::WorkloadState::kWaiting;
  job.created_at = created;
  EXPECT_EQ(WriteWait(before, job, d, created), std::nullopt);
}

// Running first seen within a second of the container's start waits that
// second: a container that ends within it goes straight to its end.
TEST(WriteWaitTest, AFreshRunningWaitsASecondForItsEnd) {
  const Timestamp started = Timestamp(std::chrono::seconds(1000));
  api::ContainerTask before = Pending();
  Decision d;
  d.status = Pending().status;
  d.status.phase = "Running";
  d.status.reason = "Running";
  runtime::Observation running;
  running.attempt = 1;
  running.state = runtime::WorkloadState::kRunning;
  running.started_at = started;
  EXPECT_EQ(WriteWait(before, running, d, started), kRunningGrace);
  EXPECT_EQ(WriteWait(before, running, d, started + kRunningGrace), std::nullopt);
  api::ContainerTask already = before;
  already.status.phase = "Running";
  EXPECT_EQ(WriteWait(already, running, d, started), std::nullopt) << "a running task's tail is not held back";
  api::ContainerTask unwritten;  // workload first, nothing written yet
  EXPECT_EQ(WriteWait(unwritten, running, d, started), std::nullopt) << "a first container that ran is written";
}

TEST(CompleteLogAttemptTest, StatusFirstThenTheAnnotationOfOlderRecords) {
  api::ContainerTask t = Pending();
  EXPECT_EQ(CompleteLogAttempt(t), 0);
  t.metadata.annotations[render::kAnnotationLogAttempt] = "1";
  EXPECT_EQ(CompleteLogAttempt(t), 1);
  t.status.log_attempt = 2;
  EXPECT_EQ(CompleteLogAttempt(t), 2);
  t.status.log_attempt = 0;
  t.metadata.annotations[render::kAnnotationLogAttempt] = "1x";  // hand-edited
  EXPECT_EQ(CompleteLogAttempt(t), 0);
}

}  // namespace
}  // namespace ctask::status
