#include "sql/execution/executor.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "sql/execution/operators.h"

namespace kl::sql {

using format::Column;
using format::ColumnBatch;

// ---- shared helpers ----

namespace {

inline uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t HashBytes(std::string_view s) {
  // Short keys (names, kinds, clusters) dominate: read them with fixed-size loads.
  const char* p = s.data();
  size_t n = s.size();
  uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 8) {
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
      uint32_t x, y;
      std::memcpy(&x, p, 4);
      std::memcpy(&y, p + n - 4, 4);
      a = x;
      b = y;
    } else if (n > 0) {
      a = static_cast<uint8_t>(p[0]) | (static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2])) << 8) |
          (static_cast<uint64_t>(static_cast<uint8_t>(p[n - 1])) << 16);
    }
    return Mix(a ^ Mix(b + n) ^ 0x9e3779b97f4a7c15ULL);
  }
  uint64_t h = 0xcbf29ce484222325ULL ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  std::memcpy(&b, p + n - 8, 8);  // the last 8 bytes (overlapping)
  return Mix(h ^ b);
}

}  // namespace

void HashRows(const std::vector<const Column*>& columns, size_t n, std::vector<uint64_t>* hashes) {
  hashes->assign(n, 0x9e3779b97f4a7c15ULL);
  uint64_t* h = hashes->data();
  auto combine = [](uint64_t acc, uint64_t x) { return (acc ^ x) * 0x9e3779b97f4a7c15ULL + (acc >> 7); };
  constexpr uint64_t kNull = 0x5bd1e995ULL;
  for (const Column* c : columns) {
    bool nulls = c->has_nulls();
    // One loop per physical kind, so the row loop has no switch.
    switch (c->kind()) {
      case format::PhysicalKind::kInt:
        for (size_t i = 0; i < n; ++i) {
          h[i] = combine(h[i], nulls && c->IsNull(i) ? kNull : Mix(static_cast<uint64_t>(c->GetInt(i))));
        }
        break;
      case format::PhysicalKind::kBytes:
        if (c->is_dictionary() && c->dictionary().size() <= n) {
          // A small dictionary: hash each entry once, then look rows up by code.
          const format::Column& dict = c->dictionary();
          std::vector<uint64_t> entry(dict.size());
          for (size_t d = 0; d < entry.size(); ++d) entry[d] = HashBytes(dict.GetBytes(d));
          const uint32_t* codes = c->codes();
          for (size_t i = 0; i < n; ++i) h[i] = combine(h[i], nulls && c->IsNull(i) ? kNull : entry[codes[i]]);
          break;
        }
        for (size_t i = 0; i < n; ++i) h[i] = combine(h[i], nulls && c->IsNull(i) ? kNull : HashBytes(c->GetBytes(i)));
        break;
      default:
        for (size_t i = 0; i < n; ++i) {
          uint64_t x;
          if (nulls && c->IsNull(i)) {
            x = kNull;
          } else if (c->kind() == format::PhysicalKind::kDouble) {
            double d = c->GetDouble(i);
            if (d == 0) d = 0;
            uint64_t bits;
            std::memcpy(&bits, &d, 8);
            x = Mix(bits);
          } else if (c->kind() == format::PhysicalKind::kDecimal) {
            format::Int128 v = c->GetDecimal(i);
            x = Mix(static_cast<uint64_t>(v) ^ Mix(static_cast<uint64_t>(static_cast<unsigned __int128>(v) >> 64)));
          } else if (c->kind() == format::PhysicalKind::kTimestamp) {
            format::Timestamp t = c->GetTimestamp(i);
            x = Mix(static_cast<uint64_t>(t.millis) ^ Mix(static_cast<uint64_t>(t.nanos)));
          } else {
            x = HashBytes(format::DatumDebugString(c->GetNested(i)));
          }
          h[i] = combine(h[i], x);
        }
    }
  }
}

int CompareBy(const std::vector<const Column*>& a, size_t i, const std::vector<const Column*>& b, size_t j,
              const std::vector<SortKey>& keys) {
  for (size_t k = 0; k < keys.size(); ++k) {
    bool an = a[k]->IsNull(i), bn = b[k]->IsNull(j);
    if (an || bn) {
      if (an && bn) continue;
      // nulls_first: NULL sorts before values, whatever the direction.
      return (an == keys[k].nulls_first) ? -1 : 1;
    }
    int c = a[k]->CompareAt(i, *b[k], j);
    if (c != 0) return keys[k].descending ? -c : c;
  }
  return 0;
}

