#include "util/field_error.h"

#include <cstdio>

namespace ctask {

std::string FieldError::ToString() const {
  if (path.empty()) return message;
  return path + ": " + message;
}

std::string ChildPath(std::string_view parent, std::string_view field) {
  if (parent.empty()) return std::string(field);
  std::string out(parent);
  out += '.';
  out += field;
  return out;
}

std::string IndexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string KeyPath(std::string_view parent, std::string_view key) {
  // Keys are user input: escape them like values, but without the quotes.
  std::string quoted = QuoteValue(key, 64);
  return std::string(parent) + "[" + quoted.substr(1, quoted.size() - 2) + "]";
}

std::string QuoteValue(std::string_view value, size_t max_length) {
  std::string out = "\"";
  size_t shown = 0;
  for (unsigned char c : value) {
    if (shown == max_length) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
    ++shown;
  }
  out += '"';
  return out;
}

std::string JoinFieldErrors(const FieldErrors& errors) {
  std::string joined;
  for (const FieldError& error : errors) {
    if (!joined.empty()) joined += "; ";
    joined += error.ToString();
  }
  return joined;
}

}  // namespace ctask
