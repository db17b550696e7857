// Streaming GROUP BY with retractions, and ChangelogNormalize.
#include <map>

#include "common/coding.h"
#include "sql/binder/types.h"
#include "sql/streaming/keyed_state.h"
#include "sql/streaming/operators.h"

namespace kl::sql::streaming {

using format::Column;
using format::ColumnBatch;
using format::DataField;
using format::Datum;
using format::Int128;
using format::PhysicalKind;
using format::Row;
using format::RowKind;
using format::RowType;
using format::TypeRoot;

namespace {

struct DatumLess {
  bool operator()(const Datum& a, const Datum& b) const { return format::CompareDatum(a, b) < 0; }
};

enum class AccKind : unsigned char { kCount, kSum, kAvg, kMinMax, kGeneric };

// One aggregate's accumulator of one group.
struct Acc {
  int64_t count = 0;  // rows counted (COUNT), non-null values (SUM, AVG)
  int64_t isum = 0;   // integer sum, wrapping as Java's long
  Int128 dsum = 0;    // exact sum of integers, or of DECIMAL unscaled values
  double fsum = 0;
  std::map<Datum, int64_t, DatumLess> values;  // MIN / MAX: value -> multiplicity
  std::vector<std::pair<Row, int64_t>> rows;   // generic: argument rows in first-seen order, multiplicity
};

struct GroupState {
  int64_t rows = 0;  // rows in the group (accumulated minus retracted)
  bool emitted = false;
  Row last;  // the result row last emitted
  std::vector<Acc> accs;
};

void PutI128(std::string* out, Int128 v) {
  auto u = static_cast<unsigned __int128>(v);
  PutFixed64LE(out, static_cast<uint64_t>(u));
  PutFixed64LE(out, static_cast<uint64_t>(u >> 64));
}
Int128 GetI128(ByteReader* r) {
  uint64_t lo = r->Fixed64LE(), hi = r->Fixed64LE();
  return static_cast<Int128>((static_cast<unsigned __int128>(hi) << 64) | lo);
}

class GroupAggregateOp : public pipeline::Operator {
 public:
  GroupAggregateOp(const LogicalOp& op, const ExecContext& ctx) : op_(op), ctx_(ctx) {
    const RowType& in = op.children[0]->schema;
    std::vector<BoundExprPtr> exprs = op.groups;
    for (const auto& call : op.aggregates) {
      arg_begin_.push_back(exprs.size());
      for (const auto& a : call.args) exprs.push_back(a);
    }
    for (const auto& call : op.aggregates) {
      filter_col_.push_back(call.filter ? static_cast<int>(exprs.size()) : -1);
      if (call.filter) exprs.push_back(call.filter);
    }
    std::vector<DataField> fields;
    for (const auto& e : exprs) fields.push_back({static_cast<int32_t>(fields.size()), "v", e->type, ""});
    values_type_ = RowType(fields);
    pre_ = MakeCalc(in, nullptr, exprs, values_type_, ctx, "aggregate-inputs");
    for (const auto& call : op.aggregates) {
      const DataType& t = call.type;
      AccKind k = AccKind::kGeneric;
      if (!call.distinct) {
        if (call.name == "COUNT") {
          k = AccKind::kCount;
        } else if (call.name == "SUM" && (t.physical() == PhysicalKind::kInt || t.physical() == PhysicalKind::kDouble ||
                                          t.physical() == PhysicalKind::kDecimal)) {
          k = AccKind::kSum;
        } else if (call.name == "AVG" && (t.physical() == PhysicalKind::kInt || t.physical() == PhysicalKind::kDouble)) {
          k = AccKind::kAvg;
        } else if (call.name == "MIN" || call.name == "MAX") {
          k = AccKind::kMinMax;
        }
      }
      kinds_.push_back(k);
    }
  }

  std::string name() const override { return "group-aggregate"; }
  const RowType& output_type() const override { return op_.schema; }
  bool stateful() const override { return true; }

