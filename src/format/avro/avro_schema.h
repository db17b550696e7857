// Avro schemas: parsed from / written to the JSON in a container file's
// header, and converted from Paimon row types the way Java Paimon does, so
// both write the same schema for the same table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "format/types.h"

namespace kl::format::avro {

enum class AvroType : unsigned char {
  kNull, kBoolean, kInt, kLong, kFloat, kDouble, kBytes, kString, kRecord, kEnum, kArray, kMap, kUnion, kFixed,
};

enum class LogicalType : unsigned char {
  kNone, kDecimal, kDate, kTimeMillis, kTimeMicros, kTimestampMillis, kTimestampMicros, kTimestampNanos,
  kLocalTimestampMillis, kLocalTimestampMicros, kLocalTimestampNanos, kUuid,
};

struct AvroSchema;
using AvroSchemaPtr = std::shared_ptr<const AvroSchema>;

struct AvroField {
  std::string name;
  AvroSchemaPtr schema;
  bool has_default = false;
  JsonValue default_value;
};

struct AvroSchema {
  AvroType type = AvroType::kNull;
  LogicalType logical = LogicalType::kNone;
  int precision = 0;  // decimal
  int scale = 0;      // decimal
  std::string name;   // record / enum / fixed (full name)
  int fixed_size = 0;
  std::vector<AvroField> fields;       // record
  std::vector<std::string> symbols;    // enum
  AvroSchemaPtr items;                 // array
  AvroSchemaPtr values;                // map
  std::vector<AvroSchemaPtr> branches;  // union

  // For ["null", X] / [X, "null"]: index of the null branch, else -1.
  int NullBranch() const;
  // The non-null branch of a nullable union, or this schema.
  const AvroSchema& NonNull() const;
};

Result<AvroSchemaPtr> ParseAvroSchema(std::string_view json);
std::string AvroSchemaToJson(const AvroSchema& schema);

// Paimon's mapping (AvroSchemaConverter): nullable types become ["null", T];
// nested records are named "<parent>_<field>"; MAP with a non-string key
// becomes an array of {key, value} records.
AvroSchemaPtr AvroSchemaFromRowType(const RowType& row, const std::string& record_name = "record",
                                    const std::string& ns = "org.apache.paimon.avro.generated");

// The Paimon type that a writer schema field reads as (for files written by
// other tools); used when no table schema says otherwise.
Result<DataType> DataTypeFromAvro(const AvroSchema& schema);

}  // namespace kl::format::avro
