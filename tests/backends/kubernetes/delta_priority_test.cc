#include "backends/kubernetes/delta_priority.h"

#include <gtest/gtest.h>

namespace ctask::backends {
namespace {

using reconcile::Priority;
using Type = kube::Delta::Type;

// A Job or pod that changed goes first; one first seen (the operator's own
// Job coming back, the initial list's) waits behind every task.
TEST(DeltaPriorityTest, AWorkloadChangeGoesFirstAndOneFirstSeenLast) {
  for (bool initial : {false, true}) {
    EXPECT_EQ(DeltaPriority(Type::kUpdated, true, initial), Priority::kHigh);
    EXPECT_EQ(DeltaPriority(Type::kDeleted, true, initial), Priority::kHigh);
    EXPECT_EQ(DeltaPriority(Type::kAdded, true, initial), Priority::kLow);
  }
}

// A task created or changed while the operator runs goes before the
// initial list's tasks, whatever the change.
TEST(DeltaPriorityTest, ATaskChangedWhileRunningGoesBeforeTheInitialList) {
  for (Type type : {Type::kAdded, Type::kUpdated, Type::kDeleted}) {
    EXPECT_EQ(DeltaPriority(type, false, false), Priority::kNormal);
    EXPECT_EQ(DeltaPriority(type, false, true), Priority::kLow);
  }
}

}  // namespace
}  // namespace ctask::backends
