// The physical operators (internal to execution/): one factory per operator.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "sql/execution/executor.h"
#include "sql/execution/expression_eval.h"

namespace kl::sql {

using OperatorPtr = std::unique_ptr<Operator>;

OperatorPtr NewHashAggregate(const LogicalOp& op, OperatorPtr child, ExecContext& ctx);
OperatorPtr NewHashJoin(const LogicalOp& op, OperatorPtr left, OperatorPtr right, ExecContext& ctx);
OperatorPtr NewSort(const LogicalOp& op, OperatorPtr child, ExecContext& ctx);
OperatorPtr NewTopN(const LogicalOp& op, OperatorPtr child, ExecContext& ctx);
OperatorPtr NewWindow(const LogicalOp& op, OperatorPtr child, ExecContext& ctx);

// 64-bit hashes of rows [0, n) over `columns`, combined column by column.
void HashRows(const std::vector<const format::Column*>& columns, size_t n, std::vector<uint64_t>* hashes);
// Values equal for grouping (NULL equals NULL).
inline bool ValueEqual(const format::Column& a, size_t i, const format::Column& b, size_t j) {
  bool an = a.IsNull(i), bn = b.IsNull(j);
  if (an || bn) return an && bn;
  switch (a.kind()) {
    case format::PhysicalKind::kInt: return a.GetInt(i) == b.GetInt(j);
    case format::PhysicalKind::kBytes: {
      std::string_view x = a.GetBytes(i), y = b.GetBytes(j);
      if (x.size() != y.size()) return false;
      if (x.size() <= 8) {
        for (size_t k = 0; k < x.size(); ++k) {
          if (x[k] != y[k]) return false;
        }
        return true;
      }
      return std::memcmp(x.data(), y.data(), x.size()) == 0;
    }
    default: return a.CompareAt(i, b, j) == 0;
  }
}

// Rows equal on every key column (NULL equals NULL: grouping semantics).
inline bool KeysEqual(const std::vector<const format::Column*>& a, size_t i,
                      const std::vector<const format::Column*>& b, size_t j) {
  for (size_t k = 0; k < a.size(); ++k) {
    if (!ValueEqual(*a[k], i, *b[k], j)) return false;
  }
  return true;
}

// Compares row i of `a` with row j of `b` by sort keys (columns per key).
int CompareBy(const std::vector<const format::Column*>& a, size_t i, const std::vector<const format::Column*>& b,
              size_t j, const std::vector<SortKey>& keys);

// Reads the whole input into one batch (checking the memory limit).
Result<format::ColumnBatch> Drain(Operator* child, ExecContext& ctx, const char* what);

// Evaluates expressions over a batch into owned columns.
Status EvaluateAll(const std::vector<BoundExprPtr>& exprs, const format::ColumnBatch& in, ExecContext& ctx,
                   std::vector<format::Column>* out);
// Evaluates expressions over a batch; column references borrow the input's columns (valid
// while `in` is). `ptrs` gets one column per expression.
Status EvaluateAllBorrowed(const std::vector<BoundExprPtr>& exprs, const format::ColumnBatch& in, ExecContext& ctx,
                           std::vector<ColumnValue>* values, std::vector<const format::Column*>* ptrs);

}  // namespace kl::sql
