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
#include <string_view>

#include "common/result.h"
#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::table {

struct CastOptions {
  // The session time zone as a fixed offset from UTC.
  int64_t time_zone_offset_millis = 0;
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
