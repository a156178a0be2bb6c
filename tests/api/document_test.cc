// Tests for api/document.h: how manifest text becomes JSON trees (scalar
// resolution as kubectl does it, documents, Lists, JSON input), the limits
// that keep hostile input harmless, file reading, and ToYaml's round trip.
#include "api/document.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace ctask::api {
namespace {

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// The value of key "v" in a one-document stream.
Result<Json> ValueOf(const std::string& yaml) {
  auto documents = ParseDocuments(yaml);
  if (!documents) return std::unexpected(documents.error());
  if (documents->size() != 1) return InvalidArgument("expected one document");
  return (*documents)[0].value.at("v");
}

std::string Repeat(std::string_view unit, std::size_t count) {
  std::string out;
  out.reserve(unit.size() * count);
  for (std::size_t i = 0; i < count; ++i) out += unit;
  return out;
}

// ---------------------------------------------------------------------------
// Scalars.

struct ScalarCase {
  std::string name;
  std::string scalar;  // written after "v: "
  Json want;
};

class DocumentScalarTest : public ::testing::TestWithParam<ScalarCase> {};

TEST_P(DocumentScalarTest, Resolves) {
  const ScalarCase& c = GetParam();
  auto value = ValueOf("v: " + c.scalar + "\n");
  ASSERT_TRUE(value.has_value()) << value.error().message();
  EXPECT_EQ(value->type(), c.want.type()) << value->dump();
  EXPECT_EQ(*value, c.want);
}

Json Str(const char* s) {
  return Json(std::string(s));
}

INSTANTIATE_TEST_SUITE_P(
    Document, DocumentScalarTest,
    ::testing::Values(
        // Null.
        ScalarCase{"Empty", "", nullptr}, ScalarCase{"Tilde", "~", nullptr}, ScalarCase{"NullLower", "null", nullptr},
        ScalarCase{"NullTitle", "Null", nullptr}, ScalarCase{"NullUpper", "NULL", nullptr},
        ScalarCase{"NullMixed", "nUll", Str("nUll")},
        // Booleans, YAML 1.1 spellings included as go-yaml v2 reads them.
        ScalarCase{"True", "true", true}, ScalarCase{"TrueTitle", "True", true}, ScalarCase{"TrueUpper", "TRUE", true},
        ScalarCase{"False", "false", false}, ScalarCase{"FalseTitle", "False", false},
        ScalarCase{"FalseUpper", "FALSE", false}, ScalarCase{"Yes", "yes", true}, ScalarCase{"YesUpper", "YES", true},
        ScalarCase{"No", "no", false}, ScalarCase{"NoTitle", "No", false}, ScalarCase{"On", "on", true},
        ScalarCase{"Off", "Off", false}, ScalarCase{"Y", "y", true}, ScalarCase{"N", "N", false},
        ScalarCase{"TrueOddCase", "tRUE", Str("tRUE")}, ScalarCase{"Yess", "yess", Str("yess")},
        // Integers.
        ScalarCase{"Zero", "0", 0}, ScalarCase{"Negative", "-17", -17}, ScalarCase{"Plus", "+5", 5},
        ScalarCase{"Underscores", "1_000_000", 1000000}, ScalarCase{"Hex", "0x1F", 31},
        ScalarCase{"HexNegative", "-0x1f", -31}, ScalarCase{"OctalPrefix", "0o17", 15},
        ScalarCase{"OctalLegacy", "0644", 420}, ScalarCase{"Binary", "0b101", 5}, ScalarCase{"NotOctal", "08", 8},
        ScalarCase{"Int64Max", "9223372036854775807", std::numeric_limits<int64_t>::max()},
        ScalarCase{"Int64Min", "-9223372036854775808", std::numeric_limits<int64_t>::min()},
        ScalarCase{"Uint64", "18446744073709551615", std::numeric_limits<uint64_t>::max()},
        // Floats; whole numbers become integers as the API server sees them.
        ScalarCase{"Float", "1.5", 1.5}, ScalarCase{"FloatNegative", "-0.25", -0.25},
        ScalarCase{"FloatLeadingDot", ".5", 0.5}, ScalarCase{"FloatExponent", "2.5e-3", 0.0025},
        ScalarCase{"FloatWhole", "1.0", 1}, ScalarCase{"ExponentWhole", "1e3", 1000},
        ScalarCase{"FloatHuge", "1e20", 1e20}, ScalarCase{"Underflow", "1e-400", 0},
        // Strings.
        ScalarCase{"Word", "nginx", Str("nginx")}, ScalarCase{"Version", "1.2.3", Str("1.2.3")},
        ScalarCase{"Date", "2001-12-14", Str("2001-12-14")}, ScalarCase{"Sexagesimal", "12:30", Str("12:30")},
        ScalarCase{"HexEmpty", "0x", Str("0x")}, ScalarCase{"BadBinary", "0b2", Str("0b2")},
        ScalarCase{"DashWord", "-x", Str("-x")}, ScalarCase{"PlusAlone", "+", Str("+")},
        ScalarCase{"ExponentOnly", "1e", Str("1e")}, ScalarCase{"LeadingUnderscore", "_1", Str("_1")},
        ScalarCase{"Image", "nginx:1.25", Str("nginx:1.25")}, ScalarCase{"Spaces", "a b  c", Str("a b  c")},
        // Quoted and block scalars are always strings.
        ScalarCase{"DoubleQuotedTrue", "\"true\"", Str("true")}, ScalarCase{"SingleQuotedInt", "'1'", Str("1")},
        ScalarCase{"QuotedEmpty", "\"\"", Str("")}, ScalarCase{"QuotedNull", "'null'", Str("null")},
        ScalarCase{"Literal", "|\n  yes\n", Str("yes\n")}, ScalarCase{"Folded", ">-\n  a\n  b\n", Str("a b")},
        ScalarCase{"Escapes", "\"tab\\there \\u00e9 \\x41 \\N\\_\"", Str("tab\there \u00e9 A \u0085\u00a0")},
        // Explicit tags.
        ScalarCase{"TagStr", "!!str 12", Str("12")}, ScalarCase{"TagStrEmpty", "!!str", Str("")},
        ScalarCase{"TagInt", "!!int \"12\"", 12}, ScalarCase{"TagFloat", "!!float 2", 2},
        ScalarCase{"TagBool", "!!bool yes", true}, ScalarCase{"TagNull", "!!null ''", nullptr},
        ScalarCase{"LocalTag", "!thing 12", Str("12")},
        ScalarCase{"Timestamp", "!!timestamp 2001-12-14", Str("2001-12-14")}),
    [](const ::testing::TestParamInfo<ScalarCase>& info) { return info.param.name; });

struct ErrorCase {
  std::string name;
  std::string text;
  std::string want;  // substring of the message
};

class DocumentErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DocumentErrorTest, Fails) {
  const ErrorCase& c = GetParam();
  auto documents = ParseDocuments(c.text);
  ASSERT_FALSE(documents.has_value()) << documents->at(0).value.dump();
  EXPECT_EQ(documents.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(documents.error().message(), c.want));
}

