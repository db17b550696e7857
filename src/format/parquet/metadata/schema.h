// The Parquet schema as a tree, its mapping to and from Paimon types, and the
// level structure (definition / repetition levels) that shredding and
// assembly of nested values follow.
//
// Paimon -> Parquet follows Java Paimon's ParquetSchemaConverter so that Java
// Paimon reads kubelake's files: STRING as BINARY (UTF8), TINYINT/SMALLINT as
// annotated INT32, DECIMAL by precision as INT32 / INT64 / FIXED_LEN_BYTE_ARRAY,
// TIMESTAMP(p) as INT64 millis (p <= 3), micros (p <= 6) or INT96 (p > 6),
// 3-level LIST, MAP with key_value, ROW as a group, and Paimon's field ids
// (with its derived ids for list elements and map keys/values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/parquet/metadata/metadata.h"
#include "format/types.h"

namespace kl::format::parquet {

// Paimon's ids for the parts of nested types that are not fields themselves.
int32_t ArrayElementFieldId(int32_t field_id, int depth);
int32_t MapKeyFieldId(int32_t field_id, int depth);
int32_t MapValueFieldId(int32_t field_id, int depth);

// Appends the schema elements of one top-level field (depth-first) to *out.
Status AppendParquetFields(const DataField& field, std::vector<SchemaElement>* out);
// The full element list for a file: a root named "paimon_schema", then every field.
Result<std::vector<SchemaElement>> ToParquetSchema(const RowType& row_type);

// How a leaf's stored values become kubelake values.
enum class LeafConversion : uint8_t {
  kBoolean,
  kInt,     // INT32 / INT64 as is (also DATE, TINYINT...)
  kUInt32,  // unsigned INT32 read as a non-negative BIGINT
  kFloat,
  kDouble,
  kBytes,
  kDecimalInt,    // INT32 / INT64 unscaled
  kDecimalBytes,  // big-endian two's complement BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY
  kTimestampMillis,
  kTimestampMicros,
  kTimestampNanos,
  kInt96,
  kTimeMillis,
  kTimeMicros,  // TIME stored in micros, kubelake keeps millis
  kTimeNanos,
};

struct SchemaNode {
  SchemaElement element;
  int parent = -1;
  std::vector<int> children;
  int16_t def_level = 0;  // definition level once this node is present
  int16_t rep_level = 0;  // repetition level of this node (repeated ancestors incl. itself)
  int leaf = -1;          // primitives: the column chunk index
  std::vector<std::string> path;
};

// One leaf column: where it sits and how its values convert.
struct LeafInfo {
  int node = -1;
  int16_t max_def = 0;
  int16_t max_rep = 0;
  PhysicalType physical = PhysicalType::kInt32;
  int32_t type_length = 0;
  LeafConversion conversion = LeafConversion::kInt;
  DataType type;       // the kubelake type its values take
  int top_level = -1;  // index of the top-level field it belongs to
};

// How values of one (possibly nested) field are assembled from, or shredded into, leaves.
struct LevelNode {
  enum class Kind : uint8_t { kLeaf, kRow, kList, kMap };
  Kind kind = Kind::kLeaf;
  bool nullable = true;
  int16_t def = 0;                  // definition level at which this value is non-null
  int16_t repeated_def = 0;         // kList/kMap: level at which the collection has an element
  int16_t rep = 0;                  // kList/kMap: repetition level of its elements
  int leaf = -1;                    // kLeaf
  int first_leaf = -1;              // first leaf below (its levels decide nulls and ends)
  int leaf_end = -1;                // leaves [first_leaf, leaf_end) lie below
  std::vector<LevelNode> children;  // kRow fields, kList element, kMap key and value
};

class FileSchema {
 public:
  static Result<FileSchema> Make(const std::vector<SchemaElement>& elements);

  const std::vector<SchemaNode>& nodes() const { return nodes_; }
  const std::vector<LeafInfo>& leaves() const { return leaves_; }
  // Top-level fields: node indexes, the kubelake row type, and level trees.
  const std::vector<int>& top_level() const { return top_level_; }
  const RowType& row_type() const { return row_type_; }
  const LevelNode& levels(size_t top) const { return level_trees_[top]; }
  // True when every top-level field carries a Parquet field_id (Paimon >= 1.0 files).
  bool has_field_ids() const { return has_field_ids_; }

 private:
  Status Convert();
  Result<DataType> ConvertType(int node, bool* all_ids, int32_t* id);
  Result<LevelNode> BuildLevels(int node, bool as_required);

  std::vector<SchemaNode> nodes_;
  std::vector<LeafInfo> leaves_;
  std::vector<int> top_level_;
  RowType row_type_;
  std::vector<LevelNode> level_trees_;
  bool has_field_ids_ = false;
};

}  // namespace kl::format::parquet
