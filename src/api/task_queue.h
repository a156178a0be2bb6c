// Reading a TaskQueue manifest or API object: the schema's structure and
// bounds (schema.cc, the CRD's source), the apiVersion, and metadata.name
// as a DNS-1123 label. Problems carry field paths, as a ContainerTask's do.
#pragma once

#include "api/json.h"
#include "api/types.h"
#include "util/field_error.h"

namespace ctask::api {

struct DecodedTaskQueue {
  TaskQueue queue;
  FieldErrors errors;
};

DecodedTaskQueue LoadTaskQueue(const Json& object);

}  // namespace ctask::api
