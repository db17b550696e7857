// Paimon's logical data types (BOOLEAN ... ROW) and fields with ids. Schema
// files, Avro and Parquet codecs and the table engine all speak these.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace kl::format {

enum class TypeRoot : unsigned char {
  kBoolean,
  kTinyInt,
  kSmallInt,
  kInt,
  kBigInt,
  kFloat,
  kDouble,
  kDecimal,
  kChar,
  kVarChar,
  kBinary,
  kVarBinary,
  kDate,          // days since 1970-01-01
  kTime,          // milliseconds of the day
  kTimestamp,     // TIMESTAMP(p): wall-clock time, no zone
  kTimestampLtz,  // TIMESTAMP(p) WITH LOCAL TIME ZONE: an instant
  kArray,
  kMap,
  kMultiset,
  kRow,
  // A PostgreSQL interval (months, days, microseconds): a type of SQL expressions only, never
  // of a Paimon column; held as a 128-bit key (interval.h).
  kInterval,
};

// How a value of a type is held in memory (see datum.h / column.h).
enum class PhysicalKind : unsigned char {
  kInt,        // BOOLEAN, TINYINT..BIGINT, DATE, TIME
  kDouble,     // FLOAT, DOUBLE
  kBytes,      // CHAR, VARCHAR, BINARY, VARBINARY
  kDecimal,    // DECIMAL (128-bit unscaled value), INTERVAL (128-bit key)
  kTimestamp,  // TIMESTAMP, TIMESTAMP_LTZ (millis + nanos of milli)
  kNested,     // ARRAY, MAP, MULTISET, ROW
};

struct DataField;

class DataType {
 public:
  static constexpr int kMaxLength = 2147483647;

  DataType() = default;  // INT, nullable

  static DataType Boolean() { return DataType(TypeRoot::kBoolean); }
  static DataType TinyInt() { return DataType(TypeRoot::kTinyInt); }
  static DataType SmallInt() { return DataType(TypeRoot::kSmallInt); }
  static DataType Int() { return DataType(TypeRoot::kInt); }
  static DataType BigInt() { return DataType(TypeRoot::kBigInt); }
  static DataType Float() { return DataType(TypeRoot::kFloat); }
  static DataType Double() { return DataType(TypeRoot::kDouble); }
  static DataType Decimal(int precision, int scale);
  static DataType Char(int length);
  static DataType VarChar(int length);
  static DataType String() { return VarChar(kMaxLength); }
  static DataType Binary(int length);
  static DataType VarBinary(int length);
  static DataType Bytes() { return VarBinary(kMaxLength); }
  static DataType Date() { return DataType(TypeRoot::kDate); }
  static DataType Time(int precision = 0);
  static DataType Timestamp(int precision = 6);
  static DataType TimestampLtz(int precision = 6);
  static DataType Array(DataType element);
  static DataType Multiset(DataType element);
  static DataType Map(DataType key, DataType value);
  static DataType Row(std::vector<DataField> fields);
  static DataType Interval() { return DataType(TypeRoot::kInterval); }

  TypeRoot root() const { return root_; }
  bool nullable() const { return nullable_; }
  DataType WithNullable(bool nullable) const;
  DataType NotNull() const { return WithNullable(false); }

  int length() const { return length_; }         // CHAR/VARCHAR/BINARY/VARBINARY
  int precision() const { return precision_; }   // DECIMAL, TIME, TIMESTAMP*
  int scale() const { return scale_; }           // DECIMAL
  const DataType& element() const;               // ARRAY, MULTISET
  const DataType& key() const;                   // MAP
  const DataType& value() const;                 // MAP
  const std::vector<DataField>& fields() const;  // ROW

  PhysicalKind physical() const;
  bool is_string() const { return root_ == TypeRoot::kChar || root_ == TypeRoot::kVarChar; }
  bool is_binary() const { return root_ == TypeRoot::kBinary || root_ == TypeRoot::kVarBinary; }
  bool is_integer() const;
  bool is_nested() const { return physical() == PhysicalKind::kNested; }

  // Paimon's SQL spelling: "INT NOT NULL", "STRING", "DECIMAL(10, 2)",
  // "TIMESTAMP(3) WITH LOCAL TIME ZONE", "ARRAY<INT>", "ROW<`a` INT>".
  std::string ToString() const;
  // Schema-file form: a string for atomic types, an object for nested ones.
  JsonValue ToJson() const;
  static Result<DataType> FromJson(const JsonValue& json);
  static Result<DataType> Parse(std::string_view text);

  // Equal types including nullability and nested field ids.
  bool operator==(const DataType& other) const;
  bool EqualsIgnoreNullable(const DataType& other) const;

 private:
  explicit DataType(TypeRoot root) : root_(root) {}

  TypeRoot root_ = TypeRoot::kInt;
  bool nullable_ = true;
  int length_ = 0;
  int precision_ = 0;
  int scale_ = 0;
  // element (ARRAY/MULTISET) or key+value (MAP), and fields (ROW); shared, immutable.
  std::shared_ptr<const std::vector<DataType>> children_;
  std::shared_ptr<const std::vector<DataField>> fields_;
};

struct DataField {
  int32_t id = 0;
  std::string name;
  DataType type;
  std::string description;

  bool operator==(const DataField& other) const {
    return id == other.id && name == other.name && type == other.type && description == other.description;
  }
  JsonValue ToJson() const;
  static Result<DataField> FromJson(const JsonValue& json);
};

// An ordered list of fields: a table's columns, a file's columns, a key.
class RowType {
 public:
  RowType() = default;
  explicit RowType(std::vector<DataField> fields) : fields_(std::move(fields)) {}

  const std::vector<DataField>& fields() const { return fields_; }
  std::vector<DataField>& mutable_fields() { return fields_; }
  size_t size() const { return fields_.size(); }
  const DataField& field(size_t i) const { return fields_[i]; }
  const DataType& type(size_t i) const { return fields_[i].type; }
  // Index of the field named `name`, or -1.
  int IndexOf(std::string_view name) const;
  int IndexOfId(int32_t id) const;
  std::vector<std::string> names() const;
  // The sub-row of the given field indexes, in that order.
  RowType Project(const std::vector<int>& indexes) const;
  bool operator==(const RowType& other) const { return fields_ == other.fields_; }

 private:
  std::vector<DataField> fields_;
};

}  // namespace kl::format
