// Slim copies: the informers' transforms (ReflectorOptions::transform). The
// operator caches every ContainerTask, Job and Pod it owns; at 10,000 tasks
// the fields it never reads (managedFields, pod specs, kubectl's
// last-applied copy of the spec) would be most of its memory. Each function
// keeps exactly what the operator reads and drops the rest, in place.
//
// What is kept is part of the contract: code reading a cached object may
// rely on these fields and no others.
//  - every object: apiVersion, kind, metadata.{name, namespace, uid,
//    resourceVersion, generation, labels, ownerReferences,
//    creationTimestamp, deletionTimestamp, finalizers}
//  - ContainerTask: also the other annotations, spec and status whole
//  - Job: spec.{suspend, activeDeadlineSeconds}, status.{conditions (type,
//    status, reason, message), active, succeeded, failed, startTime,
//    completionTime}
//  - Pod: spec.nodeName, status.{phase, reason, message, startTime,
//    conditions of type PodScheduled, containerStatuses (name, state)}
//
// Each also has the list of fields its watch leaves out while parsing
// (ReflectorOptions::skipped_fields): the largest of what it drops, so a
// burst of Job events does not build the trees the slim copy then frees.
// Every skipped field is one the slim copy drops anyway.
//
// Thread-safety: pure functions.
#pragma once

#include <vector>

#include "api/json.h"
#include "kube/watch_decoder.h"

namespace ctask::backends {

void SlimTask(api::Json& task);
void SlimJob(api::Json& job);
void SlimPod(api::Json& pod);

std::vector<kube::FieldPath> SkippedTaskFields();
std::vector<kube::FieldPath> SkippedJobFields();
std::vector<kube::FieldPath> SkippedPodFields();

}  // namespace ctask::backends
