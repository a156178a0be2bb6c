// The flags `ctask get` and `ctask logs` share, checked alike and refused in
// the same words: a task's namespace and name (Kubernetes names), the local
// state directory, and the hidden timeouts the tests bound a wait with.
// Each reports its own error on `err`, prefixed with `command` ("ctask get"),
// and returns the exit status to end with (cli.h: OrExit).
//
// Thread-safety: pure functions, but for DefaultStateDir's environment reads.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "cli.h"
#include "flags.h"

namespace ctask::cli {

// False, with the reason reported, when `ns` is not a namespace name
// (a DNS-1123 label): checked before any store is read, as kubectl does.
bool CheckNamespace(std::string_view command, const std::string& ns, std::ostream& err);

// The same for a task's name.
bool CheckTaskName(std::string_view command, const std::string& name, std::ostream& err);

// A hidden test flag `--FLAG SECONDS` (a whole number, at most six digits):
// nullopt when it is absent; kExitUsage when malformed.
OrExit<std::optional<std::chrono::seconds>> TestTimeoutFlag(std::string_view command, const ParsedFlags& flags,
                                                            const std::string& flag, std::ostream& err);

// --state-dir, which must name a directory (kExitUsage when empty), else the
// default state directory (kExitInvalid when there is none: no $HOME).
OrExit<std::string> StateDirFlag(std::string_view command, const ParsedFlags& flags, std::ostream& err);

}  // namespace ctask::cli
