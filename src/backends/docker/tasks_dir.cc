#include "backends/docker/tasks_dir.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "api/names.h"
#include "reconcile/log_archiver.h"

namespace ctask::backends {
namespace {

bool IsManifestName(const std::string& name) {
  if (name.empty() || name[0] == '.' || name.back() == '~' || name[0] == '#') return false;
  for (const char* ext : {".yaml", ".yml", ".json"}) {
    if (name.ends_with(ext)) return true;
  }
  return false;
}

}  // namespace

ScanResult TasksDir::Scan() {
  ScanResult result;
  std::map<std::string, std::pair<int64_t, int64_t>> seen;  // path -> (size, mtime)
  DIR* dir = ::opendir(path_.c_str());
  if (dir == nullptr) {
    // Keep what we have: a directory that vanished for a moment (a GitOps
    // sync replacing it) must not delete every task.
    result.problems.push_back(path_ + ": cannot read the tasks directory: " + std::strerror(errno));
    return result;
  }
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (!IsManifestName(name)) continue;
    const std::string file = path_ + "/" + name;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    seen[file] = {st.st_size, static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  }
  ::closedir(dir);

  // Files gone: their tasks go.
  for (auto it = files_.begin(); it != files_.end();) {
    if (!seen.contains(it->first)) {
      it = files_.erase(it);
      result.changed = true;
    } else {
      ++it;
    }
  }
  // Files new or changed: loaded again; problems keep the last good content.
  for (const auto& [file, stamp] : seen) {
    FileState& state = files_[file];
    if (state.size == stamp.first && state.mtime_ns == stamp.second) continue;
    state.size = stamp.first;
    state.mtime_ns = stamp.second;
    api::Manifests loaded = api::LoadManifestFiles({file});
    state.failing = !loaded.ok();
    if (!loaded.ok()) {
      for (const api::ManifestProblem& problem : loaded.problems) result.problems.push_back(problem.ToString());
      result.problems.push_back(file + ": kept its last good content until the problems above are fixed");
      continue;
    }
    state.last_good = std::move(loaded);
    result.changed = true;
  }
  if (result.changed) Rebuild(result.problems);
  return result;
}

bool TasksDir::Unreadable(const std::string& file) const {
  auto it = files_.find(file);
  return it != files_.end() && it->second.failing;
}

void TasksDir::Rebuild(std::vector<std::string>& problems) {
  desired_ = {};
  for (const auto& [file, state] : files_) {  // sorted by path: the first file naming a task wins
    for (const api::LoadedTask& loaded : state.last_good.tasks) {
      DesiredTask desired{loaded.task, file};
      desired.task.metadata.namespace_ = api::NamespaceOrDefault(desired.task.metadata.namespace_);
      const std::string key = reconcile::TaskKey(desired.task);
      auto [it, inserted] = desired_.tasks.emplace(key, std::move(desired));
      if (!inserted) {
        problems.push_back(file + ": doc " + std::to_string(loaded.source.document) + ": ContainerTask/" +
                           loaded.task.metadata.name + ": metadata.name: " + it->second.file +
                           " defines this task already; this one is ignored: give it another name");
      }
    }
    desired_.configs.insert(desired_.configs.end(), state.last_good.configs.begin(), state.last_good.configs.end());
    desired_.queues.insert(desired_.queues.end(), state.last_good.queues.begin(), state.last_good.queues.end());
  }
}

}  // namespace ctask::backends
