#include "api/parse_error.h"

#include <utility>

#include "api/document.h"

namespace ctask::api::internal {

std::string NestingMessage() {
  return "nesting deeper than " + std::to_string(kMaxNestingDepth) + " levels";
}

Error LineError(int64_t line, std::string_view message) {
  std::string text;
  if (line > 0) {
    text = "line " + std::to_string(line) + ": ";
  }
  text += message;
  return Error(ErrorCode::kInvalidArgument, std::move(text));
}

}  // namespace ctask::api::internal
