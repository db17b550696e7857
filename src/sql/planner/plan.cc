#include "sql/planner/plan.h"

#include "common/string_util.h"

namespace kl::sql {

namespace {

std::string Exprs(const std::vector<BoundExprPtr>& es) {
  std::vector<std::string> parts;
  for (const auto& e : es) parts.push_back(e ? e->ToString() : "?");
  return Join(parts, ", ");
}

std::string Keys(const std::vector<SortKey>& keys) {
  std::vector<std::string> parts;
  for (const auto& k : keys) {
    parts.push_back(k.expr->ToString() + (k.descending ? " DESC" : " ASC") +
                    (k.nulls_first ? " NULLS FIRST" : " NULLS LAST"));
  }
  return Join(parts, ", ");
}

const char* JoinName(JoinType t) {
  switch (t) {
    case JoinType::kInner: return "INNER";
    case JoinType::kLeft: return "LEFT";
    case JoinType::kRight: return "RIGHT";
    case JoinType::kFull: return "FULL";
    case JoinType::kCross: return "CROSS";
    case JoinType::kSemi: return "SEMI";
    case JoinType::kAnti: return "ANTI";
  }
  return "?";
}

}  // namespace

std::string LogicalOp::Explain(int depth) const {
  std::string pad(static_cast<size_t>(depth) * 2, ' ');
  std::string line;
  switch (kind) {
    case OpKind::kScan: {
      ScanRequest r;
      for (int c : scan_columns) {
        if (!table || c < static_cast<int>(table->schema.size())) r.columns.push_back(c);
      }
      r.filters = scan_pushed;
      r.limit = scan_limit;
      line = "Scan " + (table ? table->FullName() : "?") + ": " +
             (table && table->source ? table->source->Describe(r) : "");
      if (scan_lookup) line += " lookup as of " + scan_lookup_time;
      if (scan_sample_ms > 0) line += " snapshots every " + std::to_string(scan_sample_ms) + " ms";
      break;
    }
    case OpKind::kValues: line = "Values rows=" + std::to_string(rows.size()); break;
    case OpKind::kFilter: line = "Filter " + predicate->ToString(); break;
    case OpKind::kProject: line = "Project " + Exprs(exprs); break;
    case OpKind::kAggregate: {
      std::vector<std::string> aggs;
      for (const auto& a : aggregates) {
        aggs.push_back(a.name + "(" + std::string(a.distinct ? "DISTINCT " : "") + Exprs(a.args) + ")" +
                       (a.filter ? " FILTER " + a.filter->ToString() : ""));
      }
      line = "HashAggregate groups=[" + Exprs(groups) + "] aggregates=[" + Join(aggs, ", ") + "]";
      break;
    }
    case OpKind::kWindow: {
      std::vector<std::string> ws;
      for (const auto& w : windows) {
        ws.push_back(w.name + "(" + Exprs(w.args) + ") OVER (PARTITION BY " + Exprs(w.partition_by) + " ORDER BY " +
                     Keys(w.order_by) + ")");
      }
      line = "Window " + Join(ws, "; ");
      break;
    }
    case OpKind::kJoin:
      line = std::string("HashJoin ") + JoinName(join_type) + " keys=[" + Exprs(left_keys) + "] = [" +
             Exprs(right_keys) + "]" + (join_condition ? " condition=" + join_condition->ToString() : "");
      break;
    case OpKind::kSort: line = "Sort " + Keys(sort_keys); break;
    case OpKind::kLimit:
      line = "Limit " + (limit < 0 ? std::string("ALL") : std::to_string(limit)) +
             (offset > 0 ? " offset " + std::to_string(offset) : "");
      break;
    case OpKind::kTopN:
      line = "TopN " + std::to_string(limit) + (offset > 0 ? " offset " + std::to_string(offset) : "") + " by " +
             Keys(sort_keys) + (partition_keys.empty() ? "" : " per partition [" + Exprs(partition_keys) + "]");
      break;
    case OpKind::kUnion: line = all ? "UnionAll" : "Union"; break;
    case OpKind::kSetOp:
      line = std::string(set_op == SetOpKind::kIntersect ? "Intersect" : "Except") + (all ? " ALL" : "");
      break;
    case OpKind::kUnnest:
      line = "Unnest " + unnest_expr->ToString() + (with_ordinality ? " WITH ORDINALITY" : "");
      break;
  }
  std::string out = pad + line + "\n";
  for (const auto& c : children) out += c->Explain(depth + 1);
  return out;
}

}  // namespace kl::sql
