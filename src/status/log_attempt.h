// Which attempt's log a record holds complete: status.logAttempt, or for a
// record written before that field existed, the annotation
// ctask.io/log-attempt that carried it then (a metadata write of its own,
// which status.logAttempt saves). Pure.
#pragma once

#include <cstdint>

#include "api/types.h"

namespace ctask::status {

// 0 when no attempt's log is complete yet.
int32_t CompleteLogAttempt(const api::ContainerTask& task);

}  // namespace ctask::status
