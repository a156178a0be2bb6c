// OrderedSet: a sorted set that also answers "how many are before this one"
// in O(log n) — a waiting task's position in its queue, without walking the
// queue. GCC's policy-based red-black tree with order statistics
// (libstdc++'s pb_ds) is exactly that; this alias names it once.
#pragma once

#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>

namespace ctask::admission {

template <typename T>
using OrderedSet = __gnu_pbds::tree<T, __gnu_pbds::null_type, std::less<T>, __gnu_pbds::rb_tree_tag,
                                    __gnu_pbds::tree_order_statistics_node_update>;

}  // namespace ctask::admission
