// PostgreSQL's interval arithmetic, input syntax and calendar rules. How an interval is
// held (a 128-bit key) and printed is format/interval.h's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "format/interval.h"

namespace kl::sql {

using format::FormatInterval;
using format::Interval;
using format::IntervalFromKey;
using format::IntervalKey;
using format::IntervalLength;
using format::kMaxIntervalMonths;

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerHour = 3600 * kMicrosPerSecond;
constexpr int64_t kIntervalMicrosPerDay = 24 * kMicrosPerHour;

// PostgreSQL's input forms: '1 day 02:03:04', '3 mons', '-1 year +2 days', '1.5 hours',
// '10' (seconds), '@ 1 hour ago', ISO 8601 'P1Y2M3DT4H5M6S' and 'PT1.5S'.
// Bad text: "invalid input syntax for type interval: "text"".
Result<Interval> ParseInterval(std::string_view text);

Result<Interval> AddIntervals(const Interval& a, const Interval& b);
Result<Interval> NegateInterval(const Interval& v);
Result<Interval> MultiplyInterval(const Interval& v, double factor);
Result<Interval> DivideInterval(const Interval& v, double divisor);  // "division by zero" on 0

Result<Interval> JustifyHours(const Interval& v);     // 24 hours -> 1 day
Result<Interval> JustifyDays(const Interval& v);      // 30 days -> 1 month
Result<Interval> JustifyInterval(const Interval& v);  // both, with the signs made to agree

// a - b of two timestamps (microseconds since the epoch): days and time, no months.
Result<Interval> TimestampDifference(int64_t a_micros, int64_t b_micros);
// age(a, b): years, months and days between two wall-clock times as PostgreSQL counts them
// (a month borrowed is as long as the month of the earlier time).
Result<Interval> Age(int64_t a_wall_micros, int64_t b_wall_micros);
// Adds months (the day clamped to the month's last) and then days to a wall-clock time; wide
// because the result can pass the int64 range (callers check it against their own).
format::Int128 AddMonthsAndDays(int64_t wall_micros, int64_t months, int64_t days);

// extract(field from interval) as a number of units scaled by 10^scale (PostgreSQL's numeric):
// epoch, second (scale 6), milliseconds (scale 3), microseconds, minute, hour, day, month,
// quarter, year, decade, century, millennium. `field` is PostgreSQL's unit name, lower case
// ("second", "minute", ... as date_trunc spells them). Error for units an interval lacks.
Result<format::Int128> ExtractFromInterval(const std::string& field, const Interval& v, int* scale);
// date_trunc(field, interval): the fields below `field` zeroed.
Result<Interval> TruncateInterval(const std::string& field, const Interval& v);

// The unit a PostgreSQL spelling names ("mins", "hrs", "msec", "centuries", ...), in the one
// spelling extract, date_part and date_trunc go by ("minute", "hour", "milliseconds",
// "century"); "" for a spelling PostgreSQL does not know.
std::string PostgresUnit(const std::string& text);

}  // namespace kl::sql
