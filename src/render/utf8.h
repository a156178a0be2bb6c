// UTF-8 checks for rendered objects. Both backends take JSON, and JSON text
// is UTF-8: nlohmann's dump() throws on anything else. Task text that came
// through a JSON or YAML parser is UTF-8 already, but Secret values are
// decoded base64 (any bytes), so the renderers check what they return and a
// caller's dump() can never throw.
#pragma once

#include <string_view>

#include "api/json.h"

namespace ctask::render {

// Every string and object key in `value` is well-formed UTF-8 (RFC 3629,
// ctask::IsValidUtf8) — the rule nlohmann's serializer enforces.
bool IsAllUtf8(const api::Json& value);

}  // namespace ctask::render
