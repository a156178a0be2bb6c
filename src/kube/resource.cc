#include "kube/resource.h"

namespace ctask::kube {

namespace resources {
Resource ContainerTasks() {
  return {"ctask.io", "v1alpha1", "containertasks", "ContainerTask", true};
}
Resource TaskQueues() {
  return {"ctask.io", "v1alpha1", "taskqueues", "TaskQueue", true};
}
Resource Jobs() {
  return {"batch", "v1", "jobs", "Job", true};
}
Resource NetworkPolicies() {
  return {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true};
}
Resource Pods() {
  return {"", "v1", "pods", "Pod", true};
}
Resource ConfigMaps() {
  return {"", "v1", "configmaps", "ConfigMap", true};
}
Resource Events() {
  return {"", "v1", "events", "Event", true};
}
Resource Leases() {
  return {"coordination.k8s.io", "v1", "leases", "Lease", true};
}
Resource Namespaces() {
  return {"", "v1", "namespaces", "Namespace", false};
}
Resource ServiceAccounts() {
  return {"", "v1", "serviceaccounts", "ServiceAccount", true};
}
Resource CustomResourceDefinitions() {
  return {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false};
}
}  // namespace resources

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

std::string ResourcePath(const Resource& resource, std::string_view ns, std::string_view name,
                         std::string_view subresource) {
  std::string path =
      resource.group.empty() ? "/api/" + resource.version : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !ns.empty()) path += "/namespaces/" + PercentEncode(ns);
  path += "/" + resource.plural;
  if (!name.empty()) {
    path += "/" + PercentEncode(name);
    if (!subresource.empty()) path += "/" + std::string(subresource);
  }
  return path;
}

std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? '?' : '&';
    out += PercentEncode(key);
    out += '=';
    out += PercentEncode(value);
  }
  return out;
}

}  // namespace ctask::kube
