// Dependencies (spec.runAfter, docs/fan-out.md): whether a task may start,
// from the records of the tasks it names. Pure: the reconciler reads the
// records (and, for a cycle, the records they name) and writes what this
// says.
//
// A task waits (Queued, WaitingForDependencies) until every task it names
// has succeeded, naming those it waits for; a missing one is waited for.
// It fails (DependencyFailed) when one of them failed or was cancelled,
// naming it. A cycle (a task that would, through runAfter, wait for
// itself) can never start: InvalidSpec naming the cycle.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "api/types.h"
#include "status/item_results.h"
#include "util/time.h"

namespace ctask::status {

namespace reason {
inline constexpr const char* kWaitingForDependencies = "WaitingForDependencies";
inline constexpr const char* kDependencyFailed = "DependencyFailed";
}  // namespace reason

enum class DependencyState { kReady, kWaiting, kFailed, kCycle };

struct DependencyVerdict {
  DependencyState state = DependencyState::kReady;
  std::string message;
};

// Looks a task of the namespace up by name; nullopt when there is none.
using TaskLookup = std::function<std::optional<api::ContainerTask>(const std::string& name)>;

// The verdict for `task`, whose runAfter names tasks `lookup` finds. A
// cycle is looked for through the named tasks' own runAfter (at most
// kMaxDependencyDepth deep).
DependencyVerdict CheckDependencies(const api::ContainerTask& task, const TaskLookup& lookup);

inline constexpr int kMaxDependencyDepth = 64;

// Whether the task has not started yet: no attempt, no item admitted. Only
// then do its dependencies hold it back; once started it runs on.
bool NotStarted(const api::ContainerTask& task);

// The input file of dependency `dep`: its results document (a fan-out
// task's, from `fan_out_results`), or one built from a single task's
// status.result; at most `limit` bytes.
std::string InputDocument(const api::ContainerTask& dep, const std::string& fan_out_results, size_t limit);

// The status of a task its dependencies hold back (kWaiting) or fail
// (kFailed: DependencyFailed; kCycle: InvalidSpec).
api::ContainerTaskStatus HeldByDependencies(const api::ContainerTask& task, const DependencyVerdict& verdict,
                                            Timestamp now);

}  // namespace ctask::status
