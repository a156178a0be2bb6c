#include "status/worth_writing.h"

#include "api/codec.h"

namespace ctask::status {

bool WorthWriting(const api::ContainerTask& before, const api::ContainerTask& after) {
  api::ContainerTask without_names = after;
  without_names.status.job_name = before.status.job_name;
  without_names.status.pod_name = before.status.pod_name;
  without_names.status.container_id = before.status.container_id;
  return api::EncodeContainerTask(without_names) != api::EncodeContainerTask(before);
}

namespace {

std::optional<std::chrono::seconds> Until(Timestamp until, Timestamp now) {
  if (now >= until) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(until - now);
}

}  // namespace

std::optional<std::chrono::seconds> WriteWait(const api::ContainerTask& before,
                                              const std::optional<runtime::Observation>& observed,
                                              const Decision& decision, Timestamp now) {
  const api::ContainerTaskStatus& st = decision.status;
  if (decision.action != Action::kNone || !observed || observed->attempt != st.attempts) return std::nullopt;
  // Only once the record names the attempt: a container seen running must
  // be in the record before it could vanish unseen, or the next pass would
  // take the attempt for one never started and start it again.
  const bool newly_running = before.status.attempts > 0 && st.phase == api::phase::kRunning &&
                             before.status.phase != api::phase::kRunning &&
                             observed->state == runtime::WorkloadState::kRunning;
  if (newly_running && observed->started_at) return Until(*observed->started_at + kRunningGrace, now);
  return std::nullopt;
}

}  // namespace ctask::status
