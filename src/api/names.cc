#include "api/names.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>

namespace ctask::api {
namespace {

// Kubernetes' regexes and messages, kept verbatim so that our errors read like
// the API server's.
constexpr std::string_view kDNS1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDNS1123LabelErrMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character";
constexpr std::string_view kDNS1123SubdomainFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr std::string_view kDNS1123SubdomainErrMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kCIdentifierFmt = "[A-Za-z_][A-Za-z0-9_]*";
constexpr std::string_view kCIdentifierErrMsg =
    "a valid C identifier must start with alphabetic character or '_', followed by a string of "
    "alphanumeric characters or '_'";
constexpr std::string_view kEnvVarNameFmt = "[-._a-zA-Z][-._a-zA-Z0-9]*";
constexpr std::string_view kEnvVarNameErrMsg =
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
    "or '.', and must not start with a digit";
constexpr std::string_view kLabelKeyFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kLabelKeyErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr std::string_view kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kLabelValueErrMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kConfigMapKeyFmt = "[-._a-zA-Z0-9]+";
constexpr std::string_view kConfigMapKeyErrMsg =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

// Kubernetes' RegexError, including its spacing: "msg (e.g. 'a',  or 'b',
// regex used for validation is 'fmt')".
std::string RegexError(std::string_view msg, std::string_view fmt, std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  out += " (e.g. ";
  bool first = true;
  for (std::string_view example : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'";
    out += example;
    out += "', ";
  }
  out += "regex used for validation is '";
  out += fmt;
  out += "')";
  return out;
}

std::string MaxLenError(size_t length) {
  return "must be no more than " + std::to_string(length) + " characters";
}

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAlnum(char c) {
  return IsAlpha(c) || IsDigit(c);
}

template <typename Pred>
bool AllOf(std::string_view value, Pred pred) {
  return std::all_of(value.begin(), value.end(), pred);
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool MatchesLabel(std::string_view value) {
  return !value.empty() && IsLowerAlnum(value.front()) && IsLowerAlnum(value.back()) &&
         AllOf(value, [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

// Labels joined by single dots.
bool MatchesSubdomain(std::string_view value) {
  while (true) {
    size_t dot = value.find('.');
    if (!MatchesLabel(value.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    value.remove_prefix(dot + 1);
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesLabelKeyName(std::string_view value) {
  return !value.empty() && IsAlnum(value.front()) && IsAlnum(value.back()) &&
         AllOf(value, [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool IsEnvOrKeyChar(char c) {
  return IsAlnum(c) || c == '-' || c == '_' || c == '.';
}

// Kubernetes' hasChDirPrefix: such keys become file names in volumes.
void AppendChDirErrors(std::string_view value, std::vector<std::string>& errs) {
  if (value == ".") {
    errs.push_back("must not be '.'");
  } else if (value == "..") {
    errs.push_back("must not be '..'");
  } else if (value.starts_with("..")) {
    errs.push_back("must not start with '..'");
  }
}

// 64-bit FNV-1a: tiny, stable across platforms, good spread for short names.
class Fnv1a64 {
 public:
  void Add(std::string_view data) {
    for (unsigned char c : data) {
      hash_ ^= c;
      hash_ *= 1099511628211ULL;
    }
  }
  // Eight lowercase hex digits of the hash folded to 32 bits.
  std::string Hex8() const {
    uint32_t folded = static_cast<uint32_t>(hash_ ^ (hash_ >> 32));
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(8, '0');
    for (int i = 7; i >= 0; --i) {
      out[static_cast<size_t>(i)] = kHex[folded & 0xf];
      folded >>= 4;
    }
    return out;
  }

 private:
  uint64_t hash_ = 14695981039346656037ULL;
};

// Up to `max_length` characters of `value` made into a label fragment:
// lowercased, everything outside [a-z0-9] turned into '-', no leading or
// trailing '-'. Reads only as much of `value` as it needs.
std::string LabelFragment(std::string_view value, size_t max_length) {
  std::string out;
  for (char c : value) {
    if (out.size() == max_length) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!IsLowerAlnum(c)) c = '-';
    if (out.empty() && c == '-') continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

bool IsDockerNameChar(char c) {
  return IsAlnum(c) || c == '_' || c == '.' || c == '-';
}

// Up to `max_length` characters of `value`, with characters Docker does not
// allow in names turned into '-'.
std::string DockerFragment(std::string_view value, size_t max_length) {
  std::string out(value.substr(0, max_length));
  for (char& c : out) {
    if (!IsDockerNameChar(c)) c = '-';
  }
  return out;
}

}  // namespace

std::vector<std::string> IsDNS1123Label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDNS1123LabelMaxLength) errs.push_back(MaxLenError(kDNS1123LabelMaxLength));
  if (!MatchesLabel(value)) {
    if (MatchesSubdomain(value)) {
      // A valid subdomain but not a label: the dots are the only problem.
      errs.push_back("must not contain dots");
    } else {
      errs.push_back(RegexError(kDNS1123LabelErrMsg, kDNS1123LabelFmt, {"my-name", "123-abc"}));
    }
  }
  return errs;
}

std::vector<std::string> IsDNS1123Subdomain(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDNS1123SubdomainMaxLength) {
    errs.push_back(MaxLenError(kDNS1123SubdomainMaxLength));
  }
  if (!MatchesSubdomain(value)) {
    errs.push_back(RegexError(kDNS1123SubdomainErrMsg, kDNS1123SubdomainFmt, {"example.com"}));
  }
  return errs;
}

std::vector<std::string> IsCIdentifier(std::string_view value) {
  bool ok = !value.empty() && (IsAlpha(value.front()) || value.front() == '_') &&
            AllOf(value, [](char c) { return IsAlnum(c) || c == '_'; });
  if (ok) return {};
  return {RegexError(kCIdentifierErrMsg, kCIdentifierFmt, {"my_name", "MY_NAME", "MyName"})};
}

std::vector<std::string> IsEnvVarName(std::string_view value) {
  std::vector<std::string> errs;
  bool ok = !value.empty() && !IsDigit(value.front()) && AllOf(value, IsEnvOrKeyChar);
  if (!ok) {
    errs.push_back(RegexError(kEnvVarNameErrMsg, kEnvVarNameFmt, {"my.env-name", "MY_ENV.NAME", "MyEnvName1"}));
  }
  AppendChDirErrors(value, errs);
  return errs;
}

std::vector<std::string> IsQualifiedName(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name = value;
  size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back("a valid label key " +
                     RegexError(kLabelKeyErrMsg, kLabelKeyFmt, {"MyName", "my.name", "123-abc"}) +
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const std::string& msg : IsDNS1123Subdomain(prefix)) {
        errs.push_back("prefix part " + msg);
      }
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errs.push_back("name part " + MaxLenError(kQualifiedNameMaxLength));
  }
  if (!MatchesLabelKeyName(name)) {
    errs.push_back("name part " + RegexError(kLabelKeyErrMsg, kLabelKeyFmt, {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> IsValidLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) errs.push_back(MaxLenError(kLabelValueMaxLength));
  if (!value.empty() && !MatchesLabelKeyName(value)) {
    errs.push_back(RegexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

std::vector<std::string> IsConfigMapKey(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDNS1123SubdomainMaxLength) {
    errs.push_back(MaxLenError(kDNS1123SubdomainMaxLength));
  }
  if (value.empty() || !AllOf(value, IsEnvOrKeyChar)) {
    errs.push_back(RegexError(kConfigMapKeyErrMsg, kConfigMapKeyFmt, {"key.name", "KEY_NAME", "key-name"}));
  }
  AppendChDirErrors(value, errs);
  return errs;
}

namespace {

// The workload suffix of an attempt: "-<attempt>" for a task's own,
// "-i<index>-a<attempt>" for an item's. A task's ends in a digit, an item's
// in "-a<digits>" after "-i<digits>", so neither can be the other's, nor
// one item's another's.
std::string AttemptSuffix(int attempt, std::optional<int> item) {
  std::string suffix = "-" + std::to_string(std::max(attempt, 1));
  if (item) suffix = "-i" + std::to_string(std::max(*item, 0)) + "-a" + suffix.substr(1);
  return suffix;
}

}  // namespace

std::string DerivedJobName(std::string_view task_name, int attempt, std::optional<int> item) {
  std::string suffix = AttemptSuffix(attempt, item);
  if (task_name.size() + suffix.size() <= kDNS1123LabelMaxLength) {
    std::string direct = std::string(task_name) + suffix;
    if (MatchesLabel(direct)) return direct;
  }
  Fnv1a64 hash;
  hash.Add(task_name);
  std::string tail = hash.Hex8() + suffix;
  // tail is at most 8 + 11 characters, so the prefix keeps at least 43.
  std::string prefix = LabelFragment(task_name, kDNS1123LabelMaxLength - tail.size() - 1);
  return prefix.empty() ? tail : prefix + "-" + tail;
}

std::string DerivedContainerName(std::string_view ns, std::string_view task_name, int attempt,
                                 std::optional<int> item) {
  constexpr std::string_view kPrefix = "ctask";
  std::string suffix = AttemptSuffix(attempt, item);
  bool direct = !ns.empty() && !task_name.empty() && ns.find('-') == std::string_view::npos &&
                AllOf(ns, IsDockerNameChar) && AllOf(task_name, IsDockerNameChar) &&
                kPrefix.size() + 1 + ns.size() + 1 + task_name.size() + suffix.size() <= kContainerNameMaxLength;
  if (direct) {
    std::string name(kPrefix);
    name += "-";
    name += ns;
    name += "-";
    name += task_name;
    name += suffix;
    return name;
  }
  // Length-prefix the namespace so that ("ab", "c") and ("a", "bc") differ.
  Fnv1a64 hash;
  hash.Add(std::to_string(ns.size()));
  hash.Add(":");
  hash.Add(ns);
  hash.Add(task_name);
  std::string tail = "-" + hash.Hex8() + suffix;
  // At least 128 - 5 - 20 = 103 characters remain for "-<ns>-<task>".
  size_t budget = kContainerNameMaxLength - kPrefix.size() - tail.size();
  std::string ns_part = DockerFragment(ns, std::min(kDNS1123LabelMaxLength, budget / 2));
  std::string name(kPrefix);
  if (!ns_part.empty()) {
    name += "-";
    name += ns_part;
  }
  size_t task_room = kContainerNameMaxLength - tail.size() - name.size();
  if (task_room > 1 && !task_name.empty()) {
    name += "-";
    name += DockerFragment(task_name, task_room - 1);
  }
  name += tail;
  return name;
}

}  // namespace ctask::api
