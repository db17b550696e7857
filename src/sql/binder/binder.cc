#include "sql/binder/binder.h"

#include <algorithm>
#include <functional>
#include <set>

#include "common/string_util.h"
#include "sql/binder/types.h"
#include "sql/execution/expression_eval.h"
#include "sql/functions/cast.h"
#include "sql/functions/datetime/interval.h"
#include "sql/functions/helpers.h"
#include "sql/functions/json_functions.h"
#include "sql/functions/operators.h"
#include "sql/functions/postgres_text.h"
#include "sql/parser/parser.h"
#include "sql/parser/postgres_types.h"

namespace kl::sql {

using format::DataField;
using format::RowType;

namespace {

constexpr int kWindowBase = 1 << 24;

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    prev.swap(cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string ClosestName(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = EditDistance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Only suggest names reasonably close: at most a third of the letters differ (at least 2 edits allowed).
  if (best.empty() || best_d > std::max<size_t>(2, name.size() / 3)) return "";
  return best;
}

std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates) {
  std::string c = ClosestName(name, candidates);
  return c.empty() ? "" : " (did you mean " + QuoteIdentifier(c) + "?)";
}

namespace {

struct ScopeColumn {
  std::string table;              // alias or table name ("" for derived columns without one)
  std::vector<std::string> path;  // catalog, db, table of a base table (for 2- and 3-part qualifiers)
  std::string name;
  DataType type;
  bool hidden = false;  // USING's right-side copy: only reachable qualified
  bool system = false;  // a system column (tableoid): only reachable by name, never by *
};

struct Scope {
  std::vector<ScopeColumn> columns;
};

struct CteDef {
  const CommonTableExpr* cte;
};

// What an expression is bound for: plain (WHERE, GROUP BY, ON), or a SELECT
// list over an aggregation (columns must be grouped), with or without windows.
struct ExprMode {
  const Scope* scope = nullptr;
  const char* clause = "";
  bool allow_aggregates = false;
  bool allow_windows = false;
  bool aggregated = false;                            // expressions are over the aggregate's output
  std::map<std::string, int>* group_index = nullptr;  // bound group expression text -> output column
  size_t num_groups = 0;
  std::vector<AggregateCall>* aggregates = nullptr;
  std::vector<WindowCall>* windows = nullptr;
};

bool IsUntypedNull(const BoundExprPtr& e) {
  return e->kind == BoundKind::kLiteral && e->value.is_null() && e->name == "NULL";
}
bool IsInterval(const BoundExprPtr& e) { return e->name == "interval-ms" || e->name == "interval-months"; }

class Binder {
 public:
  explicit Binder(const BindOptions& o) : o_(o) {
    if (!o_.next_correlation_id) o_.next_correlation_id = std::make_shared<int>(0);
  }

  Result<LogicalOpPtr> Query_(const Query& q) {
    if (++depth_ > 64) return ErrorAt(q.pos, "query nested too deeply (more than 64 levels)");
    struct Leave {
      int* d;
      ~Leave() { --*d; }
    } leave{&depth_};
    size_t cte_mark = ctes_.size();
    for (const auto& c : q.ctes) ctes_.push_back({c.name, &c});
    auto result = QueryInner(q);
    ctes_.resize(cte_mark);
    return result;
  }

  Result<BoundExprPtr> Constant(const ParsedExpr& e) {
    Scope empty;
    ExprMode mode;
    mode.scope = &empty;
    mode.clause = "a constant";
    KL_ASSIGN_OR_RETURN(auto b, Expr(e, mode));
    if (!b->IsConstant() && !(b->kind == BoundKind::kCall && !b->function.deterministic)) {
      return ErrorAt(e.pos, "expected a constant expression");
    }
    return b;
  }

  // A constant's value, noting when the plan comes to depend on parameter values or the
  // session (BindOptions::value_dependent).
  Result<format::Datum> Evaluate(const BoundExpr& e) {
    if (o_.value_dependent != nullptr && !*o_.value_dependent) {
      VisitExpr(e, [&](const BoundExpr& x) {
        if ((x.kind == BoundKind::kLiteral && x.param > 0) || x.kind == BoundKind::kCall) ValueDependent();
      });
    }
    return EvaluateConstant(e, *o_.exec);
  }

 private:
  void ValueDependent() {
    if (o_.value_dependent != nullptr) *o_.value_dependent = true;
  }

  // ---- queries ----
  Result<LogicalOpPtr> QueryInner(const Query& q) {
    if (!q.values.empty()) return Values(q.values, q.pos, "", {});
    const QueryBody& body = *q.body;
    if (body.op == SetOpKind::kNone && body.select) {
      return SelectCore(*body.select, &q);
    }
    KL_ASSIGN_OR_RETURN(LogicalOpPtr plan, Body(body));
    return OrderLimit(plan, q);
  }

  Result<LogicalOpPtr> Body(const QueryBody& body) {
    if (body.op == SetOpKind::kNone) {
      if (body.select) return SelectCore(*body.select, nullptr);
      return Query_(*body.nested);
    }
    KL_ASSIGN_OR_RETURN(LogicalOpPtr left, Body(*body.left));
    KL_ASSIGN_OR_RETURN(LogicalOpPtr right, Body(*body.right));
    const char* name = body.op == SetOpKind::kUnion       ? "UNION"
                       : body.op == SetOpKind::kIntersect ? "INTERSECT"
                                                          : "EXCEPT";
    if (left->schema.size() != right->schema.size()) {
      return ErrorAt(body.pos, std::string(name) + ": the two sides have " + std::to_string(left->schema.size()) +
                                   " and " + std::to_string(right->schema.size()) + " columns");
    }
    std::vector<DataType> types;
    for (size_t i = 0; i < left->schema.size(); ++i) {
      auto c = CommonType(left->schema.type(i), right->schema.type(i));
      if (!c.ok()) {
        return ErrorAt(body.pos, std::string(name) + ": column " + std::to_string(i + 1) + " (" +
                                     left->schema.field(i).name + "): " + c.status().message());
      }
      types.push_back(*c);
    }
    KL_ASSIGN_OR_RETURN(left, CastColumns(left, types));
    KL_ASSIGN_OR_RETURN(right, CastColumns(right, types));
    auto op = std::make_shared<LogicalOp>();
    op->schema = left->schema;
    op->children = {left, right};
    op->all = body.all;
    if (body.op == SetOpKind::kUnion) {
      op->kind = OpKind::kUnion;
      if (!body.all) return DistinctOf(op);
      return op;
    }
    op->kind = OpKind::kSetOp;
    op->set_op = body.op;
    return op;
  }

  Result<LogicalOpPtr> CastColumns(LogicalOpPtr plan, const std::vector<DataType>& types) {
    bool same = true;
    for (size_t i = 0; i < types.size(); ++i) same = same && plan->schema.type(i) == types[i];
    if (same) return plan;
    auto p = std::make_shared<LogicalOp>();
    p->kind = OpKind::kProject;
    p->children = {plan};
    std::vector<DataField> fields;
    for (size_t i = 0; i < types.size(); ++i) {
      KL_ASSIGN_OR_RETURN(
          auto e,
          CastTo(MakeColumn(static_cast<int>(i), plan->schema.type(i), plan->schema.field(i).name), types[i], {}));
      p->exprs.push_back(e);
      fields.push_back({static_cast<int32_t>(i), plan->schema.field(i).name, types[i], ""});
    }
    p->schema = RowType(fields);
    return p;
  }

  LogicalOpPtr DistinctOf(LogicalOpPtr plan) {
    auto agg = std::make_shared<LogicalOp>();
    agg->kind = OpKind::kAggregate;
    agg->children = {plan};
    for (size_t i = 0; i < plan->schema.size(); ++i) {
      agg->groups.push_back(MakeColumn(static_cast<int>(i), plan->schema.type(i), plan->schema.field(i).name));
    }
    agg->schema = plan->schema;
    return agg;
  }

  // ORDER BY / LIMIT over a set operation or VALUES: by output name or ordinal.
  Result<LogicalOpPtr> OrderLimit(LogicalOpPtr plan, const Query& q) {
    if (!q.order_by.empty()) {
      Scope scope = ScopeOf(*plan, "");
      auto sort = std::make_shared<LogicalOp>();
      sort->kind = OpKind::kSort;
      sort->children = {plan};
      sort->schema = plan->schema;
      for (const auto& item : q.order_by) {
        BoundExprPtr e;
        if (item.expr->kind == ExprKind::kLiteral && item.expr->type.is_integer() && !item.expr->value.is_null()) {
          int64_t k = item.expr->value.as_int();
          if (k < 1 || k > static_cast<int64_t>(plan->schema.size())) {
            return ErrorAt(item.expr->pos, "ORDER BY position " + std::to_string(k) + " is not in the select list");
          }
          e = MakeColumn(static_cast<int>(k - 1), plan->schema.type(k - 1), plan->schema.field(k - 1).name);
        } else {
          ExprMode mode;
          mode.scope = &scope;
          mode.clause = "ORDER BY";
          KL_ASSIGN_OR_RETURN(e, Expr(*item.expr, mode));
        }
        sort->sort_keys.push_back({e, item.descending, item.nulls_first.value_or(NullsFirst(item.descending))});
      }
      plan = sort;
    }
    return Limit(plan, q);
  }

  Result<LogicalOpPtr> Limit(LogicalOpPtr plan, const Query& q) {
    if (!q.limit && !q.offset) return plan;
    auto lim = std::make_shared<LogicalOp>();
    lim->kind = OpKind::kLimit;
    lim->children = {plan};
    lim->schema = plan->schema;
    if (q.limit) {
      KL_ASSIGN_OR_RETURN(lim->limit, CountValue(*q.limit, "LIMIT"));
    }
    if (q.offset) {
      KL_ASSIGN_OR_RETURN(lim->offset, CountValue(*q.offset, "OFFSET"));
    }
    return lim;
  }

  Result<int64_t> CountValue(const ParsedExpr& e, const char* what) {
    KL_ASSIGN_OR_RETURN(auto b, Constant(e));
    if (b->param > 0 && o_.describe) {
      NoteParameter(b->param, DataType::BigInt());
      return int64_t{-1};
    }
    if (b->param > 0 && IsUntypedNull(b)) b = TypedNull(b, DataType::BigInt());
    if (!IsIntegral(b->type)) return ErrorAt(e.pos, std::string(what) + " needs an integer, not " + TypeName(b->type));
    KL_ASSIGN_OR_RETURN(format::Datum v, Evaluate(*b));
    if (v.is_null() || v.as_int() < 0) return ErrorAt(e.pos, std::string(what) + " must be zero or more");
    return v.as_int();
  }

  Scope ScopeOf(const LogicalOp& plan, const std::string& table) {
    Scope s;
    for (const auto& f : plan.schema.fields()) s.columns.push_back({table, {}, f.name, f.type, false});
    return s;
  }

  Result<LogicalOpPtr> Values(const std::vector<std::vector<ExprPtr>>& rows, SourcePos pos, const std::string& alias,
                              const std::vector<std::string>& col_names) {
    Scope empty;
    ExprMode mode;
    mode.scope = &empty;
    mode.clause = "VALUES";
    std::vector<std::vector<BoundExprPtr>> bound;
    for (const auto& r : rows) {
      std::vector<BoundExprPtr> b;
      for (const auto& e : r) {
        KL_ASSIGN_OR_RETURN(auto x, Expr(*e, mode));
        b.push_back(x);
      }
      bound.push_back(std::move(b));
    }
    size_t n = bound.empty() ? 0 : bound[0].size();
    std::vector<DataType> types(n);
    for (size_t c = 0; c < n; ++c) {
      std::optional<DataType> t;
      for (const auto& r : bound) {
        if (IsUntypedNull(r[c])) continue;
        if (!t) {
          t = r[c]->type;
        } else {
          auto common = CommonType(*t, r[c]->type);
          if (!common.ok())
            return ErrorAt(rows[0][c]->pos,
                           "VALUES column " + std::to_string(c + 1) + ": " + common.status().message());
          t = *common;
        }
      }
      types[c] = t ? *t : DataType::String();
      for (const auto& r : bound) {
        if (r[c]->type.nullable() || IsUntypedNull(r[c])) types[c] = types[c].WithNullable(true);
      }
    }
    auto op = std::make_shared<LogicalOp>();
    op->kind = OpKind::kValues;
    std::vector<DataField> fields;
    for (size_t c = 0; c < n; ++c) {
      std::string name = c < col_names.size() ? col_names[c]
                         : o_.postgres        ? "column" + std::to_string(c + 1)
                                              : "EXPR$" + std::to_string(c);
      fields.push_back({static_cast<int32_t>(c), name, types[c], ""});
    }
    op->schema = RowType(fields);
    for (size_t r = 0; r < bound.size(); ++r) {
      format::Row row;
      for (size_t c = 0; c < n; ++c) {
        KL_ASSIGN_OR_RETURN(auto e, CastTo(bound[r][c], types[c], rows[r][c]->pos));
        if (!e->IsConstant()) {
          // Non-constant VALUES (NOW(), RAND()): evaluated once here, as for a batch statement.
        }
        auto v = Evaluate(*e);
        if (!v.ok()) return ErrorAt(rows[r][c]->pos, v.status().message());
        row.push_back(*v);
      }
      op->rows.push_back(std::move(row));
    }
    (void)alias;
    (void)pos;
    return op;
  }

  // ---- FROM ----
  struct FromResult {
    LogicalOpPtr plan;
    Scope scope;
  };

  Result<FromResult> TableRef(const ParsedTableRef& ref) {
    switch (ref.kind) {
      case TableRefKind::kBase: return BaseTable(ref);
      case TableRefKind::kSubquery: {
        KL_ASSIGN_OR_RETURN(LogicalOpPtr plan, Query_(*ref.subquery));
        KL_ASSIGN_OR_RETURN(plan, Rename(plan, ref.column_aliases, ref.pos));
        return FromResult{plan, ScopeOf(*plan, ref.alias)};
      }
      case TableRefKind::kValues: {
        KL_ASSIGN_OR_RETURN(LogicalOpPtr plan, Values(ref.rows, ref.pos, ref.alias, ref.column_aliases));
        return FromResult{plan, ScopeOf(*plan, ref.alias)};
      }
      case TableRefKind::kUnnest: {
        // FROM UNNEST(...) alone: over one empty row.
        auto one = std::make_shared<LogicalOp>();
        one->kind = OpKind::kValues;
        one->rows = {format::Row{}};
        FromResult base{one, Scope{}};
        return Unnest(base, ref, false);
      }
      case TableRefKind::kJoin: return Join(ref);
      case TableRefKind::kTableFunction: return ref.function.empty() ? TableFunctionRef(ref) : TableFunction(ref);
    }
    return ErrorAt(ref.pos, "unsupported FROM item");
  }

  Result<LogicalOpPtr> Rename(LogicalOpPtr plan, const std::vector<std::string>& names, SourcePos pos) {
    if (names.empty()) return plan;
    // PostgreSQL renames the first columns and keeps the others' names; Flink wants them all.
    bool fewer_allowed = o_.postgres && names.size() < plan->schema.size();
    if (names.size() != plan->schema.size() && !fewer_allowed) {
      return ErrorAt(pos, "the alias names " + std::to_string(names.size()) + " columns but the query has " +
                              std::to_string(plan->schema.size()));
    }
    auto copy = std::make_shared<LogicalOp>(*plan);
    for (size_t i = 0; i < names.size(); ++i) copy->schema.mutable_fields()[i].name = names[i];
    return LogicalOpPtr(copy);
  }

