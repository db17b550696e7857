// Changes flowing through a job: rows with their change kind (+I, -U, +U, -D),
// as a changelog carries them.
#pragma once

#include <map>
#include <vector>

#include "format/datum.h"

namespace kl::pipeline {

struct Change {
  format::RowKind kind = format::RowKind::kInsert;
  format::Row row;
  // Which input of a multi-input job the change came from (MultiSource tags
  // it; operators with two inputs, such as joins, read it). 0 otherwise.
  uint8_t input = 0;
};

using Changes = std::vector<Change>;

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