Result<ColumnBatch> Drain(Operator* child, ExecContext& ctx, const char* what) {
  ColumnBatch all(child->schema());
  ColumnBatch batch;
  size_t rows = 0;
  while (true) {
    KL_RETURN_IF_ERROR(ctx.CheckInterrupt());
    KL_ASSIGN_OR_RETURN(bool more, child->Next(&batch));
    if (!more) break;
    for (size_t c = 0; c < all.num_columns(); ++c)
      all.mutable_column(c).AppendRange(batch.column(c), 0, batch.num_rows());
    rows += batch.num_rows();
    all.SetNumRows(rows);
    if (static_cast<int64_t>(all.MemoryBytes()) > ctx.memory_limit_bytes) {
      return ctx.MemoryExceeded(what, static_cast<int64_t>(all.MemoryBytes()));
    }
  }
  all.SetNumRows(rows);
  return all;
}

Status EvaluateAll(const std::vector<BoundExprPtr>& exprs, const ColumnBatch& in, ExecContext& ctx,
                   std::vector<Column>* out) {
  out->clear();
  for (const auto& e : exprs) {
    ColumnValue v;
    KL_RETURN_IF_ERROR(Evaluate(*e, in, in.num_rows(), ctx, &v));
    out->push_back(v.Take(in.num_rows()));
  }
  return Status::OK();
}

Status EvaluateAllBorrowed(const std::vector<BoundExprPtr>& exprs, const ColumnBatch& in, ExecContext& ctx,
                           std::vector<ColumnValue>* values, std::vector<const Column*>* ptrs) {
  values->clear();
  values->resize(exprs.size());
  ptrs->clear();
  for (size_t i = 0; i < exprs.size(); ++i) {
    KL_RETURN_IF_ERROR(Evaluate(*exprs[i], in, in.num_rows(), ctx, &(*values)[i]));
    ptrs->push_back(&(*values)[i].get());
  }
  return Status::OK();
}

KeySet KeySet::Map(const std::vector<int>& to) const {
  KeySet out;
  std::vector<size_t> kept;
  for (size_t i = 0; i < columns.size() && i < to.size(); ++i) {
    if (to[i] < 0 || std::find(out.columns.begin(), out.columns.end(), to[i]) != out.columns.end()) continue;
    out.columns.push_back(to[i]);
    kept.push_back(i);
  }
  if (out.columns.empty()) return out;
  out.rows.reserve(rows.size());
  for (const auto& row : rows) {
    format::Row r;
    r.reserve(kept.size());
    for (size_t i : kept) r.push_back(row[i]);
    out.rows.push_back(std::move(r));
  }
  // Keys handed down a chain of operators usually arrive sorted and distinct already
  // (each Map leaves them so, and most operators map them unchanged): check before sorting.
  auto less = [](const format::Row& a, const format::Row& b) { return format::CompareRows(a, b) < 0; };
  if (std::adjacent_find(out.rows.begin(), out.rows.end(),
                         [&](const format::Row& a, const format::Row& b) { return !less(a, b); }) == out.rows.end()) {
    return out;
  }
  std::sort(out.rows.begin(), out.rows.end(), less);
  out.rows.erase(std::unique(out.rows.begin(), out.rows.end(),
                             [](const format::Row& a, const format::Row& b) { return format::CompareRows(a, b) == 0; }),
                 out.rows.end());
  return out;
}

std::vector<format::Datum> KeySet::Values(size_t i) const {
  std::vector<format::Datum> values;
  values.reserve(rows.size());
  for (const auto& r : rows) values.push_back(r[i]);
  return table::InLeaf("", std::move(values)).literals;
}

