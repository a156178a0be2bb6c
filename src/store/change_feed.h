// ChangeFeed: how a ctask process that does not own a state directory tells
// the one that does that a record changed — the local store's "watch".
//
// A process that writes an intent into a record it does not drive (`ctask
// delete` sets metadata.deletionTimestamp, `ctask cancel` spec.cancel, ...)
// then announces the task's key by appending one line "<namespace>/<name>\n"
// to <root>/changes. The owner (the holder of LockStateDir, which runs the
// reconciler) polls the journal and queues every key it reads; the
// reconcile is level-based, so a key read twice, or one whose change it had
// already seen, costs one extra look and nothing else.
//
// Contract:
//  - AnnounceChange appends with O_APPEND in one write(2) of a short line,
//    so lines from several processes never interleave.
//  - A ChangeFeed starts at the journal's end when it is created: the owner
//    lists every record at start-up anyway. Poll returns the keys appended
//    since the last Poll (in order; a line cut short by a crash is skipped
//    once it is complete or left for the next Poll).
//  - The journal only grows (a line per intent, a few dozen bytes); it is
//    not truncated, since an announcer may append at any moment. A journal
//    that is replaced or shrinks (a user removed it) is read from its start.
//
// Thread-safety: AnnounceChange from anywhere; one ChangeFeed per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace ctask::store {

Status AnnounceChange(const std::string& root, std::string_view ns, std::string_view name);

class ChangeFeed {
 public:
  explicit ChangeFeed(std::string root);

  // "namespace/name" keys announced since the last Poll.
  Result<std::vector<std::string>> Poll();

 private:
  std::string path_;
  uint64_t offset_ = 0;
  uint64_t inode_ = 0;
};

}  // namespace ctask::store
