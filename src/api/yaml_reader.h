// ReadYaml: a stream of YAML documents (separated by ---) read with yaml-cpp's
// event parser into JSON trees, the way kubectl reads them (document.h says
// how scalars, keys, merge keys and tags resolve; yaml_scalar.h does it).
//
// On top of TreeBuilder's checks it bounds what YAML adds: anchors and
// aliases may expand to at most a million nodes and 64 MiB per stream
// ("billion laughs"), an alias may not deepen a tree past kMaxNestingDepth or
// name the node it sits in, and a yaml-cpp that stops consuming input (0.7
// can, on a stray ',') is stopped. Errors name the line, and the document
// after the first ("doc 2: line 7: ..."); a tab in the indentation of the
// failing line is pointed out.
//
// Expects text CheckInput (input_guards.h) has passed: UTF-8 without control
// characters, nesting already estimated.
//
// Internal to src/api. Thread-safety: a pure function.
#pragma once

#include <string_view>

#include "api/tree_builder.h"

namespace ctask::api::internal {

ReadResult ReadYaml(std::string_view text);

}  // namespace ctask::api::internal
