#include "sql/parser/ast.h"

#include <cctype>

#include "common/string_util.h"

namespace kl::sql {

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  out.push_back('`');
  return out;
}

std::string QualifiedName::ToString() const {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ".";
    out += QuoteIdentifier(parts[i]);
  }
  return out;
}

namespace {

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string Args(const std::vector<ExprPtr>& args, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < args.size(); ++i) {
    if (i > from) out += ", ";
    out += args[i]->ToString();
  }
  return out;
}

}  // namespace

std::string ParsedExpr::ToString() const {
  switch (kind) {
    case ExprKind::kLiteral:
      if (value.is_null()) return "NULL";
      if (type.is_string()) return Quote(value.as_bytes());
      return format::DatumToString(value, type);
    case ExprKind::kColumn: {
      std::string out;
      for (const auto& q : qualifier) out += QuoteIdentifier(q) + ".";
      return out + QuoteIdentifier(name);
    }
    case ExprKind::kStar: {
      std::string out;
      for (const auto& q : qualifier) out += QuoteIdentifier(q) + ".";
      return out + "*";
    }
    case ExprKind::kParameter: return "$" + std::to_string(param_index);
    case ExprKind::kUnary: return op == "NOT" ? "NOT " + args[0]->ToString() : op + args[0]->ToString();
    case ExprKind::kBinary: return "(" + args[0]->ToString() + " " + op + " " + args[1]->ToString() + ")";
    case ExprKind::kIsNull: return args[0]->ToString() + (negated ? " IS NOT NULL" : " IS NULL");
    case ExprKind::kIsBool: return args[0]->ToString() + (negated ? " IS NOT " : " IS ") + op;
    case ExprKind::kIsDistinct:
      return args[0]->ToString() + (negated ? " IS NOT DISTINCT FROM " : " IS DISTINCT FROM ") + args[1]->ToString();
    case ExprKind::kBetween:
      return args[0]->ToString() + (negated ? " NOT BETWEEN " : " BETWEEN ") + args[1]->ToString() + " AND " +
             args[2]->ToString();
    case ExprKind::kInList: return args[0]->ToString() + (negated ? " NOT IN (" : " IN (") + Args(args, 1) + ")";
    case ExprKind::kInSubquery: return args[0]->ToString() + (negated ? " NOT IN (subquery)" : " IN (subquery)");
    case ExprKind::kExists: return negated ? "NOT EXISTS (subquery)" : "EXISTS (subquery)";
    case ExprKind::kScalarSubquery: return "(subquery)";
    case ExprKind::kLike:
      return args[0]->ToString() + (negated ? " NOT " : " ") + op + " " + args[1]->ToString() +
             (args.size() > 2 ? " ESCAPE " + args[2]->ToString() : "");
    case ExprKind::kCase: {
      std::string out = "CASE";
      size_t i = 0;
      if (has_operand) out += " " + args[i++]->ToString();
      size_t end = args.size() - (has_else ? 1 : 0);
      for (; i + 2 <= end; i += 2) {
        out += " WHEN " + args[i]->ToString() + " THEN " + args[i + 1]->ToString();
      }
      if (has_else) out += " ELSE " + args.back()->ToString();
      return out + " END";
    }
    case ExprKind::kCast:
      if (name == "typed-literal") {
        std::string t = type.ToString();
        return t.substr(0, t.find_first_of("( ")) + " " + args[0]->ToString();
      }
      return std::string(try_cast ? "TRY_CAST(" : "CAST(") + args[0]->ToString() + " AS " + type.ToString() + ")";
    case ExprKind::kFunction: {
      if (args.empty() && !star &&
          (op == "CURRENT_TIMESTAMP" || op == "CURRENT_DATE" || op == "CURRENT_TIME" || op == "LOCALTIMESTAMP" ||
           op == "LOCALTIME")) {
        return op;
      }
      std::string out = op + "(";
      if (distinct) out += "DISTINCT ";
      out += star ? "*" : Args(args);
      std::string order;
      for (const auto& o : within_group) {
        order += (order.empty() ? "ORDER BY " : ", ") + o.expr->ToString() + (o.descending ? " DESC" : "");
        if (o.nulls_first) order += *o.nulls_first ? " NULLS FIRST" : " NULLS LAST";
      }
      if (!order.empty() && !within_group_clause) out += " " + order;
      out += ")";
      if (!order.empty() && within_group_clause) out += " WITHIN GROUP (" + order + ")";
      if (filter) out += " FILTER (WHERE " + filter->ToString() + ")";
      if (over || !over_name.empty()) out += " OVER (...)";
      return out;
    }
    case ExprKind::kInterval:
      return "INTERVAL '" + std::to_string(value.as_int()) + (interval_months ? "' MONTH" : "' MILLISECOND");
    case ExprKind::kArrayCtor: return "ARRAY[" + Args(args) + "]";
    case ExprKind::kMapCtor: return "MAP[" + Args(args) + "]";
    case ExprKind::kRowCtor: return "ROW(" + Args(args) + ")";
    case ExprKind::kSubscript: return args[0]->ToString() + "[" + args[1]->ToString() + "]";
    case ExprKind::kField: return args[0]->ToString() + "." + QuoteIdentifier(name);
    case ExprKind::kExtract: return "EXTRACT(" + op + " FROM " + args[0]->ToString() + ")";
    case ExprKind::kTimestampDiff: return name + "(" + op + ", " + Args(args) + ")";
    case ExprKind::kJsonValue:
    case ExprKind::kJsonQuery:
    case ExprKind::kJsonExists: return op + "(" + Args(args) + ")";
    case ExprKind::kTrim: return "TRIM(" + op + " " + Args(args) + ")";
    case ExprKind::kPosition: return "POSITION(" + args[0]->ToString() + " IN " + args[1]->ToString() + ")";
    case ExprKind::kSubstring: return "SUBSTRING(" + Args(args) + ")";
    case ExprKind::kOverlay: return "OVERLAY(" + Args(args) + ")";
    case ExprKind::kQuantified:
      return args[0]->ToString() + " " + op + " " + name + " (" + (subquery ? "subquery" : args[1]->ToString()) + ")";
    case ExprKind::kArraySubquery: return "ARRAY(subquery)";
  }
  return "?";
}

}  // namespace kl::sql
