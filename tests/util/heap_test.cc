// The allocator's figures move with what the process allocates, whichever
// allocator the build links (jemalloc, glibc's malloc, or ASan's).
#include "util/heap.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <memory>

namespace ctask {
namespace {

constexpr size_t kBlock = size_t{32} << 20;

TEST(HeapStatsTest, ABlockInUseIsCountedAndItsFreeIsNot) {
  const size_t before = ReadHeapStats().in_use;
  auto block = std::make_unique<char[]>(kBlock);
  std::memset(block.get(), 1, kBlock);  // resident, not only reserved
  const size_t holding = ReadHeapStats().in_use;
  EXPECT_GE(holding, before + kBlock) << "allocator " << HeapAllocatorName();
  block.reset();
  EXPECT_LE(ReadHeapStats().in_use, holding - kBlock / 2) << "allocator " << HeapAllocatorName();
}

TEST(HeapStatsTest, ReleasingTheFreeHeapKeepsWhatIsInUse) {
  auto kept = std::make_unique<char[]>(kBlock);
  std::memset(kept.get(), 1, kBlock);
  auto dropped = std::make_unique<char[]>(kBlock);
  std::memset(dropped.get(), 1, kBlock);
  dropped.reset();
  ReleaseFreeHeap();
  const HeapStats after = ReadHeapStats();
  EXPECT_GE(after.in_use, kBlock);
  // The dropped block's pages went back: nothing near its size is kept.
  EXPECT_LT(after.free, kBlock) << "allocator " << HeapAllocatorName();
  EXPECT_EQ(kept[kBlock - 1], 1);
}

TEST(HeapStatsTest, TheAllocatorIsNamed) {
  const std::string_view name = HeapAllocatorName();
  EXPECT_TRUE(name == "jemalloc" || name == "glibc" || name == "asan") << name;
}

}  // namespace
}  // namespace ctask
