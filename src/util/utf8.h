// UTF-8 decoding and checking (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) — the rule YAML readers and JSON writers enforce.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ctask {

// Decodes the well-formed sequence at text[i] into *cp and returns its
// length, or 0 when there is none (overlong, surrogate, too large, cut off).
std::size_t DecodeUtf8(std::string_view text, std::size_t i, char32_t* cp);

bool IsValidUtf8(std::string_view text);

// `text` with every byte that does not start a well-formed sequence replaced
// by U+FFFD, so program output of any kind can go into JSON and YAML.
std::string ToValidUtf8(std::string_view text);

// `text` cut to at most `limit` bytes (limit >= 4), ending in "..." when
// cut, never in half a UTF-8 sequence: for messages with a schema bound.
std::string CutWithEllipsis(std::string text, std::size_t limit);

}  // namespace ctask
