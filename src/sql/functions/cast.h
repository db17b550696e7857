// CAST with Flink's semantics: numbers narrow by wrapping and truncate
// toward zero, DECIMAL rounds half up and gives NULL on overflow, text is
// trimmed before parsing, values print as Flink prints them (TRUE, 1.0E10,
// '2024-01-02 03:04:05.000'). A failed CAST is an error naming the value and
// what it came from; TRY_CAST gives NULL instead.
#pragma once

#include <string>

#include "common/result.h"
#include "format/column.h"
#include "sql/execution/context.h"

namespace kl::sql {

using format::Column;
using format::DataType;
using format::Datum;

// Whether CAST from `from` to `to` is allowed at all (checked when binding).
bool CastSupported(const DataType& from, const DataType& to);

// Casts `rows` values of `src` into `out` (an empty column of type `to`). `what`
// names the source in errors (a column name or an expression).
Status CastColumn(ExecContext& ctx, const Column& src, size_t rows, const DataType& to, bool try_cast,
                  const std::string& what, Column* out);
Result<Datum> CastValue(ExecContext& ctx, const Datum& d, const DataType& from, const DataType& to,
                        const std::string& what = "");

// Text of a value as CAST(x AS STRING) gives it.
std::string ValueToText(ExecContext& ctx, const Datum& d, const DataType& type);
// PostgreSQL's output text of a value (not null), what its concat(), format() and the
// wire print: 't', '2', '1e+20', '{1,2}', '\x41', timestamptz in the session zone with
// its offset. A cast to text is the same but for booleans ('true').
Result<std::string> PostgresOutputText(ExecContext& ctx, const Datum& d, const DataType& type);
// Java's Double.toString / Float.toString.
std::string JavaDoubleText(double v, bool is_float = false);
// "yyyy-MM-dd HH:mm:ss[.f...]" with `precision` fraction digits.
std::string TimestampText(format::Timestamp ts, int precision);
std::string TimeText(int64_t millis_of_day, int precision);
// Parses "yyyy-MM-dd[ HH:mm[:ss[.fffffffff]]]" (also with 'T', and a trailing 'Z').
Result<format::Timestamp> ParseTimestampText(std::string_view text);
Result<int64_t> ParseDateText(std::string_view text);
Result<int64_t> ParseTimeText(std::string_view text);

}  // namespace kl::sql
