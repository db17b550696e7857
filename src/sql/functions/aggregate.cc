// Aggregate functions (COUNT, SUM, MIN, MAX, AVG, LISTAGG, FIRST_VALUE, ...),
// each keeping one state per group in flat vectors.
#include <cmath>
#include <unordered_set>

#include "sql/binder/expression.h"
#include "sql/binder/types.h"
#include "sql/functions/function.h"

namespace kl::sql {

using format::Int128;
using format::PhysicalKind;
using format::TypeRoot;

namespace {

class CountState : public AggregateState {
 public:
  explicit CountState(bool star) : star_(star) {}
  void Resize(size_t n) override { counts_.resize(n, 0); }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    if (star_ || args.empty()) {
      for (size_t i = 0; i < n; ++i) ++counts_[groups[i]];
      return Status::OK();
    }
    for (size_t i = 0; i < n; ++i) {
      bool any_null = false;
      for (const Column* a : args) any_null = any_null || a->IsNull(i);
      if (!any_null) ++counts_[groups[i]];
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    out->AppendInt(counts_[g]);
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(counts_.capacity() * 8); }

 private:
  bool star_;
  std::vector<int64_t> counts_;
};

class SumState : public AggregateState {
 public:
  SumState(DataType result, bool average, DataType input)
      : result_(std::move(result)), input_(std::move(input)), average_(average) {}
  void Resize(size_t n) override {
    ints_.resize(n, 0);
    doubles_.resize(n, 0);
    decimals_.resize(n, 0);
    counts_.resize(n, 0);
  }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[0];
    switch (c.kind()) {
      case PhysicalKind::kInt:
        for (size_t i = 0; i < n; ++i) {
          if (c.IsNull(i)) continue;
          uint32_t g = groups[i];
          ints_[g] = static_cast<int64_t>(static_cast<uint64_t>(ints_[g]) + static_cast<uint64_t>(c.GetInt(i)));
          decimals_[g] += c.GetInt(i);  // exact sum for AVG (2^64 rows of int64 fit in 128 bits)
          ++counts_[g];
        }
        break;
      case PhysicalKind::kDouble:
        for (size_t i = 0; i < n; ++i) {
          if (c.IsNull(i)) continue;
          doubles_[groups[i]] += c.GetDouble(i);
          ++counts_[groups[i]];
        }
        break;
      case PhysicalKind::kDecimal:
        for (size_t i = 0; i < n; ++i) {
          if (c.IsNull(i)) continue;
          if (__builtin_add_overflow(decimals_[groups[i]], c.GetDecimal(i), &decimals_[groups[i]])) {
            overflow_.resize(counts_.size(), 0);
            overflow_[groups[i]] = 1;
          }
          ++counts_[groups[i]];
        }
        break;
      default: return Status::InvalidArgument("SUM/AVG of a non-numeric column");
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    if (counts_[g] == 0 || (g < overflow_.size() && overflow_[g])) {
      out->AppendNull();  // no values, or a DECIMAL sum beyond 38 digits (NULL, as Flink)
      return Status::OK();
    }
    if (!average_) {
      switch (result_.physical()) {
        case PhysicalKind::kInt: out->AppendInt(WrapToIntegral(ints_[g], result_.root())); break;
        case PhysicalKind::kDouble: out->AppendDouble(doubles_[g]); break;
        default: out->AppendDecimal(decimals_[g]); break;
      }
      return Status::OK();
    }
    switch (result_.physical()) {
      case PhysicalKind::kInt:
        out->AppendInt(WrapToIntegral(static_cast<int64_t>(decimals_[g] / counts_[g]), result_.root()));
        break;
      case PhysicalKind::kDouble:
        out->AppendDouble(input_.physical() == PhysicalKind::kDouble ? doubles_[g] / counts_[g]
                                                                     : static_cast<double>(decimals_[g]) / counts_[g]);
        break;
      default: {
        // decimal avg: scale from input scale to result scale, half-up division.
        Int128 num = decimals_[g];
        for (int i = input_.scale(); i < result_.scale(); ++i) {
          if (__builtin_mul_overflow(num, static_cast<Int128>(10), &num)) {
            out->AppendNull();
            return Status::OK();
          }
        }
        Int128 q = num / counts_[g], r = num % counts_[g];
        if (r < 0) r = -r;
        if (r * 2 >= counts_[g]) q += num < 0 ? -1 : 1;
        out->AppendDecimal(q);
      }
    }
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(counts_.capacity() * 48); }

