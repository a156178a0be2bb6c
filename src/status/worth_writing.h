// Whether a status (or record) change is worth a write to the store: one a
// user would see. A change of the workload's names alone (jobName, podName,
// containerID, as a created workload's pod appears) is carried by the next
// write that says something, the Running or the finished one, instead of
// costing the API server a write of its own. Pure.
#pragma once

#include <chrono>
#include <optional>

#include "api/types.h"
#include "runtime/observation.h"
#include "status/decide.h"

namespace ctask::status {

bool WorthWriting(const api::ContainerTask& before, const api::ContainerTask& after);

// How long a status write may wait for the next change to carry it, or
// nullopt: write now. A Running first seen less than kRunningGrace after
// the container started, of an attempt the record already names (Pending),
// is about to be overtaken by a short task's end: its write would cost the
// API server a request a moment before the one that replaces it, so a
// burst of short tasks pays two status writes each, not three. Running
// shows at most kRunningGrace (and the timestamps' one-second resolution)
// late; the container's end wakes the task either way, so the final
// status loses no time.
//
// Nothing else waits here. A first attempt's status is written by the pass
// that sees its workload (which the work queue may put behind a burst of
// new tasks: until then the task reads the CRD's default, observedGeneration
// 0, InProgress to kstatus). And a first attempt's container seen running
// is written at once: the record must name an attempt that ran before it
// could vanish unseen (the next pass would take it for one never started).
inline constexpr std::chrono::seconds kRunningGrace(1);
std::optional<std::chrono::seconds> WriteWait(const api::ContainerTask& before,
                                              const std::optional<runtime::Observation>& observed,
                                              const Decision& decision, Timestamp now);

}  // namespace ctask::status
