// Hash join: the right input is built into a hash table on its keys, the left
// input probes it batch by batch. NULL keys never match. The residual
// condition is evaluated on candidate pairs; outer joins pad with NULLs.
//
// Inner and left joins read a few batches of the left input first: when it
// ends within them (a look-up joined with a dimension), the right input is told
// the left's key values (Operator::NarrowTo), so that a scan below it reads only
// what can hold them instead of the whole table.
//
// A plan a session reuses (ExecContext::kept_results) may keep its join's table of the
// right input between executions: when that input is fixed by the snapshots of the tables
// it reads and the same snapshots are current at a second execution, the input is read in
// full at exactly those snapshots and its table kept; later executions use it while every
// snapshot is still the current one, and narrow as above otherwise.
#include <algorithm>
#include <unordered_map>

#include "sql/execution/operators.h"
#include "table/data/predicate.h"

namespace kl::sql {

using format::Column;
using format::ColumnBatch;

// A built hash table of a join's right input.
struct JoinTable {
  ColumnBatch rows;
  std::vector<Column> keys;
  std::vector<const Column*> key_ptrs;
  std::vector<int32_t> heads, next;
  std::vector<uint64_t> hashes;
  int64_t bytes = 0;
};

struct PinnedScan {
  const LogicalOp* scan = nullptr;
  std::shared_ptr<const table::Snapshot> snapshot;
};

// A join's right input as kept between executions: the snapshots it was last seen at (and
// the key expressions), and its table once made at them.
struct KeptJoinSide {
  LogicalOpPtr side;  // held: its address names it in KeptResults::joins
  std::vector<const BoundExpr*> right_keys;
  std::vector<PinnedScan> scans;
  std::shared_ptr<const JoinTable> table;
  bool too_big = false;  // its table at these snapshots is past kMaxKeptBytes
};

namespace {

// A kept table holds at most this many bytes (the dimension of a look-up is small).
constexpr int64_t kMaxKeptBytes = 64LL << 20;
constexpr size_t kMaxKeptJoins = 16;

bool SameSnapshot(const table::Snapshot& a, const table::Snapshot& b) {
  return a.id == b.id && a.base_manifest_list == b.base_manifest_list &&
         a.delta_manifest_list == b.delta_manifest_list && a.time_millis == b.time_millis;
}

bool SameScans(const std::vector<PinnedScan>& a, const std::vector<PinnedScan>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].scan != b[i].scan || !SameSnapshot(*a[i].snapshot, *b[i].snapshot)) return false;
  }
  return true;
}

// Whether the rows of `op` are decided by the snapshots its scans read: no parameter,
// subquery, outer reference or non-deterministic call anywhere, and every scan one of a
// table that names its current snapshot (appended to `scans`). ForEachExpression covers the
// aggregates' arguments and the scan filters.
Result<bool> FixedBySnapshots(const LogicalOp& op, std::vector<PinnedScan>* scans) {
  bool pure = true;
  ForEachExpression(op, [&](const BoundExprPtr& e) {
    if (!e || !pure) return;
    VisitExpr(*e, [&](const BoundExpr& x) {
      if (x.kind == BoundKind::kSubquery || x.kind == BoundKind::kOuterRef || x.value_set || x.correlated_cache ||
          (x.kind == BoundKind::kLiteral && x.param > 0) || (x.kind == BoundKind::kCall && !x.function.deterministic)) {
        pure = false;
      }
    });
  });
  if (!pure) return false;
  if (op.kind == OpKind::kScan) {
    if (!op.table || !op.table->source || op.scan_sample_ms > 0 || op.scan_lookup || op.scan_time_travel ||
        !op.table_hints.empty()) {
      return false;
    }
    KL_ASSIGN_OR_RETURN(std::shared_ptr<const table::Snapshot> snapshot, op.table->source->CurrentSnapshot());
    if (!snapshot) return false;
    scans->push_back({&op, std::move(snapshot)});
  }
  for (const auto& c : op.children) {
    KL_ASSIGN_OR_RETURN(bool fixed, FixedBySnapshots(*c, scans));
    if (!fixed) return false;
  }
  return true;
}

class HashJoinOp : public Operator {
 public:
  HashJoinOp(const LogicalOp& op, OperatorPtr left, OperatorPtr right, ExecContext& ctx)
      : Operator(op.schema), op_(op), left_(std::move(left)), right_(std::move(right)), ctx_(ctx) {}