  Result<FromResult> BaseTable(const ParsedTableRef& ref) {
    // A WITH query of that name comes first.
    if (ref.name.parts.size() == 1) {
      for (size_t i = ctes_.size(); i-- > 0;) {
        if (ctes_[i].first == ref.name.parts[0]) {
          const CommonTableExpr* cte = ctes_[i].second;
          // A CTE sees only the CTEs defined before it.
          std::vector<std::pair<std::string, const CommonTableExpr*>> saved = ctes_;
          ctes_.resize(i);
          auto plan = Query_(*cte->query);
          ctes_ = std::move(saved);
          if (!plan.ok()) return plan.status();
          KL_ASSIGN_OR_RETURN(LogicalOpPtr p, Rename(*plan, cte->columns, cte->pos));
          KL_ASSIGN_OR_RETURN(p, Rename(p, ref.column_aliases, ref.pos));
          return FromResult{p, ScopeOf(*p, ref.alias.empty() ? cte->name : ref.alias)};
        }
      }
    }
    ReadOptions read;
    read.dynamic_options = ref.hints;
    // FOR SYSTEM_TIME AS OF s.proc_time: a lookup join's dimension side.
    bool lookup = ref.as_of && ref.as_of->kind == ExprKind::kColumn;
    if (ref.as_of && !lookup) {
      format::DataType t;
      KL_ASSIGN_OR_RETURN(format::Datum v, BindConstant(*ref.as_of, o_, &t));
      if (v.is_null()) return ErrorAt(ref.as_of->pos, "FOR SYSTEM_TIME AS OF needs a time, not NULL");
      if (t.root() == TypeRoot::kTimestamp) {
        read.as_of_millis = v.as_timestamp().millis - o_.exec->OffsetMillisAtLocal(v.as_timestamp().millis);
      } else if (t.root() == TypeRoot::kTimestampLtz) {
        read.as_of_millis = v.as_timestamp().millis;
      } else if (IsIntegral(t)) {
        read.as_of_millis = v.as_int();
      } else if (IsStringType(t)) {
        auto ts = ParseTimestampText(v.as_bytes());
        if (!ts.ok()) return ErrorAt(ref.as_of->pos, "FOR SYSTEM_TIME AS OF: " + ts.status().message());
        read.as_of_millis = ts->millis - o_.exec->OffsetMillisAtLocal(ts->millis);
      } else {
        return ErrorAt(ref.as_of->pos, "FOR SYSTEM_TIME AS OF needs a TIMESTAMP, not " + TypeName(t));
      }
    }
    auto obj = o_.resolver->ResolveTable(ref.name, read);
    if (!obj.ok()) {
      std::string msg = obj.status().message();
      if (obj.status().code() == StatusCode::kInvalidArgument && msg.rfind("line ", 0) == 0) return obj.status();
      return Status(obj.status().code(), ErrorAt(ref.name.pos, msg).message());
    }
    std::shared_ptr<CatalogObject> table = *obj;
    std::string qualifier = ref.alias.empty() ? table->name : ref.alias;
    if (table->kind == ObjectKind::kView) {
      if (!ref.hints.empty() || ref.as_of) {
        return ErrorAt(ref.pos, "hints and FOR SYSTEM_TIME AS OF apply to tables, not to the view " + table->name);
      }
      if (o_.view_depth > 16) return ErrorAt(ref.pos, "views nest more than 16 deep (a view that reads itself?)");
      // A view is read in the session's dialect, else in the other one (it may have been created there).
      ParseOptions view_dialect;
      view_dialect.dialect = o_.postgres ? Dialect::kPostgres : Dialect::kFlink;
      auto parsed = ParseStatement(table->view_query, {1, 1}, view_dialect);
      if (!parsed.ok()) {
        view_dialect.dialect = o_.postgres ? Dialect::kFlink : Dialect::kPostgres;
        auto other = ParseStatement(table->view_query, {1, 1}, view_dialect);
        if (other.ok()) parsed = other;
      }
      if (!parsed.ok()) {
        return ErrorAt(ref.pos, "view " + table->FullName() + " no longer parses: " + parsed.status().message());
      }
      if ((*parsed)->kind != StatementKind::kQuery) return ErrorAt(ref.pos, "view " + table->name + " is not a query");
      BindOptions inner = o_;
      inner.view_depth++;
      Binder b(inner);
      auto plan = b.Query_(*(*parsed)->query);
      if (!plan.ok()) {
        return ErrorAt(ref.pos, "view " + table->FullName() + " no longer binds: " + plan.status().message());
      }
      KL_ASSIGN_OR_RETURN(LogicalOpPtr p, Rename(*plan, table->view_columns, ref.pos));
      KL_ASSIGN_OR_RETURN(p, Rename(p, ref.column_aliases, ref.pos));
      return FromResult{p, ScopeOf(*p, qualifier)};
    }
    auto scan = std::make_shared<LogicalOp>();
    scan->kind = OpKind::kScan;
    scan->table = table;
    scan->schema = table->schema;
    for (size_t i = 0; i < table->schema.size(); ++i) scan->scan_columns.push_back(static_cast<int>(i));
    scan->table_hints = ref.hints;
    scan->scan_time_travel = read.as_of_millis.has_value();
    if (lookup) {
      scan->scan_lookup = true;
      scan->scan_lookup_time = ref.as_of->ToString();
    }
    LogicalOpPtr plan = scan;
    KL_ASSIGN_OR_RETURN(plan, ConnectorColumns(plan, *table, ref.pos));
    // Column aliases name the columns a * shows; system columns keep their names.
    size_t system = std::min(table->system_columns, plan->schema.size());
    std::vector<std::string> aliases = ref.column_aliases;
    if (!aliases.empty() && system > 0) {
      size_t visible = plan->schema.size() - system;
      if (aliases.size() > visible || (aliases.size() < visible && !o_.postgres)) {
        return ErrorAt(ref.pos, "the alias names " + std::to_string(aliases.size()) + " columns but " + table->name +
                                    " has " + std::to_string(visible));
      }
      for (size_t i = aliases.size(); i < plan->schema.size(); ++i) aliases.push_back(plan->schema.field(i).name);
    }
    KL_ASSIGN_OR_RETURN(plan, Rename(plan, aliases, ref.pos));
    FromResult r{plan, ScopeOf(*plan, qualifier)};
    for (auto& c : r.scope.columns) c.path = {table->catalog, table->database, table->name};
    for (size_t i = r.scope.columns.size() - system; i < r.scope.columns.size(); ++i) r.scope.columns[i].system = true;
    return r;
  }

  // TABLE(SNAPSHOTS(TABLE t, INTERVAL 'n' unit)): t's rows as of the end of every
  // interval, each with that instant (epoch milliseconds) as `snapshot_time`.
  Result<FromResult> TableFunction(const ParsedTableRef& ref) {
    if (ref.function != "SNAPSHOTS") {
      return ErrorAt(ref.pos,
                     "unknown table function " + ref.function + " (kubelake has SNAPSHOTS(TABLE t, INTERVAL ...))");
    }
    if (ref.tables.size() != 1 || ref.args.size() != 1) {
      return ErrorAt(ref.pos, "SNAPSHOTS takes a table and an interval: SNAPSHOTS(TABLE t, INTERVAL '1' MINUTE)");
    }
    format::DataType t;
    KL_ASSIGN_OR_RETURN(format::Datum v, BindConstant(*ref.args[0], o_, &t));
    // The period in milliseconds: a Flink interval literal is one already; a PostgreSQL
    // session's INTERVAL is a value of its own (months, days, microseconds).
    int64_t period_ms = 0;
    if (v.kind() == format::Datum::Kind::kDecimal && t.root() == TypeRoot::kInterval) {
      Interval iv = IntervalFromKey(v.as_decimal());
      if (iv.months == 0) period_ms = iv.days * int64_t{86400000} + iv.micros / 1000;
    } else if (v.kind() == format::Datum::Kind::kInt && ref.args[0]->kind == ExprKind::kInterval &&
               !ref.args[0]->interval_months) {
      period_ms = v.as_int();
    }
    if (period_ms <= 0) {
      return ErrorAt(ref.args[0]->pos, "SNAPSHOTS needs a positive day-time INTERVAL such as INTERVAL '1' MINUTE");
    }
    ParsedTableRef base;
    base.kind = TableRefKind::kBase;
    base.pos = ref.pos;
    base.name = ref.tables[0];
    KL_ASSIGN_OR_RETURN(FromResult inner, BaseTable(base));
    if (inner.plan->kind != OpKind::kScan || !inner.plan->table->paimon) {
      return ErrorAt(ref.pos, "SNAPSHOTS reads a Paimon table; " + ref.tables[0].ToString() + " is not one");
    }
    auto scan = std::make_shared<LogicalOp>(*inner.plan);
    scan->scan_sample_ms = period_ms;
    std::vector<DataField> fields = scan->schema.fields();
    fields.push_back({static_cast<int32_t>(fields.size()), "snapshot_time", DataType::BigInt().NotNull(), ""});
    scan->schema = RowType(fields);
    scan->scan_columns.push_back(static_cast<int>(scan->table->schema.size()));  // the sample time
    LogicalOpPtr plan = scan;
    KL_ASSIGN_OR_RETURN(plan, Rename(plan, ref.column_aliases, ref.pos));
    std::string qualifier = ref.alias.empty() ? scan->table->name : ref.alias;
    return FromResult{plan, ScopeOf(*plan, qualifier)};
  }

  // A connector table's declared columns over its scan (physical and metadata
  // columns): computed columns are evaluated from the others, in declared order.
  Result<LogicalOpPtr> ConnectorColumns(LogicalOpPtr scan, const CatalogObject& table, SourcePos pos) {
    bool computed = false;
    for (const auto& c : table.connector_columns) computed = computed || c.kind == ConnectorColumn::Kind::kComputed;
    if (!computed) return scan;
    Scope scope = ScopeOf(*scan, table.name);
    ExprMode mode;
    mode.scope = &scope;
    mode.clause = "a computed column";
    auto project = std::make_shared<LogicalOp>();
    project->kind = OpKind::kProject;
    project->children = {scan};
    std::vector<DataField> fields;
    for (const auto& c : table.connector_columns) {
      BoundExprPtr e;
      if (c.kind == ConnectorColumn::Kind::kComputed) {
        auto parsed = ParseExpression(c.expr_text);
        if (!parsed.ok())
          return ErrorAt(pos, "computed column " + QuoteIdentifier(c.name) + " of " + table.name + ": " +
                                  parsed.status().message());
        auto bound = Expr(**parsed, mode);
        if (!bound.ok())
          return ErrorAt(pos, "computed column " + QuoteIdentifier(c.name) + " of " + table.name + ": " +
                                  bound.status().message());
        e = *bound;
      } else {
        int idx = scan->schema.IndexOf(c.name);
        if (idx < 0) return Status::Internal("connector column " + c.name + " missing from its scan");
        e = MakeColumn(idx, scan->schema.type(static_cast<size_t>(idx)), c.name);
      }
      fields.push_back({static_cast<int32_t>(fields.size()), c.name, e->type, ""});
      project->exprs.push_back(e);
    }
    project->schema = RowType(fields);
    return LogicalOpPtr(project);
  }

  Result<FromResult> Unnest(FromResult left, const ParsedTableRef& ref, bool outer, BoundExprPtr bound = nullptr,
                            std::vector<std::string> names = {}) {
    if (!bound && ref.args.size() != 1) return ErrorAt(ref.pos, "UNNEST takes one ARRAY, MAP or MULTISET");
    ExprMode mode;
    mode.scope = &left.scope;
    mode.clause = "UNNEST";
    BoundExprPtr e = bound;
    if (!e) {
      KL_ASSIGN_OR_RETURN(e, Expr(*ref.args[0], mode));
      if (o_.postgres && IsStringType(e->type) && e->kind == BoundKind::kLiteral) {
        KL_ASSIGN_OR_RETURN(e, ArrayLiteral(e, DataType::Array(DataType::String()), ref.pos));
      }
    }
    SourcePos arg_pos = bound ? ref.pos : ref.args[0]->pos;
    TypeRoot r = e->type.root();
    if (r != TypeRoot::kArray && r != TypeRoot::kMap && r != TypeRoot::kMultiset) {
      return ErrorAt(arg_pos, "UNNEST needs an ARRAY, MAP or MULTISET, not " + TypeName(e->type));
    }
    auto op = std::make_shared<LogicalOp>();
    op->kind = OpKind::kUnnest;
    op->children = {left.plan};
    op->unnest_expr = e;
    op->with_ordinality = ref.with_ordinality;
    op->unnest_outer = outer;
    std::vector<DataField> fields = left.plan->schema.fields();
    std::vector<std::pair<std::string, DataType>> added;
    if (r == TypeRoot::kMap) {
      added = {{"f0", e->type.key()}, {"f1", e->type.value()}};
    } else if (e->type.element().root() == TypeRoot::kRow) {
      for (const auto& f : e->type.element().fields()) added.push_back({f.name, f.type.WithNullable(true)});
    } else {
      added = {{"f0", e->type.element().WithNullable(true)}};
    }
    if (ref.with_ordinality) added.push_back({"ordinality", DataType::Int().NotNull()});
    if (o_.postgres && ref.column_aliases.empty() && r == TypeRoot::kArray &&
        e->type.element().root() != TypeRoot::kRow) {
      // PostgreSQL names a function's one column after the function's alias, else after the function.
      added[0].first = !names.empty() ? names[0] : !ref.alias.empty() ? ref.alias : "unnest";
      for (size_t i = 1; i < names.size() && i < added.size(); ++i) added[i].first = names[i];
    }
    if (!ref.column_aliases.empty()) {
      if (ref.column_aliases.size() != added.size()) {
        return ErrorAt(ref.pos, "UNNEST produces " + std::to_string(added.size()) + " columns but the alias names " +
                                    std::to_string(ref.column_aliases.size()));
      }
      for (size_t i = 0; i < added.size(); ++i) added[i].first = ref.column_aliases[i];
    }
    FromResult out{op, left.scope};
    for (auto& [name, type] : added) {
      fields.push_back({static_cast<int32_t>(fields.size()), name, type, ""});
      out.scope.columns.push_back({ref.alias, {}, name, type, false});
    }
    op->schema = RowType(fields);
    return out;
  }

  Result<FromResult> Join(const ParsedTableRef& ref) {
    KL_ASSIGN_OR_RETURN(FromResult left, TableRef(*ref.left));
    if (ref.right->kind == TableRefKind::kUnnest) {
      if (ref.join != JoinType::kCross && ref.join != JoinType::kInner && ref.join != JoinType::kLeft) {
        return ErrorAt(ref.pos, "UNNEST joins as CROSS JOIN, JOIN ... ON TRUE or LEFT JOIN ... ON TRUE");
      }
      return Unnest(std::move(left), *ref.right, ref.join == JoinType::kLeft);
    }
    KL_ASSIGN_OR_RETURN(FromResult right, TableRef(*ref.right));
    JoinType type = ref.join;
    // Outer joins make the other side's columns nullable.
    if (type == JoinType::kLeft || type == JoinType::kFull) {
      for (auto& c : right.scope.columns) c.type = c.type.WithNullable(true);
    }
    if (type == JoinType::kRight || type == JoinType::kFull) {
      for (auto& c : left.scope.columns) c.type = c.type.WithNullable(true);
    }
    FromResult out;
    out.scope.columns = left.scope.columns;
    size_t left_width = left.scope.columns.size();
    for (const auto& c : right.scope.columns) out.scope.columns.push_back(c);
    auto op = std::make_shared<LogicalOp>();
    op->kind = OpKind::kJoin;
    op->join_type = type == JoinType::kCross ? JoinType::kInner : type;
    op->children = {left.plan, right.plan};
    std::vector<DataField> fields;
    for (const auto& c : out.scope.columns) fields.push_back({static_cast<int32_t>(fields.size()), c.name, c.type, ""});
    op->schema = RowType(fields);
    std::vector<BoundExprPtr> conjuncts;
    std::vector<std::string> using_cols = ref.using_columns;
    if (ref.natural) {
      for (const auto& lc : left.scope.columns) {
        for (const auto& rc : right.scope.columns) {
          if (lc.name == rc.name && !lc.system && !rc.system) using_cols.push_back(lc.name);
        }
      }
    }
    for (const auto& name : using_cols) {
      int li = -1, ri = -1;
      for (size_t i = 0; i < left.scope.columns.size(); ++i) {
        if (left.scope.columns[i].name == name && !left.scope.columns[i].hidden) li = static_cast<int>(i);
      }
      for (size_t i = 0; i < right.scope.columns.size(); ++i) {
        if (right.scope.columns[i].name == name) ri = static_cast<int>(i);
      }
      if (li < 0 || ri < 0) return ErrorAt(ref.pos, "USING column " + QuoteIdentifier(name) + " is not on both sides");
      auto l = MakeColumn(li, out.scope.columns[li].type, name);
      auto r = MakeColumn(static_cast<int>(left_width) + ri, out.scope.columns[left_width + ri].type, name);
      KL_ASSIGN_OR_RETURN(auto eq, Compare("=", l, r, ref.pos));
      conjuncts.push_back(eq);
      out.scope.columns[left_width + ri].hidden = true;
    }
    if (ref.condition) {
      ExprMode mode;
      mode.scope = &out.scope;
      mode.clause = "ON";
      KL_ASSIGN_OR_RETURN(auto cond, Expr(*ref.condition, mode));
      KL_RETURN_IF_ERROR(NeedBoolean(cond, ref.condition->pos, "the ON condition"));
      SplitConjunction(cond, &conjuncts);
    }
    // Equality conjuncts between the two sides become hash keys; the rest is a residual condition.
    std::vector<BoundExprPtr> rest;
    for (auto& c : conjuncts) {
      if (c->kind == BoundKind::kCall && c->name == "=" && c->args.size() == 2) {
        std::vector<int> a, b;
        CollectColumns(*c->args[0], &a);
        CollectColumns(*c->args[1], &b);
        auto side = [&](const std::vector<int>& cols) {
          if (cols.empty()) return 0;
          bool all_left = true, all_right = true;
          for (int x : cols) {
            if (x < static_cast<int>(left_width))
              all_right = false;
            else
              all_left = false;
          }
          return all_left ? 1 : all_right ? 2 : 3;
        };
        int sa = side(a), sb = side(b);
        if ((sa == 1 && sb == 2) || (sa == 2 && sb == 1)) {
          BoundExprPtr l = sa == 1 ? c->args[0] : c->args[1];
          BoundExprPtr r = sa == 1 ? c->args[1] : c->args[0];
          std::vector<int> shift(out.scope.columns.size());
          for (size_t i = 0; i < shift.size(); ++i) shift[i] = static_cast<int>(i) - static_cast<int>(left_width);
          op->left_keys.push_back(l);
          op->right_keys.push_back(RemapColumns(r, shift));
          continue;
        }
      }
      rest.push_back(c);
    }
    if (!rest.empty()) op->join_condition = MakeAnd(rest);
    out.plan = op;
    return out;
  }

  // ---- SELECT ----
  static bool ContainsAggregate(const ParsedExpr& e, const FunctionRegistry& f) {
    if (e.kind == ExprKind::kFunction && !e.over && e.over_name.empty() && f.FindAggregate(e.op) != nullptr)
      return true;
    if (e.kind == ExprKind::kScalarSubquery || e.kind == ExprKind::kExists || e.kind == ExprKind::kInSubquery) {
      return !e.args.empty() && ContainsAggregate(*e.args[0], f);
    }
    for (const auto& a : e.args) {
      if (a && ContainsAggregate(*a, f)) return true;
    }
    if (e.filter && ContainsAggregate(*e.filter, f)) return true;
    if (e.over) {
      for (const auto& p : e.over->partition_by) {
        if (ContainsAggregate(*p, f)) return true;
      }
      for (const auto& p : e.over->order_by) {
        if (ContainsAggregate(*p.expr, f)) return true;
      }
    }
    return false;
  }

