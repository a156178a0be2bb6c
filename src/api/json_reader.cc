#include "api/json_reader.h"

#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/parse_error.h"
#include "api/yaml_scalar.h"

namespace ctask::api::internal {
namespace {

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

}  // namespace

ReadResult ReadJson(std::string_view text) {
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
  std::vector<BuiltDocument> documents;
  TreeBuilder& builder = handler.builder();
  if (builder.has_root()) {
    documents.push_back(BuiltDocument{builder.TakeRoot(), 1, builder.root_line(), builder.item_lines()});
  }
  return documents;
}

}  // namespace ctask::api::internal
