// Decoding of flat Avro records — every field a primitive (boolean, int, long,
// float, double, string, bytes) or such a primitive in a nullable union, as
// Paimon writes a table's data and changelog files — into columns, many records
// at a time. Values are first gathered per column (string values as views into
// the decompressed block) and then appended to each column in one bulk call, so
// a record costs a few varint reads per field instead of a schema dispatch and
// a column append per value. Files with any other field read through the
// general decoder.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/avro/avro_schema.h"
#include "format/column.h"
#include "format/types.h"

namespace kl::format::avro {

class FlatRecordDecoder {
 public:
  // `fields[i]` is the writer schema of the record's i-th field and `targets[i]` the
  // field of `read_type` (the columns decoded into) it is read as (-1: skipped). Null
  // when a field is not flat or its column's kind cannot hold it.
  static std::unique_ptr<FlatRecordDecoder> Make(const std::vector<const AvroSchema*>& fields,
                                                 const std::vector<int>& targets, const RowType& read_type);

  // Decodes `count` records from [*pos, end) into the target columns, advancing *pos.
  // False on a bad or truncated record: *bad_record is its index among the `count`,
  // *error says what, and the columns are left as they were.
  bool Decode(const uint8_t** pos, const uint8_t* end, size_t count, std::vector<Column>* columns, size_t* bad_record,
              std::string* error);

 private:
  enum class Op : uint8_t { kBoolean, kLong, kFloat, kDouble, kBytes };
  struct Field {
    Op op;
    int8_t null_branch;  // -1: not a union; else the union index of null (0 or 1)
    int target;          // index into scratch_ (and the target column), -1: skipped
  };
  // One target column's values of the records being decoded (an int or long field
  // may be read into a DOUBLE column).
  struct Scratch {
    int column = 0;
    PhysicalKind kind = PhysicalKind::kInt;  // of the column
    std::vector<int64_t> ints;
    std::vector<double> doubles;
    std::vector<std::string_view> views;
    std::vector<uint8_t> nulls;
    bool any_null = false;
  };

  FlatRecordDecoder() = default;
  void Reset(size_t count);
  void Flush(std::vector<Column>* columns, size_t count);

  std::vector<Field> fields_;
  std::vector<Scratch> scratch_;
};

}  // namespace kl::format::avro
