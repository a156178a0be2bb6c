#include "render/utf8.h"

#include "util/utf8.h"

namespace ctask::render {

bool IsAllUtf8(const api::Json& value) {
  if (value.is_string()) return IsValidUtf8(value.get_ref<const std::string&>());
  if (value.is_array()) {
    for (const api::Json& item : value) {
      if (!IsAllUtf8(item)) return false;
    }
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (!IsValidUtf8(key) || !IsAllUtf8(item)) return false;
    }
  }
  return true;
}

}  // namespace ctask::render
