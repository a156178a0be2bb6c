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
class NestingScan {
 public:
  explicit NestingScan(std::string_view text) : text_(text), n_(text.size()) {}

  // Refuses `text` once the estimate passes kPrescanDepthLimit.
  Status Run();

 private:
  enum class Mode { kNormal, kSingleQuoted, kDoubleQuoted, kBlockScalar };

  // What the scan knows about the line it is on.
  struct Line {
    std::size_t begin = 0;
    int64_t indent = 0;
    bool in_plain = false;
    bool has_token = false;           // a non-indicator token started on this line
    int64_t last_indicator_col = -1;  // column of the last "- " / "? " on this line
    int64_t first_token_col = -1;
  };

  static bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
  static bool IsFlowIndicator(char c) { return std::string_view(",[]{}").find(c) != std::string_view::npos; }
  // Past the end reads as a line break, so look-ahead needs no bounds checks.
  char At(std::size_t k) const { return k < n_ ? text_[k] : '\n'; }
  bool TooDeep() const { return static_cast<int64_t>(indents_.size()) + flow_ > kPrescanDepthLimit; }
  std::unexpected<Error> Refuse() const { return std::unexpected(LineError(line_number_, NestingMessage())); }
  void SkipToLineEnd() {
    while (i_ < n_ && text_[i_] != '\n') ++i_;
  }

  bool ContinuesBlockScalar(int64_t indent) const;
  Status OpenBlockLevel(int64_t indent);
  Status ScanRestOfLine(Line& line);
  void StepDoubleQuoted();
  void StepSingleQuoted();
  Status StepNormal(Line& line);
  bool StepPlain(Line& line);
  Status StepIndicator(Line& line, int64_t col);
  void StartBlockScalar(const Line& line);
  Status StepToken(Line& line);

  const std::string_view text_;
  const std::size_t n_;
  std::size_t i_ = 0;
  Mode mode_ = Mode::kNormal;
  std::vector<int64_t> indents_;  // columns of the open block levels
  int64_t flow_ = 0;
  int64_t line_number_ = 1;
  int64_t block_threshold_ = -1;  // block scalar content is indented beyond this
};

Status NestingScan::Run() {
  while (i_ < n_) {
    // Start of a line.
    Line line{.begin = i_};
    while (i_ < n_ && text_[i_] == ' ') {
      ++i_;
      ++line.indent;
    }
    if (mode_ == Mode::kBlockScalar) {
      if (ContinuesBlockScalar(line.indent)) {
        SkipToLineEnd();
        if (i_ < n_) ++i_;
        ++line_number_;
        continue;
      }
      mode_ = Mode::kNormal;
    }
    if (Status ok = OpenBlockLevel(line.indent); !ok) return ok;
    // The rest of the line (quoted scalars may run on over several lines).
    if (Status ok = ScanRestOfLine(line); !ok) return ok;
  }
  return {};
}

// Blank lines, and lines indented past the threshold, are the scalar's text.
bool NestingScan::ContinuesBlockScalar(int64_t indent) const {
  std::size_t k = i_;
  while (k < n_ && (text_[k] == ' ' || text_[k] == '\t' || text_[k] == '\r')) ++k;
  const bool blank_line = k >= n_ || text_[k] == '\n';
  return blank_line || indent > block_threshold_;
}

// A line that starts a block node: its indentation closes deeper levels and
// may open one.
Status NestingScan::OpenBlockLevel(int64_t indent) {
  if (mode_ != Mode::kNormal || flow_ != 0 || i_ >= n_ || IsBlank(text_[i_]) || text_[i_] == '#') return {};
  while (!indents_.empty() && indents_.back() > indent) indents_.pop_back();
  if (indents_.empty() || indents_.back() < indent) indents_.push_back(indent);
  if (TooDeep()) return Refuse();
  return {};
}

Status NestingScan::ScanRestOfLine(Line& line) {
  while (i_ < n_) {
    if (text_[i_] == '\n') {
      ++i_;
      ++line_number_;
      return {};
    }
    if (mode_ == Mode::kDoubleQuoted) {
      StepDoubleQuoted();
    } else if (mode_ == Mode::kSingleQuoted) {
      StepSingleQuoted();
    } else if (Status ok = StepNormal(line); !ok) {
      return ok;
    }
  }
  return {};
}

