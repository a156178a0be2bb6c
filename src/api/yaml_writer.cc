// ToYaml: JSON trees written as kubectl-style block YAML that reads back as
// the same tree (strings a reader would take for another type are quoted).
// Iterative, so no tree is too deep to write.
#include <cstdint>
#include <string>
#include <vector>

#include "api/document.h"
#include "api/yaml_scalar.h"
#include "util/utf8.h"

namespace ctask::api {
namespace {

using internal::IsSafeUnescaped;
using internal::Resolved;
using internal::ResolvePlain;

// YAML limits implicit keys to 1024 characters; longer keys are written in
// the explicit "? key" form.
constexpr std::size_t kMaxImplicitKeyBytes = 1000;

// ---------------------------------------------------------------------------
// Writing YAML.

// Whether `text` can be written as a plain scalar and read back as the same
// string, in block context.
bool CanBePlain(std::string_view text) {
  if (text.empty() || text.front() == ' ' || text.back() == ' ' || text.back() == ':') return false;
  const char first = text.front();
  if (std::string_view("?:,[]{}#&*!|>'\"%@`").find(first) != std::string_view::npos) return false;
  if (first == '-' && (text.size() == 1 || text[1] == ' ')) return false;
  if (text.starts_with("---") || text.starts_with("...")) return false;  // document markers
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return false;
      if (c == ':' && i + 1 < text.size() && text[i + 1] == ' ') return false;
      if (c == '#' && i > 0 && text[i - 1] == ' ') return false;
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t length = DecodeUtf8(text, i, &cp);
    if (length == 0 || !IsSafeUnescaped(cp)) return false;
    i += length;
  }
  const Resolved resolved = ResolvePlain(text);
  return resolved && resolved->is_string();
}

// Whether `text` can be written as a literal block scalar (|).
bool CanBeLiteral(std::string_view text) {
  if (text.find('\n') == std::string_view::npos) return false;
  bool has_content = false;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return false;
      if (c != '\n' && c != ' ') has_content = true;
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t length = DecodeUtf8(text, i, &cp);
    if (length == 0 || !IsSafeUnescaped(cp)) return false;
    has_content = true;
    i += length;
  }
  return has_content;
}

// Literal blocks detect their indentation from the first non-empty line; if
// that line starts with a space, the indentation must be given explicitly.
bool NeedsIndentationIndicator(std::string_view text) {
  const std::size_t first = text.find_first_not_of('\n');
  return first != std::string_view::npos && text[first] == ' ';
}

void AppendDoubleQuoted(std::string_view text, std::string& out) {
  out += '"';
  char escape[16];
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\0':
          out += "\\0";
          break;
        case 0x07:
          out += "\\a";
          break;
        case 0x08:
          out += "\\b";
          break;
        case 0x0B:
          out += "\\v";
          break;
        case 0x0C:
          out += "\\f";
          break;
        case 0x1B:
          out += "\\e";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            std::snprintf(escape, sizeof escape, "\\x%02X", c);
            out += escape;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t length = DecodeUtf8(text, i, &cp);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      ++i;
      continue;
    }
    if (cp <= 0x9F) {
      std::snprintf(escape, sizeof escape, "\\x%02X", static_cast<unsigned>(cp));
      out += escape;
    } else if (!IsSafeUnescaped(cp)) {
      std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(cp));
      out += escape;
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  out += '"';
}

// `indent` is the column of the key or dash that owns the block.
void AppendLiteral(std::string_view text, int indent, std::string& out) {
  std::size_t trailing = 0;
  while (trailing < text.size() && text[text.size() - 1 - trailing] == '\n') ++trailing;
  const std::string_view body = text.substr(0, text.size() - trailing);
  out += '|';
  if (NeedsIndentationIndicator(text)) out += '2';
  if (trailing == 0) out += '-';
  if (trailing >= 2) out += '+';
  out += '\n';
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    if (end > start) {
      out.append(static_cast<std::size_t>(indent) + 2, ' ');
      out.append(body.substr(start, end - start));
    }
    out += '\n';
    start = end + 1;
  }
  if (trailing >= 2) out.append(trailing - 1, '\n');
}

