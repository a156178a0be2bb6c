#include "util/heap.h"

#include <malloc.h>

#include "util/sleep.h"

namespace ctask {

HeapStats ReadHeapStats() {
  const struct mallinfo2 info = mallinfo2();
  return HeapStats{info.uordblks + info.hblkhd, info.fordblks};
}

void ReleaseFreeHeap() {
  malloc_trim(0);
}

HeapTrimmer::HeapTrimmer(std::chrono::milliseconds interval, size_t threshold)
    : thread_([interval, threshold](std::stop_token stop) {
        while (SleepFor(interval, stop)) {
          if (ReadHeapStats().free > threshold) ReleaseFreeHeap();
        }
      }) {}

}  // namespace ctask