  Status Process(Changes& in, Changes* out) override {
    Changes values;
    KL_RETURN_IF_ERROR(pre_->Process(in, &values));
    size_t ng = op_.groups.size();
    std::vector<std::string> touched;
    for (auto& c : values) {
      const Row& v = c.row;
      Row key(v.begin(), v.begin() + static_cast<ptrdiff_t>(ng));
      std::string k = pipeline::EncodeRow(key);
      int sign = format::IsRetract(c.kind) ? -1 : 1;
      GroupState* g = groups_.Find(k);
      if (g == nullptr) {
        if (sign < 0) continue;  // a retraction of nothing counted (Flink ignores it too)
        g = &groups_.Touch(k);
        g->accs.resize(kinds_.size());
      } else {
        groups_.Touch(k);
      }
      if (touched_set_.insert(k).second) touched.push_back(k);
      g->rows += sign;
      for (size_t a = 0; a < kinds_.size(); ++a) {
        if (filter_col_[a] >= 0) {
          const Datum& f = v[static_cast<size_t>(filter_col_[a])];
          if (f.is_null() || f.as_int() == 0) continue;
        }
        Accumulate(a, &g->accs[a], v, sign);
      }
    }
    for (const auto& k : touched) KL_RETURN_IF_ERROR(Emit(k, out));
    touched_set_.clear();
    return Status::OK();
  }

  // A global aggregate (no GROUP BY) has a result over no rows at all, as in
  // batch: it is emitted at the first checkpoint if no input came before.
  bool WantsCheckpoint() override { return op_.groups.empty() && groups_.size() == 0; }
  Status Finish(Changes* out) override {
    if (!op_.groups.empty() || groups_.size() > 0) return Status::OK();
    std::string k = pipeline::EncodeRow(Row{});
    GroupState& g = groups_.Touch(k);
    g.accs.resize(kinds_.size());
    return Emit(k, out);
  }

  Status SaveState(bool full, pipeline::StateWriter* out) override {
    groups_.Save(full, out, [this](const GroupState& g) { return Encode(g); });
    return Status::OK();
  }
  void StateCommitted() override { groups_.Committed(); }
  Status LoadState(const pipeline::OperatorState& state) override {
    return groups_.Load(state, [this](std::string_view v) { return Decode(v); });
  }

 private:
  void Accumulate(size_t a, Acc* acc, const Row& v, int sign) {
    const AggregateCall& call = op_.aggregates[a];
    size_t begin = arg_begin_[a];
    size_t nargs = call.args.size();
    switch (kinds_[a]) {
      case AccKind::kCount: {
        bool any_null = false;
        for (size_t i = 0; i < nargs; ++i) any_null = any_null || v[begin + i].is_null();
        if (!any_null) acc->count += sign;
        return;
      }
      case AccKind::kSum:
      case AccKind::kAvg: {
        const Datum& x = v[begin];
        if (x.is_null()) return;
        acc->count += sign;
        switch (call.args[0]->type.physical()) {
          case PhysicalKind::kInt:
            acc->isum = static_cast<int64_t>(static_cast<uint64_t>(acc->isum) +
                                             static_cast<uint64_t>(sign) * static_cast<uint64_t>(x.as_int()));
            acc->dsum += sign * static_cast<Int128>(x.as_int());
            break;
          case PhysicalKind::kDouble: acc->fsum += sign * x.as_double(); break;
          case PhysicalKind::kDecimal: acc->dsum += sign * x.as_decimal(); break;
          default: break;
        }
        return;
      }
      case AccKind::kMinMax: {
        const Datum& x = v[begin];
        if (x.is_null()) return;
        auto it = acc->values.find(x);
        if (it == acc->values.end()) {
          if (sign > 0) acc->values.emplace(x, 1);
        } else if ((it->second += sign) <= 0) {
          acc->values.erase(it);
        }
        return;
      }
      case AccKind::kGeneric: {
        Row args(v.begin() + static_cast<ptrdiff_t>(begin), v.begin() + static_cast<ptrdiff_t>(begin + nargs));
        for (size_t i = 0; i < acc->rows.size(); ++i) {
          if (format::CompareRows(acc->rows[i].first, args) != 0) continue;
          acc->rows[i].second += sign;
          if (acc->rows[i].second <= 0) acc->rows.erase(acc->rows.begin() + static_cast<ptrdiff_t>(i));
          return;
        }
        if (sign > 0) acc->rows.push_back({std::move(args), 1});
        return;
      }
    }
  }

