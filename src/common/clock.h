// Time sources. Wall time for event and commit timestamps; monotonic time
// for intervals and timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kl {

inline int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "2026-11-24T10:15:30.123Z"
std::string FormatIsoMillis(int64_t epoch_millis);
// "2026-11-24T10:15:30Z" (RFC 3339 seconds, as Kubernetes timestamps are written)
std::string FormatRfc3339(int64_t epoch_millis);
// Parses RFC 3339 / ISO 8601 UTC timestamps ("...Z" or "+00:00"); -1 on failure.
int64_t ParseRfc3339Millis(std::string_view text);

}  // namespace kl
