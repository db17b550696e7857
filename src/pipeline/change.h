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
};

using Changes = std::vector<Change>;

// Where a source has read up to, recorded in every commit of a job's sink:
// log partition -> next offset for log sources, or the last upstream
// snapshot consumed for table sources.
struct SourcePosition {
  std::map<int32_t, int64_t> log_offsets;
  int64_t table_snapshot = 0;

  bool operator==(const SourcePosition& o) const {
    return log_offsets == o.log_offsets && table_snapshot == o.table_snapshot;
  }
};

}  // namespace kl::pipeline
