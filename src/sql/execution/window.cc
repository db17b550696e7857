// Window functions: the input is materialised; for each window call the rows
// are ordered by (partition keys, order keys) and the function runs over each
// partition's frame; results go back to the rows' original positions.
#include <algorithm>
#include <numeric>

#include "sql/execution/operators.h"

namespace kl::sql {

using format::Column;
using format::ColumnBatch;
using format::Datum;

namespace {

class WindowOp : public Operator {
 public:
  WindowOp(const LogicalOp& op, OperatorPtr child, ExecContext& ctx)
      : Operator(op.schema), op_(op), child_(std::move(child)), ctx_(ctx) {}

  Result<bool> Next(ColumnBatch* out) override {
    if (!done_) {
      KL_ASSIGN_OR_RETURN(rows_, Drain(child_.get(), ctx_, "OVER (window)"));
      for (const auto& w : op_.windows) {
        Column result(w.type);
        KL_RETURN_IF_ERROR(Compute(w, &result));
        results_.push_back(std::move(result));
      }
      done_ = true;
    }
    size_t n = rows_.num_rows();
    if (pos_ >= n) return false;
    size_t end = std::min(n, pos_ + kBatchSize);
    *out = ColumnBatch(schema_);
    size_t width = rows_.num_columns();
    for (size_t c = 0; c < width; ++c) out->mutable_column(c).AppendRange(rows_.column(c), pos_, end);
    for (size_t w = 0; w < results_.size(); ++w) out->mutable_column(width + w).AppendRange(results_[w], pos_, end);
    out->SetNumRows(end - pos_);
    pos_ = end;
    return true;
  }

 private:
  Status Compute(const WindowCall& w, Column* result) {
    size_t n = rows_.num_rows();
    std::vector<Column> parts, keys, args;
    KL_RETURN_IF_ERROR(EvaluateAll(w.partition_by, rows_, ctx_, &parts));
    std::vector<BoundExprPtr> key_exprs;
    for (const auto& k : w.order_by) key_exprs.push_back(k.expr);
    KL_RETURN_IF_ERROR(EvaluateAll(key_exprs, rows_, ctx_, &keys));
    KL_RETURN_IF_ERROR(EvaluateAll(w.args, rows_, ctx_, &args));
    Column defaults(w.type);
    if (w.default_value) {
      ColumnValue v;
      KL_RETURN_IF_ERROR(Evaluate(*w.default_value, rows_, n, ctx_, &v));
      defaults = v.Take(n);
    }
    std::vector<const Column*> pp, kp;
    for (auto& p : parts) pp.push_back(&p);
    for (auto& k : keys) kp.push_back(&k);
    std::vector<SortKey> part_keys(parts.size());
    for (auto& pk : part_keys) pk.nulls_first = true;
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      int c = CompareBy(pp, a, pp, b, part_keys);
      if (c != 0) return c < 0;
      return CompareBy(kp, a, kp, b, w.order_by) < 0;
    });
    std::vector<Datum> values(n);
    size_t start = 0;
    while (start < n) {
      KL_RETURN_IF_ERROR(ctx_.CheckInterrupt());
      size_t end = start + 1;
      while (end < n && CompareBy(pp, order[start], pp, order[end], part_keys) == 0) ++end;
      KL_RETURN_IF_ERROR(Partition(w, order, start, end, kp, args, defaults, &values));
      start = end;
    }
    for (size_t i = 0; i < n; ++i) result->Append(values[i]);
    return Status::OK();
  }

