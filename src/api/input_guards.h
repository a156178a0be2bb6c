// The guards ParseDocuments puts in front of both readers (document.h): what
// is refused on sight of the bytes, before a parser sees them.
//
//  - Size: at most 64 MiB (yaml-cpp keeps positions in int, and nothing a
//    person writes is that big).
//  - Encoding: UTF-16 (by its byte order mark) is refused with a hint; a
//    UTF-8 byte order mark is dropped, as kubectl does.
//  - Characters: UTF-8 only, no NUL or other control characters (go-yaml
//    refuses what YAML forbids), named with line and column.
//  - Nesting: a pre-scan estimate of the nesting refuses input far deeper
//    than kMaxNestingDepth before yaml-cpp reads it; see input_guards.cc for
//    why the exact check while building the tree is not enough.
//
// Internal to src/api. Thread-safety: a pure function.
#pragma once

#include <string_view>

#include "util/error.h"

namespace ctask::api::internal {

// The text to parse (`text` without a UTF-8 byte order mark), or why it is
// refused (kInvalidArgument).
Result<std::string_view> CheckInput(std::string_view text);

}  // namespace ctask::api::internal
