#include "sql/binder/expression.h"

#include <cstring>

#include "common/json.h"
#include "sql/functions/json_functions.h"
#include "sql/parser/ast.h"

namespace kl::sql {

bool BoundExpr::IsConstant() const {
  bool constant = true;
  VisitExpr(*this, [&](const BoundExpr& e) {
    if (e.kind == BoundKind::kColumn || e.kind == BoundKind::kSubquery || e.kind == BoundKind::kOuterRef) {
      constant = false;
    }
    if (e.kind == BoundKind::kCall && !e.function.deterministic) constant = false;
  });
  return constant;
}

std::string BoundExpr::ToString() const {
  auto list = [&](size_t from, const char* sep) {
    std::string out;
    for (size_t i = from; i < args.size(); ++i) {
      if (i > from) out += sep;
      out += args[i]->ToString();
    }
    return out;
  };
  switch (kind) {
    case BoundKind::kColumn: return "$" + std::to_string(column) + (name.empty() ? "" : ":" + name);
    case BoundKind::kLiteral:
      // A parameter is itself whatever its value: the binder matches expressions by this text
      // (GROUP BY, ORDER BY, repeated aggregates), and a plan may be reused with other values.
      if (param > 0) return "$" + std::to_string(param);
      if (value.is_null()) return "NULL";
      if (type.is_string()) return "'" + value.as_bytes() + "'";
      return format::DatumToString(value, type);
    case BoundKind::kCall:
      if (function.json) return name + "(" + list(0, ", ") + function.json->options_text + ")";
      return name + "(" + list(0, ", ") + ")";
    case BoundKind::kCast:
      return std::string(try_cast ? "TRY_CAST(" : "CAST(") + args[0]->ToString() + " AS " + type.ToString() + ")";
    case BoundKind::kCase: {
      std::string out = "CASE";
      for (size_t i = 0; i + 1 < args.size(); i += 2) {
        out += " WHEN " + args[i]->ToString() + " THEN " + args[i + 1]->ToString();
      }
      return out + " ELSE " + args.back()->ToString() + " END";
    }
    case BoundKind::kAnd: return "(" + list(0, " AND ") + ")";
    case BoundKind::kOr: return "(" + list(0, " OR ") + ")";
    case BoundKind::kNot: return "NOT " + args[0]->ToString();
    case BoundKind::kIsNull: return args[0]->ToString() + " IS NULL";
    case BoundKind::kDistinctFrom: return args[0]->ToString() + " IS DISTINCT FROM " + args[1]->ToString();
    case BoundKind::kInList:
      if (value_set) return args[0]->ToString() + (negated ? " NOT IN " : " IN ") + "(subquery values)";
      return args[0]->ToString() + (negated ? " NOT IN (" : " IN (") + list(1, ", ") + ")";
    case BoundKind::kSubquery: {
      std::string tag = correlation_id >= 0 ? "#" + std::to_string(correlation_id) : "";
      return subquery_kind == SubqueryKind::kExists  ? "EXISTS(subquery" + tag + ")"
             : subquery_kind == SubqueryKind::kIn    ? args[0]->ToString() + " IN (subquery" + tag + ")"
             : subquery_kind == SubqueryKind::kArray ? "ARRAY(subquery" + tag + ")"
                                                     : "(scalar subquery" + tag + ")";
    }
    case BoundKind::kOuterRef:
      return "outer#" + std::to_string(correlation_id) + "." + std::to_string(column) +
             (name.empty() ? "" : ":" + name);
  }
  return "?";
}

BoundExprPtr MakeColumn(int index, DataType type, std::string name) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = BoundKind::kColumn;
  e->column = index;
  e->type = std::move(type);
  e->name = std::move(name);
  return e;
}

BoundExprPtr MakeLiteral(Datum value, DataType type) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = BoundKind::kLiteral;
  e->value = std::move(value);
  e->type = std::move(type);
  return e;
}

BoundExprPtr MakeAnd(std::vector<BoundExprPtr> terms) {
  if (terms.empty()) return MakeLiteral(Datum::Bool(true), DataType::Boolean().NotNull());
  if (terms.size() == 1) return terms[0];
  auto e = std::make_shared<BoundExpr>();
  e->kind = BoundKind::kAnd;
  bool nullable = false;
  for (const auto& t : terms) nullable = nullable || t->type.nullable();
  e->type = DataType::Boolean().WithNullable(nullable);
  e->args = std::move(terms);
  return e;
}

void VisitExpr(const BoundExpr& e, const std::function<void(const BoundExpr&)>& f) {
  f(e);
  for (const auto& a : e.args) VisitExpr(*a, f);
}

void CollectColumns(const BoundExpr& e, std::vector<int>* out) {
  VisitExpr(e, [&](const BoundExpr& x) {
    if (x.kind == BoundKind::kColumn) out->push_back(x.column);
  });
}

BoundExprPtr RemapColumns(const BoundExprPtr& e, const std::vector<int>& mapping) {
  auto copy = std::make_shared<BoundExpr>(*e);
  if (copy->kind == BoundKind::kColumn) {
    if (copy->column >= 0 && static_cast<size_t>(copy->column) < mapping.size()) copy->column = mapping[copy->column];
  }
  for (auto& a : copy->args) a = RemapColumns(a, mapping);
  return copy;
}

void SplitConjunction(const BoundExprPtr& e, std::vector<BoundExprPtr>* out) {
  if (e->kind == BoundKind::kAnd) {
    for (const auto& a : e->args) SplitConjunction(a, out);
  } else {
    out->push_back(e);
  }
}

namespace {

void PutU64(uint64_t v, std::string* out) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 8);
}

}  // namespace

void EncodeKey(const Column& c, size_t row, std::string* out) {
  if (c.IsNull(row)) {
    out->push_back('\0');
    return;
  }
  out->push_back('\1');
  switch (c.kind()) {
    case format::PhysicalKind::kInt: PutU64(static_cast<uint64_t>(c.GetInt(row)) ^ (1ULL << 63), out); break;
    case format::PhysicalKind::kDouble: {
      double d = c.GetDouble(row);
      if (d == 0) d = 0;  // -0.0 equals 0.0
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      if (d != d) bits = 0x7ff8000000000000ULL;  // one NaN
      PutU64(bits, out);
      break;
    }
    case format::PhysicalKind::kBytes: {
      std::string_view v = c.GetBytes(row);
      PutU64(v.size(), out);
      out->append(v);
      break;
    }
    case format::PhysicalKind::kDecimal: {
      format::Int128 v = c.GetDecimal(row);
      PutU64(static_cast<uint64_t>(static_cast<unsigned __int128>(v) >> 64), out);
      PutU64(static_cast<uint64_t>(v), out);
      break;
    }
    case format::PhysicalKind::kTimestamp: {
      format::Timestamp ts = c.GetTimestamp(row);
      PutU64(static_cast<uint64_t>(ts.millis), out);
      PutU64(static_cast<uint64_t>(ts.nanos), out);
      break;
    }
    case format::PhysicalKind::kNested: {
      std::string text = format::DatumDebugString(c.GetNested(row));
      PutU64(text.size(), out);
      out->append(text);
      break;
    }
  }
}

void EncodeDatumKey(const Datum& d, const DataType& type, std::string* out) {
  Column c(type);
  c.Append(d);
  EncodeKey(c, 0, out);
}

}  // namespace kl::sql
