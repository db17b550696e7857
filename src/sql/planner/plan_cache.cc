#include "sql/planner/plan_cache.h"

#include <algorithm>

#include "sql/execution/executor.h"
#include "sql/planner/optimizer.h"

namespace kl::sql {

namespace {

class Substitution {
 public:
  explicit Substitution(const std::vector<format::Datum>& values) : values_(values) {}

  // A copy of `e` with its parameters' values; `e` itself when it has none.
  Result<BoundExprPtr> Expr(const BoundExprPtr& e) {
    if (!e) return e;
    if (e->kind == BoundKind::kLiteral) {
      if (e->param <= 0) return e;
      if (static_cast<size_t>(e->param) > values_.size()) {
        return Status::InvalidArgument("no value given for parameter $" + std::to_string(e->param));
      }
      auto lit = std::make_shared<BoundExpr>(*e);
      lit->value = values_[e->param - 1];
      return lit;
    }
    BoundExprPtr copy;
    for (size_t i = 0; i < e->args.size(); ++i) {
      KL_ASSIGN_OR_RETURN(BoundExprPtr a, Expr(e->args[i]));
      if (a == e->args[i]) continue;
      if (!copy) copy = std::make_shared<BoundExpr>(*e);
      copy->args[i] = std::move(a);
    }
    return copy ? copy : e;
  }

  Result<LogicalOpPtr> Op(const LogicalOpPtr& op) {
    std::shared_ptr<LogicalOp> copy;
    auto own = [&]() -> LogicalOp& {
      if (!copy) copy = std::make_shared<LogicalOp>(*op);
      return *copy;
    };
    for (size_t i = 0; i < op->children.size(); ++i) {
      KL_ASSIGN_OR_RETURN(LogicalOpPtr c, Op(op->children[i]));
      if (c != op->children[i]) own().children[i] = std::move(c);
    }
    // The expression slots of this node that change, by their order in ForEachExpression.
    std::map<size_t, BoundExprPtr> changed;
    Status status;
    size_t slot = 0;
    ForEachExpression(*op, [&](const BoundExprPtr& e) {
      size_t index = slot++;
      if (!status.ok() || !e) return;
      auto s = Expr(e);
      if (!s.ok()) {
        status = s.status();
      } else if (*s != e) {
        changed[index] = *s;
      }
    });
    KL_RETURN_IF_ERROR(status);
    if (changed.empty()) return copy ? LogicalOpPtr(copy) : op;
    LogicalOp& n = own();
    slot = 0;
    ForEachExpression(n, [&](BoundExprPtr& e) {
      auto it = changed.find(slot++);
      if (it != changed.end()) e = std::move(it->second);
    });
    // Scan filters come last: the scan applies those with parameters with the new values.
    size_t first_scan_filter = slot - n.scan_filters.size();
    for (size_t i = 0; i < n.scan_filters.size(); ++i) {
      if (changed.count(first_scan_filter + i) == 0) continue;
      if (i >= n.scan_pushed.size() || !n.table || !ToScanFilter(*n.scan_filters[i], *n.table, &n.scan_pushed[i])) {
        return Status::Internal("a scan no longer takes the filter " + n.scan_filters[i]->ToString());
      }
    }
    return copy ? LogicalOpPtr(copy) : op;
  }