namespace {

// ---- simple operators ----

class ScanOp : public Operator {
 public:
  ScanOp(const LogicalOp& op, ExecContext& ctx) : Operator(op.schema), op_(op), ctx_(ctx) {}
  Result<bool> Next(ColumnBatch* out) override {
    KL_RETURN_IF_ERROR(ctx_.CheckInterrupt());
    if (!reader_) {
      ScanRequest r;
      r.columns = op_.scan_columns;
      r.filters = op_.scan_pushed;
      r.filters.insert(r.filters.end(), narrowed_.begin(), narrowed_.end());
      r.key_columns = key_columns_;
      r.key_rows = key_rows_;
      r.limit = op_.scan_limit;
      if (auto pin = ctx_.pinned_snapshots.find(&op_); pin != ctx_.pinned_snapshots.end()) r.snapshot = pin->second;
      KL_ASSIGN_OR_RETURN(reader_, op_.table->source->Open(r, ctx_));
    }
    while (true) {
      KL_ASSIGN_OR_RETURN(bool more, reader_->Next(out));
      if (!more) return false;
      if (out->num_rows() == 0) continue;
      if (out->num_columns() != schema_.size()) {
        return Status::Internal("scan of " + op_.table->FullName() + " returned " + std::to_string(out->num_columns()) +
                                " columns, wanted " + std::to_string(schema_.size()));
      }
      // Take the plan's names and nullability (the reader's own schema may differ in them).
      ColumnBatch renamed(schema_);
      if (schema_.size() == 0) {
        renamed.SetNumRows(out->num_rows());
      } else {
        for (size_t c = 0; c < schema_.size(); ++c) renamed.mutable_column(c) = std::move(out->mutable_column(c));
        renamed.SetNumRows(out->num_rows());
      }
      *out = std::move(renamed);
      return true;
    }
  }

 private:
  // Each key column becomes an IN filter (exact, applied by the source), and keys of
  // several columns are also handed over whole: a source may then read only the key
  // ranges of the key rows (not of every combination of the columns' values).
  bool NarrowTo(const KeySet& keys) override {
    // Only sources that apply filters themselves (exactly) take one more; a scan's
    // columns are table columns, and its sample column (SNAPSHOTS) is not.
    if (reader_ || !op_.table || !op_.table->source || !op_.table->source->AppliesFilters() || op_.scan_sample_ms > 0) {
      return false;
    }
    std::vector<int> to;
    for (int c : keys.columns) {
      to.push_back(c >= 0 && static_cast<size_t>(c) < op_.scan_columns.size() ? op_.scan_columns[static_cast<size_t>(c)]
                                                                              : -1);
    }
    KeySet table_keys = keys.Map(to);
    if (table_keys.columns.empty()) return false;
    for (size_t i = 0; i < table_keys.columns.size(); ++i) {
      ScanFilter f;
      f.column = table_keys.columns[i];
      f.op = table::CompareOp::kIn;
      f.literals = table_keys.Values(i);
      narrowed_.push_back(std::move(f));
    }
    if (table_keys.columns.size() > 1 && key_columns_.empty()) {
      key_columns_ = table_keys.columns;
      key_rows_ = std::move(table_keys.rows);
    }
    return true;
  }

 private:
  const LogicalOp& op_;
  ExecContext& ctx_;
  std::unique_ptr<RowReader> reader_;
  std::vector<ScanFilter> narrowed_;  // from NarrowTo
  std::vector<int> key_columns_;      // from NarrowTo: keys of several columns
  std::vector<format::Row> key_rows_;
};

class ValuesOp : public Operator {
 public:
  explicit ValuesOp(const LogicalOp& op) : Operator(op.schema), rows_(op.rows) {}
  Result<bool> Next(ColumnBatch* out) override {
    if (pos_ >= rows_.size()) return false;
    *out = ColumnBatch(schema_);
    size_t n = 0;
    for (; pos_ < rows_.size() && n < kBatchSize; ++pos_, ++n) {
      for (size_t c = 0; c < schema_.size(); ++c) out->mutable_column(c).Append(rows_[pos_][c]);
    }
    out->SetNumRows(n);
    return true;
  }

