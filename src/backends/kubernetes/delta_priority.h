// Where a watched object's change puts its task in the work queue
// (reconcile/ready_keys.h). Pure.
//
//  - A change of a task's Job or pod (its container started, ended, was
//    refused; the Job finished or went away) goes first: the status a user
//    waits on, and the p99 of "pod ended -> task Succeeded" under a burst.
//  - A task created or changed while the operator runs goes next.
//  - Last: the tasks of the informer's initial list, there before the
//    operator, and a Job or pod first seen — the Job this operator just
//    created, kube-controller-manager's pod for it, or the initial list's.
//    Its appearance changes nothing a user waits on, so its task's Pending
//    goes behind the tasks whose Jobs are not created yet: a burst creates
//    Jobs at the client's pace and writes their statuses after. Until then
//    the task reads observedGeneration 0 (the CRD's status default,
//    api/schema.cc), in progress to kstatus and the Argo CD check.
#pragma once

#include "kube/object_cache.h"
#include "reconcile/ready_keys.h"

namespace ctask::backends {

// `owned`: a Job or pod of a task (not the task itself). `initial_list`:
// the tasks' informer has not synced yet.
inline reconcile::Priority DeltaPriority(kube::Delta::Type type, bool owned, bool initial_list) {
  if (owned) return type == kube::Delta::Type::kAdded ? reconcile::Priority::kLow : reconcile::Priority::kHigh;
  return initial_list ? reconcile::Priority::kLow : reconcile::Priority::kNormal;
}

}  // namespace ctask::backends
