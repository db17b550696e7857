// How an INTERVAL value (TypeRoot::kInterval, a type of SQL expressions in PostgreSQL
// sessions, never of a Paimon column) is held in Datums and columns, and its text in
// PostgreSQL's IntervalStyle postgres. Its arithmetic and input syntax live in the SQL
// engine (sql/functions/datetime/interval.h).
//
// An interval is months, days and microseconds kept apart, as PostgreSQL keeps them. It is
// held as a 128-bit key (PhysicalKind::kDecimal): the high bits are the interval's length
// with 30-day months and 24-hour days — the order PostgreSQL compares intervals in — and the
// low 57 bits hold the months and days, so the three fields come back exactly. Sorting and
// MIN/MAX of keys order intervals as PostgreSQL does; '1 mon' and '30 days' are different
// keys (PostgreSQL groups them as one). The key limits months to ±(2^24 - 1) (1.39 million
// years); days are int32 and microseconds int64 as in PostgreSQL.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "format/datum.h"

namespace kl::format {

struct Interval {
  int32_t months = 0;
  int32_t days = 0;
  int64_t micros = 0;
  bool operator==(const Interval&) const = default;
};

constexpr int32_t kMaxIntervalMonths = (1 << 24) - 1;

// The key of `v` ("interval out of range" when its months pass the key's limit).
Result<Int128> IntervalKey(const Interval& v);
Interval IntervalFromKey(Int128 key);
// Length in microseconds with 30-day months and 24-hour days (PostgreSQL's comparison value).
Int128 IntervalLength(const Interval& v);
// IntervalStyle postgres: "1 year 2 mons 3 days 04:05:06.789", "-00:00:01", "00:00:00".
std::string FormatInterval(const Interval& v);

}  // namespace kl::format