 private:
  std::vector<format::Row> rows_;
  size_t pos_ = 0;
};

// Filters rows. Conditions that read a single column are decided once per dictionary entry
// when that column arrives dictionary-encoded (a Parquet row group's strings): the
// condition runs over the dictionary (its null code as NULL) and rows are picked by code;
// the other conditions then run, in their order, on the rows left. A condition that fails
// on some dictionary entry (say a CAST of a value no remaining row holds) is evaluated
// row by row instead, so errors come only from rows, as without dictionaries.
class FilterOp : public Operator {
 public:
  FilterOp(const LogicalOp& op, OperatorPtr child, ExecContext& ctx)
      : Operator(op.schema), pred_(op.predicate), child_(std::move(child)), ctx_(ctx) {
    std::vector<BoundExprPtr> terms, rest;
    SplitConjunction(pred_, &terms);
    for (const auto& t : terms) {
      std::vector<int> cols;
      CollectColumns(*t, &cols);
      std::sort(cols.begin(), cols.end());
      cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
      bool pure = true;
      VisitExpr(*t, [&](const BoundExpr& x) {
        if (x.kind == BoundKind::kSubquery || (x.kind == BoundKind::kCall && !x.function.deterministic)) pure = false;
      });
      if (pure && cols.size() == 1 && cols[0] >= 0) {
        dict_terms_.push_back({t, cols[0], nullptr, {}, false});
      } else {
        rest.push_back(t);
      }
    }
    if (!dict_terms_.empty()) rest_ = rest.empty() ? nullptr : MakeAnd(std::move(rest));
  }

  Result<bool> Next(ColumnBatch* out) override {
    ColumnBatch in;
    while (true) {
      KL_ASSIGN_OR_RETURN(bool more, child_->Next(&in));
      if (!more) return false;
      KL_ASSIGN_OR_RETURN(bool by_codes, SelectByCodes(in));
      if (!by_codes) {
        KL_RETURN_IF_ERROR(EvaluateFilter(*pred_, in, ctx_, &selected_));
      } else if (rest_ != nullptr && !selected_.empty()) {
        ColumnBatch left;
        GatherBatch(in, selected_.data(), selected_.size(), &left);
        std::vector<uint32_t> kept;
        KL_RETURN_IF_ERROR(EvaluateFilter(*rest_, left, ctx_, &kept));
        for (auto& k : kept) k = selected_[k];
        selected_ = std::move(kept);
      }
      if (selected_.empty()) continue;
      if (selected_.size() == in.num_rows()) {
        *out = std::move(in);
      } else {
        GatherBatch(in, selected_.data(), selected_.size(), out);
      }
      return true;
    }
  }

 private:
  struct DictTerm {
    BoundExprPtr expr;
    int column;
    std::shared_ptr<const Column> dict;  // the dictionary `match` is for (held: pointers stay unique)
    std::vector<uint8_t> match;          // per code: the condition is TRUE
    bool failed = false;                 // evaluating over the dictionary failed
  };

  // Fills selected_ from the single-column conditions when every one of them reads a
  // dictionary-encoded column of this batch; false (selected_ untouched) otherwise.
  Result<bool> SelectByCodes(const ColumnBatch& in) {
    constexpr size_t kMaxEntries = size_t{1} << 16;
    if (dict_terms_.empty()) return false;
    for (auto& t : dict_terms_) {
      if (static_cast<size_t>(t.column) >= in.num_columns()) return false;
      const Column& col = in.column(static_cast<size_t>(t.column));
      if (!col.is_dictionary() || col.dictionary().size() > kMaxEntries) return false;
      if (t.dict != col.shared_dictionary()) {
        t.dict = col.shared_dictionary();
        t.failed = false;
        // A batch holding the dictionary in the column's place, its null code as NULL.
        const Column& dict = col.dictionary();
        ColumnBatch entries(in.schema());
        Column& values = entries.mutable_column(static_cast<size_t>(t.column));
        values.AppendRange(dict, 0, dict.size() - 1);
        values.AppendNull();
        entries.SetNumRows(dict.size());
        std::vector<uint32_t> sel;
        Status s = EvaluateFilter(*t.expr, entries, ctx_, &sel);
        if (!s.ok()) {
          t.failed = true;
        } else {
          t.match.assign(dict.size(), 0);
          for (uint32_t code : sel) t.match[code] = 1;
        }
      }
      if (t.failed) return false;
    }
    size_t n = in.num_rows();
    pass_.assign(n, 1);
    for (const auto& t : dict_terms_) {
      const uint32_t* codes = in.column(static_cast<size_t>(t.column)).codes();
      const uint8_t* match = t.match.data();
      for (size_t i = 0; i < n; ++i) pass_[i] &= match[codes[i]];
    }
    selected_.clear();
    for (size_t i = 0; i < n; ++i) {
      if (pass_[i]) selected_.push_back(static_cast<uint32_t>(i));
    }
    return true;
  }

