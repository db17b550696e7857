// The streaming Calc: filter + projection over changes, evaluated a batch at a
// time with the batch engine's vectorised expressions.
#include <algorithm>
#include <atomic>
#include <map>
#include <optional>

#include "common/clock.h"
#include "common/worker_pool.h"
#include "sql/execution/expression_eval.h"
#include "sql/functions/json_functions.h"
#include "sql/streaming/connectors.h"
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
// Documents Calcs read from a LogValueTap (CalcTappedDocuments).
std::atomic<uint64_t> tapped_documents{0};

// The most string bytes a JSON slot's column reserves before it is filled.
constexpr size_t kMaxSlotReserve = size_t{1} << 20;

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

// A filter decided on each change's row as it is, without building a batch: a
// conjunction of terms over input columns that cannot fail — c IS [NOT] NULL,
// c IS [NOT] TRUE / FALSE / UNKNOWN, c = / <> a constant, c [NOT] IN (constants),
// strings or integers — with the three-valued answers of the batch kernels (a
// row passes when every term is TRUE). The filters of the jobs following a table
// (WHERE deleted IS NOT TRUE AND kind = 'Pod' AND ...) are of this kind.
class RowFilter {
 public:
  static std::optional<RowFilter> Make(const BoundExpr& e) {
    RowFilter f;
    if (e.kind == BoundKind::kAnd) {
      for (const auto& a : e.args) {
        if (!f.Add(*a)) return std::nullopt;
      }
    } else if (!f.Add(e)) {
      return std::nullopt;
    }
    return f;
  }

  bool Passes(const Row& row) const {
    for (const Term& t : terms_) {
      if (Truth(t, RowCell{row[t.column]}) != 1) return false;
    }
    return true;
  }
  // The same for row `i` of a batch.
  bool Passes(const ColumnBatch& batch, size_t i) const {
    for (const Term& t : terms_) {
      if (Truth(t, ColumnCell{batch.column(t.column), i}) != 1) return false;
    }
    return true;
  }

 private:
  enum class Kind : unsigned char { kIsNull, kIsNotNull, kIsBool, kEquals, kNotEquals, kIn };
  struct Term {
    Kind kind;
    size_t column;
    int want = 0;               // kIsBool: 1 TRUE, 0 FALSE, -1 UNKNOWN
    bool negated = false;       // kIsBool: IS NOT; kIn: NOT IN
    std::vector<Datum> values;  // kEquals / kNotEquals: one; kIn: the list (NULLs included)
  };

  // Integers (and booleans, dates, times) or strings: what the kernels compare as such.
  static bool Comparable(const format::DataType& t) {
    auto k = t.physical();
    return k == format::PhysicalKind::kInt || k == format::PhysicalKind::kBytes;
  }
  static bool SameKind(const format::DataType& a, const format::DataType& b) { return a.physical() == b.physical(); }

  bool Add(const BoundExpr& e) {
    auto column_of = [](const BoundExpr& a) { return a.kind == BoundKind::kColumn && a.column >= 0; };
    if (e.kind == BoundKind::kIsNull && column_of(*e.args[0])) {
      terms_.push_back({Kind::kIsNull, static_cast<size_t>(e.args[0]->column)});
      return true;
    }
    if (e.kind == BoundKind::kNot && e.args[0]->kind == BoundKind::kIsNull && column_of(*e.args[0]->args[0])) {
      terms_.push_back({Kind::kIsNotNull, static_cast<size_t>(e.args[0]->args[0]->column)});
      return true;
    }
    if (e.kind == BoundKind::kCall && e.args.size() == 1 && column_of(*e.args[0]) &&
        e.args[0]->type.root() == format::TypeRoot::kBoolean) {
      // IS [NOT] TRUE / FALSE / UNKNOWN (the binder's names for them).
      static const std::pair<const char*, std::pair<int, bool>> kIs[] = {
          {"IS TRUE", {1, false}},     {"IS NOT TRUE", {1, true}},  {"IS FALSE", {0, false}},
          {"IS NOT FALSE", {0, true}}, {"IS UNKNOWN", {-1, false}}, {"IS NOT UNKNOWN", {-1, true}}};
      for (const auto& [name, spec] : kIs) {
        if (e.name != name) continue;
        Term t{Kind::kIsBool, static_cast<size_t>(e.args[0]->column)};
        t.want = spec.first;
        t.negated = spec.second;
        terms_.push_back(std::move(t));
        return true;
      }
      return false;
    }
    if (e.kind == BoundKind::kCall && e.args.size() == 2 && (e.name == "=" || e.name == "<>") &&
        e.function.arg_types.empty()) {
      const BoundExpr* c = e.args[0].get();
      const BoundExpr* v = e.args[1].get();
      if (c->kind == BoundKind::kLiteral) std::swap(c, v);
      if (!column_of(*c) || v->kind != BoundKind::kLiteral || !Comparable(c->type) || !SameKind(c->type, v->type)) {
        return false;
      }
      Term t{e.name == "=" ? Kind::kEquals : Kind::kNotEquals, static_cast<size_t>(c->column)};
      t.values.push_back(v->value);
      terms_.push_back(std::move(t));
      return true;
    }
    if (e.kind == BoundKind::kInList && e.value_set == nullptr && column_of(*e.args[0]) &&
        Comparable(e.args[0]->type)) {
      Term t{Kind::kIn, static_cast<size_t>(e.args[0]->column)};
      t.negated = e.negated;
      for (size_t i = 1; i < e.args.size(); ++i) {
        const BoundExpr& item = *e.args[i];
        if (item.kind != BoundKind::kLiteral || !SameKind(item.type, e.args[0]->type)) return false;
        t.values.push_back(item.value);
      }
      terms_.push_back(std::move(t));
      return true;
    }
    return false;
  }

