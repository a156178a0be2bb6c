// RFC 3339 timestamps as Kubernetes writes them (metav1.Time:
// "2026-11-23T09:17:20Z", whole seconds, UTC). GCC 12 has neither std::format
// nor std::chrono::parse, hence this small pair.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ctask {

using Timestamp = std::chrono::sys_seconds;

std::string FormatRfc3339(Timestamp t);

// Accepts "YYYY-MM-DDTHH:MM:SS" with optional fraction and "Z" or "+hh:mm" /
// "-hh:mm"; the fraction is dropped. nullopt for anything else.
std::optional<Timestamp> ParseRfc3339(std::string_view text);

}  // namespace ctask
