// The labels and annotations by which the operator finds what it owns. Every
// workload object (Job, pod template, ConfigMap, NetworkPolicy, Docker
// container) carries them, so a restart can list its children by selector
// instead of remembering them.
#pragma once

namespace ctask::render {

inline constexpr const char* kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "ctask";
inline constexpr const char* kLabelTask = "ctask.io/task";                   // task name (a DNS-1123 label)
inline constexpr const char* kLabelTaskUid = "ctask.io/task-uid";            // task UID, survives name reuse
inline constexpr const char* kLabelAttempt = "ctask.io/attempt";             // "1", "2", ...
inline constexpr const char* kLabelNamespace = "ctask.io/namespace";         // Docker only: no namespaces there
inline constexpr const char* kAnnotationGeneration = "ctask.io/generation";  // spec generation rendered
// What status.logAttempt says, as records written before that field said it
// (status/log_attempt.h still reads it; nothing writes it any more).
inline constexpr const char* kAnnotationLogAttempt = "ctask.io/log-attempt";
// On a fan-out task's record: its items' workloads were deleted
// (workloadTTLSecondsAfterFinished), so they are not deleted again.
inline constexpr const char* kAnnotationWorkloadsDeleted = "ctask.io/workloads-deleted";
// Where a task that runs after others finds their results (docs/fan-out.md):
// one file per task it names, "<name>.json", in the results document's
// form, and CTASK_INPUTS naming the directory.
inline constexpr const char* kInputsDir = "/ctask/inputs";
inline constexpr const char* kEnvInputs = "CTASK_INPUTS";
// On an item's workload (fan-out, docs/fan-out.md): the item's index.
inline constexpr const char* kLabelItem = "ctask.io/item";

}  // namespace ctask::render
