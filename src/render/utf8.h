// UTF-8 checks for rendered objects. Both backends take JSON, and JSON text
// is UTF-8: nlohmann's dump() throws on anything else. Task text that came
// through a JSON or YAML parser is UTF-8 already, but Secret values are
// decoded base64 (any bytes), so the renderers check what they return and a
// caller's dump() can never throw.
#pragma once

#include <string_view>

#include "api/json.h"

namespace ctask::render {

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF — the same rule nlohmann's serializer enforces.
bool IsUtf8(std::string_view text);

// Every string and object key in `value` is well-formed UTF-8.
bool IsAllUtf8(const api::Json& value);

}  // namespace ctask::render
