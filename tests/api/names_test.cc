// Name rules checked against k8s.io/apimachinery/pkg/util/validation, and the
// derived Job and container names checked to always satisfy them.

#include "api/names.h"

#include <gtest/gtest.h>

// GCC 12 under ASan warns falsely (maybe-uninitialized) inside <regex>.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ctask::api {
namespace {

using Validator = std::vector<std::string> (*)(std::string_view);

struct NameCase {
  const char* function;
  Validator validate;
  std::string input;
  bool valid;
};

std::string Repeat(char c, size_t n) {
  return std::string(n, c);
}

// A subdomain of exactly `length` characters: 63-character labels joined by dots.
std::string SubdomainOfLength(size_t length) {
  std::string out;
  while (out.size() < length) {
    if (!out.empty()) out += '.';
    size_t room = length - out.size();
    // Leave at least two characters for a final label, never one after a dot.
    size_t label = std::min<size_t>(63, room);
    if (room > 63 && room - 63 < 2) label = 61;
    out += Repeat('a', label);
  }
  return out;
}

#define CASE(fn, input, valid)   \
  NameCase {                     \
    #fn, &(fn), (input), (valid) \
  }

const std::vector<NameCase>& Cases() {
  static const std::vector<NameCase> cases = {
      // IsDNS1123Label
      CASE(IsDNS1123Label, "a", true),
      CASE(IsDNS1123Label, "0", true),
      CASE(IsDNS1123Label, "my-name", true),
      CASE(IsDNS1123Label, "123-abc", true),
      CASE(IsDNS1123Label, "a--b", true),
      CASE(IsDNS1123Label, Repeat('a', 63), true),
      CASE(IsDNS1123Label, Repeat('a', 64), false),
      CASE(IsDNS1123Label, "", false),
      CASE(IsDNS1123Label, "-a", false),
      CASE(IsDNS1123Label, "a-", false),
      CASE(IsDNS1123Label, "A", false),
      CASE(IsDNS1123Label, "a_b", false),
      CASE(IsDNS1123Label, "a.b", false),
      CASE(IsDNS1123Label, "a b", false),
      CASE(IsDNS1123Label, "a\n", false),
      CASE(IsDNS1123Label, "\xc3\xa9", false),
      // IsDNS1123Subdomain
      CASE(IsDNS1123Subdomain, "example.com", true),
      CASE(IsDNS1123Subdomain, "a", true),
      CASE(IsDNS1123Subdomain, "a.b.c", true),
      CASE(IsDNS1123Subdomain, "0.0", true),
      CASE(IsDNS1123Subdomain, Repeat('a', 100), true),  // labels here have no 63 cap
      CASE(IsDNS1123Subdomain, SubdomainOfLength(253), true),
      CASE(IsDNS1123Subdomain, SubdomainOfLength(254), false),
      CASE(IsDNS1123Subdomain, "", false),
      CASE(IsDNS1123Subdomain, ".a", false),
      CASE(IsDNS1123Subdomain, "a.", false),
      CASE(IsDNS1123Subdomain, "a..b", false),
      CASE(IsDNS1123Subdomain, "a.-b", false),
      CASE(IsDNS1123Subdomain, "a-.b", false),
      CASE(IsDNS1123Subdomain, "Example.com", false),
      CASE(IsDNS1123Subdomain, "a_b.com", false),
      // IsCIdentifier
      CASE(IsCIdentifier, "my_name", true),
      CASE(IsCIdentifier, "MY_NAME", true),
      CASE(IsCIdentifier, "_", true),
      CASE(IsCIdentifier, "a1", true),
      CASE(IsCIdentifier, Repeat('a', 1000), true),
      CASE(IsCIdentifier, "", false),
      CASE(IsCIdentifier, "1a", false),
      CASE(IsCIdentifier, "a-b", false),
      CASE(IsCIdentifier, "a.b", false),
      // IsEnvVarName
      CASE(IsEnvVarName, "MY_ENV.NAME", true),
      CASE(IsEnvVarName, "my.env-name", true),
      CASE(IsEnvVarName, "MyEnvName1", true),
      CASE(IsEnvVarName, "_", true),
      CASE(IsEnvVarName, "-", true),
      CASE(IsEnvVarName, ".a", true),
      CASE(IsEnvVarName, "a..", true),
      CASE(IsEnvVarName, "", false),
      CASE(IsEnvVarName, "1A", false),
      CASE(IsEnvVarName, "A=B", false),
      CASE(IsEnvVarName, "A B", false),
      CASE(IsEnvVarName, ".", false),
      CASE(IsEnvVarName, "..", false),
      CASE(IsEnvVarName, "..a", false),
      // IsQualifiedName
      CASE(IsQualifiedName, "simple", true),
      CASE(IsQualifiedName, "now-with-dashes", true),
      CASE(IsQualifiedName, "1-starts-with-num", true),
      CASE(IsQualifiedName, "1234", true),
      CASE(IsQualifiedName, "simple/simple", true),
      CASE(IsQualifiedName, "now-with-dashes/simple", true),
      CASE(IsQualifiedName, "example.com/MyName", true),
      CASE(IsQualifiedName, "a-b.c-d/E_F.G-H", true),
      CASE(IsQualifiedName, "a_b.com/name", false),
      CASE(IsQualifiedName, Repeat('a', 63), true),
      CASE(IsQualifiedName, SubdomainOfLength(253) + "/" + Repeat('b', 63), true),
      CASE(IsQualifiedName, Repeat('a', 64), false),
      CASE(IsQualifiedName, SubdomainOfLength(254) + "/b", false),
      CASE(IsQualifiedName, "", false),
      CASE(IsQualifiedName, "/", false),
      CASE(IsQualifiedName, "/b", false),
      CASE(IsQualifiedName, "a/", false),
      CASE(IsQualifiedName, "a/b/c", false),
      CASE(IsQualifiedName, "Example.com/b", false),
      CASE(IsQualifiedName, "-a", false),
      CASE(IsQualifiedName, "a_", false),
      CASE(IsQualifiedName, "a b", false),
      // IsValidLabelValue
      CASE(IsValidLabelValue, "", true),
      CASE(IsValidLabelValue, "MyValue", true),
      CASE(IsValidLabelValue, "my_value", true),
      CASE(IsValidLabelValue, "12345", true),
      CASE(IsValidLabelValue, "a.b-c_d", true),
      CASE(IsValidLabelValue, Repeat('a', 63), true),
      CASE(IsValidLabelValue, Repeat('a', 64), false),
      CASE(IsValidLabelValue, "-a", false),
      CASE(IsValidLabelValue, "a.", false),
      CASE(IsValidLabelValue, "a/b", false),
      CASE(IsValidLabelValue, "a b", false),
      // IsConfigMapKey
      CASE(IsConfigMapKey, "key.name", true),
      CASE(IsConfigMapKey, "KEY_NAME", true),
      CASE(IsConfigMapKey, "key-name", true),
      CASE(IsConfigMapKey, ".key", true),
      CASE(IsConfigMapKey, "a..", true),
      CASE(IsConfigMapKey, "-", true),
      CASE(IsConfigMapKey, Repeat('a', 253), true),
      CASE(IsConfigMapKey, Repeat('a', 254), false),
      CASE(IsConfigMapKey, "", false),
      CASE(IsConfigMapKey, ".", false),
      CASE(IsConfigMapKey, "..", false),
      CASE(IsConfigMapKey, "..key", false),
      CASE(IsConfigMapKey, "a/b", false),
      CASE(IsConfigMapKey, "a b", false),
  };
  return cases;
}

TEST(NamesTest, ValidatorsMatchKubernetes) {
  for (const NameCase& c : Cases()) {
    std::vector<std::string> errs = c.validate(c.input);
    EXPECT_EQ(errs.empty(), c.valid) << c.function << "(\"" << c.input.substr(0, 80)
                                     << "\"): " << (errs.empty() ? "" : errs.front());
    for (const std::string& err : errs) {
      // Messages describe the rule; they never echo the value.
      if (c.input.size() > 3) {
        EXPECT_EQ(err.find(c.input), std::string::npos) << err;
      }
    }
  }
}

TEST(NamesTest, MessagesUseKubernetesWording) {
  EXPECT_EQ(IsDNS1123Label("My_Name"),
            std::vector<std::string>{"a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                                     "or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
                                     "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"});
  EXPECT_EQ(IsDNS1123Label("a.b"), std::vector<std::string>{"must not contain dots"});
  std::vector<std::string> long_label = IsDNS1123Label(Repeat('a', 64));
  EXPECT_EQ(long_label, std::vector<std::string>{"must be no more than 63 characters"});
  std::vector<std::string> empty_key = IsQualifiedName("/");
  ASSERT_EQ(empty_key.size(), 3u);
  EXPECT_EQ(empty_key[0], "prefix part must be non-empty");
  EXPECT_EQ(empty_key[1], "name part must be non-empty");
  EXPECT_TRUE(empty_key[2].starts_with("name part must consist of alphanumeric characters"));
  std::vector<std::string> dot_key = IsConfigMapKey("..");
  EXPECT_EQ(dot_key, std::vector<std::string>{"must not be '..'"});
}

bool IsDockerName(const std::string& name) {
  static const std::regex kDocker("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  return std::regex_match(name, kDocker);
}

TEST(NamesTest, DerivedJobNameKeepsShortValidNames) {
  EXPECT_EQ(DerivedJobName("hello", 1), "hello-1");
  EXPECT_EQ(DerivedJobName("hello", 12), "hello-12");
  EXPECT_EQ(DerivedJobName("hello", 0), "hello-1");  // clamped
  EXPECT_EQ(DerivedJobName("hello", -7), "hello-1");
  EXPECT_EQ(DerivedJobName(Repeat('a', 61), 1), Repeat('a', 61) + "-1");  // exactly 63
}

TEST(NamesTest, DerivedJobNameHashesWhatDoesNotFit) {
  // Pinned (values checked with an independent FNV-1a): changing the hash
  // renames the Jobs of tasks already running.
  EXPECT_EQ(DerivedJobName(Repeat('a', 62), 1), Repeat('a', 52) + "-2ad76cab-1");
  EXPECT_EQ(DerivedJobName("my.task", 3), "my-task-2273625b-3");
  EXPECT_EQ(DerivedJobName("", 1), "4fd0bfc1-1");
  EXPECT_EQ(DerivedJobName("...", 1), "1b922c0e-1");
  std::string name = DerivedJobName("My.Task_" + Repeat('x', 300) + "-.", 2147483647);
  EXPECT_TRUE(IsDNS1123Label(name).empty()) << name;
  EXPECT_TRUE(name.starts_with("my-task-xxx")) << name;
  EXPECT_TRUE(name.ends_with("-2147483647")) << name;
  // Names sharing a long prefix stay distinct.
  EXPECT_NE(DerivedJobName(Repeat('a', 100) + "x", 1), DerivedJobName(Repeat('a', 100) + "y", 1));
  // A dotted name never collides with its dashed twin.
  EXPECT_NE(DerivedJobName("a.b", 1), DerivedJobName("a-b", 1));
}

// Random names over a hostile alphabet, fixed seed: every result is a valid
// label, deterministic, and distinct names give distinct results.
TEST(NamesTest, DerivedJobNameIsAlwaysAValidDistinctLabel) {
  constexpr std::string_view kAlphabet = "abcz09-.-.AZ_ /\xc3\xa9";
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> length(0, 300);
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::uniform_int_distribution<int> attempt(-2, 100000);
  std::map<std::string, std::string> seen;  // result -> input
  for (int i = 0; i < 20000; ++i) {
    std::string task;
    for (size_t n = length(rng); n > 0; --n) task += kAlphabet[pick(rng)];
    int a = attempt(rng);
    std::string name = DerivedJobName(task, a);
    ASSERT_TRUE(IsDNS1123Label(name).empty()) << "\"" << task << "\" -> " << name;
    ASSERT_EQ(name, DerivedJobName(task, a));
    std::string key = task + "\x01" + std::to_string(std::max(a, 1));
    auto [it, inserted] = seen.emplace(name, key);
    EXPECT_TRUE(inserted || it->second == key) << name << " from two inputs";
  }
}

TEST(NamesTest, DerivedContainerName) {
  EXPECT_EQ(DerivedContainerName("default", "hello", 1), "ctask-default-hello-1");
  EXPECT_EQ(DerivedContainerName("default", "my.task", 2), "ctask-default-my.task-2");
  EXPECT_EQ(DerivedContainerName("default", "hello", 0), "ctask-default-hello-1");
  // A namespace with '-' would make the name ambiguous, so it gets a hash.
  EXPECT_NE(DerivedContainerName("a", "b-c", 1), DerivedContainerName("a-b", "c", 1));
  std::string hashed = DerivedContainerName("kube-system", "hello", 1);
  EXPECT_TRUE(hashed.starts_with("ctask-kube-system-hello-")) << hashed;
  EXPECT_TRUE(IsDockerName(hashed)) << hashed;
  // Length-prefixed hashing keeps ("ab", "c") and ("a", "bc") apart.
  EXPECT_NE(DerivedContainerName("a-b", "c", 1), DerivedContainerName("a", "-bc", 1));
  std::string empty = DerivedContainerName("", "", 1);
  EXPECT_TRUE(IsDockerName(empty)) << empty;
}

TEST(NamesTest, DerivedContainerNameIsAlwaysValidAndBounded) {
  constexpr std::string_view kAlphabet = "abz09-._AZ /:\xc3\xa9";
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> length(0, 200);
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::map<std::string, std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    std::string ns, task;
    for (size_t n = length(rng) / 3; n > 0; --n) ns += kAlphabet[pick(rng)];
    for (size_t n = length(rng); n > 0; --n) task += kAlphabet[pick(rng)];
    std::string name = DerivedContainerName(ns, task, 2147483647);
    ASSERT_LE(name.size(), kContainerNameMaxLength) << name;
    ASSERT_TRUE(IsDockerName(name)) << name;
    ASSERT_EQ(name, DerivedContainerName(ns, task, 2147483647));
    std::string key = std::to_string(ns.size());
    key += ":";
    key += ns;
    key += task;
    auto [it, inserted] = seen.emplace(name, key);
    EXPECT_TRUE(inserted || it->second == key) << name << " from two inputs";
  }
}

}  // namespace
}  // namespace ctask::api