void NestingScan::StepDoubleQuoted() {
  const char c = text_[i_];
  if (c == '\\') {
    if (At(i_ + 1) == '\n') {
      ++i_;  // the newline is handled by ScanRestOfLine
      return;
    }
    i_ += 2;
    return;
  }
  if (c == '"') mode_ = Mode::kNormal;
  ++i_;
}

void NestingScan::StepSingleQuoted() {
  if (text_[i_] == '\'') {
    if (At(i_ + 1) == '\'') {  // an escaped quote
      i_ += 2;
      return;
    }
    mode_ = Mode::kNormal;
  }
  ++i_;
}

Status NestingScan::StepNormal(Line& line) {
  const char c = text_[i_];
  const int64_t col = static_cast<int64_t>(i_ - line.begin);
  const bool boundary = i_ == line.begin || IsBlank(text_[i_ - 1]) ||
                        (flow_ > 0 && std::string_view("[]{},:").find(text_[i_ - 1]) != std::string_view::npos);
  if (c == '#' && (i_ == line.begin || text_[i_ - 1] == ' ' || text_[i_ - 1] == '\t')) {
    SkipToLineEnd();
    line.in_plain = false;
    return {};
  }
  if (line.in_plain && StepPlain(line)) return {};
  if (c == ' ' || c == '\t' || c == '\r') {
    ++i_;
    return {};
  }
  if ((c == '-' || c == '?' || c == ':') && IsBlank(At(i_ + 1))) return StepIndicator(line, col);
  if ((c == '|' || c == '>') && flow_ == 0 && boundary) {
    StartBlockScalar(line);
    return {};
  }
  if (!line.has_token) {
    line.has_token = true;
    line.first_token_col = col;
  }
  return StepToken(line);
}

// Inside a plain scalar: false when the character ends it and is a token of
// its own (a flow indicator), to be handled by the caller.
bool NestingScan::StepPlain(Line& line) {
  const char c = text_[i_];
  if (flow_ > 0 && IsFlowIndicator(c)) {
    line.in_plain = false;
    return false;
  }
  if (c == ':' && (IsBlank(At(i_ + 1)) || (flow_ > 0 && IsFlowIndicator(At(i_ + 1))))) line.in_plain = false;
  ++i_;
  return true;
}

// "- ", "? " or ": ".
Status NestingScan::StepIndicator(Line& line, int64_t col) {
  if (text_[i_] != ':' && flow_ == 0 && !line.has_token) {
    // Compact nesting ("- - x", "- key: v"): the next token opens a level.
    // Its column is where a block scalar that follows is measured from.
    line.last_indicator_col = col;
    std::size_t k = i_ + 1;
    while (k < n_ && text_[k] == ' ') ++k;
    if (k < n_ && !IsBlank(text_[k]) && text_[k] != '#') {
      const int64_t next_col = static_cast<int64_t>(k - line.begin);
      if (indents_.empty() || indents_.back() < next_col) indents_.push_back(next_col);
      if (TooDeep()) return Refuse();
    }
  }
  ++i_;
  return {};
}

// "|" or ">": the content lines that follow are text, not structure.
void NestingScan::StartBlockScalar(const Line& line) {
  if (!line.has_token) {
    block_threshold_ = line.last_indicator_col >= 0 ? line.last_indicator_col : line.indent - 1;
  } else {
    block_threshold_ = line.first_token_col;
  }
  mode_ = Mode::kBlockScalar;
  SkipToLineEnd();
}

Status NestingScan::StepToken(Line& line) {
  switch (text_[i_]) {
    case ',':
      ++i_;
      return {};
    case '"':
      mode_ = Mode::kDoubleQuoted;
      ++i_;
      return {};
    case '\'':
      mode_ = Mode::kSingleQuoted;
      ++i_;
      return {};
    case '[':
    case '{':
      ++flow_;
      if (TooDeep()) return Refuse();
      ++i_;
      return {};
    case ']':
    case '}':
      if (flow_ > 0) --flow_;
      ++i_;
      return {};
    case '&':
    case '*':
    case '!':
      // Anchor, alias or tag: a name up to the next blank.
      while (i_ < n_ && !IsBlank(text_[i_]) && !(flow_ > 0 && IsFlowIndicator(text_[i_]))) ++i_;
      return {};
    default:
      line.in_plain = true;
      ++i_;
      return {};
  }
}

Status CheckNesting(std::string_view text) {
  return NestingScan(text).Run();
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