  Result<LogicalOpPtr> SelectCore(const struct SelectCore& s, const Query* q) {
    FromResult from;
    if (s.from) {
      KL_ASSIGN_OR_RETURN(from, TableRef(*s.from));
    } else {
      auto one = std::make_shared<LogicalOp>();
      one->kind = OpKind::kValues;
      one->rows = {format::Row{}};
      from.plan = one;
    }
    LogicalOpPtr plan = from.plan;
    Scope scope = from.scope;
    if (s.where) {
      ExprMode mode;
      mode.scope = &scope;
      mode.clause = "WHERE";
      KL_ASSIGN_OR_RETURN(auto pred, Expr(*s.where, mode));
      KL_RETURN_IF_ERROR(NeedBoolean(pred, s.where->pos, "WHERE"));
      plan = FilterOf(plan, pred);
    }
    const FunctionRegistry& fns = *o_.functions;
    bool aggregated = !s.group_by.empty() || (s.having != nullptr);
    for (const auto& item : s.items) aggregated = aggregated || ContainsAggregate(*item.expr, fns);
    if (q != nullptr) {
      for (const auto& o : q->order_by) aggregated = aggregated || ContainsAggregate(*o.expr, fns);
    }
    // PostgreSQL's set-returning functions in the select list (unnest(a), generate_series(...)):
    // one row per element, planned as an UNNEST of the rows so far.
    SrfState srf;
    SrfState* saved_srf = srf_;
    struct RestoreSrf {
      SrfState** slot;
      SrfState* saved;
      ~RestoreSrf() { *slot = saved; }
    } restore_srf{&srf_, saved_srf};
    srf_ = nullptr;
    if (o_.postgres) {
      KL_ASSIGN_OR_RETURN(bool has_srf, PlanSelectListSrf(s, &plan, &scope, &srf));
      if (has_srf) {
        if (aggregated)
          return ErrorAt(s.pos, "set-returning functions and aggregates in one select list are not supported");
        srf_ = &srf;
      }
    }
    std::vector<AggregateCall> aggregates;
    std::vector<WindowCall> windows;
    std::map<std::string, int> group_index;
    std::vector<BoundExprPtr> groups;
    std::vector<std::string> group_names;
    if (aggregated) {
      ExprMode gm;
      gm.scope = &scope;
      gm.clause = "GROUP BY";
      for (const auto& g : s.group_by) {
        auto b = o_.postgres && g->kind == ExprKind::kLiteral && g->type.is_integer() && !g->value.is_null()
                     ? Result<BoundExprPtr>(Status::InvalidArgument("a position"))
                     : Expr(*g, gm);
        if (!b.ok() && g->kind == ExprKind::kColumn && g->qualifier.empty()) {
          // GROUP BY a select alias.
          for (const auto& item : s.items) {
            if (item.alias == g->name && !ContainsAggregate(*item.expr, fns)) {
              b = Expr(*item.expr, gm);
              break;
            }
          }
        }
        if (!b.ok() && g->kind == ExprKind::kLiteral && g->type.is_integer() && o_.postgres) {
          int64_t k = g->value.is_null() ? 0 : g->value.as_int();
          if (k < 1 || k > static_cast<int64_t>(s.items.size())) {
            return ErrorAt(g->pos, "GROUP BY position " + std::to_string(k) + " is not in select list");
          }
          b = Expr(*s.items[k - 1].expr, gm);
        }
        if (!b.ok() && g->kind == ExprKind::kLiteral && g->type.is_integer()) {
          return ErrorAt(g->pos, "GROUP BY a position is not supported: name the column or expression");
        }
        if (!b.ok()) return b.status();
        std::string key = (*b)->ToString();
        if (group_index.count(key)) continue;
        group_index[key] = static_cast<int>(groups.size());
        groups.push_back(*b);
        group_names.push_back(g->kind == ExprKind::kColumn ? g->name : "EXPR$" + std::to_string(groups.size() - 1));
      }
    }
    ExprMode sel;
    sel.scope = &scope;
    sel.clause = "SELECT";
    sel.allow_aggregates = aggregated;
    sel.allow_windows = true;
    sel.aggregated = aggregated;
    sel.group_index = &group_index;
    sel.num_groups = groups.size();
    sel.aggregates = &aggregates;
    sel.windows = &windows;
    // Select list, stars expanded.
    std::vector<BoundExprPtr> items;
    std::vector<std::string> names;
    std::vector<SourcePos> item_pos;
    for (size_t k = 0; k < s.items.size(); ++k) {
      const SelectItem& item = s.items[k];
      if (item.expr->kind == ExprKind::kStar) {
        KL_ASSIGN_OR_RETURN(auto stars, Star(*item.expr, scope, sel));
        for (auto& [e, n] : stars) {
          items.push_back(e);
          names.push_back(n);
          item_pos.push_back(item.pos);
        }
        continue;
      }
      KL_ASSIGN_OR_RETURN(auto e, Expr(*item.expr, sel));
      if (IsInterval(e))
        return ErrorAt(item.pos, "an INTERVAL is not a value to select; add it to a date or timestamp");
      items.push_back(e);
      std::string name = item.alias;
      if (name.empty() && o_.postgres) name = PostgresColumnName(*item.expr);
      if (name.empty()) {
        if (item.expr->kind == ExprKind::kColumn) {
          name = item.expr->name;
        } else if (item.expr->kind == ExprKind::kField) {
          name = item.expr->name;
        } else {
          name = "EXPR$" + std::to_string(items.size() - 1);
        }
      }
      names.push_back(name);
      item_pos.push_back(item.pos);
    }
    BoundExprPtr having;
    if (s.having) {
      ExprMode hm = sel;
      hm.clause = "HAVING";
      hm.allow_windows = false;
      KL_ASSIGN_OR_RETURN(having, Expr(*s.having, hm));
      KL_RETURN_IF_ERROR(NeedBoolean(having, s.having->pos, "HAVING"));
    }
    BoundExprPtr qualify;
    if (s.qualify) {
      ExprMode qm = sel;
      qm.clause = "QUALIFY";
      KL_ASSIGN_OR_RETURN(qualify, Expr(*s.qualify, qm));
      KL_RETURN_IF_ERROR(NeedBoolean(qualify, s.qualify->pos, "QUALIFY"));
    }
    // ORDER BY: a select-list position or alias, else an expression over the input.
    struct OrderRef {
      int item = -1;  // index into items (incl. hidden ones appended below)
      bool descending;
      bool nulls_first;
    };
    std::vector<OrderRef> order;
    std::vector<BoundExprPtr> hidden;
    if (q != nullptr) {
      for (const auto& o : q->order_by) {
        OrderRef ref{-1, o.descending, o.nulls_first.value_or(NullsFirst(o.descending))};
        const ParsedExpr& e = *o.expr;
        if (e.kind == ExprKind::kLiteral && e.type.is_integer() && !e.value.is_null()) {
          int64_t k = e.value.as_int();
          if (k < 1 || k > static_cast<int64_t>(items.size())) {
            return ErrorAt(e.pos, "ORDER BY position " + std::to_string(k) + " is not in the select list (1 to " +
                                      std::to_string(items.size()) + ")");
          }
          ref.item = static_cast<int>(k - 1);
        } else if (e.kind == ExprKind::kColumn && e.qualifier.empty()) {
          for (size_t k = 0; k < items.size(); ++k) {
            if (names[k] == e.name && k < s.items.size() + 1000) {
              bool is_alias = false;
              for (const auto& it : s.items) is_alias = is_alias || it.alias == e.name;
              if (is_alias || !ResolvesIn(scope, e)) {
                ref.item = static_cast<int>(k);
                break;
              }
            }
          }
        }
        if (ref.item < 0) {
          ExprMode om = sel;
          om.clause = "ORDER BY";
          KL_ASSIGN_OR_RETURN(auto b, Expr(e, om));
          std::string key = b->ToString();
          for (size_t k = 0; k < items.size(); ++k) {
            if (items[k]->ToString() == key) ref.item = static_cast<int>(k);
          }
          if (ref.item < 0) {
            if (s.distinct) {
              return ErrorAt(e.pos, "with SELECT DISTINCT, ORDER BY expressions must appear in the select list");
            }
            ref.item = static_cast<int>(items.size() + hidden.size());
            hidden.push_back(b);
          }
        }
        order.push_back(ref);
      }
    }
    // Build: aggregate, having, windows, qualify, project, distinct, sort, limit.
    if (aggregated) {
      auto agg = std::make_shared<LogicalOp>();
      agg->kind = OpKind::kAggregate;
      agg->children = {plan};
      agg->groups = groups;
      agg->aggregates = aggregates;
      std::vector<DataField> fields;
      for (size_t g = 0; g < groups.size(); ++g) {
        fields.push_back({static_cast<int32_t>(fields.size()), group_names[g], groups[g]->type, ""});
      }
      for (size_t a = 0; a < aggregates.size(); ++a) {
        fields.push_back({static_cast<int32_t>(fields.size()), aggregates[a].name + "$" + std::to_string(a),
                          aggregates[a].type, ""});
      }
      agg->schema = RowType(fields);
      plan = agg;
      if (having) plan = FilterOf(plan, having);
    }
    size_t pre_window = plan->schema.size();
    if (!windows.empty()) {
      auto win = std::make_shared<LogicalOp>();
      win->kind = OpKind::kWindow;
      win->children = {plan};
      win->windows = windows;
      std::vector<DataField> fields = plan->schema.fields();
      for (size_t w = 0; w < windows.size(); ++w) {
        fields.push_back(
            {static_cast<int32_t>(fields.size()), windows[w].name + "$" + std::to_string(w), windows[w].type, ""});
      }
      win->schema = RowType(fields);
      plan = win;
      for (auto& e : items) e = ReplaceWindowRefs(e, pre_window);
      for (auto& e : hidden) e = ReplaceWindowRefs(e, pre_window);
      if (qualify) qualify = ReplaceWindowRefs(qualify, pre_window);
    }
    if (qualify) plan = FilterOf(plan, qualify);
    // Output names: Flink makes duplicates unique by appending a number.
    std::set<std::string> seen;
    for (auto& n : names) {
      if (o_.postgres) break;  // PostgreSQL keeps duplicate names ("?column?", "?column?")
      std::string base = n;
      int k = 0;
      while (seen.count(n)) n = base + std::to_string(k++);
      seen.insert(n);
    }
    auto proj = std::make_shared<LogicalOp>();
    proj->kind = OpKind::kProject;
    proj->children = {plan};
    std::vector<DataField> pfields;
    for (size_t k = 0; k < items.size(); ++k) {
      proj->exprs.push_back(items[k]);
      pfields.push_back({static_cast<int32_t>(k), names[k], items[k]->type, ""});
    }
    for (size_t k = 0; k < hidden.size(); ++k) {
      proj->exprs.push_back(hidden[k]);
      pfields.push_back({static_cast<int32_t>(pfields.size()), "$order" + std::to_string(k), hidden[k]->type, ""});
    }
    proj->schema = RowType(pfields);
    plan = proj;
    if (s.distinct) plan = DistinctOf(plan);
    if (!order.empty()) {
      auto sort = std::make_shared<LogicalOp>();
      sort->kind = OpKind::kSort;
      sort->children = {plan};
      sort->schema = plan->schema;
      for (const auto& o : order) {
        sort->sort_keys.push_back({MakeColumn(o.item, plan->schema.type(o.item), plan->schema.field(o.item).name),
                                   o.descending, o.nulls_first});
      }
      plan = sort;
    }
    if (!hidden.empty()) {
      auto drop = std::make_shared<LogicalOp>();
      drop->kind = OpKind::kProject;
      drop->children = {plan};
      std::vector<DataField> f;
      for (size_t k = 0; k < items.size(); ++k) {
        drop->exprs.push_back(MakeColumn(static_cast<int>(k), items[k]->type, names[k]));
        f.push_back(pfields[k]);
      }
      drop->schema = RowType(f);
      plan = drop;
    }
    if (q != nullptr) return Limit(plan, *q);
    return plan;
  }

  static BoundExprPtr ReplaceWindowRefs(const BoundExprPtr& e, size_t base) {
    auto copy = std::make_shared<BoundExpr>(*e);
    if (copy->kind == BoundKind::kColumn && copy->column >= kWindowBase) {
      copy->column = static_cast<int>(base) + (copy->column - kWindowBase);
    }
    for (auto& a : copy->args) a = ReplaceWindowRefs(a, base);
    return copy;
  }

  static LogicalOpPtr FilterOf(LogicalOpPtr plan, BoundExprPtr pred) {
    auto f = std::make_shared<LogicalOp>();
    f->kind = OpKind::kFilter;
    f->children = {plan};
    f->predicate = pred;
    f->schema = plan->schema;
    return f;
  }

  bool ResolvesIn(const Scope& scope, const ParsedExpr& e) {
    for (const auto& c : scope.columns) {
      if (!c.hidden && c.name == e.name) return true;
    }
    return false;
  }

  Result<std::vector<std::pair<BoundExprPtr, std::string>>> Star(const ParsedExpr& e, const Scope& scope,
                                                                 ExprMode& mode) {
    std::vector<std::pair<BoundExprPtr, std::string>> out;
    bool any_table = false;
    for (size_t i = 0; i < scope.columns.size(); ++i) {
      const ScopeColumn& c = scope.columns[i];
      if (c.system) continue;
      if (!e.qualifier.empty()) {
        if (!QualifierMatches(c, e.qualifier)) continue;
        any_table = true;
      } else if (c.hidden) {
        continue;
      }
      auto col = MakeColumn(static_cast<int>(i), c.type, c.name);
      KL_ASSIGN_OR_RETURN(auto bound, InMode(col, e.pos, mode, c.name));
      out.push_back({bound, c.name});
    }
    if (!e.qualifier.empty() && !any_table) {
      return ErrorAt(e.pos, "no table " + kl::Join(e.qualifier, ".") + " in FROM for " + e.ToString() +
                                DidYouMean(e.qualifier.back(), TableNames(scope)));
    }
    if (out.empty() && e.qualifier.empty() && !scope.columns.empty()) return ErrorAt(e.pos, "SELECT * has no columns");
    return out;
  }

  static bool QualifierMatches(const ScopeColumn& c, const std::vector<std::string>& q) {
    if (q.size() == 1) return c.table == q[0] || (c.table.empty() && !c.path.empty() && c.path[2] == q[0]);
    if (c.path.size() != 3) return false;
    if (q.size() == 2) return c.path[1] == q[0] && c.path[2] == q[1] && (c.table == c.path[2]);
    return c.path[0] == q[0] && c.path[1] == q[1] && c.path[2] == q[2] && (c.table == c.path[2]);
  }

  static std::vector<std::string> TableNames(const Scope& scope) {
    std::vector<std::string> out;
    for (const auto& c : scope.columns) {
      if (!c.table.empty() && std::find(out.begin(), out.end(), c.table) == out.end()) out.push_back(c.table);
    }
    return out;
  }

  // A column (or grouped expression) in the current mode: over an aggregation it must be grouped.
  Result<BoundExprPtr> InMode(BoundExprPtr bound, SourcePos pos, ExprMode& mode, const std::string& what) {
    if (!mode.aggregated) return bound;
    auto it = mode.group_index->find(bound->ToString());
    if (it != mode.group_index->end()) return MakeColumn(it->second, bound->type, bound->name);
    return ErrorAt(pos, "column " + QuoteIdentifier(what) + " must be in GROUP BY or inside an aggregate function (" +
                            std::string(mode.clause) + ")");
  }

  Result<BoundExprPtr> Column(const ParsedExpr& e, ExprMode& mode) {
    const Scope& scope = *mode.scope;
    std::vector<int> matches;
    for (size_t i = 0; i < scope.columns.size(); ++i) {
      const ScopeColumn& c = scope.columns[i];
      if (c.name != e.name) continue;
      if (e.qualifier.empty() ? c.hidden : !QualifierMatches(c, e.qualifier)) continue;
      matches.push_back(static_cast<int>(i));
    }
    if (matches.empty()) {
      // Case-insensitive fallback when unique (Flink is case-sensitive; this forgives `Kind` for `kind`).
      for (size_t i = 0; i < scope.columns.size(); ++i) {
        const ScopeColumn& c = scope.columns[i];
        if (!EqualsIgnoreCase(c.name, e.name)) continue;
        if (e.qualifier.empty() ? c.hidden : !QualifierMatches(c, e.qualifier)) continue;
        matches.push_back(static_cast<int>(i));
      }
      if (matches.size() > 1) matches.clear();
    }
    if (matches.empty() && !e.qualifier.empty()) {
      // t.col.field or col.field: field access on a ROW column.
      ParsedExpr base;
      base.kind = ExprKind::kColumn;
      base.pos = e.pos;
      base.name = e.qualifier.back();
      base.qualifier.assign(e.qualifier.begin(), e.qualifier.end() - 1);
      auto b = Column(base, mode);
      if (b.ok() && (*b)->type.root() == TypeRoot::kRow) return FieldOf(*b, e.name, e.pos);
    }
    if (matches.empty() && outer_ != nullptr) {
      // Not here: a column of an enclosing query makes this a correlated subquery.
      auto outer = outer_->binder->Column(e, *outer_->mode);
      if (outer.ok()) return CaptureOuter(*outer);
      bool qualifier_here = false;
      for (const auto& c : scope.columns) {
        qualifier_here = qualifier_here || (!e.qualifier.empty() && QualifierMatches(c, e.qualifier));
      }
      // t.c where t is an outer query's table: the outer query knows what is wrong.
      if (!e.qualifier.empty() && !qualifier_here &&
          outer.status().message().find("unknown table") == std::string::npos) {
        return outer.status();
      }
    }
    if (matches.size() > 1) {
      std::vector<std::string> tables;
      for (int m : matches) tables.push_back(scope.columns[m].table.empty() ? "?" : scope.columns[m].table);
      return ErrorAt(e.pos, "column " + QuoteIdentifier(e.name) + " is ambiguous: it is in " +
                                kl::Join(tables, " and ") + "; qualify it (" + tables[0] + "." + e.name + ")");
    }
    if (matches.empty()) {
      std::vector<std::string> names;
      for (const auto& c : scope.columns) {
        if (!c.hidden) names.push_back(c.name);
      }
      std::string where = e.qualifier.empty() ? "" : " in " + kl::Join(e.qualifier, ".");
      if (!e.qualifier.empty()) {
        bool table_exists = false;
        for (const auto& c : scope.columns) table_exists = table_exists || QualifierMatches(c, e.qualifier);
        if (!table_exists) {
          return ErrorAt(e.pos, "unknown table " + kl::Join(e.qualifier, ".") + " in " + e.ToString() +
                                    DidYouMean(e.qualifier.back(), TableNames(scope)));
        }
      }
      std::string hint;
      if (scope.columns.empty()) hint = " (the query has no FROM)";
      return ErrorAt(e.pos, "unknown column " + QuoteIdentifier(e.name) + where + DidYouMean(e.name, names) + hint);
    }
    const ScopeColumn& c = scope.columns[matches[0]];
    return InMode(MakeColumn(matches[0], c.type, c.name), e.pos, mode, c.name);
  }

  Result<BoundExprPtr> FieldOf(BoundExprPtr base, const std::string& name, SourcePos pos) {
    if (base->type.root() != TypeRoot::kRow) {
      return ErrorAt(pos, "." + name + " needs a ROW value, not " + TypeName(base->type));
    }
    const auto& fields = base->type.fields();
    int idx = -1;
    std::vector<std::string> names;
    for (size_t i = 0; i < fields.size(); ++i) {
      names.push_back(fields[i].name);
      if (fields[i].name == name) idx = static_cast<int>(i);
    }
    if (idx < 0) return ErrorAt(pos, "the ROW has no field " + QuoteIdentifier(name) + DidYouMean(name, names));
    BoundFunction f;
    f.return_type = fields[idx].type.WithNullable(true);
    f.kernel = RowKernel([idx](ExecContext&, const format::Datum* a, format::Datum* o) {
      const auto& items = a[0].as_list();
      *o = static_cast<size_t>(idx) < items.size() ? items[idx] : format::Datum();
      return Status::OK();
    });
    return Call("." + name, pos, {base}, f);
  }

