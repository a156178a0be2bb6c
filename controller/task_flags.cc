#include "task_flags.h"

#include <vector>

#include "api/names.h"
#include "store/file_store.h"
#include "util/field_error.h"

namespace ctask::cli {

bool CheckNamespace(std::string_view command, const std::string& ns, std::ostream& err) {
  const std::vector<std::string> problems = api::IsDNS1123Label(ns);
  if (problems.empty()) return true;
  err << command << ": --namespace " << QuoteValue(ns) << " is not a namespace: " << problems.front() << "\n";
  return false;
}

bool CheckTaskName(std::string_view command, const std::string& name, std::ostream& err) {
  const std::vector<std::string> problems = api::IsDNS1123Label(name);
  if (problems.empty()) return true;
  err << command << ": " << QuoteValue(name) << " is not a task name: " << problems.front() << "\n";
  return false;
}

OrExit<std::optional<std::chrono::seconds>> TestTimeoutFlag(std::string_view command, const ParsedFlags& flags,
                                                            const std::string& flag, std::ostream& err) {
  if (!flags.Has(flag)) return std::nullopt;
  const std::string text = flags.Get(flag);
  // Six digits at most: std::stoi cannot overflow, and no test waits longer.
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos) {
    err << command << ": --" << flag << " must be a whole number of seconds\n";
    return std::unexpected(kExitUsage);
  }
  return std::chrono::seconds(std::stoi(text));
}

OrExit<std::string> StateDirFlag(std::string_view command, const ParsedFlags& flags, std::ostream& err) {
  if (flags.Has("state-dir")) {
    std::string root = flags.Get("state-dir");
    if (root.empty()) {
      err << command << ": --state-dir must name a directory\n";
      return std::unexpected(kExitUsage);
    }
    return root;
  }
  Result<std::string> root = store::DefaultStateDir();
  if (!root) {
    err << command << ": " << root.error().message() << "\n";
    return std::unexpected(kExitInvalid);
  }
  return *root;
}

}  // namespace ctask::cli
