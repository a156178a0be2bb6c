// RecordSync: brings the state directory's records in line with the tasks
// directory, as an API server's objects are brought in line with a GitOps
// repository:
//   new task in a file     -> a new record (fresh UID, generation 1)
//   changed spec           -> generation + 1 (a change the API would refuse
//                             is refused, once, and the task keeps its spec)
//   task gone from files   -> deletionTimestamp: the workers stop and remove
//                             its containers, then the record and its log
// Only records that came from the directory (kAnnotationSourceFile) are
// deleted when their task leaves it: `ctask run` may share the state
// directory. A record of the same name that is not from the directory is
// replaced: marked for deletion first, created from the file next sync.
// A task its TTL removed while its manifest stays is not created again
// (tombstones.h). Every key it touches goes to `enqueue`; a new record
// goes to `created` first, in creation order.
//
// Thread-safety: none; the directory operator's loop owns it.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "backends/docker/tasks_dir.h"
#include "backends/docker/tombstones.h"
#include "store/store.h"
#include "util/clock.h"

namespace ctask::backends {

// The record annotation naming the file a task came from.
inline constexpr const char* kAnnotationSourceFile = "ctask.io/source-file";

class RecordSync {
 public:
  using Enqueue = std::function<void(const std::string& key)>;
  using Log = std::function<void(const std::string& line)>;
  // Told of each new record before its key is queued: the admitter tracks
  // it then (Admitter::Track), so tasks created in one sync wait in the
  // order they were created whichever worker reaches one first. Without
  // it, a worker could ask for beta-2's slot before another had shown the
  // admitter beta-1, and beta-2 would go first.
  using Created = std::function<void(const api::ContainerTask& record)>;

  RecordSync(store::Store& store, Tombstones& tombstones, const Clock& clock, Enqueue enqueue, Log log,
             Created created = {})
      : store_(store),
        tombstones_(tombstones),
        clock_(clock),
        enqueue_(std::move(enqueue)),
        log_(std::move(log)),
        created_(std::move(created)) {}

  void Sync(const TasksDir& tasks_dir);

 private:
  void SyncDesired(const std::string& key, const DesiredTask& want);
  void Create(const std::string& key, const DesiredTask& want);
  void Update(const std::string& key, const api::ContainerTask& record, const DesiredTask& want);
  void DeleteRemoved(const TasksDir& tasks_dir);
  // Sets deletionTimestamp; false (logged) when the record cannot be written.
  bool MarkDeleted(const std::string& key, const std::string& why);
  // Logs `line` the first time only: a refusal repeats on every sync.
  void LogOnce(const std::string& line);

  store::Store& store_;
  Tombstones& tombstones_;
  const Clock& clock_;
  const Enqueue enqueue_;
  const Log log_;
  const Created created_;
  std::set<std::string> said_;
};

}  // namespace ctask::backends
