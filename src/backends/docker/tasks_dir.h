// TasksDir: the directory `ctask operator --backend docker --tasks-dir DIR`
// keeps in agreement with the containers. Its manifest files (*.yaml, *.yml,
// *.json; hidden and editor files ignored) are the desired state, as objects
// in the API server are for the Kubernetes operator.
//
// Scan() reads the files that changed since the last scan (by size and
// modification time) and returns the desired tasks and Secrets/ConfigMaps.
// A file that does not load or validate keeps its last good content: a
// half-saved edit never deletes the tasks it held. Its problems are returned
// (once per change of the file) for the operator to log.
//
// Thread-safety: none; the operator's main loop owns it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/manifest.h"

namespace ctask::backends {

struct DesiredTask {
  api::ContainerTask task;  // namespace defaulted to "default"
  std::string file;
};

struct DesiredState {
  std::map<std::string, DesiredTask> tasks;  // by "namespace/name"
  std::vector<api::ConfigData> configs;
  std::vector<api::TaskQueue> queues;
};

struct ScanResult {
  bool changed = false;               // the desired state differs from the last scan's
  std::vector<std::string> problems;  // new problems, one line each
};

class TasksDir {
 public:
  explicit TasksDir(std::string path) : path_(std::move(path)) {}

  ScanResult Scan();
  const DesiredState& desired() const { return desired_; }
  // Whether `file` is in the directory but its current content does not
  // load. Its tasks may be missing from desired() (when it never loaded in
  // this process): they are unknown, not gone, and must not be deleted.
  bool Unreadable(const std::string& file) const;
  const std::string& path() const { return path_; }

 private:
  struct FileState {
    int64_t size = -1;
    int64_t mtime_ns = -1;
    api::Manifests last_good;  // tasks and configs of the last version that loaded cleanly
    bool failing = false;      // the current version does not load
  };

  void Rebuild(std::vector<std::string>& problems);

  const std::string path_;
  std::map<std::string, FileState> files_;  // by path
  DesiredState desired_;
};

}  // namespace ctask::backends
