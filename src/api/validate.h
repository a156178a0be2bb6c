// Semantic validation of a decoded ContainerTask: the rules a structural
// schema cannot state. Each CEL rule of the schema (x-kubernetes-validations)
// has its twin here with the same message, so `ctask validate` refuses what
// the API server refuses; the rest (requests above limits, label keys, image
// references, paths with "..") the operator reports as Failed/InvalidSpec.
//
// Pure; every problem is returned, not only the first.
#pragma once

#include "api/types.h"
#include "util/field_error.h"

namespace ctask::api {

FieldErrors ValidateObjectMeta(const ObjectMeta& metadata);
FieldErrors ValidateSpec(const ContainerTaskSpec& spec);

// Rules on a change (the CEL transition rules): what an update may not do.
FieldErrors ValidateUpdate(const ContainerTaskSpec& old_spec, const ContainerTaskSpec& new_spec);

// The messages of the schema's CEL rules, for the test that checks every
// rule has a twin here.
extern const char* const kCelRuleMessages[];
extern const size_t kCelRuleCount;

}  // namespace ctask::api
