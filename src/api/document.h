// Document: manifest files (YAML or JSON, one or many documents) loaded into
// generic JSON trees, and JSON trees written back out as YAML.
//
// Reading follows what kubectl does with the same bytes (sigs.k8s.io/yaml over
// go-yaml v2, then JSON), so a manifest means here what it means to the API
// server:
//   - Plain scalars resolve the YAML 1.1 way go-yaml v2 does: null/Null/NULL/~
//     and empty are null; true/false, yes/no, on/off and y/n (any of the usual
//     casings) are booleans; integers may be signed, use 0x/0o/0b prefixes, a
//     leading 0 for octal (mode: 0644 is 420) and '_' separators. Quoted and
//     block (| >) scalars are always strings; explicit tags (!!str, !!int, ...)
//     are honoured. Dates stay strings.
//   - Integers that fit int64 are integers, larger ones up to 2^64-1 unsigned;
//     anything bigger is an error (quote it). Floats whose value is a whole
//     number in int64 range become integers, because that is what the API
//     server receives from kubectl (Go prints float64(3) as 3). .inf/.nan and
//     out-of-range floats are errors: JSON cannot hold them.
//   - Mapping keys become strings the way kubectl makes them (1 -> "1", and
//     yes, y -> "true": quote such keys); null and collection keys are
//     errors; duplicate keys are errors; "<<" merge keys work as in YAML 1.1.
//   - Empty documents (nothing, comments, or an explicit null) are skipped.
//     Objects of a kind ending in "List" with an "items" array (v1 List and
//     friends) are replaced by their items.
//   - Input that starts with '{' or '[' is read as JSON first (exact numbers,
//     \u surrogate pairs), falling back to YAML for flow-style YAML.
// Hostile input is bounded: at most kMaxNestingDepth levels of nesting, a
// budget on what anchors and aliases may expand to, UTF-8 only, no NUL or
// control characters. Errors are kInvalidArgument and name the line (and the
// document, after the first): "doc 2: line 7: duplicate key \"name\" ...".
//
// Thread-safety: pure functions over their arguments; safe to call
// concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "util/error.h"

namespace ctask::api {

// Nesting of sequences and mappings beyond this is refused.
inline constexpr int kMaxNestingDepth = 100;
// ReadDocumentsFile refuses files larger than this.
inline constexpr std::size_t kMaxDocumentFileBytes = 8u << 20;

struct Document {
  Json value;  // the document as JSON (objects, arrays, strings, numbers, booleans, null)
  int index;   // 1-based position of the document in its file/stream (List items share their List's)
  int line;    // 1-based line where the document (or List item) starts, for messages
};

// Parses a stream of YAML documents (separated by ---) or a JSON value.
Result<std::vector<Document>> ParseDocuments(std::string_view text);

// Reads and parses `path` ("-" reads stdin, named "<stdin>" in errors). Errors
// are prefixed with the path: "examples/x.yaml: cannot read: No such file or
// directory" (kNotFound; kPermissionDenied, kUnavailable for other I/O
// failures), "x.yaml: file is larger than 8 MiB", "x.yaml: line 3: ...".
// Directories and files over kMaxDocumentFileBytes are refused.
Result<std::vector<Document>> ReadDocumentsFile(const std::string& path);

// Block-style YAML for `value`, keys in the order `value` holds them. Strings
// that would read back as something else are quoted, multi-line strings use
// literal blocks. For every value ParseDocuments could return,
// ParseDocuments(ToYaml(v)) gives back v. Non-finite floats are written as
// null; invalid UTF-8 in strings becomes U+FFFD.
std::string ToYaml(const Json& value);

}  // namespace ctask::api
