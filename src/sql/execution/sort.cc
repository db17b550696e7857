// Sort (materialise, sort a row index, emit) and Top-N (keep at most 2n
// candidate rows per partition, cutting back to n by sorting), which serves
// ORDER BY ... LIMIT and ROW_NUMBER() ... WHERE rn <= n alike.
#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "sql/execution/operators.h"

namespace kl::sql {

using format::Column;
using format::ColumnBatch;

namespace {

std::vector<BoundExprPtr> KeyExprs(const std::vector<SortKey>& keys) {
  std::vector<BoundExprPtr> out;
  for (const auto& k : keys) out.push_back(k.expr);
  return out;
}

class SortOp : public Operator {
 public:
  SortOp(const LogicalOp& op, OperatorPtr child, ExecContext& ctx)
      : Operator(op.schema), op_(op), child_(std::move(child)), ctx_(ctx) {}
  Result<bool> Next(ColumnBatch* out) override {
    if (!sorted_) {
      KL_ASSIGN_OR_RETURN(rows_, Drain(child_.get(), ctx_, "ORDER BY (sort)"));
      // Keys that are columns of the rows are compared in place, not copied.
      std::vector<ColumnValue> keys;
      std::vector<const Column*> kp;
      KL_RETURN_IF_ERROR(EvaluateAllBorrowed(KeyExprs(op_.sort_keys), rows_, ctx_, &keys, &kp));
      order_.resize(rows_.num_rows());
      std::iota(order_.begin(), order_.end(), 0);
      const auto& sk = op_.sort_keys;
      std::stable_sort(order_.begin(), order_.end(),
                       [&](size_t a, size_t b) { return CompareBy(kp, a, kp, b, sk) < 0; });
      sorted_ = true;
    }
    if (pos_ >= order_.size()) return false;
    size_t end = std::min(order_.size(), pos_ + kBatchSize);
    *out = ColumnBatch(schema_);
    for (size_t c = 0; c < schema_.size(); ++c) {
      out->mutable_column(c).AppendGather(rows_.column(c), order_.data() + pos_, end - pos_);
    }
    out->SetNumRows(end - pos_);
    pos_ = end;
    return true;
  }
  // Sorting keeps the set of rows: a narrowing passes through.
  bool NarrowTo(const KeySet& keys) override { return child_->NarrowTo(keys); }

 private:
  const LogicalOp& op_;
  OperatorPtr child_;
  ExecContext& ctx_;
  bool sorted_ = false;
  ColumnBatch rows_;
  std::vector<size_t> order_;
  size_t pos_ = 0;
};

class TopNOp : public Operator {
 public:
  TopNOp(const LogicalOp& op, OperatorPtr child, ExecContext& ctx)
      : Operator(op.schema), op_(op), child_(std::move(child)), ctx_(ctx) {
    keep_ = static_cast<size_t>(op.limit + op.offset);
  }

  Result<bool> Next(ColumnBatch* out) override {
    if (!done_) {
      KL_RETURN_IF_ERROR(Consume());
      done_ = true;
    }
    if (pos_ >= output_.size()) return false;
    size_t end = std::min(output_.size(), pos_ + kBatchSize);
    *out = ColumnBatch(schema_);
    size_t width = child_->schema().size();
    std::vector<size_t> idx;
    for (size_t i = pos_; i < end; ++i) idx.push_back(output_[i].first);
    for (size_t c = 0; c < width; ++c) out->mutable_column(c).AppendGather(store_.column(c), idx.data(), idx.size());
    if (op_.rank_column) {
      for (size_t i = pos_; i < end; ++i) out->mutable_column(width).AppendInt(output_[i].second);
    }
    out->SetNumRows(end - pos_);
    pos_ = end;
    return true;
  }

 private:
  struct Partition {
    std::vector<uint32_t> rows;  // indexes into store_
    bool sorted = false;         // rows are in order (right after a cut, before new rows)
  };

  bool Less(uint32_t a, uint32_t b) {
    int c = CompareBy(store_keys_ptr_, a, store_keys_ptr_, b, op_.sort_keys);
    if (c != 0) return c < 0;
    return a < b;  // arrival order among equal keys
  }

  void Cut(Partition* p) {
    std::sort(p->rows.begin(), p->rows.end(), [&](uint32_t a, uint32_t b) { return Less(a, b); });
    if (p->rows.size() > keep_) p->rows.resize(keep_);
    p->sorted = true;
  }

