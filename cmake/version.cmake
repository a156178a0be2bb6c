# Run at every build (controller/CMakeLists.txt, target ctask_version): writes
# OUTPUT, a header defining CTASK_VERSION, as FIXED when given (the image
# build has no .git) or else `git describe --tags --always --dirty` of
# SOURCE_DIR. The file is rewritten only when the text changes, so a build
# after a commit recompiles the one file that prints it, and a build without
# one recompiles nothing.
if(FIXED)
  set(version "${FIXED}")
else()
  execute_process(COMMAND git describe --tags --always --dirty
                  WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET)
endif()
if(NOT version)
  set(version "unknown")
endif()
set(content "// Written by cmake/version.cmake at build time; not in the source tree.\n#pragma once\n#define CTASK_VERSION \"${version}\"\n")
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUTPUT}" "${content}")
endif()
