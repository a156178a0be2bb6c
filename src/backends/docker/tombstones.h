// Tombstones: the tasks of the operator's directory that
// ttlSecondsAfterFinished removed. Their manifests are still in the
// directory; without a record of the removal the next sync would take them
// for new tasks and run them again, for ever. A tombstone holds the digest of
// the spec that expired, so an edited manifest runs again (it is a new
// task), and removing the manifest removes the tombstone.
//
// Kept in <state-dir>/expired/<namespace>/<name>, one small file each,
// written atomically (temporary file, rename), so they survive a restart.
//
// Thread-safety: calls on different keys are independent; the operator calls
// Put from workers and the rest from its main loop.
#pragma once

#include <set>
#include <string>

#include "api/types.h"
#include "util/error.h"

namespace ctask::backends {

class Tombstones {
 public:
  explicit Tombstones(std::string state_dir);

  // The digest a tombstone holds for `spec`.
  static std::string Digest(const api::ContainerTaskSpec& spec);

  bool Matches(const std::string& ns, const std::string& name, const std::string& digest) const;
  Status Put(const std::string& ns, const std::string& name, const std::string& digest);
  void Remove(const std::string& ns, const std::string& name);
  // Removes every tombstone whose "namespace/name" is not in `keep`.
  void RemoveAllBut(const std::set<std::string>& keep);

 private:
  std::string root_;
};

}  // namespace ctask::backends
