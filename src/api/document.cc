#include "api/document.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <expected>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "api/yaml_scalar.h"
#include "util/utf8.h"

namespace ctask::api {
namespace {

using internal::IsYamlPrintable;
using internal::NumberFromDouble;
using internal::OutOfRange;
using internal::Quote;
using internal::Resolved;
using internal::ResolveScalar;

// Anchors and aliases let a few bytes stand for a huge tree ("billion
// laughs"). Every copy they cause is charged against these, per stream.
constexpr uint64_t kMaxCopiedNodes = 1'000'000;
constexpr uint64_t kMaxCopiedBytes = 64u << 20;
// ParseDocuments refuses more than this: yaml-cpp keeps positions in int, and
// nothing a person writes is this big.
constexpr std::size_t kMaxParseBytes = 64u << 20;
// The pre-scan only estimates nesting; this slack keeps its estimate from
// refusing input the exact check (kMaxNestingDepth, while building) accepts.
constexpr int kPrescanDepthLimit = kMaxNestingDepth + 20;

constexpr std::string_view kMergeTag = "tag:yaml.org,2002:merge";

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

Error WithDocIndex(int index, const Error& error) {
  // The first document needs no number: most files hold only one.
  return index > 1 ? error.WithContext("doc " + std::to_string(index)) : error;
}

// ---------------------------------------------------------------------------
// Characters.

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

// yaml-cpp parses recursively, so deep nesting must be refused before it gets
// there. This is a cheap estimate of the nesting (open flow brackets plus
// block indentation levels), lexing just enough YAML (quotes, comments, block
// scalars, plain scalars) not to count brackets inside strings. It only needs
// to be roughly right: the exact limit is enforced while building the tree,
// and that check also stops yaml-cpp's recursion.
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

// yaml-cpp turns the \N and \_ escapes into single Latin-1 bytes (0x85, 0xA0)
// instead of UTF-8. Since the input was checked to be UTF-8, any invalid byte
// in a scalar came from one of those: re-encode them.
std::string RepairEscapes(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t length = DecodeUtf8(text, i, &cp);
    if (length == 0) {
      const unsigned char byte = static_cast<unsigned char>(text[i]);
      out += static_cast<char>(0xC0 | (byte >> 6));
      out += static_cast<char>(0x80 | (byte & 0x3F));
      ++i;
      continue;
    }
    out.append(text, i, length);
    i += length;
  }
  return out;
}

// JSON object keys are strings; YAML keys are any scalar. Use the spelling
// sigs.k8s.io/yaml gives them (1 -> "1", yes -> "true").
std::expected<std::string, std::string> KeyFromScalar(const Json& value) {
  switch (value.type()) {
    case Json::value_t::string:
      return value.get<std::string>();
    case Json::value_t::boolean:
      return std::string(value.get<bool>() ? "true" : "false");
    case Json::value_t::number_integer:
      return std::to_string(value.get<int64_t>());
    case Json::value_t::number_unsigned:
      return std::to_string(value.get<uint64_t>());
    case Json::value_t::number_float:
      return value.dump();
    case Json::value_t::null:
      return std::unexpected(std::string("mapping key is null or empty; quote it if it is meant as a string"));
    default:
      return std::unexpected(std::string("mapping key must be a string, not a ") +
                             (value.is_object() ? "mapping" : "sequence"));
  }
}

// ---------------------------------------------------------------------------
// Building trees from parse events.

// Size of a subtree: what copying it costs, and how deep it reaches.
struct Stats {
  uint64_t nodes = 0;
  uint64_t bytes = 0;
  int height = 0;  // nesting levels of containers (0 for a scalar)
};

Stats LeafStats(const Json& value) {
  return Stats{1, value.is_string() ? value.get_ref<const std::string&>().size() : 0, 0};
}

// The expansion budget of one stream.
class Budget {
 public:
  Status Charge(const Stats& stats, int64_t line) {
    nodes_ += stats.nodes;
    bytes_ += stats.bytes;
    if (nodes_ > kMaxCopiedNodes) {
      return std::unexpected(LineError(line, "document expands to too many nodes (aliases?)"));
    }
    if (bytes_ > kMaxCopiedBytes) {
      return std::unexpected(LineError(line, "document expands to too much data (aliases?)"));
    }
    return {};
  }

