// The allocator's own view of the heap, and giving its free memory back.
//
// glibc's malloc keeps memory it has freed in its arenas for reuse, and
// returns it to the system only from the top of the main heap. So after a
// burst (the initial list of 10,000 tasks decoded at once) a process's
// resident set stays near the peak although most of it is free: RSS then
// measures the allocator's retention, not what the process holds.
// ReadHeapStats says which is which (mallinfo2), ReleaseFreeHeap hands the
// free pages back (malloc_trim, which in every arena madvises away whole
// free pages), and HeapTrimmer does so now and then — Go's runtime
// scavenger does the same for a Go controller.
//
// Thread-safety: the functions may be called from any thread; a
// HeapTrimmer is used from one.
#pragma once

#include <chrono>
#include <cstddef>
#include <thread>

namespace ctask {

struct HeapStats {
  size_t in_use = 0;  // allocated and not freed (arenas and mmapped chunks)
  size_t free = 0;    // freed, kept in the arenas for reuse
};

HeapStats ReadHeapStats();
void ReleaseFreeHeap();

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