  // A value Truth reads: a row's Datum, or a cell of a batch's column (no Datum built).
  struct RowCell {
    const Datum& d;
    bool is_null() const { return d.is_null(); }
    bool is_bytes() const { return d.kind() == Datum::Kind::kBytes; }
    int64_t as_int() const { return d.as_int(); }
    std::string_view bytes() const { return d.as_bytes(); }
  };
  struct ColumnCell {
    const Column& c;
    size_t i;
    bool is_null() const { return c.IsNull(i); }
    bool is_bytes() const { return c.kind() == format::PhysicalKind::kBytes; }
    int64_t as_int() const { return c.GetInt(i); }
    std::string_view bytes() const { return c.GetBytes(i); }
  };

  template <typename Cell>
  static bool Equal(const Cell& a, const Datum& b) {
    if (a.is_bytes() || b.kind() == Datum::Kind::kBytes) {
      return a.is_bytes() && b.kind() == Datum::Kind::kBytes && a.bytes() == b.as_bytes();
    }
    return a.as_int() == b.as_int();
  }

  // 1 TRUE, 0 FALSE, -1 NULL.
  template <typename Cell>
  static int Truth(const Term& t, const Cell& d) {
    switch (t.kind) {
      case Kind::kIsNull: return d.is_null() ? 1 : 0;
      case Kind::kIsNotNull: return d.is_null() ? 0 : 1;
      case Kind::kIsBool: {
        int v = d.is_null() ? -1 : (d.as_int() != 0 ? 1 : 0);
        return (v == t.want) != t.negated ? 1 : 0;
      }
      case Kind::kEquals:
      case Kind::kNotEquals: {
        if (d.is_null() || t.values[0].is_null()) return -1;
        bool eq = Equal(d, t.values[0]);
        return (eq == (t.kind == Kind::kEquals)) ? 1 : 0;
      }
      case Kind::kIn: {
        if (d.is_null()) return -1;
        bool saw_null = false;
        for (const Datum& v : t.values) {
          if (v.is_null()) {
            saw_null = true;
          } else if (Equal(d, v)) {
            return t.negated ? 0 : 1;
          }
        }
        if (saw_null) return -1;
        return t.negated ? 1 : 0;
      }
    }
    return -1;
  }

  std::vector<Term> terms_;
};

