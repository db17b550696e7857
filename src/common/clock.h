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

// CPU time of the calling thread, in seconds.
double ThreadCpuSeconds();

// "2026-11-24T10:15:30.123Z"
std::string FormatIsoMillis(int64_t epoch_millis);
// "2026-11-24T10:15:30Z" (RFC 3339 seconds, as Kubernetes timestamps are written)
std::string FormatRfc3339(int64_t epoch_millis);
// Parses RFC 3339 / ISO 8601 UTC timestamps ("...Z" or "+00:00"); -1 on failure.
int64_t ParseRfc3339Millis(std::string_view text);

// Proleptic Gregorian calendar: days since 1970-01-01 <-> year, month (1-12), day (1-31).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);
// Days in `month` (1-12) of `year`: February has 29 in leap years.
int DaysInMonth(int64_t year, unsigned month);
// The day `months` calendar months after `day` (days since 1970-01-01), its day of the month
// clamped to the new month's last (January 31 + 1 month = February 28 or 29).
int64_t AddMonthsToDay(int64_t day, int64_t months);
// Division rounding toward negative infinity (b > 0), safe for every int64.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

}  // namespace kl
