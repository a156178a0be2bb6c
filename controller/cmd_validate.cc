// `ctask validate -f FILE...`: load every document of every file and report
// every problem, one line each, as FILE: doc N: KIND/NAME: FIELD: message.
#include <map>
#include <string>
#include <utility>

#include "api/manifest.h"
#include "api/validate.h"
#include "cli.h"
#include "flags.h"

namespace ctask::cli {
namespace {

// The same task (namespace and name) given twice: `kubectl apply` of these
// files makes the later document an update of the earlier one, so the API
// server's update rules (spec.cancel is one-way) are checked here too, and
// client and server refuse the same input.
void CheckRepeatedTasks(api::Manifests& manifests) {
  std::map<std::pair<std::string, std::string>, const api::LoadedTask*> earlier;
  std::vector<api::ManifestProblem> problems;
  for (const api::LoadedTask& t : manifests.tasks) {
    auto key = std::make_pair(t.task.metadata.namespace_, t.task.metadata.name);
    auto [it, first] = earlier.try_emplace(key, &t);
    if (!first) {
      for (FieldError& e : api::ValidateUpdate(it->second->task.spec, t.task.spec)) {
        problems.push_back({t.source, "ContainerTask/" + t.task.metadata.name, std::move(e)});
      }
      it->second = &t;
    }
  }
  for (api::ManifestProblem& p : problems) manifests.problems.push_back(std::move(p));
}

}  // namespace

constexpr const char* kValidateHelp =
    "Check ContainerTask manifests (and the Secrets and ConfigMaps given with them).\n"
    "Reports every problem, one per line, as FILE: doc N: KIND/NAME: FIELD: message.\n\n"
    "Usage:\n  ctask validate -f FILE [-f FILE...]\n\n"
    "Exit status: 0 when all are valid, 1 when any problem is found, 2 on bad usage.\n\n";

int RunValidate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<FlagSpec> specs = {
      {"filename", 'f', true, "FILE", "Manifest file (YAML or JSON; - for stdin); repeatable"},
      {"quiet", 'q', false, "", "Print nothing when everything is valid"},
      {"help", 'h', false, "", "Show this help"},
  };
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, specs, "ctask validate", kValidateHelp, out, err);
  if (!flags) return flags.error();
  if (!flags->positional.empty()) {
    err << "ctask validate: unexpected argument \"" << flags->positional[0]
        << "\": name files with -f (e.g. ctask validate -f task.yaml)\n";
    return kExitUsage;
  }
  const std::vector<std::string>& files = flags->All("filename");
  if (files.empty()) {
    err << "ctask validate: no input: name a manifest with -f FILE\n";
    return kExitUsage;
  }
  api::Manifests manifests = api::LoadManifestFiles(files);
  CheckRepeatedTasks(manifests);
  for (const api::ManifestProblem& problem : manifests.problems) out << problem.ToString() << "\n";
  if (!manifests.ok()) return kExitInvalid;
  if (!flags->Has("quiet")) {
    for (const api::LoadedTask& t : manifests.tasks) {
      out << t.source.file << ": doc " << t.source.document << ": ContainerTask/" << t.task.metadata.name
          << ": valid\n";
    }
    if (manifests.tasks.empty()) {
      out << "no ContainerTask found (" << manifests.configs.size() << " Secret/ConfigMap documents are valid)\n";
    }
  }
  return kExitOk;
}

}  // namespace ctask::cli