std::string KeyText(const std::string& key) {
  if (key != "<<" && CanBePlain(key)) return key;  // "<<" would be a merge key
  std::string out;
  AppendDoubleQuoted(key, out);
  return out;
}

// Writes a scalar (or empty container) and the newline after it.
void AppendScalar(const Json& value, int indent, bool at_root, std::string& out) {
  switch (value.type()) {
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      break;
    case Json::value_t::number_integer:
      out += std::to_string(value.get<int64_t>());
      break;
    case Json::value_t::number_unsigned:
      out += std::to_string(value.get<uint64_t>());
      break;
    case Json::value_t::number_float:
      // nlohmann prints the shortest form that reads back exactly.
      out += std::isfinite(value.get<double>()) ? value.dump() : "null";
      break;
    case Json::value_t::string: {
      const std::string& text = value.get_ref<const std::string&>();
      if (CanBePlain(text)) {
        out += text;
      } else if (CanBeLiteral(text) && !(at_root && NeedsIndentationIndicator(text))) {
        // (Parsers disagree on what an indentation indicator means at the
        // root, so root strings that need one are quoted instead.)
        AppendLiteral(text, indent, out);
        return;  // ends with its own newline
      } else {
        AppendDoubleQuoted(text, out);
      }
      break;
    }
    case Json::value_t::object:
      out += "{}";
      break;
    case Json::value_t::array:
      out += "[]";
      break;
    default:  // null, and the binary/discarded values nlohmann can also hold
      out += "null";
      break;
  }
  out += '\n';
}

bool IsNonEmptyContainer(const Json& value) {
  return (value.is_object() || value.is_array()) && !value.empty();
}

void AppendYaml(const Json& value, std::string& out) {
  if (!IsNonEmptyContainer(value)) {
    AppendScalar(value, 0, true, out);
    return;
  }
  // Iterative, so arbitrarily deep trees cannot exhaust the stack.
  struct Frame {
    const Json* node;
    std::size_t next;
    int indent;         // column of this container's keys or dashes
    bool inline_first;  // the first entry continues the parent's "- " line
  };
  std::vector<Frame> stack;
  stack.push_back(Frame{&value, 0, 0, false});
  while (!stack.empty()) {
    Frame& frame = stack.back();
    if (frame.next >= frame.node->size()) {
      stack.pop_back();
      continue;
    }
    const std::size_t i = frame.next++;
    const int indent = frame.indent;
    if (!(i == 0 && frame.inline_first)) out.append(static_cast<std::size_t>(indent), ' ');
    if (frame.node->is_object()) {
      const auto& object = frame.node->get_ref<const Json::object_t&>();
      const auto& entry = *(object.begin() + static_cast<std::ptrdiff_t>(i));
      const Json& child = entry.second;
      const std::string key = KeyText(entry.first);
      const bool explicit_key = key.size() > kMaxImplicitKeyBytes;
      if (explicit_key) {
        out += "? ";
        out += key;
        out += '\n';
        out.append(static_cast<std::size_t>(indent), ' ');
        out += ':';
      } else {
        out += key;
        out += ':';
      }
      if (IsNonEmptyContainer(child)) {
        out += '\n';
        // Sequences under a key are not indented, as kubectl writes them.
        const int child_indent = child.is_object() || explicit_key ? indent + 2 : indent;
        stack.push_back(Frame{&child, 0, child_indent, false});
      } else {
        out += ' ';
        AppendScalar(child, indent, false, out);
      }
    } else {
      const Json& child = (*frame.node)[i];
      out += "- ";
      if (IsNonEmptyContainer(child)) {
        stack.push_back(Frame{&child, 0, indent + 2, true});
      } else {
        AppendScalar(child, indent, false, out);
      }
    }
  }
}

}  // namespace

std::string ToYaml(const Json& value) {
  std::string out;
  try {
    AppendYaml(value, out);
  } catch (...) {
    return std::string();  // only if memory runs out
  }
  return out;
}
}  // namespace ctask::api
