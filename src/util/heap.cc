#include "util/heap.h"

#include <malloc.h>

#include <cstdint>
#include <string>

#include "util/sleep.h"

// An ASan build: GCC says so with __SANITIZE_ADDRESS__, clang with
// __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define CTASK_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CTASK_ASAN_BUILD 1
#endif
#endif

#if defined(CTASK_JEMALLOC)
#include <jemalloc/jemalloc.h>
#elif defined(CTASK_ASAN_BUILD)
// The sanitizer runtime's allocator interface, declared here: GCC does not
// install <sanitizer/allocator_interface.h>, clang does.
extern "C" {
size_t __sanitizer_get_current_allocated_bytes();  // NOLINT(bugprone-reserved-identifier): ASan's API
size_t __sanitizer_get_free_bytes();               // NOLINT(bugprone-reserved-identifier): ASan's API
void __sanitizer_purge_allocator();                // NOLINT(bugprone-reserved-identifier): ASan's API
}
#endif

namespace ctask {

#ifdef CTASK_JEMALLOC

namespace {

// One of jemalloc's size_t statistics; 0 when it cannot be read (a build
// without --enable-stats), which the metric then shows.
size_t JemallocStat(const char* name) {
  size_t value = 0;
  size_t size = sizeof(value);
  return mallctl(name, &value, &size, nullptr, 0) == 0 ? value : 0;
}

}  // namespace

HeapStats ReadHeapStats() {
  // The statistics are a snapshot taken at the last "epoch" write: take one.
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, size);
  const size_t allocated = JemallocStat("stats.allocated");
  // Resident: pages of live objects, unused dirty pages and the allocator's
  // metadata. What is neither live nor metadata is what it keeps.
  const size_t resident = JemallocStat("stats.resident");
  const size_t metadata = JemallocStat("stats.metadata");
  const size_t kept = resident > allocated + metadata ? resident - allocated - metadata : 0;
  return HeapStats{allocated, kept};
}

void ReleaseFreeHeap() {
  // Every arena's unused dirty pages back now, not after the decay time.
  const std::string purge_all = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(purge_all.c_str(), nullptr, nullptr, nullptr, 0);
}

std::string_view HeapAllocatorName() {
  return "jemalloc";
}

#elif defined(CTASK_ASAN_BUILD)

// A sanitizer build allocates through ASan's allocator, which glibc's
// mallinfo2 does not see.
HeapStats ReadHeapStats() {
  return HeapStats{__sanitizer_get_current_allocated_bytes(), __sanitizer_get_free_bytes()};
}

void ReleaseFreeHeap() {
  __sanitizer_purge_allocator();
}

std::string_view HeapAllocatorName() {
  return "asan";
}

#else

HeapStats ReadHeapStats() {
  const struct mallinfo2 info = mallinfo2();
  return HeapStats{info.uordblks + info.hblkhd, info.fordblks};
}

void ReleaseFreeHeap() {
  // In every arena, madvise away the whole free pages.
  malloc_trim(0);
}

std::string_view HeapAllocatorName() {
  return "glibc";
}

#endif

HeapTrimmer::HeapTrimmer(std::chrono::milliseconds interval, size_t threshold)
    : thread_([interval, threshold](std::stop_token stop) {
        while (SleepFor(interval, stop)) {
          if (ReadHeapStats().free > threshold) ReleaseFreeHeap();
        }
      }) {}

}  // namespace ctask
