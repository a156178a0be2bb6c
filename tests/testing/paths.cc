#include "testing/paths.h"

namespace ctask::testing {

std::string SourceDir() {
  return CTASK_SOURCE_DIR;
}

const char* CtaskBinary() {
  return CTASK_BINARY;
}

}  // namespace ctask::testing
