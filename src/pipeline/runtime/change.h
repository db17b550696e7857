// Changes flowing through a job: rows with their change kind (+I, -U, +U, -D),
// as a changelog carries them.
#pragma once

#include <map>
#include <vector>

#include "format/column.h"
#include "format/datum.h"
#include "table/operation/table_read.h"

namespace kl::pipeline {

struct Change {
  format::RowKind kind = format::RowKind::kInsert;
  format::Row row;
  // Which input of a multi-input job the change came from (MultiSource tags
  // it; operators with two inputs, such as joins, read it). 0 otherwise.
  uint8_t input = 0;
};

using Changes = std::vector<Change>;

// Changes as columns: rows of one type and each row's kind, as a table read gives
// them. Operators that work on whole batches pass these along instead of a Change
// (and a Datum per value) per row.
using ChangeBatch = table::RowsWithKinds;

// Moves `from`'s rows to the end of `to` (`to` takes them whole when it is empty).
void AppendBatch(ChangeBatch& from, ChangeBatch* to);
// `changes` as a batch of `type`, appended to `out` (of that type, or empty); the rows are left empty.
void AppendChangesToBatch(const format::RowType& type, Changes& changes, ChangeBatch* out);
// `batch`'s rows as changes, appended to `out`.
void AppendBatchToChanges(const ChangeBatch& batch, Changes* out);

// Where a source has read up to, recorded in every commit of a job's sink:
// log partition -> next offset for log sources, or the last upstream
// snapshot consumed for table sources.
// A job reading several sources (MultiSource) has one position per input in
// `inputs`; those are kept in the job's state checkpoints (state.h), since a
// table snapshot records only one set of log offsets.
struct SourcePosition {
  std::map<int32_t, int64_t> log_offsets;
  int64_t table_snapshot = 0;
  std::vector<SourcePosition> inputs;

  bool operator==(const SourcePosition& o) const {
    return log_offsets == o.log_offsets && table_snapshot == o.table_snapshot && inputs == o.inputs;
  }
};

}  // namespace kl::pipeline