  // ---- expressions ----
  Status NeedBoolean(const BoundExprPtr& e, SourcePos pos, const std::string& where) {
    if (IsUntypedNull(e)) return Status::OK();
    if (e->type.root() != TypeRoot::kBoolean) {
      return ErrorAt(pos, where + " needs a BOOLEAN condition, not " + TypeName(e->type.WithNullable(true)));
    }
    return Status::OK();
  }

  // A call node; folded to a literal when all arguments are constant and it succeeds.
  Result<BoundExprPtr> Call(const std::string& name, SourcePos pos, std::vector<BoundExprPtr> args, BoundFunction f) {
    for (size_t i = 0; i < args.size() && i < f.arg_types.size(); ++i) {
      KL_ASSIGN_OR_RETURN(args[i], CastTo(args[i], f.arg_types[i], pos));
    }
    auto e = std::make_shared<BoundExpr>();
    e->kind = BoundKind::kCall;
    e->name = name;
    e->pos = pos;
    e->args = std::move(args);
    bool nullable = f.return_type.nullable();
    for (const auto& a : e->args) nullable = nullable || a->type.nullable();
    e->type = f.return_type.WithNullable(nullable || f.return_type.nullable());
    e->function = std::move(f);
    return Fold(e);
  }

  Result<BoundExprPtr> Fold(BoundExprPtr e) {
    if (e->kind == BoundKind::kLiteral || !e->IsConstant()) return e;
    auto v = Evaluate(*e);
    if (!v.ok()) return e;  // keep it: the error appears only if the value is needed
    auto lit = MakeLiteral(*v, e->type);
    lit->pos = e->pos;
    return lit;
  }

  Result<BoundExprPtr> CastTo(BoundExprPtr e, const DataType& to, SourcePos pos, bool explicit_cast = false,
                              bool try_cast = false) {
    if (IsUntypedNull(e)) return TypedNull(e, to);
    if (e->type == to || (!explicit_cast && e->type.EqualsIgnoreNullable(to))) return e;
    if (!CastSupported(e->type, to)) {
      return ErrorAt(pos,
                     "cannot cast " + TypeName(e->type.WithNullable(true)) + " to " + TypeName(to.WithNullable(true)));
    }
    if (o_.postgres && explicit_cast && IsStringType(to) && !IsStringType(e->type)) {
      // A PostgreSQL session's text of a value is PostgreSQL's ('true', '2', '{1,2}', '...+02').
      BoundFunction f;
      f.return_type = DataType::String();
      f.arg_types = {e->type};
      DataType from = e->type;
      f.kernel = RowKernel([from](ExecContext& ctx, const format::Datum* a, format::Datum* o) -> Status {
        if (from.root() == TypeRoot::kBoolean) {
          *o = format::Datum::Bytes(a[0].as_int() != 0 ? "true" : "false");
          return Status::OK();
        }
        KL_ASSIGN_OR_RETURN(std::string text, PostgresOutputText(ctx, a[0], from));
        *o = format::Datum::Bytes(std::move(text));
        return Status::OK();
      });
      KL_ASSIGN_OR_RETURN(auto text, Call("CAST", pos, {e}, std::move(f)));
      return CastTo(text, to, pos, explicit_cast, try_cast);
    }
    if (o_.postgres && explicit_cast && (to.root() == TypeRoot::kVarChar || to.root() == TypeRoot::kChar) &&
        to.length() < DataType::kMaxLength && IsStringType(e->type)) {
      // PostgreSQL's varchar(n) and char(n) keep the first n characters of a longer text.
      BoundFunction f;
      f.return_type = to.WithNullable(true);
      f.arg_types = {e->type};
      size_t chars = static_cast<size_t>(to.length());
      f.kernel = RowKernel([chars](ExecContext&, const format::Datum* a, format::Datum* o) -> Status {
        std::string_view s = a[0].as_bytes();
        size_t end = Utf8Offset(s, chars);
        *o = end < s.size() ? format::Datum::Bytes(std::string(s.substr(0, end))) : a[0];
        return Status::OK();
      });
      return Call("CAST", pos, {e}, std::move(f));
    }
    auto c = std::make_shared<BoundExpr>();
    c->kind = BoundKind::kCast;
    c->pos = pos;
    c->type = to.WithNullable(e->type.nullable() || try_cast || to.nullable() ||
                              (IsStringType(e->type) && !IsStringType(to)) || to.root() == TypeRoot::kDecimal);
    if (!explicit_cast && !to.nullable()) c->type = to.WithNullable(e->type.nullable());
    c->try_cast = try_cast;
    c->name = e->kind == BoundKind::kColumn ? "column " + QuoteIdentifier(e->name) : "";
    c->args = {e};
    if (e->kind == BoundKind::kLiteral) {
      auto v = Evaluate(*c);
      if (!v.ok()) return ErrorAt(pos, v.status().message());
      auto lit = MakeLiteral(*v, c->type);
      lit->pos = pos;
      return lit;
    }
    return c;
  }

  // Coerces two operands to one type for comparison; string literals take the other side's type.
  Status Unify(BoundExprPtr* a, BoundExprPtr* b, SourcePos pos, const std::string& what) {
    if (IsUntypedNull(*a) && IsUntypedNull(*b)) return Status::OK();
    if (IsUntypedNull(*a)) {
      *a = TypedNull(*a, (*b)->type);
      return Status::OK();
    }
    if (IsUntypedNull(*b)) {
      *b = TypedNull(*b, (*a)->type);
      return Status::OK();
    }
    if (o_.postgres) KL_RETURN_IF_ERROR(PostgresLiteralCoercion(a, b, pos));
    auto literal_string = [](const BoundExprPtr& e) { return e->kind == BoundKind::kLiteral && IsStringType(e->type); };
    if (literal_string(*a) && !IsStringType((*b)->type) && !(*b)->type.is_nested()) {
      KL_ASSIGN_OR_RETURN(*a, CastTo(*a, (*b)->type.WithNullable(true), pos));
      return Status::OK();
    }
    if (literal_string(*b) && !IsStringType((*a)->type) && !(*a)->type.is_nested()) {
      KL_ASSIGN_OR_RETURN(*b, CastTo(*b, (*a)->type.WithNullable(true), pos));
      return Status::OK();
    }
    auto common = CommonType((*a)->type, (*b)->type);
    if (!common.ok()) {
      return ErrorAt(pos, what + ": cannot compare " + TypeName((*a)->type.WithNullable(true)) + " with " +
                              TypeName((*b)->type.WithNullable(true)) + " (use CAST)");
    }
    KL_ASSIGN_OR_RETURN(*a, CastTo(*a, common->WithNullable((*a)->type.nullable()), pos));
    KL_ASSIGN_OR_RETURN(*b, CastTo(*b, common->WithNullable((*b)->type.nullable()), pos));
    return Status::OK();
  }

  Result<BoundExprPtr> Compare(const std::string& op, BoundExprPtr a, BoundExprPtr b, SourcePos pos) {
    KL_RETURN_IF_ERROR(Unify(&a, &b, pos, "'" + op + "'"));
    if (IsUntypedNull(a)) return MakeLiteral(format::Datum(), DataType::Boolean());
    if (a->type.root() == TypeRoot::kMap || a->type.root() == TypeRoot::kMultiset) {
      if (op != "=" && op != "<>") return ErrorAt(pos, "values of type " + TypeName(a->type) + " cannot be ordered");
    }
    KL_ASSIGN_OR_RETURN(BoundFunction f, BindComparison(op, a->type));
    return Call(op, pos, {a, b}, f);
  }

  Result<BoundExprPtr> Not(BoundExprPtr e) {
    auto n = std::make_shared<BoundExpr>();
    n->kind = BoundKind::kNot;
    n->type = DataType::Boolean().WithNullable(e->type.nullable());
    n->args = {e};
    return Fold(n);
  }

  Result<BoundExprPtr> Logic(BoundKind kind, std::vector<BoundExprPtr> terms) {
    std::vector<BoundExprPtr> flat;
    for (auto& t : terms) {
      if (t->kind == kind) {
        for (auto& a : t->args) flat.push_back(a);
      } else {
        flat.push_back(t);
      }
    }
    auto e = std::make_shared<BoundExpr>();
    e->kind = kind;
    bool nullable = false;
    for (auto& t : flat) {
      if (IsUntypedNull(t)) t = MakeLiteral(format::Datum(), DataType::Boolean());
      nullable = nullable || t->type.nullable();
    }
    e->type = DataType::Boolean().WithNullable(nullable);
    e->args = std::move(flat);
    return Fold(e);
  }

  Result<BoundExprPtr> Case(std::vector<std::pair<BoundExprPtr, BoundExprPtr>> branches, BoundExprPtr other,
                            SourcePos pos) {
    std::optional<DataType> type;
    // PostgreSQL reads a text literal beside an interval as an interval (an unknown-typed
    // literal takes the other results' type): CASE ... THEN interval '1 day' ELSE '2 days'.
    bool interval_results = false;
    for (auto& [w, v] : branches) interval_results = interval_results || v->type.root() == TypeRoot::kInterval;
    if (other) interval_results = interval_results || other->type.root() == TypeRoot::kInterval;
    auto add = [&](const BoundExprPtr& v) -> Status {
      if (IsUntypedNull(v)) return Status::OK();
      if (interval_results && v->kind == BoundKind::kLiteral && IsStringType(v->type)) return Status::OK();
      if (!type) {
        type = v->type;
        return Status::OK();
      }
      auto c = CommonType(*type, v->type);
      if (!c.ok()) return ErrorAt(pos, "CASE results do not share a type: " + c.status().message());
      type = *c;
      return Status::OK();
    };
    for (auto& [w, t] : branches) KL_RETURN_IF_ERROR(add(t));
    if (other) KL_RETURN_IF_ERROR(add(other));
    DataType t = type ? *type : DataType::String();
    bool nullable = !other || IsUntypedNull(other) || other->type.nullable();
    for (auto& [w, v] : branches) nullable = nullable || IsUntypedNull(v) || v->type.nullable();
    t = t.WithNullable(nullable);
    auto e = std::make_shared<BoundExpr>();
    e->kind = BoundKind::kCase;
    e->type = t;
    e->pos = pos;
    for (auto& [w, v] : branches) {
      if (IsUntypedNull(w)) w = MakeLiteral(format::Datum(), DataType::Boolean());
      e->args.push_back(w);
      KL_ASSIGN_OR_RETURN(auto cv, CastTo(v, t, pos));
      e->args.push_back(cv);
    }
    if (other) {
      KL_ASSIGN_OR_RETURN(auto co, CastTo(other, t, pos));
      e->args.push_back(co);
    } else {
      e->args.push_back(MakeLiteral(format::Datum(), t));
    }
    return Fold(e);
  }

  Result<std::vector<BoundExprPtr>> Args(const std::vector<ExprPtr>& args, ExprMode& mode) {
    std::vector<BoundExprPtr> out;
    for (const auto& a : args) {
      KL_ASSIGN_OR_RETURN(auto b, Expr(*a, mode));
      out.push_back(b);
    }
    return out;
  }

  CallSite Site(const std::string& name, SourcePos pos, const std::vector<BoundExprPtr>& args) {
    CallSite site;
    site.name = name;
    site.pos = pos;
    site.postgres = o_.postgres;
    for (const auto& a : args) {
      site.arg_types.push_back(IsUntypedNull(a) ? DataType::String() : a->type);
      site.untyped_null.push_back(IsUntypedNull(a));
      if (a->kind == BoundKind::kLiteral) {
        if (a->param > 0) ValueDependent();  // the function may bind differently for another value
        site.constants.push_back(a->value);
      } else {
        site.constants.push_back(std::nullopt);
      }
    }
    return site;
  }

  Result<BoundExprPtr> ScalarCall(const std::string& name, SourcePos pos, std::vector<BoundExprPtr> args) {
    const ScalarBinder* binder = o_.functions->FindScalar(name);
    if (binder == nullptr) return ErrorAt(pos, "unknown function " + name);
    CallSite site = Site(name, pos, args);
    KL_ASSIGN_OR_RETURN(BoundFunction f, (*binder)(site));
    return Call(name, pos, std::move(args), std::move(f));
  }

  static BoundExprPtr StringLiteral(const std::string& s) {
    return MakeLiteral(format::Datum::Bytes(s), DataType::String().NotNull());
  }

  Result<BoundExprPtr> Expr(const ParsedExpr& e, ExprMode& mode) {
    if (++expr_depth_ > 400) {
      --expr_depth_;
      return ErrorAt(e.pos, "expression nested too deeply");
    }
    auto r = ExprInner(e, mode);
    --expr_depth_;
    if (r.ok() && (*r)->pos.line == 0) (*r)->pos = e.pos;
    return r;
  }

