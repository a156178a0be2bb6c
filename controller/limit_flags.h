// --max-running and --queue-max-running, shared by `ctask operator` (both
// backends) and `ctask run`: the operator-wide limit on tasks holding a slot
// and the default limit of each queue (a TaskQueue's spec.maxRunning
// overrides it for its queue). Unset: no limit (docs/queues.md).
#pragma once

#include <vector>

#include "admission/limits.h"
#include "flags.h"
#include "util/error.h"

namespace ctask::cli {

std::vector<FlagSpec> LimitFlagSpecs();

// The limits the flags give; kInvalidArgument naming the flag when one is
// not a whole number in range.
Result<admission::Limits> LimitsFromFlags(const ParsedFlags& flags);

}  // namespace ctask::cli
