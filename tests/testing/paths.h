// Where a test finds the repository (test data, golden files, examples) and
// the ctask binary under test. Defined in paths.cc, the one file compiled
// with the build's paths, so every other test file compiles the same in any
// clone and is shared by the compiler cache (hack/lib.sh).
#pragma once

#include <string>

namespace ctask::testing {

// The repository's root directory.
std::string SourceDir();

// The ctask binary of this build.
const char* CtaskBinary();

}  // namespace ctask::testing
