#include "status/dependencies.h"

#include <set>
#include <vector>

#include "api/schema.h"
#include "status/admission.h"
#include "status/decide.h"
#include "util/utf8.h"

namespace ctask::status {
namespace {

// A path from `from` back to `target` through runAfter, or empty.
std::vector<std::string> PathTo(const std::string& target, const std::string& from, const TaskLookup& lookup,
                                std::set<std::string>& seen, int depth) {
  if (depth > kMaxDependencyDepth || !seen.insert(from).second) return {};
  std::optional<api::ContainerTask> task = lookup(from);
  if (!task) return {};
  for (const std::string& next : task->spec.run_after) {
    if (next == target) return {from, next};
    std::vector<std::string> rest = PathTo(target, next, lookup, seen, depth + 1);
    if (!rest.empty()) {
      rest.insert(rest.begin(), from);
      return rest;
    }
  }
  return {};
}

std::string Join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

}  // namespace

DependencyVerdict CheckDependencies(const api::ContainerTask& task, const TaskLookup& lookup) {
  const std::string& self = task.metadata.name;
  for (const std::string& dep : task.spec.run_after) {
    if (dep == self) return {DependencyState::kCycle, "spec.runAfter names the task itself: remove " + self};
    std::set<std::string> seen;
    std::vector<std::string> path = PathTo(self, dep, lookup, seen, 1);
    if (!path.empty()) {
      path.insert(path.begin(), self);
      return {DependencyState::kCycle, "spec.runAfter makes a cycle (" + Join(path, " -> ") +
                                           "): no task of it could ever start; remove one of these runAfter entries"};
    }
  }
  std::vector<std::string> waiting;
  for (const std::string& dep : task.spec.run_after) {
    std::optional<api::ContainerTask> found = lookup(dep);
    if (!found) {
      waiting.push_back(dep + " (no such task yet)");
      continue;
    }
    const std::string& phase = found->status.phase;
    if (phase == api::phase::kFailed || phase == api::phase::kCancelled) {
      return {DependencyState::kFailed, "runAfter: task " + dep + " " +
                                            (phase == api::phase::kFailed ? "failed" : "was cancelled") + " (" +
                                            found->status.reason + ": " + found->status.message + ")"};
    }
    if (phase != api::phase::kSucceeded) waiting.push_back(dep + " (" + (phase.empty() ? "Pending" : phase) + ")");
  }
  if (waiting.empty()) return {};
  return {DependencyState::kWaiting, "waiting for " + Join(waiting, ", ") + " to succeed (spec.runAfter)"};
}

bool NotStarted(const api::ContainerTask& task) {
  const api::ContainerTaskStatus& st = task.status;
  if (IsTerminal(st.phase) || st.attempts > 0 || HoldsSlot(task)) return false;
  if (st.fan_out &&
      (st.fan_out->active > 0 || st.fan_out->succeeded > 0 || st.fan_out->failed > 0 || st.fan_out->cancelled > 0)) {
    return false;
  }
  return true;
}

std::string InputDocument(const api::ContainerTask& dep, const std::string& fan_out_results, size_t limit) {
  const bool fan_out = dep.spec.completions.has_value() || !dep.spec.items.empty();
  if (fan_out) {
    const int32_t total = dep.spec.completions ? *dep.spec.completions : static_cast<int32_t>(dep.spec.items.size());
    return EncodeResults(dep.metadata.name, total, DecodeResults(fan_out_results), limit).text;
  }
  ItemResult only;
  only.phase = dep.status.phase;
  only.reason = dep.status.reason;
  only.exit_code = dep.status.exit_code;
  only.attempts = dep.status.attempts;
  only.result = dep.status.result;
  return EncodeResults(dep.metadata.name, 1, {{0, only}}, limit).text;
}

api::ContainerTaskStatus HeldByDependencies(const api::ContainerTask& task, const DependencyVerdict& verdict,
                                            Timestamp now) {
  api::ContainerTaskStatus st = task.status;
  st.observed_generation = task.metadata.generation;
  const std::string message = CutWithEllipsis(verdict.message, api::kMaxMessageLength);
  if (verdict.state == DependencyState::kFailed || verdict.state == DependencyState::kCycle) {
    st.phase = api::phase::kFailed;
    st.reason = verdict.state == DependencyState::kCycle ? reason::kInvalidSpec : reason::kDependencyFailed;
    st.message = message;
    if (!st.completion_time) st.completion_time = now;
  } else {
    st.phase = api::phase::kQueued;
    st.reason = reason::kWaitingForDependencies;
    st.message = message;
  }
  SetCondition(st.conditions,
               api::Condition{kConditionAdmitted, "False", task.metadata.generation, now, st.reason, st.message});
  SetTaskConditions(st, task.metadata.generation, now);
  return st;
}

}  // namespace ctask::status
