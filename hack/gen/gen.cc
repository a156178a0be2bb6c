// ctask-gen: writes the files generated from the schema (src/api/schema.cc):
//   crds/ctask.io_containertasks.yaml  the ContainerTask CRD
//   crds/ctask.io_taskqueues.yaml      the TaskQueue CRD
//   docs/api.md                        the field reference, between its markers
// Run through `make generate`; tests fail when the checked-in files are stale.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "api/schema.h"

namespace {

constexpr const char* kBegin = "<!-- BEGIN GENERATED: field reference (make generate) -->\n";
constexpr const char* kEnd = "<!-- END GENERATED -->\n";

bool Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: ctask-gen SOURCE_DIR\n";
    return 2;
  }
  const std::string root = argv[1];
  if (!Write(root + "/crds/ctask.io_containertasks.yaml", ctask::api::CrdFileText()) ||
      !Write(root + "/crds/ctask.io_taskqueues.yaml", ctask::api::TaskQueueCrdFileText())) {
    std::cerr << "ctask-gen: cannot write crds/\n";
    return 1;
  }
  const std::string docs_path = root + "/docs/api.md";
  std::ifstream in(docs_path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string docs = buffer.str();
  size_t begin = docs.find(kBegin);
  size_t end = docs.find(kEnd);
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    std::cerr << "ctask-gen: " << docs_path << " lacks the GENERATED markers\n";
    return 1;
  }
  docs = docs.substr(0, begin + std::string(kBegin).size()) + ctask::api::ApiReferenceMarkdown() + docs.substr(end);
  if (!Write(docs_path, docs)) {
    std::cerr << "ctask-gen: cannot write " << docs_path << "\n";
    return 1;
  }
  std::cout << "ctask-gen: wrote crds/ctask.io_containertasks.yaml, crds/ctask.io_taskqueues.yaml and docs/api.md\n";
  return 0;
}
