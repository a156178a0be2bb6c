// Conversion between the generic JSON form of a ContainerTask and the typed
// structs of types.h.
//
// Decoding expects a value that CheckAgainstSchema has seen and
// ApplySchemaDefaults has defaulted: it is tolerant, skipping fields of the
// wrong type (the schema check already reported them) so that validation can
// still report every other problem. Quantities are parsed here; one that does
// not parse is a FieldError.
//
// Encoding writes what Kubernetes would store: unset optionals and empty
// status fields are left out (omitempty), so Encode(Decode(x)) == x for any
// schema-valid, defaulted x (tests/api/schema_sync_test).
#pragma once

#include "api/json.h"
#include "api/types.h"
#include "util/field_error.h"

namespace ctask::api {

struct DecodedTask {
  ContainerTask task;
  FieldErrors errors;  // only quantities that do not parse
};

DecodedTask DecodeContainerTask(const Json& object);
ObjectMeta DecodeObjectMeta(const Json& metadata);
ContainerTaskStatus DecodeStatus(const Json& status);

Json EncodeContainerTask(const ContainerTask& task);
Json EncodeObjectMeta(const ObjectMeta& metadata);
Json EncodeSpec(const ContainerTaskSpec& spec);
Json EncodeStatus(const ContainerTaskStatus& status);

}  // namespace ctask::api
