// Hash join: the right input is built into a hash table on its keys, the left
// input probes it batch by batch. NULL keys never match. The residual
// condition is evaluated on candidate pairs; outer joins pad with NULLs.
//
// Inner and left joins read a few batches of the left input first: when it
// ends within them (a look-up joined with a dimension), the right input is told
// the left's key values (Operator::NarrowTo), so that a scan below it reads only
// what can hold them instead of the whole table.
#include <unordered_map>

#include "sql/execution/operators.h"
#include "table/data/predicate.h"

namespace kl::sql {

using format::Column;
using format::ColumnBatch;

namespace {

class HashJoinOp : public Operator {
 public:
  HashJoinOp(const LogicalOp& op, OperatorPtr left, OperatorPtr right, ExecContext& ctx)
      : Operator(op.schema), op_(op), left_(std::move(left)), right_(std::move(right)), ctx_(ctx) {}

  Result<bool> Next(ColumnBatch* out) override {
    if (!built_) {
      KL_RETURN_IF_ERROR(Build());
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
      for (size_t c = 0; c < build_.num_columns(); ++c) {
        out->mutable_column(lw + c).AppendGather(build_.column(c), idx.data(), idx.size());
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
    for (size_t k : keys) {
      std::vector<format::Datum> values;
      for (const auto& batch : ahead_) {
        ColumnValue v;
        KL_RETURN_IF_ERROR(Evaluate(*op_.left_keys[k], batch, batch.num_rows(), ctx_, &v));
        const format::Column& col = v.get();
        for (size_t i = 0; i < batch.num_rows(); ++i) {
          if (!col.IsNull(i)) values.push_back(col.Get(i));
        }
      }
      std::vector<format::Datum> distinct = table::InLeaf("", std::move(values)).literals;
      if (distinct.size() > kMaxNarrowValues) continue;
      right_->NarrowTo(op_.right_keys[k]->column, distinct);
    }
    return Status::OK();
  }

  Status Build() {
    KL_RETURN_IF_ERROR(NarrowRight());
    KL_ASSIGN_OR_RETURN(build_, Drain(right_.get(), ctx_, "JOIN (hash table of its right input)"));
    build_rows_ = build_.num_rows();
    matched_.assign(build_rows_, 0);
    KL_RETURN_IF_ERROR(EvaluateAll(op_.right_keys, build_, ctx_, &build_keys_));
    for (auto& k : build_keys_) build_key_ptrs_.push_back(&k);
    std::vector<uint64_t> hashes;
    HashRows(build_key_ptrs_, build_rows_, &hashes);
    size_t cap = 16;
    while (cap < build_rows_ * 2) cap <<= 1;
    heads_.assign(cap, -1);
    next_.assign(build_rows_, -1);
    hashes_ = hashes;
    for (size_t i = 0; i < build_rows_; ++i) {
      bool null_key = false;
      for (const Column* k : build_key_ptrs_) null_key = null_key || k->IsNull(i);
      if (null_key) continue;
      size_t slot = hashes[i] & (cap - 1);
      next_[i] = heads_[slot];
      heads_[slot] = static_cast<int32_t>(i);
    }
    int64_t bytes = static_cast<int64_t>(build_.MemoryBytes() + heads_.capacity() * 4 + next_.capacity() * 4 +
                                         hashes_.capacity() * 8);
    for (const auto& k : build_keys_) bytes += static_cast<int64_t>(k.MemoryBytes());
    if (bytes > ctx_.memory_limit_bytes) return ctx_.MemoryExceeded("JOIN (hash table of its right input)", bytes);
    return Status::OK();
  }

  Status Probe(const ColumnBatch& in, ColumnBatch* out) {
    size_t n = in.num_rows();
    std::vector<ColumnValue> keys;
    std::vector<const Column*> key_ptrs;
    KL_RETURN_IF_ERROR(EvaluateAllBorrowed(op_.left_keys, in, ctx_, &keys, &key_ptrs));
    std::vector<uint64_t> hashes;
    HashRows(key_ptrs, n, &hashes);
    std::vector<uint32_t> probe_rows, build_rows;
    size_t mask = heads_.size() - 1;
    for (size_t i = 0; i < n; ++i) {
      bool null_key = false;
      for (const Column* k : key_ptrs) null_key = null_key || k->IsNull(i);
      if (null_key) continue;
      for (int32_t b = heads_[hashes[i] & mask]; b >= 0; b = next_[b]) {
        if (hashes_[b] == hashes[i] && KeysEqual(key_ptrs, i, build_key_ptrs_, static_cast<size_t>(b))) {
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
      for (size_t c = 0; c < build_.num_columns(); ++c) {
        pairs.mutable_column(lw + c).AppendGather(build_.column(c), ri.data(), ri.size());
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
  bool left_ended_ = false;  // the left input returned its end while reading ahead
  ColumnBatch build_;
  size_t build_rows_ = 0;
  std::vector<Column> build_keys_;
  std::vector<const Column*> build_key_ptrs_;
  std::vector<int32_t> heads_, next_;
  std::vector<uint64_t> hashes_;
  std::vector<uint8_t> matched_;
  size_t unmatched_pos_ = 0;
};

}  // namespace

OperatorPtr NewHashJoin(const LogicalOp& op, OperatorPtr left, OperatorPtr right, ExecContext& ctx) {
  return OperatorPtr(new HashJoinOp(op, std::move(left), std::move(right), ctx));
}

}  // namespace kl::sql