 public:
  bool NarrowTo(const KeySet& keys) override { return child_->NarrowTo(keys); }

 private:
  BoundExprPtr pred_;
  OperatorPtr child_;
  ExecContext& ctx_;
  std::vector<DictTerm> dict_terms_;
  BoundExprPtr rest_;  // the other conditions, in order (nullptr: none)
  std::vector<uint8_t> pass_;
  std::vector<uint32_t> selected_;
};

class ProjectOp : public Operator {
 public:
  ProjectOp(const LogicalOp& op, OperatorPtr child, ExecContext& ctx)
      : Operator(op.schema), exprs_(op.exprs), child_(std::move(child)), ctx_(ctx) {}
  Result<bool> Next(ColumnBatch* out) override {
    ColumnBatch in;
    KL_ASSIGN_OR_RETURN(bool more, child_->Next(&in));
    if (!more) return false;
    ColumnBatch result(schema_);
    size_t n = in.num_rows();
    // Computed columns first; then plain column references move out of the input batch
    // (which this operator owns), the last reference to a column taking it.
    std::vector<int> last_ref(in.num_columns(), -1);
    for (size_t i = 0; i < exprs_.size(); ++i) {
      const BoundExpr& e = *exprs_[i];
      if (e.kind == BoundKind::kColumn && e.column >= 0 && static_cast<size_t>(e.column) < in.num_columns() &&
          in.column(static_cast<size_t>(e.column)).size() == n) {
        last_ref[static_cast<size_t>(e.column)] = static_cast<int>(i);
        continue;
      }
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(e, in, n, ctx_, &v));
      result.mutable_column(i) = v.Take(n);
    }
    for (size_t i = 0; i < exprs_.size(); ++i) {
      const BoundExpr& e = *exprs_[i];
      if (e.kind != BoundKind::kColumn || e.column < 0 || static_cast<size_t>(e.column) >= last_ref.size() ||
          last_ref[static_cast<size_t>(e.column)] < 0) {
        continue;
      }
      Column& src = in.mutable_column(static_cast<size_t>(e.column));
      if (last_ref[static_cast<size_t>(e.column)] == static_cast<int>(i)) {
        result.mutable_column(i) = std::move(src);
      } else {
        Column copy(src.type());
        copy.AppendRange(src, 0, n);
        result.mutable_column(i) = std::move(copy);
      }
    }
    result.SetNumRows(n);
    *out = std::move(result);
    return true;
  }

  bool NarrowTo(const KeySet& keys) override {
    std::vector<int> to;  // plain column references map to the input's columns
    for (int c : keys.columns) {
      const BoundExpr* e =
          c >= 0 && static_cast<size_t>(c) < exprs_.size() ? exprs_[static_cast<size_t>(c)].get() : nullptr;
      to.push_back(e != nullptr && e->kind == BoundKind::kColumn ? e->column : -1);
    }
    KeySet below = keys.Map(to);
    return !below.columns.empty() && child_->NarrowTo(below);
  }

 private:
  std::vector<BoundExprPtr> exprs_;
  OperatorPtr child_;
  ExecContext& ctx_;
};

class LimitOp : public Operator {
 public:
  LimitOp(const LogicalOp& op, OperatorPtr child)
      : Operator(op.schema), limit_(op.limit), offset_(op.offset), child_(std::move(child)) {}
  Result<bool> Next(ColumnBatch* out) override {
    while (true) {
      if (limit_ >= 0 && emitted_ >= limit_) return false;  // stop pulling: the input stops too
      ColumnBatch in;
      KL_ASSIGN_OR_RETURN(bool more, child_->Next(&in));
      if (!more) return false;
      int64_t n = static_cast<int64_t>(in.num_rows());
      int64_t begin = 0;
      if (skipped_ < offset_) {
        begin = std::min(n, offset_ - skipped_);
        skipped_ += begin;
      }
      int64_t end = n;
      if (limit_ >= 0 && limit_ - emitted_ < n - begin) end = begin + (limit_ - emitted_);
      if (end <= begin) continue;
      if (begin == 0 && end == n) {
        *out = std::move(in);
      } else {
        *out = ColumnBatch(in.schema());
        for (size_t c = 0; c < in.num_columns(); ++c) out->mutable_column(c).AppendRange(in.column(c), begin, end);
        out->SetNumRows(static_cast<size_t>(end - begin));
      }
      emitted_ += end - begin;
      return true;
    }
  }

