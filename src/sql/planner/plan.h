// The logical plan: a tree of relational operators with bound expressions.
// The binder builds it, the optimiser (optimizer.h) rewrites it (filters and
// projections into scans, partition pruning, Top-N), and the executor
// (execution/executor.h) turns each node into a physical operator. Column
// references in a node's expressions index its child's output (for joins:
// the left columns, then the right ones).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/types.h"
#include "sql/binder/expression.h"
#include "sql/catalog/catalog.h"
#include "sql/parser/ast.h"

namespace kl::sql {

enum class OpKind : unsigned char {
  kScan,
  kValues,
  kFilter,
  kProject,
  kAggregate,
  kWindow,
  kJoin,
  kSort,
  kLimit,
  kTopN,  // sort + limit; with partition keys: the first rows of each partition (ROW_NUMBER <= n)
  kUnion,
  kSetOp,  // INTERSECT / EXCEPT [ALL]
  kUnnest,
};

struct SortKey {
  BoundExprPtr expr;
  bool descending = false;
  bool nulls_first = true;
};

struct AggregateCall {
  std::string name;  // upper-case function name
  BoundAggregate aggregate;
  std::vector<BoundExprPtr> args;  // over the child's output
  bool distinct = false;
  BoundExprPtr filter;  // FILTER (WHERE ...)
  DataType type;
};

enum class WindowFunctionKind : unsigned char {
  kRowNumber,
  kRank,
  kDenseRank,
  kPercentRank,
  kCumeDist,
  kNtile,
  kLag,
  kLead,
  kFirstValue,
  kLastValue,
  kNthValue,
  kAggregate
};

struct WindowCall {
  std::string name;
  WindowFunctionKind kind = WindowFunctionKind::kAggregate;
  BoundAggregate aggregate;  // kAggregate
  std::vector<BoundExprPtr> args;
  bool distinct = false;
  int64_t offset = 1;          // LAG/LEAD offset, NTILE buckets, NTH_VALUE n
  BoundExprPtr default_value;  // LAG/LEAD default
  bool ignore_nulls = false;
  std::vector<BoundExprPtr> partition_by;
  std::vector<SortKey> order_by;
  WindowFrame frame;  // resolved (defaults applied)
  bool has_order = false;
  DataType type;
};

struct LogicalOp;
using LogicalOpPtr = std::shared_ptr<LogicalOp>;

struct LogicalOp {
  OpKind kind = OpKind::kValues;
  std::vector<LogicalOpPtr> children;
  format::RowType schema;  // output columns

  // kScan
  std::shared_ptr<CatalogObject> table;
  std::vector<int> scan_columns;           // table columns read, in output order
  std::vector<BoundExprPtr> scan_filters;  // over the table's columns (all of them), for EXPLAIN
  std::vector<ScanFilter> scan_pushed;     // the same, as the scan applies them
  std::optional<int64_t> scan_limit;
  // FOR SYSTEM_TIME AS OF <column of the other side>: the right side of a lookup
  // join (read as of processing time in streaming jobs, as a plain scan in batch).
  bool scan_lookup = false;
  std::map<std::string, std::string> table_hints;
  bool scan_time_travel = false;
  // TABLE(SNAPSHOTS(TABLE t, INTERVAL ...)): the table as of every interval's end,
  // with that time as an extra last column (`snapshot_time`); streaming jobs only.
  int64_t scan_sample_ms = 0;    // FOR SYSTEM_TIME AS OF <time>: one snapshot, read in batch  // /*+ OPTIONS(...) */ on
                                 // the table (streaming sources read them)
  std::string scan_lookup_time;  // the time attribute named, for EXPLAIN
  // kValues
  std::vector<format::Row> rows;
  // kFilter
  BoundExprPtr predicate;
  // kProject
  std::vector<BoundExprPtr> exprs;
  // kAggregate
  std::vector<BoundExprPtr> groups;
  std::vector<AggregateCall> aggregates;
  // kWindow: output = child columns + one per call
  std::vector<WindowCall> windows;
  // kJoin
  JoinType join_type = JoinType::kInner;
  std::vector<BoundExprPtr> left_keys, right_keys;  // equality keys (over each side)
  BoundExprPtr join_condition;                      // the rest, over left ++ right
  // kSort, kTopN
  std::vector<SortKey> sort_keys;
  int64_t limit = -1;  // kLimit, kTopN: -1 = none
  int64_t offset = 0;
  std::vector<BoundExprPtr> partition_keys;  // kTopN per partition (output adds the row number when rank_column)
  bool rank_column = false;
  // kUnion / kSetOp
  bool all = false;
  SetOpKind set_op = SetOpKind::kUnion;
  // kUnnest: output = child columns + the elements (+ ordinality)
  BoundExprPtr unnest_expr;
  bool with_ordinality = false;
  bool unnest_outer = false;
  bool unnest_row_as_value = false;  // ROW elements stay one column (else one column per field)

  // EXPLAIN text, indented by depth.
  std::string Explain(int depth = 0) const;
};

// Calls f on every expression slot of `op` (null ones included; not its children's), in
// a fixed order with the scan filters last. `Op` is LogicalOp or const LogicalOp.
template <typename Op, typename F>
void ForEachExpression(Op& op, F&& f) {
  f(op.predicate);
  for (auto& e : op.exprs) f(e);
  for (auto& e : op.groups) f(e);
  for (auto& a : op.aggregates) {
    for (auto& e : a.args) f(e);
    f(a.filter);
  }
  for (auto& w : op.windows) {
    for (auto& e : w.args) f(e);
    f(w.default_value);
    for (auto& e : w.partition_by) f(e);
    for (auto& k : w.order_by) f(k.expr);
  }
  for (auto& e : op.left_keys) f(e);
  for (auto& e : op.right_keys) f(e);
  f(op.join_condition);
  for (auto& k : op.sort_keys) f(k.expr);
  for (auto& e : op.partition_keys) f(e);
  f(op.unnest_expr);
  for (auto& e : op.scan_filters) f(e);
}

}  // namespace kl::sql
