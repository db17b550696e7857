// Lookup join: enriches each change with columns of a table row found by
// key (LEFT JOIN: nulls when there is none). The table is read whole into
// memory and re-read when a newer snapshot appears (checked at most every
// `refresh_ms`), which suits dimension tables.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/runtime/operator.h"
#include "table/table.h"

namespace kl::pipeline {

struct LookupJoinSpec {
  std::shared_ptr<table::Table> table;
  std::vector<std::string> input_keys;    // columns of the input row
  std::vector<std::string> table_keys;    // matching columns of the table
  std::vector<std::string> columns;       // table columns appended to the output
  std::vector<std::string> output_names;  // their names in the output (defaults to `columns`)
  int64_t refresh_ms = 2000;
  // Input key columns by position (instead of `input_keys` by name).
  std::vector<int> input_key_indexes;
  // Table rows this accepts are the ones joined (conditions on the table alone).
  std::function<bool(const format::Row& table_row)> table_filter;
  // INNER: a change without a matching table row is dropped (else: NULLs, LEFT JOIN).
  bool inner = false;
};

Result<std::unique_ptr<Operator>> MakeLookupJoin(const format::RowType& input, LookupJoinSpec spec);

}  // namespace kl::pipeline
