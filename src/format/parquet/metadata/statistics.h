// Column statistics in kubelake terms (min/max as Datum) and their Parquet
// byte encoding, per the column's sort order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "format/datum.h"
#include "format/parquet/metadata/metadata.h"
#include "format/parquet/metadata/schema.h"

namespace kl::format::parquet {

// Statistics of one column over a row group or a page.
struct ColumnStatistics {
  bool has_min_max = false;
  Datum min, max;  // of the column's kubelake type; bounds, possibly not exact (truncated strings)
  bool has_null_count = false;
  int64_t null_count = 0;
  int64_t num_values = 0;  // rows in the row group / values in the page
};

// Statistics of top-level file column `i`, or nullptr when unknown.
using StatsLookup = std::function<const ColumnStatistics*(int column)>;
// Answers "may rows with these statistics match?"; false lets the reader skip them. It must
// treat unknown (nullptr) statistics as "may match".
using StatsPredicate = std::function<bool(const StatsLookup& stats)>;

// Decodes one Parquet min/max value of a leaf; false when the bytes do not fit.
bool DecodeStatValue(const LeafInfo& leaf, std::string_view bytes, Datum* out);
// Encodes a leaf-typed Datum as Parquet statistics bytes (plain encoding; big-endian for decimals).
std::string EncodeStatValue(const LeafInfo& leaf, const Datum& value);
// Statistics of a flat leaf from its Parquet form. Legacy min/max are used only where the
// old signed byte order agrees with the type's order.
ColumnStatistics StatisticsFromParquet(const LeafInfo& leaf, const Statistics& stats, int64_t num_values);

// Decimal helpers: big-endian two's complement of `size` bytes.
bool DecimalFromBigEndian(std::string_view bytes, Int128* out);
std::string DecimalToBigEndian(Int128 v, int size);

// Floor division and timestamp conversions that stay defined for every int64 a file may
// hold (INT64_MIN included).
int64_t FloorDiv(int64_t a, int64_t b);
Timestamp TimestampFromMicros(int64_t micros);
Timestamp TimestampFromNanos(int64_t nanos);

// INT96 timestamps: nanoseconds of the day and Julian day, little endian.
Timestamp Int96ToTimestamp(const char* bytes12);
void TimestampToInt96(Timestamp ts, char* bytes12);

}  // namespace kl::format::parquet
