// TableSchema: a table's columns (with stable field ids), partition and
// primary keys and options — the JSON files schema/schema-N. Schema
// evolution writes a new schema file; data files remember the schema id
// they were written with and are read through a field-id mapping.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/types.h"
#include "table/schema/options.h"

namespace kl::table {

struct TableSchema {
  int64_t id = 0;
  format::RowType fields;
  int32_t highest_field_id = -1;
  std::vector<std::string> partition_keys;
  std::vector<std::string> primary_keys;
  std::map<std::string, std::string> options;
  std::string comment;
  int64_t time_millis = 0;

  TableOptions table_options() const { return TableOptions(options); }
  bool has_primary_key() const { return !primary_keys.empty(); }

  // Primary key fields that are not partition fields: the key stored in data files.
  std::vector<std::string> TrimmedPrimaryKeys() const;
  // Field indexes (into `fields`) of a list of names.
  Result<std::vector<int>> IndexesOf(const std::vector<std::string>& names) const;
  std::vector<int> PartitionIndexes() const;
  std::vector<int> TrimmedKeyIndexes() const;
  // Bucket key: the bucket-key option, else the trimmed primary key, else the whole row —
  // every field, partition fields included, as Paimon before 0.8 hashed bucketed append
  // tables without a bucket-key (later versions refuse to create such tables).
  std::vector<int> BucketKeyIndexes() const;
  // A primary key that lacks a partition field: a key may move between partitions
  // (Paimon's cross-partition upsert, which needs bucket = -1).
  bool CrossPartitionUpdate() const;
  format::RowType PartitionType() const;

  std::string ToJson() const;
  static Result<TableSchema> FromJson(std::string_view json, std::string_view what);
  // Checks keys exist, key fields are NOT NULL-able, options are valid.
  Status Validate() const;
};

// Builds a new schema (id 0) from user input: assigns field ids in order and
// makes primary-key fields NOT NULL, as Paimon does.
Result<TableSchema> NewTableSchema(std::vector<format::DataField> fields, std::vector<std::string> partition_keys,
                                   std::vector<std::string> primary_keys, std::map<std::string, std::string> options,
                                   std::string comment = "");

// schema/schema-N files of one table.
class SchemaManager {
 public:
  explicit SchemaManager(std::string table_path) : table_path_(std::move(table_path)) {}

  std::string SchemaPath(int64_t id) const;
  Result<TableSchema> Read(int64_t id) const;
  Result<TableSchema> Latest() const;
  // The latest schema's id, without reading it.
  Result<int64_t> LatestId() const;
  Result<std::vector<int64_t>> ListIds() const;
  // Writes schema-<schema.id>; AlreadyExists if that id is taken (a concurrent change won).
  Status Commit(const TableSchema& schema) const;

 private:
  std::string table_path_;
};

}  // namespace kl::table