 private:
  DataType result_, input_;
  bool average_;
  std::vector<int64_t> ints_;
  std::vector<double> doubles_;
  std::vector<Int128> decimals_;
  std::vector<int64_t> counts_;
  std::vector<uint8_t> overflow_;
};

class MinMaxState : public AggregateState {
 public:
  MinMaxState(DataType type, bool max) : type_(std::move(type)), max_(max) {}
  void Resize(size_t n) override {
    has_.resize(n, 0);
    if (type_.physical() == PhysicalKind::kInt) {
      ints_.resize(n);
    } else if (type_.physical() == PhysicalKind::kDouble) {
      doubles_.resize(n);
    } else if (type_.physical() == PhysicalKind::kBytes) {
      strings_.resize(n);
    } else {
      datums_.resize(n);
    }
  }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[0];
    for (size_t i = 0; i < n; ++i) {
      if (c.IsNull(i)) continue;
      uint32_t g = groups[i];
      switch (c.kind()) {
        case PhysicalKind::kInt: {
          int64_t v = c.GetInt(i);
          if (!has_[g] || (max_ ? v > ints_[g] : v < ints_[g])) ints_[g] = v;
          break;
        }
        case PhysicalKind::kDouble: {
          double v = c.GetDouble(i);
          if (!has_[g] || (max_ ? v > doubles_[g] : v < doubles_[g])) doubles_[g] = v;
          break;
        }
        case PhysicalKind::kBytes: {
          std::string_view v = c.GetBytes(i);
          if (!has_[g] || (max_ ? v > strings_[g] : v < strings_[g])) {
            bytes_ += v.size();
            strings_[g].assign(v);
          }
          break;
        }
        default: {
          format::Datum v = c.Get(i);
          if (!has_[g] || (max_ ? format::CompareDatum(v, datums_[g]) > 0 : format::CompareDatum(v, datums_[g]) < 0)) {
            datums_[g] = v;
          }
        }
      }
      has_[g] = 1;
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    if (!has_[g]) {
      out->AppendNull();
      return Status::OK();
    }
    switch (type_.physical()) {
      case PhysicalKind::kInt: out->AppendInt(ints_[g]); break;
      case PhysicalKind::kDouble: out->AppendDouble(doubles_[g]); break;
      case PhysicalKind::kBytes: out->AppendBytes(strings_[g]); break;
      default: out->Append(datums_[g]);
    }
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(has_.capacity() * 40 + bytes_); }

 private:
  DataType type_;
  bool max_;
  std::vector<uint8_t> has_;
  std::vector<int64_t> ints_;
  std::vector<double> doubles_;
  std::vector<std::string> strings_;
  std::vector<format::Datum> datums_;
  size_t bytes_ = 0;
};

class ListAggState : public AggregateState {
 public:
  explicit ListAggState(std::string sep) : sep_(std::move(sep)) {}
  void Resize(size_t n) override {
    values_.resize(n);
    has_.resize(n, 0);
  }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[0];
    for (size_t i = 0; i < n; ++i) {
      if (c.IsNull(i)) continue;
      uint32_t g = groups[i];
      if (has_[g]) values_[g] += sep_;
      values_[g].append(c.GetBytes(i));
      bytes_ += c.GetBytes(i).size() + sep_.size();
      has_[g] = 1;
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    if (!has_[g]) {
      out->AppendNull();
    } else {
      out->AppendBytes(values_[g]);
    }
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(values_.capacity() * 33 + bytes_); }