 private:
  uint64_t nodes_ = 0;
  uint64_t bytes_ = 0;
};

struct Closed {
  Json value;
  Stats stats;
  std::size_t anchor;
  int64_t line;
};

// Assembles one document's tree from start/key/value/end events, checking
// depth, duplicate keys and merge keys as it goes. Iterative, so deep input
// costs heap, not stack.
class TreeBuilder {
 public:
  void Reset() {
    stack_.clear();
    root_ = Json();
    has_root_ = false;
    root_line_ = 0;
    item_lines_.clear();
  }

  int depth() const { return static_cast<int>(stack_.size()); }
  bool ExpectingKey() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().has_key; }
  bool IsOpen(std::size_t anchor) const {
    for (const Frame& frame : stack_) {
      if (anchor != 0 && frame.anchor == anchor) return true;
    }
    return false;
  }

  Status Open(bool is_map, int64_t line, std::size_t anchor) {
    if (depth() + 1 > kMaxNestingDepth) return std::unexpected(LineError(line, NestingMessage()));
    NoteValueStart(line);
    Frame frame;
    frame.is_map = is_map;
    frame.value = is_map ? Json::object() : Json::array();
    frame.stats = Stats{1, 0, 1};
    frame.line = line;
    frame.anchor = anchor;
    stack_.push_back(std::move(frame));
    return {};
  }

  Status Key(std::string key, int64_t line, bool merge) {
    if (!ExpectingKey()) return std::unexpected(LineError(line, "unexpected mapping key"));
    Frame& frame = stack_.back();
    frame.has_key = true;
    frame.key_is_merge = merge;
    if (merge) {
      frame.key.clear();
      return {};
    }
    if (auto it = frame.key_lines.find(key); it != frame.key_lines.end()) {
      return std::unexpected(
          LineError(line, "duplicate key " + Quote(key) + " (first at line " + std::to_string(it->second) + ")"));
    }
    frame.stats.bytes += key.size();
    frame.key_lines.emplace(key, line);
    frame.key = std::move(key);
    return {};
  }

  // A scalar, or a copy made for an alias.
  Status Leaf(Json value, const Stats& stats, int64_t line) {
    NoteValueStart(line);
    return Attach(std::move(value), stats, line);
  }

  // Ends the innermost container; the caller attaches it (after copying it
  // for an anchor).
  Result<Closed> Close() {
    // Parsers pair their events; this only guards against one that does not.
    if (stack_.empty()) return std::unexpected(LineError(0, "unexpected end of a collection"));
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    if (frame.is_map && !frame.merges.empty()) ApplyMerges(frame);
    return Closed{std::move(frame.value), frame.stats, frame.anchor, frame.line};
  }

  Status Attach(Json value, const Stats& stats, int64_t line) {
    if (stack_.empty()) {
      root_ = std::move(value);
      root_line_ = line;
      has_root_ = true;
      return {};
    }
    Frame& frame = stack_.back();
    if (frame.is_map && !frame.has_key) {
      return std::unexpected(LineError(line, "mapping value without a key"));
    }
    frame.stats.nodes += stats.nodes;
    frame.stats.bytes += stats.bytes;
    frame.stats.height = std::max(frame.stats.height, stats.height + 1);
    if (!frame.is_map) {
      frame.value.get_ref<Json::array_t&>().push_back(std::move(value));
      return {};
    }
    frame.has_key = false;
    if (!frame.key_is_merge) {
      // ordered_map's own insert searches linearly for the key; duplicates
      // are already excluded, so append directly.
      frame.value.get_ref<Json::object_t&>().emplace_back(std::move(frame.key), std::move(value));
      return {};
    }
    // "<<: *base" or "<<: [*a, *b]": YAML 1.1 merge keys, as go-yaml v2 does.
    if (frame.merges.empty()) frame.merge_position = frame.value.size();
    if (value.is_object()) {
      frame.merges.push_back(std::move(value));
      return {};
    }
    if (value.is_array() && std::all_of(value.begin(), value.end(), [](const Json& j) { return j.is_object(); })) {
      for (Json& item : value.get_ref<Json::array_t&>()) frame.merges.push_back(std::move(item));
      return {};
    }
    return std::unexpected(LineError(line, "merge key \"<<\" needs a mapping or a list of mappings"));
  }

