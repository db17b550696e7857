#include <algorithm>

#include "sql/binder/types.h"
#include "sql/functions/function.h"

namespace kl::sql {

std::string CallSite::Arg(size_t i) const { return "argument " + std::to_string(i + 1) + " of " + name; }

Status CallSite::Error(const std::string& message) const { return ErrorAt(pos, message); }

Status CheckArgCount(const CallSite& site, size_t lo, size_t hi) {
  size_t n = site.arg_types.size();
  if (n >= lo && n <= hi) return Status::OK();
  std::string want = lo == hi         ? std::to_string(lo)
                     : hi == SIZE_MAX ? "at least " + std::to_string(lo)
                                      : std::to_string(lo) + " to " + std::to_string(hi);
  return site.Error(site.name + " takes " + want + " argument" + (lo == 1 && hi == 1 ? "" : "s") + ", not " +
                    std::to_string(n));
}

void FunctionRegistry::AddScalar(const std::string& name, ScalarBinder binder, std::string signature) {
  scalars_[name] = std::move(binder);
  signatures_[name] = signature.empty() ? name + "(...)" : std::move(signature);
}

void FunctionRegistry::AddAggregate(const std::string& name, AggregateBinder binder, std::string signature) {
  aggregates_[name] = std::move(binder);
  signatures_[name] = signature.empty() ? name + "(...)" : std::move(signature);
}

const ScalarBinder* FunctionRegistry::FindScalar(const std::string& upper_name) const {
  auto it = scalars_.find(upper_name);
  return it == scalars_.end() ? nullptr : &it->second;
}

const AggregateBinder* FunctionRegistry::FindAggregate(const std::string& upper_name) const {
  auto it = aggregates_.find(upper_name);
  return it == aggregates_.end() ? nullptr : &it->second;
}

bool FunctionRegistry::IsWindowOnly(const std::string& n) const {
  return n == "ROW_NUMBER" || n == "RANK" || n == "DENSE_RANK" || n == "PERCENT_RANK" || n == "CUME_DIST" ||
         n == "NTILE" || n == "LAG" || n == "LEAD" || n == "NTH_VALUE";
}

std::vector<std::string> FunctionRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : signatures_) out.push_back(n);
  for (const char* w :
       {"ROW_NUMBER",   "RANK",       "DENSE_RANK", "PERCENT_RANK", "CUME_DIST", "NTILE",    "LAG",
        "LEAD",         "NTH_VALUE",  "CAST",       "TRY_CAST",     "CASE",      "EXTRACT",  "TIMESTAMPDIFF",
        "TIMESTAMPADD", "JSON_VALUE", "JSON_QUERY", "JSON_EXISTS",  "TRIM",      "POSITION", "SUBSTRING"}) {
    if (!signatures_.count(w)) out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  return out;
}

ScalarKernel RowKernel(RowFunction f, bool null_handling, size_t arity) {
  return [f = std::move(f), null_handling, arity](ExecContext& ctx, const std::vector<const Column*>& args, size_t rows,
                                                  Column* out) -> Status {
    std::vector<Datum> values(std::max(args.size(), arity));
    Datum result;
    for (size_t i = 0; i < rows; ++i) {
      bool any_null = false;
      for (size_t a = 0; a < args.size(); ++a) {
        if (args[a]->IsNull(i)) {
          any_null = true;
          values[a] = Datum();
        } else {
          values[a] = args[a]->Get(i);
        }
      }
      if (any_null && !null_handling) {
        out->AppendNull();
        continue;
      }
      result = Datum();
      KL_RETURN_IF_ERROR(f(ctx, values.data(), &result));
      out->Append(result);
    }
    return Status::OK();
  };
}

std::shared_ptr<FunctionRegistry> FunctionRegistry::Builtins() {
  static const std::shared_ptr<FunctionRegistry> kBuiltins = [] {
    auto r = std::make_shared<FunctionRegistry>();
    RegisterStringFunctions(r.get());
    RegisterMathFunctions(r.get());
    RegisterDateTimeFunctions(r.get());
    RegisterJsonFunctions(r.get());
    RegisterMiscFunctions(r.get());
    RegisterAggregateFunctions(r.get());
    RegisterOrderedSetAggregates(r.get());
    RegisterPostgresFunctions(r.get());
    RegisterPostgresDateTimeFunctions(r.get());
    RegisterIntervalFunctions(r.get());
    RegisterK8sFunctions(r.get());
    return r;
  }();
  return kBuiltins;
}

}  // namespace kl::sql
