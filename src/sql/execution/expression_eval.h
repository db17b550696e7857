// Evaluating bound expressions over a batch. Column references cost nothing
// (the result points into the input); everything else fills a new column.
// AND, OR and CASE evaluate their later arguments only on the rows that still
// need them, so `x <> 0 AND 10 / x > 1` never divides by zero.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/column.h"
#include "sql/binder/expression.h"
#include "sql/execution/context.h"

namespace kl::sql {

// A column that is either borrowed from the input batch or owned.
class ColumnValue {
 public:
  ColumnValue() = default;
  const format::Column& get() const { return borrowed_ != nullptr ? *borrowed_ : *owned_; }
  void Borrow(const format::Column* c) {
    borrowed_ = c;
    owned_.reset();
  }
  format::Column* Own(const format::DataType& type) {
    borrowed_ = nullptr;
    owned_ = std::make_unique<format::Column>(type);
    return owned_.get();
  }
  // The column, moved out when owned, copied when borrowed.
  format::Column Take(size_t rows);

 private:
  const format::Column* borrowed_ = nullptr;
  std::unique_ptr<format::Column> owned_;
};

// Evaluates `e` over the first `rows` rows of `input`.
Status Evaluate(const BoundExpr& e, const format::ColumnBatch& input, size_t rows, ExecContext& ctx, ColumnValue* out);
// The rows of `input` for which `predicate` is TRUE (not FALSE, not NULL).
Status EvaluateFilter(const BoundExpr& predicate, const format::ColumnBatch& input, ExecContext& ctx,
                      std::vector<uint32_t>* selected);
// A constant expression's value (no input).
Result<format::Datum> EvaluateConstant(const BoundExpr& e, ExecContext& ctx);

// Results of a correlated subquery by the outer values it ran for.
struct CorrelatedCache {
  struct Entry {
    format::Datum value;             // scalar, EXISTS, ARRAY
    std::shared_ptr<ValueSet> set;   // IN
  };
  std::unordered_map<std::string, Entry> results;
};
std::shared_ptr<CorrelatedCache> NewCorrelatedCache();
// A correlated subquery over `rows` outer rows (runs it once per distinct outer values).
Status EvalCorrelated(const BoundExpr& e, const format::ColumnBatch& input, size_t rows, ExecContext& ctx,
                      ColumnValue* out);

// Copies the rows `rows[0..n)` of `src` into `out` (which takes `src`'s schema).
void GatherBatch(const format::ColumnBatch& src, const uint32_t* rows, size_t n, format::ColumnBatch* out);

}  // namespace kl::sql
