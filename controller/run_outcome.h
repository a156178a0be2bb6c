// What `ctask run` reports when its tasks are done: one summary line per task
// and the process exit status. Pure, so every rule is a unit test.
//
// Exit status (docs/cli.md, docs/docker-backend.md):
//   0        every task Succeeded
//   1..255   the exit code of the first task (in file order) that failed
//            with a non-zero exit code
//   124      the first failed task ran past spec.timeoutSeconds (DeadlineExceeded),
//            as timeout(1)
//   126      the first failed task could not start (ImagePullFailed,
//            ConfigError, InvalidSpec, ...), as a shell's "cannot execute"
//   130      cancelled (Ctrl-C), as a shell reports SIGINT
//   137      OOMKilled with exit code 0 (128 + SIGKILL, what the kernel did)
//   125      ctask itself could not run the tasks (the manifest does not load,
//            the Docker daemon is unreachable, the state directory is in use),
//            as `docker run` uses it
#pragma once

#include <string>
#include <vector>

#include "api/types.h"
#include "util/time.h"

namespace ctask::cli {

inline constexpr int kExitRunDeadline = 124;
inline constexpr int kExitRunInfrastructure = 125;
inline constexpr int kExitRunCannotStart = 126;
inline constexpr int kExitRunCancelled = 130;
inline constexpr int kExitRunOomKilled = 137;

// `tasks` in the order the files gave them.
int RunExitCode(const std::vector<api::ContainerTask>& tasks);

// "hello: Succeeded (Completed), exit code 0, 1 attempt, 2s; log: PATH (12 B)"
std::string SummaryLine(const api::ContainerTask& task, Timestamp now);

}  // namespace ctask::cli
