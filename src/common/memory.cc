#include "common/memory.h"

#include <malloc.h>

#include <atomic>

#include "common/clock.h"

namespace kl {

void ReleaseFreeMemory(int64_t min_interval_ms) {
  static std::atomic<int64_t> next_us{0};
  int64_t now = MonotonicMicros();
  int64_t due = next_us.load(std::memory_order_relaxed);
  if (now < due) return;
  if (!next_us.compare_exchange_strong(due, now + min_interval_ms * 1000)) return;  // another thread trims
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace kl
