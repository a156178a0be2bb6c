// ContainerTask -> batch/v1 Job, for one attempt. Pure: the same task and
// options always give the same Job, byte for byte, so the operator can compare
// what exists with what it would create.
//
// One Job per attempt, each with backoffLimit 0: the operator, not the Job
// controller, decides on retries (retryPolicy.onExitCodes, OOMKilled with exit
// 0, backoff), and every attempt keeps its own history entry and log.
//
// The Job carries: a deterministic name (DerivedJobName), a controller
// ownerReference to the task, the ctask labels (labels.h) on the Job and its
// pod template, restartPolicy Never, env/envFrom as given (secretKeyRef and
// configMapKeyRef stay references: the kubelet resolves them), resources,
// security defaults (drop ALL capabilities, no privilege escalation,
// RuntimeDefault seccomp), activeDeadlineSeconds, terminationMessagePolicy
// FallbackToLogsOnError, the workspace volume and the scheduling fields.
#pragma once

#include <optional>

#include "api/json.h"
#include "api/types.h"
#include "util/error.h"

namespace ctask::render {

inline constexpr const char* kContainerName = "task";

// "<task>-inputs": the ConfigMap of a task with runAfter, holding its input
// files (docs/fan-out.md), mounted into its pods at /ctask/inputs.
std::string InputsConfigMapName(std::string_view task_name);

struct JobOptions {
  int attempt = 1;
  // Seconds left of spec.timeoutSeconds for this attempt (the operator
  // computes it from status.startTime); nullopt when the task has no timeout.
  std::optional<int64_t> active_deadline_seconds;
};

// A task that cannot be rendered for Kubernetes (a Docker-only workspace) is an
// InvalidArgument error naming the field.
Result<api::Json> RenderJob(const api::ContainerTask& task, const JobOptions& options);

// The deny-all NetworkPolicy that isolates the task's pods (spec.network.isolated).
api::Json RenderNetworkPolicy(const api::ContainerTask& task);

}  // namespace ctask::render
