// The streaming Calc: filter + projection over changes, evaluated a batch at a
// time with the batch engine's vectorised expressions.
#include <algorithm>
#include <map>

#include "common/clock.h"
#include "sql/execution/expression_eval.h"
#include "sql/functions/json_functions.h"
#include "sql/streaming/operators.h"

namespace kl::sql::streaming {

using format::Column;
using format::ColumnBatch;
using format::DataField;
using format::Datum;
using format::Row;
using format::RowType;

ColumnBatch RowsToBatch(const RowType& type, const Changes& changes, size_t begin, size_t end) {
  ColumnBatch batch(type);
  for (size_t c = 0; c < type.size(); ++c) {
    Column& col = batch.mutable_column(c);
    col.Reserve(end - begin);
    for (size_t i = begin; i < end; ++i) col.Append(changes[i].row[c]);
  }
  batch.SetNumRows(end - begin);
  return batch;
}

namespace {

// Column indexes at or above this refer to fused JSON results, not input columns.
constexpr int kJsonSlotBase = 1 << 24;

// A copy of `e` with column references renumbered through `mapping` (absent: unchanged).
BoundExprPtr Renumber(const BoundExprPtr& e, const std::map<int, int>& mapping) {
  if (!e) return e;
  auto copy = std::make_shared<BoundExpr>(*e);
  if (copy->kind == BoundKind::kColumn) {
    auto it = mapping.find(copy->column);
    if (it != mapping.end()) copy->column = it->second;
  }
  for (auto& a : copy->args) a = Renumber(a, mapping);
  return copy;
}

class CalcOp : public pipeline::Operator {
 public:
  CalcOp(RowType input, BoundExprPtr predicate, std::vector<BoundExprPtr> exprs, RowType output, const ExecContext& ctx,
         std::string name)
      : input_(std::move(input)), output_(std::move(output)), ctx_(ctx), name_(std::move(name)) {
    // JSON calls over a plain document column become slots filled with one parse per row.
    std::function<BoundExprPtr(const BoundExprPtr&)> fuse = [&](const BoundExprPtr& e) -> BoundExprPtr {
      if (!e) return e;
      if (e->kind == BoundKind::kCall && e->function.json && e->args.size() == 2 &&
          e->args[0]->kind == BoundKind::kColumn && e->args[1]->kind == BoundKind::kLiteral) {
        std::string key = std::to_string(e->args[0]->column) + "|" + e->ToString();
        auto it = slot_of_.find(key);
        int slot;
        if (it == slot_of_.end()) {
          slot = static_cast<int>(json_calls_.size());
          slot_of_[key] = slot;
          json_calls_.push_back(e->function.json.get());
          json_types_.push_back(e->function.return_type.WithNullable(true));
          json_doc_.push_back(e->args[0]->column);
          json_owners_.push_back(e->function.json);
        } else {
          slot = it->second;
        }
        return MakeColumn(kJsonSlotBase + slot, e->type, e->name);
      }
      auto copy = std::make_shared<BoundExpr>(*e);
      for (auto& a : copy->args) a = fuse(a);
      return copy;
    };
    BoundExprPtr pred = fuse(predicate);
    std::vector<BoundExprPtr> fused;
    for (const auto& e : exprs) fused.push_back(fuse(e));
    // Input columns the evaluated expressions read, then the JSON slots: the compact batch.
    std::vector<int> read;
    auto collect = [&](const BoundExprPtr& e) {
      if (!e) return;
      std::vector<int> cols;
      CollectColumns(*e, &cols);
      for (int c : cols) {
        if (c < kJsonSlotBase && std::find(read.begin(), read.end(), c) == read.end()) read.push_back(c);
      }
    };
    collect(pred);
    for (const auto& e : fused) {
      if (e->kind != BoundKind::kColumn) collect(e);
    }
    std::map<int, int> mapping;
    std::vector<DataField> fields;
    for (int c : read) {
      mapping[c] = static_cast<int>(fields.size());
      fields.push_back({static_cast<int32_t>(fields.size()), input_.field(c).name, input_.type(c), ""});
    }
    read_ = read;
    // Calls over the same document column share its parse.
    for (size_t s = 0; s < json_calls_.size(); ++s) {
      auto group = std::find_if(json_groups_.begin(), json_groups_.end(),
                                [&](const JsonGroup& g) { return g.doc == json_doc_[s]; });
      if (group == json_groups_.end()) group = json_groups_.insert(json_groups_.end(), JsonGroup{json_doc_[s], {}, {}});
      group->slots.push_back(s);
    }
    for (auto& g : json_groups_) {
      std::vector<const JsonCall*> calls;
      for (size_t s : g.slots) calls.push_back(json_calls_[s]);
      g.calls = std::make_shared<JsonCallSet>(std::move(calls));
    }
    for (size_t s = 0; s < json_calls_.size(); ++s) {
      mapping[kJsonSlotBase + static_cast<int>(s)] = static_cast<int>(fields.size());
      fields.push_back({static_cast<int32_t>(fields.size()), "json" + std::to_string(s), json_types_[s], ""});
    }
    compact_ = RowType(fields);
    predicate_ = Renumber(pred, mapping);
    for (size_t i = 0; i < fused.size(); ++i) {
      const BoundExprPtr& e = fused[i];
      if (e->kind == BoundKind::kColumn && e->column < kJsonSlotBase) {
        outputs_.push_back({e->column, -1});
      } else {
        outputs_.push_back({-1, static_cast<int>(computed_.size())});
        computed_.push_back(Renumber(e, mapping));
      }
    }
    // The last output reading an input column may move it out of the row.
    last_use_.assign(outputs_.size(), false);
    std::vector<bool> seen(input_.size(), false);
    for (size_t i = outputs_.size(); i-- > 0;) {
      int c = outputs_[i].input;
      if (c >= 0 && !seen[static_cast<size_t>(c)]) {
        seen[static_cast<size_t>(c)] = true;
        last_use_[i] = true;
      }
    }
  }

