#include "testing/paths.h"

namespace ctask::testing {

const char* SourceDir() {
  return CTASK_SOURCE_DIR;
}

const char* CtaskBinary() {
  return CTASK_BINARY;
}

}  // namespace ctask::testing
