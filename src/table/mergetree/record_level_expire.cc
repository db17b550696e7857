#include "table/mergetree/record_level_expire.h"

#include "common/clock.h"
#include "table/data/binary_row.h"

namespace kl::table {

using format::TypeRoot;

Result<std::optional<RecordLevelExpire>> RecordLevelExpire::Create(const TableSchema& schema) {
  TableOptions opts = schema.table_options();
  auto expire = opts.Get("record-level.expire-time");
  if (!expire) return std::optional<RecordLevelExpire>();
  int64_t millis = opts.GetDurationMillis("record-level.expire-time", -1);
  if (millis < 0) {
    return Status::InvalidArgument("option record-level.expire-time = \"" + *expire + "\" is not a duration");
  }
  auto name = opts.Get("record-level.time-field");
  if (!name) return Status::InvalidArgument("record-level.expire-time needs record-level.time-field");
  int field = schema.fields.IndexOf(*name);
  if (field < 0) return Status::InvalidArgument("record-level.time-field column \"" + *name + "\" is not a column");
  TypeRoot root = schema.fields.type(static_cast<size_t>(field)).root();
  if (root != TypeRoot::kInt && root != TypeRoot::kBigInt && root != TypeRoot::kTimestamp &&
      root != TypeRoot::kTimestampLtz) {
    return Status::InvalidArgument("record-level.time-field column \"" + *name +
                                   "\" must be INT, BIGINT or TIMESTAMP, not " +
                                   schema.fields.type(static_cast<size_t>(field)).ToString());
  }
  return std::optional<RecordLevelExpire>(RecordLevelExpire(schema, field, millis / 1000));
}

std::optional<int64_t> RecordLevelExpire::SecondsOfValue(int64_t value) const {
  switch (types_[static_cast<size_t>(field_)].root()) {
    case TypeRoot::kInt: return value;
    case TypeRoot::kBigInt:
      // Seconds, or milliseconds (as Paimon tells them apart).
      return value >= 1'000'000'000'000LL ? value / 1000 : value;
    default:  // TIMESTAMP, TIMESTAMP_LTZ: milliseconds since the epoch
      return FloorDiv(value, 1000);
  }
}

std::optional<int64_t> RecordLevelExpire::SecondsOf(const format::Column& column, size_t row) const {
  if (column.IsNull(row)) return std::nullopt;
  return SecondsOfValue(column.GetInt(row));
}

bool RecordLevelExpire::FileMayHoldExpired(const DataFileMeta& file, int64_t now_seconds) const {
  // Statistics of another schema or of some columns only are not read here.
  if (file.schema_id != schema_id_ || file.value_stats_cols || !file.value_stats.null_counts) return true;
  const auto& nulls = *file.value_stats.null_counts;
  const size_t f = static_cast<size_t>(field_);
  if (f >= nulls.size()) return true;
  auto min = DeserializeBinaryRow(file.value_stats.min_values, types_);
  if (!min.ok() || min->size() != types_.size()) return true;
  const format::Datum& least = (*min)[f];
  if (least.is_null()) {
    // No value: every time is null (nothing expires), unless the null count is unknown.
    return !nulls[f] || *nulls[f] < file.row_count;
  }
  int64_t value = least.kind() == format::Datum::Kind::kTimestamp ? least.as_timestamp().millis : least.as_int();
  auto t = SecondsOfValue(value);
  return t && now_seconds > *t + expire_seconds_;
}

}  // namespace kl::table