  // Rows order[start, end) are one partition, in window order.
  Status Partition(const WindowCall& w, const std::vector<size_t>& order, size_t start, size_t end,
                   const std::vector<const Column*>& kp, const std::vector<Column>& args, const Column& defaults,
                   std::vector<Datum>* values) {
    size_t m = end - start;
    auto row = [&](size_t i) { return order[start + i]; };
    auto peer = [&](size_t a, size_t b) { return CompareBy(kp, row(a), kp, row(b), w.order_by) == 0; };
    // Peer groups: [peer_start[i], peer_end[i]) holds row i's peers.
    std::vector<size_t> peer_start(m), peer_end(m);
    for (size_t i = 0; i < m;) {
      size_t j = i + 1;
      while (j < m && w.has_order && peer(i, j)) ++j;
      if (!w.has_order) j = m;
      for (size_t k = i; k < j; ++k) {
        peer_start[k] = i;
        peer_end[k] = j;
      }
      i = j;
    }
    switch (w.kind) {
      case WindowFunctionKind::kRowNumber:
        for (size_t i = 0; i < m; ++i) (*values)[row(i)] = Datum::Int(static_cast<int64_t>(i + 1));
        return Status::OK();
      case WindowFunctionKind::kRank:
        for (size_t i = 0; i < m; ++i) (*values)[row(i)] = Datum::Int(static_cast<int64_t>(peer_start[i] + 1));
        return Status::OK();
      case WindowFunctionKind::kDenseRank: {
        int64_t rank = 0;
        for (size_t i = 0; i < m; ++i) {
          if (i == peer_start[i]) ++rank;
          (*values)[row(i)] = Datum::Int(rank);
        }
        return Status::OK();
      }
      case WindowFunctionKind::kPercentRank:
        for (size_t i = 0; i < m; ++i) {
          (*values)[row(i)] =
              Datum::Double(m <= 1 ? 0.0 : static_cast<double>(peer_start[i]) / static_cast<double>(m - 1));
        }
        return Status::OK();
      case WindowFunctionKind::kCumeDist:
        for (size_t i = 0; i < m; ++i) {
          (*values)[row(i)] = Datum::Double(static_cast<double>(peer_end[i]) / static_cast<double>(m));
        }
        return Status::OK();
      case WindowFunctionKind::kNtile: {
        int64_t buckets = w.offset;
        int64_t size = static_cast<int64_t>(m) / buckets, extra = static_cast<int64_t>(m) % buckets;
        int64_t i = 0;
        for (int64_t b = 1; b <= buckets && i < static_cast<int64_t>(m); ++b) {
          int64_t count = size + (b <= extra ? 1 : 0);
          for (int64_t k = 0; k < count && i < static_cast<int64_t>(m); ++k, ++i) (*values)[row(i)] = Datum::Int(b);
        }
        return Status::OK();
      }
      case WindowFunctionKind::kLag:
      case WindowFunctionKind::kLead: {
        int64_t off = w.kind == WindowFunctionKind::kLag ? -w.offset : w.offset;
        for (size_t i = 0; i < m; ++i) {
          int64_t j = static_cast<int64_t>(i) + off;
          if (j >= 0 && j < static_cast<int64_t>(m)) {
            (*values)[row(i)] = args[0].Get(row(static_cast<size_t>(j)));
          } else {
            (*values)[row(i)] = w.default_value ? defaults.Get(row(i)) : Datum();
          }
        }
        return Status::OK();
      }
      default: break;
    }
    // Frame-based functions.
    auto frame = [&](size_t i, size_t* lo, size_t* hi) {  // [lo, hi)
      const WindowFrame& f = w.frame;
      auto bound = [&](const FrameBound& b, bool is_start) -> int64_t {
        switch (b.kind) {
          case FrameBoundKind::kUnboundedPreceding: return 0;
          case FrameBoundKind::kUnboundedFollowing: return static_cast<int64_t>(m);
          case FrameBoundKind::kCurrentRow:
            if (f.unit == FrameUnit::kRange) {
              return is_start ? static_cast<int64_t>(peer_start[i]) : static_cast<int64_t>(peer_end[i]);
            }
            return static_cast<int64_t>(i) + (is_start ? 0 : 1);
          case FrameBoundKind::kPreceding: return static_cast<int64_t>(i) - b.offset + (is_start ? 0 : 1);
          case FrameBoundKind::kFollowing: return static_cast<int64_t>(i) + b.offset + (is_start ? 0 : 1);
        }
        return 0;
      };
      int64_t a = std::max<int64_t>(0, bound(f.start, true));
      int64_t b = std::min<int64_t>(static_cast<int64_t>(m), bound(f.end, false));
      *lo = static_cast<size_t>(a);
      *hi = static_cast<size_t>(std::max(a, b));
    };
    if (w.kind == WindowFunctionKind::kFirstValue || w.kind == WindowFunctionKind::kLastValue ||
        w.kind == WindowFunctionKind::kNthValue) {
      for (size_t i = 0; i < m; ++i) {
        size_t lo, hi;
        frame(i, &lo, &hi);
        Datum v;
        if (w.kind == WindowFunctionKind::kNthValue) {
          size_t k = lo + static_cast<size_t>(w.offset) - 1;
          if (k < hi) v = args[0].Get(row(k));
        } else if (w.kind == WindowFunctionKind::kFirstValue) {
          for (size_t k = lo; k < hi; ++k) {
            if (!args[0].IsNull(row(k)) || !w.ignore_nulls) {
              v = args[0].Get(row(k));
              break;
            }
          }
        } else {
          for (size_t k = hi; k-- > lo;) {
            if (!args[0].IsNull(row(k)) || !w.ignore_nulls) {
              v = args[0].Get(row(k));
              break;
            }
          }
        }
        (*values)[row(i)] = v;
      }
      return Status::OK();
    }
    // Aggregates over frames: incremental when the frame start is fixed, recomputed otherwise.
    std::vector<const Column*> arg_ptrs;
    for (const auto& a : args) arg_ptrs.push_back(&a);
    auto add_rows = [&](AggregateState* s, size_t lo, size_t hi) -> Status {
      if (hi <= lo) return Status::OK();
      std::vector<size_t> idx;
      for (size_t k = lo; k < hi; ++k) idx.push_back(row(k));
      std::vector<Column> sub;
      std::vector<const Column*> sp;
      for (const Column* c : arg_ptrs) {
        sub.emplace_back(c->type());
        sub.back().AppendGather(*c, idx.data(), idx.size());
      }
      for (auto& c : sub) sp.push_back(&c);
      std::vector<uint32_t> groups(idx.size(), 0);
      return s->Update(sp, groups.data(), groups.size());
    };
    Column tmp(w.type);
    bool fixed_start = w.frame.start.kind == FrameBoundKind::kUnboundedPreceding;
    std::unique_ptr<AggregateState> running;
    size_t added = 0;
    for (size_t i = 0; i < m; ++i) {
      size_t lo, hi;
      frame(i, &lo, &hi);
      std::unique_ptr<AggregateState> fresh;
      AggregateState* s;
      if (fixed_start && (!running || hi >= added)) {
        if (!running) {
          running = w.aggregate.make();
          running->Resize(1);
        }
        KL_RETURN_IF_ERROR(add_rows(running.get(), added, hi));
        added = std::max(added, hi);
        s = running.get();
      } else {
        fresh = w.aggregate.make();
        fresh->Resize(1);
        KL_RETURN_IF_ERROR(add_rows(fresh.get(), lo, hi));
        s = fresh.get();
      }
      tmp.Clear();
      KL_RETURN_IF_ERROR(s->Finish(0, &tmp));
      (*values)[row(i)] = tmp.Get(0);
    }
    return Status::OK();
  }

  const LogicalOp& op_;
  OperatorPtr child_;
  ExecContext& ctx_;
  bool done_ = false;
  ColumnBatch rows_;
  std::vector<Column> results_;
  size_t pos_ = 0;
};

}  // namespace

OperatorPtr NewWindow(const LogicalOp& op, OperatorPtr child, ExecContext& ctx) {
  return OperatorPtr(new WindowOp(op, std::move(child), ctx));
}

}  // namespace kl::sql