  Status Consume() {
    size_t width = child_->schema().size();
    store_ = ColumnBatch(child_->schema());
    for (const auto& k : op_.sort_keys) store_keys_.emplace_back(k.expr->type);
    bool partitioned = !op_.partition_keys.empty();
    if (!partitioned) partitions_.emplace_back();
    ColumnBatch in;
    std::vector<uint64_t> hashes;
    size_t live = 0;
    while (true) {
      KL_RETURN_IF_ERROR(ctx_.CheckInterrupt());
      KL_ASSIGN_OR_RETURN(bool more, child_->Next(&in));
      if (!more) break;
      size_t n = in.num_rows();
      // Keys that are plain columns borrow the input's (no copy of every row's strings).
      std::vector<ColumnValue> keys, parts;
      std::vector<const Column*> in_keys, part_ptrs;
      KL_RETURN_IF_ERROR(EvaluateAllBorrowed(KeyExprs(op_.sort_keys), in, ctx_, &keys, &in_keys));
      if (partitioned) {
        KL_RETURN_IF_ERROR(EvaluateAllBorrowed(op_.partition_keys, in, ctx_, &parts, &part_ptrs));
        HashRows(part_ptrs, n, &hashes);
      }
      for (size_t i = 0; i < n; ++i) {
        size_t pid = 0;
        if (partitioned) {
          std::string key;
          for (const Column* p : part_ptrs) EncodeKey(*p, i, &key);
          auto [it, inserted] = index_.try_emplace(std::move(key), partitions_.size());
          if (inserted) partitions_.emplace_back();
          pid = it->second;
        }
        Partition& p = partitions_[pid];
        // Full partition: only a row better than the current n-th may enter.
        if (p.sorted && keep_ > 0 && p.rows.size() == keep_) {
          uint32_t worst = p.rows.back();
          if (CompareBy(in_keys, i, store_keys_ptr_, worst, op_.sort_keys) >= 0) continue;
        }
        if (keep_ == 0) continue;
        for (size_t c = 0; c < width; ++c) store_.mutable_column(c).AppendFrom(in.column(c), i);
        for (size_t k = 0; k < in_keys.size(); ++k) store_keys_[k].AppendFrom(*in_keys[k], i);
        store_keys_ptr_.clear();
        for (auto& k : store_keys_) store_keys_ptr_.push_back(&k);
        uint32_t idx = static_cast<uint32_t>(store_rows_++);
        p.rows.push_back(idx);
        p.sorted = false;
        ++live;
        if (p.rows.size() >= 2 * keep_ || (keep_ == 1 && p.rows.size() == 2)) {
          live -= p.rows.size();
          Cut(&p);
          live += p.rows.size();
        }
      }
      store_.SetNumRows(store_rows_);
      // Rows cut away still occupy the store: compact when most of it is garbage.
      if (store_rows_ > 4 * kBatchSize && live * 2 < store_rows_) Compact(width);
      int64_t bytes = static_cast<int64_t>(store_.MemoryBytes() + index_.size() * 64);
      if (bytes > ctx_.memory_limit_bytes) return ctx_.MemoryExceeded("Top-N", bytes);
    }
    store_.SetNumRows(store_rows_);
    int64_t skip = op_.offset;
    for (auto& p : partitions_) {
      Cut(&p);
      // A row's number: 1-based position; equal keys get consecutive numbers (ROW_NUMBER).
      for (size_t r = 0; r < p.rows.size(); ++r) {
        if (static_cast<int64_t>(r) < skip && op_.partition_keys.empty()) continue;
        output_.push_back({p.rows[r], static_cast<int64_t>(r + 1)});
      }
    }
    return Status::OK();
  }

  void Compact(size_t width) {
    ColumnBatch fresh(store_.schema());
    std::vector<Column> fresh_keys;
    for (const auto& k : store_keys_) fresh_keys.emplace_back(k.type());
    size_t next = 0;
    for (auto& p : partitions_) {
      for (auto& r : p.rows) {
        for (size_t c = 0; c < width; ++c) fresh.mutable_column(c).AppendFrom(store_.column(c), r);
        for (size_t k = 0; k < store_keys_.size(); ++k) fresh_keys[k].AppendFrom(store_keys_[k], r);
        r = static_cast<uint32_t>(next++);
      }
    }
    fresh.SetNumRows(next);
    store_ = std::move(fresh);
    store_keys_ = std::move(fresh_keys);
    store_keys_ptr_.clear();
    for (auto& k : store_keys_) store_keys_ptr_.push_back(&k);
    store_rows_ = next;
  }

  const LogicalOp& op_;
  OperatorPtr child_;
  ExecContext& ctx_;
  size_t keep_;
  bool done_ = false;
  ColumnBatch store_;
  std::vector<Column> store_keys_;
  std::vector<const Column*> store_keys_ptr_;
  size_t store_rows_ = 0;
  std::vector<Partition> partitions_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::pair<uint32_t, int64_t>> output_;
  size_t pos_ = 0;
};

}  // namespace

OperatorPtr NewSort(const LogicalOp& op, OperatorPtr child, ExecContext& ctx) {
  return OperatorPtr(new SortOp(op, std::move(child), ctx));
}

OperatorPtr NewTopN(const LogicalOp& op, OperatorPtr child, ExecContext& ctx) {
  return OperatorPtr(new TopNOp(op, std::move(child), ctx));
}

}  // namespace kl::sql