 private:
  int64_t limit_, offset_;
  OperatorPtr child_;
  int64_t emitted_ = 0, skipped_ = 0;
};

class UnionOp : public Operator {
 public:
  UnionOp(const LogicalOp& op, std::vector<OperatorPtr> children)
      : Operator(op.schema), children_(std::move(children)) {}
  Result<bool> Next(ColumnBatch* out) override {
    while (current_ < children_.size()) {
      KL_ASSIGN_OR_RETURN(bool more, children_[current_]->Next(out));
      if (more) {
        // The output carries the union's own schema (names from the first input).
        ColumnBatch b(schema_);
        for (size_t c = 0; c < schema_.size(); ++c) b.mutable_column(c) = std::move(out->mutable_column(c));
        b.SetNumRows(out->num_rows());
        *out = std::move(b);
        return true;
      }
      ++current_;
    }
    return false;
  }

 private:
  std::vector<OperatorPtr> children_;
  size_t current_ = 0;
};

// INTERSECT / EXCEPT [ALL] by counting the right side's rows.
class SetOpOp : public Operator {
 public:
  SetOpOp(const LogicalOp& op, OperatorPtr left, OperatorPtr right, ExecContext& ctx)
      : Operator(op.schema),
        intersect_(op.set_op == SetOpKind::kIntersect),
        all_(op.all),
        left_(std::move(left)),
        right_(std::move(right)),
        ctx_(ctx) {}
  Result<bool> Next(ColumnBatch* out) override {
    if (!built_) {
      ColumnBatch b;
      int64_t bytes = 0;
      while (true) {
        KL_ASSIGN_OR_RETURN(bool more, right_->Next(&b));
        if (!more) break;
        for (size_t i = 0; i < b.num_rows(); ++i) {
          std::string k = Key(b, i);
          bytes += static_cast<int64_t>(k.size()) + 48;
          counts_[k]++;
        }
        if (bytes > ctx_.memory_limit_bytes) return ctx_.MemoryExceeded(intersect_ ? "INTERSECT" : "EXCEPT", bytes);
      }
      built_ = true;
    }
    ColumnBatch in;
    while (true) {
      KL_ASSIGN_OR_RETURN(bool more, left_->Next(&in));
      if (!more) return false;
      std::vector<uint32_t> keep;
      for (size_t i = 0; i < in.num_rows(); ++i) {
        std::string k = Key(in, i);
        auto it = counts_.find(k);
        int64_t right = it == counts_.end() ? 0 : it->second;
        bool emit;
        if (intersect_) {
          emit = right > 0;
          if (emit) it->second = all_ ? right - 1 : -1;  // distinct: emit once, then never again
          if (!all_ && right < 0) emit = false;
        } else {
          if (all_) {
            emit = right <= 0;
            if (right > 0) it->second--;
          } else {
            emit = right == 0 && !emitted_.count(k);
            if (emit) emitted_.insert(k);
          }
        }
        if (emit) keep.push_back(static_cast<uint32_t>(i));
      }
      if (keep.empty()) continue;
      GatherBatch(in, keep.data(), keep.size(), out);
      return true;
    }
  }

 private:
  static std::string Key(const ColumnBatch& b, size_t i) {
    std::string k;
    for (size_t c = 0; c < b.num_columns(); ++c) EncodeKey(b.column(c), i, &k);
    return k;
  }
  bool intersect_, all_;
  OperatorPtr left_, right_;
  ExecContext& ctx_;
  bool built_ = false;
  std::unordered_map<std::string, int64_t> counts_;
  std::unordered_set<std::string> emitted_;
};

