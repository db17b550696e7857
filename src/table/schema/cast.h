// Casts for schema evolution: a file written under an older schema reads in the
// current one, each changed column cast the way Paimon casts (numbers widen or
// wrap, decimals rescale, anything to and from text, dates and timestamps to
// each other and to epoch seconds; nested values element by element, ROW
// fields by field id). Casts between TIMESTAMP (a wall-clock time) and
// TIMESTAMP WITH LOCAL TIME ZONE (an instant), epoch numbers, dates or text
// depend on the session time zone, which Paimon takes from the JVM; kubelake
// takes it from the table option kubelake.local-time-zone (UTC by default).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "common/result.h"
#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::table {

struct CastOptions {
  // The session time zone as a fixed offset from UTC.
  int64_t time_zone_offset_millis = 0;
  // A session zone whose offset changes (summer time): when set, these give the offset (east of UTC)
  // at an instant and at a wall-clock time instead of the fixed one. Set by SQL sessions with a
  // named zone; tables' schema evolution uses the fixed offset.
  std::function<int64_t(int64_t utc_millis)> offset_at_utc;
  std::function<int64_t(int64_t local_millis)> offset_at_local;

  int64_t OffsetAtUtc(int64_t utc_millis) const {
    return offset_at_utc ? offset_at_utc(utc_millis) : time_zone_offset_millis;
  }
  int64_t OffsetAtLocal(int64_t local_millis) const {
    return offset_at_local ? offset_at_local(local_millis) : time_zone_offset_millis;
  }
};

// "UTC", "Z", "GMT", "+08:00", "-0530", "+8", "UTC+08:00": a fixed offset in milliseconds.
Result<int64_t> ParseTimeZoneOffset(std::string_view zone);

// True when a value of `from` is already a valid value of `to` (the types differ at most
// in nullability, string lengths or atomic widths that share a representation).
bool SameRepresentation(const format::DataType& from, const format::DataType& to);

Result<format::Datum> CastDatum(const format::Datum& d, const format::DataType& from, const format::DataType& to,
                                const CastOptions& options = {});
// Casts a column to another type (schema evolution); errors name the types.
Result<format::Column> CastColumn(const format::Column& src, const format::DataType& to,
                                  const CastOptions& options = {});

}  // namespace kl::table