 private:
  std::string sep_;
  std::vector<std::string> values_;
  std::vector<uint8_t> has_;
  size_t bytes_ = 0;
};

class FirstLastState : public AggregateState {
 public:
  explicit FirstLastState(bool last) : last_(last) {}
  void Resize(size_t n) override { values_.resize(n); }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[0];
    for (size_t i = 0; i < n; ++i) {
      if (c.IsNull(i)) continue;  // Flink's FIRST_VALUE / LAST_VALUE skip NULLs
      uint32_t g = groups[i];
      if (last_ || values_[g].is_null()) values_[g] = c.Get(i);
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    out->Append(values_[g]);
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(values_.capacity() * 48); }

 private:
  bool last_;
  std::vector<format::Datum> values_;
};

class VarianceState : public AggregateState {
 public:
  VarianceState(bool sample, bool stddev) : sample_(sample), stddev_(stddev) {}
  void Resize(size_t n) override {
    count_.resize(n, 0);
    mean_.resize(n, 0);
    m2_.resize(n, 0);
  }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[0];
    for (size_t i = 0; i < n; ++i) {
      if (c.IsNull(i)) continue;
      uint32_t g = groups[i];
      double x = c.GetDouble(i);
      ++count_[g];
      double d = x - mean_[g];
      mean_[g] += d / static_cast<double>(count_[g]);
      m2_[g] += d * (x - mean_[g]);
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    int64_t n = count_[g];
    if (n == 0 || (sample_ && n == 1)) {
      out->AppendNull();
      return Status::OK();
    }
    double v = m2_[g] / static_cast<double>(sample_ ? n - 1 : n);
    out->AppendDouble(stddev_ ? std::sqrt(v) : v);
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(count_.capacity() * 24); }

 private:
  bool sample_, stddev_;
  std::vector<int64_t> count_;
  std::vector<double> mean_, m2_;
};

class BoolState : public AggregateState {
 public:
  explicit BoolState(bool is_and) : and_(is_and) {}
  void Resize(size_t n) override { state_.resize(n, -1); }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[0];
    for (size_t i = 0; i < n; ++i) {
      if (c.IsNull(i)) continue;
      int8_t v = c.GetInt(i) != 0;
      int8_t& s = state_[groups[i]];
      s = s < 0 ? v : (and_ ? (s && v) : (s || v));
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    if (state_[g] < 0) {
      out->AppendNull();
    } else {
      out->AppendInt(state_[g]);
    }
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(state_.capacity()); }

 private:
  bool and_;
  std::vector<int8_t> state_;
};

class ArrayAggState : public AggregateState {
 public:
  void Resize(size_t n) override {
    lists_.resize(n);
    has_.resize(n, 0);
  }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[0];
    for (size_t i = 0; i < n; ++i) {
      lists_[groups[i]].push_back(c.Get(i));
      has_[groups[i]] = 1;
      bytes_ += 48;
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    if (!has_[g]) {
      out->AppendNull();
    } else {
      out->AppendNested(format::Datum::List(lists_[g]));
    }
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(lists_.capacity() * 24 + bytes_); }