  Result<Datum> Value(size_t a, const Acc& acc) {
    const AggregateCall& call = op_.aggregates[a];
    const DataType& t = call.type;
    switch (kinds_[a]) {
      case AccKind::kCount: return Datum::Int(acc.count);
      case AccKind::kSum:
        if (acc.count <= 0) return Datum();
        switch (t.physical()) {
          case PhysicalKind::kInt: return Datum::Int(WrapToIntegral(acc.isum, t.root()));
          case PhysicalKind::kDouble: return Datum::Double(acc.fsum);
          default: return Datum::Decimal(acc.dsum);
        }
      case AccKind::kAvg:
        if (acc.count <= 0) return Datum();
        if (t.physical() == PhysicalKind::kInt) return Datum::Int(WrapToIntegral(static_cast<int64_t>(acc.dsum / acc.count), t.root()));
        if (call.args[0]->type.physical() == PhysicalKind::kDouble) return Datum::Double(acc.fsum / acc.count);
        return Datum::Double(static_cast<double>(acc.dsum) / acc.count);
      case AccKind::kMinMax:
        if (acc.values.empty()) return Datum();
        return call.name == "MIN" ? acc.values.begin()->first : acc.values.rbegin()->first;
      case AccKind::kGeneric: {
        // Recomputed from the group's argument rows with the batch aggregate.
        auto state = call.aggregate.make();
        state->Resize(1);
        std::vector<Column> cols;
        for (const auto& e : call.args) cols.emplace_back(e->type);
        size_t n = 0;
        for (const auto& [row, times] : acc.rows) {
          for (int64_t t2 = 0; t2 < times; ++t2) {
            for (size_t i = 0; i < cols.size(); ++i) cols[i].Append(row[i]);
            ++n;
          }
        }
        std::vector<const Column*> ptrs;
        for (auto& c : cols) ptrs.push_back(&c);
        std::vector<uint32_t> groups(n, 0);
        KL_RETURN_IF_ERROR(state->Update(ptrs, groups.data(), n));
        Column out(t);
        KL_RETURN_IF_ERROR(state->Finish(0, &out));
        return out.Get(0);
      }
    }
    return Datum();
  }

  Status Emit(const std::string& k, Changes* out) {
    GroupState* g = groups_.Find(k);
    if (g == nullptr) return Status::OK();
    size_t ng = op_.groups.size();
    if (g->rows <= 0 && ng > 0) {
      // The group's last row went: its result goes too.
      if (g->emitted) out->push_back({RowKind::kDelete, g->last});
      groups_.Erase(k);
      return Status::OK();
    }
    std::string_view kv(k);
    KL_ASSIGN_OR_RETURN(Row row, pipeline::DecodeRow(&kv));
    for (size_t a = 0; a < kinds_.size(); ++a) {
      KL_ASSIGN_OR_RETURN(Datum d, Value(a, g->accs[a]));
      row.push_back(std::move(d));
    }
    if (!g->emitted) {
      out->push_back({RowKind::kInsert, row});
    } else if (format::CompareRows(row, g->last) != 0) {
      out->push_back({RowKind::kUpdateBefore, g->last});
      out->push_back({RowKind::kUpdateAfter, row});
    }
    g->emitted = true;
    g->last = std::move(row);
    return Status::OK();
  }

  std::string Encode(const GroupState& g) const {
    std::string out;
    PutVarint64(&out, ZigZagEncode(g.rows));
    out.push_back(g.emitted ? 1 : 0);
    if (g.emitted) pipeline::EncodeRow(g.last, &out);
    PutVarint64(&out, g.accs.size());
    for (const auto& acc : g.accs) {
      PutVarint64(&out, ZigZagEncode(acc.count));
      PutVarint64(&out, ZigZagEncode(acc.isum));
      PutI128(&out, acc.dsum);
      uint64_t bits;
      std::memcpy(&bits, &acc.fsum, 8);
      PutFixed64LE(&out, bits);
      PutVarint64(&out, acc.values.size());
      for (const auto& [d, n] : acc.values) {
        pipeline::EncodeRow(Row{d}, &out);
        PutVarint64(&out, ZigZagEncode(n));
      }
      PutVarint64(&out, acc.rows.size());
      for (const auto& [r, n] : acc.rows) {
        pipeline::EncodeRow(r, &out);
        PutVarint64(&out, ZigZagEncode(n));
      }
    }
    return out;
  }

