// Limits: how many tasks may run at once, operator-wide and per queue. The
// operator-wide limit and the default per-queue limit come from the
// operator's flags (--max-running, --queue-max-running); a TaskQueue's
// spec.maxRunning overrides the default for that one queue (docs/queues.md).
// Unset means no limit.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace ctask::admission {

struct Limits {
  std::optional<int> global;     // tasks running at once, over every queue
  std::optional<int> per_queue;  // the default for a queue with no override
  // Queue id ("namespace/name") -> its own limit (TaskQueue spec.maxRunning).
  std::map<std::string, int, std::less<>> queues;

  // The limit of queue `queue`: its override, else the default.
  std::optional<int> Of(const std::string& queue) const {
    auto it = queues.find(queue);
    if (it != queues.end()) return it->second;
    return per_queue;
  }
};

}  // namespace ctask::admission
