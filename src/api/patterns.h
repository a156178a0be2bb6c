// The string patterns the ContainerTask schema uses, each with the sentence a
// user reads when a value does not match. One list, so the schema and its
// messages cannot disagree.
#pragma once

#include <string>
#include <string_view>

namespace ctask::api {

struct NamedPattern {
  const char* regex;        // ECMAScript, as OpenAPI and the API server use
  const char* description;  // completes "invalid value "x": ..."
  const char* example;      // a value that matches, for docs and tests
};

inline constexpr NamedPattern kDns1123Label = {
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "must be lower case letters, digits and '-', starting and ending with a letter or digit (e.g. 'my-task')",
    "my-task"};
inline constexpr NamedPattern kDns1123Subdomain = {
    R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)",
    "must be lower case letters, digits, '-' and '.', starting and ending with a letter or digit "
    "(e.g. 'example.com')",
    "example.com"};
inline constexpr NamedPattern kEnvVarName = {
    "^[-._a-zA-Z][-._a-zA-Z0-9]*$",
    "must be letters, digits, '_', '-' and '.', not starting with a digit (e.g. 'MY_VAR')", "MY_VAR"};
inline constexpr NamedPattern kEnvPrefix = {
    "^[-._a-zA-Z]?[-._a-zA-Z0-9]*$",
    "must be letters, digits, '_', '-' and '.', not starting with a digit (e.g. 'APP_')", "APP_"};
inline constexpr NamedPattern kConfigKey = {"^[-._a-zA-Z0-9]+$",
                                            "must be letters, digits, '_', '-' and '.' (e.g. 'key.name')", "key.name"};
inline constexpr NamedPattern kAbsolutePath = {"^/", "must be an absolute path, starting with '/'", "/data"};
inline constexpr NamedPattern kNoSpaces = {R"(^\S+$)", "must not contain spaces", "busybox:1.36"};
inline constexpr NamedPattern kDockerName = {
    "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", "must be letters, digits, '_', '.' and '-', starting with a letter or digit",
    "vol1"};
// resource.Quantity as controller-gen emits it, without the leading '-': a
// negative request or limit means nothing.
inline constexpr NamedPattern kNonNegativeQuantity = {
    R"(^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$)",
    "must be a non-negative quantity: a number with an optional suffix such as 500m, 128Mi, 1Gi or 2", "1Gi"};

inline constexpr NamedPattern kAllPatterns[] = {kDns1123Label, kDns1123Subdomain, kEnvVarName,
                                                kEnvPrefix,    kConfigKey,        kAbsolutePath,
                                                kNoSpaces,     kDockerName,       kNonNegativeQuantity};

}  // namespace ctask::api
