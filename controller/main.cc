// The ctask binary. main() is the only place exceptions are caught: anything
// escaping a command is a bug, reported as such with a non-zero exit instead
// of an abort.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return ctask::cli::RunCli(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "ctask: internal error: " << e.what() << " (please report this as a bug)\n";
  } catch (...) {
    std::cerr << "ctask: internal error (please report this as a bug)\n";
  }
  return 70;  // EX_SOFTWARE
}
