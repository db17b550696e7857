#include "common/memory.h"

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

#include "common/clock.h"

namespace kl {

namespace {
// Pages a trim gives back are faulted in again by the next allocations that reuse them: under a
// steady stream of commits, trimming the few MB each interval frees and takes again costs more
// CPU (madvise, TLB shootdowns, page faults) than the memory is worth. So a trim waits until this
// much is free in the arenas, or until kMaxUntrimmedUs passed since the last one.
constexpr size_t kTrimFreeBytes = 32u << 20;
constexpr int64_t kMaxUntrimmedUs = 60'000'000;

std::mutex releasers_mu;
std::vector<void (*)()>& Releasers() {
  static auto* releasers = new std::vector<void (*)()>();  // never destroyed: callers may run at exit
  return *releasers;
}
}  // namespace

void AddFreeMemoryReleaser(void (*release)()) {
  std::lock_guard<std::mutex> lock(releasers_mu);
  Releasers().push_back(release);
}

void ReleaseFreeMemory(int64_t min_interval_ms) {
  static std::atomic<int64_t> next_us{0};
  int64_t now = MonotonicMicros();
  int64_t due = next_us.load(std::memory_order_relaxed);
  if (now < due) return;
  if (!next_us.compare_exchange_strong(due, now + min_interval_ms * 1000)) return;  // another thread trims
  {
    std::lock_guard<std::mutex> lock(releasers_mu);
    for (auto* release : Releasers()) release();
  }
#ifdef __GLIBC__
  static std::atomic<int64_t> last_trim_us{0};
  if (mallinfo2().fordblks < kTrimFreeBytes && now - last_trim_us.load() < kMaxUntrimmedUs) return;
  last_trim_us.store(now);
  malloc_trim(0);
#endif
}

}  // namespace kl
