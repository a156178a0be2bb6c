#include "cli.h"

#include <functional>
#include <map>

#include "util/field_error.h"

namespace ctask::cli {
namespace {

struct Command {
  std::function<int(const std::vector<std::string>&, std::ostream&, std::ostream&)> run;
  const char* summary;
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> kCommands = {
      {"validate", {RunValidate, "Check ContainerTask manifests and report every problem"}},
      {"render", {RunRender, "Show the Job (Kubernetes) or container (Docker) a task becomes"}},
      {"crd", {RunCrd, "Print the ContainerTask CustomResourceDefinition"}},
      {"get", {RunGet, "Show the tasks in the local state directory"}},
      {"logs", {RunLogs, "Print a task's log from the local state directory"}},
      {"run", {RunRun, "Run tasks through the local Docker daemon and show what happened"}},
      {"operator", {RunOperator, "Keep a directory of tasks and their containers in agreement"}},
      {"delete", {RunDelete, "Stop a task and remove it, its containers and its log"}},
      {"version", {RunVersion, "Print the version"}},
  };
  return kCommands;
}

std::string Usage() {
  std::string out =
      "ctask runs containers to completion and tells you exactly what happened.\n"
      "\n"
      "Usage:\n"
      "  ctask COMMAND [flags]\n"
      "\n"
      "Commands:\n";
  for (const auto& [name, command] : Commands()) {
    std::string left = "  " + name;
    left.resize(14, ' ');
    out += left + command.summary + "\n";
  }
  out += "\nRun 'ctask COMMAND --help' for a command's flags.\n";
  return out;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << Usage();
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    out << Usage();
    return kExitOk;
  }
  if (name == "--version") return RunVersion({}, out, err);
  auto it = Commands().find(name);
  if (it == Commands().end()) {
    err << "ctask: unknown command " << QuoteValue(name) << ": run 'ctask --help' for the commands\n";
    return kExitUsage;
  }
  return it->second.run(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
}

}  // namespace ctask::cli
