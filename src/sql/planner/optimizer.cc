#include "sql/planner/optimizer.h"

#include <algorithm>
#include <set>

#include "sql/binder/types.h"

namespace kl::sql {

namespace {

LogicalOpPtr Copy(const LogicalOpPtr& op) { return std::make_shared<LogicalOp>(*op); }

// ---- filter pushdown ----

}  // namespace

bool ToScanFilter(const BoundExpr& e, const CatalogObject& table, ScanFilter* out) {
  auto column_of = [&](const BoundExpr& c) -> int {
    if (c.kind != BoundKind::kColumn || c.column < 0 || static_cast<size_t>(c.column) >= table.schema.size()) return -1;
    return c.column;
  };
  if (e.kind == BoundKind::kIsNull) {
    int c = column_of(*e.args[0]);
    if (c < 0) return false;
    *out = {c, table::CompareOp::kIsNull, {}};
    return true;
  }
  if (e.kind == BoundKind::kNot && e.args[0]->kind == BoundKind::kIsNull) {
    int c = column_of(*e.args[0]->args[0]);
    if (c < 0) return false;
    *out = {c, table::CompareOp::kIsNotNull, {}};
    return true;
  }
  if (e.kind == BoundKind::kInList && !e.negated && e.value_set == nullptr) {
    // column IN (literals): NULL literals add no match a filter keeps.
    int c = column_of(*e.args[0]);
    if (c < 0) return false;
    const DataType& ct = table.schema.type(c);
    if (ct.is_nested() || e.args.size() > 4097) return false;
    std::vector<format::Datum> values;
    for (size_t i = 1; i < e.args.size(); ++i) {
      const BoundExpr& lit = *e.args[i];
      if (lit.kind != BoundKind::kLiteral) return false;
      if (lit.value.is_null()) continue;
      if (!ct.EqualsIgnoreNullable(lit.type) && !(ct.is_string() && lit.type.is_string())) return false;
      values.push_back(lit.value);
    }
    table::PredicateLeaf leaf = table::InLeaf("", std::move(values));
    *out = {c, table::CompareOp::kIn, {}, std::move(leaf.literals)};
    return true;
  }
  if (e.kind != BoundKind::kCall || e.args.size() != 2) return false;
  static const std::map<std::string, table::CompareOp> kOps = {
      {"=", table::CompareOp::kEq},  {"<>", table::CompareOp::kNe}, {"<", table::CompareOp::kLt},
      {"<=", table::CompareOp::kLe}, {">", table::CompareOp::kGt},  {">=", table::CompareOp::kGe}};
  auto op = kOps.find(e.name);
  if (op == kOps.end()) return false;
  const BoundExpr* col = e.args[0].get();
  const BoundExpr* lit = e.args[1].get();
  table::CompareOp cmp = op->second;
  if (col->kind == BoundKind::kLiteral) {
    std::swap(col, lit);
    switch (cmp) {
      case table::CompareOp::kLt: cmp = table::CompareOp::kGt; break;
      case table::CompareOp::kLe: cmp = table::CompareOp::kGe; break;
      case table::CompareOp::kGt: cmp = table::CompareOp::kLt; break;
      case table::CompareOp::kGe: cmp = table::CompareOp::kLe; break;
      default: break;
    }
  }
  int c = column_of(*col);
  if (c < 0 || lit->kind != BoundKind::kLiteral || lit->value.is_null()) return false;
  // The literal must already be of the column's own type (no cast on the column side).
  const DataType& ct = table.schema.type(c);
  if (!ct.EqualsIgnoreNullable(lit->type) && !(ct.is_string() && lit->type.is_string())) return false;
  if (ct.is_nested()) return false;
  *out = {c, cmp, lit->value};
  return true;
}

namespace {

// Replaces column references by the project's expressions (when all are plain columns or constants).
BoundExprPtr Substitute(const BoundExprPtr& e, const std::vector<BoundExprPtr>& exprs) {
  if (e->kind == BoundKind::kColumn) return exprs[e->column];
  auto copy = std::make_shared<BoundExpr>(*e);
  for (auto& a : copy->args) a = Substitute(a, exprs);
  return copy;
}

bool Deterministic(const BoundExpr& e) {
  bool ok = true;
  VisitExpr(e, [&](const BoundExpr& x) {
    if (x.kind == BoundKind::kCall && !x.function.deterministic) ok = false;
    if (x.kind == BoundKind::kSubquery) ok = false;
  });
  return ok;
}

LogicalOpPtr PushFilters(LogicalOpPtr op);

LogicalOpPtr MakeFilter(LogicalOpPtr child, std::vector<BoundExprPtr> terms) {
  if (terms.empty()) return child;
  auto f = std::make_shared<LogicalOp>();
  f->kind = OpKind::kFilter;
  f->children = {child};
  f->schema = child->schema;
  f->predicate = MakeAnd(std::move(terms));
  return f;
}

// Pushes `terms` (over op's output) as far down into op as they go; returns the new subtree.
LogicalOpPtr PushInto(LogicalOpPtr op, std::vector<BoundExprPtr> terms) {
  if (terms.empty()) return op;
  switch (op->kind) {
    case OpKind::kScan: {
      auto scan = Copy(op);
      if (scan->scan_sample_ms > 0) return MakeFilter(scan, terms);  // its extra column is not the table's
      std::vector<BoundExprPtr> rest;
      for (auto& t : terms) {
        ScanFilter f;
        if (scan->table->source) {
          // The condition on the table's own columns.
          BoundExprPtr on_table = RemapColumns(t, scan->scan_columns);
          if (ToScanFilter(*on_table, *scan->table, &f)) {
            scan->scan_filters.push_back(std::move(on_table));
            scan->scan_pushed.push_back(f);
            if (scan->table->source->AppliesFilters()) continue;
          }
        }
        rest.push_back(t);
      }
      return MakeFilter(scan, rest);
    }
    case OpKind::kFilter: {
      std::vector<BoundExprPtr> all;
      SplitConjunction(op->predicate, &all);
      for (auto& t : terms) all.push_back(t);
      return PushInto(op->children[0], all);
    }
    case OpKind::kProject: {
      std::vector<BoundExprPtr> down, keep;
      for (auto& t : terms) {
        std::vector<int> cols;
        CollectColumns(*t, &cols);
        bool simple = Deterministic(*t);
        for (int c : cols) {
          const BoundExpr& src = *op->exprs[c];
          if (!(src.kind == BoundKind::kColumn || src.kind == BoundKind::kLiteral)) simple = false;
        }
        if (simple) {
          down.push_back(Substitute(t, op->exprs));
        } else {
          keep.push_back(t);
        }
      }
      auto p = Copy(op);
      p->children[0] = PushInto(op->children[0], down);
      return MakeFilter(p, keep);
    }
    case OpKind::kJoin: {
      size_t lw = op->children[0]->schema.size();
      std::vector<BoundExprPtr> left, right, keep;
      bool inner = op->join_type == JoinType::kInner;
      for (auto& t : terms) {
        std::vector<int> cols;
        CollectColumns(*t, &cols);
        bool all_left = !cols.empty(), all_right = !cols.empty();
        for (int c : cols) {
          if (static_cast<size_t>(c) < lw)
            all_right = false;
          else
            all_left = false;
        }
        if (!Deterministic(*t)) {
          keep.push_back(t);
        } else if (all_left && (inner || op->join_type == JoinType::kLeft)) {
          left.push_back(t);
        } else if (all_right && (inner || op->join_type == JoinType::kRight)) {
          std::vector<int> shift(op->schema.size());
          for (size_t i = 0; i < shift.size(); ++i) shift[i] = static_cast<int>(i) - static_cast<int>(lw);
          right.push_back(RemapColumns(t, shift));
        } else {
          keep.push_back(t);
        }
      }
      auto j = Copy(op);
      j->children[0] = PushInto(op->children[0], left);
      j->children[1] = PushInto(op->children[1], right);
      return MakeFilter(j, keep);
    }
    default: return MakeFilter(op, terms);
  }
}

LogicalOpPtr PushFilters(LogicalOpPtr op) {
  auto copy = Copy(op);
  for (auto& c : copy->children) c = PushFilters(c);
  if (copy->kind == OpKind::kFilter) {
    std::vector<BoundExprPtr> terms;
    SplitConjunction(copy->predicate, &terms);
    return PushInto(copy->children[0], terms);
  }
  if (copy->kind == OpKind::kJoin && copy->join_type == JoinType::kInner && copy->join_condition) {
    // An inner join's residual condition filters like WHERE: push what belongs to one side.
    std::vector<BoundExprPtr> terms;
    SplitConjunction(copy->join_condition, &terms);
    copy->join_condition = nullptr;
    return PushInto(copy, terms);
  }
  return copy;
}

// ---- column pruning ----

struct Pruned {
  LogicalOpPtr op;
  std::vector<int> mapping;  // old output index -> new output index, -1 when dropped
};

void AddColumns(const BoundExprPtr& e, std::set<int>* out) {
  if (!e) return;
  std::vector<int> cols;
  CollectColumns(*e, &cols);
  out->insert(cols.begin(), cols.end());
}

BoundExprPtr Remap(const BoundExprPtr& e, const std::vector<int>& mapping) { return e ? RemapColumns(e, mapping) : e; }

std::vector<int> Identity(size_t n) {
  std::vector<int> m(n);
  for (size_t i = 0; i < n; ++i) m[i] = static_cast<int>(i);
  return m;
}

Pruned Prune(const LogicalOpPtr& op, const std::set<int>& needed);

Pruned PruneChildAll(const LogicalOpPtr& op) {
  auto copy = Copy(op);
  for (auto& c : copy->children) {
    std::set<int> all;
    for (size_t i = 0; i < c->schema.size(); ++i) all.insert(static_cast<int>(i));
    c = Prune(c, all).op;
  }
  return {copy, Identity(op->schema.size())};
}

Pruned Prune(const LogicalOpPtr& op, const std::set<int>& needed) {
  switch (op->kind) {
    case OpKind::kScan: {
      auto scan = Copy(op);
      std::vector<int> mapping(op->schema.size(), -1);
      std::vector<int> cols;
      std::vector<format::DataField> fields;
      for (size_t i = 0; i < op->scan_columns.size(); ++i) {
        if (!needed.count(static_cast<int>(i))) continue;
        mapping[i] = static_cast<int>(cols.size());
        cols.push_back(op->scan_columns[i]);
        fields.push_back(op->schema.field(i));
      }
      scan->scan_columns = cols;
      scan->schema = format::RowType(fields);
      return {scan, mapping};
    }
    case OpKind::kFilter: {
      std::set<int> want = needed;
      AddColumns(op->predicate, &want);
      Pruned child = Prune(op->children[0], want);
      auto f = Copy(op);
      f->children = {child.op};
      f->predicate = Remap(op->predicate, child.mapping);
      f->schema = child.op->schema;
      return {f, child.mapping};
    }
    case OpKind::kProject: {
      std::set<int> want;
      std::vector<int> mapping(op->exprs.size(), -1);
      std::vector<size_t> kept;
      for (size_t i = 0; i < op->exprs.size(); ++i) {
        if (!needed.count(static_cast<int>(i))) continue;
        mapping[i] = static_cast<int>(kept.size());
        kept.push_back(i);
        AddColumns(op->exprs[i], &want);
      }
      Pruned child = Prune(op->children[0], want);
      auto p = Copy(op);
      p->children = {child.op};
      p->exprs.clear();
      std::vector<format::DataField> fields;
      for (size_t i : kept) {
        p->exprs.push_back(Remap(op->exprs[i], child.mapping));
        fields.push_back(op->schema.field(i));
      }
      p->schema = format::RowType(fields);
      return {p, mapping};
    }
    case OpKind::kAggregate: {
      std::set<int> want;
      for (const auto& g : op->groups) AddColumns(g, &want);
      for (const auto& a : op->aggregates) {
        for (const auto& x : a.args) AddColumns(x, &want);
        AddColumns(a.filter, &want);
      }
      Pruned child = Prune(op->children[0], want);
      auto a = Copy(op);
      a->children = {child.op};
      for (auto& g : a->groups) g = Remap(g, child.mapping);
      for (auto& c : a->aggregates) {
        for (auto& x : c.args) x = Remap(x, child.mapping);
        c.filter = Remap(c.filter, child.mapping);
      }
      return {a, Identity(op->schema.size())};
    }
    case OpKind::kWindow:
    case OpKind::kTopN:
    case OpKind::kSort:
    case OpKind::kLimit:
    case OpKind::kUnnest: {
      size_t child_width = op->children[0]->schema.size();
      std::set<int> want;
      for (int c : needed) {
        if (static_cast<size_t>(c) < child_width) want.insert(c);
      }
      for (const auto& w : op->windows) {
        for (const auto& x : w.args) AddColumns(x, &want);
        for (const auto& x : w.partition_by) AddColumns(x, &want);
        for (const auto& k : w.order_by) AddColumns(k.expr, &want);
        AddColumns(w.default_value, &want);
      }
      for (const auto& k : op->sort_keys) AddColumns(k.expr, &want);
      for (const auto& p : op->partition_keys) AddColumns(p, &want);
      AddColumns(op->unnest_expr, &want);
      Pruned child = Prune(op->children[0], want);
      auto n = Copy(op);
      n->children = {child.op};
      for (auto& w : n->windows) {
        for (auto& x : w.args) x = Remap(x, child.mapping);
        for (auto& x : w.partition_by) x = Remap(x, child.mapping);
        for (auto& k : w.order_by) k.expr = Remap(k.expr, child.mapping);
        w.default_value = Remap(w.default_value, child.mapping);
      }
      for (auto& k : n->sort_keys) k.expr = Remap(k.expr, child.mapping);
      for (auto& p : n->partition_keys) p = Remap(p, child.mapping);
      n->unnest_expr = Remap(op->unnest_expr, child.mapping);
      // Output: the child's (pruned) columns, then what this operator adds.
      std::vector<int> mapping(op->schema.size(), -1);
      std::vector<format::DataField> fields = child.op->schema.fields();
      for (size_t i = 0; i < child_width; ++i) mapping[i] = child.mapping[i];
      for (size_t i = child_width; i < op->schema.size(); ++i) {
        mapping[i] = static_cast<int>(fields.size());
        fields.push_back(op->schema.field(i));
      }
      n->schema = format::RowType(fields);
      return {n, mapping};
    }
    case OpKind::kJoin: {
      size_t lw = op->children[0]->schema.size();
      std::set<int> lw_need, rw_need;
      std::set<int> cond;
      AddColumns(op->join_condition, &cond);
      for (int c : needed) cond.insert(c);
      for (int c : cond) {
        if (static_cast<size_t>(c) < lw)
          lw_need.insert(c);
        else
          rw_need.insert(c - static_cast<int>(lw));
      }
      for (const auto& k : op->left_keys) AddColumns(k, &lw_need);
      for (const auto& k : op->right_keys) AddColumns(k, &rw_need);
      Pruned l = Prune(op->children[0], lw_need);
      Pruned r = Prune(op->children[1], rw_need);
      auto j = Copy(op);
      j->children = {l.op, r.op};
      for (auto& k : j->left_keys) k = Remap(k, l.mapping);
      for (auto& k : j->right_keys) k = Remap(k, r.mapping);
      std::vector<int> mapping(op->schema.size(), -1);
      size_t new_lw = l.op->schema.size();
      for (size_t i = 0; i < lw; ++i) mapping[i] = l.mapping[i];
      for (size_t i = lw; i < op->schema.size(); ++i) {
        int m = r.mapping[i - lw];
        mapping[i] = m < 0 ? -1 : m + static_cast<int>(new_lw);
      }
      j->join_condition = Remap(op->join_condition, mapping);
      std::vector<format::DataField> fields = l.op->schema.fields();
      for (const auto& f : r.op->schema.fields()) fields.push_back(f);
      j->schema = format::RowType(fields);
      return {j, mapping};
    }
    default: return PruneChildAll(op);
  }
}

// ---- Top-N ----

LogicalOpPtr TopN(LogicalOpPtr op, bool* value_dependent) {
  auto copy = Copy(op);
  for (auto& c : copy->children) c = TopN(c, value_dependent);
  // ORDER BY ... LIMIT n
  if (copy->kind == OpKind::kLimit && copy->limit >= 0 && copy->children[0]->kind == OpKind::kSort &&
      copy->limit <= (1 << 20) && copy->offset <= (1 << 20)) {
    auto top = Copy(copy->children[0]);
    top->kind = OpKind::kTopN;
    top->limit = copy->limit;
    top->offset = copy->offset;
    return top;
  }
  // WHERE rn <= n over ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)
  if (copy->kind == OpKind::kFilter) {
    const BoundExpr& p = *copy->predicate;
    LogicalOpPtr below = copy->children[0];
    LogicalOpPtr project;
    if (below->kind == OpKind::kProject) {
      project = below;
      below = below->children[0];
    }
    if (below->kind == OpKind::kWindow && below->windows.size() == 1 &&
        below->windows[0].kind == WindowFunctionKind::kRowNumber && !below->windows[0].order_by.empty() &&
        p.kind == BoundKind::kCall && p.args.size() == 2 && p.args[0]->kind == BoundKind::kColumn &&
        p.args[1]->kind == BoundKind::kLiteral && !p.args[1]->value.is_null() &&
        (p.name == "=" || p.name == "<=" || p.name == "<")) {
      int col = p.args[0]->column;
      int rn_col = static_cast<int>(below->schema.size()) - 1;
      bool is_rn = false;
      if (project) {
        const BoundExpr& src = *project->exprs[col];
        is_rn = src.kind == BoundKind::kColumn && src.column == rn_col;
      } else {
        is_rn = col == rn_col;
      }
      int64_t n = p.args[1]->value.as_int();
      if (p.name == "<") n -= 1;
      if (p.name == "=" && n != 1) is_rn = false;
      if (p.args[1]->param > 0 && value_dependent != nullptr) *value_dependent = true;
      if (is_rn && n >= 1 && n <= (1 << 16)) {
        const WindowCall& w = below->windows[0];
        auto top = std::make_shared<LogicalOp>();
        top->kind = OpKind::kTopN;
        top->children = below->children;
        top->schema = below->schema;
        top->partition_keys = w.partition_by;
        top->sort_keys = w.order_by;
        top->limit = n;
        top->rank_column = true;
        LogicalOpPtr result = top;
        if (project) {
          auto p2 = Copy(project);
          p2->children = {top};
          result = p2;
        }
        // rn = 1, rn <= n, rn < n + 1: every row the Top-N keeps passes, so no filter remains.
        return result;
      }
    }
  }
  return copy;
}

// LIMIT right above a scan (and projections): the scan may stop after limit + offset rows.
LogicalOpPtr LimitScans(LogicalOpPtr op) {
  auto copy = Copy(op);
  for (auto& c : copy->children) c = LimitScans(c);
  if (copy->kind == OpKind::kLimit && copy->limit >= 0) {
    LogicalOpPtr* p = &copy->children[0];
    while ((*p)->kind == OpKind::kProject) p = &(*p)->children[0];
    if ((*p)->kind == OpKind::kScan) {
      auto s = Copy(*p);
      int64_t total;
      if (!__builtin_add_overflow(copy->limit, copy->offset, &total)) s->scan_limit = total;
      *p = s;
    }
  }
  return copy;
}

}  // namespace

LogicalOpPtr Optimize(LogicalOpPtr plan, bool* value_dependent) {
  plan = PushFilters(plan);
  std::set<int> all;
  for (size_t i = 0; i < plan->schema.size(); ++i) all.insert(static_cast<int>(i));
  plan = Prune(plan, all).op;
  plan = TopN(plan, value_dependent);
  plan = LimitScans(plan);
  return plan;
}

}  // namespace kl::sql
