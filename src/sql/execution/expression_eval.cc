#include "sql/execution/expression_eval.h"

#include "sql/functions/cast.h"

namespace kl::sql {

using format::Column;
using format::ColumnBatch;
using format::Datum;

format::Column ColumnValue::Take(size_t rows) {
  if (owned_ != nullptr) return std::move(*owned_);
  Column c(borrowed_->type());
  c.AppendRange(*borrowed_, 0, rows);
  return c;
}

void GatherBatch(const ColumnBatch& src, const uint32_t* rows, size_t n, ColumnBatch* out) {
  *out = ColumnBatch(src.schema());
  std::vector<size_t> idx(rows, rows + n);
  for (size_t c = 0; c < src.num_columns(); ++c) out->mutable_column(c).AppendGather(src.column(c), idx.data(), n);
  out->SetNumRows(n);
}

namespace {

// Truth of a boolean column at a row: 1 true, 0 false, -1 null.
inline int Truth(const Column& c, size_t i) { return c.IsNull(i) ? -1 : (c.GetInt(i) != 0 ? 1 : 0); }

// Evaluates `e` on the subset `rows` of input, scattering results into `out` positions.
// Returns a column of size rows.size() in subset order.
Status EvaluateSubset(const BoundExpr& e, const ColumnBatch& input, const std::vector<uint32_t>& rows, ExecContext& ctx,
                      Column* out_subset) {
  // Only the columns the expression reads are gathered.
  std::vector<int> cols;
  CollectColumns(e, &cols);
  ColumnBatch sub(input.schema());
  std::vector<size_t> idx(rows.begin(), rows.end());
  for (int c : cols) {
    Column& dst = sub.mutable_column(c);
    if (dst.size() == 0) dst.AppendGather(input.column(c), idx.data(), idx.size());
  }
  sub.SetNumRows(rows.size());
  ColumnValue v;
  KL_RETURN_IF_ERROR(Evaluate(e, sub, rows.size(), ctx, &v));
  *out_subset = v.Take(rows.size());
  return Status::OK();
}

Status EvalLogic(const BoundExpr& e, const ColumnBatch& input, size_t rows, ExecContext& ctx, ColumnValue* out) {
  bool is_and = e.kind == BoundKind::kAnd;
  // state per row: 1 true, 0 false, -1 null. AND starts true, OR starts false.
  std::vector<int8_t> state(rows, is_and ? 1 : 0);
  std::vector<uint32_t> pending(rows);
  for (size_t i = 0; i < rows; ++i) pending[i] = static_cast<uint32_t>(i);
  for (const auto& arg : e.args) {
    if (pending.empty()) break;
    Column sub(arg->type);
    if (pending.size() == rows) {
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(*arg, input, rows, ctx, &v));
      sub = v.Take(rows);
    } else {
      KL_RETURN_IF_ERROR(EvaluateSubset(*arg, input, pending, ctx, &sub));
    }
    std::vector<uint32_t> next;
    next.reserve(pending.size());
    for (size_t k = 0; k < pending.size(); ++k) {
      uint32_t r = pending[k];
      int t = Truth(sub, k);
      if (is_and) {
        if (t == 0) {
          state[r] = 0;  // decided
          continue;
        }
        if (t == -1) state[r] = -1;
      } else {
        if (t == 1) {
          state[r] = 1;
          continue;
        }
        if (t == -1) state[r] = -1;
      }
      next.push_back(r);
    }
    pending.swap(next);
  }
  Column* c = out->Own(e.type);
  c->Reserve(rows);
  for (size_t i = 0; i < rows; ++i) {
    if (state[i] < 0) {
      c->AppendNull();
    } else {
      c->AppendInt(state[i]);
    }
  }
  return Status::OK();
}

Status EvalCase(const BoundExpr& e, const ColumnBatch& input, size_t rows, ExecContext& ctx, ColumnValue* out) {
  // args: when0, then0, when1, then1, ..., else
  size_t pairs = (e.args.size() - 1) / 2;
  std::vector<int> branch(rows, static_cast<int>(pairs));  // default: else
  std::vector<uint32_t> pending(rows);
  for (size_t i = 0; i < rows; ++i) pending[i] = static_cast<uint32_t>(i);
  for (size_t p = 0; p < pairs && !pending.empty(); ++p) {
    Column cond(e.args[2 * p]->type);
    if (pending.size() == rows) {
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(*e.args[2 * p], input, rows, ctx, &v));
      cond = v.Take(rows);
    } else {
      KL_RETURN_IF_ERROR(EvaluateSubset(*e.args[2 * p], input, pending, ctx, &cond));
    }
    std::vector<uint32_t> next;
    for (size_t k = 0; k < pending.size(); ++k) {
      if (Truth(cond, k) == 1) {
        branch[pending[k]] = static_cast<int>(p);
      } else {
        next.push_back(pending[k]);
      }
    }
    pending.swap(next);
  }
  // Evaluate each result branch on its rows.
  std::vector<std::vector<uint32_t>> rows_of(pairs + 1);
  for (size_t i = 0; i < rows; ++i) rows_of[branch[i]].push_back(static_cast<uint32_t>(i));
  std::vector<Column> values(pairs + 1, Column(e.type));
  for (size_t b = 0; b <= pairs; ++b) {
    if (rows_of[b].empty()) continue;
    const BoundExpr& value = b < pairs ? *e.args[2 * b + 1] : *e.args.back();
    if (rows_of[b].size() == rows) {
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(value, input, rows, ctx, &v));
      values[b] = v.Take(rows);
    } else {
      KL_RETURN_IF_ERROR(EvaluateSubset(value, input, rows_of[b], ctx, &values[b]));
    }
  }
  Column* c = out->Own(e.type);
  c->Reserve(rows);
  std::vector<size_t> next_index(pairs + 1, 0);
  for (size_t i = 0; i < rows; ++i) {
    int b = branch[i];
    c->AppendFrom(values[b], next_index[b]++);
  }
  return Status::OK();
}

