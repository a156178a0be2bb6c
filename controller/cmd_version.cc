// `ctask version`: the build's version and the API it serves.
#include "cli.h"
#include "flags.h"

#ifndef CTASK_VERSION
#define CTASK_VERSION "unknown"
#endif

namespace ctask::cli {

int RunVersion(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = {{"help", 'h', false, "", "Show this help"}};
  Result<ParsedFlags> flags = ParseFlags(args, specs, "ctask version");
  if (!flags) {
    err << "ctask version: " << flags.error().message() << "\n";
    return kExitUsage;
  }
  if (flags->Has("help")) {
    out << "Print the version of ctask and the API version it serves.\n\nUsage:\n  ctask version\n\n"
        << FlagsHelp(specs);
    return kExitOk;
  }
  if (!flags->positional.empty()) {
    err << "ctask version: takes no arguments\n";
    return kExitUsage;
  }
  out << "ctask " << CTASK_VERSION << " (API ctask.io/v1alpha1)\n";
  return kExitOk;
}

}  // namespace ctask::cli
