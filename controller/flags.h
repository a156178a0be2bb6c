// A small command-line flag parser, kubectl-style: `-f FILE`, `-f=FILE`,
// `--filename FILE`, `--filename=FILE`, repeatable flags, boolean flags, and
// `--` to end flags. No dependency, no global state: each command declares
// its flags and gets back what was given, or an error a user can act on.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "util/error.h"

namespace ctask::cli {

struct FlagSpec {
  std::string name;        // long name, without "--"
  char short_name = '\0';  // one letter, or '\0'
  bool takes_value = true;
  std::string value_name;  // "FILE", for help
  std::string help;
};

struct ParsedFlags {
  std::map<std::string, std::vector<std::string>> values;  // by long name; booleans hold "true"
  std::vector<std::string> positional;

  bool Has(const std::string& name) const { return values.contains(name); }
  // The last value given, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& All(const std::string& name) const;
  // The whole number given for `name` (or `fallback` when absent), checked
  // to lie in [min, max]; the error names the flag and the range.
  Result<long> Number(const std::string& name, long fallback, long min, long max) const;
};

// `command` names the command in errors ("ctask validate").
Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                               const std::string& command);

// ParseFlags as a command starts: a parse error is reported on `err` as
// "COMMAND: message" (kExitUsage), and --help prints `help` and then the
// "Flags:" section on `out` (kExitOk). The specs must declare "help".
OrExit<ParsedFlags> ParseCommandFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                                      const std::string& command, std::string_view help, std::ostream& out,
                                      std::ostream& err);

// The "Flags:" section of a command's help; flags with no help text are
// hidden (they exist for tests).
std::string FlagsHelp(const std::vector<FlagSpec>& specs);

}  // namespace ctask::cli
