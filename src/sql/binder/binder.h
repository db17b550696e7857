// The binder: resolves the names of a parsed query against the catalog and
// the query's own scopes, types every expression (inserting the implicit
// casts Flink would), and builds the logical plan. Errors name the line and
// column, the object, and the closest existing name.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sql/catalog/catalog.h"
#include "sql/execution/context.h"
#include "sql/functions/function.h"
#include "sql/parser/ast.h"
#include "sql/planner/plan.h"

namespace kl::sql {

// How the binder reaches catalogs (the session implements it).
class NameResolver {
 public:
  virtual ~NameResolver() = default;
  // Resolves a table or view name (1 to 3 parts); errors suggest the closest names.
  virtual Result<std::shared_ptr<CatalogObject>> ResolveTable(const QualifiedName& name, const ReadOptions& read) = 0;
  // The opened Paimon table ResolveTable would give for `name` (its `paimon`), or null when
  // it gives anything else. Resolvers may answer without building the catalog object (the
  // plan cache checks its plans' tables with this on every execution).
  virtual Result<std::shared_ptr<table::Table>> ResolvePaimonTable(const QualifiedName& name, const ReadOptions& read);
};

struct BindOptions {
  const FunctionRegistry* functions = nullptr;
  NameResolver* resolver = nullptr;
  ExecContext* exec = nullptr;                         // constant folding, time zone
  const std::vector<format::Datum>* params = nullptr;  // values of $1, $2, ...
  int view_depth = 0;                                  // views expanding views (bounded)
  // PostgreSQL sessions: PostgreSQL's default NULL order, result column names, SUM/AVG types,
  // regex operators, ANY/ALL, set-returning functions, GROUP BY positions.
  bool postgres = false;
  // Types of $1, $2, ...: those known (declared by a client, or described earlier) are the
  // parameters' types; when `describe` (values unknown), the binder fills in the others from
  // where they are used (`x = $1` takes x's type; text when nothing says).
  std::vector<std::optional<format::DataType>>* parameter_types = nullptr;
  bool describe = false;
  std::shared_ptr<int> next_correlation_id;  // shared by the binders of one statement
  // Set when the plan holds for these parameter values only: a parameter's value decided
  // something while binding (a folded constant, LIMIT, AS OF, a function's constant argument,
  // an array's text), or a function call was folded to its value (it may read the session).
  // A plan that leaves it false holds for any non-NULL values of the same types, put into its
  // literals tagged with their parameter (planner/plan_cache.h).
  bool* value_dependent = nullptr;
};

// Binds a query to a logical plan; the plan's schema names the result columns.
Result<LogicalOpPtr> BindQuery(const Query& query, const BindOptions& options);
// Binds an expression that must be constant (LIMIT, OFFSET, AS OF) and evaluates it.
Result<format::Datum> BindConstant(const ParsedExpr& expr, const BindOptions& options, format::DataType* type);

// The closest of `candidates` to `name` (edit distance, case-insensitive), or "".
std::string ClosestName(const std::string& name, const std::vector<std::string>& candidates);
// " (did you mean `x`?)" or "".
std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace kl::sql
