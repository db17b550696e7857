// Scalar and aggregate functions: a registry by name, binding by argument
// types (and by constant arguments, so formats, patterns and JSON paths are
// compiled once per query), and kernels that compute a whole batch at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "sql/execution/context.h"
#include "sql/parser/lexer.h"

namespace kl::sql {

using format::Column;
using format::DataType;
using format::Datum;

// Computes `rows` results from argument columns (each `rows` long) into `out`,
// an empty column of the bound return type.
using ScalarKernel =
    std::function<Status(ExecContext& ctx, const std::vector<const Column*>& args, size_t rows, Column* out)>;

// A call being bound: argument types, the values of constant arguments, where it is.
struct CallSite {
  std::string name;  // as written, upper-cased
  SourcePos pos;
  std::vector<DataType> arg_types;
  std::vector<std::optional<Datum>> constants;  // per argument: its value when constant
  // Per argument: a NULL without a type (typed STRING in arg_types), which takes
  // the type the function declares for it, as PostgreSQL resolves `unknown`.
  std::vector<bool> untyped_null;
  bool postgres = false;  // a PostgreSQL session (PostgreSQL's result types)
  // Names the argument for error messages ("argument 2 of DATE_FORMAT").
  std::string Arg(size_t i) const;
  Status Error(const std::string& message) const;  // at the call's position
};

struct JsonCall;

struct BoundFunction {
  DataType return_type;
  // Types the arguments are cast to before the kernel sees them (empty: as given).
  std::vector<DataType> arg_types;
  ScalarKernel kernel;
  // False for NOW()-like functions whose value is not a function of the arguments alone
  // (they are constant within a statement all the same).
  bool deterministic = true;
  // JSON_VALUE / JSON_QUERY / JSON_EXISTS: the call, so several over one document share a parse.
  std::shared_ptr<const JsonCall> json;
  // K8S_SUM_*: the function is the sum of this term over the strings of its argument, a JSON
  // array (0 for NULL or not an array), so that a Calc can sum the elements a JSON_QUERY ...
  // WITH ARRAY WRAPPER selects straight from its parse, without writing the array and parsing it again.
  int64_t (*json_string_term)(std::string_view) = nullptr;
};

using ScalarBinder = std::function<Result<BoundFunction>(const CallSite&)>;

// All groups' states of one aggregate call.
class AggregateState {
 public:
  virtual ~AggregateState() = default;
  // Makes room for groups [0, n).
  virtual void Resize(size_t groups) = 0;
  // Adds row i of `args` to group groups[i], for i in [0, n).
  virtual Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) = 0;
  // Appends the value of `group` to `out`.
  virtual Status Finish(size_t group, Column* out) = 0;
  virtual int64_t MemoryBytes() const = 0;
};

struct BoundAggregate {
  DataType return_type;
  std::vector<DataType> arg_types;  // types the arguments are cast to
  std::function<std::unique_ptr<AggregateState>()> make;
};

using AggregateBinder = std::function<Result<BoundAggregate>(const CallSite&)>;

class FunctionRegistry {
 public:
  // The built-in functions.
  static std::shared_ptr<FunctionRegistry> Builtins();
  FunctionRegistry() = default;
  FunctionRegistry(const FunctionRegistry&) = default;

  // `signature`: how it is called, for SHOW FUNCTIONS and error messages.
  void AddScalar(const std::string& name, ScalarBinder binder, std::string signature = "");
  void AddAggregate(const std::string& name, AggregateBinder binder, std::string signature = "");

  const ScalarBinder* FindScalar(const std::string& upper_name) const;
  const AggregateBinder* FindAggregate(const std::string& upper_name) const;
  bool IsWindowOnly(const std::string& upper_name) const;
  std::vector<std::string> Names() const;
  const std::map<std::string, std::string>& signatures() const { return signatures_; }

 private:
  std::map<std::string, ScalarBinder> scalars_;
  std::map<std::string, AggregateBinder> aggregates_;
  std::map<std::string, std::string> signatures_;
};

// ---- helpers for writing functions ----

// A kernel from a per-row function over Datums. Unless `null_handling`, a NULL
// argument gives NULL without calling `f`.
using RowFunction = std::function<Status(ExecContext& ctx, const Datum* args, Datum* out)>;
// `arity`: how many argument Datums `f` may read (missing optional ones are NULL).
ScalarKernel RowKernel(RowFunction f, bool null_handling = false, size_t arity = 0);

// Wraps an aggregate so each group sees each distinct argument value once (NULLs skipped).
std::unique_ptr<AggregateState> MakeDistinct(std::unique_ptr<AggregateState> inner);

// One ORDER BY key of an ordered aggregate: which of the call's argument columns, how.
struct AggregateOrderKey {
  size_t column = 0;
  bool descending = false;
  bool nulls_first = false;
};
// Wraps an aggregate so each group's rows reach it sorted by `keys`. The call's argument
// columns are the inner aggregate's `inner_args` arguments followed by the keys' columns
// (ordered-set aggregates sort their own last argument: inner_args is all of them).
std::unique_ptr<AggregateState> MakeOrdered(std::unique_ptr<AggregateState> inner, size_t inner_args,
                                            std::vector<AggregateOrderKey> keys);
// PERCENTILE_CONT, PERCENTILE_DISC, MODE: called with WITHIN GROUP (ORDER BY x), their
// binders see the direct arguments followed by x.
bool IsOrderedSetAggregate(const std::string& upper_name);

// Argument-count check with a message naming the function.
Status CheckArgCount(const CallSite& site, size_t lo, size_t hi);

// Registration of each family (functions/*.cc).
void RegisterStringFunctions(FunctionRegistry* r);
void RegisterMathFunctions(FunctionRegistry* r);
void RegisterDateTimeFunctions(FunctionRegistry* r);
void RegisterJsonFunctions(FunctionRegistry* r);
void RegisterMiscFunctions(FunctionRegistry* r);
void RegisterAggregateFunctions(FunctionRegistry* r);
void RegisterOrderedSetAggregates(FunctionRegistry* r);
void RegisterPostgresFunctions(FunctionRegistry* r);
void RegisterPostgresDateTimeFunctions(FunctionRegistry* r);  // after RegisterDateTimeFunctions
void RegisterIntervalFunctions(FunctionRegistry* r);          // after the two above and aggregates
void RegisterK8sFunctions(FunctionRegistry* r);

}  // namespace kl::sql