  Result<bool> Next(ColumnBatch* out) override {
    if (!built_) {
      KL_RETURN_IF_ERROR(Build());
      build_rows_ = table_->rows.num_rows();
      matched_.assign(build_rows_, 0);
      built_ = true;
    }
    while (!left_done_) {
      ColumnBatch in;
      bool more = true;
      if (next_ahead_ < ahead_.size()) {
        in = std::move(ahead_[next_ahead_++]);
      } else if (left_ended_) {
        more = false;
      } else {
        KL_ASSIGN_OR_RETURN(more, left_->Next(&in));
      }
      if (!more) {
        left_done_ = true;
        break;
      }
      KL_RETURN_IF_ERROR(ctx_.CheckInterrupt());
      KL_RETURN_IF_ERROR(Probe(in, out));
      if (out->num_rows() > 0) return true;
    }
    // Right and full joins: build rows that never matched, with NULLs on the left.
    if ((op_.join_type == JoinType::kRight || op_.join_type == JoinType::kFull) && unmatched_pos_ < build_rows_) {
      std::vector<uint32_t> rows;
      while (unmatched_pos_ < build_rows_ && rows.size() < kBatchSize) {
        if (!matched_[unmatched_pos_]) rows.push_back(static_cast<uint32_t>(unmatched_pos_));
        ++unmatched_pos_;
      }
      if (rows.empty()) return false;
      *out = ColumnBatch(schema_);
      size_t lw = left_->schema().size();
      for (size_t c = 0; c < lw; ++c) {
        for (size_t i = 0; i < rows.size(); ++i) out->mutable_column(c).AppendNull();
      }
      std::vector<size_t> idx(rows.begin(), rows.end());
      for (size_t c = 0; c < table_->rows.num_columns(); ++c) {
        out->mutable_column(lw + c).AppendGather(table_->rows.column(c), idx.data(), idx.size());
      }
      out->SetNumRows(rows.size());
      return true;
    }
    return false;
  }

 private:
  // Left rows read ahead at most; beyond this the right input is read in full.
  static constexpr size_t kMaxLeftAhead = 4096;
  static constexpr size_t kMaxNarrowValues = 4096;

  // Reads the left input ahead; when it ends within kMaxLeftAhead rows, narrows the right
  // input to the left's key values, key by key. Right rows of other keys match no left
  // row, and inner and left joins never output an unmatched right row.
  Status NarrowRight() {
    if (op_.join_type != JoinType::kInner && op_.join_type != JoinType::kLeft) return Status::OK();
    std::vector<size_t> keys;  // key pairs whose right side is a plain column of the same type
    for (size_t k = 0; k < op_.right_keys.size() && k < op_.left_keys.size(); ++k) {
      const BoundExpr& r = *op_.right_keys[k];
      if (r.kind != BoundKind::kColumn || r.column < 0 || static_cast<size_t>(r.column) >= right_->schema().size()) {
        continue;
      }
      const format::DataType& rt = right_->schema().type(static_cast<size_t>(r.column));
      const format::DataType& lt = op_.left_keys[k]->type;
      if (rt.is_nested() || !(rt.EqualsIgnoreNullable(lt) || (rt.is_string() && lt.is_string()))) continue;
      keys.push_back(k);
    }
    if (keys.empty()) return Status::OK();
    size_t rows = 0;
    while (rows <= kMaxLeftAhead) {
      KL_RETURN_IF_ERROR(ctx_.CheckInterrupt());
      ColumnBatch in;
      KL_ASSIGN_OR_RETURN(bool more, left_->Next(&in));
      if (!more) {
        left_ended_ = true;
        break;
      }
      rows += in.num_rows();
      ahead_.push_back(std::move(in));
    }
    if (!left_ended_) return Status::OK();
    // The left rows' keys (a row with a NULL key matches nothing, so it adds none).
    KeySet set;
    for (size_t k : keys) set.columns.push_back(op_.right_keys[k]->column);
    for (const auto& batch : ahead_) {
      std::vector<ColumnValue> values(keys.size());
      for (size_t j = 0; j < keys.size(); ++j) {
        KL_RETURN_IF_ERROR(Evaluate(*op_.left_keys[keys[j]], batch, batch.num_rows(), ctx_, &values[j]));
      }
      for (size_t i = 0; i < batch.num_rows(); ++i) {
        format::Row row;
        for (size_t j = 0; j < keys.size() && row.size() == j; ++j) {
          if (!values[j].get().IsNull(i)) row.push_back(values[j].get().Get(i));
        }
        if (row.size() == keys.size()) set.rows.push_back(std::move(row));
      }
    }
    std::vector<int> same(set.columns.begin(), set.columns.end());
    set = set.Map(same);  // distinct
    if (set.rows.size() <= kMaxNarrowValues) right_->NarrowTo(set);
    return Status::OK();
  }

