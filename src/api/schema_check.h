// Checks a JSON value against the subset of OpenAPI v3 the ContainerTask
// schema uses, with the API server's semantics, and applies the schema's
// defaults the way the API server does. Knowing nothing of ContainerTask
// itself, it turns any schema rule into a field-path error.
//
// Supported keywords: type, properties, required, additionalProperties (a
// schema), items, enum, minimum, maximum, minLength, maxLength, pattern,
// maxItems, maxProperties, x-kubernetes-int-or-string, x-kubernetes-list-type
// (set, map with x-kubernetes-list-map-keys), default. Unknown fields are
// errors (kubectl's strict field validation). x-kubernetes-validations (CEL)
// are not evaluated here: each rule has a C++ twin in validate.cc.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <string_view>

#include "api/json.h"
#include "util/field_error.h"

namespace ctask::api {

// Every problem found, each with its path below `path` ("spec.env[2].name").
FieldErrors CheckAgainstSchema(const Json& value, const Json& schema, std::string_view path);

// Sets each absent property that has a default, in every object present,
// recursively (a default is itself defaulted), as the API server does. Values
// of the wrong type are left alone for CheckAgainstSchema to report.
void ApplySchemaDefaults(Json& value, const Json& schema);

// A sentence saying what a pattern accepts, for messages ("must be lower case
// letters, digits and '-' ..."); the raw pattern when it has no description.
std::string DescribePattern(std::string_view pattern);

}  // namespace ctask::api