Status EvalInList(const BoundExpr& e, const ColumnBatch& input, size_t rows, ExecContext& ctx, ColumnValue* out) {
  ColumnValue needle;
  KL_RETURN_IF_ERROR(Evaluate(*e.args[0], input, rows, ctx, &needle));
  const Column& n = needle.get();
  Column* c = out->Own(e.type);
  c->Reserve(rows);
  std::string key;
  if (e.value_set != nullptr) {
    const ValueSet& set = *e.value_set;
    for (size_t i = 0; i < rows; ++i) {
      if (n.IsNull(i)) {
        if (set.values.empty() && !set.has_null) {
          c->AppendInt(e.negated ? 1 : 0);  // x IN (empty) is FALSE even for NULL x
        } else {
          c->AppendNull();
        }
        continue;
      }
      key.clear();
      EncodeKey(n, i, &key);
      if (set.values.count(key) > 0) {
        c->AppendInt(e.negated ? 0 : 1);
      } else if (set.has_null) {
        c->AppendNull();
      } else {
        c->AppendInt(e.negated ? 1 : 0);
      }
    }
    return Status::OK();
  }
  std::vector<ColumnValue> items(e.args.size() - 1);
  for (size_t k = 1; k < e.args.size(); ++k) KL_RETURN_IF_ERROR(Evaluate(*e.args[k], input, rows, ctx, &items[k - 1]));
  for (size_t i = 0; i < rows; ++i) {
    if (n.IsNull(i)) {
      c->AppendNull();
      continue;
    }
    bool found = false, saw_null = false;
    for (auto& item : items) {
      const Column& ic = item.get();
      if (ic.IsNull(i)) {
        saw_null = true;
      } else if (n.CompareAt(i, ic, i) == 0) {
        found = true;
        break;
      }
    }
    if (found) {
      c->AppendInt(e.negated ? 0 : 1);
    } else if (saw_null) {
      c->AppendNull();
    } else {
      c->AppendInt(e.negated ? 1 : 0);
    }
  }
  return Status::OK();
}

}  // namespace

