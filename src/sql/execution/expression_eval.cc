#include "sql/execution/expression_eval.h"

#include "sql/execution/executor.h"
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

// A CASE result that may be evaluated on rows whose branch is another one:
// reading a column or a constant cannot fail, and saves gathering the rows.
bool SafeOnAnyRow(const BoundExpr& e) { return e.kind == BoundKind::kColumn || e.kind == BoundKind::kLiteral; }

// NULLIF(c, k) of a string column c and a string constant k, as the binder writes it (CASE WHEN
// c = k THEN NULL ELSE c END): each value NULL where it equals k, in one pass over the column
// rather than a column of k, one of the comparison's answers and a value appended from a branch
// per row. False (nothing done) for any other CASE. (The DWD job has a dozen per event.)
bool EvalNullIfColumn(const BoundExpr& e, const ColumnBatch& input, size_t rows, ColumnValue* out) {
  if (e.args.size() != 3) return false;
  const BoundExpr& cond = *e.args[0];
  const BoundExpr& then = *e.args[1];
  const BoundExpr& other = *e.args[2];
  if (then.kind != BoundKind::kLiteral || !then.value.is_null()) return false;
  if (other.kind != BoundKind::kColumn || other.column < 0 ||
      static_cast<size_t>(other.column) >= input.num_columns()) {
    return false;
  }
  // The comparison kernel of two strings (no argument casts): bytewise.
  if (cond.kind != BoundKind::kCall || cond.name != "=" || cond.args.size() != 2 || !cond.function.arg_types.empty()) {
    return false;
  }
  const BoundExpr* c = cond.args[0].get();
  const BoundExpr* k = cond.args[1].get();
  if (c->kind == BoundKind::kLiteral) std::swap(c, k);
  if (c->kind != BoundKind::kColumn || c->column != other.column || k->kind != BoundKind::kLiteral ||
      k->value.kind() != Datum::Kind::kBytes || c->type.physical() != format::PhysicalKind::kBytes ||
      k->type.physical() != format::PhysicalKind::kBytes) {
    return false;
  }
  const Column& src = input.column(static_cast<size_t>(other.column));
  if (src.kind() != format::PhysicalKind::kBytes || !src.type().EqualsIgnoreNullable(e.type) || src.size() < rows) {
    return false;
  }
  std::string_view key = k->value.as_bytes();
  // The values and null flags first, then appended at once: the column's buffers are sized
  // once, for exactly what they take.
  std::vector<std::string_view> values(rows);
  std::vector<uint8_t> nulls(rows);
  for (size_t i = 0; i < rows; ++i) {
    if (src.IsNull(i)) {
      nulls[i] = 1;
      continue;
    }
    std::string_view v = src.GetBytes(i);
    if (v == key) {
      nulls[i] = 1;
    } else {
      values[i] = v;
    }
  }
  Column* col = out->Own(e.type);
  col->AppendBytesBatch(values.data(), nulls.data(), rows);
  return true;
}

// Whether `e` gives the same values each time it is evaluated over the same rows: no
// nondeterministic function, no subquery (whose cache depends on what ran before).
bool Repeatable(const BoundExpr& e) {
  bool repeatable = true;
  VisitExpr(e, [&](const BoundExpr& x) {
    if ((x.kind == BoundKind::kCall && !x.function.deterministic) || x.kind == BoundKind::kSubquery ||
        x.kind == BoundKind::kOuterRef) {
      repeatable = false;
    }
  });
  return repeatable;
}

