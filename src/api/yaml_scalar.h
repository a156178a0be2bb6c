// YAML scalars as kubectl reads them (sigs.k8s.io/yaml over go-yaml v2):
// which plain scalars are null, booleans (yes/no/on/off/y/n too), integers
// (0x, 0o, 0b, leading-0 octal, '_' separators) or floats, and what explicit
// tags mean. Shared by the reader (yaml_reader.cc), which resolves scalars, and
// the writer (yaml_writer.cc), which quotes every string a reader would
// otherwise resolve to something else.
//
// Internal to src/api.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "api/json.h"

namespace ctask::api::internal {

// The value, or a message saying why the text is no JSON value.
using Resolved = std::expected<Json, std::string>;

// What an untagged plain scalar means.
Resolved ResolvePlain(std::string_view text);

// What a scalar with yaml-cpp's tag means: "?" plain, "!" quoted or block,
// "tag:yaml.org,2002:int" etc. explicit.
Resolved ResolveScalar(std::string_view tag, const std::string& text);

// The JSON number for a finite double: an integer when it is whole and fits
// int64 (what the API server receives from kubectl), else the double.
Json NumberFromDouble(double value);

// The error for a number beyond 64 bits; `what` is "integer" or "number".
Resolved OutOfRange(std::string_view text, std::string_view what);

// The characters YAML allows in a stream (c-printable).
bool IsYamlPrintable(char32_t cp);

// Printable and safe unescaped in a plain or block scalar.
bool IsSafeUnescaped(char32_t cp);

// A JSON-quoted, length-capped rendering of user text for messages.
std::string Quote(std::string_view text);

}  // namespace ctask::api::internal
