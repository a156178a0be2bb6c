// ObserveAttempt: what the Kubernetes backend sees of one attempt — its Job
// and the Job's pod, as the informers cache them (slim.h) — in the
// backend-neutral words of runtime::Observation, so status::Decide reports
// a pod exactly as it reports a Docker container.
//
// The rules, which are the Kubernetes half of DESIGN.md section 3:
//  - No Job: kAbsent.
//  - The pod's container terminated: kExited with its exit code, OOMKilled
//    from the kubelet's reason (whatever the exit code), the termination
//    message as the result, and its times.
//  - The container runs: kRunning.
//  - The container waits, or the pod is not scheduled: kWaiting with a
//    reason that names the cause. Image pull errors (ErrImagePull,
//    ImagePullBackOff, ...) are ImagePullFailed, permanent when no retry can
//    fix them (InvalidImageName, ErrImageNeverPull); a missing Secret or
//    ConfigMap key (CreateContainerConfigError) is ConfigError — not
//    permanent, the user may still create it; pendingTimeoutSeconds bounds
//    both. Unschedulable comes from the PodScheduled condition.
//  - The Job failed without a terminated container (activeDeadlineSeconds:
//    DeadlineExceeded, or its pod was removed): kExited, flagged
//    deadline_exceeded for the deadline.
//  - A suspended Job with no pod left (the operator stopped it): kExited with
//    no exit code — stopped, not live.
//  - A Job with no pod yet: kWaiting (the Job controller is creating it).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/json.h"
#include "runtime/observation.h"

namespace ctask::backends {

runtime::Observation ObserveAttempt(int attempt, const std::optional<api::Json>& job,
                                    const std::optional<api::Json>& pod);

// An attempt that is a bare pod (a fan-out item, render/pod.h), by the same
// rules with the pod alone: no pod is kAbsent; the pod's own reason
// DeadlineExceeded (its activeDeadlineSeconds, enforced by the kubelet) is
// the deadline, whether or not its container had started; a pod being
// deleted (the operator stopped it) is live until its container has
// terminated, then gone.
runtime::Observation ObservePodAttempt(int attempt, const std::optional<api::Json>& pod);

// The pod to observe among a Job's pods (with backoffLimit 0 there is one;
// during a replacement there may briefly be two): the newest one that is not
// being deleted, else the newest. nullopt for none.
std::optional<api::Json> CurrentPod(const std::vector<api::Json>& pods);

// The Kueue LocalQueue a Job is labelled for (api/kueue.h); "" for a Job
// Kueue does not admit.
std::string KueueQueueOf(const api::Json& job);

}  // namespace ctask::backends