// COALESCE(x1, ..., d) as the binder writes it (CASE WHEN NOT (x1 IS NULL) THEN x1 ... ELSE d
// END, marked `coalesce`): each value is evaluated once, where the general CASE evaluates it for
// its test and then again for the rows it is not NULL on (the DWD job's
// COALESCE(TRY_CAST(...), 0)) — and a value that differs each time (RAND()) could then give
// NULL. A two-value CASE written out with two equal repeatable x's is the same, evaluated once
// too. False (nothing done) for any other CASE.
bool IsCoalesce(const BoundExpr& e) {
  // Bound from COALESCE: each THEN is its value, or the value cast to the CASE's type (NULL
  // exactly when the value is), whatever rewrites copied the tree since.
  if (e.coalesce) return e.args.size() >= 3 && e.args.size() % 2 == 1;
  if (e.args.size() != 3) return false;
  const BoundExpr& cond = *e.args[0];
  if (cond.kind != BoundKind::kNot || cond.args.size() != 1 || cond.args[0]->kind != BoundKind::kIsNull ||
      cond.args[0]->args.size() != 1) {
    return false;
  }
  const BoundExpr& x = *cond.args[0]->args[0];
  const BoundExpr& then = *e.args[1];
  if (&x == &then) return true;
  // Equal expressions: compared by their text, which tells calls apart by their options too,
  // and type; only repeatable ones (a written-out CASE WHEN RAND() ... THEN RAND() draws twice).
  return x.type == then.type && Repeatable(x) && x.ToString() == then.ToString();
}

// Each value on the rows every value before it was NULL on (the rows the general CASE would
// test it on; over all rows when that is safe), its NULL rows going on to the next; the last
// takes the rows left. One value for every row: its column is the result, borrowed when it
// is an input column (as the general CASE).
Status EvalCoalesce(const BoundExpr& e, const ColumnBatch& input, size_t rows, ExecContext& ctx, ColumnValue* out) {
  const size_t pairs = (e.args.size() - 1) / 2;
  std::vector<ColumnValue> values(pairs + 1);
  std::vector<uint32_t> source, at;  // which value each row takes, and where in its column
  std::vector<uint32_t> pending(rows);
  for (size_t i = 0; i < rows; ++i) pending[i] = static_cast<uint32_t>(i);
  for (size_t b = 0; b <= pairs && !pending.empty(); ++b) {
    const BoundExpr& value = b < pairs ? *e.args[2 * b + 1] : *e.args.back();
    const bool last = b == pairs;
    const bool constant = value.kind == BoundKind::kLiteral;
    const bool by_row = !constant && (pending.size() == rows || SafeOnAnyRow(value));
    if (constant) {
      KL_RETURN_IF_ERROR(Evaluate(value, input, 1, ctx, &values[b]));
    } else if (by_row) {
      KL_RETURN_IF_ERROR(Evaluate(value, input, rows, ctx, &values[b]));
    } else {
      KL_RETURN_IF_ERROR(EvaluateSubset(value, input, pending, ctx, values[b].Own(e.type)));
    }
    const Column& col = values[b].get();
    auto at_of = [&](size_t k) -> uint32_t { return constant ? 0 : by_row ? pending[k] : static_cast<uint32_t>(k); };
    std::vector<uint32_t> next;
    if (!last) {
      for (size_t k = 0; k < pending.size(); ++k) {
        if (col.IsNull(at_of(k))) next.push_back(pending[k]);
      }
    }
    if (by_row && pending.size() == rows && next.empty()) {
      if (!col.type().EqualsIgnoreNullable(e.type)) {
        Column* c = out->Own(e.type);
        c->Reserve(rows);
        c->AppendRange(col, 0, rows);
      } else {
        *out = std::move(values[b]);
      }
      return Status::OK();
    }
    if (source.empty()) {
      source.assign(rows, 0);
      at.assign(rows, 0);
    }
    for (size_t k = 0, n = 0; k < pending.size(); ++k) {
      if (n < next.size() && next[n] == pending[k]) {
        ++n;
        continue;
      }
      source[pending[k]] = static_cast<uint32_t>(b);
      at[pending[k]] = at_of(k);
    }
    pending.swap(next);
  }
  Column* c = out->Own(e.type);
  c->Reserve(rows);
  for (size_t i = 0; i < rows; ++i) c->AppendFrom(values[source[i]].get(), at[i]);
  return Status::OK();
}

