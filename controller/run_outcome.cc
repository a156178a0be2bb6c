#include "run_outcome.h"

#include "status/decide.h"

namespace ctask::cli {
namespace {

int TaskExitCode(const api::ContainerTask& task) {
  const api::ContainerTaskStatus& st = task.status;
  if (st.phase == api::phase::kSucceeded) return 0;
  if (st.phase == api::phase::kCancelled) return kExitRunCancelled;
  if (st.reason == status::reason::kDeadlineExceeded) return kExitRunDeadline;
  if (st.exit_code && *st.exit_code > 0 && *st.exit_code <= 255) return *st.exit_code;
  if (st.reason == status::reason::kOOMKilled) return kExitRunOomKilled;
  if (st.exit_code && *st.exit_code != 0) return 1;  // outside 1..255: still a failure
  // BackoffLimitExceeded keeps the last attempt's exit code above; what is
  // left never ran a command to its end.
  return kExitRunCannotStart;
}

std::string Duration(std::chrono::seconds s) {
  const long long total = s.count();
  if (total < 60) return std::to_string(total) + "s";
  if (total < 3600) return std::to_string(total / 60) + "m" + std::to_string(total % 60) + "s";
  return std::to_string(total / 3600) + "h" + std::to_string(total % 3600 / 60) + "m";
}

std::string Size(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < 1024 * 1024) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes / (1024 * 1024)) + " MiB";
}

}  // namespace

int RunExitCode(const std::vector<api::ContainerTask>& tasks) {
  for (const api::ContainerTask& task : tasks) {
    if (task.status.phase != api::phase::kSucceeded) return TaskExitCode(task);
  }
  return 0;
}

std::string SummaryLine(const api::ContainerTask& task, Timestamp now) {
  const api::ContainerTaskStatus& st = task.status;
  std::string line = task.metadata.name + ": " + (st.phase.empty() ? "Pending" : st.phase);
  if (!st.reason.empty()) line += " (" + st.reason + ")";
  if (st.exit_code) line += ", exit code " + std::to_string(*st.exit_code);
  if (st.fan_out) {
    line +=
        ", " + std::to_string(st.fan_out->succeeded) + " of " + std::to_string(st.fan_out->total) + " items succeeded";
  } else {
    line += ", " + std::to_string(st.attempts) + (st.attempts == 1 ? " attempt" : " attempts");
  }
  if (st.start_time) line += ", " + Duration(st.completion_time.value_or(now) - *st.start_time);
  if (st.phase != api::phase::kSucceeded && !st.message.empty()) line += "; " + st.message;
  if (st.artifacts.log) {
    line += "; log: " + st.artifacts.log->name + " (" + Size(st.artifacts.log->size_bytes) +
            (st.artifacts.log->truncated ? ", truncated" : "") + ")";
  }
  return line;
}

}  // namespace ctask::cli
