#include "render/utf8.h"

#include <cstdint>

namespace ctask::render {

bool IsUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto byte = [&](size_t at) { return static_cast<uint8_t>(text[at]); };
    const uint8_t lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    uint8_t low = 0x80;   // bounds of the second byte: they exclude overlong
    uint8_t high = 0xBF;  // forms, surrogates and code points above U+10FFFF
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (n - i < length) return false;
    if (byte(i + 1) < low || byte(i + 1) > high) return false;
    for (size_t k = 2; k < length; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return false;
    }
    i += length;
  }
  return true;
}

bool IsAllUtf8(const api::Json& value) {
  if (value.is_string()) return IsUtf8(value.get_ref<const std::string&>());
  if (value.is_array()) {
    for (const api::Json& item : value) {
      if (!IsAllUtf8(item)) return false;
    }
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (!IsUtf8(key) || !IsAllUtf8(item)) return false;
    }
  }
  return true;
}

}  // namespace ctask::render
