// Plans of prepared statements kept for their next executions. A query is bound with
// its parameters as literals tagged with their number ($n); when nothing while binding
// and optimising read those values (BindOptions::value_dependent) and running the plan
// does not change it, the optimised plan holds for any other non-NULL values of the same
// types. A session keeps such plans by statement text and, on the next execution, puts
// the new values into the tagged literals (and remakes the scan filters made from them)
// instead of binding and optimising again — as long as the session's settings, current
// catalog and database and functions are the same and every table the plan reads
// resolves to the same opened table (the same latest schema file; a commit keeps it, an
// ALTER TABLE or a table dropped and made again does not).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/datum.h"
#include "format/types.h"
#include "sql/binder/binder.h"
#include "sql/planner/plan.h"

namespace kl::sql {

struct KeptResults;  // execution/executor.h

// `plan` with each literal tagged with parameter $n holding values[n - 1] and the scan
// filters made from such literals made again; the nodes and expressions without
// parameters are shared with `plan`, which is left as it was. Errors when a parameter
// has no value or a scan no longer takes a filter it took (the caller plans afresh).
Result<LogicalOpPtr> WithParameterValues(const LogicalOpPtr& plan, const std::vector<format::Datum>& values);

// Whether running `plan` changes it: subqueries are replaced by their values (and
// correlated ones keep a cache of theirs), so such a plan runs once.
bool ChangedByRunning(const LogicalOp& plan);

// A NameResolver that remembers what it resolved (the plan cache checks the same names
// resolve to the same tables before reusing a plan).
class RecordingResolver : public NameResolver {
 public:
  struct Resolved {
    QualifiedName name;
    ReadOptions read;
    std::shared_ptr<CatalogObject> object;
  };
  explicit RecordingResolver(NameResolver* inner) : inner_(inner) {}
  Result<std::shared_ptr<CatalogObject>> ResolveTable(const QualifiedName& name, const ReadOptions& read) override;
  std::vector<Resolved>& resolved() { return resolved_; }

 private:
  NameResolver* inner_;
  std::vector<Resolved> resolved_;
};

class PlanCache {
 public:
  // What else a plan was made under, besides its statement and its parameters' types.
  struct Context {
    std::map<std::string, std::string> settings;
    std::string catalog, database;
    std::shared_ptr<const FunctionRegistry> functions;  // held: a new registry never takes its address
    bool operator==(const Context& o) const {
      return settings == o.settings && catalog == o.catalog && database == o.database && functions == o.functions;
    }
  };

  // Whether executions with these values may use kept plans: some values, none NULL (a
  // NULL parameter is bound as an untyped NULL and folded).
  static bool Applies(const std::vector<format::Datum>& values);

  // The plan kept for `statement` under `context` with parameters of these types, with
  // `values` put in; null when there is none or it no longer holds (`resolver` resolves
  // the plan's tables again, and a table that changed drops the plan). `kept`, when given,
  // gets the results its executions keep (ExecContext::kept_results), which go with it.
  LogicalOpPtr Find(std::string_view statement, const Context& context, const std::vector<format::Datum>& values,
                    const std::vector<std::optional<format::DataType>>& types, NameResolver* resolver,
                    std::shared_ptr<KeptResults>* kept = nullptr);

  // Keeps `plan`, bound and optimised for `values` with value_dependent left false, for the
  // statement's next executions, unless something in it rules reuse out (a table that is
  // not a Paimon table read at its latest schema, a subquery, a literal that is not the
  // value of its parameter).
  void Keep(std::string_view statement, Context context, const std::vector<format::Datum>& values,
            const std::vector<std::optional<format::DataType>>& types, const LogicalOpPtr& plan,
            const std::vector<RecordingResolver::Resolved>& resolved);

  void Clear() { entries_.clear(); }
  int64_t reused() const { return reused_; }  // executions that took a kept plan
  int64_t join_tables_reused() const;         // ... and a join table kept with it (KeptResults)

 private:
  struct Table {
    QualifiedName name;
    ReadOptions read;
    std::shared_ptr<table::Table> table;
  };
  // Per parameter: its declared type (when given) and the kind of its value.
  using Signature = std::vector<std::pair<std::optional<format::DataType>, format::Datum::Kind>>;
  struct Entry {
    Context context;
    Signature signature;
    std::vector<Table> tables;
    LogicalOpPtr plan;
    std::shared_ptr<KeptResults> kept;
  };
  static Signature SignatureOf(const std::vector<format::Datum>& values,
                               const std::vector<std::optional<format::DataType>>& types);

  std::map<std::string, Entry, std::less<>> entries_;
  int64_t reused_ = 0;
};

}  // namespace kl::sql