  bool has_root() const { return has_root_; }
  Json TakeRoot() { return std::move(root_); }
  int64_t root_line() const { return root_line_; }
  // Lines where the elements of a root "items" sequence start (List kinds).
  const std::vector<int64_t>& item_lines() const { return item_lines_; }

 private:
  struct Frame {
    bool is_map = false;
    Json value;
    Stats stats;
    int64_t line = 0;
    std::size_t anchor = 0;
    // Mappings only.
    bool has_key = false;
    bool key_is_merge = false;
    std::string key;
    std::unordered_map<std::string, int64_t> key_lines;
    std::vector<Json> merges;
    std::size_t merge_position = 0;
  };

  void NoteValueStart(int64_t line) {
    if (stack_.size() == 2 && stack_[0].is_map && stack_[0].has_key && !stack_[0].key_is_merge &&
        stack_[0].key == "items" && !stack_[1].is_map) {
      item_lines_.push_back(line);
    }
  }

  // Explicit keys win over merged ones, earlier merge sources over later
  // ones; merged keys go where the "<<" was.
  static void ApplyMerges(Frame& frame) {
    auto& own = frame.value.get_ref<Json::object_t&>();
    Json merged = Json::object();
    auto& out = merged.get_ref<Json::object_t&>();
    const auto split = own.begin() + static_cast<std::ptrdiff_t>(std::min(frame.merge_position, own.size()));
    for (auto it = own.begin(); it != split; ++it) out.emplace_back(it->first, std::move(it->second));
    std::unordered_set<std::string> taken;
    for (Json& source : frame.merges) {
      for (auto& [key, value] : source.get_ref<Json::object_t&>()) {
        if (frame.key_lines.contains(key) || !taken.insert(key).second) continue;
        out.emplace_back(key, std::move(value));
      }
    }
    for (auto it = split; it != own.end(); ++it) out.emplace_back(it->first, std::move(it->second));
    frame.value = std::move(merged);
  }

  std::vector<Frame> stack_;
  Json root_;
  bool has_root_ = false;
  int64_t root_line_ = 0;
  std::vector<int64_t> item_lines_;
};

// Thrown from inside yaml-cpp's callbacks to stop it; never leaves this file.
struct Abort {
  Error error;
  bool syntax = false;      // the text is malformed, rather than refused for what it says
  int document_offset = 1;  // which document it is in, counted from the last complete one
};

[[noreturn]] void Throw(Error error) {
  throw Abort{std::move(error)};
}

void ThrowIfError(const Status& status) {
  if (!status) Throw(status.error());
}

int64_t LineOf(const YAML::Mark& mark) {
  return mark.line >= 0 ? int64_t{mark.line} + 1 : 0;
}

