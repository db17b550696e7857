// The executor: turns an optimised logical plan into physical operators and
// pulls batches through them. Operators are vectorised over ColumnBatch and
// pull-based, so a LIMIT stops its input (down to the table scan) as soon as
// it has its rows. Blocking operators (hash aggregate, hash join build, sort,
// window) account their memory against 'sql.memory-limit' and stop with an
// error naming the operator rather than exhaust the machine; they do not spill.
#pragma once

#include <memory>

#include "format/column.h"
#include "sql/execution/context.h"
#include "sql/planner/plan.h"

namespace kl::sql {

class Operator {
 public:
  explicit Operator(format::RowType schema) : schema_(std::move(schema)) {}
  virtual ~Operator() = default;
  const format::RowType& schema() const { return schema_; }
  // The next non-empty batch into `out`; false at the end.
  virtual Result<bool> Next(format::ColumnBatch* out) = 0;
  // Before the first Next(): the consumer keeps only rows whose output column `column`
  // equals one of `values` (non-null, sorted, distinct; of the column's type). An operator
  // that can drop other rows early passes this on (a scan then reads only what can hold
  // them: buckets, files, pages, key ranges); returns whether some operator took it. It is
  // a hint: rows outside `values` may still come.
  virtual bool NarrowTo(int column, const std::vector<format::Datum>& values) {
    (void)column;
    (void)values;
    return false;
  }

 protected:
  format::RowType schema_;
};

// Runs the plan's uncorrelated subqueries (replacing them by their values) and
// builds the operator tree.
Result<std::unique_ptr<Operator>> BuildOperators(const LogicalOpPtr& plan, ExecContext& ctx);

// Runs a plan to completion; `max_rows` < 0 for all rows.
Result<std::vector<format::ColumnBatch>> RunPlan(const LogicalOpPtr& plan, ExecContext& ctx, int64_t max_rows = -1);

}  // namespace kl::sql
