// Giving freed heap memory back to the system. glibc's malloc keeps what a thread frees in that
// thread's arena for its next allocations; a process whose threads take turns at large transient
// buffers (a bulk load, a compaction) then stays at the sum of their peaks. Trimming returns the
// free pages of every arena, so resident memory follows what is live.
#pragma once

#include <cstdint>

namespace kl {

// Trims malloc's free pages at most once per `min_interval_ms` across the process (callers
// from any thread; the ones in between return at once), and only when the arenas hold 32 MB
// free or a minute has passed since the last trim.
void ReleaseFreeMemory(int64_t min_interval_ms = 5000);

// Registers `release`, which every pass of ReleaseFreeMemory calls before malloc's trim: for a
// part's own cache of free memory (a pool of buffers kept for reuse) that frees what sat idle.
void AddFreeMemoryReleaser(void (*release)());

}  // namespace kl
