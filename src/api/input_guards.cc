#include "api/input_guards.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "api/document.h"
#include "api/parse_error.h"
#include "api/yaml_scalar.h"
#include "util/utf8.h"

namespace ctask::api::internal {
namespace {

// ParseDocuments refuses more than this: yaml-cpp keeps positions in int, and
// nothing a person writes is this big.
constexpr std::size_t kMaxParseBytes = 64u << 20;
// The pre-scan only estimates nesting; this slack keeps its estimate from
// refusing input the exact check (kMaxNestingDepth, while building) accepts.
constexpr int kPrescanDepthLimit = kMaxNestingDepth + 20;

std::string CodePointName(char32_t cp) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(cp));
  return buffer;
}

// 1-based column of byte `pos` on the line starting at `line_start`, in
// characters.
int64_t ColumnOf(std::string_view text, std::size_t line_start, std::size_t pos) {
  int64_t column = 1;
  for (std::size_t i = line_start; i < pos && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

// go-yaml refuses what YAML forbids: bytes that are not UTF-8, NUL and other
// control characters. Checking up front also means every scalar yaml-cpp
// hands back is valid UTF-8 apart from what escapes produce.
Status CheckCharacters(std::string_view text) {
  int64_t line = 1;
  std::size_t line_start = 0;
  const auto fail = [&](std::size_t pos, const std::string& what) {
    return std::unexpected(Error(
        ErrorCode::kInvalidArgument,
        "line " + std::to_string(line) + ", column " + std::to_string(ColumnOf(text, line_start, pos)) + ": " + what));
  };
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (c < 0x80) {
      if (c == 0) return fail(i, "NUL byte (is this a binary file?)");
      if (!IsYamlPrintable(c)) {
        return fail(i, "control character " + CodePointName(c) +
                           " is not allowed (write it as an escape in a double-quoted string)");
      }
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t length = DecodeUtf8(text, i, &cp);
    if (length == 0) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", c);
      return fail(i, std::string("invalid UTF-8 (byte ") + byte + "); manifests must be UTF-8");
    }
    if (!IsYamlPrintable(cp)) {
      return fail(i, "character " + CodePointName(cp) + " is not allowed");
    }
    i += length;
  }
  return {};
}

// Why a second, rough lexer runs before yaml-cpp: the exact depth check
// (TreeBuilder, as events arrive) stops yaml-cpp's recursion, but it cannot
// stop yaml-cpp's scanner from reading ahead. Before the parser sees the
// second of a run of unclosed flow brackets inside YAML ("x: [[[[...", or
// "{{{{..." once it is not JSON), the scanner reads the whole run into its
// token queue, since each bracket might start a mapping key and only a
// closing bracket could say. Measured with yaml-cpp 0.7, without this check:
// 8 MiB of '{' took 5.1 s and 1.9 GB, 64 MiB 55 s and 15.7 GB, where with it
// both are refused in under a second; tests/api/document_test.cc
// (DocumentLimitsTest.HugeFlowNesting, DeepFlowInYamlIsRefusedBeforeYamlCpp)
// fail without it.
//
// It is a cheap estimate of the nesting (open flow brackets plus block
// indentation levels), lexing just enough YAML (quotes, comments, block
// scalars, plain scalars) not to count brackets inside strings. It only needs
// to be roughly right: the exact limit is enforced while building the tree.
Status CheckNesting(std::string_view text) {
  enum class Mode { kNormal, kSingleQuoted, kDoubleQuoted, kBlockScalar };
  Mode mode = Mode::kNormal;
  const std::size_t n = text.size();
  std::vector<int64_t> indents;  // columns of the open block levels
  int64_t flow = 0;
  int64_t line = 1;
  int64_t block_threshold = -1;  // block scalar content is indented beyond this
  std::size_t i = 0;
  const auto at = [&](std::size_t k) { return k < n ? text[k] : '\n'; };
  const auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  const auto too_deep = [&]() { return static_cast<int64_t>(indents.size()) + flow > kPrescanDepthLimit; };
  while (i < n) {
    // Start of a line.
    const std::size_t line_begin = i;
    int64_t indent = 0;
    while (i < n && text[i] == ' ') {
      ++i;
      ++indent;
    }
    if (mode == Mode::kBlockScalar) {
      std::size_t k = i;
      while (k < n && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r')) ++k;
      const bool blank_line = k >= n || text[k] == '\n';
      if (blank_line || indent > block_threshold) {
        while (i < n && text[i] != '\n') ++i;
        if (i < n) ++i;
        ++line;
        continue;
      }
      mode = Mode::kNormal;
    }
    bool in_plain = false;
    bool line_has_token = false;      // a non-indicator token started on this line
    int64_t last_indicator_col = -1;  // column of the last "- " / "? " on this line
    int64_t first_token_col = -1;
    if (mode == Mode::kNormal && flow == 0 && i < n && !is_blank(text[i]) && text[i] != '#') {
      while (!indents.empty() && indents.back() > indent) indents.pop_back();
      if (indents.empty() || indents.back() < indent) indents.push_back(indent);
      if (too_deep()) return std::unexpected(LineError(line, NestingMessage()));
    }
    // The rest of the line (quoted scalars may run on over several lines).
    while (i < n) {
      const char c = text[i];
      const int64_t col = static_cast<int64_t>(i - line_begin);
      if (c == '\n') {
        ++i;
        ++line;
        break;
      }
      if (mode == Mode::kDoubleQuoted) {
        if (c == '\\') {
          if (at(i + 1) == '\n') {
            ++i;  // the newline is handled by the loop above
            continue;
          }
          i += 2;
        } else {
          if (c == '"') mode = Mode::kNormal;
          ++i;
        }
        continue;
      }
      if (mode == Mode::kSingleQuoted) {
        if (c == '\'') {
          if (at(i + 1) == '\'') {
            i += 2;
            continue;
          }
          mode = Mode::kNormal;
        }
        ++i;
        continue;
      }
      const bool boundary = i == line_begin || is_blank(text[i - 1]) ||
                            (flow > 0 && std::string_view("[]{},:").find(text[i - 1]) != std::string_view::npos);
      if (c == '#' && (i == line_begin || text[i - 1] == ' ' || text[i - 1] == '\t')) {
        while (i < n && text[i] != '\n') ++i;
        in_plain = false;
        continue;
      }
      if (in_plain) {
        if (flow > 0 && std::string_view(",[]{}").find(c) != std::string_view::npos) {
          in_plain = false;  // and handle c as a token below
        } else {
          if (c == ':' && (is_blank(at(i + 1)) ||
                           (flow > 0 && std::string_view(",[]{}").find(at(i + 1)) != std::string_view::npos))) {
            in_plain = false;
          }
          ++i;
          continue;
        }
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
        continue;
      }
      if ((c == '-' || c == '?' || c == ':') && is_blank(at(i + 1))) {
        if (c != ':' && flow == 0 && !line_has_token) {
          // Compact nesting ("- - x", "- key: v"): the next token opens a level.
          last_indicator_col = col;
          std::size_t k = i + 1;
          while (k < n && text[k] == ' ') ++k;
          if (k < n && !is_blank(text[k]) && text[k] != '#') {
            const int64_t next_col = static_cast<int64_t>(k - line_begin);
            if (indents.empty() || indents.back() < next_col) indents.push_back(next_col);
            if (too_deep()) return std::unexpected(LineError(line, NestingMessage()));
          }
        }
        ++i;
        continue;
      }
      if ((c == '|' || c == '>') && flow == 0 && boundary) {
        // Block scalar: its content lines are text, not structure.
        if (!line_has_token) {
          block_threshold = last_indicator_col >= 0 ? last_indicator_col : indent - 1;
        } else {
          block_threshold = first_token_col;
        }
        mode = Mode::kBlockScalar;
        while (i < n && text[i] != '\n') ++i;
        continue;
      }
      if (!line_has_token) {
        line_has_token = true;
        first_token_col = col;
      }
      switch (c) {
        case ',':
          ++i;
          continue;
        case '"':
          mode = Mode::kDoubleQuoted;
          ++i;
          continue;
        case '\'':
          mode = Mode::kSingleQuoted;
          ++i;
          continue;
        case '[':
        case '{':
          ++flow;
          if (too_deep()) return std::unexpected(LineError(line, NestingMessage()));
          ++i;
          continue;
        case ']':
        case '}':
          if (flow > 0) --flow;
          ++i;
          continue;
        case '&':
        case '*':
        case '!':
          // Anchor, alias or tag: a name up to the next blank.
          while (i < n && !is_blank(text[i]) &&
                 !(flow > 0 && std::string_view(",[]{}").find(text[i]) != std::string_view::npos)) {
            ++i;
          }
          continue;
        default:
          break;
      }
      in_plain = true;
      ++i;
    }
  }
  return {};
}

}  // namespace

Result<std::string_view> CheckInput(std::string_view text) {
  if (text.size() > kMaxParseBytes) {
    return InvalidArgument("input is larger than " + std::to_string(kMaxParseBytes >> 20) + " MiB");
  }
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF")) {
    return InvalidArgument(
        "input is UTF-16 (it starts with a UTF-16 byte order mark); "
        "convert it to UTF-8");
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM, as kubectl allows
  if (auto ok = CheckCharacters(text); !ok) return std::unexpected(ok.error());
  if (auto ok = CheckNesting(text); !ok) return std::unexpected(ok.error());
  return text;
}

}  // namespace ctask::api::internal