class YamlHandler : public YAML::EventHandler {
 public:
  YamlHandler(std::string_view text, TreeBuilder* builder, Budget* budget)
      : text_(text),
        builder_(builder),
        budget_(budget),
        // Each node takes at least a byte or two of input ("[:,:]" is the
        // densest); more events than this mean the parser is spinning.
        max_events_(4 * static_cast<uint64_t>(text.size()) + 64) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 can report empty documents forever without consuming
    // input (a stray ',' at the top level, for one). Real documents always
    // start further on than the one before.
    if (started_ && mark.pos == last_start_.pos && mark.line == last_start_.line && mark.column == last_start_.column) {
      throw Abort{UnexpectedAt(mark), true, 0};  // the previous document was the stuck one
    }
    started_ = true;
    last_start_ = mark;
    builder_->Reset();
    anchors_.clear();
    anchor_names_.clear();
  }
  void OnDocumentEnd() override {}

  void OnAnchor(const YAML::Mark&, const std::string& name) override { anchor_names_.push_back(name); }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const int64_t line = LineOf(mark);
    CountEvent(mark);
    if (builder_->ExpectingKey()) {
      Throw(LineError(line, "mapping key is null or empty; quote it if it is meant as a string"));
    }
    AddLeaf(Json(nullptr), line, anchor);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    const int64_t line = LineOf(mark);
    CountEvent(mark);
    Resolved value =
        (tag == "?" || IsValidUtf8(text)) ? ResolveScalar(tag, text) : ResolveScalar(tag, RepairEscapes(text));
    if (!value) Throw(LineError(line, value.error()));
    if (builder_->ExpectingKey()) {
      const bool merge = (tag == "?" && text == "<<") || tag == kMergeTag;
      if (anchor != 0) Remember(anchor, *value, LeafStats(*value), line);
      if (merge) {
        ThrowIfError(builder_->Key(std::string(), line, true));
        return;
      }
      auto key = KeyFromScalar(*value);
      if (!key) Throw(LineError(line, key.error()));
      ThrowIfError(builder_->Key(std::move(*key), line, false));
      return;
    }
    AddLeaf(std::move(*value), line, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const int64_t line = LineOf(mark);
    CountEvent(mark);
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      if (builder_->IsOpen(anchor)) {
        Throw(LineError(line, "alias " + AnchorName(anchor) + " is used inside the node it names"));
      }
      Throw(LineError(line, "alias " + AnchorName(anchor) + " names no anchor"));
    }
    const Anchored& anchored = it->second;
    if (builder_->ExpectingKey()) {
      auto key = KeyFromScalar(anchored.value);
      if (!key) Throw(LineError(line, key.error()));
      ThrowIfError(builder_->Key(std::move(*key), line, false));
      return;
    }
    if (builder_->depth() + anchored.stats.height > kMaxNestingDepth) {
      Throw(LineError(line, NestingMessage()));
    }
    ThrowIfError(budget_->Charge(anchored.stats, line));
    ThrowIfError(builder_->Leaf(anchored.value, anchored.stats, line));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(false, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(true, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Anchored {
    Json value;
    Stats stats;
  };

  std::string AnchorName(YAML::anchor_t anchor) const {
    if (anchor >= 1 && anchor <= anchor_names_.size()) return "*" + anchor_names_[anchor - 1];
    return "*" + std::to_string(anchor);
  }

  void Open(bool is_map, const YAML::Mark& mark, YAML::anchor_t anchor) {
    const int64_t line = LineOf(mark);
    CountEvent(mark);
    if (builder_->ExpectingKey()) {
      Throw(LineError(line, std::string("mapping key must be a string, not a ") + (is_map ? "mapping" : "sequence")));
    }
    ThrowIfError(builder_->Open(is_map, line, anchor));
  }

  void Close() {
    Result<Closed> closed = builder_->Close();
    if (!closed) Throw(closed.error());
    if (closed->anchor != 0) Remember(closed->anchor, closed->value, closed->stats, closed->line);
    ThrowIfError(builder_->Attach(std::move(closed->value), closed->stats, closed->line));
  }

  void AddLeaf(Json value, int64_t line, YAML::anchor_t anchor) {
    const Stats stats = LeafStats(value);
    if (anchor != 0) Remember(anchor, value, stats, line);
    ThrowIfError(builder_->Leaf(std::move(value), stats, line));
  }

  // Anchored values are kept as copies; the copy is charged like any other.
  void Remember(YAML::anchor_t anchor, const Json& value, const Stats& stats, int64_t line) {
    ThrowIfError(budget_->Charge(stats, line));
    anchors_[anchor] = Anchored{value, stats};
  }

  void CountEvent(const YAML::Mark& mark) {
    if (++events_ > max_events_) throw Abort{UnexpectedAt(mark), true};
  }

  Error UnexpectedAt(const YAML::Mark& mark) const {
    std::string what = "unexpected character";
    if (mark.pos >= 0 && static_cast<std::size_t>(mark.pos) < text_.size()) {
      const char c = text_[static_cast<std::size_t>(mark.pos)];
      if (c > ' ' && c < 0x7F) what = "unexpected '" + std::string(1, c) + "'";
    }
    return Error(ErrorCode::kInvalidArgument, "line " + std::to_string(LineOf(mark)) + ", column " +
                                                  std::to_string(int64_t{mark.column} + 1) + ": " + what);
  }

  std::string_view text_;
  TreeBuilder* builder_;
  Budget* budget_;
  uint64_t events_ = 0;
  const uint64_t max_events_;
  bool started_ = false;
  YAML::Mark last_start_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  std::vector<std::string> anchor_names_;
};

// ---------------------------------------------------------------------------
// Documents.

bool IsListKind(const Json& value) {
  if (!value.is_object()) return false;
  const auto kind = value.find("kind");
  if (kind == value.end() || !kind->is_string() || !kind->get_ref<const std::string&>().ends_with("List")) {
    return false;
  }
  const auto items = value.find("items");
  return items != value.end() && (items->is_array() || items->is_null());
}

int ClampLine(int64_t line) {
  return static_cast<int>(std::clamp<int64_t>(line, 0, std::numeric_limits<int>::max()));
}

// Adds a document, or a List's items in its place (kubectl flattens Lists,
// nested ones too; the depth limit bounds the recursion).
void AppendDocuments(Json value, int index, int64_t line, const std::vector<int64_t>& item_lines,
                     std::vector<Document>* documents) {
  if (value.is_null()) return;  // empty document
  if (!IsListKind(value)) {
    documents->push_back(Document{std::move(value), index, ClampLine(line)});
    return;
  }
  Json& items = value["items"];
  if (items.is_null()) return;
  auto& array = items.get_ref<Json::array_t&>();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const int64_t item_line = i < item_lines.size() ? item_lines[i] : line;
    AppendDocuments(std::move(array[i]), index, item_line, {}, documents);
  }
}

