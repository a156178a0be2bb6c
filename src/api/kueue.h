// Kueue (kueue.sigs.k8s.io), for clusters that run it: a task whose
// metadata carries the label kueue.x-k8s.io/queue-name is admitted by Kueue,
// not by ctask's own queues (docs/queues.md). Its Job gets that label, and
// every other kueue.x-k8s.io/ label of the task (a WorkloadPriorityClass,
// ...), and is created suspended, as Kueue wants; from then on only Kueue
// changes spec.suspend: it unsuspends the Job when it admits it and suspends
// it again when it preempts it.
//
// The Docker backend has no Kueue: there the label is ignored and the task
// waits in its ctask queue like any other.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "api/types.h"

namespace ctask::api {

inline constexpr const char* kKueueLabelPrefix = "kueue.x-k8s.io/";
inline constexpr const char* kKueueQueueNameLabel = "kueue.x-k8s.io/queue-name";

// The Kueue LocalQueue the labels name; "" when none.
std::string KueueQueueName(const std::map<std::string, std::string>& labels);

// The task's kueue.x-k8s.io/ labels, for its Job.
std::map<std::string, std::string> KueueLabels(const ObjectMeta& metadata);

}  // namespace ctask::api