  static constexpr const char* kBuildWhat = "JOIN (hash table of its right input)";

  Status Build() {
    if (ctx_.kept_results) {
      KL_ASSIGN_OR_RETURN(bool kept, BuildFromKept());
      if (kept) return Status::OK();
    }
    KL_RETURN_IF_ERROR(NarrowRight());
    KL_ASSIGN_OR_RETURN(ColumnBatch rows, Drain(right_.get(), ctx_, kBuildWhat));
    KL_ASSIGN_OR_RETURN(table_, MakeTable(std::move(rows)));
    return Status::OK();
  }

  // The kept table of the right input when it is still that of the current snapshots; or,
  // when the input was last seen at these same snapshots, its table made (in full, at them)
  // and kept. False: build as without a kept one (narrowed), remembering the snapshots.
  Result<bool> BuildFromKept() {
    if (op_.children.size() != 2) return false;
    const LogicalOpPtr& side = op_.children[1];
    std::vector<PinnedScan> scans;
    KL_ASSIGN_OR_RETURN(bool fixed, FixedBySnapshots(*side, &scans));
    if (!fixed) return false;
    std::vector<const BoundExpr*> right_keys;
    for (const auto& k : op_.right_keys) right_keys.push_back(k.get());
    KeptResults& kept = *ctx_.kept_results;
    auto it = kept.joins.find(side.get());
    if (it == kept.joins.end()) {
      if (kept.joins.size() >= kMaxKeptJoins) return false;
      auto fresh = std::make_shared<KeptJoinSide>();
      fresh->side = side;
      it = kept.joins.emplace(side.get(), std::move(fresh)).first;
    }
    KeptJoinSide& k = *it->second;
    if (k.right_keys != right_keys || !SameScans(k.scans, scans)) {
      k.right_keys = std::move(right_keys);
      k.scans = std::move(scans);
      k.table.reset();
      k.too_big = false;
      return false;
    }
    if (k.table) {
      table_ = k.table;
      ++kept.reused;
      return true;
    }
    if (k.too_big) return false;
    // Seen at these snapshots before: read the whole input at exactly them.
    for (const auto& s : k.scans) ctx_.pinned_snapshots[s.scan] = s.snapshot;
    auto rows = Drain(right_.get(), ctx_, kBuildWhat);
    for (const auto& s : k.scans) ctx_.pinned_snapshots.erase(s.scan);
    KL_RETURN_IF_ERROR(rows.status());
    KL_ASSIGN_OR_RETURN(table_, MakeTable(std::move(*rows)));
    if (table_->bytes <= kMaxKeptBytes) {
      k.table = table_;
      ++kept.made;
    } else {
      k.too_big = true;
    }
    return true;
  }

  Result<std::shared_ptr<const JoinTable>> MakeTable(ColumnBatch rows) {
    auto t = std::make_shared<JoinTable>();
    t->rows = std::move(rows);
    size_t n = t->rows.num_rows();
    KL_RETURN_IF_ERROR(EvaluateAll(op_.right_keys, t->rows, ctx_, &t->keys));
    for (auto& k : t->keys) t->key_ptrs.push_back(&k);
    HashRows(t->key_ptrs, n, &t->hashes);
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    t->heads.assign(cap, -1);
    t->next.assign(n, -1);
    for (size_t i = 0; i < n; ++i) {
      bool null_key = false;
      for (const Column* k : t->key_ptrs) null_key = null_key || k->IsNull(i);
      if (null_key) continue;
      size_t slot = t->hashes[i] & (cap - 1);
      t->next[i] = t->heads[slot];
      t->heads[slot] = static_cast<int32_t>(i);
    }
    int64_t bytes = static_cast<int64_t>(t->rows.MemoryBytes() + t->heads.capacity() * 4 + t->next.capacity() * 4 +
                                         t->hashes.capacity() * 8);
    for (const auto& k : t->keys) bytes += static_cast<int64_t>(k.MemoryBytes());
    t->bytes = bytes;
    if (bytes > ctx_.memory_limit_bytes) return ctx_.MemoryExceeded(kBuildWhat, bytes);
    return std::shared_ptr<const JoinTable>(std::move(t));
  }

