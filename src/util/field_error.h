// FieldError: one problem with one field of an input object, named by its path
// the way kubectl and the API server name it ("spec.env[2].name"). Validation
// collects every FieldError it finds instead of stopping at the first, so a user
// fixes a manifest in one pass.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ctask {

struct FieldError {
  std::string path;     // "spec.resources.limits.memory"; empty for the whole object
  std::string message;  // 'invalid quantity "1Gii": ...'

  // "spec.resources.limits.memory: invalid quantity ..."
  std::string ToString() const;
  bool operator==(const FieldError&) const = default;
};

using FieldErrors = std::vector<FieldError>;

// Path building: Child("spec", "image") == "spec.image",
// Index("spec.env", 2) == "spec.env[2]", Key("spec.nodeSelector", "a.b/c") ==
// "spec.nodeSelector[a.b/c]".
std::string ChildPath(std::string_view parent, std::string_view field);
std::string IndexPath(std::string_view parent, size_t index);
std::string KeyPath(std::string_view parent, std::string_view key);

// Quotes a user-supplied value for a message: printable ASCII kept, everything
// else escaped, and long values cut with "..." so a message stays one bounded
// line whatever the input holds.
std::string QuoteValue(std::string_view value, size_t max_length = 64);

// Every error as "path: message", joined by "; " (a task's InvalidSpec
// message).
std::string JoinFieldErrors(const FieldErrors& errors);

}  // namespace ctask
