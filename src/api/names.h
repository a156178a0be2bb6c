// Names: the Kubernetes rules for names, keys and label values
// (k8s.io/apimachinery/pkg/util/validation), and the names ctask derives for
// the objects it creates, which must satisfy those rules whatever the input.
//
// Contract:
//  - Each Is* function returns the problems it found, worded as Kubernetes
//    words them (each says what a valid value looks like); empty means valid.
//    Messages never contain the value itself, so callers can quote it once,
//    bounded (QuoteValue), next to its field path.
//  - Lengths are in bytes, as in Kubernetes; any non-ASCII byte is invalid.
//  - Matching is hand-written and linear: no regex engine, no recursion, so
//    hostile input costs O(length).
//  - Derived names are pure functions: the same input always gives the same
//    name, on every build and platform.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"

namespace ctask::api {

inline constexpr size_t kDNS1123LabelMaxLength = 63;
inline constexpr size_t kDNS1123SubdomainMaxLength = 253;
inline constexpr size_t kLabelValueMaxLength = 63;
inline constexpr size_t kQualifiedNameMaxLength = 63;   // the part after '/'
inline constexpr size_t kContainerNameMaxLength = 128;  // our bound for Docker

// Namespaces, most resource names: [a-z0-9]([-a-z0-9]*[a-z0-9])?, max 63.
std::vector<std::string> IsDNS1123Label(std::string_view value);
// Object names (Jobs, ConfigMaps, ...): dot-separated labels, max 253.
std::vector<std::string> IsDNS1123Subdomain(std::string_view value);
// [A-Za-z_][A-Za-z0-9_]*, no length limit.
std::vector<std::string> IsCIdentifier(std::string_view value);
// Container env var names (the strict rule, before Kubernetes'
// RelaxedEnvironmentVariableValidation): [-._a-zA-Z][-._a-zA-Z0-9]*, and not
// ".", ".." or starting with "..".
std::vector<std::string> IsEnvVarName(std::string_view value);
// Label and annotation keys: [prefix/]name, prefix a DNS-1123 subdomain, name
// at most 63 of ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
std::vector<std::string> IsQualifiedName(std::string_view value);
// Label values: empty, or at most 63 of the qualified-name-part form.
std::vector<std::string> IsValidLabelValue(std::string_view value);
// ConfigMap and Secret keys: [-._a-zA-Z0-9]+, max 253, and not ".", ".." or
// starting with "..".
std::vector<std::string> IsConfigMapKey(std::string_view value);

// The namespace of an object that names none, as the API server defaults it.
inline constexpr const char* kDefaultNamespace = "default";
// `ns`, or kDefaultNamespace when it is empty.
inline std::string NamespaceOrDefault(std::string_view ns) {
  return ns.empty() ? std::string(kDefaultNamespace) : std::string(ns);
}

// The name of the Job that runs attempt `attempt` of task `task_name`.
// "<task>-<attempt>" when that is a valid DNS-1123 label (so at most 63
// characters). Otherwise "<prefix>-<hash>-<attempt>": prefix is the task name
// lowercased, with every character outside [a-z0-9] turned into '-', cut to
// fit and trimmed of leading and trailing '-'; hash is 8 hex digits of the
// 64-bit FNV-1a of the whole task name, folded to 32 bits (high ^ low), so
// long names sharing a prefix still differ. The result is always a valid
// DNS-1123 label. An attempt below 1 is treated as 1.
// An item of a fan-out task (docs/fan-out.md) has "-i<item>-a<attempt>" in
// place of "-<attempt>": an item's Job never has a task's Job's name.
std::string DerivedJobName(std::string_view task_name, int attempt, std::optional<int> item = std::nullopt);

// The Docker container name for attempt `attempt` of task `task_name` in
// namespace `ns`, valid for Docker ([a-zA-Z0-9][a-zA-Z0-9_.-]+) and at most
// kContainerNameMaxLength characters. "ctask-<ns>-<task>-<attempt>" when the
// namespace has no '-' (so the name splits back unambiguously: with
// "ctask-a-b-c-1", ns "a" task "b-c" and ns "a-b" task "c" would collide) and
// everything fits; otherwise "ctask-<ns>-<task>-<hash>-<attempt>" with both
// parts sanitised and cut to fit, hash over (ns, task) as for DerivedJobName.
// An attempt below 1 is treated as 1; an item's suffix is DerivedJobName's.
std::string DerivedContainerName(std::string_view ns, std::string_view task_name, int attempt,
                                 std::optional<int> item = std::nullopt);

// The index of the item a view is of (types.h ItemRef), for the names above.
inline std::optional<int> ItemIndexOf(const std::optional<ItemRef>& item) {
  return item ? std::optional<int>(item->index) : std::nullopt;
}

}  // namespace ctask::api
