// The executor: turns an optimised logical plan into physical operators and
// pulls batches through them. Operators are vectorised over ColumnBatch and
// pull-based, so a LIMIT stops its input (down to the table scan) as soon as
// it has its rows. Blocking operators (hash aggregate, hash join build, sort,
// window) account their memory against 'sql.memory-limit' and stop with an
// error naming the operator rather than exhaust the machine; they do not spill.
#pragma once

#include <map>
#include <memory>

#include "format/column.h"
#include "sql/execution/context.h"
#include "sql/planner/plan.h"

namespace kl::sql {

// Key values a consumer keeps (Operator::NarrowTo): distinct rows of non-null values,
// one per column.
struct KeySet {
  std::vector<int> columns;
  std::vector<format::Row> rows;

  // The same keys over the columns `to[i]` maps them to, dropping those mapped to -1
  // (their rows projected and made distinct again); empty when none is left.
  KeySet Map(const std::vector<int>& to) const;
  // Column i's distinct values, sorted.
  std::vector<format::Datum> Values(size_t i) const;
};

// Results kept between the executions of one kept plan (ExecContext::kept_results), each
// made from the snapshots of the tables it reads and used again only while every one of
// them is still the current snapshot: a hash join's table of its right input (a dimension
// joined to look-ups) by the input's plan node. Executions sharing one run one at a time.
struct KeptJoinSide;  // hash_join.cc
struct KeptResults {
  std::map<const LogicalOp*, std::shared_ptr<KeptJoinSide>> joins;
  int64_t reused = 0;  // joins that took a kept table
  int64_t made = 0;    // kept tables made
};

class Operator {
 public:
  explicit Operator(format::RowType schema) : schema_(std::move(schema)) {}
  virtual ~Operator() = default;
  const format::RowType& schema() const { return schema_; }
  // The next non-empty batch into `out`; false at the end.
  virtual Result<bool> Next(format::ColumnBatch* out) = 0;
  // Before the first Next(): the consumer keeps only rows whose values in output columns
  // `keys.columns` equal one of `keys.rows`. An operator that can drop other rows early
  // passes this on (a scan then reads only what can hold them: buckets, files, pages, key
  // ranges); returns whether some operator took it. It is a hint: other rows may still come.
  virtual bool NarrowTo(const KeySet& keys) {
    (void)keys;
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
