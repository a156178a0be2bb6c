// The allocator's own view of the heap, and giving its free memory back.
//
// The operator links jemalloc (CMake option CTASK_JEMALLOC, on except in
// sanitizer builds, whose allocator is the sanitizer's). glibc's malloc kept
// an operator with 10,000 cached tasks at ~70 MiB resident for 18 MiB in
// use: every thread's arena held 64 MiB regions whose pages each kept a few
// scattered live objects, which malloc_trim cannot release. jemalloc's size
// classes pack small objects of one size together and its decay returns
// unused dirty pages over ~10 s, so the same operator settles near 52 MiB
// (bench/README.md). Under glibc's malloc (a sanitizer build, or
// -DCTASK_JEMALLOC=OFF) the same functions read mallinfo2 and call
// malloc_trim; in an ASan build, the sanitizer allocator's figures.
//
// ReadHeapStats says how much is held by live objects and how much the
// allocator keeps, so RSS is not read as the operator's own memory;
// ReleaseFreeHeap hands the kept pages back now, and HeapTrimmer does so
// now and then — Go's runtime scavenger does the same for a Go controller.
//
// Thread-safety: the functions may be called from any thread; a
// HeapTrimmer is used from one.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>
#include <thread>

namespace ctask {

struct HeapStats {
  size_t in_use = 0;  // allocated and not freed
  size_t free = 0;    // resident in the allocator's pages, not allocated
};

HeapStats ReadHeapStats();
void ReleaseFreeHeap();
// "jemalloc", "glibc" or "asan" (a sanitizer build): whose figures
// ReadHeapStats reads.
std::string_view HeapAllocatorName();

// A thread that, every `interval`, gives the free heap back when it holds
// more than `threshold` bytes. Stops on destruction.
class HeapTrimmer {
 public:
  explicit HeapTrimmer(std::chrono::milliseconds interval = std::chrono::seconds(10),
                       size_t threshold = size_t{8} << 20);
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

 private:
  std::jthread thread_;
};

}  // namespace ctask