Status EvalCase(const BoundExpr& e, const ColumnBatch& input, size_t rows, ExecContext& ctx, ColumnValue* out) {
  if (EvalNullIfColumn(e, input, rows, out)) return Status::OK();
  if (IsCoalesce(e)) return EvalCoalesce(e, input, rows, ctx, out);
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
  auto value_of = [&](size_t b) -> const BoundExpr& { return b < pairs ? *e.args[2 * b + 1] : *e.args.back(); };
  // One branch for every row (NULLIF and COALESCE of a value that is mostly neither):
  // its column is the result, borrowed when it is an input column.
  for (size_t b = 0; b <= pairs; ++b) {
    if (rows_of[b].size() != rows) continue;
    ColumnValue v;
    KL_RETURN_IF_ERROR(Evaluate(value_of(b), input, rows, ctx, &v));
    if (!v.get().type().EqualsIgnoreNullable(e.type)) {
      Column* c = out->Own(e.type);
      c->Reserve(rows);
      c->AppendRange(v.get(), 0, rows);
    } else {
      *out = std::move(v);
    }
    return Status::OK();
  }
  // Each branch's values: over all rows when that is safe (indexed by row), else over
  // its own rows (indexed in their order); a NULL constant needs no values.
  std::vector<ColumnValue> values(pairs + 1);
  std::vector<uint8_t> all_rows(pairs + 1, 0), null_value(pairs + 1, 0);
  for (size_t b = 0; b <= pairs; ++b) {
    if (rows_of[b].empty()) continue;
    const BoundExpr& value = value_of(b);
    if (value.kind == BoundKind::kLiteral && value.value.is_null()) {
      null_value[b] = 1;
    } else if (SafeOnAnyRow(value)) {
      all_rows[b] = 1;
      KL_RETURN_IF_ERROR(Evaluate(value, input, value.kind == BoundKind::kLiteral ? 1 : rows, ctx, &values[b]));
    } else {
      KL_RETURN_IF_ERROR(EvaluateSubset(value, input, rows_of[b], ctx, values[b].Own(e.type)));
    }
  }
  Column* c = out->Own(e.type);
  c->Reserve(rows);
  std::vector<size_t> next_index(pairs + 1, 0);
  for (size_t i = 0; i < rows; ++i) {
    int b = branch[i];
    if (null_value[b]) {
      c->AppendNull();
    } else if (all_rows[b]) {
      const BoundExpr& value = value_of(static_cast<size_t>(b));
      c->AppendFrom(values[b].get(), value.kind == BoundKind::kLiteral ? 0 : i);
    } else {
      c->AppendFrom(values[b].get(), next_index[b]++);
    }
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
    case BoundKind::kSubquery:
      if (e.correlation_id < 0) return Status::Internal("subquery evaluated before it ran");
      return EvalCorrelated(e, input, rows, ctx, out);
    case BoundKind::kOuterRef: {
      auto it = ctx.correlated_values.find(e.correlation_id);
      if (it == ctx.correlated_values.end() || static_cast<size_t>(e.column) >= it->second.size()) {
        return Status::Internal("outer reference " + e.ToString() + " read outside its subquery");
      }
      Column* c = out->Own(e.type);
      c->Reserve(rows);
      for (size_t i = 0; i < rows; ++i) c->Append(it->second[e.column]);
      return Status::OK();
    }
  }
  return Status::Internal("unknown expression kind");
}

std::shared_ptr<CorrelatedCache> NewCorrelatedCache() { return std::make_shared<CorrelatedCache>(); }