  Result<GroupState> Decode(std::string_view v) const {
    GroupState g;
    auto bad = Status::Corruption("group-aggregate state: bad entry");
    ByteReader r(v);
    g.rows = r.ZigZag();
    g.emitted = r.Byte() != 0;
    auto rest = [&]() { return std::string_view(reinterpret_cast<const char*>(r.position()), r.remaining()); };
    if (!r.ok()) return bad;
    if (g.emitted) {
      std::string_view s = rest();
      KL_ASSIGN_OR_RETURN(g.last, pipeline::DecodeRow(&s));
      r = ByteReader(s);
    }
    uint64_t n = r.Varint();
    if (!r.ok() || n != kinds_.size()) return bad;
    g.accs.resize(n);
    for (auto& acc : g.accs) {
      acc.count = r.ZigZag();
      acc.isum = r.ZigZag();
      acc.dsum = GetI128(&r);
      uint64_t bits = r.Fixed64LE();
      std::memcpy(&acc.fsum, &bits, 8);
      uint64_t nv = r.Varint();
      if (!r.ok() || nv > r.remaining()) return bad;
      for (uint64_t i = 0; i < nv; ++i) {
        std::string_view s = rest();
        KL_ASSIGN_OR_RETURN(Row d, pipeline::DecodeRow(&s));
        r = ByteReader(s);
        int64_t times = r.ZigZag();
        if (d.size() != 1) return bad;
        acc.values.emplace(std::move(d[0]), times);
      }
      uint64_t nr = r.Varint();
      if (!r.ok() || nr > r.remaining()) return bad;
      for (uint64_t i = 0; i < nr; ++i) {
        std::string_view s = rest();
        KL_ASSIGN_OR_RETURN(Row row, pipeline::DecodeRow(&s));
        r = ByteReader(s);
        int64_t times = r.ZigZag();
        acc.rows.push_back({std::move(row), times});
      }
    }
    if (!r.ok()) return bad;
    return g;
  }

  LogicalOp op_;
  ExecContext ctx_;
  RowType values_type_;
  std::unique_ptr<pipeline::Operator> pre_;
  std::vector<size_t> arg_begin_;
  std::vector<int> filter_col_;
  std::vector<AccKind> kinds_;
  KeyedState<GroupState> groups_;
  std::unordered_set<std::string> touched_set_;
};

class ChangelogNormalizeOp : public pipeline::Operator {
 public:
  ChangelogNormalizeOp(RowType type, std::vector<int> keys) : type_(std::move(type)), keys_(std::move(keys)) {}
  std::string name() const override { return "changelog-normalize"; }
  const RowType& output_type() const override { return type_; }
  bool stateful() const override { return true; }

  Status Process(Changes& in, Changes* out) override {
    for (auto& c : in) {
      Row key;
      for (int k : keys_) key.push_back(c.row[static_cast<size_t>(k)]);
      std::string k = pipeline::EncodeRow(key);
      Row* prev = rows_.Find(k);
      if (format::IsRetract(c.kind)) {
        if (c.kind == RowKind::kUpdateBefore) continue;  // the +U that follows says it all
        if (prev != nullptr) {
          out->push_back({RowKind::kDelete, std::move(*prev)});
          rows_.Erase(k);
        }
        continue;
      }
      if (prev == nullptr) {
        out->push_back({RowKind::kInsert, c.row});
        rows_.Touch(k) = std::move(c.row);
      } else if (format::CompareRows(*prev, c.row) != 0) {
        out->push_back({RowKind::kUpdateBefore, *prev});
        out->push_back({RowKind::kUpdateAfter, c.row});
        rows_.Touch(k) = std::move(c.row);
      }
    }
    return Status::OK();
  }
  Status SaveState(bool full, pipeline::StateWriter* out) override {
    rows_.Save(full, out, [](const Row& r) { return pipeline::EncodeRow(r); });
    return Status::OK();
  }
  void StateCommitted() override { rows_.Committed(); }
  Status LoadState(const pipeline::OperatorState& state) override {
    return rows_.Load(state, [](std::string_view v) { return pipeline::DecodeRow(&v); });
  }

 private:
  RowType type_;
  std::vector<int> keys_;
  KeyedState<Row> rows_;
};

}  // namespace

Result<std::unique_ptr<pipeline::Operator>> MakeGroupAggregate(const LogicalOp& aggregate, const ExecContext& ctx) {
  if (aggregate.kind != OpKind::kAggregate || aggregate.children.size() != 1) {
    return Status::Internal("group aggregate over a non-aggregate plan node");
  }
  return std::unique_ptr<pipeline::Operator>(new GroupAggregateOp(aggregate, ctx));
}

std::unique_ptr<pipeline::Operator> MakeChangelogNormalize(RowType type, std::vector<int> key_columns) {
  return std::make_unique<ChangelogNormalizeOp>(std::move(type), std::move(key_columns));
}

}  // namespace kl::sql::streaming