  Status Probe(const ColumnBatch& in, ColumnBatch* out) {
    size_t n = in.num_rows();
    std::vector<ColumnValue> keys;
    std::vector<const Column*> key_ptrs;
    KL_RETURN_IF_ERROR(EvaluateAllBorrowed(op_.left_keys, in, ctx_, &keys, &key_ptrs));
    std::vector<uint64_t> hashes;
    HashRows(key_ptrs, n, &hashes);
    std::vector<uint32_t> probe_rows, build_rows;
    const JoinTable& t = *table_;
    size_t mask = t.heads.size() - 1;
    for (size_t i = 0; i < n; ++i) {
      bool null_key = false;
      for (const Column* k : key_ptrs) null_key = null_key || k->IsNull(i);
      if (null_key) continue;
      for (int32_t b = t.heads[hashes[i] & mask]; b >= 0; b = t.next[b]) {
        if (t.hashes[b] == hashes[i] && KeysEqual(key_ptrs, i, t.key_ptrs, static_cast<size_t>(b))) {
          probe_rows.push_back(static_cast<uint32_t>(i));
          build_rows.push_back(static_cast<uint32_t>(b));
        }
      }
      if (probe_rows.size() > (64u << 20)) {
        return Status::Aborted("JOIN produces over 64 million rows from one batch; add a join condition");
      }
    }
    // Candidate pairs as one batch, then the residual condition.
    ColumnBatch pairs(schema_);
    size_t lw = in.num_columns();
    {
      std::vector<size_t> li(probe_rows.begin(), probe_rows.end()), ri(build_rows.begin(), build_rows.end());
      for (size_t c = 0; c < lw; ++c) pairs.mutable_column(c).AppendGather(in.column(c), li.data(), li.size());
      for (size_t c = 0; c < t.rows.num_columns(); ++c) {
        pairs.mutable_column(lw + c).AppendGather(t.rows.column(c), ri.data(), ri.size());
      }
      pairs.SetNumRows(li.size());
    }
    std::vector<uint32_t> pass;
    if (op_.join_condition && pairs.num_rows() > 0) {
      KL_RETURN_IF_ERROR(EvaluateFilter(*op_.join_condition, pairs, ctx_, &pass));
    } else {
      pass.resize(pairs.num_rows());
      for (size_t i = 0; i < pass.size(); ++i) pass[i] = static_cast<uint32_t>(i);
    }
    std::vector<uint8_t> probe_matched(n, 0);
    for (uint32_t p : pass) {
      probe_matched[probe_rows[p]] = 1;
      matched_[build_rows[p]] = 1;
    }
    bool left_outer = op_.join_type == JoinType::kLeft || op_.join_type == JoinType::kFull;
    if (!left_outer) {
      if (pass.size() == pairs.num_rows()) {
        *out = std::move(pairs);
      } else {
        GatherBatch(pairs, pass.data(), pass.size(), out);
      }
      return Status::OK();
    }
    // Left outer: matched pairs in probe order, and each unmatched probe row once with NULLs.
    // The pairs are in probe order already: when every pair passed and every probe row
    // matched (a look-up joined with its dimension), they are the output as they are.
    if (pass.size() == pairs.num_rows() &&
        std::find(probe_matched.begin(), probe_matched.end(), 0) == probe_matched.end()) {
      *out = std::move(pairs);
      return Status::OK();
    }
    *out = ColumnBatch(schema_);
    size_t next_pass = 0, rows = 0;
    std::vector<size_t> pair_rows;
    for (size_t i = 0; i < n; ++i) {
      if (probe_matched[i]) {
        while (next_pass < pass.size() && probe_rows[pass[next_pass]] == i) {
          for (size_t c = 0; c < schema_.size(); ++c)
            out->mutable_column(c).AppendFrom(pairs.column(c), pass[next_pass]);
          ++next_pass;
          ++rows;
        }
      } else {
        for (size_t c = 0; c < lw; ++c) out->mutable_column(c).AppendFrom(in.column(c), i);
        for (size_t c = lw; c < schema_.size(); ++c) out->mutable_column(c).AppendNull();
        ++rows;
      }
    }
    out->SetNumRows(rows);
    return Status::OK();
  }

  const LogicalOp& op_;
  OperatorPtr left_, right_;
  ExecContext& ctx_;
  bool built_ = false, left_done_ = false;
  std::vector<ColumnBatch> ahead_;  // left batches read before the build (NarrowRight)
  size_t next_ahead_ = 0;
  bool left_ended_ = false;                 // the left input returned its end while reading ahead
  std::shared_ptr<const JoinTable> table_;  // perhaps kept (KeptResults), so never changed
  size_t build_rows_ = 0;
  std::vector<uint8_t> matched_;
  size_t unmatched_pos_ = 0;
};

}  // namespace

OperatorPtr NewHashJoin(const LogicalOp& op, OperatorPtr left, OperatorPtr right, ExecContext& ctx) {
  return OperatorPtr(new HashJoinOp(op, std::move(left), std::move(right), ctx));
}

}  // namespace kl::sql
