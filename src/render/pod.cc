#include "render/pod.h"

#include <utility>

namespace ctask::render {

using api::Json;

Result<Json> RenderPod(const api::ContainerTask& task, const JobOptions& options) {
  // From the Job, not beside it: a pod and a Job for the same attempt can
  // never differ in what runs.
  Result<Json> job = RenderJob(task, options);
  if (!job) return job;
  Json& job_meta = (*job)["metadata"];
  Json& job_spec = (*job)["spec"];
  Json& pod_template = job_spec["template"];

  // Keys in alphabetical order, as RenderJob builds them (job.cc).
  Json& template_meta = pod_template["metadata"];
  Json annotations = template_meta.value("annotations", Json::object());  // podAnnotations
  for (auto& [key, value] : job_meta["annotations"].items()) annotations[key] = std::move(value);
  Json meta = Json::object();
  meta["annotations"] = std::move(annotations);
  meta["labels"] = std::move(template_meta["labels"]);
  meta["name"] = std::move(job_meta["name"]);
  if (job_meta.contains("namespace")) meta["namespace"] = std::move(job_meta["namespace"]);
  if (job_meta.contains("ownerReferences")) meta["ownerReferences"] = std::move(job_meta["ownerReferences"]);

  Json spec = Json::object();
  if (job_spec.contains("activeDeadlineSeconds")) spec["activeDeadlineSeconds"] = job_spec["activeDeadlineSeconds"];
  for (auto& [key, value] : pod_template["spec"].items()) spec[key] = std::move(value);

  Json pod = Json::object();
  pod["apiVersion"] = "v1";
  pod["kind"] = "Pod";
  pod["metadata"] = std::move(meta);
  pod["spec"] = std::move(spec);
  return pod;
}

}  // namespace ctask::render
