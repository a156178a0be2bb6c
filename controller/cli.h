// The `ctask` command line: dispatch to one command, each in its own file.
// RunCli is the whole program minus process concerns, so tests call it with
// argument vectors and string streams.
//
// Exit codes (docs/cli.md):
//   0  success
//   1  invalid input: a manifest that does not load, validate or render, or a
//      file that cannot be read
//   2  usage: an unknown command or flag, a missing flag value
#pragma once

#include <expected>
#include <ostream>
#include <string>
#include <vector>

namespace ctask::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUsage = 2;

// What a command's flag parsing gives back: the options to run with, or the
// exit status to end with at once, the reason already printed (the help was
// asked for: kExitOk; a usage error: kExitUsage). A command's Run function
// then reads as its steps, each returning early the same way.
template <typename Options>
using OrExit = std::expected<Options, int>;

// `args` excludes the program name.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// One function per command; each parses its own flags.
int RunValidate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunRender(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunVersion(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunCrd(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunGet(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunLogs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunRun(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunOperator(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunDelete(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ctask::cli