// Whether 1-based line `line` of `text` has a tab in its indentation.
bool IndentedWithTab(std::string_view text, int64_t line) {
  std::size_t start = 0;
  for (int64_t i = 1; i < line; ++i) {
    start = text.find('\n', start);
    if (start == std::string_view::npos) return false;
    ++start;
  }
  for (std::size_t i = start; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i) {
    if (text[i] == '\t') return true;
  }
  return false;
}

Error YamlSyntaxError(const YAML::Exception& e, std::string_view text) {
  if (dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr) {
    return LineError(LineOf(e.mark), NestingMessage());
  }
  std::string message;
  const int64_t line = LineOf(e.mark);
  if (line > 0) {
    message = "line " + std::to_string(line) + ", column " + std::to_string(int64_t{e.mark.column} + 1) + ": ";
  }
  message += e.msg;
  // yaml-cpp rarely says so itself, and tabs are invisible in most editors.
  if (line > 0 && IndentedWithTab(text, line)) {
    message += " (line " + std::to_string(line) + " is indented with a tab; YAML allows only spaces)";
  }
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

struct ParseFailure {
  Error error;
  bool syntax;  // the text is not well-formed (as opposed to meaning something refused)
};

std::expected<std::vector<Document>, ParseFailure> ParseYaml(std::string_view text) {
  std::istringstream stream{std::string(text)};
  YAML::Parser parser(stream);
  Budget budget;
  TreeBuilder builder;
  YamlHandler handler(text, &builder, &budget);
  std::vector<Document> documents;
  int index = 0;
  while (true) {
    // Every document takes some input; also a backstop for the loop above.
    if (static_cast<uint64_t>(index) > text.size() || index == std::numeric_limits<int>::max()) {
      return std::unexpected(ParseFailure{LineError(0, "too many documents"), true});
    }
    bool more = false;
    try {
      more = parser.HandleNextDocument(handler);
    } catch (Abort& abort) {
      return std::unexpected(ParseFailure{WithDocIndex(index + abort.document_offset, abort.error), abort.syntax});
    } catch (const YAML::Exception& e) {
      return std::unexpected(ParseFailure{WithDocIndex(index + 1, YamlSyntaxError(e, text)), true});
    }
    if (!more) break;
    ++index;
    if (builder.has_root()) {
      AppendDocuments(builder.TakeRoot(), index, builder.root_line(), builder.item_lines(), &documents);
    }
  }
  return documents;
}

// A char iterator that counts the newlines nlohmann's lexer has read, so JSON
// events know their line.
class LineCountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  LineCountingIterator(const char* position, int64_t* newlines) : position_(position), newlines_(newlines) {}
  reference operator*() const { return *position_; }
  LineCountingIterator& operator++() {
    if (*position_ == '\n') ++*newlines_;
    ++position_;
    return *this;
  }
  LineCountingIterator operator++(int) {
    LineCountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const LineCountingIterator& other) const { return position_ == other.position_; }
  bool operator!=(const LineCountingIterator& other) const { return position_ != other.position_; }

 private:
  const char* position_;
  int64_t* newlines_;
};

