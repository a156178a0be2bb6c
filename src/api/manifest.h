// Manifest files: what `ctask validate|render|run -f FILE...` reads. A file
// holds any number of YAML or JSON documents; each is a ContainerTask, a
// TaskQueue, a Secret or a ConfigMap (anything else is a problem, named).
// The Secrets and ConfigMaps feed the tasks' env and the TaskQueues their
// queues' limits in the Docker backend, so a file that `kubectl apply` takes
// also runs locally.
//
// Loading never stops at the first problem: every document of every file is
// read and every problem reported, each located as
// "FILE: doc N: KIND/NAME: FIELD: message".
//
// Secret values are never part of a problem's text.
#pragma once

#include <string>
#include <vector>

#include "api/document.h"
#include "api/types.h"
#include "util/field_error.h"

namespace ctask::api {

struct SourceRef {
  std::string file;  // as the user named it; "-" for stdin
  int document = 0;  // 1-based; 0 when the whole file is meant
};

struct LoadedTask {
  ContainerTask task;
  SourceRef source;
};

struct ManifestProblem {
  SourceRef source;
  std::string object;  // "ContainerTask/hello", or "" when unknown
  FieldError error;

  // "FILE: doc N: KIND/NAME: FIELD: message"
  std::string ToString() const;
};

struct Manifests {
  std::vector<LoadedTask> tasks;
  std::vector<ConfigData> configs;  // Secrets and ConfigMaps
  std::vector<TaskQueue> queues;
  std::vector<ManifestProblem> problems;

  bool ok() const { return problems.empty(); }
};

// Reads and checks every document of every file. Tasks with problems are not
// in `tasks`; their problems are.
Manifests LoadManifestFiles(const std::vector<std::string>& paths);

// The same for text already in memory, named `file` in problems.
void AddManifestText(Manifests& into, const std::string& file, std::string_view text);

}  // namespace ctask::api
