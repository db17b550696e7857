// Aggregates over rows in a given order: string_agg(x, ',' ORDER BY y) and
// array_agg(x ORDER BY y) (any aggregate, wrapped), and the ordered-set
// aggregates percentile_cont, percentile_disc and mode() WITHIN GROUP (ORDER BY x).
// A group's rows are buffered and sorted when the group's value is asked for.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/json.h"
#include "sql/binder/types.h"
#include "sql/functions/function.h"

namespace kl::sql {

namespace {

// Buffers every group's rows, sorts them by the keys, then feeds the inner aggregate.
class OrderedState : public AggregateState {
 public:
  OrderedState(std::unique_ptr<AggregateState> inner, size_t inner_args, std::vector<AggregateOrderKey> keys)
      : inner_(std::move(inner)), inner_args_(inner_args), keys_(std::move(keys)) {}

  void Resize(size_t groups) override { groups_ = std::max(groups_, groups); }

  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    if (fed_) return Status::Internal("an ordered aggregate was given rows after its result was read");
    if (rows_.empty()) {
      for (const Column* a : args) rows_.emplace_back(a->type());
    }
    for (size_t k = 0; k < args.size(); ++k) rows_[k].AppendRange(*args[k], 0, n);
    group_of_.insert(group_of_.end(), groups, groups + n);
    return Status::OK();
  }

  Status Finish(size_t group, Column* out) override {
    if (!fed_) KL_RETURN_IF_ERROR(Feed());
    return inner_->Finish(group, out);
  }

  int64_t MemoryBytes() const override {
    int64_t bytes = inner_->MemoryBytes() + static_cast<int64_t>(group_of_.capacity() * 4);
    for (const auto& c : rows_) bytes += static_cast<int64_t>(c.MemoryBytes());
    return bytes;
  }

 private:
  // Orders rows by group, then by the keys (stable: ties keep their arrival order).
  Status Feed() {
    fed_ = true;
    inner_->Resize(groups_);
    size_t n = group_of_.size();
    if (n == 0) return Status::OK();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [this](size_t a, size_t b) {
      if (group_of_[a] != group_of_[b]) return group_of_[a] < group_of_[b];
      for (const AggregateOrderKey& k : keys_) {
        const Column& c = rows_[k.column];
        bool na = c.IsNull(a), nb = c.IsNull(b);
        if (na != nb) return na == k.nulls_first;
        if (na) continue;
        int cmp = c.CompareAt(a, c, b);
        if (cmp != 0) return k.descending ? cmp > 0 : cmp < 0;
      }
      return false;
    });
    std::vector<Column> sorted;
    std::vector<const Column*> ptrs;
    sorted.reserve(inner_args_);
    for (size_t k = 0; k < inner_args_; ++k) {
      sorted.emplace_back(rows_[k].type());
      sorted.back().AppendGather(rows_[k], order.data(), n);
    }
    for (auto& c : sorted) ptrs.push_back(&c);
    std::vector<uint32_t> groups(n);
    for (size_t i = 0; i < n; ++i) groups[i] = group_of_[order[i]];
    rows_.clear();
    group_of_.clear();
    group_of_.shrink_to_fit();
    return inner_->Update(ptrs, groups.data(), n);
  }

  std::unique_ptr<AggregateState> inner_;
  size_t inner_args_;
  std::vector<AggregateOrderKey> keys_;
  size_t groups_ = 0;
  std::vector<Column> rows_;  // every argument, then the keys
  std::vector<uint32_t> group_of_;
  bool fed_ = false;
};

// The fraction of a percentile: a constant in [0, 1] (NULL gives NULL).
Result<std::optional<double>> Fraction(const CallSite& site) {
  if (site.arg_types.size() != 2) {
    return site.Error(site.name + " takes one fraction and one ORDER BY value: " + site.name +
                      "(0.5) WITHIN GROUP (ORDER BY x)");
  }
  if (!site.constants[0]) return site.Error("the fraction of " + site.name + " must be a constant");
  if (site.constants[0]->is_null()) return std::optional<double>();  // NULL, typed or not: a NULL result
  if (!IsNumeric(site.arg_types[0])) {
    return site.Error("the fraction of " + site.name + " must be a number, not " +
                      TypeName(site.arg_types[0].WithNullable(true)));
  }
  const Datum& d = *site.constants[0];
  double f;
  switch (site.arg_types[0].physical()) {
    case format::PhysicalKind::kInt: f = static_cast<double>(d.as_int()); break;
    case format::PhysicalKind::kDecimal:
      f = static_cast<double>(d.as_decimal()) / std::pow(10.0, site.arg_types[0].scale());
      break;
    default: f = d.as_double(); break;
  }
  if (!(f >= 0 && f <= 1)) {
    return site.Error("the fraction of " + site.name + " must be between 0 and 1, not " + FormatDouble(f));
  }
  return std::optional<double>(f);
}

