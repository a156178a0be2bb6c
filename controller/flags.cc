#include "flags.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "util/field_error.h"

namespace ctask::cli {
namespace {

const FlagSpec* FindLong(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const FlagSpec& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const FlagSpec* FindShort(const std::vector<FlagSpec>& specs, char c) {
  for (const FlagSpec& s : specs) {
    if (s.short_name != '\0' && s.short_name == c) return &s;
  }
  return nullptr;
}

}  // namespace

std::string ParsedFlags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return fallback;
  return it->second.back();
}

Result<long> ParsedFlags::Number(const std::string& name, long fallback, long min, long max) const {
  if (!Has(name)) return fallback;
  const std::string text = Get(name);
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max) {
    return InvalidArgument("--" + name + ": \"" + text + "\" is not a whole number from " + std::to_string(min) +
                           " to " + std::to_string(max));
  }
  return value;
}

const std::vector<std::string>& ParsedFlags::All(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = values.find(name);
  return it == values.end() ? kNone : it->second;
}

Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                               const std::string& command) {
  ParsedFlags out;
  const std::string see_help = ": see '" + command + " --help'";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      out.positional.push_back(arg);
      continue;
    }
    const FlagSpec* spec = nullptr;
    std::string shown;  // as the user wrote it, for messages
    std::string inline_value;
    bool has_inline = false;
    if (arg.starts_with("--")) {
      std::string name = arg.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        has_inline = true;
        name = name.substr(0, eq);
      }
      spec = FindLong(specs, name);
      shown = "--" + name;
    } else {
      // -f FILE, -f=FILE, -fFILE
      spec = FindShort(specs, arg[1]);
      shown = arg.substr(0, 2);
      if (arg.size() > 2) {
        inline_value = arg.substr(arg[2] == '=' ? 3 : 2);
        has_inline = true;
      }
    }
    if (spec == nullptr) {
      return InvalidArgument("unknown flag " + QuoteValue(shown) + " for \"" + command + "\"" + see_help);
    }
    if (!spec->takes_value) {
      if (has_inline && inline_value != "true" && inline_value != "false") {
        return InvalidArgument("flag " + shown + " takes no value (or =true/=false)" + see_help);
      }
      if (has_inline && inline_value == "false") {
        out.values.erase(spec->name);
      } else {
        out.values[spec->name].push_back("true");
      }
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= args.size()) {
        return InvalidArgument("flag " + shown + " needs a value (" + spec->value_name + ")" + see_help);
      }
      inline_value = args[++i];
    }
    out.values[spec->name].push_back(inline_value);
  }
  return out;
}

OrExit<ParsedFlags> ParseCommandFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                                      const std::string& command, std::string_view help, std::ostream& out,
                                      std::ostream& err) {
  Result<ParsedFlags> flags = ParseFlags(args, specs, command);
  if (!flags) {
    err << command << ": " << flags.error().message() << "\n";
    return std::unexpected(kExitUsage);
  }
  if (flags->Has("help")) {
    out << help << FlagsHelp(specs);
    return std::unexpected(kExitOk);
  }
  return std::move(*flags);
}

std::string FlagsHelp(const std::vector<FlagSpec>& specs) {
  // One column for the help texts, wide enough for the longest flag (at
  // least 32, as before), so they line up as in kubectl's help.
  auto left_of = [](const FlagSpec& s) {
    std::string left = "  ";
    left += s.short_name != '\0' ? std::string("-") + s.short_name + ", " : "    ";
    left += "--" + s.name;
    if (s.takes_value) left += " " + s.value_name;
    return left;
  };
  size_t width = 32;
  for (const FlagSpec& s : specs) {
    if (!s.help.empty()) width = std::max(width, left_of(s).size() + 2);
  }
  std::string out = "Flags:\n";
  for (const FlagSpec& s : specs) {
    if (s.help.empty()) continue;  // hidden (for tests)
    std::string left = left_of(s);
    left.resize(width, ' ');
    out += left + s.help + "\n";
  }
  return out;
}

}  // namespace ctask::cli
