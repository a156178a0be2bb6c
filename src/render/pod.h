// ContainerTask item -> v1 Pod, for one attempt: how the Kubernetes backend
// runs a fan-out's items (docs/fan-out.md). Pure, like RenderJob.
//
// A fan-out of 1,000 items as 1,000 one-pod Jobs costs kube-controller-
// manager about six requests per item (the Job's pod, its tracking
// finalizer, the Job's status), at its 20 QPS: the Job controller, not the
// API server or the operator, sets the pace. The operator already decides
// every retry and every stop itself (one Job per attempt, backoffLimit 0),
// so a Job adds nothing an item needs: items run as bare pods owned by the
// task, as Argo Workflows' and Tekton's steps do.
//
// The Pod is RenderJob's pod template made an object: the same name
// (DerivedJobName), the same ctask labels (and the task's podLabels and
// podAnnotations), the same spec, restartPolicy Never, plus the Job's
// activeDeadlineSeconds (the kubelet enforces it while the operator is
// down) and its generation annotation, and a controller ownerReference to
// the task.
#pragma once

#include "api/json.h"
#include "api/types.h"
#include "render/job.h"
#include "util/error.h"

namespace ctask::render {

// The errors are RenderJob's.
Result<api::Json> RenderPod(const api::ContainerTask& task, const JobOptions& options);

}  // namespace ctask::render
