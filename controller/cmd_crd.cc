// `ctask crd`: the CustomResourceDefinitions (ContainerTask, TaskQueue), generated from the schema the
// binary validates with, so `ctask crd | kubectl apply -f -` installs exactly
// the API this binary speaks. crds/ holds the same text (checked by test).
#include "api/document.h"
#include "api/schema.h"
#include "cli.h"
#include "flags.h"

namespace ctask::cli {

constexpr const char* kCrdHelp =
    "Print the ContainerTask and TaskQueue CustomResourceDefinitions.\n\nUsage:\n  ctask crd [-o yaml|json]\n\n"
    "Example:\n  ctask crd | kubectl apply -f -\n\n";

int RunCrd(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = {
      {"output", 'o', true, "FORMAT", "yaml (default) or json"},
      {"help", 'h', false, "", "Show this help"},
  };
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, specs, "ctask crd", kCrdHelp, out, err);
  if (!flags) return flags.error();
  const std::string format = flags->Get("output", "yaml");
  if (format == "yaml") {
    out << api::ToYaml(api::ContainerTaskCrd()) << "---\n" << api::ToYaml(api::TaskQueueCrd());
  } else if (format == "json") {
    api::Json list = {
        {"apiVersion", "v1"}, {"kind", "List"}, {"items", {api::ContainerTaskCrd(), api::TaskQueueCrd()}}};
    out << list.dump(2) << "\n";
  } else {
    err << "ctask crd: --output must be yaml or json\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace ctask::cli