  std::string name() const override { return name_; }
  const RowType& output_type() const override { return output_; }

  Status Process(Changes& in, Changes* out) override {
    ctx_.statement_time_millis = NowMillis();
    for (size_t begin = 0; begin < in.size(); begin += kBatchSize) {
      size_t end = std::min(in.size(), begin + kBatchSize);
      KL_RETURN_IF_ERROR(Chunk(in, begin, end, out));
    }
    return Status::OK();
  }

 private:
  struct Output {
    int input;     // >= 0: the input column, moved through
    int computed;  // >= 0: index into computed_
  };

  Status Chunk(Changes& in, size_t begin, size_t end, Changes* out) {
    size_t n = end - begin;
    ColumnBatch batch(compact_);
    for (size_t k = 0; k < read_.size(); ++k) {
      Column& col = batch.mutable_column(k);
      col.Reserve(n);
      size_t c = static_cast<size_t>(read_[k]);
      for (size_t i = begin; i < end; ++i) col.Append(in[i].row[c]);
    }
    for (const JsonGroup& g : json_groups_) {
      std::vector<const std::string*> docs;
      docs.reserve(n);
      for (size_t i = begin; i < end; ++i) {
        const Datum& d = in[i].row[static_cast<size_t>(g.doc)];
        docs.push_back(d.is_null() ? nullptr : &d.as_bytes());
      }
      std::vector<Column> cols;
      for (size_t s : g.slots) {
        cols.emplace_back(json_types_[s]);
        cols.back().Reserve(n);
      }
      KL_RETURN_IF_ERROR(g.calls->Evaluate(ctx_, docs, &cols));
      for (size_t k = 0; k < g.slots.size(); ++k) batch.mutable_column(read_.size() + g.slots[k]) = std::move(cols[k]);
    }
    batch.SetNumRows(n);
    std::vector<uint32_t> selected;
    const ColumnBatch* eval = &batch;
    ColumnBatch gathered;
    if (predicate_) {
      KL_RETURN_IF_ERROR(EvaluateFilter(*predicate_, batch, ctx_, &selected));
      if (selected.size() < n) {
        GatherBatch(batch, selected.data(), selected.size(), &gathered);
        eval = &gathered;
      }
    } else {
      selected.resize(n);
      for (size_t i = 0; i < n; ++i) selected[i] = static_cast<uint32_t>(i);
    }
    size_t m = selected.size();
    std::vector<ColumnValue> values(computed_.size());
    for (size_t k = 0; k < computed_.size(); ++k) KL_RETURN_IF_ERROR(Evaluate(*computed_[k], *eval, m, ctx_, &values[k]));
    for (size_t j = 0; j < m; ++j) {
      Change& src = in[begin + selected[j]];
      // The output row is built in the storage of the previous input row (scratch_),
      // then swapped with this one's: a projection allocates no row.
      scratch_.clear();
      scratch_.reserve(outputs_.size());
      for (size_t k = 0; k < outputs_.size(); ++k) {
        const Output& spec = outputs_[k];
        if (spec.input >= 0) {
          Datum& d = src.row[static_cast<size_t>(spec.input)];
          scratch_.push_back(last_use_[k] ? std::move(d) : d);
        } else {
          scratch_.push_back(values[static_cast<size_t>(spec.computed)].get().Get(j));
        }
      }
      std::swap(src.row, scratch_);
      src.input = 0;
      out->push_back(std::move(src));
    }
    return Status::OK();
  }

  RowType input_, output_, compact_;
  ExecContext ctx_;
  std::string name_;
  BoundExprPtr predicate_;
  std::vector<BoundExprPtr> computed_;
  std::vector<Output> outputs_;
  std::vector<bool> last_use_;
  std::vector<int> read_;
  std::map<std::string, int> slot_of_;
  std::vector<const JsonCall*> json_calls_;
  std::vector<std::shared_ptr<const JsonCall>> json_owners_;
  std::vector<format::DataType> json_types_;
  std::vector<int> json_doc_;
  struct JsonGroup {
    int doc;                             // the document column
    std::vector<size_t> slots;           // its calls' slots
    std::shared_ptr<JsonCallSet> calls;  // evaluates them, one parse per row
  };
  std::vector<JsonGroup> json_groups_;
  format::Row scratch_;
};

}  // namespace

std::unique_ptr<pipeline::Operator> MakeCalc(RowType input, BoundExprPtr predicate, std::vector<BoundExprPtr> exprs,
                                             RowType output, const ExecContext& ctx, std::string name) {
  return std::make_unique<CalcOp>(std::move(input), std::move(predicate), std::move(exprs), std::move(output), ctx,
                                  std::move(name));
}

}  // namespace kl::sql::streaming