  Result<BoundExprPtr> ExprInner(const ParsedExpr& e, ExprMode& mode) {
    // Over an aggregation, an expression equal to a GROUP BY expression is that group column.
    if (mode.aggregated && e.kind != ExprKind::kColumn && e.kind != ExprKind::kLiteral &&
        !ContainsAggregate(e, *o_.functions) && !(e.kind == ExprKind::kFunction && (e.over || !e.over_name.empty()))) {
      ExprMode plain;
      plain.scope = mode.scope;
      plain.clause = mode.clause;
      auto b = Expr(e, plain);
      if (b.ok()) {
        auto it = mode.group_index->find((*b)->ToString());
        if (it != mode.group_index->end()) return MakeColumn(it->second, (*b)->type, (*b)->name);
        if ((*b)->IsConstant()) return *b;
      }
    }
    switch (e.kind) {
      case ExprKind::kLiteral: {
        if (e.name == "null-literal") {
          auto n = MakeLiteral(format::Datum(), DataType::String());
          n->name = "NULL";
          return n;
        }
        return MakeLiteral(e.value, e.type);
      }
      case ExprKind::kColumn: return Column(e, mode);
      case ExprKind::kStar: return ErrorAt(e.pos, "* is allowed only in the select list and in COUNT(*)");
      case ExprKind::kParameter: {
        size_t index = static_cast<size_t>(e.param_index - 1);
        std::optional<DataType> known;
        if (o_.parameter_types != nullptr) {
          if (o_.describe && o_.parameter_types->size() <= index) o_.parameter_types->resize(index + 1);
          if (index < o_.parameter_types->size()) known = (*o_.parameter_types)[index];
        }
        if (o_.params == nullptr || index >= o_.params->size()) {
          if (!o_.describe) return ErrorAt(e.pos, "no value given for parameter $" + std::to_string(e.param_index));
          // Its value comes later: a NULL that takes its type from where it is used.
          auto n = MakeLiteral(format::Datum(), known ? known->WithNullable(true) : DataType::String());
          if (!known) n->name = "NULL";
          n->param = e.param_index;
          return n;
        }
        const format::Datum& v = (*o_.params)[index];
        if (known) {
          auto lit = MakeLiteral(v, v.is_null() ? known->WithNullable(true) : known->NotNull());
          lit->param = e.param_index;
          return lit;
        }
        DataType t;
        switch (v.kind()) {
          case format::Datum::Kind::kNull: {
            auto n = MakeLiteral(v, DataType::String());
            n->name = "NULL";
            return n;
          }
          case format::Datum::Kind::kBool: t = DataType::Boolean(); break;
          case format::Datum::Kind::kInt: t = DataType::BigInt(); break;
          case format::Datum::Kind::kDouble: t = DataType::Double(); break;
          case format::Datum::Kind::kBytes: t = DataType::String(); break;
          case format::Datum::Kind::kTimestamp: t = DataType::Timestamp(6); break;
          default: return ErrorAt(e.pos, "unsupported parameter value");
        }
        auto lit = MakeLiteral(v, t.NotNull());
        lit->param = e.param_index;
        return lit;
      }
      case ExprKind::kUnary: {
        KL_ASSIGN_OR_RETURN(auto a, Expr(*e.args[0], mode));
        if (e.op == "NOT") {
          KL_RETURN_IF_ERROR(NeedBoolean(a, e.args[0]->pos, "NOT"));
          if (IsUntypedNull(a)) a = MakeLiteral(format::Datum(), DataType::Boolean());
          return Not(a);
        }
        if (e.op == "+") {
          if (!o_.postgres || IsUntypedNull(a) || IsNumeric(a->type) ||
              (a->kind == BoundKind::kLiteral && IsStringType(a->type))) {
            return a;
          }
          return ErrorAt(e.pos, "operator does not exist: + " + PostgresTypeNameOf(a->type));
        }
        if (IsInterval(a)) {
          auto n = MakeLiteral(format::Datum::Int(-a->value.as_int()), a->type);
          n->name = a->name;
          return n;
        }
        if (IsUntypedNull(a)) return a;
        if (a->type.root() == TypeRoot::kInterval) return Call("-", e.pos, {a}, BindIntervalNegate());
        if (!IsNumeric(a->type)) return ErrorAt(e.pos, "unary minus needs a number, not " + TypeName(a->type));
        return Call("-", e.pos, {a}, BindNegate(a->type));
      }
      case ExprKind::kBinary: return Binary(e, mode);
      case ExprKind::kIsNull: {
        KL_ASSIGN_OR_RETURN(auto a, Expr(*e.args[0], mode));
        auto n = std::make_shared<BoundExpr>();
        n->kind = BoundKind::kIsNull;
        n->type = DataType::Boolean().NotNull();
        n->args = {a};
        KL_ASSIGN_OR_RETURN(BoundExprPtr r, Fold(n));
        if (e.negated) return Not(r);
        return r;
      }
      case ExprKind::kIsBool: {
        KL_ASSIGN_OR_RETURN(auto a, Expr(*e.args[0], mode));
        KL_RETURN_IF_ERROR(NeedBoolean(a, e.pos, "IS " + e.op));
        if (IsUntypedNull(a)) a = MakeLiteral(format::Datum(), DataType::Boolean());
        int want = e.op == "TRUE" ? 1 : e.op == "FALSE" ? 0 : -1;
        bool neg = e.negated;
        BoundFunction f;
        f.return_type = DataType::Boolean().NotNull();
        f.kernel = [want, neg](ExecContext&, const std::vector<const format::Column*>& args, size_t rows,
                               format::Column* out) -> Status {
          for (size_t i = 0; i < rows; ++i) {
            int v = args[0]->IsNull(i) ? -1 : (args[0]->GetInt(i) != 0 ? 1 : 0);
            out->AppendInt((v == want) != neg ? 1 : 0);
          }
          return Status::OK();
        };
        KL_ASSIGN_OR_RETURN(auto r, Call("IS " + std::string(neg ? "NOT " : "") + e.op, e.pos, {a}, f));
        r->type = DataType::Boolean().NotNull();
        return r;
      }
      case ExprKind::kIsDistinct: {
        KL_ASSIGN_OR_RETURN(auto a, Expr(*e.args[0], mode));
        KL_ASSIGN_OR_RETURN(auto b, Expr(*e.args[1], mode));
        KL_RETURN_IF_ERROR(Unify(&a, &b, e.pos, "IS DISTINCT FROM"));
        if (a->type.root() == TypeRoot::kInterval) {
          // Intervals of one length are not distinct ('1 day' and '24 hours'), as with =.
          BoundFunction f;
          f.return_type = DataType::Boolean().NotNull();
          bool negated = e.negated;
          f.kernel = RowKernel(
              [negated](ExecContext&, const format::Datum* v, format::Datum* o) {
                bool distinct = v[0].is_null() || v[1].is_null()
                                    ? v[0].is_null() != v[1].is_null()
                                    : IntervalLength(IntervalFromKey(v[0].as_decimal())) !=
                                          IntervalLength(IntervalFromKey(v[1].as_decimal()));
                *o = format::Datum::Bool(distinct != negated);
                return Status::OK();
              },
              true);
          KL_ASSIGN_OR_RETURN(auto r, Call(negated ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM", e.pos, {a, b}, f));
          r->type = DataType::Boolean().NotNull();
          return r;
        }
        auto n = std::make_shared<BoundExpr>();
        n->kind = BoundKind::kDistinctFrom;
        n->type = DataType::Boolean().NotNull();
        n->args = {a, b};
        if (e.negated) return Not(n);
        return Fold(n);
      }
      case ExprKind::kBetween: {
        KL_ASSIGN_OR_RETURN(auto v, Expr(*e.args[0], mode));
        KL_ASSIGN_OR_RETURN(auto lo, Expr(*e.args[1], mode));
        KL_ASSIGN_OR_RETURN(auto hi, Expr(*e.args[2], mode));
        KL_ASSIGN_OR_RETURN(auto ge, Compare(">=", v, lo, e.pos));
        KL_ASSIGN_OR_RETURN(auto le, Compare("<=", v, hi, e.pos));
        KL_ASSIGN_OR_RETURN(auto both, Logic(BoundKind::kAnd, {ge, le}));
        if (e.negated) return Not(both);
        return both;
      }
      case ExprKind::kInList: {
        KL_ASSIGN_OR_RETURN(auto all, Args(e.args, mode));
        std::optional<DataType> t;
        for (auto& a : all) {
          if (IsUntypedNull(a) ||
              (a->kind == BoundKind::kLiteral && IsStringType(a->type) && !IsStringType(all[0]->type)))
            continue;
          if (!t) {
            t = a->type;
          } else {
            auto c = CommonType(*t, a->type);
            if (!c.ok()) return ErrorAt(e.pos, "IN: cannot compare " + TypeName(*t) + " with " + TypeName(a->type));
            t = *c;
          }
        }
        if (!t) t = DataType::String();
        if (t->root() == TypeRoot::kInterval) {
          // Intervals are equal by length ('1 mon' = '30 days'), not by key: x = a OR x = b ...
          std::vector<BoundExprPtr> terms;
          for (size_t i = 1; i < all.size(); ++i) {
            KL_ASSIGN_OR_RETURN(auto eq, Compare("=", all[0], all[i], e.pos));
            terms.push_back(eq);
          }
          KL_ASSIGN_OR_RETURN(auto any, Logic(BoundKind::kOr, std::move(terms)));
          if (e.negated) return Not(any);
          return any;
        }
        auto n = std::make_shared<BoundExpr>();
        n->kind = BoundKind::kInList;
        n->negated = e.negated;
        bool nullable = false;
        for (auto& a : all) {
          KL_ASSIGN_OR_RETURN(a, CastTo(a, t->WithNullable(a->type.nullable() || IsUntypedNull(a)), e.pos));
          nullable = nullable || a->type.nullable();
        }
        n->type = DataType::Boolean().WithNullable(nullable);
        n->args = std::move(all);
        return Fold(n);
      }
      case ExprKind::kInSubquery:
      case ExprKind::kExists:
      case ExprKind::kScalarSubquery: return Subquery(e, mode);
      case ExprKind::kLike: {
        KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
        for (auto& a : args) {
          if (IsUntypedNull(a)) a = TypedNull(a, DataType::String());
        }
        CallSite site = Site(e.op, e.pos, args);
        KL_ASSIGN_OR_RETURN(BoundFunction f, BindLike(site, e.op == "ILIKE", e.op == "SIMILAR TO"));
        if (args.size() > 2) args.pop_back();  // the escape is compiled in
        KL_ASSIGN_OR_RETURN(auto r, Call(e.op, e.pos, args, f));
        if (e.negated) return Not(r);
        return r;
      }
      case ExprKind::kCase: {
        size_t i = 0;
        BoundExprPtr operand;
        if (e.has_operand) {
          KL_ASSIGN_OR_RETURN(operand, Expr(*e.args[i++], mode));
        }
        size_t end = e.args.size() - (e.has_else ? 1 : 0);
        std::vector<std::pair<BoundExprPtr, BoundExprPtr>> branches;
        for (; i + 2 <= end; i += 2) {
          KL_ASSIGN_OR_RETURN(auto w, Expr(*e.args[i], mode));
          KL_ASSIGN_OR_RETURN(auto t, Expr(*e.args[i + 1], mode));
          if (operand) {
            KL_ASSIGN_OR_RETURN(w, Compare("=", operand, w, e.args[i]->pos));
          } else {
            KL_RETURN_IF_ERROR(NeedBoolean(w, e.args[i]->pos, "WHEN"));
          }
          branches.push_back({w, t});
        }
        BoundExprPtr other;
        if (e.has_else) {
          KL_ASSIGN_OR_RETURN(other, Expr(*e.args.back(), mode));
        }
        return Case(std::move(branches), other, e.pos);
      }
      case ExprKind::kCast: {
        KL_ASSIGN_OR_RETURN(auto a, Expr(*e.args[0], mode));
        if (IsInterval(a)) return ErrorAt(e.pos, "an INTERVAL cannot be cast");
        if (!e.op.empty()) return PostgresConversion(e, a);
        if (o_.postgres && !e.try_cast && IsStringType(a->type) && a->kind == BoundKind::kLiteral &&
            e.type.root() == TypeRoot::kArray) {
          return ArrayLiteral(a, e.type, e.pos);
        }
        if (a->kind == BoundKind::kColumn) a->name = a->name;
        return CastTo(a, e.type.nullable() ? e.type : e.type.WithNullable(e.name != "typed-literal" ? true : false),
                      e.pos, true, e.try_cast);
      }
      case ExprKind::kFunction: return Function(e, mode);
      case ExprKind::kInterval: {
        auto n = MakeLiteral(e.value, DataType::BigInt().NotNull());
        n->name = e.interval_months ? "interval-months" : "interval-ms";
        return n;
      }
      case ExprKind::kArrayCtor:
      case ExprKind::kMapCtor:
      case ExprKind::kRowCtor: return Constructor(e, mode);
      case ExprKind::kSubscript: {
        KL_ASSIGN_OR_RETURN(auto base, Expr(*e.args[0], mode));
        KL_ASSIGN_OR_RETURN(auto idx, Expr(*e.args[1], mode));
        TypeRoot r = base->type.root();
        BoundFunction f;
        if (r == TypeRoot::kArray) {
          if (!IsIntegral(idx->type)) return ErrorAt(e.args[1]->pos, "an ARRAY index must be an integer");
          f.return_type = base->type.element().WithNullable(true);
          f.arg_types = {base->type, DataType::BigInt()};
          f.kernel = RowKernel([](ExecContext&, const format::Datum* a, format::Datum* o) {
            const auto& items = a[0].as_list();
            int64_t i = a[1].as_int();
            *o = (i >= 1 && static_cast<size_t>(i) <= items.size()) ? items[i - 1] : format::Datum();
            return Status::OK();
          });
        } else if (r == TypeRoot::kMap) {
          KL_ASSIGN_OR_RETURN(idx, CastTo(idx, base->type.key().WithNullable(true), e.pos));
          f.return_type = base->type.value().WithNullable(true);
          f.kernel = RowKernel([](ExecContext&, const format::Datum* a, format::Datum* o) {
            const auto& items = a[0].as_list();
            *o = format::Datum();
            for (size_t i = 0; i + 1 < items.size(); i += 2) {
              if (!items[i].is_null() && format::CompareDatum(items[i], a[1]) == 0) *o = items[i + 1];
            }
            return Status::OK();
          });
        } else {
          return ErrorAt(e.pos, "[...] needs an ARRAY or MAP, not " + TypeName(base->type));
        }
        return Call("[]", e.pos, {base, idx}, f);
      }
      case ExprKind::kField: {
        KL_ASSIGN_OR_RETURN(auto base, Expr(*e.args[0], mode));
        return FieldOf(base, e.name, e.pos);
      }
      case ExprKind::kExtract: {
        KL_ASSIGN_OR_RETURN(auto v, Expr(*e.args[0], mode));
        return ScalarCall("EXTRACT", e.pos, {StringLiteral(e.op), v});
      }
      case ExprKind::kTimestampDiff: {
        KL_ASSIGN_OR_RETURN(auto a, Expr(*e.args[0], mode));
        KL_ASSIGN_OR_RETURN(auto b, Expr(*e.args[1], mode));
        return ScalarCall(e.name, e.pos, {StringLiteral(e.op), a, b});
      }
      case ExprKind::kJsonValue:
      case ExprKind::kJsonQuery:
      case ExprKind::kJsonExists: return Json(e, mode);
      case ExprKind::kTrim: {
        KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
        std::vector<BoundExprPtr> call;
        call.push_back(args.back());
        if (args.size() == 2) call.push_back(args[0]);
        const char* fn = e.op == "LEADING" ? "LTRIM" : e.op == "TRAILING" ? "RTRIM" : "TRIM";
        return ScalarCall(fn, e.pos, call);
      }
      case ExprKind::kPosition: {
        KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
        return ScalarCall("POSITION", e.pos, args);
      }
      case ExprKind::kSubstring: {
        KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
        return ScalarCall("SUBSTRING", e.pos, args);
      }
      case ExprKind::kOverlay: break;
      case ExprKind::kQuantified: return Quantified(e, mode);
      case ExprKind::kArraySubquery: return Subquery(e, mode);
    }
    return ErrorAt(e.pos, "unsupported expression " + e.ToString());
  }

  Result<BoundExprPtr> Binary(const ParsedExpr& e, ExprMode& mode) {
    const std::string& op = e.op;
    KL_ASSIGN_OR_RETURN(auto a, Expr(*e.args[0], mode));
    KL_ASSIGN_OR_RETURN(auto b, Expr(*e.args[1], mode));
    if (op == "AND" || op == "OR") {
      KL_RETURN_IF_ERROR(NeedBoolean(a, e.args[0]->pos, op));
      KL_RETURN_IF_ERROR(NeedBoolean(b, e.args[1]->pos, op));
      return Logic(op == "AND" ? BoundKind::kAnd : BoundKind::kOr, {a, b});
    }
    if (op == "=" || op == "<>" || op == "<" || op == "<=" || op == ">" || op == ">=") {
      if (IsInterval(a) || IsInterval(b)) return ErrorAt(e.pos, "an INTERVAL cannot be compared");
      return Compare(op, a, b, e.pos);
    }
    if (op == "~" || op == "!~" || op == "~*" || op == "!~*") return RegexMatch(op, a, b, e.pos);
    if (op == "||") {
      if (o_.postgres) return PostgresConcat(a, b, e.pos);
      for (auto* x : {&a, &b}) {
        if (IsUntypedNull(*x)) *x = TypedNull(*x, DataType::String());
        if (!IsStringType((*x)->type)) {
          return ErrorAt(
              e.pos, "|| needs strings, not " + TypeName((*x)->type.WithNullable(true)) + " (use CAST(x AS STRING))");
        }
      }
      BoundFunction f = BindConcat(2);
      return Call("||", e.pos, {a, b}, f);
    }
    if (o_.postgres && (op == "+" || op == "-" || op == "*" || op == "/")) {
      KL_ASSIGN_OR_RETURN(BoundExprPtr r, PostgresIntervalArithmetic(op, a, b, e.pos));
      if (r) return r;
    }
    // Arithmetic, with intervals on dates and timestamps.
    if (IsInterval(a) || IsInterval(b)) {
      if (IsInterval(a) && op == "+") std::swap(a, b);
      if (IsInterval(a) || !IsInterval(b) || (op != "+" && op != "-")) {
        return ErrorAt(e.pos, "an INTERVAL can only be added to or subtracted from a date, time or timestamp");
      }
      if (IsUntypedNull(a)) return MakeLiteral(format::Datum(), DataType::Timestamp(3));
      if (!IsTemporal(a->type)) {
        return ErrorAt(e.pos, "an INTERVAL can only be added to a date, time or timestamp, not " + TypeName(a->type));
      }
      bool months = b->name == "interval-months";
      DataType result = a->type;
      if (a->type.root() == TypeRoot::kDate && !months && b->value.as_int() % 86400000 != 0) {
        result = DataType::Timestamp(3).WithNullable(a->type.nullable());
        KL_ASSIGN_OR_RETURN(a, CastTo(a, result, e.pos));
      }
      auto plain_b = MakeLiteral(b->value, DataType::BigInt().NotNull());
      return Call(op, e.pos, {a, plain_b}, BindIntervalAdd(result, months, op == "-"));
    }
    if (IsUntypedNull(a) && IsUntypedNull(b)) return MakeLiteral(format::Datum(), DataType::Int());
    if (IsUntypedNull(a)) a = TypedNull(a, b->type);
    if (IsUntypedNull(b)) b = TypedNull(b, a->type);
    if (o_.postgres && (op == "+" || op == "-")) {
      // PostgreSQL's date arithmetic in days: date ± integer is a date, date - date an integer.
      bool date_a = a->type.root() == TypeRoot::kDate, date_b = b->type.root() == TypeRoot::kDate;
      if ((date_a && IsIntegral(b->type)) || (date_b && IsIntegral(a->type) && op == "+") ||
          (date_a && date_b && op == "-")) {
        if (date_b && !date_a) std::swap(a, b);
        bool days_between = date_a && date_b;
        bool minus = op == "-";
        BoundFunction f;
        f.return_type = days_between ? DataType::Int() : DataType::Date();
        if (!days_between) f.arg_types = {a->type, DataType::BigInt()};
        f.kernel = RowKernel([days_between, minus](ExecContext&, const format::Datum* v, format::Datum* o) -> Status {
          int64_t x = v[0].as_int(), y = v[1].as_int();
          if (y > INT32_MAX || y < INT32_MIN) return Status::InvalidArgument("date out of range");
          int64_t r = minus ? x - y : x + y;
          // 0001-01-01 .. 9999-12-31, the dates kubelake's types hold.
          if (!days_between && (r < -719162 || r > 2932896)) return Status::InvalidArgument("date out of range");
          *o = format::Datum::Int(r);
          return Status::OK();
        });
        return Call(op, e.pos, {a, b}, f);
      }
    }
    if (IsTemporal(a->type) && IsTemporal(b->type) && op == "-") {
      return ErrorAt(e.pos, "subtracting dates or timestamps gives an interval; use TIMESTAMPDIFF(unit, a, b)");
    }
    auto result = ArithmeticType(op == "%" ? "%" : op, a->type, b->type);
    if (!result.ok()) return ErrorAt(e.pos, result.status().message());
    KL_ASSIGN_OR_RETURN(BoundFunction f, BindArithmetic(op, a->type, b->type, *result));
    return Call(op, e.pos, {a, b}, f);
  }

  // An interval's length in microseconds (30-day months, 24-hour days) as DECIMAL(38, 0):
  // equal exactly when PostgreSQL's = holds.
  Result<BoundExprPtr> IntervalLengthOf(BoundExprPtr x, SourcePos pos) {
    BoundFunction f;
    f.return_type = DataType::Decimal(38, 0);
    f.kernel = RowKernel([](ExecContext&, const format::Datum* a, format::Datum* o) {
      *o = format::Datum::Decimal(IntervalLength(IntervalFromKey(a[0].as_decimal())));
      return Status::OK();
    });
    return Call("interval length", pos, {x}, f);
  }

  // PostgreSQL's interval arithmetic: timestamp - timestamp, timestamp +/- interval,
  // interval +/- interval, interval * / number. Null when the operands are not of these.
  Result<BoundExprPtr> PostgresIntervalArithmetic(const std::string& op, BoundExprPtr a, BoundExprPtr b,
                                                  SourcePos pos) {
    auto interval = [](const BoundExprPtr& x) { return x->type.root() == TypeRoot::kInterval; };
    auto timestamp = [](const DataType& t) {
      return t.root() == TypeRoot::kTimestamp || t.root() == TypeRoot::kTimestampLtz || t.root() == TypeRoot::kDate;
    };
    auto text_literal = [](const BoundExprPtr& x) {
      return x->kind == BoundKind::kLiteral && IsStringType(x->type) && !IsUntypedNull(x);
    };
    // A timestamp beside a date or text read as timestamp (timestamptz when either is one).
    auto meeting = [](const DataType& x, const DataType& y) {
      bool ltz = x.root() == TypeRoot::kTimestampLtz || y.root() == TypeRoot::kTimestampLtz;
      return ltz ? DataType::TimestampLtz(6) : DataType::Timestamp(6);
    };
    // timestamp + 'text': the text is an interval (PostgreSQL's only timestamp + operator).
    auto ts_only = [&](const DataType& t) { return timestamp(t) && t.root() != TypeRoot::kDate; };
    if (op == "+" && ts_only(a->type) && text_literal(b)) {
      KL_ASSIGN_OR_RETURN(b, CastTo(b, DataType::Interval(), pos));
    } else if (op == "+" && ts_only(b->type) && text_literal(a)) {
      KL_ASSIGN_OR_RETURN(a, CastTo(a, DataType::Interval(), pos));
    }
    bool ia = interval(a), ib = interval(b);
    if (!ia && !ib) {
      if (op != "-") return BoundExprPtr();
      bool ta = timestamp(a->type) && a->type.root() != TypeRoot::kDate;
      bool tb = timestamp(b->type) && b->type.root() != TypeRoot::kDate;
      if (ta && text_literal(b)) {
        KL_ASSIGN_OR_RETURN(b, CastTo(b, a->type.WithNullable(true), pos));
      } else if (tb && text_literal(a)) {
        KL_ASSIGN_OR_RETURN(a, CastTo(a, b->type.WithNullable(true), pos));
      }
      if (!(timestamp(a->type) && timestamp(b->type)) || (!ta && !tb)) return BoundExprPtr();
      return Call("-", pos, {a, b}, BindTimestampDifference(meeting(a->type, b->type)));
    }
    bool additive = op == "+" || op == "-";
    // An untyped NULL or text beside an interval: an interval for + and -, a number for * and /.
    for (BoundExprPtr* x : {&a, &b}) {
      if (interval(*x)) continue;
      DataType want = additive ? DataType::Interval() : DataType::Double();
      if (IsUntypedNull(*x)) {
        *x = TypedNull(*x, want);
      } else if (text_literal(*x)) {
        KL_ASSIGN_OR_RETURN(*x, CastTo(*x, want.WithNullable(true), pos));
      }
    }
    ia = interval(a);
    ib = interval(b);
    if (ia && ib && additive) return Call(op, pos, {a, b}, BindIntervalAddInterval(op == "-"));
    if (additive && (ia != ib)) {
      const BoundExprPtr& t = ia ? b : a;
      if (t->type.root() == TypeRoot::kTime && !(ia && op == "-")) {
        return Call(op, pos, {t, ia ? a : b}, BindTimeAddInterval(t->type, op == "-"));
      }
      if (timestamp(t->type) && !(ia && op == "-")) {
        // The timestamp's precision, unless the interval may carry a finer fraction.
        const BoundExprPtr& iv = ia ? a : b;
        int precision = 6;
        if (t->type.root() != TypeRoot::kDate && iv->kind == BoundKind::kLiteral && !iv->value.is_null() &&
            IntervalFromKey(iv->value.as_decimal()).micros % 1000000 == 0) {
          precision = t->type.precision();
        }
        DataType target = t->type.root() == TypeRoot::kTimestampLtz ? DataType::TimestampLtz(precision)
                                                                    : DataType::Timestamp(precision);
        return Call(op, pos, {ia ? b : a, ia ? a : b}, BindTimestampAddInterval(target, op == "-"));
      }
    }
    if (!additive && (ia != ib)) {
      const BoundExprPtr& n = ia ? b : a;
      if (IsNumeric(n->type) && !(ib && op == "/")) return Call(op, pos, {a, b}, BindIntervalScale(op == "/", ia));
    }
    return ErrorAt(
        pos, "operator does not exist: " + PostgresTypeNameOf(a->type) + " " + op + " " + PostgresTypeNameOf(b->type));
  }

  Result<BoundExprPtr> Constructor(const ParsedExpr& e, ExprMode& mode) {
    KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
    BoundFunction f;
    if (e.kind == ExprKind::kRowCtor) {
      std::vector<DataField> fields;
      for (size_t i = 0; i < args.size(); ++i) {
        if (IsUntypedNull(args[i])) args[i] = MakeLiteral(format::Datum(), DataType::String());
        fields.push_back({static_cast<int32_t>(i), "EXPR$" + std::to_string(i), args[i]->type, ""});
      }
      f.return_type = DataType::Row(fields).NotNull();
    } else {
      if (args.empty()) return ErrorAt(e.pos, "an empty ARRAY[] or MAP[] has no type; CAST it");
      bool map = e.kind == ExprKind::kMapCtor;
      std::optional<DataType> kt, vt;
      for (size_t i = 0; i < args.size(); ++i) {
        if (IsUntypedNull(args[i])) continue;
        auto& t = (map && i % 2 == 0) ? kt : vt;
        if (!t) {
          t = args[i]->type;
        } else {
          auto c = CommonType(*t, args[i]->type);
          if (!c.ok()) return ErrorAt(e.args[i]->pos, "the elements do not share a type: " + c.status().message());
          t = *c;
        }
      }
      DataType k = kt ? *kt : DataType::String(), v = vt ? *vt : DataType::String();
      for (size_t i = 0; i < args.size(); ++i) {
        bool is_key = map && i % 2 == 0;
        bool nullable = IsUntypedNull(args[i]) || args[i]->type.nullable();
        if (is_key)
          k = k.WithNullable(k.nullable() || nullable);
        else
          v = v.WithNullable(v.nullable() || nullable);
      }
      for (size_t i = 0; i < args.size(); ++i) {
        KL_ASSIGN_OR_RETURN(args[i], CastTo(args[i], (map && i % 2 == 0) ? k : v, e.pos));
      }
      f.return_type = (map ? DataType::Map(k, v) : DataType::Array(v)).NotNull();
    }
    f.kernel = RowKernel(
        [n = args.size()](ExecContext&, const format::Datum* a, format::Datum* o) {
          *o = format::Datum::List(format::DatumList(a, a + n));
          return Status::OK();
        },
        true);
    auto r = Call(e.kind == ExprKind::kRowCtor   ? "ROW"
                  : e.kind == ExprKind::kMapCtor ? "MAP"
                                                 : "ARRAY",
                  e.pos, args, f);
    if (r.ok()) (*r)->type = f.return_type;
    return r;
  }

  Result<BoundExprPtr> Json(const ParsedExpr& e, ExprMode& mode) {
    KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
    for (auto& a : args) {
      if (IsUntypedNull(a)) a = MakeLiteral(format::Datum(), DataType::String());
    }
    JsonCallOptions o;
    o.kind = e.kind == ExprKind::kJsonValue   ? JsonFunctionKind::kValue
             : e.kind == ExprKind::kJsonQuery ? JsonFunctionKind::kQuery
                                              : JsonFunctionKind::kExists;
    if (e.has_type) o.returning = e.type;
    if (o.kind == JsonFunctionKind::kExists) o.on_error = JsonOnBehavior::kFalse;
    auto behavior = [](JsonBehavior b) { return static_cast<JsonOnBehavior>(static_cast<int>(b)); };
    o.on_empty = behavior(e.on_empty);
    if (e.kind != ExprKind::kJsonExists || e.on_error != JsonBehavior::kNull) o.on_error = behavior(e.on_error);
    o.wrapper = static_cast<JsonWrapperKind>(static_cast<int>(e.wrapper));
    auto def = [&](const ExprPtr& d, format::Datum* out) -> Status {
      if (!d) return Status::OK();
      KL_ASSIGN_OR_RETURN(auto b, Constant(*d));
      KL_ASSIGN_OR_RETURN(b, CastTo(b, o.returning.WithNullable(true), d->pos));
      KL_ASSIGN_OR_RETURN(*out, Evaluate(*b));
      return Status::OK();
    };
    KL_RETURN_IF_ERROR(def(e.on_empty_default, &o.empty_default));
    KL_RETURN_IF_ERROR(def(e.on_error_default, &o.error_default));
    CallSite site = Site(e.op, e.pos, args);
    KL_ASSIGN_OR_RETURN(BoundFunction f, BindJsonFunction(site, o));
    return Call(e.op, e.pos, args, f);
  }

  Result<BoundExprPtr> Subquery(const ParsedExpr& e, ExprMode& mode) {
    OuterFrame frame;
    frame.binder = this;
    frame.mode = &mode;
    Binder b(o_);
    b.ctes_ = ctes_;
    b.depth_ = depth_;
    b.outer_ = &frame;
    auto plan = b.Query_(*e.subquery);
    if (!plan.ok()) return plan.status();
    auto n = std::make_shared<BoundExpr>();
    n->kind = BoundKind::kSubquery;
    n->pos = e.pos;
    n->subquery = *plan;
    if (!frame.captured.empty()) {
      n->correlation_id = frame.id;
      n->correlated_cache = NewCorrelatedCache();
    }
    if (e.kind == ExprKind::kExists) {
      n->subquery_kind = SubqueryKind::kExists;
      n->type = DataType::Boolean().NotNull();
      n->args = frame.captured;
      if (e.negated) return Not(n);
      return BoundExprPtr(n);
    }
    if ((*plan)->schema.size() != 1) {
      return ErrorAt(e.pos, "the subquery must return one column, not " + std::to_string((*plan)->schema.size()));
    }
    DataType t = (*plan)->schema.type(0);
    if (e.kind == ExprKind::kScalarSubquery || e.kind == ExprKind::kArraySubquery) {
      bool array = e.kind == ExprKind::kArraySubquery;
      n->subquery_kind = array ? SubqueryKind::kArray : SubqueryKind::kScalar;
      n->type = array ? DataType::Array(t.WithNullable(true)).NotNull() : t.WithNullable(true);
      n->args = frame.captured;
      return BoundExprPtr(n);
    }
    KL_ASSIGN_OR_RETURN(auto v, Expr(*e.args[0], mode));
    auto common = CommonType(v->type, t);
    if (IsUntypedNull(v)) common = t;
    if (!common.ok())
      return ErrorAt(e.pos, "IN (subquery): cannot compare " + TypeName(v->type) + " with " + TypeName(t));
    KL_ASSIGN_OR_RETURN(v, CastTo(v, common->WithNullable(true), e.pos));
    if (!(*plan)->schema.type(0).EqualsIgnoreNullable(*common)) {
      KL_ASSIGN_OR_RETURN(n->subquery, CastColumns(*plan, {common->WithNullable(true)}));
    }
    if (common->root() == TypeRoot::kInterval) {
      // IN compares as = does, by length: both sides become lengths, whose equality
      // (in a hash set or a semi-join alike) is the intervals'.
      KL_ASSIGN_OR_RETURN(v, IntervalLengthOf(v, e.pos));
      const LogicalOpPtr& inner = n->subquery;
      auto p = std::make_shared<LogicalOp>();
      p->kind = OpKind::kProject;
      p->children = {inner};
      KL_ASSIGN_OR_RETURN(auto length,
                          IntervalLengthOf(MakeColumn(0, inner->schema.type(0), inner->schema.field(0).name), e.pos));
      p->exprs.push_back(length);
      p->schema = RowType({{0, inner->schema.field(0).name, length->type, ""}});
      n->subquery = p;
    }
    n->subquery_kind = SubqueryKind::kIn;
    n->negated = e.negated;
    n->type = DataType::Boolean();
    n->args = {v};
    for (auto& c : frame.captured) n->args.push_back(c);
    return BoundExprPtr(n);
  }

  // An expression of the enclosing query read inside this subquery: a slot of the outer row.
  BoundExprPtr CaptureOuter(const BoundExprPtr& outer) {
    if (outer_->id < 0) outer_->id = NextCorrelationId();
    std::string key = outer->ToString();
    int slot = -1;
    for (size_t i = 0; i < outer_->keys.size(); ++i) {
      if (outer_->keys[i] == key) slot = static_cast<int>(i);
    }
    if (slot < 0) {
      slot = static_cast<int>(outer_->captured.size());
      outer_->captured.push_back(outer);
      outer_->keys.push_back(key);
    }
    auto r = std::make_shared<BoundExpr>();
    r->kind = BoundKind::kOuterRef;
    r->column = slot;
    r->correlation_id = outer_->id;
    r->type = outer->type;
    r->name = outer->name;
    r->pos = outer->pos;
    return r;
  }

  int NextCorrelationId() {
    if (!o_.next_correlation_id) o_.next_correlation_id = std::make_shared<int>(0);
    return (*o_.next_correlation_id)++;
  }

  Result<BoundExprPtr> Function(const ParsedExpr& e, ExprMode& mode) {
    const std::string& name = e.op;
    bool windowed = e.over || !e.over_name.empty();
    if (windowed) return Window(e, mode);
    if (o_.postgres && IsSetReturning(e)) return SetReturningCall(e, mode);
    // Rewrites into CASE (common type, lazy evaluation).
    if (name == "COALESCE" || name == "IFNULL" || name == "NVL") {
      if (e.args.empty() || (name != "COALESCE" && e.args.size() != 2)) {
        return ErrorAt(e.pos, name + (name == "COALESCE" ? " needs at least one argument" : " takes two arguments"));
      }
      KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
      std::vector<std::pair<BoundExprPtr, BoundExprPtr>> branches;
      for (size_t i = 0; i + 1 < args.size(); ++i) {
        auto isnull = std::make_shared<BoundExpr>();
        isnull->kind = BoundKind::kIsNull;
        isnull->type = DataType::Boolean().NotNull();
        isnull->args = {args[i]};
        KL_ASSIGN_OR_RETURN(auto notnull, Not(isnull));
        branches.push_back({notnull, args[i]});
      }
      KL_ASSIGN_OR_RETURN(auto r, Case(branches, args.back(), e.pos));
      if (r->kind == BoundKind::kCase) r->coalesce = true;
      // Not null when any argument cannot be null.
      bool nullable = true;
      for (auto& a : args) nullable = nullable && (IsUntypedNull(a) || a->type.nullable());
      r->type = r->type.WithNullable(nullable);
      return r;
    }
    if (name == "IF") {
      if (e.args.size() != 3) return ErrorAt(e.pos, "IF takes three arguments: IF(condition, then, else)");
      KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
      KL_RETURN_IF_ERROR(NeedBoolean(args[0], e.args[0]->pos, "IF"));
      return Case({{args[0], args[1]}}, args[2], e.pos);
    }
    if (name == "NULLIF") {
      if (e.args.size() != 2) return ErrorAt(e.pos, "NULLIF takes two arguments");
      KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
      KL_ASSIGN_OR_RETURN(auto eq, Compare("=", args[0], args[1], e.pos));
      auto null = MakeLiteral(format::Datum(), args[0]->type.WithNullable(true));
      return Case({{eq, null}}, args[0], e.pos);
    }
    if (name == "MOD") {
      if (e.args.size() != 2) return ErrorAt(e.pos, "MOD takes two arguments");
      ParsedExpr bin;
      bin.kind = ExprKind::kBinary;
      bin.op = "%";
      bin.pos = e.pos;
      bin.args = e.args;
      return Binary(bin, mode);
    }
    if ((name == "FLOOR" || name == "CEIL" || name == "CEILING") && e.args.size() == 2 &&
        e.args[1]->kind == ExprKind::kLiteral && e.args[1]->name == "time-unit") {
      KL_ASSIGN_OR_RETURN(auto v, Expr(*e.args[0], mode));
      return ScalarCall(name == "FLOOR" ? "DATE_TRUNC" : "__CEIL_TIME", e.pos,
                        {StringLiteral(e.args[1]->value.as_bytes()), v});
    }
    if (const AggregateBinder* agg = o_.functions->FindAggregate(name)) {
      if (!mode.allow_aggregates) {
        return ErrorAt(e.pos, "aggregate function " + name + " is not allowed in " + mode.clause +
                                  (std::string(mode.clause) == "WHERE" ? " (use HAVING)" : ""));
      }
      return Aggregate(e, *agg, mode);
    }
    if (o_.functions->IsWindowOnly(name)) {
      return ErrorAt(e.pos, name + " is a window function: it needs OVER (PARTITION BY ... ORDER BY ...)");
    }
    if (e.distinct || e.filter) return ErrorAt(e.pos, "DISTINCT and FILTER apply to aggregate functions, not " + name);
    if (!e.within_group.empty()) {
      return ErrorAt(e.pos, "ORDER BY and WITHIN GROUP apply to aggregate functions, not " + name);
    }
    const ScalarBinder* binder = o_.functions->FindScalar(name);
    if (binder == nullptr) {
      return ErrorAt(e.pos, "unknown function " + e.name + DidYouMean(name, o_.functions->Names()));
    }
    KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
    for (auto& a : args) {
      if (IsInterval(a)) return ErrorAt(e.pos, "an INTERVAL cannot be a function argument");
    }
    CallSite site = Site(name, e.pos, args);
    KL_ASSIGN_OR_RETURN(BoundFunction f, (*binder)(site));
    return Call(name, e.pos, std::move(args), std::move(f));
  }

  // ORDER BY inside an aggregate's call and WITHIN GROUP: PostgreSQL's, each where it belongs.
  Status CheckOrderedAggregate(const ParsedExpr& e, bool ordered_set) const {
    if (!o_.postgres && ordered_set) {
      return ErrorAt(e.pos, e.op +
                                " is a PostgreSQL ordered-set aggregate; Flink SQL has none (use a PostgreSQL "
                                "session, e.g. psql)");
    }
    if (!o_.postgres) {
      return ErrorAt(e.pos,
                     "ORDER BY inside " + e.op +
                         "(...) and WITHIN GROUP are PostgreSQL syntax; Flink SQL "
                         "aggregates take their rows in no particular order (use a PostgreSQL session, e.g. psql)");
    }
    if (ordered_set && !e.within_group_clause) {
      return ErrorAt(e.pos, e.op + " is an ordered-set aggregate: it needs WITHIN GROUP (ORDER BY ...), e.g. " + e.op +
                                (e.op == "MODE" ? "()" : "(0.5)") + " WITHIN GROUP (ORDER BY x)");
    }
    if (ordered_set && e.within_group.size() != 1) {
      return ErrorAt(e.pos, e.op + " orders by exactly one value, not " + std::to_string(e.within_group.size()));
    }
    if (!ordered_set && e.within_group_clause) {
      return ErrorAt(e.pos, e.op +
                                " is not an ordered-set aggregate, so WITHIN GROUP does not apply; write the "
                                "order inside the call, e.g. " +
                                e.op + "(x ORDER BY y)");
    }
    if (ordered_set && e.distinct) return ErrorAt(e.pos, "DISTINCT is not allowed with " + e.op);
    return Status::OK();
  }

  Result<BoundExprPtr> Aggregate(const ParsedExpr& e, const AggregateBinder& binder, ExprMode& mode) {
    ExprMode plain;
    plain.scope = mode.scope;
    plain.clause = "an aggregate's argument";
    std::vector<BoundExprPtr> args;
    if (!e.star) {
      for (const auto& a : e.args) {
        if (ContainsAggregate(*a, *o_.functions)) return ErrorAt(a->pos, "aggregate functions cannot be nested");
        KL_ASSIGN_OR_RETURN(auto b, Expr(*a, plain));
        if (IsUntypedNull(b)) b = MakeLiteral(format::Datum(), DataType::String());
        args.push_back(b);
      }
    } else if (e.op != "COUNT") {
      return ErrorAt(e.pos, e.op + "(*) is not allowed; only COUNT(*)");
    }
    if (e.op == "COUNT" && !e.star && args.empty()) return ErrorAt(e.pos, "COUNT needs an argument or *");
    // The order the rows reach the aggregate in: keys after the arguments.
    bool ordered_set = IsOrderedSetAggregate(e.op);
    size_t direct_args = args.size();
    std::vector<AggregateOrderKey> order;
    if (!e.within_group.empty() || ordered_set) {
      KL_RETURN_IF_ERROR(CheckOrderedAggregate(e, ordered_set));
      for (const auto& item : e.within_group) {
        if (ContainsAggregate(*item.expr, *o_.functions))
          return ErrorAt(item.expr->pos, "aggregate functions cannot be nested");
        KL_ASSIGN_OR_RETURN(auto key, Expr(*item.expr, plain));
        if (IsUntypedNull(key)) key = MakeLiteral(format::Datum(), DataType::String());
        if (e.distinct) {
          bool among_args = false;
          for (const auto& a : args) among_args = among_args || a->ToString() == key->ToString();
          if (!among_args) {
            return ErrorAt(item.expr->pos,
                           "in an aggregate with DISTINCT, the ORDER BY expressions must be among "
                           "its arguments");
          }
        }
        order.push_back({args.size(), item.descending, item.nulls_first.value_or(NullsFirst(item.descending))});
        args.push_back(key);
      }
    }
    CallSite site =
        Site(e.op, e.pos,
             ordered_set ? args
                         : std::vector<BoundExprPtr>(args.begin(), args.begin() + static_cast<ptrdiff_t>(direct_args)));
    KL_ASSIGN_OR_RETURN(BoundAggregate agg, binder(site));
    for (size_t i = 0; i < args.size() && i < agg.arg_types.size(); ++i) {
      KL_ASSIGN_OR_RETURN(args[i], CastTo(args[i], agg.arg_types[i].WithNullable(true), e.pos));
    }
    BoundExprPtr filter;
    if (e.filter) {
      KL_ASSIGN_OR_RETURN(filter, Expr(*e.filter, plain));
      KL_RETURN_IF_ERROR(NeedBoolean(filter, e.filter->pos, "FILTER"));
    }
    if (e.distinct) {
      auto make = agg.make;
      agg.make = [make] { return MakeDistinct(make()); };
    }
    size_t inner_args = ordered_set ? args.size() : direct_args;
    if (!order.empty()) {
      auto make = agg.make;
      agg.make = [make, inner_args, order] { return MakeOrdered(make(), inner_args, order); };
    }
    // The same aggregate twice is computed once.
    std::string key = e.op + (e.distinct ? " DISTINCT" : "") + "(";
    for (const auto& a : args) key += a->ToString() + ",";
    key += ")" + (filter ? filter->ToString() : "");
    for (const auto& k : order)
      key += " ORDER " + std::to_string(k.column) + (k.descending ? "D" : "A") + (k.nulls_first ? "F" : "L");
    for (size_t i = 0; i < mode.aggregates->size(); ++i) {
      if (agg_keys_[mode.aggregates][i] == key) {
        return MakeColumn(static_cast<int>(mode.num_groups + i), (*mode.aggregates)[i].type, e.op);
      }
    }
    AggregateCall call;
    call.name = e.op;
    call.aggregate = agg;
    call.args = args;
    call.distinct = e.distinct;
    call.filter = filter;
    call.type = agg.return_type;
    mode.aggregates->push_back(call);
    agg_keys_[mode.aggregates].push_back(key);
    return MakeColumn(static_cast<int>(mode.num_groups + mode.aggregates->size() - 1), call.type, e.op);
  }

  Result<BoundExprPtr> Window(const ParsedExpr& e, ExprMode& mode) {
    if (!e.within_group.empty()) {
      return ErrorAt(e.pos, "an ordered aggregate (" + e.op +
                                " with ORDER BY or WITHIN GROUP) cannot be a window "
                                "function; the window's own ORDER BY orders its rows");
    }
    if (!mode.allow_windows)
      return ErrorAt(e.pos, "window functions (OVER) are not allowed in " + std::string(mode.clause));
    std::shared_ptr<WindowSpec> spec = e.over;
    if (!spec) return ErrorAt(e.pos, "named windows (OVER " + e.over_name + ") are not supported; write OVER (...)");
    // Arguments, partitions and order are over the input of the window (the aggregate's output when grouped).
    ExprMode inner = mode;
    inner.allow_windows = false;
    inner.allow_aggregates = mode.aggregated;
    inner.clause = "a window function";
    WindowCall w;
    w.name = e.op;
    const std::string& n = e.op;
    if (n == "ROW_NUMBER")
      w.kind = WindowFunctionKind::kRowNumber;
    else if (n == "RANK")
      w.kind = WindowFunctionKind::kRank;
    else if (n == "DENSE_RANK")
      w.kind = WindowFunctionKind::kDenseRank;
    else if (n == "PERCENT_RANK")
      w.kind = WindowFunctionKind::kPercentRank;
    else if (n == "CUME_DIST")
      w.kind = WindowFunctionKind::kCumeDist;
    else if (n == "NTILE")
      w.kind = WindowFunctionKind::kNtile;
    else if (n == "LAG")
      w.kind = WindowFunctionKind::kLag;
    else if (n == "LEAD")
      w.kind = WindowFunctionKind::kLead;
    else if (n == "NTH_VALUE")
      w.kind = WindowFunctionKind::kNthValue;
    else if (n == "FIRST_VALUE")
      w.kind = WindowFunctionKind::kFirstValue;
    else if (n == "LAST_VALUE")
      w.kind = WindowFunctionKind::kLastValue;
    else if (o_.functions->FindAggregate(n) != nullptr)
      w.kind = WindowFunctionKind::kAggregate;
    else
      return ErrorAt(e.pos, "unknown window function " + n + DidYouMean(n, o_.functions->Names()));
    for (const auto& p : spec->partition_by) {
      KL_ASSIGN_OR_RETURN(auto b, Expr(*p, inner));
      w.partition_by.push_back(b);
    }
    for (const auto& o : spec->order_by) {
      KL_ASSIGN_OR_RETURN(auto b, Expr(*o.expr, inner));
      w.order_by.push_back({b, o.descending, o.nulls_first.value_or(NullsFirst(o.descending))});
    }
    w.has_order = !w.order_by.empty();
    std::vector<BoundExprPtr> args;
    if (!e.star) {
      for (const auto& a : e.args) {
        KL_ASSIGN_OR_RETURN(auto b, Expr(*a, inner));
        if (IsUntypedNull(b)) b = MakeLiteral(format::Datum(), DataType::String());
        args.push_back(b);
      }
    }
    auto need_order = [&]() -> Status {
      if (!w.has_order) return ErrorAt(e.pos, n + " needs ORDER BY in its OVER clause");
      return Status::OK();
    };
    auto int_arg = [&](size_t i, const char* what) -> Result<int64_t> {
      if (i >= args.size() || args[i]->kind != BoundKind::kLiteral || !IsIntegral(args[i]->type) ||
          args[i]->value.is_null()) {
        return ErrorAt(e.pos, std::string("the ") + what + " of " + n + " must be a constant integer");
      }
      if (args[i]->param > 0) ValueDependent();
      return args[i]->value.as_int();
    };
    switch (w.kind) {
      case WindowFunctionKind::kRowNumber:
      case WindowFunctionKind::kRank:
      case WindowFunctionKind::kDenseRank:
        if (!args.empty()) return ErrorAt(e.pos, n + "() takes no arguments");
        if (w.kind != WindowFunctionKind::kRowNumber) KL_RETURN_IF_ERROR(need_order());
        w.type = DataType::BigInt().NotNull();
        break;
      case WindowFunctionKind::kPercentRank:
      case WindowFunctionKind::kCumeDist:
        KL_RETURN_IF_ERROR(need_order());
        w.type = DataType::Double().NotNull();
        break;
      case WindowFunctionKind::kNtile: {
        KL_RETURN_IF_ERROR(need_order());
        KL_ASSIGN_OR_RETURN(w.offset, int_arg(0, "bucket count"));
        if (w.offset < 1 || w.offset > (int64_t{1} << 40))
          return ErrorAt(e.pos, "NTILE needs a positive number of buckets");
        w.type = DataType::BigInt().NotNull();
        args.clear();
        break;
      }
      case WindowFunctionKind::kLag:
      case WindowFunctionKind::kLead: {
        KL_RETURN_IF_ERROR(need_order());
        if (args.empty() || args.size() > 3) return ErrorAt(e.pos, n + "(value[, offset[, default]])");
        if (args.size() >= 2) {
          KL_ASSIGN_OR_RETURN(w.offset, int_arg(1, "offset"));
          if (w.offset < 0 || w.offset > (int64_t{1} << 40))
            return ErrorAt(e.pos, "the offset of " + n + " must be between 0 and 2^40");
        }
        w.type = args[0]->type.WithNullable(true);
        if (args.size() == 3) {
          KL_ASSIGN_OR_RETURN(w.default_value, CastTo(args[2], w.type, e.pos));
        }
        args.resize(1);
        break;
      }
      case WindowFunctionKind::kNthValue: {
        if (args.size() != 2) return ErrorAt(e.pos, "NTH_VALUE(value, n)");
        KL_ASSIGN_OR_RETURN(w.offset, int_arg(1, "position"));
        if (w.offset < 1 || w.offset > (int64_t{1} << 40))
          return ErrorAt(e.pos, "NTH_VALUE counts from 1 (up to 2^40)");
        w.type = args[0]->type.WithNullable(true);
        args.resize(1);
        break;
      }
      case WindowFunctionKind::kFirstValue:
      case WindowFunctionKind::kLastValue:
        if (args.size() != 1) return ErrorAt(e.pos, n + " takes one argument");
        w.type = args[0]->type.WithNullable(true);
        break;
      case WindowFunctionKind::kAggregate: {
        CallSite site = Site(n, e.pos, args);
        KL_ASSIGN_OR_RETURN(w.aggregate, (*o_.functions->FindAggregate(n))(site));
        for (size_t i = 0; i < args.size() && i < w.aggregate.arg_types.size(); ++i) {
          KL_ASSIGN_OR_RETURN(args[i], CastTo(args[i], w.aggregate.arg_types[i].WithNullable(true), e.pos));
        }
        if (e.distinct) {
          auto make = w.aggregate.make;
          w.aggregate.make = [make] { return MakeDistinct(make()); };
          w.distinct = true;
        }
        w.type = w.aggregate.return_type;
        break;
      }
    }
    w.ignore_nulls = e.name == "ignore-nulls";
    w.args = args;
    // Frame: as written, else RANGE UNBOUNDED PRECEDING .. CURRENT ROW with ORDER BY, the whole partition without.
    if (spec->frame) {
      w.frame = *spec->frame;
      if (w.frame.unit == FrameUnit::kRange &&
          (w.frame.start.kind == FrameBoundKind::kPreceding || w.frame.start.kind == FrameBoundKind::kFollowing ||
           w.frame.end.kind == FrameBoundKind::kPreceding || w.frame.end.kind == FrameBoundKind::kFollowing)) {
        return ErrorAt(spec->pos, "RANGE frames with offsets are not supported; use ROWS");
      }
    } else if (w.has_order) {
      w.frame =
          WindowFrame{FrameUnit::kRange, {FrameBoundKind::kUnboundedPreceding, 0}, {FrameBoundKind::kCurrentRow, 0}};
    } else {
      w.frame = WindowFrame{
          FrameUnit::kRows, {FrameBoundKind::kUnboundedPreceding, 0}, {FrameBoundKind::kUnboundedFollowing, 0}};
    }
    mode.windows->push_back(w);
    return MakeColumn(kWindowBase + static_cast<int>(mode.windows->size() - 1), w.type, n);
  }

  // ---- PostgreSQL sessions ----

  // PostgreSQL orders NULLs as larger than every value (last ascending, first descending);
  // Flink as smaller.
  bool NullsFirst(bool descending) const { return o_.postgres ? descending : !descending; }

  // An untyped NULL (or parameter whose type is still open) given type `t` by where it is used.
  BoundExprPtr TypedNull(const BoundExprPtr& e, const DataType& t) {
    if (e->param > 0) NoteParameter(e->param, t);
    auto n = MakeLiteral(format::Datum(), t.WithNullable(true));
    n->param = e->param;
    n->pos = e->pos;
    return n;
  }

  void NoteParameter(int param, const DataType& t) {
    if (o_.parameter_types == nullptr || param < 1) return;
    auto& types = *o_.parameter_types;
    if (types.size() < static_cast<size_t>(param)) types.resize(param);
    if (!types[param - 1]) types[param - 1] = t.WithNullable(true);
  }

  // A string literal where PostgreSQL reads it as the other side's type: an array ('{1,2}').
  Status PostgresLiteralCoercion(BoundExprPtr* a, BoundExprPtr* b, SourcePos pos) {
    auto text_literal = [](const BoundExprPtr& e) { return e->kind == BoundKind::kLiteral && IsStringType(e->type); };
    if (text_literal(*a) && (*b)->type.root() == TypeRoot::kArray) {
      KL_ASSIGN_OR_RETURN(*a, ArrayLiteral(*a, (*b)->type, pos));
    } else if (text_literal(*b) && (*a)->type.root() == TypeRoot::kArray) {
      KL_ASSIGN_OR_RETURN(*b, ArrayLiteral(*b, (*a)->type, pos));
    }
    return Status::OK();
  }

  // PostgreSQL's array text ('{a,"b c",NULL}') as an array literal of `type`.
  Result<BoundExprPtr> ArrayLiteral(const BoundExprPtr& text, const DataType& type, SourcePos pos) {
    if (text->param > 0) ValueDependent();
    if (text->value.is_null()) return MakeLiteral(format::Datum(), type.WithNullable(true));
    const std::string& s = text->value.as_bytes();
    format::DatumList items;
    KL_RETURN_IF_ERROR(ForEachArrayTextElement(
        s,
        [&](std::optional<std::string_view> element) -> Status {
          if (!element) {
            items.emplace_back();
            return Status::OK();
          }
          auto d = CastValue(*o_.exec, format::Datum::Bytes(std::string(*element)), DataType::String(), type.element());
          if (!d.ok()) return ErrorAt(pos, "malformed array literal: \"" + s + "\": " + d.status().message());
          items.push_back(*d);
          return Status::OK();
        },
        [&](ArrayTextError error) {
          switch (error) {
            case ArrayTextError::kNotBraced:
              return ErrorAt(pos, "malformed array literal: \"" + s + "\" (an array is written '{a,b,c}')");
            case ArrayTextError::kNested:
              return ErrorAt(pos, "multidimensional array literals are not supported: \"" + s + "\"");
            case ArrayTextError::kUnterminatedQuote: break;
          }
          return ErrorAt(pos, "malformed array literal: \"" + s + "\" (unterminated quote)");
        }));
    auto lit = MakeLiteral(format::Datum::List(std::move(items)), type.NotNull());
    lit->pos = pos;
    return lit;
  }

  // a || b: text with any value, or arrays with arrays and elements.
  Result<BoundExprPtr> PostgresConcat(BoundExprPtr a, BoundExprPtr b, SourcePos pos) {
    bool aa = a->type.root() == TypeRoot::kArray, ba = b->type.root() == TypeRoot::kArray;
    if (aa || ba) {
      if (IsUntypedNull(a)) a = TypedNull(a, b->type);
      if (IsUntypedNull(b)) b = TypedNull(b, a->type);
      aa = a->type.root() == TypeRoot::kArray;
      ba = b->type.root() == TypeRoot::kArray;
      DataType ea = aa ? a->type.element() : a->type, eb = ba ? b->type.element() : b->type;
      if (!aa && a->kind == BoundKind::kLiteral && IsStringType(a->type)) {
        KL_ASSIGN_OR_RETURN(a, ArrayLiteral(a, b->type, pos));
        aa = true;
        ea = b->type.element();
      }
      if (!ba && b->kind == BoundKind::kLiteral && IsStringType(b->type)) {
        KL_ASSIGN_OR_RETURN(b, ArrayLiteral(b, a->type, pos));
        ba = true;
        eb = a->type.element();
      }
      auto common = CommonType(ea, eb);
      if (!common.ok()) return ErrorAt(pos, "||: " + common.status().message());
      DataType elem = common->WithNullable(true);
      KL_ASSIGN_OR_RETURN(a, CastTo(a, aa ? DataType::Array(elem) : elem, pos));
      KL_ASSIGN_OR_RETURN(b, CastTo(b, ba ? DataType::Array(elem) : elem, pos));
      BoundFunction f;
      f.return_type = DataType::Array(elem);
      f.kernel = RowKernel(
          [aa, ba](ExecContext&, const format::Datum* v, format::Datum* o) {
            if ((aa && v[0].is_null()) && (ba && v[1].is_null())) {
              *o = format::Datum();
              return Status::OK();
            }
            format::DatumList out;
            if (aa) {
              if (!v[0].is_null()) out = v[0].as_list();
            } else {
              out.push_back(v[0]);
            }
            if (ba) {
              if (!v[1].is_null()) out.insert(out.end(), v[1].as_list().begin(), v[1].as_list().end());
            } else {
              out.push_back(v[1]);
            }
            *o = format::Datum::List(std::move(out));
            return Status::OK();
          },
          true);
      return Call("||", pos, {a, b}, f);
    }
    for (auto* x : {&a, &b}) {
      if (IsUntypedNull(*x)) *x = TypedNull(*x, DataType::String());
      if (!IsStringType((*x)->type)) {
        KL_ASSIGN_OR_RETURN(*x, CastTo(*x, DataType::String(), pos, true));
      }
    }
    return Call("||", pos, {a, b}, BindConcat(2));
  }

  // a ~ b, a ~* b (case-insensitive), a !~ b, a !~* b: regular-expression matches.
  Result<BoundExprPtr> RegexMatch(const std::string& op, BoundExprPtr a, BoundExprPtr b, SourcePos pos) {
    for (auto* x : {&a, &b}) {
      if (IsUntypedNull(*x)) *x = TypedNull(*x, DataType::String());
      if (!IsStringType((*x)->type)) {
        return ErrorAt(pos, "operator does not exist: " + TypeName((*x)->type.WithNullable(true)) + " " + op +
                                " (regular expressions match text)");
      }
    }
    std::vector<BoundExprPtr> args = {a, b};
    if (op.back() == '*') args.push_back(StringLiteral("i"));
    KL_ASSIGN_OR_RETURN(auto match, ScalarCall("REGEXP_LIKE", pos, args));
    if (op[0] == '!') return Not(match);
    return match;
  }

  // x op ANY|ALL (array) and = ANY / <> ALL (subquery).
  Result<BoundExprPtr> Quantified(const ParsedExpr& e, ExprMode& mode) {
    bool any = e.name == "ANY";
    if (e.subquery) {
      if (!((e.op == "=" && any) || (e.op == "<>" && !any))) {
        return ErrorAt(
            e.pos, e.op + " " + e.name + " (subquery) is not supported; = ANY (subquery) and <> ALL (subquery) are");
      }
      ParsedExpr in = e;
      in.kind = ExprKind::kInSubquery;
      in.negated = !any;
      return Subquery(in, mode);
    }
    KL_ASSIGN_OR_RETURN(auto v, Expr(*e.args[0], mode));
    KL_ASSIGN_OR_RETURN(auto arr, Expr(*e.args[1], mode));
    if (IsUntypedNull(arr)) {
      if (IsUntypedNull(v)) return MakeLiteral(format::Datum(), DataType::Boolean());
      arr = TypedNull(arr, DataType::Array(v->type));
    }
    if (arr->kind == BoundKind::kLiteral && IsStringType(arr->type)) {
      DataType elem = IsUntypedNull(v) ? DataType::String() : v->type;
      KL_ASSIGN_OR_RETURN(arr, ArrayLiteral(arr, DataType::Array(elem), e.args[1]->pos));
    }
    if (arr->type.root() != TypeRoot::kArray) {
      return ErrorAt(e.args[1]->pos, e.op + " " + e.name + "(...) needs an array, not " + TypeName(arr->type));
    }
    DataType elem = arr->type.element();
    if (IsUntypedNull(v)) v = TypedNull(v, elem);
    DataType common = elem;
    if (!v->type.EqualsIgnoreNullable(elem)) {
      auto c = CommonType(v->type, elem);
      if (!c.ok()) {
        return ErrorAt(e.pos, e.op + " " + e.name + ": cannot compare " + TypeName(v->type.WithNullable(true)) +
                                  " with elements of " + TypeName(arr->type.WithNullable(true)));
      }
      common = *c;
    }
    KL_ASSIGN_OR_RETURN(v, CastTo(v, common.WithNullable(true), e.pos));
    KL_ASSIGN_OR_RETURN(BoundFunction cmp, BindComparison(e.op, common.WithNullable(true)));
    (void)cmp;  // validates the operator for the type
    std::string op = e.op;
    DataType elem_type = elem.WithNullable(true), target = common.WithNullable(true);
    bool convert = !elem.EqualsIgnoreNullable(common);
    // Intervals compare by length: '1 day' = '24 hours' (their keys differ).
    bool by_length = common.root() == TypeRoot::kInterval;
    BoundFunction f;
    f.return_type = DataType::Boolean();
    f.kernel = RowKernel(
        [any, op, elem_type, target, convert, by_length](ExecContext& ctx, const format::Datum* a,
                                                         format::Datum* o) -> Status {
          if (a[1].is_null()) {
            *o = format::Datum();
            return Status::OK();
          }
          const auto& items = a[1].as_list();
          bool saw_null = a[0].is_null() && !items.empty();
          for (const auto& item : items) {
            if (item.is_null() || a[0].is_null()) {
              saw_null = true;
              continue;
            }
            format::Datum x = item;
            if (convert) {
              KL_ASSIGN_OR_RETURN(x, CastValue(ctx, item, elem_type, target));
            }
            int c = 0;
            if (by_length) {
              format::Int128 l = IntervalLength(IntervalFromKey(a[0].as_decimal()));
              format::Int128 r = IntervalLength(IntervalFromKey(x.as_decimal()));
              c = l < r ? -1 : l > r ? 1 : 0;
            } else {
              c = format::CompareDatum(a[0], x);
            }
            bool t = op == "="    ? c == 0
                     : op == "<>" ? c != 0
                     : op == "<"  ? c < 0
                     : op == "<=" ? c <= 0
                     : op == ">"  ? c > 0
                                  : c >= 0;
            if (any && t) {
              *o = format::Datum::Bool(true);
              return Status::OK();
            }
            if (!any && !t) {
              *o = format::Datum::Bool(false);
              return Status::OK();
            }
          }
          *o = saw_null ? format::Datum() : format::Datum::Bool(!any);
          return Status::OK();
        },
        true);
    return Call(e.op + " " + e.name, e.pos, {v, arr}, f);
  }

  // x::regclass, x::regtype, ... (catalog look-ups the server provides) and x::numeric.
  Result<BoundExprPtr> PostgresConversion(const ParsedExpr& e, BoundExprPtr a) {
    const std::string& conv = e.op;
    if (conv == "numeric") {
      DataType t = DataType::Decimal(38, 10);
      if (IsIntegral(a->type)) {
        t = DataType::Decimal(38, 0);
      } else if (a->type.root() == TypeRoot::kDecimal) {
        t = DataType::Decimal(38, a->type.scale());
      } else if (a->kind == BoundKind::kLiteral && IsStringType(a->type) && !a->value.is_null()) {
        if (a->param > 0) ValueDependent();  // the scale comes from the text
        std::string_view v = Trim(a->value.as_bytes());
        size_t dot = v.find('.');
        size_t digits = 0;
        if (dot != std::string_view::npos) {
          while (dot + 1 + digits < v.size() && std::isdigit(static_cast<unsigned char>(v[dot + 1 + digits]))) ++digits;
        }
        t = DataType::Decimal(38, static_cast<int>(std::min<size_t>(digits, 30)));
      }
      return CastTo(a, t.WithNullable(true), e.pos, true, e.try_cast);
    }
    if (IsUntypedNull(a) && a->param > 0) a = TypedNull(a, DataType::String());  // $1::regclass takes a name
    if (IsUntypedNull(a)) return TypedNull(a, DataType::BigInt());
    std::string upper = ToUpper(conv);
    bool to_oid = IsStringType(a->type);
    if (!to_oid && !IsIntegral(a->type)) {
      return ErrorAt(e.pos, "cannot cast " + TypeName(a->type.WithNullable(true)) + " to " + conv);
    }
    std::string fn = "__PG_" + upper + (to_oid ? "_IN" : "_OUT");
    if (o_.functions->FindScalar(fn) == nullptr) {
      return ErrorAt(e.pos, "type " + conv + " is known only to sessions of the PostgreSQL server");
    }
    return ScalarCall(fn, e.pos, {a});
  }

  // The result column name PostgreSQL gives an expression without an alias.
  static std::string PostgresColumnName(const ParsedExpr& e) {
    switch (e.kind) {
      case ExprKind::kColumn:
      case ExprKind::kField: return e.name;
      case ExprKind::kFunction: return ToLower(e.op);
      case ExprKind::kCast:
        if (e.name == "typed-literal" || !e.op.empty()) {
          if (!e.op.empty()) return e.op;
        }
        if (e.args[0]->kind == ExprKind::kColumn || e.args[0]->kind == ExprKind::kFunction ||
            e.args[0]->kind == ExprKind::kCast || e.args[0]->kind == ExprKind::kField) {
          return PostgresColumnName(*e.args[0]);
        }
        return PostgresTypeNameOf(e.type);
      case ExprKind::kCase: return "case";
      case ExprKind::kArrayCtor:
      case ExprKind::kArraySubquery: return "array";
      case ExprKind::kExists: return "exists";
      case ExprKind::kRowCtor: return "row";
      case ExprKind::kTrim: return e.op == "LEADING" ? "ltrim" : e.op == "TRAILING" ? "rtrim" : "btrim";
      case ExprKind::kSubstring: return "substring";
      case ExprKind::kPosition: return "position";
      case ExprKind::kExtract: return "extract";
      case ExprKind::kScalarSubquery: {
        const Query& q = *e.subquery;
        if (q.body && q.body->select && q.body->select->items.size() == 1) {
          const SelectItem& item = q.body->select->items[0];
          return item.alias.empty() ? PostgresColumnName(*item.expr) : item.alias;
        }
        return "?column?";
      }
      default: return "?column?";
    }
  }

  static std::string PostgresTypeNameOf(const DataType& t) {
    switch (t.root()) {
      case TypeRoot::kBoolean: return "bool";
      case TypeRoot::kTinyInt:
      case TypeRoot::kSmallInt: return "int2";
      case TypeRoot::kInt: return "int4";
      case TypeRoot::kBigInt: return "int8";
      case TypeRoot::kFloat: return "float4";
      case TypeRoot::kDouble: return "float8";
      case TypeRoot::kDecimal: return "numeric";
      case TypeRoot::kDate: return "date";
      case TypeRoot::kTime: return "time";
      case TypeRoot::kTimestamp: return "timestamp";
      case TypeRoot::kTimestampLtz: return "timestamptz";
      case TypeRoot::kInterval: return "interval";
      case TypeRoot::kChar: return "bpchar";
      case TypeRoot::kVarChar: return t.length() == DataType::kMaxLength ? "text" : "varchar";
      case TypeRoot::kBinary:
      case TypeRoot::kVarBinary: return "bytea";
      default: return "?column?";
    }
  }

  // ---- functions in FROM and set-returning functions in the select list ----

  static bool IsSetReturningName(const std::string& upper) {
    return upper == "UNNEST" || upper == "GENERATE_SERIES" || upper == "GENERATE_SUBSCRIPTS" ||
           upper == "_PG_EXPANDARRAY";
  }
  static bool IsSetReturning(const ParsedExpr& e) {
    return e.kind == ExprKind::kFunction && !e.over && e.over_name.empty() && IsSetReturningName(e.op);
  }

  // The array a set-returning call walks: unnest(a) / generate_subscripts(a, 1) / _pg_expandarray(a)
  // walk a; generate_series(start, stop[, step]) walks the series as an array.
  Result<BoundExprPtr> SetReturningArray(const ParsedExpr& e, ExprMode& mode) {
    if (e.op == "GENERATE_SERIES") {
      if (e.args.size() < 2 || e.args.size() > 3) {
        return ErrorAt(e.pos, "generate_series(start, stop[, step]) takes two or three arguments");
      }
      KL_ASSIGN_OR_RETURN(auto args, Args(e.args, mode));
      for (size_t i = 0; i < 2; ++i) {
        if (args[i]->type.root() == TypeRoot::kInterval)
          return ErrorAt(e.args[i]->pos, "generate_series starts and stops at values, not intervals");
      }
      if (args.size() == 3 && args[2]->type.root() == TypeRoot::kInterval) {
        return ScalarCall("__TIME_SERIES", e.pos, args);
      }
      if (IsTemporal(args[0]->type) || IsTemporal(args[1]->type)) {
        return ErrorAt(e.pos,
                       "generate_series over dates or timestamps needs an interval step, e.g. "
                       "generate_series(start, stop, interval '1 hour')");
      }
      return ScalarCall("__SERIES", e.pos, args);
    }
    size_t want = e.op == "GENERATE_SUBSCRIPTS" ? 2 : 1;
    if (e.args.size() != want) {
      return ErrorAt(e.pos, ToLower(e.op) + " takes " + std::to_string(want) + " argument" + (want == 1 ? "" : "s"));
    }
    KL_ASSIGN_OR_RETURN(auto a, Expr(*e.args[0], mode));
    if (IsUntypedNull(a)) a = TypedNull(a, DataType::Array(DataType::String()));
    if (a->kind == BoundKind::kLiteral && IsStringType(a->type)) {
      KL_ASSIGN_OR_RETURN(a, ArrayLiteral(a, DataType::Array(DataType::String()), e.pos));
    }
    if (a->type.root() != TypeRoot::kArray) {
      return ErrorAt(e.pos, ToLower(e.op) + " needs an array, not " + TypeName(a->type.WithNullable(true)));
    }
    return a;
  }

  struct SrfState {
    std::string key;  // the walked array's bound text
    int value_column = -1, ordinality_column = -1;
    DataType element;
  };

  // Plans the select list's set-returning calls (all over one array) as an UNNEST of the rows
  // so far; false when there are none.
  Result<bool> PlanSelectListSrf(const struct SelectCore& s, LogicalOpPtr* plan, Scope* scope, SrfState* srf) {
    std::vector<const ParsedExpr*> calls;
    std::function<void(const ParsedExpr&)> find = [&](const ParsedExpr& e) {
      if (IsSetReturning(e)) {
        calls.push_back(&e);
        return;
      }
      for (const auto& a : e.args) {
        if (a) find(*a);
      }
    };
    for (const auto& item : s.items) find(*item.expr);
    if (calls.empty()) return false;
    ExprMode plain;
    plain.scope = scope;
    plain.clause = "a set-returning function";
    BoundExprPtr array;
    for (const ParsedExpr* c : calls) {
      KL_ASSIGN_OR_RETURN(auto a, SetReturningArray(*c, plain));
      if (!array) {
        array = a;
      } else if (a->ToString() != array->ToString()) {
        return ErrorAt(c->pos, "set-returning functions over different arrays in one select list are not supported");
      }
    }
    auto op = std::make_shared<LogicalOp>();
    op->kind = OpKind::kUnnest;
    op->children = {*plan};
    op->unnest_expr = array;
    op->with_ordinality = true;
    op->unnest_row_as_value = true;
    std::vector<DataField> fields = (*plan)->schema.fields();
    srf->element = array->type.element().WithNullable(true);
    srf->key = array->ToString();
    srf->value_column = static_cast<int>(fields.size());
    fields.push_back({static_cast<int32_t>(fields.size()), "$srf", srf->element, ""});
    srf->ordinality_column = static_cast<int>(fields.size());
    fields.push_back({static_cast<int32_t>(fields.size()), "$srf_ordinality", DataType::Int().NotNull(), ""});
    op->schema = RowType(fields);
    scope->columns.push_back({"$srf", {}, "$srf", srf->element, true});
    scope->columns.push_back({"$srf", {}, "$srf_ordinality", DataType::Int().NotNull(), true});
    *plan = op;
    return true;
  }

  // A set-returning call in the select list: the element (or its position) of the row's walk.
  Result<BoundExprPtr> SetReturningCall(const ParsedExpr& e, ExprMode& mode) {
    if (srf_ == nullptr) {
      return ErrorAt(e.pos, ToLower(e.op) + " returns a set: call it in the select list or in FROM");
    }
    ExprMode plain;
    plain.scope = mode.scope;
    plain.clause = mode.clause;
    KL_ASSIGN_OR_RETURN(auto a, SetReturningArray(e, plain));
    if (a->ToString() != srf_->key) {
      return ErrorAt(e.pos, "set-returning functions over different arrays in one select list are not supported");
    }
    auto value = MakeColumn(srf_->value_column, srf_->element, "unnest");
    auto ordinality = MakeColumn(srf_->ordinality_column, DataType::Int().NotNull(), "ordinality");
    if (e.op == "UNNEST" || e.op == "GENERATE_SERIES") return value;
    if (e.op == "GENERATE_SUBSCRIPTS") return ordinality;
    // _pg_expandarray: ROW(x, n)
    BoundFunction f;
    f.return_type = DataType::Row({{0, "x", srf_->element, ""}, {1, "n", DataType::Int(), ""}}).NotNull();
    f.kernel = RowKernel(
        [](ExecContext&, const format::Datum* a, format::Datum* o) {
          *o = format::Datum::List(format::DatumList(a, a + 2));
          return Status::OK();
        },
        true);
    auto r = Call("_pg_expandarray", e.pos, {value, ordinality}, f);
    if (r.ok()) (*r)->type = f.return_type;
    return r;
  }

  // FROM generate_series(...) / generate_subscripts(...) / _pg_expandarray(...) / any scalar
  // function (one row), named by the alias as PostgreSQL names them.
  Result<FromResult> TableFunctionRef(const ParsedTableRef& ref) {
    std::string name = ToUpper(ref.name.parts.empty() ? "" : ref.name.parts.back());
    auto one = std::make_shared<LogicalOp>();
    one->kind = OpKind::kValues;
    one->rows = {format::Row{}};
    FromResult base{one, Scope{}};
    ExprMode mode;
    mode.scope = &base.scope;
    mode.clause = "FROM";
    ParsedExpr call;
    call.kind = ExprKind::kFunction;
    call.op = name;
    call.name = name;
    call.pos = ref.pos;
    call.args = ref.args;
    if (name == "GENERATE_SERIES" || name == "GENERATE_SUBSCRIPTS" || name == "_PG_EXPANDARRAY") {
      KL_ASSIGN_OR_RETURN(auto array, SetReturningArray(call, mode));
      if (name == "GENERATE_SUBSCRIPTS") {
        KL_ASSIGN_OR_RETURN(array, ScalarCall("__SUBSCRIPTS", ref.pos, {array}));
      }
      ParsedTableRef u = ref;
      std::vector<std::string> names;
      if (name == "_PG_EXPANDARRAY") {
        u.with_ordinality = true;
        names = {"x", "n"};
      } else {
        names = {ref.alias.empty() ? ToLower(name) : ref.alias, "ordinality"};
      }
      return Unnest(base, u, false, array, names);
    }
    KL_ASSIGN_OR_RETURN(auto e, Function(call, mode));
    auto proj = std::make_shared<LogicalOp>();
    proj->kind = OpKind::kProject;
    proj->children = {one};
    proj->exprs = {e};
    std::string column = !ref.column_aliases.empty() ? ref.column_aliases[0]
                         : !ref.alias.empty()        ? ref.alias
                                                     : ToLower(name);
    proj->schema = RowType({{0, column, e->type, ""}});
    return FromResult{proj, ScopeOf(*proj, ref.alias.empty() ? ToLower(name) : ref.alias)};
  }

  // A query enclosing a subquery being bound: where the subquery's outer references resolve.
  struct OuterFrame {
    Binder* binder = nullptr;
    ExprMode* mode = nullptr;  // the mode of the expression that holds the subquery
    int id = -1;               // correlation id, given on the first outer reference
    std::vector<BoundExprPtr> captured;
    std::vector<std::string> keys;
  };

  BindOptions o_;
  OuterFrame* outer_ = nullptr;
  SrfState* srf_ = nullptr;  // the select list's set-returning walk being bound
  std::vector<std::pair<std::string, const CommonTableExpr*>> ctes_;
  std::map<const void*, std::vector<std::string>> agg_keys_;
  int depth_ = 0;
  int expr_depth_ = 0;
};

}  // namespace

Result<std::shared_ptr<table::Table>> NameResolver::ResolvePaimonTable(const QualifiedName& name,
                                                                       const ReadOptions& read) {
  KL_ASSIGN_OR_RETURN(std::shared_ptr<CatalogObject> object, ResolveTable(name, read));
  if (object->kind != ObjectKind::kTable) return std::shared_ptr<table::Table>();
  return object->paimon;
}

Result<LogicalOpPtr> BindQuery(const Query& query, const BindOptions& options) {
  Binder b(options);
  return b.Query_(query);
}

Result<format::Datum> BindConstant(const ParsedExpr& expr, const BindOptions& options, format::DataType* type) {
  Binder b(options);
  KL_ASSIGN_OR_RETURN(auto e, b.Constant(expr));
  *type = e->type;
  auto v = b.Evaluate(*e);
  if (!v.ok()) return ErrorAt(expr.pos, v.status().message());
  return v;
}

}  // namespace kl::sql