class CalcOp : public pipeline::Operator {
 public:
  CalcOp(RowType input, BoundExprPtr predicate, std::vector<BoundExprPtr> exprs, RowType output, const ExecContext& ctx,
         std::string name)
      : input_(std::move(input)), output_(std::move(output)), ctx_(ctx), name_(std::move(name)) {
    // JSON calls over a plain document column become slots filled with one parse per row.
    auto is_json_call = [](const BoundExpr& e) {
      return e.kind == BoundKind::kCall && e.function.json && e.args.size() == 2 &&
             e.args[0]->kind == BoundKind::kColumn && e.args[1]->kind == BoundKind::kLiteral;
    };
    // A sum over the strings of JSON_QUERY(doc, path WITH ARRAY WRAPPER) (K8S_SUM_*) is summed
    // from the elements the path selects: no array text written and parsed again.
    auto summed_json_call = [&](const BoundExpr& e) -> std::shared_ptr<const JsonCall> {
      if (e.kind != BoundKind::kCall || e.function.json_string_term == nullptr || e.args.size() != 1 ||
          !is_json_call(*e.args[0])) {
        return nullptr;
      }
      const JsonCall& query = *e.args[0]->function.json;
      const JsonCallOptions& o = query.options;
      if (o.kind != JsonFunctionKind::kQuery || o.wrapper != JsonWrapperKind::kUnconditional ||
          o.on_empty != JsonOnBehavior::kNull || o.on_error != JsonOnBehavior::kNull ||
          !o.returning.EqualsIgnoreNullable(format::DataType::String()) || query.sum_of_strings != nullptr) {
        return nullptr;
      }
      auto summed = std::make_shared<JsonCall>(query);
      summed->sum_of_strings = e.function.json_string_term;
      return summed;
    };
    std::function<BoundExprPtr(const BoundExprPtr&)> fuse = [&](const BoundExprPtr& e) -> BoundExprPtr {
      if (!e) return e;
      std::shared_ptr<const JsonCall> call;
      int doc = -1;
      if (is_json_call(*e)) {
        call = e->function.json;
        doc = e->args[0]->column;
      } else if ((call = summed_json_call(*e))) {
        doc = e->args[0]->args[0]->column;
      }
      if (call) {
        std::string key = std::to_string(doc) + "|" + e->ToString();
        auto it = slot_of_.find(key);
        int slot;
        if (it == slot_of_.end()) {
          slot = static_cast<int>(json_calls_.size());
          slot_of_[key] = slot;
          json_calls_.push_back(call.get());
          json_types_.push_back(e->function.return_type.WithNullable(true));
          json_doc_.push_back(doc);
          json_owners_.push_back(std::move(call));
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
    lanes_.push_back(std::make_unique<Lane>());
    for (auto& g : json_groups_) {
      for (size_t s : g.slots) g.call_list.push_back(json_calls_[s]);
      lanes_[0]->json.push_back(std::make_unique<JsonCallSet>(g.call_list));
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
    // Subqueries keep a cache of their answers: a Calc with one evaluates on one thread.
    auto has_subquery = [](const BoundExprPtr& e) {
      bool found = false;
      if (e) {
        VisitExpr(*e, [&](const BoundExpr& x) {
          found = found || x.kind == BoundKind::kSubquery || x.kind == BoundKind::kOuterRef;
        });
      }
      return found;
    };
    one_thread_ = has_subquery(predicate_);
    for (const auto& e : computed_) one_thread_ = one_thread_ || has_subquery(e);
    // A filter and projection of columns alone needs no batch.
    if (computed_.empty() && json_calls_.empty()) {
      if (!pred) {
        row_wise_ = true;
      } else if (auto f = RowFilter::Make(*pred)) {
        row_filter_ = std::move(*f);
        row_wise_ = true;
      }
    }
  }

  std::string name() const override { return name_; }
  const RowType& output_type() const override { return output_; }

  Status Process(Changes& in, Changes* out) override {
    if (row_wise_) {
      for (auto& c : in) {
        if (row_filter_ && !row_filter_->Passes(c.row)) continue;
        Project(c, nullptr, 0, &scratch_, out);
      }
      return Status::OK();
    }
    return Run(
        in.size(),
        [&](Lane& lane, size_t begin, size_t end, bool only_lane) {
          return Chunk(in, begin, end, lane, only_lane ? out : &lane.out);  // one lane: straight out
        },
        [&](Lane& lane) {
          out->reserve(out->size() + lane.out.size());
          for (auto& c : lane.out) out->push_back(std::move(c));
          lane.out.clear();
        });
  }

  // Vectorised, the output is columns already; a row-wise Calc (columns moved through
  // as they are) gives rows.
  bool emits_batches() const override { return !row_wise_; }

  // A row-wise Calc also works on a batch as it is (a table source's read): the filter
  // decided on the columns, the input columns of the kept rows gathered into the output.
  // A vectorised one evaluates the batch's columns (a log source's records) where it would
  // have built them from rows.
  bool takes_batches() const override { return true; }

  Status ProcessBatch(pipeline::ChangeBatch& in, pipeline::ChangeBatch* out) override {
    if (!row_wise_) {
      // The documents the source left in the tap for this batch, if it did.
      const log::RecordBatch* tapped = nullptr;
      if (tap_ != nullptr && tap_->filled) {
        if (tap_->records.size() != in.size()) {
          DropTapped();
          return Status::Internal("calc " + name_ + ": a batch of " + std::to_string(in.size()) + " rows came with " +
                                  std::to_string(tap_->records.size()) + " documents");
        }
        tapped = &tap_->records;
      }
      Status done = Run(
          in.size(),
          [&](Lane& lane, size_t begin, size_t end, bool) {
            return BatchChunkIntoBatch(in, begin, end, tapped, lane, &lane.batch);
          },
          [&](Lane& lane) { pipeline::AppendBatch(lane.batch, out); });
      if (tapped != nullptr && done.ok()) tapped_documents.fetch_add(tapped->size(), std::memory_order_relaxed);
      // The log reuses a read buffer no batch holds any more: let it go before the next poll.
      if (tapped != nullptr) DropTapped();
      return done;
    }
    const size_t n = in.size();
    if (n == 0) return Status::OK();
    std::vector<size_t> kept;
    if (row_filter_) {
      kept.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        if (row_filter_->Passes(in.rows, i)) kept.push_back(i);
      }
      if (kept.empty()) return Status::OK();
    }
    const bool all = !row_filter_ || kept.size() == n;
    const size_t m = all ? n : kept.size();
    pipeline::ChangeBatch chunk{ColumnBatch(output_), {}};
    for (size_t k = 0; k < outputs_.size(); ++k) {
      Column& col = chunk.rows.mutable_column(k);
      Column& src = in.rows.mutable_column(static_cast<size_t>(outputs_[k].input));
      if (all && last_use_[k] && src.type() == col.type()) {
        col = std::move(src);  // every row kept and no other output reads it: the column as it is
      } else if (all) {
        col.AppendRange(src, 0, n);
      } else {
        col.AppendGather(src, kept.data(), m);
      }
    }
    if (all) {
      chunk.kinds = std::move(in.kinds);
    } else {
      chunk.kinds.reserve(m);
      for (size_t i : kept) chunk.kinds.push_back(in.kinds[i]);
    }
    chunk.rows.SetNumRows(m);
    in = pipeline::ChangeBatch{};
    pipeline::AppendBatch(chunk, out);
    return Status::OK();
  }

  Status ProcessIntoBatch(Changes& in, pipeline::ChangeBatch* out) override {
    if (row_wise_) return Operator::ProcessIntoBatch(in, out);
    return Run(
        in.size(),
        [&](Lane& lane, size_t begin, size_t end, bool) { return ChunkIntoBatch(in, begin, end, lane, &lane.batch); },
        [&](Lane& lane) { pipeline::AppendBatch(lane.batch, out); });
  }

  double worker_cpu_seconds() const override { return worker_cpu_; }

  // The input column read only as the document of JSON calls (CalcDocumentOnlyColumn), or -1.
  int DocumentOnlyColumn(const RowType& input) const {
    if (row_wise_ || json_groups_.size() != 1 || !(input == input_)) return -1;
    int doc = json_groups_[0].doc;
    if (std::find(read_.begin(), read_.end(), doc) != read_.end()) return -1;
    for (const Output& o : outputs_) {
      if (o.input == doc) return -1;
    }
    return doc;
  }
  void Tap(std::shared_ptr<LogValueTap> tap) { tap_ = std::move(tap); }

 private:
  void DropTapped() {
    tap_->filled = false;
    tap_->records = log::RecordBatch();
  }

  struct Output {
    int input;     // >= 0: the input column, moved through
    int computed;  // >= 0: index into computed_
  };

  // Evaluates `total` input rows chunk by chunk (`chunk` puts a chunk's output in its lane, or where it
  // likes when told its lane is the only one), on as many lanes as there are threads, then
  // hands each lane's output to `join`, in input order.
  template <typename ChunkFn, typename JoinFn>
  Status Run(size_t total, ChunkFn chunk, JoinFn join) {
    ctx_.statement_time_millis = NowMillis();
    const size_t chunks = (total + kBatchSize - 1) / kBatchSize;
    const size_t lanes = one_thread_ ? 1 : std::min(chunks, static_cast<size_t>(WorkerPool::DefaultParallelism()));
    if (lanes <= 1) {
      Lane& lane = *lanes_[0];
      lane.ctx = ctx_;
      for (size_t begin = 0; begin < total; begin += kBatchSize) {
        Status done = chunk(lane, begin, std::min(total, begin + kBatchSize), true);
        if (!done.ok()) {
          DropLaneOutputs();
          return done;
        }
      }
      join(lane);
      return Status::OK();
    }
    // Rows are independent: lanes take consecutive runs of chunks, each with its own JSON
    // parser, context and scratch row, and their outputs join in input order.
    while (lanes_.size() < lanes) {
      auto lane = std::make_unique<Lane>();
      for (const auto& g : json_groups_) lane->json.push_back(std::make_unique<JsonCallSet>(g.call_list));
      lanes_.push_back(std::move(lane));
    }
    double worker_cpu = 0;
    Status processed = WorkerPool::Shared().Run(
        lanes, static_cast<int>(lanes),
        [&](size_t l) -> Status {
          Lane& lane = *lanes_[l];
          lane.ctx = ctx_;
          for (size_t c = l * chunks / lanes; c < (l + 1) * chunks / lanes; ++c) {
            size_t begin = c * kBatchSize;
            KL_RETURN_IF_ERROR(chunk(lane, begin, std::min(total, begin + kBatchSize), false));
          }
          return Status::OK();
        },
        &worker_cpu);
    worker_cpu_ += worker_cpu;
    if (!processed.ok()) {
      DropLaneOutputs();
      return processed;
    }
    for (size_t l = 0; l < lanes; ++l) join(*lanes_[l]);
    return Status::OK();
  }

  // After an error: what the lanes evaluated of the failed input goes nowhere.
  void DropLaneOutputs() {
    for (auto& lane : lanes_) {
      lane->out.clear();
      lane->batch = {};
    }
  }

  // What one thread evaluating chunks needs of its own.
  struct Lane {
    ExecContext ctx;
    std::vector<std::unique_ptr<JsonCallSet>> json;  // per JSON group: its calls, with a parser
    format::Row scratch;
    std::vector<std::string_view> docs;      // a chunk's tapped documents
    std::vector<double> slot_bytes_per_row;  // per JSON slot: string bytes per row of the last chunk
    Changes out;                             // Process: the lane's output rows
    pipeline::ChangeBatch batch;             // ProcessIntoBatch: the lane's output columns
  };

  // What evaluating a chunk gives: the rows of the chunk the predicate keeps (relative to
  // its first) and the computed outputs over them, one column per computed expression,
  // which may borrow the columns of `batch` or `gathered`.
  struct Evaluated {
    ColumnBatch batch, gathered;
    std::vector<uint32_t> selected;
    std::vector<ColumnValue> values;
  };

  // Fills the columns of `batch` (n rows) that hold the JSON calls' values, group by group:
  // `evaluate(gi, &cols)` runs group gi's calls over its documents into one column per slot.
  // A string slot's column is sized for the bytes the lane's previous chunk put in it (per row,
  // with an eighth to spare): grown value by value from empty, it was copied a dozen times over.
  template <typename EvaluateGroup>
  Status FillJsonSlots(size_t n, Lane& lane, ColumnBatch* batch, EvaluateGroup evaluate) {
    lane.slot_bytes_per_row.resize(json_calls_.size(), 0);
    for (size_t gi = 0; gi < json_groups_.size(); ++gi) {
      const JsonGroup& g = json_groups_[gi];
      std::vector<Column> cols;
      for (size_t s : g.slots) {
        cols.emplace_back(json_types_[s]);
        cols.back().Reserve(n);
        double per_row = lane.slot_bytes_per_row[s];
        if (per_row > 0) {
          // Capped: one chunk of huge values does not make every next one reserve as much.
          double want = std::min(per_row * static_cast<double>(n) * 1.125 + 64, double{kMaxSlotReserve});
          cols.back().ReserveBytes(static_cast<size_t>(want));
        }
      }
      KL_RETURN_IF_ERROR(evaluate(gi, &cols));
      for (size_t k = 0; k < g.slots.size(); ++k) {
        if (n > 0) {
          lane.slot_bytes_per_row[g.slots[k]] = static_cast<double>(cols[k].ValueBytes()) / static_cast<double>(n);
        }
        batch->mutable_column(read_.size() + g.slots[k]) = std::move(cols[k]);
      }
    }
    return Status::OK();
  }

  Status EvaluateChunk(Changes& in, size_t begin, size_t end, Lane& lane, Evaluated* ev) {
    size_t n = end - begin;
    ColumnBatch& batch = ev->batch;
    batch = ColumnBatch(compact_);
    for (size_t k = 0; k < read_.size(); ++k) {
      Column& col = batch.mutable_column(k);
      col.Reserve(n);
      size_t c = static_cast<size_t>(read_[k]);
      for (size_t i = begin; i < end; ++i) col.Append(in[i].row[c]);
    }
    std::vector<const std::string*> docs;
    KL_RETURN_IF_ERROR(FillJsonSlots(n, lane, &batch, [&](size_t gi, std::vector<Column>* cols) {
      docs.clear();
      docs.reserve(n);
      for (size_t i = begin; i < end; ++i) {
        const Datum& d = in[i].row[static_cast<size_t>(json_groups_[gi].doc)];
        docs.push_back(d.is_null() ? nullptr : &d.as_bytes());
      }
      return lane.json[gi]->Evaluate(lane.ctx, docs, cols);
    }));
    batch.SetNumRows(n);
    return EvaluateBuilt(n, lane, ev);
  }

  // EvaluateChunk for rows [begin, end) of a batch: the columns read are copied from it;
  // the tapped column's documents, when `tapped`, are its records' values.
  Status EvaluateBatchChunk(const pipeline::ChangeBatch& in, size_t begin, size_t end, const log::RecordBatch* tapped,
                            Lane& lane, Evaluated* ev) {
    size_t n = end - begin;
    ColumnBatch& batch = ev->batch;
    batch = ColumnBatch(compact_);
    for (size_t k = 0; k < read_.size(); ++k) {
      Column& col = batch.mutable_column(k);
      col.AppendRange(in.rows.column(static_cast<size_t>(read_[k])), begin, end);
      if (col.is_dictionary()) col.Flatten();  // as rows would have built it
    }
    KL_RETURN_IF_ERROR(FillJsonSlots(n, lane, &batch, [&](size_t gi, std::vector<Column>* cols) {
      if (tapped != nullptr && json_groups_[gi].doc == tap_->column) {
        lane.docs.resize(n);
        for (size_t i = 0; i < n; ++i) lane.docs[i] = (*tapped)[begin + i].value;
        return lane.json[gi]->Evaluate(lane.ctx, lane.docs.data(), n, tap_->padding, cols);
      }
      return lane.json[gi]->Evaluate(lane.ctx, in.rows.column(static_cast<size_t>(json_groups_[gi].doc)), begin, end,
                                     cols);
    }));
    batch.SetNumRows(n);
    return EvaluateBuilt(n, lane, ev);
  }

  // The filter and the computed outputs over `ev->batch` (n rows, built).
  Status EvaluateBuilt(size_t n, Lane& lane, Evaluated* ev) {
    ColumnBatch& batch = ev->batch;
    std::vector<uint32_t>& selected = ev->selected;
    selected.clear();
    const ColumnBatch* eval = &batch;
    ColumnBatch& gathered = ev->gathered;
    if (predicate_) {
      KL_RETURN_IF_ERROR(EvaluateFilter(*predicate_, batch, lane.ctx, &selected));
      if (selected.size() < n) {
        GatherBatch(batch, selected.data(), selected.size(), &gathered);
        eval = &gathered;
      }
    } else {
      selected.resize(n);
      for (size_t i = 0; i < n; ++i) selected[i] = static_cast<uint32_t>(i);
    }
    size_t m = selected.size();
    std::vector<ColumnValue>& values = ev->values;
    values.clear();
    values.resize(computed_.size());
    for (size_t k = 0; k < computed_.size(); ++k) {
      KL_RETURN_IF_ERROR(Evaluate(*computed_[k], *eval, m, lane.ctx, &values[k]));
      if (values[k].get().size() < m) {
        return Status::Internal("calc " + name_ + ": an expression gave " + std::to_string(values[k].get().size()) +
                                " values for " + std::to_string(m) + " rows");
      }
    }
    return Status::OK();
  }

  Status Chunk(Changes& in, size_t begin, size_t end, Lane& lane, Changes* out) {
    Evaluated ev;
    KL_RETURN_IF_ERROR(EvaluateChunk(in, begin, end, lane, &ev));
    for (size_t j = 0; j < ev.selected.size(); ++j) {
      Project(in[begin + ev.selected[j]], &ev.values, j, &lane.scratch, out);
    }
    return Status::OK();
  }

  // Output column `col` of `m` rows takes the computed `v`: moved when owned, copied when borrowed
  // from the input batch (each output has its own column); another type of the same kind (a CHAR
  // of a length, a decimal's scale) goes value by value.
  // `chunk_column`: the chunk's own column that `v` borrows, when this output may take it
  // (ChunkColumnsToTake).
  static void PutComputedColumn(ColumnValue& v, Column* chunk_column, size_t m, Column* col) {
    if (v.get().type().EqualsIgnoreNullable(col->type()) && v.get().size() == m) {
      *col = chunk_column != nullptr ? std::move(*chunk_column) : v.Take(m);
      if (col->is_dictionary()) col->Flatten();
      return;
    }
    col->Reserve(m);
    for (size_t j = 0; j < m; ++j) col->Append(v.get().Get(j));
  }

  // Per output, the column of the chunk's own batch (or of its kept rows) that its computed value
  // borrows — a JSON result passed on as it is, COALESCE(slot, d) with no NULL — when no later
  // output borrows it too: that output takes the column, which the chunk drops anyway, rather
  // than a copy of it (the labels' copies were a tenth of the operators' time).
  void ChunkColumnsToTake(Evaluated& ev, std::vector<Column*>* take) const {
    take->assign(outputs_.size(), nullptr);
    std::vector<const Column*> taken;
    for (size_t k = outputs_.size(); k-- > 0;) {
      if (outputs_[k].computed < 0) continue;
      const Column* borrowed = &ev.values[static_cast<size_t>(outputs_[k].computed)].get();
      if (std::find(taken.begin(), taken.end(), borrowed) != taken.end()) continue;
      for (ColumnBatch* b : {&ev.batch, &ev.gathered}) {
        for (Column& c : b->mutable_columns()) {
          if (&c == borrowed) (*take)[k] = &c;
        }
      }
      if ((*take)[k] != nullptr) taken.push_back(borrowed);
    }
  }

  // Chunk with the output as columns: computed values as evaluated, input columns gathered
  // from the kept rows.
  Status ChunkIntoBatch(Changes& in, size_t begin, size_t end, Lane& lane, pipeline::ChangeBatch* out) {
    Evaluated ev;
    KL_RETURN_IF_ERROR(EvaluateChunk(in, begin, end, lane, &ev));
    const std::vector<uint32_t>& selected = ev.selected;
    std::vector<ColumnValue>& values = ev.values;
    size_t m = selected.size();
    std::vector<Column*> take;
    ChunkColumnsToTake(ev, &take);
    pipeline::ChangeBatch chunk{ColumnBatch(output_), {}};
    chunk.kinds.reserve(m);
    for (size_t j = 0; j < m; ++j) chunk.kinds.push_back(in[begin + selected[j]].kind);
    for (size_t k = 0; k < outputs_.size(); ++k) {
      const Output& spec = outputs_[k];
      Column& col = chunk.rows.mutable_column(k);
      if (spec.input >= 0) {
        col.Reserve(m);
        size_t c = static_cast<size_t>(spec.input);
        for (size_t j = 0; j < m; ++j) col.Append(in[begin + selected[j]].row[c]);
        continue;
      }
      PutComputedColumn(values[static_cast<size_t>(spec.computed)], take[k], m, &col);
    }
    chunk.rows.SetNumRows(m);
    pipeline::AppendBatch(chunk, out);
    return Status::OK();
  }

  // ChunkIntoBatch for rows [begin, end) of a batch: its columns gathered from the kept rows.
  Status BatchChunkIntoBatch(const pipeline::ChangeBatch& in, size_t begin, size_t end, const log::RecordBatch* tapped,
                             Lane& lane, pipeline::ChangeBatch* out) {
    Evaluated ev;
    KL_RETURN_IF_ERROR(EvaluateBatchChunk(in, begin, end, tapped, lane, &ev));
    const std::vector<uint32_t>& selected = ev.selected;
    std::vector<ColumnValue>& values = ev.values;
    size_t m = selected.size();
    std::vector<Column*> take;
    ChunkColumnsToTake(ev, &take);
    std::vector<size_t> rows(m);
    for (size_t j = 0; j < m; ++j) rows[j] = begin + selected[j];
    pipeline::ChangeBatch chunk{ColumnBatch(output_), {}};
    chunk.kinds.reserve(m);
    for (size_t r : rows) chunk.kinds.push_back(in.kinds[r]);
    for (size_t k = 0; k < outputs_.size(); ++k) {
      const Output& spec = outputs_[k];
      Column& col = chunk.rows.mutable_column(k);
      if (spec.input >= 0) {
        const Column& src = in.rows.column(static_cast<size_t>(spec.input));
        if (src.kind() == col.kind()) {
          col.AppendGather(src, rows.data(), m);
        } else {
          col.Reserve(m);
          for (size_t r : rows) col.Append(src.Get(r));
        }
        continue;
      }
      PutComputedColumn(values[static_cast<size_t>(spec.computed)], take[k], m, &col);
    }
    chunk.rows.SetNumRows(m);
    pipeline::AppendBatch(chunk, out);
    return Status::OK();
  }

  // The output row of `src` (computed values: row j of `values`) replaces its row.
  // It is built in the storage of the previous input row (`scratch`), then swapped
  // with this one's: a projection allocates no row.
  void Project(Change& src, const std::vector<ColumnValue>* values, size_t j, format::Row* scratch, Changes* out) {
    scratch->clear();
    scratch->reserve(outputs_.size());
    for (size_t k = 0; k < outputs_.size(); ++k) {
      const Output& spec = outputs_[k];
      if (spec.input >= 0) {
        Datum& d = src.row[static_cast<size_t>(spec.input)];
        scratch->push_back(last_use_[k] ? std::move(d) : d);
      } else {
        scratch->push_back((*values)[static_cast<size_t>(spec.computed)].get().Get(j));
      }
    }
    std::swap(src.row, *scratch);
    src.input = 0;
    out->push_back(std::move(src));
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
    int doc;                                 // the document column
    std::vector<size_t> slots;               // its calls' slots
    std::vector<const JsonCall*> call_list;  // evaluated by a lane's JsonCallSet, one parse per row
  };
  std::vector<JsonGroup> json_groups_;
  format::Row scratch_;                       // of row-wise projections
  std::vector<std::unique_ptr<Lane>> lanes_;  // [0] serves single-threaded batches
  double worker_cpu_ = 0;
  bool one_thread_ = false;  // never split a batch across threads
  bool row_wise_ = false;    // no batch: outputs are input columns, the filter a RowFilter (or none)
  std::optional<RowFilter> row_filter_;
  std::shared_ptr<LogValueTap> tap_;  // documents the source hands over (TapCalcDocuments)
};

}  // namespace

std::function<bool(const Row&)> MakeRowPredicate(const BoundExpr& predicate) {
  std::optional<RowFilter> f = RowFilter::Make(predicate);
  if (!f) return nullptr;
  return [filter = std::move(*f)](const Row& row) { return filter.Passes(row); };
}

std::function<bool(const ColumnBatch&, size_t)> MakeBatchRowPredicate(const BoundExpr& predicate) {
  std::optional<RowFilter> f = RowFilter::Make(predicate);
  if (!f) return nullptr;
  return [filter = std::move(*f)](const ColumnBatch& batch, size_t i) { return filter.Passes(batch, i); };
}

uint64_t CalcTappedDocuments() { return tapped_documents.load(std::memory_order_relaxed); }

int CalcDocumentOnlyColumn(const pipeline::Operator& calc, const RowType& input) {
  const auto* c = dynamic_cast<const CalcOp*>(&calc);
  return c == nullptr ? -1 : c->DocumentOnlyColumn(input);
}

void TapCalcDocuments(pipeline::Operator* calc, std::shared_ptr<LogValueTap> tap) {
  static_cast<CalcOp*>(calc)->Tap(std::move(tap));
}

std::unique_ptr<pipeline::Operator> MakeCalc(RowType input, BoundExprPtr predicate, std::vector<BoundExprPtr> exprs,
                                             RowType output, const ExecContext& ctx, std::string name) {
  return std::make_unique<CalcOp>(std::move(input), std::move(predicate), std::move(exprs), std::move(output), ctx,
                                  std::move(name));
}

}  // namespace kl::sql::streaming