namespace {

// Runs a correlated subquery for the outer values now in ctx.correlated_values.
Result<Datum> RunCorrelated(const BoundExpr& e, ExecContext& ctx, std::shared_ptr<ValueSet>* set) {
  int64_t cap = e.subquery_kind == SubqueryKind::kScalar ? 2 : e.subquery_kind == SubqueryKind::kExists ? 1 : -1;
  KL_ASSIGN_OR_RETURN(auto batches, RunPlan(e.subquery, ctx, cap));
  size_t rows = 0;
  for (const auto& b : batches) rows += b.num_rows();
  switch (e.subquery_kind) {
    case SubqueryKind::kExists: return Datum::Bool(rows > 0);
    case SubqueryKind::kScalar: {
      if (rows > 1) return ErrorAt(e.pos, "a scalar subquery returned more than one row");
      for (const auto& b : batches) {
        if (b.num_rows() > 0) return b.column(0).Get(0);
      }
      return Datum();
    }
    case SubqueryKind::kArray: {
      format::DatumList items;
      for (const auto& b : batches) {
        for (size_t i = 0; i < b.num_rows(); ++i) items.push_back(b.column(0).Get(i));
      }
      return Datum::List(std::move(items));
    }
    case SubqueryKind::kIn: {
      auto values = std::make_shared<ValueSet>();
      for (const auto& b : batches) {
        for (size_t i = 0; i < b.num_rows(); ++i) {
          if (b.column(0).IsNull(i)) {
            values->has_null = true;
            continue;
          }
          std::string k;
          EncodeKey(b.column(0), i, &k);
          values->values.insert(std::move(k));
        }
      }
      *set = values;
      return Datum();
    }
  }
  return Status::Internal("unknown subquery kind");
}

}  // namespace

Status EvalCorrelated(const BoundExpr& e, const ColumnBatch& input, size_t rows, ExecContext& ctx, ColumnValue* out) {
  size_t first = e.subquery_kind == SubqueryKind::kIn ? 1 : 0;
  std::vector<ColumnValue> outer(e.args.size());
  for (size_t i = 0; i < e.args.size(); ++i) KL_RETURN_IF_ERROR(Evaluate(*e.args[i], input, rows, ctx, &outer[i]));
  CorrelatedCache& cache = *e.correlated_cache;
  Column* c = out->Own(e.type);
  c->Reserve(rows);
  std::string key;
  auto saved = ctx.correlated_values.find(e.correlation_id) == ctx.correlated_values.end()
                   ? std::optional<std::vector<Datum>>()
                   : std::optional<std::vector<Datum>>(ctx.correlated_values[e.correlation_id]);
  for (size_t r = 0; r < rows; ++r) {
    key.clear();
    for (size_t i = first; i < e.args.size(); ++i) {
      key.push_back(outer[i].get().IsNull(r) ? 'N' : 'V');
      if (!outer[i].get().IsNull(r)) EncodeKey(outer[i].get(), r, &key);
    }
    auto hit = cache.results.find(key);
    if (hit == cache.results.end()) {
      KL_RETURN_IF_ERROR(ctx.CheckInterrupt());
      std::vector<Datum> values;
      for (size_t i = first; i < e.args.size(); ++i) values.push_back(outer[i].get().Get(r));
      ctx.correlated_values[e.correlation_id] = std::move(values);
      CorrelatedCache::Entry entry;
      KL_ASSIGN_OR_RETURN(entry.value, RunCorrelated(e, ctx, &entry.set));
      if (cache.results.size() > 100000) cache.results.clear();  // bounded: many distinct outer rows
      hit = cache.results.emplace(key, std::move(entry)).first;
    }
    const CorrelatedCache::Entry& got = hit->second;
    if (e.subquery_kind != SubqueryKind::kIn) {
      c->Append(got.value);
      continue;
    }
    // x [NOT] IN (correlated subquery), three-valued.
    const Column& x = outer[0].get();
    if (got.set->values.empty() && !got.set->has_null) {
      c->AppendInt(e.negated ? 1 : 0);
    } else if (x.IsNull(r)) {
      c->AppendNull();
    } else {
      std::string k;
      EncodeKey(x, r, &k);
      bool found = got.set->values.count(k) > 0;
      if (found) {
        c->AppendInt(e.negated ? 0 : 1);
      } else if (got.set->has_null) {
        c->AppendNull();
      } else {
        c->AppendInt(e.negated ? 1 : 0);
      }
    }
  }
  if (saved) {
    ctx.correlated_values[e.correlation_id] = *saved;
  } else {
    ctx.correlated_values.erase(e.correlation_id);
  }
  return Status::OK();
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
