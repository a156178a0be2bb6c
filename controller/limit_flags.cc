#include "limit_flags.h"

namespace ctask::cli {

std::vector<FlagSpec> LimitFlagSpecs() {
  return {
      {"max-running", '\0', true, "N",
       "Tasks that may run at once over every queue, from admission to the end of their last workload "
       "(default: no limit)"},
      {"queue-max-running", '\0', true, "N",
       "Tasks of one queue that may run at once, unless its TaskQueue says otherwise (default: no limit)"},
  };
}

Result<admission::Limits> LimitsFromFlags(const ParsedFlags& flags) {
  admission::Limits limits;
  for (const auto& [flag, into] :
       {std::pair{"max-running", &limits.global}, {"queue-max-running", &limits.per_queue}}) {
    if (!flags.Has(flag)) continue;
    Result<long> n = flags.Number(flag, 0, 1, 100000);
    if (!n) return std::unexpected(n.error());
    *into = static_cast<int>(*n);
  }
  return limits;
}

}  // namespace ctask::cli
