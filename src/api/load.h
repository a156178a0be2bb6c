// From a generic object to a checked ContainerTask: the "validate" stage of
// the flow. Runs, in order, the structural schema check, the schema defaults,
// the typed decode and the semantic validation, and returns every problem any
// of them found. A task with no problems is safe to render.
#pragma once

#include "api/codec.h"
#include "api/json.h"

namespace ctask::api {

// `object` is a whole ContainerTask manifest (apiVersion, kind, metadata,
// spec[, status]). Errors carry field paths from the object's root.
DecodedTask LoadContainerTask(const Json& object);

}  // namespace ctask::api
