// ReadJson: one JSON value read with nlohmann's SAX parser into a tree, with
// TreeBuilder's checks (depth, duplicate keys) and JSON's own exactness:
// integers stay exact (int64, else uint64, else refused), \u surrogate pairs
// decode, a float that is a whole number in int64 range becomes an integer
// as it does in YAML. Errors name the line ("line 3: ..."); a syntax error
// says so (ParseFailure::syntax), so that ParseDocuments can try flow-style
// YAML, which starts with '{' or '[' too.
//
// Internal to src/api. Thread-safety: a pure function.
#pragma once

#include <string_view>

#include "api/tree_builder.h"

namespace ctask::api::internal {

ReadResult ReadJson(std::string_view text);

}  // namespace ctask::api::internal
