// IndexSet: a set of item indexes written as ranges, "0-3,7,9-12" — the
// form of status.fanOut.succeededIndexes and failedIndexes, as a Kubernetes
// Indexed Job writes completedIndexes. Compact for the common case (items
// finish roughly in order), and at worst a few characters per index.
// Pure.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace ctask::status {

// The indexes `text` names. Text this code did not write (a hand edit) is
// read as far as it makes sense: a malformed part is skipped.
std::set<int32_t> ParseIndexSet(std::string_view text);

// `indexes` as ranges, ascending.
std::string FormatIndexSet(const std::set<int32_t>& indexes);

}  // namespace ctask::status