class UnnestOp : public Operator {
 public:
  UnnestOp(const LogicalOp& op, OperatorPtr child, ExecContext& ctx)
      : Operator(op.schema),
        expr_(op.unnest_expr),
        ordinality_(op.with_ordinality),
        outer_(op.unnest_outer),
        row_as_value_(op.unnest_row_as_value),
        child_(std::move(child)),
        ctx_(ctx) {}
  Result<bool> Next(ColumnBatch* out) override {
    while (true) {
      ColumnBatch in;
      KL_ASSIGN_OR_RETURN(bool more, child_->Next(&in));
      if (!more) return false;
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(*expr_, in, in.num_rows(), ctx_, &v));
      const Column& arr = v.get();
      bool map = arr.type().root() == format::TypeRoot::kMap;
      bool row_elems = !map && !row_as_value_ && arr.type().element().root() == format::TypeRoot::kRow;
      size_t child_cols = in.num_columns();
      ColumnBatch result(schema_);
      size_t n = 0;
      auto emit = [&](size_t row, const format::Datum* elem, const format::Datum* value, int64_t ord) {
        for (size_t c = 0; c < child_cols; ++c) result.mutable_column(c).AppendFrom(in.column(c), row);
        size_t c = child_cols;
        if (map) {
          result.mutable_column(c++).Append(elem ? *elem : format::Datum());
          result.mutable_column(c++).Append(value ? *value : format::Datum());
        } else if (row_elems) {
          size_t nf = arr.type().element().fields().size();
          for (size_t f = 0; f < nf; ++f) {
            if (elem == nullptr || elem->is_null() || f >= elem->as_list().size()) {
              result.mutable_column(c++).AppendNull();
            } else {
              result.mutable_column(c++).Append(elem->as_list()[f]);
            }
          }
        } else {
          result.mutable_column(c++).Append(elem ? *elem : format::Datum());
        }
        if (ordinality_) {
          if (ord > 0) {
            result.mutable_column(c).AppendInt(ord);
          } else {
            result.mutable_column(c).AppendNull();
          }
        }
        ++n;
      };
      for (size_t r = 0; r < in.num_rows(); ++r) {
        if (arr.IsNull(r) || arr.GetNested(r).as_list().empty()) {
          if (outer_) emit(r, nullptr, nullptr, 0);
          continue;
        }
        const auto& items = arr.GetNested(r).as_list();
        if (map) {
          for (size_t i = 0; i + 1 < items.size(); i += 2)
            emit(r, &items[i], &items[i + 1], static_cast<int64_t>(i / 2 + 1));
        } else {
          for (size_t i = 0; i < items.size(); ++i) emit(r, &items[i], nullptr, static_cast<int64_t>(i + 1));
        }
      }
      if (n == 0) continue;
      result.SetNumRows(n);
      *out = std::move(result);
      return true;
    }
  }

 private:
  BoundExprPtr expr_;
  bool ordinality_, outer_, row_as_value_;
  OperatorPtr child_;
  ExecContext& ctx_;
};

// ---- subqueries ----

Status ResolveSubqueries(const BoundExprPtr& e, ExecContext& ctx);

Status ResolveIn(const LogicalOp& op, ExecContext& ctx) {
  Status status;
  ForEachExpression(op, [&](const BoundExprPtr& e) {
    if (status.ok() && e) status = ResolveSubqueries(e, ctx);
  });
  KL_RETURN_IF_ERROR(status);
  for (const auto& c : op.children) KL_RETURN_IF_ERROR(ResolveIn(*c, ctx));
  return Status::OK();
}

