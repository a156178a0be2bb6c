// Resource: which kind of object a Kubernetes API call is about, and the
// pure functions that turn it into request paths and query strings.
//
// The API server is addressed by REST paths, not kinds: core resources live
// under /api/v1, every other group under /apis/<group>/<version>. Keeping
// that mapping here, away from I/O, lets the client stay a thin layer and
// makes the paths testable without a server.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctask::kube {

struct Resource {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "containertasks": the path segment
  std::string kind;     // "ContainerTask": for messages and apply bodies
  bool namespaced = true;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "containertasks.ctask.io", as kubectl and RBAC name it.
  std::string QualifiedName() const { return group.empty() ? plural : plural + "." + group; }
};

// The resources ctask works with.
namespace resources {
Resource ContainerTasks();
Resource TaskQueues();
Resource Jobs();
Resource Pods();
Resource NetworkPolicies();
Resource ConfigMaps();
Resource Events();
Resource Leases();
Resource Namespaces();
Resource ServiceAccounts();
Resource CustomResourceDefinitions();
}  // namespace resources

// "/apis/ctask.io/v1alpha1/namespaces/ns/containertasks/name/status".
// An empty `ns` on a namespaced resource means every namespace (list and
// watch); an empty `name` is the collection. Segments are percent-encoded.
std::string ResourcePath(const Resource& resource, std::string_view ns, std::string_view name = {},
                         std::string_view subresource = {});

// "?a=1&b=x%3Dy" from (name, value) pairs in order, skipping empty values;
// "" when nothing is left.
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params);

// Percent-encodes everything outside RFC 3986's unreserved set.
std::string PercentEncode(std::string_view text);

}  // namespace ctask::kube