// Builds the tree from nlohmann's SAX events with the same checks as YAML.
class JsonHandler : public nlohmann::json_sax<Json> {
 public:
  explicit JsonHandler(const int64_t* newlines) : newlines_(newlines) {}

  bool null() override { return Leaf(Json(nullptr)); }
  bool boolean(bool value) override { return Leaf(Json(value)); }
  bool number_integer(number_integer_t value) override { return Leaf(Json(value)); }
  bool number_unsigned(number_unsigned_t value) override {
    // Same types as the YAML path: int64 when it fits.
    if (value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Leaf(Json(static_cast<int64_t>(value)));
    }
    return Leaf(Json(value));
  }
  bool number_float(number_float_t value, const string_t& text) override {
    const bool integer_syntax = text.find_first_of(".eE") == string_t::npos;
    if (integer_syntax || !std::isfinite(value)) {
      return Fail(LineError(line(), OutOfRange(text, integer_syntax ? "integer" : "number").error()));
    }
    return Leaf(NumberFromDouble(value));
  }
  bool string(string_t& value) override { return Leaf(Json(std::move(value))); }
  bool binary(binary_t&) override { return Fail(LineError(line(), "binary values are not supported")); }
  bool start_object(std::size_t) override { return Check(builder_.Open(true, line(), 0)); }
  bool key(string_t& key) override { return Check(builder_.Key(std::move(key), line(), false)); }
  bool end_object() override { return CloseContainer(); }
  bool start_array(std::size_t) override { return Check(builder_.Open(false, line(), 0)); }
  bool end_array() override { return CloseContainer(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    std::string message = e.what();
    constexpr std::string_view kAt = "parse error at ";
    if (auto at = message.find(kAt); at != std::string::npos) message.erase(0, at + kAt.size());
    syntax_ = true;
    error_ = Error(ErrorCode::kInvalidArgument, std::move(message));
    return false;
  }

  TreeBuilder& builder() { return builder_; }
  const std::optional<Error>& error() const { return error_; }
  bool syntax() const { return syntax_; }

 private:
  int64_t line() const { return *newlines_ + 1; }
  bool Fail(Error error) {
    error_ = std::move(error);
    return false;
  }
  bool Check(const Status& status) { return status ? true : Fail(status.error()); }
  bool Leaf(Json value) {
    const Stats stats = LeafStats(value);
    return Check(builder_.Leaf(std::move(value), stats, line()));
  }
  bool CloseContainer() {
    Result<Closed> closed = builder_.Close();
    if (!closed) return Fail(closed.error());
    return Check(builder_.Attach(std::move(closed->value), closed->stats, closed->line));
  }

  const int64_t* newlines_;
  TreeBuilder builder_;
  std::optional<Error> error_;
  bool syntax_ = false;
};

std::expected<std::vector<Document>, ParseFailure> ParseJson(std::string_view text) {
  int64_t newlines = 0;
  JsonHandler handler(&newlines);
  const bool ok = Json::sax_parse(LineCountingIterator(text.data(), &newlines),
                                  LineCountingIterator(text.data() + text.size(), &newlines), &handler,
                                  nlohmann::json::input_format_t::json,
                                  /*strict=*/true, /*ignore_comments=*/false);
  if (!ok || handler.error()) {
    Error error = handler.error().value_or(Error(ErrorCode::kInvalidArgument, "invalid JSON"));
    return std::unexpected(ParseFailure{std::move(error), handler.syntax() || !handler.error()});
  }
  std::vector<Document> documents;
  TreeBuilder& builder = handler.builder();
  if (builder.has_root()) {
    AppendDocuments(builder.TakeRoot(), 1, builder.root_line(), builder.item_lines(), &documents);
  }
  return documents;
}

Result<std::vector<Document>> ParseDocumentsUnchecked(std::string_view text) {
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

  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const bool looks_like_json = first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
  if (!looks_like_json) {
    auto parsed = ParseYaml(text);
    if (!parsed) return std::unexpected(parsed.error().error);
    return std::move(*parsed);
  }
  // JSON is (nearly) YAML, but yaml-cpp rejects \u surrogate pairs and reads
  // numbers the YAML way; a JSON parser gets JSON exactly right. Flow-style
  // YAML ({a: 1}) is not JSON: if the text is not JSON, try YAML, and when
  // neither accepts it report the JSON error, which is the more precise one.
  auto json = ParseJson(text);
  if (json) return std::move(*json);
  if (!json.error().syntax) return std::unexpected(json.error().error);
  auto yaml = ParseYaml(text);
  if (yaml) return std::move(*yaml);
  return std::unexpected(yaml.error().syntax ? json.error().error : yaml.error().error);
}

// ---------------------------------------------------------------------------
// Files.

Error IoError(const std::string& name, int error_number) {
  const ErrorCode code = ErrorCodeForErrno(error_number, ErrorCode::kInvalidArgument);
  return Error(code, name + ": cannot read: " + std::generic_category().message(error_number));
}

Result<std::string> ReadAll(const std::string& path, const std::string& name) {
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(IoError(name, errno));
  struct Closer {
    int fd;
    bool close_it;
    ~Closer() {
      if (close_it) ::close(fd);
    }
  } closer{fd, !is_stdin};

  const std::string too_large = name + ": file is larger than " + std::to_string(kMaxDocumentFileBytes >> 20) + " MiB";
  struct stat info {};
  if (::fstat(fd, &info) == 0) {
    if (S_ISDIR(info.st_mode)) return std::unexpected(IoError(name, EISDIR));
    if (S_ISREG(info.st_mode) && static_cast<uint64_t>(info.st_size) > kMaxDocumentFileBytes) {
      return InvalidArgument(too_large);
    }
  }
  // The size may be unknown (pipes) or change while reading: enforce the
  // limit on what is actually read.
  std::string data;
  std::vector<char> buffer(std::size_t{64} * 1024);
  while (true) {
    const ssize_t count = ::read(fd, buffer.data(), buffer.size());
    if (count < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(IoError(name, errno));
    }
    if (count == 0) break;
    if (data.size() + static_cast<std::size_t>(count) > kMaxDocumentFileBytes) {
      return InvalidArgument(too_large);
    }
    data.append(buffer.data(), static_cast<std::size_t>(count));
  }
  return data;
}

}  // namespace

Result<std::vector<Document>> ParseDocuments(std::string_view text) {
  try {
    return ParseDocumentsUnchecked(text);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("cannot parse: ") + e.what());
  } catch (...) {
    return InvalidArgument("cannot parse");
  }
}

Result<std::vector<Document>> ReadDocumentsFile(const std::string& path) {
  const std::string name = path == "-" ? "<stdin>" : path;
  try {
    auto data = ReadAll(path, name);
    if (!data) return std::unexpected(data.error());
    auto documents = ParseDocuments(*data);
    if (!documents) return std::unexpected(documents.error().WithContext(name));
    return documents;
  } catch (const std::exception& e) {
    return InvalidArgument(name + ": " + e.what());
  }
}

}  // namespace ctask::api