 private:
  const std::vector<format::Datum>& values_;
};

bool SameValue(const format::Datum& a, const format::Datum& b) {
  return a.kind() == b.kind() && !a.is_null() && format::CompareDatum(a, b) == 0;
}

// Whether every literal tagged with a parameter holds that parameter's value and every scan
// filter has the condition it came from beside it; notes the parameters seen in `seen`.
bool ParametersInPlace(const LogicalOp& op, const std::vector<format::Datum>& values, std::vector<bool>* seen) {
  bool ok = op.scan_filters.size() == op.scan_pushed.size();
  ForEachExpression(op, [&](const BoundExprPtr& e) {
    if (!e) return;
    VisitExpr(*e, [&](const BoundExpr& x) {
      if (x.kind != BoundKind::kLiteral || x.param <= 0) return;
      size_t i = static_cast<size_t>(x.param - 1);
      ok = ok && i < values.size() && SameValue(x.value, values[i]);
      if (i < seen->size()) (*seen)[i] = true;
    });
  });
  for (const auto& c : op.children) ok = ok && ParametersInPlace(*c, values, seen);
  return ok;
}

// Whether the plan holds every parameter's value where a new one can be put in: a parameter
// missing from it was used up while planning (or dropped), and its value may be in the plan
// in another form.
bool AllParametersInPlace(const LogicalOp& plan, const std::vector<format::Datum>& values) {
  std::vector<bool> seen(values.size(), false);
  if (!ParametersInPlace(plan, values, &seen)) return false;
  return std::find(seen.begin(), seen.end(), false) == seen.end();
}

}  // namespace

Result<LogicalOpPtr> WithParameterValues(const LogicalOpPtr& plan, const std::vector<format::Datum>& values) {
  Substitution s(values);
  return s.Op(plan);
}

bool ChangedByRunning(const LogicalOp& plan) {
  bool changes = false;
  ForEachExpression(plan, [&](const BoundExprPtr& e) {
    if (!e) return;
    VisitExpr(*e, [&](const BoundExpr& x) {
      if (x.kind == BoundKind::kSubquery || x.kind == BoundKind::kOuterRef || x.value_set || x.correlated_cache) {
        changes = true;
      }
    });
  });
  for (const auto& c : plan.children) changes = changes || ChangedByRunning(*c);
  return changes;
}

Result<std::shared_ptr<CatalogObject>> RecordingResolver::ResolveTable(const QualifiedName& name,
                                                                       const ReadOptions& read) {
  KL_ASSIGN_OR_RETURN(std::shared_ptr<CatalogObject> object, inner_->ResolveTable(name, read));
  resolved_.push_back({name, read, object});
  return object;
}

bool PlanCache::Applies(const std::vector<format::Datum>& values) {
  if (values.empty()) return false;
  for (const auto& v : values) {
    if (v.is_null()) return false;
  }
  return true;
}

PlanCache::Signature PlanCache::SignatureOf(const std::vector<format::Datum>& values,
                                            const std::vector<std::optional<format::DataType>>& types) {
  Signature s;
  s.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    s.emplace_back(i < types.size() ? types[i] : std::nullopt, values[i].kind());
  }
  return s;
}

int64_t PlanCache::join_tables_reused() const {
  int64_t n = 0;
  for (const auto& [text, e] : entries_) n += e.kept ? e.kept->reused : 0;
  return n;
}

LogicalOpPtr PlanCache::Find(std::string_view statement, const Context& context,
                             const std::vector<format::Datum>& values,
                             const std::vector<std::optional<format::DataType>>& types, NameResolver* resolver,
                             std::shared_ptr<KeptResults>* kept) {
  auto it = entries_.find(statement);
  if (it == entries_.end()) return nullptr;
  Entry& e = it->second;
  if (!(e.context == context) || e.signature != SignatureOf(values, types)) return nullptr;
  for (const auto& t : e.tables) {
    auto now = resolver->ResolvePaimonTable(t.name, t.read);
    if (!now.ok() || *now != t.table) {
      entries_.erase(it);
      return nullptr;
    }
  }
  auto plan = WithParameterValues(e.plan, values);
  if (!plan.ok()) {
    entries_.erase(it);
    return nullptr;
  }
  ++reused_;
  if (kept) {
    if (!e.kept) e.kept = std::make_shared<KeptResults>();
    *kept = e.kept;
  }
  return *plan;
}

void PlanCache::Keep(std::string_view statement, Context context, const std::vector<format::Datum>& values,
                     const std::vector<std::optional<format::DataType>>& types, const LogicalOpPtr& plan,
                     const std::vector<RecordingResolver::Resolved>& resolved) {
  if (auto old = entries_.find(statement); old != entries_.end()) entries_.erase(old);
  if (!Applies(values) || ChangedByRunning(*plan) || !AllParametersInPlace(*plan, values)) return;
  Entry e;
  for (const auto& r : resolved) {
    const CatalogObject& o = *r.object;
    // Paimon tables at their latest schema only: those are opened once per schema file,
    // so the same table object means the same columns (views, system tables, connector
    // and catalog tables are made anew on each resolution).
    if (o.kind != ObjectKind::kTable || !o.paimon || !o.source || o.is_connector() ||
        o.name.find('$') != std::string::npos || !r.read.dynamic_options.empty()) {
      return;
    }
    e.tables.push_back({r.name, r.read, o.paimon});
  }
  e.context = std::move(context);
  e.signature = SignatureOf(values, types);
  e.plan = plan;
  if (entries_.size() >= 64) entries_.clear();
  entries_.emplace(std::string(statement), std::move(e));
}

}  // namespace kl::sql
