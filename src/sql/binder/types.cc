#include "sql/binder/types.h"

#include <algorithm>

namespace kl::sql {

bool IsIntegral(const DataType& t) {
  switch (t.root()) {
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt: return true;
    default: return false;
  }
}
bool IsApproximate(const DataType& t) { return t.root() == TypeRoot::kFloat || t.root() == TypeRoot::kDouble; }
bool IsNumeric(const DataType& t) { return IsIntegral(t) || IsApproximate(t) || t.root() == TypeRoot::kDecimal; }
bool IsStringType(const DataType& t) { return t.is_string(); }
bool IsTimestamp(const DataType& t) { return t.root() == TypeRoot::kTimestamp || t.root() == TypeRoot::kTimestampLtz; }
bool IsTemporal(const DataType& t) {
  return IsTimestamp(t) || t.root() == TypeRoot::kDate || t.root() == TypeRoot::kTime;
}

int IntegerDigits(const DataType& t) {
  switch (t.root()) {
    case TypeRoot::kTinyInt: return 3;
    case TypeRoot::kSmallInt: return 5;
    case TypeRoot::kInt: return 10;
    case TypeRoot::kBigInt: return 19;
    default: return 0;
  }
}

DataType WithNullable(const DataType& t, bool nullable) { return t.WithNullable(nullable); }

DataType AdjustDecimal(int precision, int scale, bool nullable) {
  if (precision > 38) {
    int int_digits = precision - scale;
    scale = std::max(38 - int_digits, std::min(scale, 6));
    precision = 38;
  }
  if (scale < 0) scale = 0;
  if (scale > precision) scale = precision;
  return DataType::Decimal(std::max(precision, 1), scale).WithNullable(nullable);
}

DataType ToDecimal(const DataType& t) {
  if (t.root() == TypeRoot::kDecimal) return t;
  return DataType::Decimal(IntegerDigits(t), 0).WithNullable(t.nullable());
}

std::string TypeName(const DataType& t) { return t.ToString(); }

namespace {

int IntRank(TypeRoot r) {
  switch (r) {
    case TypeRoot::kTinyInt: return 1;
    case TypeRoot::kSmallInt: return 2;
    case TypeRoot::kInt: return 3;
    case TypeRoot::kBigInt: return 4;
    default: return 0;
  }
}

Status Mismatch(const DataType& a, const DataType& b) {
  return Status::InvalidArgument("types " + TypeName(a.WithNullable(true)) + " and " + TypeName(b.WithNullable(true)) +
                                 " do not mix (use CAST)");
}

}  // namespace

Result<DataType> CommonType(const DataType& a, const DataType& b) {
  bool nullable = a.nullable() || b.nullable();
  if (a.EqualsIgnoreNullable(b)) return a.WithNullable(nullable);
  if (IsNumeric(a) && IsNumeric(b)) {
    if (IsApproximate(a) || IsApproximate(b)) {
      if (a.root() == TypeRoot::kFloat && b.root() == TypeRoot::kFloat) return DataType::Float().WithNullable(nullable);
      return DataType::Double().WithNullable(nullable);
    }
    if (IsIntegral(a) && IsIntegral(b)) return (IntRank(a.root()) >= IntRank(b.root()) ? a : b).WithNullable(nullable);
    DataType da = ToDecimal(a), db = ToDecimal(b);
    int scale = std::max(da.scale(), db.scale());
    int int_digits = std::max(da.precision() - da.scale(), db.precision() - db.scale());
    return AdjustDecimal(int_digits + scale, scale, nullable);
  }
  if (IsStringType(a) && IsStringType(b)) {
    if (a.root() == TypeRoot::kChar && b.root() == TypeRoot::kChar) {
      return DataType::Char(std::max(a.length(), b.length())).WithNullable(nullable);
    }
    return DataType::VarChar(std::max(a.length(), b.length())).WithNullable(nullable);
  }
  if (a.is_binary() && b.is_binary())
    return DataType::VarBinary(std::max(a.length(), b.length())).WithNullable(nullable);
  if (IsTemporal(a) && IsTemporal(b)) {
    if (a.root() == TypeRoot::kTime || b.root() == TypeRoot::kTime) {
      if (a.root() == b.root()) return DataType::Time(std::max(a.precision(), b.precision())).WithNullable(nullable);
      return Mismatch(a, b);
    }
    int p = std::max(IsTimestamp(a) ? a.precision() : 0, IsTimestamp(b) ? b.precision() : 0);
    if (a.root() == TypeRoot::kTimestampLtz || b.root() == TypeRoot::kTimestampLtz) {
      return DataType::TimestampLtz(p).WithNullable(nullable);
    }
    return DataType::Timestamp(p).WithNullable(nullable);
  }
  if (a.root() == b.root()) {
    if (a.root() == TypeRoot::kArray || a.root() == TypeRoot::kMultiset) {
      KL_ASSIGN_OR_RETURN(DataType e, CommonType(a.element(), b.element()));
      return (a.root() == TypeRoot::kArray ? DataType::Array(e) : DataType::Multiset(e)).WithNullable(nullable);
    }
    if (a.root() == TypeRoot::kMap) {
      KL_ASSIGN_OR_RETURN(DataType k, CommonType(a.key(), b.key()));
      KL_ASSIGN_OR_RETURN(DataType v, CommonType(a.value(), b.value()));
      return DataType::Map(k, v).WithNullable(nullable);
    }
    if (a.root() == TypeRoot::kRow && a.fields().size() == b.fields().size()) {
      std::vector<format::DataField> fields;
      for (size_t i = 0; i < a.fields().size(); ++i) {
        KL_ASSIGN_OR_RETURN(DataType f, CommonType(a.fields()[i].type, b.fields()[i].type));
        fields.push_back({a.fields()[i].id, a.fields()[i].name, f, ""});
      }
      return DataType::Row(std::move(fields)).WithNullable(nullable);
    }
  }
  return Mismatch(a, b);
}

Result<DataType> ArithmeticType(const std::string& op, const DataType& a, const DataType& b) {
  bool nullable = a.nullable() || b.nullable();
  if (!IsNumeric(a) || !IsNumeric(b)) {
    return Status::InvalidArgument("operator " + op + " needs numbers, not " + TypeName(a.WithNullable(true)) +
                                   " and " + TypeName(b.WithNullable(true)));
  }
  if (IsApproximate(a) || IsApproximate(b)) {
    if (a.root() == TypeRoot::kFloat && b.root() == TypeRoot::kFloat) return DataType::Float().WithNullable(nullable);
    return DataType::Double().WithNullable(nullable);
  }
  if (IsIntegral(a) && IsIntegral(b)) {
    const DataType& wider = IntRank(a.root()) >= IntRank(b.root()) ? a : b;
    // Flink: TINYINT and SMALLINT arithmetic stays in the operand type (Java wraps);
    // the result is the wider operand type.
    return wider.WithNullable(nullable);
  }
  DataType da = ToDecimal(a), db = ToDecimal(b);
  int p1 = da.precision(), s1 = da.scale(), p2 = db.precision(), s2 = db.scale();
  if (op == "+" || op == "-") {
    int s = std::max(s1, s2);
    int p = std::max(p1 - s1, p2 - s2) + s + 1;
    return AdjustDecimal(p, s, nullable);
  }
  if (op == "*") return AdjustDecimal(p1 + p2, s1 + s2, nullable);
  if (op == "/") {
    int s = std::max(6, s1 + p2 + 1);
    int p = p1 - s1 + s2 + s;
    return AdjustDecimal(p, s, nullable);
  }
  // %
  int s = std::max(s1, s2);
  int p = std::min(p1 - s1, p2 - s2) + s;
  return AdjustDecimal(p, s, nullable);
}

bool ImplicitlyCastable(const DataType& from, const DataType& to) {
  if (from.EqualsIgnoreNullable(to)) return true;
  if (IsNumeric(from) && IsNumeric(to)) {
    if (IsApproximate(to)) return true;
    if (IsApproximate(from)) return false;
    if (IsIntegral(from) && IsIntegral(to)) return IntRank(from.root()) <= IntRank(to.root());
    if (to.root() == TypeRoot::kDecimal) {
      DataType d = ToDecimal(from);
      return to.precision() - to.scale() >= d.precision() - d.scale() && to.scale() >= d.scale();
    }
    return false;
  }
  if (IsStringType(from) && IsStringType(to)) return true;
  if (from.is_binary() && to.is_binary()) return true;
  if (from.root() == TypeRoot::kDate && IsTimestamp(to)) return true;
  if (IsTimestamp(from) && IsTimestamp(to)) return true;
  if (from.root() == TypeRoot::kTime && to.root() == TypeRoot::kTime) return true;
  if (from.root() == to.root() && (from.root() == TypeRoot::kArray || from.root() == TypeRoot::kMap ||
                                   from.root() == TypeRoot::kRow || from.root() == TypeRoot::kMultiset)) {
    auto common = CommonType(from, to);
    return common.ok() && common->EqualsIgnoreNullable(to);
  }
  return false;
}

}  // namespace kl::sql
