// Fan-out: one task run over many items (docs/fan-out.md). Pure, like
// decide.h, whose rules it reuses: each item is decided by Decide on the
// item's *view* — the task as if it were that one item, with the item's own
// attempts, retries, admission and timeouts — and the task's own status is
// folded from its items.
//
// What the record keeps (status.fanOut): every item in progress (at most
// parallelism of them) with what Decide needs to go on after a restart, the
// finished items' indexes as ranges, counts, and a bounded list of finished
// items, the failures first. Nothing else is needed: a new process reads
// the record, observes the workloads of the items in progress, and goes on;
// an item is never started twice, because its admission and attempt number
// are written before its workload exists, as for a task.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "status/decide.h"
#include "util/time.h"

namespace ctask::status {

namespace reason {
inline constexpr const char* kItemsFailed = "ItemsFailed";
}  // namespace reason

// What each item's container sees, in both backends.
inline constexpr const char* kEnvIndex = "CTASK_INDEX";  // 0 to count-1
inline constexpr const char* kEnvCount = "CTASK_COUNT";  // the number of items
inline constexpr const char* kEnvItem = "CTASK_ITEM";    // spec.items[index] (unset with completions)

// Whether the task runs over items (completions or items set).
bool IsFanOut(const api::ContainerTaskSpec& spec);
// How many items; 0 for a task that does not fan out.
int32_t ItemCount(const api::ContainerTaskSpec& spec);
// How many items may run at once (unset: 1).
int32_t Parallelism(const api::ContainerTaskSpec& spec);
// How many items must succeed (unset: all).
int32_t MinSucceeded(const api::ContainerTaskSpec& spec);

// Why a fan-out's items are stopped, in the item's words; empty while they
// may run. The task is cancelled, its spec is invalid, its success policy is
// met, or an item failed with failFast set (the task's status says which).
std::string StopCause(const api::ContainerTask& task, const std::string& invalid_spec);

// The task as item `entry` sees it: the task's spec without the fan-out
// fields and TTLs (the task keeps those), cancelled when `stop_cause` is
// set; status and Admitted condition from the entry; `item` set.
api::ContainerTask ItemView(const api::ContainerTask& task, const api::ItemStatus& entry, bool stop);

// The entry after Decide gave the view `decided`. A stopped item says why
// (`stop_cause`) rather than "spec.cancel is true".
api::ItemStatus ItemEntry(const api::ItemStatus& before, const api::ContainerTaskStatus& decided,
                          const std::string& stop_cause);

// The entries of items in progress: in the list, not yet finished (a
// finished one stays in the list for display, its index in one of the
// ranges). An item the task has stopped stays in progress until its
// workload is no longer live.
std::vector<api::ItemStatus> ItemsInProgress(const api::ContainerTask& task);

// The next items to open: the lowest indexes neither finished nor in the
// list, as many as parallelism leaves room for; none while the task stops
// its items, is suspended or finished.
std::vector<int32_t> NextItems(const api::ContainerTask& task, const std::string& invalid_spec);

// A fresh entry for item `index` (not admitted, no attempt).
api::ItemStatus NewItem(const api::ContainerTask& task, int32_t index);

// One item after this pass.
struct ItemPass {
  api::ItemStatus entry;
  bool live = false;  // its workload still runs or waits: it stays in the list
};

// The task's status from its items after this pass: finished items (a
// terminal phase, no live workload) leave the list for the index ranges and
// the bounded finished list; counts, phase, reason, message and conditions
// follow. `items` is every entry in progress, as decided this pass.
// `last_tail` is the log tail of the item that finished last (for
// status.logTail), empty to keep the one there.
api::ContainerTaskStatus FoldFanOut(const api::ContainerTask& task, const std::vector<ItemPass>& items,
                                    const std::string& invalid_spec, const std::string& last_tail, Timestamp now);

// A finished fan-out task's TTLs: kDeleteTask or kDeleteWorkload when due
// (kNone with a requeue otherwise). Only once no item is in progress.
Decision FanOutFinished(const api::ContainerTask& task, Timestamp now);

}  // namespace ctask::status