Status ResolveSubqueries(const BoundExprPtr& e, ExecContext& ctx) {
  for (const auto& a : e->args) KL_RETURN_IF_ERROR(ResolveSubqueries(a, ctx));
  if (e->kind != BoundKind::kSubquery) return Status::OK();
  if (e->correlation_id >= 0) return Status::OK();  // runs per outer row (EvalCorrelated)
  int64_t cap = e->subquery_kind == SubqueryKind::kScalar ? 2 : e->subquery_kind == SubqueryKind::kExists ? 1 : -1;
  KL_ASSIGN_OR_RETURN(auto batches, RunPlan(e->subquery, ctx, cap));
  size_t rows = 0;
  for (const auto& b : batches) rows += b.num_rows();
  switch (e->subquery_kind) {
    case SubqueryKind::kExists:
      e->kind = BoundKind::kLiteral;
      e->value = format::Datum::Bool(rows > 0);
      e->args.clear();
      break;
    case SubqueryKind::kScalar: {
      if (rows > 1) return ErrorAt(e->pos, "a scalar subquery returned more than one row");
      format::Datum v;
      for (const auto& b : batches) {
        if (b.num_rows() > 0) v = b.column(0).Get(0);
      }
      e->kind = BoundKind::kLiteral;
      e->value = v;
      e->args.clear();
      break;
    }
    case SubqueryKind::kArray: {
      format::DatumList items;
      for (const auto& b : batches) {
        for (size_t i = 0; i < b.num_rows(); ++i) items.push_back(b.column(0).Get(i));
      }
      e->kind = BoundKind::kLiteral;
      e->value = format::Datum::List(std::move(items));
      e->args.clear();
      break;
    }
    case SubqueryKind::kIn: {
      auto set = std::make_shared<ValueSet>();
      int64_t bytes = 0;
      for (const auto& b : batches) {
        for (size_t i = 0; i < b.num_rows(); ++i) {
          if (b.column(0).IsNull(i)) {
            set->has_null = true;
            continue;
          }
          std::string k;
          EncodeKey(b.column(0), i, &k);
          bytes += static_cast<int64_t>(k.size()) + 40;
          set->values.insert(std::move(k));
        }
      }
      if (bytes > ctx.memory_limit_bytes) return ctx.MemoryExceeded("IN (subquery)", bytes);
      e->kind = BoundKind::kInList;
      e->value_set = set;
      break;
    }
  }
  e->subquery.reset();
  return Status::OK();
}

Result<OperatorPtr> Build(const LogicalOp& op, ExecContext& ctx) {
  std::vector<OperatorPtr> kids;
  for (const auto& c : op.children) {
    KL_ASSIGN_OR_RETURN(auto k, Build(*c, ctx));
    kids.push_back(std::move(k));
  }
  switch (op.kind) {
    case OpKind::kScan:
      if (op.scan_sample_ms > 0) {
        return Status::NotSupported(
            "SNAPSHOTS(...) samples a table while it changes: streaming INSERT jobs read it, "
            "batch queries do not (read the table FOR SYSTEM_TIME AS OF a time instead)");
      }
      return OperatorPtr(new ScanOp(op, ctx));
    case OpKind::kValues: return OperatorPtr(new ValuesOp(op));
    case OpKind::kFilter: return OperatorPtr(new FilterOp(op, std::move(kids[0]), ctx));
    case OpKind::kProject: return OperatorPtr(new ProjectOp(op, std::move(kids[0]), ctx));
    case OpKind::kAggregate: return NewHashAggregate(op, std::move(kids[0]), ctx);
    case OpKind::kWindow: return NewWindow(op, std::move(kids[0]), ctx);
    case OpKind::kJoin: return NewHashJoin(op, std::move(kids[0]), std::move(kids[1]), ctx);
    case OpKind::kSort: return NewSort(op, std::move(kids[0]), ctx);
    case OpKind::kTopN: return NewTopN(op, std::move(kids[0]), ctx);
    case OpKind::kLimit: return OperatorPtr(new LimitOp(op, std::move(kids[0])));
    case OpKind::kUnion: return OperatorPtr(new UnionOp(op, std::move(kids)));
    case OpKind::kSetOp: return OperatorPtr(new SetOpOp(op, std::move(kids[0]), std::move(kids[1]), ctx));
    case OpKind::kUnnest: return OperatorPtr(new UnnestOp(op, std::move(kids[0]), ctx));
  }
  return Status::Internal("unknown operator");
}

}  // namespace

Result<std::unique_ptr<Operator>> BuildOperators(const LogicalOpPtr& plan, ExecContext& ctx) {
  KL_RETURN_IF_ERROR(ResolveIn(*plan, ctx));
  return Build(*plan, ctx);
}

Result<std::vector<ColumnBatch>> RunPlan(const LogicalOpPtr& plan, ExecContext& ctx, int64_t max_rows) {
  KL_ASSIGN_OR_RETURN(auto root, BuildOperators(plan, ctx));
  std::vector<ColumnBatch> out;
  int64_t rows = 0;
  while (max_rows < 0 || rows < max_rows) {
    KL_RETURN_IF_ERROR(ctx.CheckInterrupt());
    ColumnBatch b;
    KL_ASSIGN_OR_RETURN(bool more, root->Next(&b));
    if (!more) break;
    rows += static_cast<int64_t>(b.num_rows());
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace kl::sql
