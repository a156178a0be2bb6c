// Task keys: how the work queue, the log archiver and the admitter name a
// task — "namespace/name" — and an item of a fan-out task —
// "namespace/name#00003" (status/fan_out.h). The index is zero-padded so
// that items order by index wherever keys are compared (the admission
// book breaks ties by key).
#pragma once

#include <string>
#include <string_view>

#include "api/types.h"

namespace ctask::reconcile {

inline constexpr char kItemKeySeparator = '#';

// The key of a task, or of an item's view (task.item set).
std::string TaskKey(const api::ContainerTask& task);

// The task's own key of a key: an item's key without "#N".
std::string RecordKey(std::string_view key);

// The prefix every item key of the task with key `key` starts with.
std::string ItemKeyPrefix(std::string_view key);

}  // namespace ctask::reconcile
