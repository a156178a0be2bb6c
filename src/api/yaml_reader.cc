#include "api/yaml_reader.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/document.h"
#include "api/parse_error.h"
#include "api/yaml_scalar.h"
#include "util/utf8.h"

namespace ctask::api::internal {
namespace {

// Anchors and aliases let a few bytes stand for a huge tree ("billion
// laughs"). Every copy they cause is charged against these, per stream.
constexpr uint64_t kMaxCopiedNodes = 1'000'000;
constexpr uint64_t kMaxCopiedBytes = 64u << 20;

constexpr std::string_view kMergeTag = "tag:yaml.org,2002:merge";

Error WithDocIndex(int index, const Error& error) {
  // The first document needs no number: most files hold only one.
  return index > 1 ? error.WithContext("doc " + std::to_string(index)) : error;
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

}  // namespace

ReadResult ReadYaml(std::string_view text) {
  std::istringstream stream{std::string(text)};
  YAML::Parser parser(stream);
  Budget budget;
  TreeBuilder builder;
  YamlHandler handler(text, &builder, &budget);
  std::vector<BuiltDocument> documents;
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
      documents.push_back(BuiltDocument{builder.TakeRoot(), index, builder.root_line(), builder.item_lines()});
    }
  }
  return documents;
}

}  // namespace ctask::api::internal