// percentile_cont: linear interpolation between the values around fraction * (n - 1).
class PercentileContState : public AggregateState {
 public:
  explicit PercentileContState(std::optional<double> fraction) : fraction_(fraction) {}
  void Resize(size_t n) override { values_.resize(n); }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[1];
    for (size_t i = 0; i < n; ++i) {
      if (!c.IsNull(i)) values_[groups[i]].push_back(c.GetDouble(i));
    }
    bytes_ += n * 8;
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    const std::vector<double>& v = values_[g];
    if (v.empty() || !fraction_) {
      out->AppendNull();
      return Status::OK();
    }
    double pos = *fraction_ * static_cast<double>(v.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
    out->AppendDouble(lo == hi ? v[lo] : v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]));
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(values_.capacity() * 24 + bytes_); }

 private:
  std::optional<double> fraction_;
  std::vector<std::vector<double>> values_;
  size_t bytes_ = 0;
};

// percentile_disc (the first value at or past the fraction) and mode (the most frequent
// value; of equally frequent ones, the first in the order).
class SortedValuesState : public AggregateState {
 public:
  SortedValuesState(bool mode, std::optional<double> fraction) : mode_(mode), fraction_(fraction) {}
  void Resize(size_t n) override { values_.resize(n); }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args.back();
    for (size_t i = 0; i < n; ++i) {
      if (c.IsNull(i)) continue;
      values_[groups[i]].push_back(c.Get(i));
      bytes_ += 48;
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    const std::vector<Datum>& v = values_[g];
    if (v.empty() || (!mode_ && !fraction_)) {
      out->AppendNull();
      return Status::OK();
    }
    if (!mode_) {
      double pos = std::ceil(*fraction_ * static_cast<double>(v.size()));
      size_t i = pos < 1 ? 0 : static_cast<size_t>(pos) - 1;
      out->Append(v[std::min(i, v.size() - 1)]);
      return Status::OK();
    }
    size_t best = 0, best_run = 0;
    for (size_t i = 0; i < v.size();) {
      size_t j = i + 1;
      while (j < v.size() && format::CompareDatum(v[j], v[i]) == 0) ++j;
      if (j - i > best_run) {
        best = i;
        best_run = j - i;
      }
      i = j;
    }
    out->Append(v[best]);
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(values_.capacity() * 24 + bytes_); }

 private:
  bool mode_;
  std::optional<double> fraction_;
  std::vector<std::vector<Datum>> values_;
  size_t bytes_ = 0;
};

Status NeedPostgres(const CallSite& site) {
  if (site.postgres) return Status::OK();
  return site.Error(site.name + " is a PostgreSQL ordered-set aggregate; Flink SQL has none (use a PostgreSQL " +
                    "session, e.g. psql)");
}

}  // namespace

std::unique_ptr<AggregateState> MakeOrdered(std::unique_ptr<AggregateState> inner, size_t inner_args,
                                            std::vector<AggregateOrderKey> keys) {
  return std::make_unique<OrderedState>(std::move(inner), inner_args, std::move(keys));
}

bool IsOrderedSetAggregate(const std::string& upper_name) {
  return upper_name == "PERCENTILE_CONT" || upper_name == "PERCENTILE_DISC" || upper_name == "MODE";
}

void RegisterOrderedSetAggregates(FunctionRegistry* r) {
  r->AddAggregate(
      "PERCENTILE_CONT",
      [](const CallSite& site) -> Result<BoundAggregate> {
        KL_RETURN_IF_ERROR(NeedPostgres(site));
        KL_ASSIGN_OR_RETURN(std::optional<double> fraction, Fraction(site));
        if (!IsNumeric(site.arg_types[1])) {
          return site.Error("PERCENTILE_CONT interpolates numbers; the ORDER BY value is " +
                            TypeName(site.arg_types[1].WithNullable(true)) + " (PERCENTILE_DISC takes any type)");
        }
        BoundAggregate a;
        a.return_type = DataType::Double();
        a.arg_types = {site.arg_types[0], DataType::Double()};
        a.make = [fraction] { return std::make_unique<PercentileContState>(fraction); };
        return a;
      },
      "PERCENTILE_CONT(fraction) WITHIN GROUP (ORDER BY number): interpolated, DOUBLE");
  r->AddAggregate(
      "PERCENTILE_DISC",
      [](const CallSite& site) -> Result<BoundAggregate> {
        KL_RETURN_IF_ERROR(NeedPostgres(site));
        KL_ASSIGN_OR_RETURN(std::optional<double> fraction, Fraction(site));
        BoundAggregate a;
        a.return_type = site.arg_types[1].WithNullable(true);
        a.make = [fraction] { return std::make_unique<SortedValuesState>(false, fraction); };
        return a;
      },
      "PERCENTILE_DISC(fraction) WITHIN GROUP (ORDER BY x): the first value at or past the fraction");
  r->AddAggregate(
      "MODE",
      [](const CallSite& site) -> Result<BoundAggregate> {
        KL_RETURN_IF_ERROR(NeedPostgres(site));
        if (site.arg_types.size() != 1) {
          return site.Error("MODE takes no arguments of its own: MODE() WITHIN GROUP (ORDER BY x)");
        }
        BoundAggregate a;
        a.return_type = site.arg_types[0].WithNullable(true);
        a.make = [] { return std::make_unique<SortedValuesState>(true, std::nullopt); };
        return a;
      },
      "MODE() WITHIN GROUP (ORDER BY x): the most frequent value");
}

}  // namespace kl::sql
