// The generic document tree every stage exchanges: an ordered JSON value, so
// a manifest written back keeps the order its author gave its keys.
#pragma once

#include <nlohmann/json.hpp>

namespace ctask::api {
using Json = nlohmann::ordered_json;
}  // namespace ctask::api
