// Standard base64 (RFC 4648, with padding), as Kubernetes Secret data uses.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ctask {

std::string EncodeBase64(std::string_view bytes);

// nullopt when `text` is not padded base64. Line breaks are skipped and
// other whitespace refused, as Go's StdEncoding (the API server's) does.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace ctask
