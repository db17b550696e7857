// Merge functions: how the records of one primary key, in sequence order,
// become the key's single current record. One per merge engine:
// deduplicate (last wins), first-row (first wins), partial-update (non-null
// fields overwrite; sequence groups; delete handling) and aggregation
// (per-column aggregate functions with retraction).
#pragma once

#include <memory>
#include <vector>

#include "common/result.h"
#include "format/datum.h"
#include "table/data/kv.h"
#include "table/schema/schema.h"

namespace kl::table {

struct MergeResult {
  bool present = false;    // false: the key has no record (all input was ignored)
  bool by_ref = false;     // true: `ref` is the result unchanged (no copy made)
  KvRef ref;
  format::Row row;         // the merged values when !by_ref
  format::RowKind kind = format::RowKind::kInsert;
  int64_t seq = 0;

  bool is_retract() const { return format::IsRetract(kind); }
};

class MergeFunction {
 public:
  virtual ~MergeFunction() = default;
  virtual void Reset() = 0;
  // Records of one key arrive in merge order (see KeyComparator::CompareSequence).
  virtual Status Add(const KvRef& kv) = 0;
  virtual Status GetResult(MergeResult* out) = 0;
  // True when results are always one of the inputs (no values are combined).
  virtual bool picks_input() const { return false; }
};

// What a merge result is for. A view is what readers see. A stored record
// goes back into a data file and will be merged again with older records:
// there, a key whose records were all retractions must stay a retraction
// (folded into one record), or merging it later with older values would
// lose it.
enum class MergeMode : unsigned char { kView, kStore };

// Creates the table's merge function over records whose values have the
// columns of `value_type` (a subset of the table's columns, in table order,
// that includes the key and sequence fields).
Result<std::unique_ptr<MergeFunction>> CreateMergeFunction(const TableSchema& schema,
                                                           const format::RowType& value_type,
                                                           MergeMode mode = MergeMode::kView);

// True when partial-update sequence groups (fields.<seq>.sequence-group) are configured.
bool HasSequenceGroups(const TableSchema& schema);

// Whether merging needs every column (partial-update, aggregation) or only
// keys and sequence fields (deduplicate, first-row), for projected reads.
bool MergeNeedsAllColumns(const TableSchema& schema);

}  // namespace kl::table