INSTANTIATE_TEST_SUITE_P(
    Document, DocumentErrorTest,
    ::testing::Values(
        // Numbers JSON cannot hold.
        ErrorCase{"Inf", "a: 1\nv: .inf\n", "line 2: \".inf\" is not a number JSON can hold"},
        ErrorCase{"NegInf", "v: -.Inf", "\"-.Inf\" is not a number JSON can hold"},
        ErrorCase{"Nan", "v: [.nan]", "line 1: \".nan\" is not a number"},
        ErrorCase{"BigInt", "v: 99999999999999999999",
                  "integer \"99999999999999999999\" does not fit in 64 bits; quote it"},
        ErrorCase{"BigNegative", "v: -9223372036854775809", "does not fit in 64 bits"},
        ErrorCase{"BigHex", "v: 0x10000000000000000", "does not fit in 64 bits"},
        ErrorCase{"BigFloat", "v: 1e400", "number \"1e400\" does not fit"},
        ErrorCase{"TagMismatch", "v: !!int abc", "cannot read \"abc\" as !!int"},
        ErrorCase{"Binary", "v: !!binary aGk=", "!!binary is not supported"},
        // Keys.
        ErrorCase{"NullKey", "~: a", "line 1: mapping key is null or empty"},
        ErrorCase{"EmptyKey", "a: 1\n: b", "mapping key is null or empty"},
        ErrorCase{"SequenceKey", "a: 1\n? [x]\n: b", "line 2: mapping key must be a string, not a sequence"},
        ErrorCase{"MappingKey", "{a: 1}: b", "mapping key must be a string, not a mapping"},
        ErrorCase{"Duplicate", "a: 1\nb: 2\na: 3\n", "line 3: duplicate key \"a\" (first at line 1)"},
        ErrorCase{"DuplicateNested", "spec:\n  x: 1\n  x: 2\n", "line 3: duplicate key \"x\""},
        ErrorCase{"DuplicateAfterResolving", "1: a\n\"1\": b", "duplicate key \"1\""},
        ErrorCase{"DuplicateBool", "yes: a\ntrue: b", "duplicate key \"true\""},
        ErrorCase{"DuplicateInLaterDoc", "a: 1\n---\nb: 1\nb: 2\n",
                  "doc 2: line 4: duplicate key \"b\" (first at line 3)"},
        ErrorCase{"DuplicateJson", "{\"a\": 1,\n \"a\": 2}", "line 2: duplicate key \"a\""},
        // Merge keys.
        ErrorCase{"MergeScalar", "a:\n  <<: 1", "merge key \"<<\" needs a mapping"},
        ErrorCase{"MergeListOfScalars", "a:\n  <<: [1]", "merge key \"<<\" needs a mapping"},
        // Syntax, with yaml-cpp's position.
        ErrorCase{"Unclosed", "a: [1, 2\n", "line 2, column 1: "},
        ErrorCase{"BadIndent", "a: 1\n b: 2\n", "line 2, column 3: illegal map value"},
        ErrorCase{"SyntaxInLaterDoc", "a: 1\n---\nb: 1\n c: 2\n", "doc 2: line 4, column 3:"},
        ErrorCase{"TabIndent", "a:\n\tb: 1\n",
                  "line 2, column 3: illegal map value (line 2 is indented with a tab; YAML allows only spaces)"},
        ErrorCase{"UnknownAlias", "a: *nope", "line 1, column 4:"},
        ErrorCase{"SelfAlias", "a: &x [1, *x]", "alias *x is used inside the node it names"},
        ErrorCase{"BadJson", "{\"a\": 1 \"b\": 2}",
                  "line 1, column 11: syntax error while parsing object - unexpected string literal"},
        ErrorCase{"JsonLoneSurrogate", "{\"a\": \"\\ud83d\"}", "surrogate"},
        // Characters.
        ErrorCase{"Nul", std::string("a: 1\nb: x\0y\n", 12), "line 2, column 5: NUL byte"},
        ErrorCase{"ControlChar", "a: \x01", "line 1, column 4: control character U+0001 is not allowed"},
        ErrorCase{"Del", "a: \x7f", "control character U+007F"},
        ErrorCase{"C1", "a: \xc2\x80", "character U+0080 is not allowed"},
        ErrorCase{"InvalidUtf8", "a: b\nc: \xff\n", "line 2, column 4: invalid UTF-8 (byte 0xFF)"},
        ErrorCase{"Overlong", "a: \xc0\xaf", "invalid UTF-8 (byte 0xC0)"},
        ErrorCase{"EncodedSurrogate", "a: \xed\xa0\x80", "invalid UTF-8 (byte 0xED)"},
        ErrorCase{"Truncated", "a: \xe2\x82", "invalid UTF-8"},
        ErrorCase{"ColumnCountsCharacters", "\xc3\xa9\xc3\xa9: \xff", "line 1, column 5: invalid UTF-8"},
        ErrorCase{"Utf16",
                  std::string("\xff\xfe"
                              "a\0:\0",
                              6),
                  "UTF-16"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// Keys, merges, anchors.

TEST(DocumentParseTest, ScalarKeysBecomeStrings) {
  auto documents = ParseDocuments("1: a\nyes: b\n0x10: c\n\"no\": d\n1.5: e\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ((*documents)[0].value, Json::parse(R"({"1":"a","true":"b","16":"c","no":"d","1.5":"e"})"));
}

TEST(DocumentParseTest, SingleLetterBooleanKeys) {
  // go-yaml v2 reads y/n as booleans, keys included, so kubectl sends "true"
  // and "false" for them. Quote such keys.
  auto documents = ParseDocuments("y: 1\nn: 2\n\"y\": 3\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ((*documents)[0].value, Json::parse(R"({"true":1,"false":2,"y":3})"));
}

TEST(DocumentParseTest, KeepsKeyOrder) {
  auto documents = ParseDocuments("z: 1\na: 2\nm: 3\n");
  ASSERT_TRUE(documents.has_value());
  std::vector<std::string> keys;
  for (const auto& [key, value] : (*documents)[0].value.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"z", "a", "m"}));
}

TEST(DocumentParseTest, MergeKeys) {
  auto documents = ParseDocuments(
      "base: &base {a: 1, b: 2}\n"
      "more: &more {b: 20, c: 30}\n"
      "one:\n  x: 0\n  <<: *base\n  b: 3\n"
      "many:\n  <<: [*more, *base]\n"
      "inline:\n  <<: {k: v}\n"
      "quoted:\n  \"<<\": 1\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  const Json& value = (*documents)[0].value;
  // Explicit keys win wherever they are; merged keys go where "<<" was.
  EXPECT_EQ(value["one"].dump(), R"({"x":0,"a":1,"b":3})");
  // Earlier merge sources win over later ones.
  EXPECT_EQ(value["many"].dump(), R"({"b":20,"c":30,"a":1})");
  EXPECT_EQ(value["inline"].dump(), R"({"k":"v"})");
  EXPECT_EQ(value["quoted"].dump(), R"({"<<":1})");
}

TEST(DocumentParseTest, AnchorsAndAliases) {
  auto documents = ParseDocuments(
      "labels: &labels {app: web}\n"
      "selector: *labels\n"
      "&k name: *k\n"
      "list: [&one 1, *one]\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ((*documents)[0].value, Json::parse(R"({"labels":{"app":"web"},"selector":{"app":"web"},
                            "name":"name","list":[1,1]})"));
}

// ---------------------------------------------------------------------------
// Documents, Lists, JSON.

TEST(DocumentParseTest, MultiDocumentSkipsEmptyOnes) {
  const std::string text =
      "# leading comment\n"
      "---\n"
      "# only a comment\n"
      "---\n"
      "a: 1\n"
      "---\n"
      "---\n"
      "null\n"
      "---\n"
      "\n"
      "b: 2\n"
      "...\n";
  auto documents = ParseDocuments(text);
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  ASSERT_EQ(documents->size(), 2u);
  EXPECT_EQ((*documents)[0].value, Json::parse(R"({"a":1})"));
  EXPECT_EQ((*documents)[0].index, 2);
  EXPECT_EQ((*documents)[0].line, 5);
  EXPECT_EQ((*documents)[1].value, Json::parse(R"({"b":2})"));
  EXPECT_EQ((*documents)[1].index, 5);
  EXPECT_EQ((*documents)[1].line, 11);
}

TEST(DocumentParseTest, EmptyInputsHaveNoDocuments) {
  for (const char* text : {"", "\n\n", "# nothing\n", "---\n", "--- ~\n", "null", "\xEF\xBB\xBF"}) {
    auto documents = ParseDocuments(text);
    ASSERT_TRUE(documents.has_value()) << text << ": " << documents.error().message();
    EXPECT_TRUE(documents->empty()) << text;
  }
}

TEST(DocumentParseTest, ScalarAndSequenceDocumentsAreKept) {
  auto documents = ParseDocuments("hello\n---\n- 1\n");
  ASSERT_TRUE(documents.has_value());
  ASSERT_EQ(documents->size(), 2u);
  EXPECT_EQ((*documents)[0].value, "hello");
  EXPECT_EQ((*documents)[1].value, Json::parse("[1]"));
}

TEST(DocumentParseTest, FlattensLists) {
  const std::string text =
      "a: 1\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: List\n"
      "items:\n"
      "- kind: ConfigMap\n"
      "  metadata: {name: one}\n"
      "- null\n"
      "- kind: List\n"
      "  items:\n"
      "  - {kind: Secret}\n"
      "-\n"
      "  kind: Service\n"
      "---\n"
      "kind: PodList\n"
      "items: [{kind: Pod}]\n"
      "---\n"
      "kind: List\n"
      "items: null\n"
      "---\n"
      "kind: CheckList\n"
      "spec: {}\n";
  auto documents = ParseDocuments(text);
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  std::vector<std::string> kinds;
  std::vector<int> indexes, lines;
  for (const Document& document : *documents) {
    kinds.push_back(document.value.value("kind", "?"));
    indexes.push_back(document.index);
    lines.push_back(document.line);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"?", "ConfigMap", "Secret", "Service", "Pod", "CheckList"}));
  EXPECT_EQ(indexes, (std::vector<int>{1, 2, 2, 2, 3, 5}));
  // (An item whose mapping starts on the line after its "-" starts there.)
  EXPECT_EQ(lines, (std::vector<int>{1, 6, 9, 13, 16, 21}));
}

TEST(DocumentParseTest, JsonInput) {
  const std::string text =
      "\n{\n"
      "\t\"kind\": \"List\",\n"
      "\t\"items\": [\n"
      "\t\t{\"kind\": \"ConfigMap\", \"data\": {\"emoji\": \"\\ud83d\\ude00\", \"n\": 1.0,\n"
      "\t\t \"big\": 18446744073709551615, \"f\": 2.5, \"t\": true, \"s\": \"yes\"}},\n"
      "\t\t{\"kind\": \"Secret\"}\n"
      "\t]\n"
      "}\n";
  auto documents = ParseDocuments(text);
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  ASSERT_EQ(documents->size(), 2u);
  const Json& data = (*documents)[0].value["data"];
  EXPECT_EQ(data["emoji"], "\xF0\x9F\x98\x80");
  EXPECT_TRUE(data["n"].is_number_integer());
  EXPECT_EQ(data["big"], std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(data["f"], 2.5);
  EXPECT_EQ(data["s"], "yes");  // JSON strings are never resolved
  EXPECT_EQ((*documents)[0].index, 1);
  EXPECT_EQ((*documents)[0].line, 5);
  EXPECT_EQ((*documents)[1].line, 7);
}

TEST(DocumentParseTest, JsonAndYamlAgree) {
  const std::string json = R"({"apiVersion": "v1", "kind": "Pod", "spec": {"m": [1, -2, 3.5, null, false]}})";
  auto from_json = ParseDocuments(json);
  auto from_yaml = ParseDocuments("apiVersion: v1\nkind: Pod\nspec:\n  m: [1, -2, 3.5, ~, no]\n");
  ASSERT_TRUE(from_json.has_value() && from_yaml.has_value());
  EXPECT_EQ((*from_json)[0].value, (*from_yaml)[0].value);
}

TEST(DocumentParseTest, FlowYamlThatIsNotJson) {
  auto documents = ParseDocuments("{a: 1, b: [x, z]}\n---\n[1, 2]\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  ASSERT_EQ(documents->size(), 2u);
  EXPECT_EQ((*documents)[0].value, Json::parse(R"({"a":1,"b":["x","z"]})"));
}

TEST(DocumentParseTest, ByteOrderMarkIsAccepted) {
  auto documents = ParseDocuments(
      "\xEF\xBB\xBF"
      "a: 1\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ((*documents)[0].value, Json::parse(R"({"a":1})"));
  EXPECT_EQ((*documents)[0].line, 1);
  auto json = ParseDocuments("\xEF\xBB\xBF{\"a\": 1}");
  ASSERT_TRUE(json.has_value()) << json.error().message();
}

TEST(DocumentParseTest, TabsOutsideIndentationAreFine) {
  auto documents = ParseDocuments("a:\tx\ty\nb: \"\t\"\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ((*documents)[0].value, Json::parse(R"({"a":"x\ty","b":"\t"})"));
}

TEST(DocumentParseTest, CrLfLineEndings) {
  auto documents = ParseDocuments("a: 1\r\nb: |\r\n  x\r\n---\r\nc: 2\r\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  ASSERT_EQ(documents->size(), 2u);
  EXPECT_EQ((*documents)[0].value, Json::parse(R"({"a":1,"b":"x\n"})"));
  EXPECT_EQ((*documents)[1].line, 5);
}

// ---------------------------------------------------------------------------
// Limits.

std::string Nested(int levels, std::string_view open, std::string_view close) {
  return Repeat(open, static_cast<std::size_t>(levels)) + Repeat(close, static_cast<std::size_t>(levels));
}

TEST(DocumentLimitsTest, FlowNestingUpToTheLimit) {
  auto ok = ParseDocuments(Nested(kMaxNestingDepth, "[", "]"));
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  auto json_ok = ParseDocuments(Nested(kMaxNestingDepth - 1, "{\"a\":", "}").insert(0, "[") + "]");
  ASSERT_TRUE(json_ok.has_value()) << json_ok.error().message();
  // Just past the limit the estimate lets it through; the exact check stops it.
  for (const std::string& text : {Nested(kMaxNestingDepth + 1, "[", "]"), Nested(kMaxNestingDepth + 1, "{a: ", "}"),
                                  Nested(kMaxNestingDepth + 1, "{\"a\":", "}")}) {
    auto deep = ParseDocuments(text);
    ASSERT_FALSE(deep.has_value());
    EXPECT_EQ(deep.error().message(), "line 1: nesting deeper than 100 levels");
  }
}

TEST(DocumentLimitsTest, HugeFlowNesting) {
  for (std::string_view open : {"[", "{", "{a: ", "[{\"a\": "}) {
    auto deep = ParseDocuments(Repeat(open, 1'000'000));
    ASSERT_FALSE(deep.has_value());
    EXPECT_TRUE(Contains(deep.error().message(), "nesting deeper than 100 levels")) << open;
  }
}

// Deep flow collections inside YAML (not JSON, which nlohmann reads
// iteratively) must be refused by the nesting pre-scan: yaml-cpp's scanner
// reads an unclosed run of brackets into its token queue before the tree
// builder's exact check sees the second one, 1.9 GB and 5 s for 8 MiB of
// them (input_guards.cc). Without the pre-scan these are refused too, but
// only after that, and as "mapping key must be a string".
TEST(DocumentLimitsTest, DeepFlowInYamlIsRefusedBeforeYamlCpp) {
  for (const std::string& text : {"x: " + Repeat("[", 1'000'000), "- " + Repeat("[", 1'000'000),
                                  "x: " + Repeat("{", 1'000'000), "x: " + Repeat("[a, ", 250'000)}) {
    auto deep = ParseDocuments(text);
    ASSERT_FALSE(deep.has_value());
    EXPECT_EQ(deep.error().message(), "line 1: nesting deeper than 100 levels") << text.substr(0, 8);
  }
}

TEST(DocumentLimitsTest, BlockNesting) {
  // Compact sequences on one line: "- - - ... x".
  auto compact = ParseDocuments(Repeat("- ", 100'000) + "x\n");
  ASSERT_FALSE(compact.has_value());
  EXPECT_TRUE(Contains(compact.error().message(), "nesting deeper than 100 levels"));
  // One level per line, sequences and mappings.
  std::string sequences, mappings;
  for (int i = 0; i < 1000; ++i) {
    sequences += std::string(static_cast<std::size_t>(i) * 2, ' ') + "-\n";
    mappings += std::string(static_cast<std::size_t>(i) * 2, ' ') + "a:\n";
  }
  for (const std::string& text : {sequences, mappings}) {
    auto deep = ParseDocuments(text);
    ASSERT_FALSE(deep.has_value());
    EXPECT_TRUE(Contains(deep.error().message(), "nesting deeper than 100 levels"));
  }
  // Exactly at the limit is fine; one more is not.
  std::string at_limit, over_limit;
  for (int i = 0; i < kMaxNestingDepth; ++i) at_limit += std::string(static_cast<std::size_t>(i) * 2, ' ') + "a:\n";
  over_limit = at_limit + std::string(std::size_t{kMaxNestingDepth} * 2, ' ') + "a: 1\n";
  at_limit += std::string(std::size_t{kMaxNestingDepth} * 2, ' ') + "1\n";
  auto ok = ParseDocuments(at_limit);
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  auto over = ParseDocuments(over_limit);
  ASSERT_FALSE(over.has_value());
  EXPECT_TRUE(Contains(over.error().message(), "nesting deeper than 100 levels"));
}

TEST(DocumentLimitsTest, BracketsInStringsDoNotCount) {
  const std::string brackets = Repeat("[", 500);
  const std::string text = "a: \"" + brackets + "\"\nb: '" + brackets + "'\nc: x" + brackets + "\nd: |\n  " + brackets +
                           "\n# " + brackets + "\ne: [\"" + brackets + "\", '" + brackets + "']\n";
  auto documents = ParseDocuments(text);
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ((*documents)[0].value["d"], brackets + "\n");
}

TEST(DocumentLimitsTest, AliasesCannotDeepenPastTheLimit) {
  // Each alias is legal where it is used, but splices a deep tree into a
  // deep place.
  const std::string deep = Nested(60, "[", "]");
  auto documents = ParseDocuments("a: &a " + deep + "\nb: " + Repeat("[", 60) + "*a" + Repeat("]", 60) + "\n");
  ASSERT_FALSE(documents.has_value());
  EXPECT_TRUE(Contains(documents.error().message(), "nesting deeper than 100 levels"));
}

TEST(DocumentLimitsTest, BillionLaughs) {
  std::string text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    const std::string previous = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + previous;
    text += "]\n";
  }
  auto documents = ParseDocuments(text);
  ASSERT_FALSE(documents.has_value());
  EXPECT_TRUE(Contains(documents.error().message(), "document expands to too many nodes (aliases?)"));
}

TEST(DocumentLimitsTest, BigStringAliases) {
  std::string text = "a: &a \"" + std::string(1 << 20, 'x') + "\"\nb: [";
  for (int i = 0; i < 100; ++i) text += "*a, ";
  text += "]\n";
  auto documents = ParseDocuments(text);
  ASSERT_FALSE(documents.has_value());
  EXPECT_TRUE(Contains(documents.error().message(), "(aliases?)"));
}

TEST(DocumentLimitsTest, NestedAnchorsAreCharged) {
  // Anchoring every level would copy the whole subtree once per level.
  std::string text;
  for (int i = 0; i < 90; ++i) text += "&a" + std::to_string(i) + " [";
  text += Repeat("1, ", 20'000);
  text += Repeat("]", 90);
  auto documents = ParseDocuments(text);
  ASSERT_FALSE(documents.has_value());
  EXPECT_TRUE(Contains(documents.error().message(), "(aliases?)"));
}

TEST(DocumentLimitsTest, LargeOrdinaryInput) {
  // ~4 MiB of ordinary YAML: no budget applies, and it must stay fast (big
  // mappings are appended to, not searched).
  std::string text = "kind: ConfigMap\ndata:\n";
  for (int i = 0; i < 200'000; ++i) text += "  key" + std::to_string(i) + ": \"value\"\n";
  auto documents = ParseDocuments(text);
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ((*documents)[0].value["data"].size(), 200'000u);
}

TEST(DocumentLimitsTest, InputSizeLimit) {
  auto documents = ParseDocuments(std::string((64u << 20) + 1, ' '));
  ASSERT_FALSE(documents.has_value());
  EXPECT_TRUE(Contains(documents.error().message(), "larger than 64 MiB"));
}

TEST(DocumentLimitsTest, AdversarialSnippetsDoNotCrash) {
  // Odd but small inputs: any result is fine as long as it is a result.
  const std::vector<std::string> inputs = {
      "&a",
      "*a",
      "!",
      "!!",
      "!<>",
      "? ",
      ": ",
      "-",
      "- -",
      "[",
      "]",
      "{",
      "}",
      "{]",
      "[}",
      "'",
      "\"",
      "\"\\",
      "\"\\u",
      "\"\\ud800\"",
      "\"\\U0011ffff\"",
      "|",
      "|-",
      "|0",
      "|10\n x",
      ">+",
      "%YAML 1.1\n---\na",
      "%TAG ! tag:x,2000:\n--- !a b",
      "%FOO",
      "...",
      "---\n...\n---",
      "a: &a\n  b: *a",
      "<<: *a",
      "<<: 1",
      "a: !!map 1",
      "!!seq a",
      "!!str [a]",
      "? - a",
      "[a: b]",
      "{? a}",
      "[? a : b]",
      "- ? : x",
      "a:\n- b\n-c",
      "\r",
      "\r\n",
      "a: |\r\n \r\n",
      "\t",
      "a: \"\t\"\n\tb",
      std::string(3000, 'k') + ": 1",
      std::string("a\0", 2),
      "- !!binary |\n  aGk=",
      "0x" + std::string(100, 'f'),
      "1" + std::string(400, '0'),
      "." + std::string(400, '1') + "e-999999999999999999999",
      "1e99999999999999999999",
      "- &a a\n- &a b\n- *a",
      "[*a, &a 1]",
      "{a: 1, a: 1}",
      "\xEF\xBB\xBF\xEF\xBB\xBF",
  };
  for (const std::string& input : inputs) {
    auto documents = ParseDocuments(input);
    if (documents) {
      for (const Document& document : *documents) {
        // Whatever was accepted must be representable.
        (void)document.value.dump();
        (void)ToYaml(document.value);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Files.

class DocumentFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ctask_document_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& file : files_) std::remove(file.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    files_.push_back(path);
    return path;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(DocumentFileTest, ReadsAFile) {
  const std::string path = Write("ok.yaml", "a: 1\n---\nb: 2\n");
  auto documents = ReadDocumentsFile(path);
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ(documents->size(), 2u);
}

TEST_F(DocumentFileTest, MissingFile) {
  const std::string path = dir_ + "/missing.yaml";
  auto documents = ReadDocumentsFile(path);
  ASSERT_FALSE(documents.has_value());
  EXPECT_EQ(documents.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(documents.error().message(), path + ": cannot read: No such file or directory");
}

TEST_F(DocumentFileTest, Directory) {
  auto documents = ReadDocumentsFile(dir_);
  ASSERT_FALSE(documents.has_value());
  EXPECT_EQ(documents.error().message(), dir_ + ": cannot read: Is a directory");
}

TEST_F(DocumentFileTest, TooLarge) {
  const std::string path = Write("big.yaml", std::string(kMaxDocumentFileBytes + 1, '#'));
  auto documents = ReadDocumentsFile(path);
  ASSERT_FALSE(documents.has_value());
  EXPECT_EQ(documents.error().message(), path + ": file is larger than 8 MiB");
}

TEST_F(DocumentFileTest, ExactlyAtTheLimit) {
  const std::string path = Write("edge.yaml", "a: 1\n" + std::string(kMaxDocumentFileBytes - 5, '#'));
  auto documents = ReadDocumentsFile(path);
  ASSERT_TRUE(documents.has_value()) << documents.error().message();
  EXPECT_EQ(documents->size(), 1u);
}

TEST_F(DocumentFileTest, ParseErrorsNameThePath) {
  const std::string path = Write("bad.yaml", "a: 1\n---\nb: 1\nb: 2\n");
  auto documents = ReadDocumentsFile(path);
  ASSERT_FALSE(documents.has_value());
  EXPECT_EQ(documents.error().message(), path + ": doc 2: line 4: duplicate key \"b\" (first at line 3)");
}

// ---------------------------------------------------------------------------
// ToYaml.

// ParseDocuments(ToYaml(v)) must give v back. Reports the YAML on failure.
::testing::AssertionResult RoundTrips(const Json& value) {
  const std::string yaml = ToYaml(value);
  auto documents = ParseDocuments(yaml);
  if (!documents) {
    return ::testing::AssertionFailure() << "does not parse: " << documents.error().message() << "\n" << yaml;
  }
  if (documents->size() != 1 || (*documents)[0].value != value) {
    return ::testing::AssertionFailure() << "differs: " << value.dump(-1, ' ', true) << "\nYAML:\n"
                                         << yaml << "read back: "
                                         << (documents->empty() ? "nothing"
                                                                : (*documents)[0].value.dump(-1, ' ', true));
  }
  return ::testing::AssertionSuccess();
}

TEST(DocumentToYamlTest, WritesKubectlStyle) {
  const Json value = Json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {}},
    "spec": {"replicas": 3, "paused": false, "ratio": 0.5, "x": null,
             "template": {"spec": {"containers": [
               {"name": "nginx", "image": "nginx:1.25", "args": ["--port=80", "-v"],
                "env": [{"name": "A", "value": "true"}, {"name": "B", "value": ""}]}]}},
             "tolerations": [], "matrix": [[1, 2], []],
             "script": "echo hi\nexit 0\n"}})");
  EXPECT_EQ(ToYaml(value),
            "apiVersion: apps/v1\n"
            "kind: Deployment\n"
            "metadata:\n"
            "  name: web\n"
            "  labels:\n"
            "    app: web\n"
            "  annotations: {}\n"
            "spec:\n"
            "  replicas: 3\n"
            "  paused: false\n"
            "  ratio: 0.5\n"
            "  x: null\n"
            "  template:\n"
            "    spec:\n"
            "      containers:\n"
            "      - name: nginx\n"
            "        image: nginx:1.25\n"
            "        args:\n"
            "        - --port=80\n"
            "        - -v\n"
            "        env:\n"
            "        - name: A\n"
            "          value: \"true\"\n"
            "        - name: B\n"
            "          value: \"\"\n"
            "  tolerations: []\n"
            "  matrix:\n"
            "  - - 1\n"
            "    - 2\n"
            "  - []\n"
            "  script: |\n"
            "    echo hi\n"
            "    exit 0\n");
  EXPECT_TRUE(RoundTrips(value));
}

TEST(DocumentToYamlTest, QuotesWhatWouldReadBackDifferently) {
  struct Case {
    std::string text;
    std::string yaml;
  };
  const std::vector<Case> cases = {{"true", "\"true\""},
                                   {"yes", "\"yes\""},
                                   {"n", "\"n\""},
                                   {"null", "\"null\""},
                                   {"~", "\"~\""},
                                   {"", "\"\""},
                                   {"1", "\"1\""},
                                   {"0644", "\"0644\""},
                                   {"1e3", "\"1e3\""},
                                   {"0x1F", "\"0x1F\""},
                                   {".5", "\".5\""},
                                   {".inf", "\".inf\""},
                                   {"1_000", "\"1_000\""},
                                   {"99999999999999999999", "\"99999999999999999999\""},
                                   {" a", "\" a\""},
                                   {"a ", "\"a \""},
                                   {"a: b", "\"a: b\""},
                                   {"a:", "\"a:\""},
                                   {"#x", "\"#x\""},
                                   {"a #b", "\"a #b\""},
                                   {"- x", "\"- x\""},
                                   {"-", "\"-\""},
                                   {"---", "\"---\""},
                                   {"...", "\"...\""},
                                   {"*a", "\"*a\""},
                                   {"&a", "\"&a\""},
                                   {"!a", "\"!a\""},
                                   {"[a]", "\"[a]\""},
                                   {"{a}", "\"{a}\""},
                                   {"'a'", "\"'a'\""},
                                   {"\"a\"", "\"\\\"a\\\"\""},
                                   {"@a", "\"@a\""},
                                   {"%a", "\"%a\""},
                                   {"a\tb", "\"a\\tb\""},
                                   {"a\rb", "\"a\\rb\""},
                                   {std::string("a\0b", 3), "\"a\\0b\""},
                                   {"\x01", "\"\\x01\""},
                                   {"\x7f", "\"\\x7F\""},
                                   {"\u0085", "\"\\x85\""},
                                   {"\u2028", "\"\\u2028\""},
                                   {"\xEF\xBB\xBF", "\"\\uFEFF\""},
                                   {"\xff", "\"\xEF\xBF\xBD\""},  // not UTF-8: replaced
                                   // Plain is fine for these.
                                   {"nginx:1.25", "nginx:1.25"},
                                   {"--flag=x", "--flag=x"},
                                   {"a b", "a b"},
                                   {"café", "café"},
                                   {"a#b", "a#b"},
                                   {"http://x/y?z=1", "http://x/y?z=1"},
                                   {"2001-12-14", "2001-12-14"},
                                   {"1.2.3", "1.2.3"},
                                   {"12:30", "12:30"}};
  for (const Case& c : cases) {
    EXPECT_EQ(ToYaml(Json{{"v", c.text}}), "v: " + c.yaml + "\n") << Json(c.text).dump();
  }
  // Keys follow the same rules, and "<<" must not become a merge key.
  EXPECT_EQ(ToYaml(Json{{"true", 1}, {"<<", 2}, {"a b", 3}}), "\"true\": 1\n\"<<\": 2\na b: 3\n");
}

TEST(DocumentToYamlTest, MultiLineStrings) {
  EXPECT_EQ(ToYaml(Json{{"v", "a\nb"}}), "v: |-\n  a\n  b\n");
  EXPECT_EQ(ToYaml(Json{{"v", "a\n\n"}}), "v: |+\n  a\n\n");
  EXPECT_EQ(ToYaml(Json{{"v", " a\nb\n"}}), "v: |2\n   a\n  b\n");
  EXPECT_EQ(ToYaml(Json{{"v", "a\r\nb"}}), "v: \"a\\r\\nb\"\n");
  EXPECT_EQ(ToYaml(Json{{"v", "\n\n"}}), "v: \"\\n\\n\"\n");
  EXPECT_EQ(ToYaml(Json::array({"x\ny"})), "- |-\n  x\n  y\n");
  EXPECT_EQ(ToYaml(Json("x\ny\n")), "|\n  x\n  y\n");
  EXPECT_EQ(ToYaml(Json(" x\ny\n")), "\" x\\ny\\n\"\n");  // root: no indentation indicator
}

TEST(DocumentToYamlTest, Scalars) {
  EXPECT_EQ(ToYaml(Json(nullptr)), "null\n");
  EXPECT_EQ(ToYaml(Json::object()), "{}\n");
  EXPECT_EQ(ToYaml(Json::array()), "[]\n");
  EXPECT_EQ(ToYaml(Json(1.0)), "1.0\n");
  EXPECT_EQ(ToYaml(Json(std::nan(""))), "null\n");
  EXPECT_EQ(ToYaml(Json(std::numeric_limits<uint64_t>::max())), "18446744073709551615\n");
}

TEST(DocumentToYamlTest, DeepTreesDoNotExhaustTheStack) {
  Json value = Json::array();
  for (int i = 0; i < 200'000; ++i) {
    Json outer = Json::array();
    outer.push_back(std::move(value));
    value = std::move(outer);
  }
  const std::string yaml = ToYaml(value);
  EXPECT_EQ(yaml.size(), 200'000u * 2 + 3);
}

TEST(DocumentToYamlTest, RoundTripsVariedValues) {
  const std::vector<Json> values = {
      Json::parse(R"({"a": {"b": {"c": [1, [2, [3, {"d": []}]], {}]}}})"),
      Json::parse(R"([{"a": 1, "b": [{"c": "x\ny"}, {" k ": "v"}]}, [[["deep"]]], [], {}])"),
      Json::parse(R"({"": "", "\n": "\n", "a\tb": "\u0000", "☃": "雪", "😀": "\ud83d\ude00"})"),
      Json::parse(R"({"n": [0, -1, 9223372036854775807, -9223372036854775808,
                            18446744073709551615, 0.1, -2.5, 1e-7, 1.7976931348623157e308,
                            5e-324, 1e20, 123456.789, 9007199254740993.0, -1e-300]})"),
      Json::parse(R"({"b": [true, false, null, "true", "null", "~", "yes", "Off", "y"]})"),
      Json::parse(R"({"s": ["  lead\nand trail  ", "a\n  \n b", "\ttab\nx", "x\n\t",
                           "- a\n- b", "a: b\nc: d\n", "#!/bin/sh\necho \"$1\"\n",
                           "end\n\n\n", "\n\nstart", " \n", "a\n ", "…\u2029", "\u00a0x\u00a0"]})"),
      Json{{"long", std::string(5000, 'x')}, {std::string(3000, 'k'), std::string(3000, 'v')}},
      Json{{std::string(1500, 'k') + "\n", Json::array({1, Json::array({2})})},
           {std::string(1500, 'q'), Json::array({1})}},
      Json("root string"),
      Json("multi\nline\nroot\n"),
      Json(42),
      Json(-0.5),
      Json(true),
      Json::array({Json::object(), Json::array(), nullptr, ""}),
  };
  for (const Json& value : values) EXPECT_TRUE(RoundTrips(value));
  for (int c = 0; c < 0x20; ++c) {
    const std::string text = "a" + std::string(1, static_cast<char>(c)) + "b";
    EXPECT_TRUE(RoundTrips(Json{{"v", text}, {text, 1}})) << c;
  }
}

// Every string of up to three pieces from an alphabet of troublemakers, as
// values (in a sequence, in a mapping inside a sequence) and as keys.
TEST(DocumentToYamlTest, RoundTripsEveryShortString) {
  const std::vector<std::string> alphabet = {"a",
                                             "0",
                                             "1",
                                             " ",
                                             "-",
                                             ":",
                                             "#",
                                             "'",
                                             "\"",
                                             "\\",
                                             "\n",
                                             "\t",
                                             "\r",
                                             "[",
                                             "{",
                                             "}",
                                             ",",
                                             "?",
                                             "!",
                                             "&",
                                             "*",
                                             "|",
                                             ">",
                                             "%",
                                             "@",
                                             "`",
                                             ".",
                                             "e",
                                             "x",
                                             "~",
                                             "y",
                                             "<",
                                             "\x01",
                                             "\x7f",
                                             "\xc3\xa9",
                                             "\u2028",
                                             "\u0085",
                                             "\xEF\xBB\xBF",
                                             "\xF0\x9F\x98\x80",
                                             "_",
                                             "+"};
  std::vector<std::string> strings = {""};
  for (const std::string& a : alphabet) {
    strings.push_back(a);
    for (const std::string& b : alphabet) {
      const std::string ab = a + b;
      strings.push_back(ab);
      for (const std::string& c : alphabet) strings.push_back(ab + c);
    }
  }
  Json as_values = Json::array();
  Json in_mappings = Json::array();
  Json as_keys = Json::object();
  for (const std::string& s : strings) {
    as_values.push_back(s);
    in_mappings.push_back(Json{{"k", s}, {"l", Json::array({s})}});
    as_keys.get_ref<Json::object_t&>().emplace_back(s, 1);
  }
  // Compare element by element so a failure names the string.
  const auto check = [](const Json& value) {
    auto documents = ParseDocuments(ToYaml(value));
    ASSERT_TRUE(documents.has_value()) << documents.error().message();
    ASSERT_EQ(documents->size(), 1u);
    const Json& back = (*documents)[0].value;
    ASSERT_EQ(back.size(), value.size());
    if (value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        ASSERT_EQ(back[i], value[i]) << value[i].dump();
      }
    } else {
      auto it = back.begin();
      for (const auto& [key, item] : value.items()) {
        ASSERT_EQ(it.key(), key) << Json(key).dump();
        ++it;
      }
    }
  };
  check(as_values);
  check(in_mappings);
  check(as_keys);
  // At the root too (no indentation indicator there).
  for (std::size_t i = 0; i < strings.size(); i += 13) {
    ASSERT_TRUE(RoundTrips(Json(strings[i]))) << Json(strings[i]).dump();
  }
}

}  // namespace
}  // namespace ctask::api