 private:
  std::vector<format::DatumList> lists_;
  std::vector<uint8_t> has_;
  size_t bytes_ = 0;
};

Status NeedArgs(const CallSite& site, size_t lo, size_t hi) {
  size_t n = site.arg_types.size();
  if (n < lo || n > hi) {
    std::string want = lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
    return site.Error(site.name + " takes " + want + " argument" + (hi == 1 ? "" : "s") + ", not " + std::to_string(n));
  }
  return Status::OK();
}

}  // namespace

// Wraps an aggregate so that each group sees each distinct argument value once.
class DistinctState : public AggregateState {
 public:
  explicit DistinctState(std::unique_ptr<AggregateState> inner) : inner_(std::move(inner)) {}
  void Resize(size_t n) override {
    seen_.resize(n);
    inner_->Resize(n);
  }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    std::vector<uint32_t> keep;
    std::string key;
    for (size_t i = 0; i < n; ++i) {
      key.clear();
      bool any_null = false;
      for (const Column* a : args) {
        any_null = any_null || a->IsNull(i);
        EncodeKey(*a, i, &key);
      }
      if (any_null) continue;  // DISTINCT aggregates ignore NULLs
      if (seen_[groups[i]].insert(key).second) {
        keep.push_back(static_cast<uint32_t>(i));
        bytes_ += key.size() + 32;
      }
    }
    if (keep.empty()) return Status::OK();
    std::vector<Column> cols;
    std::vector<const Column*> ptrs;
    std::vector<size_t> idx(keep.begin(), keep.end());
    cols.reserve(args.size());
    for (const Column* a : args) {
      cols.emplace_back(a->type());
      cols.back().AppendGather(*a, idx.data(), idx.size());
    }
    for (auto& c : cols) ptrs.push_back(&c);
    std::vector<uint32_t> g(keep.size());
    for (size_t k = 0; k < keep.size(); ++k) g[k] = groups[keep[k]];
    return inner_->Update(ptrs, g.data(), g.size());
  }
  Status Finish(size_t g, Column* out) override { return inner_->Finish(g, out); }
  int64_t MemoryBytes() const override { return inner_->MemoryBytes() + static_cast<int64_t>(bytes_); }

 private:
  std::unique_ptr<AggregateState> inner_;
  std::vector<std::unordered_set<std::string>> seen_;
  size_t bytes_ = 0;
};

std::unique_ptr<AggregateState> MakeDistinct(std::unique_ptr<AggregateState> inner) {
  return std::make_unique<DistinctState>(std::move(inner));
}

