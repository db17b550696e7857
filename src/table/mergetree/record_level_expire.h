// Paimon's record-level expiry ('record-level.expire-time', 'record-level.time-field'): a
// record whose time field is older than the expire time is dropped when a compaction
// rewrites it, with no changelog record; a null time never expires. As in Paimon, the time
// field is INT (seconds), BIGINT (seconds, or milliseconds from 10^12 on) or TIMESTAMP
// (with or without local time zone), and a record is kept while now <= time + expire-time,
// in whole seconds.
//
// kubelake drops expired records only in compactions that take every file of a bucket (a
// full compaction): there the merged record of a key is the key's only record, so dropping
// it cannot bring back an older one from a file the compaction did not read, and the lookup
// state, which mirrors the merge of all the bucket's files, can forget the key with it.
#pragma once

#include <cstdint>
#include <optional>

#include "common/result.h"
#include "format/column.h"
#include "table/manifest/manifest.h"
#include "table/schema/schema.h"

namespace kl::table {

class RecordLevelExpire {
 public:
  // Nothing when the table has no 'record-level.expire-time'; InvalidArgument when the
  // options are incomplete or the time field is missing or of another type.
  static Result<std::optional<RecordLevelExpire>> Create(const TableSchema& schema);

  int64_t expire_seconds() const { return expire_seconds_; }
  int time_field() const { return field_; }

  // The time of row `row` of `column` (the time field's) in seconds, or nullopt for null.
  std::optional<int64_t> SecondsOf(const format::Column& column, size_t row) const;
  bool Expired(const format::Column& column, size_t row, int64_t now_seconds) const {
    auto t = SecondsOf(column, row);
    return t && now_seconds > *t + expire_seconds_;
  }
  // Whether `file` may hold an expired record: its least time is expired by its value
  // statistics (Paimon's isExpireFile), or its statistics cannot tell.
  bool FileMayHoldExpired(const DataFileMeta& file, int64_t now_seconds) const;
  // How often a writer checks its bucket for expired records: half the expire time (at
  // least a second), so a record is gone at most one and a half expire times after its time.
  int64_t check_interval_millis() const { return std::max<int64_t>(1000, expire_seconds_ * 500); }

 private:
  RecordLevelExpire(const TableSchema& schema, int field, int64_t expire_seconds)
      : schema_id_(schema.id), types_(), field_(field), expire_seconds_(expire_seconds) {
    for (const auto& f : schema.fields.fields()) types_.push_back(f.type);
  }
  std::optional<int64_t> SecondsOfValue(int64_t value) const;

  int64_t schema_id_;
  std::vector<format::DataType> types_;
  int field_;
  int64_t expire_seconds_;
};

}  // namespace kl::table