Status Evaluate(const BoundExpr& e, const ColumnBatch& input, size_t rows, ExecContext& ctx, ColumnValue* out) {
  switch (e.kind) {
    case BoundKind::kColumn:
      if (e.column < 0 || static_cast<size_t>(e.column) >= input.num_columns()) {
        return Status::Internal("expression reads column " + std::to_string(e.column) + " of a batch of " +
                                std::to_string(input.num_columns()));
      }
      out->Borrow(&input.column(e.column));
      return Status::OK();
    case BoundKind::kLiteral: {
      Column* c = out->Own(e.type);
      c->Reserve(rows);
      if (e.value.is_null()) {
        for (size_t i = 0; i < rows; ++i) c->AppendNull();
      } else if (c->kind() == format::PhysicalKind::kInt &&
                 (e.value.kind() == format::Datum::Kind::kInt || e.value.kind() == format::Datum::Kind::kBool)) {
        std::vector<int64_t> values(rows, e.value.as_int());
        c->AppendInts(values.data(), rows);
      } else {
        for (size_t i = 0; i < rows; ++i) c->Append(e.value);
      }
      return Status::OK();
    }
    case BoundKind::kCall: {
      std::vector<ColumnValue> values(e.args.size());
      std::vector<const Column*> cols(e.args.size());
      for (size_t i = 0; i < e.args.size(); ++i) {
        KL_RETURN_IF_ERROR(Evaluate(*e.args[i], input, rows, ctx, &values[i]));
        cols[i] = &values[i].get();
      }
      Column* c = out->Own(e.type);
      c->Reserve(rows);
      Status s = e.function.kernel(ctx, cols, rows, c);
      if (!s.ok()) return s;
      if (c->size() != rows) {
        return Status::Internal("function " + e.name + " returned " + std::to_string(c->size()) + " of " +
                                std::to_string(rows) + " values");
      }
      return Status::OK();
    }
    case BoundKind::kCast: {
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(*e.args[0], input, rows, ctx, &v));
      Column* c = out->Own(e.type);
      return CastColumn(ctx, v.get(), rows, e.type, e.try_cast, e.name, c);
    }
    case BoundKind::kCase: return EvalCase(e, input, rows, ctx, out);
    case BoundKind::kAnd:
    case BoundKind::kOr: return EvalLogic(e, input, rows, ctx, out);
    case BoundKind::kNot: {
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(*e.args[0], input, rows, ctx, &v));
      const Column& in = v.get();
      Column* c = out->Own(e.type);
      c->Reserve(rows);
      for (size_t i = 0; i < rows; ++i) {
        if (in.IsNull(i)) {
          c->AppendNull();
        } else {
          c->AppendInt(in.GetInt(i) != 0 ? 0 : 1);
        }
      }
      return Status::OK();
    }
    case BoundKind::kIsNull: {
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(*e.args[0], input, rows, ctx, &v));
      const Column& in = v.get();
      Column* c = out->Own(e.type);
      c->Reserve(rows);
      for (size_t i = 0; i < rows; ++i) c->AppendInt(in.IsNull(i) ? 1 : 0);
      return Status::OK();
    }
    case BoundKind::kDistinctFrom: {
      ColumnValue a, b;
      KL_RETURN_IF_ERROR(Evaluate(*e.args[0], input, rows, ctx, &a));
      KL_RETURN_IF_ERROR(Evaluate(*e.args[1], input, rows, ctx, &b));
      Column* c = out->Own(e.type);
      c->Reserve(rows);
      for (size_t i = 0; i < rows; ++i) {
        bool an = a.get().IsNull(i), bn = b.get().IsNull(i);
        bool distinct = an != bn || (!an && a.get().CompareAt(i, b.get(), i) != 0);
        c->AppendInt(distinct ? 1 : 0);
      }
      return Status::OK();
    }
    case BoundKind::kInList: return EvalInList(e, input, rows, ctx, out);
    case BoundKind::kSubquery: return Status::Internal("subquery evaluated before it ran");
  }
  return Status::Internal("unknown expression kind");
}

Status EvaluateFilter(const BoundExpr& predicate, const ColumnBatch& input, ExecContext& ctx,
                      std::vector<uint32_t>* selected) {
  selected->clear();
  size_t rows = input.num_rows();
  ColumnValue v;
  KL_RETURN_IF_ERROR(Evaluate(predicate, input, rows, ctx, &v));
  const Column& c = v.get();
  selected->reserve(rows);
  for (size_t i = 0; i < rows; ++i) {
    if (!c.IsNull(i) && c.GetInt(i) != 0) selected->push_back(static_cast<uint32_t>(i));
  }
  return Status::OK();
}

Result<Datum> EvaluateConstant(const BoundExpr& e, ExecContext& ctx) {
  ColumnBatch empty;
  ColumnValue v;
  KL_RETURN_IF_ERROR(Evaluate(e, empty, 1, ctx, &v));
  return v.get().Get(0);
}

}  // namespace kl::sql
