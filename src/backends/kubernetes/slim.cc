#include "backends/kubernetes/slim.h"

#include <initializer_list>
#include <string_view>

namespace ctask::backends {
namespace {

using api::Json;

// Keeps only `keys` of an object; anything that is not an object is left.
void KeepOnly(Json& object, std::initializer_list<std::string_view> keys) {
  if (!object.is_object()) return;
  Json kept = Json::object();
  for (std::string_view key : keys) {
    auto it = object.find(key);
    if (it != object.end()) kept[std::string(key)] = std::move(*it);
  }
  object = std::move(kept);
}

void SlimMetadata(Json& object, bool keep_annotations) {
  auto meta = object.find("metadata");
  if (meta == object.end()) return;
  Json annotations;
  if (keep_annotations && meta->contains("annotations")) annotations = std::move((*meta)["annotations"]);
  KeepOnly(*meta, {"name", "namespace", "uid", "resourceVersion", "generation", "labels", "ownerReferences",
                   "creationTimestamp", "deletionTimestamp", "finalizers"});
  if (annotations.is_object()) {
    // kubectl's copy of the whole applied object: as big as the spec, and
    // never read here.
    annotations.erase("kubectl.kubernetes.io/last-applied-configuration");
    if (!annotations.empty()) (*meta)["annotations"] = std::move(annotations);
  }
}

}  // namespace

void SlimTask(Json& task) {
  if (!task.is_object()) return;
  KeepOnly(task, {"apiVersion", "kind", "metadata", "spec", "status"});
  SlimMetadata(task, /*keep_annotations=*/true);
}

void SlimJob(Json& job) {
  if (!job.is_object()) return;
  KeepOnly(job, {"apiVersion", "kind", "metadata", "spec", "status"});
  SlimMetadata(job, /*keep_annotations=*/false);
  if (auto spec = job.find("spec"); spec != job.end()) KeepOnly(*spec, {"suspend", "activeDeadlineSeconds"});
  if (auto status = job.find("status"); status != job.end()) {
    KeepOnly(*status, {"conditions", "active", "succeeded", "failed", "startTime", "completionTime"});
    if (auto conditions = status->find("conditions"); conditions != status->end() && conditions->is_array()) {
      for (Json& condition : *conditions) KeepOnly(condition, {"type", "status", "reason", "message"});
    }
  }
}

void SlimPod(Json& pod) {
  if (!pod.is_object()) return;
  KeepOnly(pod, {"apiVersion", "kind", "metadata", "spec", "status"});
  SlimMetadata(pod, /*keep_annotations=*/false);
  if (auto spec = pod.find("spec"); spec != pod.end()) KeepOnly(*spec, {"nodeName"});
  if (auto status = pod.find("status"); status != pod.end()) {
    KeepOnly(*status, {"phase", "reason", "message", "startTime", "conditions", "containerStatuses"});
    if (auto conditions = status->find("conditions"); conditions != status->end() && conditions->is_array()) {
      Json scheduled = Json::array();
      for (Json& condition : *conditions) {
        if (condition.is_object() && condition.value("type", "") == "PodScheduled") {
          KeepOnly(condition, {"type", "status", "reason", "message"});
          scheduled.push_back(std::move(condition));
        }
      }
      *conditions = std::move(scheduled);
    }
    if (auto containers = status->find("containerStatuses"); containers != status->end() && containers->is_array()) {
      for (Json& container : *containers) KeepOnly(container, {"name", "state"});
    }
  }
}

std::vector<kube::FieldPath> SkippedTaskFields() {
  return {{"metadata", "managedFields"},
          {"metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"}};
}

std::vector<kube::FieldPath> SkippedJobFields() {
  return {{"metadata", "managedFields"}, {"metadata", "annotations"}, {"spec", "template"}, {"spec", "selector"}};
}

std::vector<kube::FieldPath> SkippedPodFields() {
  return {{"metadata", "managedFields"}, {"metadata", "annotations"}, {"spec", "containers"},
          {"spec", "volumes"},           {"spec", "tolerations"},     {"status", "podIPs"}};
}

}  // namespace ctask::backends
