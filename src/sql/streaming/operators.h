// The operators streaming INSERT jobs are planned onto, beside the pipeline
// runtime's own (pipeline/runtime/operator.h, lookup_join.h). Each is a
// pipeline::Operator over changes (+I, -U, +U, -D) with Flink's changelog
// semantics; the stateful ones checkpoint their state with the job's commits
// (pipeline/runtime/state.h), so a job killed at any instant resumes exactly.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/runtime/operator.h"
#include "sql/execution/context.h"
#include "sql/planner/plan.h"
#include "table/table.h"

namespace kl::sql::streaming {

using pipeline::Change;
using pipeline::Changes;

// Rows of changes <-> ColumnBatch (for vectorised expression evaluation).
format::ColumnBatch RowsToBatch(const format::RowType& type, const Changes& changes, size_t begin, size_t end);

// Filter and projection (a Calc): keeps the changes whose row satisfies
// `predicate` (may be null) and maps each to `exprs` (over the input row).
// Plain column references move values through without copying; JSON_VALUE
// and JSON_QUERY calls over one document share a parse per row. NOW(),
// PROCTIME() and UNIX_TIMESTAMP() take the time each batch is processed.
std::unique_ptr<pipeline::Operator> MakeCalc(format::RowType input, BoundExprPtr predicate,
                                             std::vector<BoundExprPtr> exprs, format::RowType output,
                                             const ExecContext& ctx, std::string name = "calc");

struct LogValueTap;  // connectors.h

// The input column that `calc` (of MakeCalc, taking rows of `input`) reads only as the
// document of its JSON calls (neither output nor read by another expression), else -1.
int CalcDocumentOnlyColumn(const pipeline::Operator& calc, const format::RowType& input);
// Makes such a Calc read that column's documents from `tap` whenever the batch it is given
// left them there (LogValueTap::filled), rather than from the batch.
void TapCalcDocuments(pipeline::Operator* calc, std::shared_ptr<LogValueTap> tap);
// How many documents Calcs of this process have read from taps so far: tests tell by it
// whether a job's Calc was tapped, since its results are the same either way.
uint64_t CalcTappedDocuments();

// A filter decided on a row as it is, without a batch (what a Calc does with such a
// filter): a conjunction of c IS [NOT] NULL, c IS [NOT] TRUE/FALSE/UNKNOWN, c = / <>
// a constant, c [NOT] IN (constants) over the row's columns. nullptr when
// `predicate` is not of that kind.
std::function<bool(const format::Row&)> MakeRowPredicate(const BoundExpr& predicate);
// The same predicate decided on row `i` of a batch's columns.
std::function<bool(const format::ColumnBatch&, size_t)> MakeBatchRowPredicate(const BoundExpr& predicate);

// GROUP BY with retractions: keeps each group's accumulators; after each
// batch of input, a changed group emits +I (first result), -U/+U (a changed
// result) or -D (its last row retracted). Output: the groups, then one
// column per aggregate (the plan's kAggregate schema).
Result<std::unique_ptr<pipeline::Operator>> MakeGroupAggregate(const LogicalOp& aggregate, const ExecContext& ctx);

// Top-N per partition (ROW_NUMBER() ... WHERE rn <= n, ORDER BY ... LIMIT n):
// Top-1 emits +I for a partition's first row and -U old / +U new when a
// strictly better row arrives (an equal or worse row emits nothing); for
// N > 1 without the row number a row entering the top N emits +I and the one
// it pushes out -D; with the row number every rank whose row changed emits
// -U/+U (+I/-D where the rank appears or empties). `insert_only`: the input
// never retracts, so only the top rows are kept.
struct RankOptions {
  bool insert_only = true;
  bool output_rank = false;  // the row number is read downstream
};
Result<std::unique_ptr<pipeline::Operator>> MakeRank(const LogicalOp& topn, RankOptions options,
                                                     const ExecContext& ctx);

// Regular join of two streams (input 0 = left, 1 = right) with both sides in
// state: inner, left, right and full outer. Accumulating input emits +I of
// each joined row, retracting input -D; an outer row that gains its first
// match retracts its NULL-padded row, and one that loses its last gets it back.
Result<std::unique_ptr<pipeline::Operator>> MakeStreamJoin(const LogicalOp& join, const ExecContext& ctx);

// Flink's ChangelogNormalize: turns the upserts of a primary-key table read
// without a changelog (+I/+U of a key, -D) into a complete changelog
// (-U old, +U new; -D of the stored row), keeping the latest row per key.
std::unique_ptr<pipeline::Operator> MakeChangelogNormalize(format::RowType type, std::vector<int> key_columns);

// LIMIT n [OFFSET m] over an insert-only stream: the rows from m to m + n pass.
std::unique_ptr<pipeline::Operator> MakeStreamLimit(format::RowType type, int64_t limit, int64_t offset);

// A tree of operators fed by several sources (joins, UNION ALL): each source's
// changes (Change::input = source index) go up through their node's chain;
// a node with several children sees each child's changes tagged with the
// child's position.
struct TreeNode {
  std::unique_ptr<pipeline::Operator> op;  // null: pass-through (UNION ALL)
  std::vector<int> children;               // indexes into the tree's nodes
  int source = -1;                         // a leaf: the source it reads
};
std::unique_ptr<pipeline::Operator> MakeOperatorTree(std::vector<TreeNode> nodes, int root, format::RowType output);

// What a sink does with each kind of change, by the target table (see docs/sql.md):
enum class SinkMode : unsigned char {
  kAppend,                  // append table: inserts only
  kRetract,                 // aggregation / changelog-producer = input: every kind as it is
  kUpsert,                  // deduplicate: -U dropped when its key comes back in the batch, else a delete
  kUpsertDropUpdateBefore,  // partial-update, first-row: -U dropped
  kIgnoreDelete,            // 'ignore-delete' (any of its names): -U and -D dropped
};
SinkMode SinkModeFor(const table::TableSchema& schema);
std::string_view SinkModeName(SinkMode mode);

// The last step before a sink: the query's columns into the target's
// (`into[i]` = target column of query column i; others NULL), cast to the
// target's types, NOT NULL enforced (ERROR: the job fails naming the column;
// DROP: the row is dropped), change kinds by `mode`.
struct SinkAdapterSpec {
  format::RowType query;
  format::RowType target;
  std::vector<int> into;
  std::vector<int> key_columns;  // of the target (kUpsert)
  SinkMode mode = SinkMode::kUpsert;
  bool drop_null_violations = false;  // 'table.exec.sink.not-null-enforcer' = 'DROP'
  std::string target_name;
};
std::unique_ptr<pipeline::Operator> MakeSinkAdapter(SinkAdapterSpec spec, const ExecContext& ctx);

}  // namespace kl::sql::streaming
