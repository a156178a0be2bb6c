// Runtime: the seam between the reconcile loop and a backend (Docker Engine,
// Kubernetes Jobs). Small on purpose, like leveldb's Env or Kueue's
// GenericJob: the loop decides (status/decide.h), a Runtime only acts and
// looks.
//
// Every method is idempotent and addressed by (task, attempt), never by a
// handle kept in memory: workloads carry the ctask labels (render/labels.h),
// so after a crash a new process finds them again. Apply never creates a
// second workload for an attempt that has one.
//
// Thread-safety: implementations are safe to call from several workers at
// once for different tasks.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string_view>

#include "api/types.h"
#include "runtime/observation.h"
#include "util/error.h"

namespace ctask::runtime {

class Runtime {
 public:
  virtual ~Runtime() = default;

  // Makes the workload of `attempt` exist and start: creates it if absent,
  // starts it if created but not started, leaves it alone otherwise.
  // kFailedPrecondition when the task cannot run here (a missing Secret key,
  // a host path outside the policy, an image that cannot be had): the
  // runtime remembers the cause and Observe reports the attempt Waiting with
  // it, so the task fails naming it. kInvalidArgument (the backend refused
  // the rendered workload as invalid) and kPermissionDenied (the operator may
  // not create it) are terminal: the reconciler fails the task with the
  // error's message and never retries (reconcile/outcome.h). Any other error
  // is transient (the backend is unreachable): retry.
  virtual Status Apply(const api::ContainerTask& task, int attempt) = 0;

  // What exists of `attempt`'s workload; kAbsent when nothing does.
  virtual Result<Observation> Observe(const api::ContainerTask& task, int attempt) = 0;

  // Stops the workload, giving it `grace` to exit after SIGTERM. A stopped or
  // absent workload is success.
  virtual Status Stop(const api::ContainerTask& task, int attempt, std::chrono::seconds grace) = 0;

  // Removes the workload (and its anonymous volumes). Absent is success.
  virtual Status Delete(const api::ContainerTask& task, int attempt) = 0;

  // Removes every workload of the task: each attempt's, and each item's of
  // a fan-out task (found by their labels, as after a crash). Live ones are
  // killed. Nothing left is success.
  virtual Status DeleteAll(const api::ContainerTask& task) = 0;
};

using RuntimePtr = std::unique_ptr<Runtime>;

// Which output stream a piece of log came from.
enum class LogStream { kStdout, kStderr };

// Receives log output as it arrives; returning false stops following.
using LogCallback = std::function<bool(LogStream stream, std::string_view data)>;

// A follow started by LogSource::StartFollow. Destroying it stops it: once
// the destructor returns, none of its callbacks runs. It may be destroyed
// inside its own on_end.
class LogFollow {
 public:
  virtual ~LogFollow() = default;
};

// How a follow ended: success once the workload ended and all its output
// was delivered; kCancelled when on_data returned false; else the error.
using LogEnd = std::function<void(Status)>;

// An optional capability: a backend whose workloads' output can be followed.
class LogSource {
 public:
  virtual ~LogSource() = default;

  // Streams `attempt`'s output from the start, beginning after `delay`, until
  // the workload ends, the callback says stop, or the follow is destroyed (a
  // process shutting down while the workload runs on). on_data and on_end
  // run on the source's own threads; on_end runs once, unless the follow is
  // destroyed first. Re-following after a broken stream is the caller's
  // job: it knows how many bytes it has.
  virtual std::unique_ptr<LogFollow> StartFollow(const api::ContainerTask& task, int attempt, LogCallback on_data,
                                                 LogEnd on_end, std::chrono::milliseconds delay) = 0;
};

// A LogSource whose follow blocks a thread (the Docker Engine API over a
// Unix socket carries one stream per connection anyway): StartFollow runs
// FollowLogs on a thread of its own.
class BlockingLogSource : public LogSource {
 public:
  // Streams `attempt`'s output from the start until the workload ends, the
  // callback says stop, or `stop` is requested.
  virtual Status FollowLogs(const api::ContainerTask& task, int attempt, const LogCallback& on_data,
                            std::stop_token stop) = 0;

  std::unique_ptr<LogFollow> StartFollow(const api::ContainerTask& task, int attempt, LogCallback on_data,
                                         LogEnd on_end, std::chrono::milliseconds delay) override;
};

}  // namespace ctask::runtime
