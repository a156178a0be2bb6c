// How ParseDocuments words what it refuses, shared by the input guards, the
// tree builder and the two readers (document.h): "line 7: duplicate key
// \"name\" ...", one phrasing for the nesting limit whichever part finds it,
// and whether a reader failed on syntax or on meaning (ParseDocuments tries
// YAML after JSON only for the former).
//
// Internal to src/api. Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ctask::api::internal {

// kInvalidArgument "line <line>: <message>"; no prefix when `line` is not
// positive (unknown).
Error LineError(int64_t line, std::string_view message);

// "nesting deeper than 100 levels" (kMaxNestingDepth).
std::string NestingMessage();

// A reader's failure.
struct ParseFailure {
  Error error;
  bool syntax;  // the text is not well-formed (as opposed to meaning something refused)
};

}  // namespace ctask::api::internal