void RegisterAggregateFunctions(FunctionRegistry* r) {
  r->AddAggregate(
      "COUNT",
      [](const CallSite& site) -> Result<BoundAggregate> {
        BoundAggregate a;
        a.return_type = DataType::BigInt().NotNull();
        bool star = site.arg_types.empty();
        a.make = [star] { return std::make_unique<CountState>(star); };
        return a;
      },
      "COUNT(*) | COUNT([DISTINCT] x)");
  auto sum_like = [](bool average) {
    return [average](const CallSite& site) -> Result<BoundAggregate> {
      KL_RETURN_IF_ERROR(NeedArgs(site, 1, 1));
      const DataType& t = site.arg_types[0];
      if (!IsNumeric(t)) {
        return site.Error(site.name + " needs a number, not " + TypeName(t.WithNullable(true)));
      }
      BoundAggregate a;
      DataType input = t;
      if (t.root() == TypeRoot::kFloat) input = DataType::Double();
      a.arg_types = {input};
      if (site.postgres && IsIntegral(t)) {
        // PostgreSQL: SUM of smallint/int is bigint, of bigint numeric; AVG of integers numeric.
        bool wide = average || t.root() == TypeRoot::kBigInt;
        input = wide ? DataType::Decimal(38, 0) : DataType::BigInt();
        a.arg_types = {input};
        a.return_type = !wide ? DataType::BigInt() : average ? DataType::Decimal(38, 6) : DataType::Decimal(38, 0);
      } else if (t.root() == TypeRoot::kDecimal) {
        a.return_type = average ? DataType::Decimal(38, std::max(6, t.scale())) : DataType::Decimal(38, t.scale());
      } else if (IsApproximate(t)) {
        a.return_type = DataType::Double();
      } else {
        a.return_type = t.WithNullable(true);  // Flink: SUM/AVG of an integer type keep that type
      }
      DataType result = a.return_type;
      a.make = [result, average, input] { return std::make_unique<SumState>(result, average, input); };
      return a;
    };
  };
  r->AddAggregate("SUM", sum_like(false), "SUM([DISTINCT] number)");
  r->AddAggregate("AVG", sum_like(true), "AVG([DISTINCT] number)");
  auto min_max = [](bool max) {
    return [max](const CallSite& site) -> Result<BoundAggregate> {
      KL_RETURN_IF_ERROR(NeedArgs(site, 1, 1));
      BoundAggregate a;
      a.return_type = site.arg_types[0].WithNullable(true);
      DataType t = a.return_type;
      a.make = [t, max] { return std::make_unique<MinMaxState>(t, max); };
      return a;
    };
  };
  r->AddAggregate("MIN", min_max(false), "MIN(x)");
  r->AddAggregate("MAX", min_max(true), "MAX(x)");
  r->AddAggregate(
      "LISTAGG",
      [](const CallSite& site) -> Result<BoundAggregate> {
        KL_RETURN_IF_ERROR(NeedArgs(site, 1, 2));
        std::string sep = ",";
        if (site.arg_types.size() == 2) {
          if (!site.constants[1] || site.constants[1]->is_null()) {
            return site.Error("the separator of LISTAGG must be a constant string");
          }
          sep = site.constants[1]->as_bytes();
        }
        BoundAggregate a;
        a.return_type = DataType::String();
        a.arg_types = {DataType::String()};
        if (site.arg_types.size() == 2) a.arg_types.push_back(site.arg_types[1]);
        a.make = [sep] { return std::make_unique<ListAggState>(sep); };
        return a;
      },
      "LISTAGG(x[, separator])");
  auto first_last = [](bool last) {
    return [last](const CallSite& site) -> Result<BoundAggregate> {
      KL_RETURN_IF_ERROR(NeedArgs(site, 1, 1));
      BoundAggregate a;
      a.return_type = site.arg_types[0].WithNullable(true);
      a.make = [last] { return std::make_unique<FirstLastState>(last); };
      return a;
    };
  };
  r->AddAggregate("FIRST_VALUE", first_last(false), "FIRST_VALUE(x)");
  r->AddAggregate("LAST_VALUE", first_last(true), "LAST_VALUE(x)");
  auto variance = [](bool sample, bool stddev) {
    return [sample, stddev](const CallSite& site) -> Result<BoundAggregate> {
      KL_RETURN_IF_ERROR(NeedArgs(site, 1, 1));
      if (!IsNumeric(site.arg_types[0])) return site.Error(site.name + " needs a number");
      BoundAggregate a;
      a.return_type = DataType::Double();
      a.arg_types = {DataType::Double()};
      a.make = [sample, stddev] { return std::make_unique<VarianceState>(sample, stddev); };
      return a;
    };
  };
  r->AddAggregate("STDDEV_POP", variance(false, true), "STDDEV_POP(number)");
  r->AddAggregate("STDDEV_SAMP", variance(true, true), "STDDEV_SAMP(number)");
  r->AddAggregate("STDDEV", variance(true, true), "STDDEV(number)");
  r->AddAggregate("VAR_POP", variance(false, false), "VAR_POP(number)");
  r->AddAggregate("VAR_SAMP", variance(true, false), "VAR_SAMP(number)");
  r->AddAggregate("VARIANCE", variance(true, false), "VARIANCE(number)");
  auto bool_agg = [](bool is_and) {
    return [is_and](const CallSite& site) -> Result<BoundAggregate> {
      KL_RETURN_IF_ERROR(NeedArgs(site, 1, 1));
      if (site.arg_types[0].root() != TypeRoot::kBoolean) return site.Error(site.name + " needs a BOOLEAN");
      BoundAggregate a;
      a.return_type = DataType::Boolean();
      a.make = [is_and] { return std::make_unique<BoolState>(is_and); };
      return a;
    };
  };
  r->AddAggregate("BOOL_AND", bool_agg(true), "BOOL_AND(boolean)");
  r->AddAggregate("BOOL_OR", bool_agg(false), "BOOL_OR(boolean)");
  r->AddAggregate(
      "ARRAY_AGG",
      [](const CallSite& site) -> Result<BoundAggregate> {
        KL_RETURN_IF_ERROR(NeedArgs(site, 1, 1));
        BoundAggregate a;
        a.return_type = DataType::Array(site.arg_types[0]);
        a.make = [] { return std::make_unique<ArrayAggState>(); };
        return a;
      },
      "ARRAY_AGG(x)");
}

}  // namespace kl::sql
