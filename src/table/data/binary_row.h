// Paimon's BinaryRow: the byte layout Java Paimon uses for partition values,
// primary keys and min/max statistics in manifests, and whose hash decides
// the bucket of a key. Matching it byte for byte is what lets kubelake and
// Java Paimon read each other's manifests and route a key to the same bucket.
//
// Layout: a null bitmap (first byte is the row kind header), one 8-byte slot
// per field, then variable-length data in 8-byte words. Strings/bytes of at
// most 7 bytes live inside their slot (high byte 0x80 | length); longer ones
// store (offset << 32 | length) and their bytes in the variable part.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::table {

class BinaryRowWriter {
 public:
  explicit BinaryRowWriter(size_t arity);
  void Reset();
  void SetNull(size_t pos);
  void WriteInt(size_t pos, int64_t v, format::TypeRoot root);
  void WriteDouble(size_t pos, double v, format::TypeRoot root);
  void WriteBytes(size_t pos, std::string_view v);
  void WriteDecimal(size_t pos, format::Int128 v, int precision);
  void WriteTimestamp(size_t pos, format::Timestamp v, int precision);
  // Any value of `type` (nested values are written as nested binary data).
  void Write(size_t pos, const format::Datum& d, const format::DataType& type);
  void WriteFromColumn(size_t pos, const format::Column& col, size_t row);
  // The row bytes (no arity prefix).
  const std::string& data() const { return buf_; }

 private:
  size_t SlotOffset(size_t pos) const { return null_bytes_ + pos * 8; }
  void WriteVariable(size_t pos, std::string_view bytes);
  size_t arity_;
  size_t null_bytes_;
  std::string buf_;
};

// Serializes `row` (fields of `types`) as a BinaryRow.
std::string EncodeBinaryRow(const format::Row& row, const std::vector<format::DataType>& types);
// As stored in manifests (SerializationUtils.serializeBinaryRow): 4-byte big-endian arity, then the row.
std::string SerializeBinaryRow(const format::Row& row, const std::vector<format::DataType>& types);
// Reads a serialized row back; fields beyond the stored arity read as null.
Result<format::Row> DeserializeBinaryRow(std::string_view data, const std::vector<format::DataType>& types);

// MurmurHash3 over 4-byte words with seed 42, as Paimon's MurmurHashUtils.hashBytesByWords.
int32_t HashBytesByWords(std::string_view bytes);
// The bucket of a bucket-key row (its BinaryRow bytes), as Paimon computes it.
int BucketOf(std::string_view binary_row, int num_buckets);

std::vector<format::DataType> TypesOf(const format::RowType& row);

}  // namespace kl::table
