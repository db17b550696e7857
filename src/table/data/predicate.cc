#include "table/data/predicate.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/json.h"
#include "common/string_util.h"

namespace kl::table {

using format::Datum;
using format::DataType;

std::string_view CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
    case CompareOp::kIsNull: return "IS NULL";
    case CompareOp::kIsNotNull: return "IS NOT NULL";
    case CompareOp::kIn: return "IN";
  }
  return "?";
}

PredicateLeaf InLeaf(std::string field, std::vector<format::Datum> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](const Datum& d) { return d.is_null(); }), values.end());
  std::sort(values.begin(), values.end(), [](const Datum& a, const Datum& b) { return format::CompareDatum(a, b) < 0; });
  values.erase(std::unique(values.begin(), values.end(),
                           [](const Datum& a, const Datum& b) { return format::CompareDatum(a, b) == 0; }),
               values.end());
  PredicateLeaf leaf;
  leaf.field = std::move(field);
  leaf.op = CompareOp::kIn;
  leaf.literals = std::move(values);
  return leaf;
}

std::string Predicate::ToString() const {
  std::string out;
  for (const auto& l : leaves_) {
    if (!out.empty()) out += " AND ";
    out += l.field + " " + std::string(CompareOpText(l.op));
    if (l.op == CompareOp::kIn) {
      out += " (";
      for (size_t i = 0; i < l.literals.size(); ++i) out += (i ? ", " : "") + format::DatumDebugString(l.literals[i]);
      out += ")";
    } else if (l.op != CompareOp::kIsNull && l.op != CompareOp::kIsNotNull) {
      out += " " + format::DatumDebugString(l.literal);
    }
  }
  return out;
}

namespace {

bool Comparable(const DataType& type, const Datum& literal) {
  if (literal.is_null() || type.is_nested()) return false;
  switch (type.physical()) {
    case format::PhysicalKind::kInt: return literal.kind() == Datum::Kind::kInt || literal.kind() == Datum::Kind::kBool;
    case format::PhysicalKind::kDouble: return literal.kind() == Datum::Kind::kDouble;
    case format::PhysicalKind::kBytes: return literal.kind() == Datum::Kind::kBytes;
    case format::PhysicalKind::kDecimal: return literal.kind() == Datum::Kind::kDecimal;
    case format::PhysicalKind::kTimestamp: return literal.kind() == Datum::Kind::kTimestamp;
    default: return false;
  }
}

bool TestOrder(CompareOp op, int c) {
  switch (op) {
    case CompareOp::kEq: return c == 0;
    case CompareOp::kNe: return c != 0;
    case CompareOp::kLt: return c < 0;
    case CompareOp::kLe: return c <= 0;
    case CompareOp::kGt: return c > 0;
    case CompareOp::kGe: return c >= 0;
    default: return false;
  }
}

// Splits on the keyword AND outside single quotes.
std::vector<std::string> SplitConjunction(std::string_view text) {
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\'') quoted = !quoted;
    bool word_start = i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1]));
    if (!quoted && word_start && i + 3 <= text.size() && EqualsIgnoreCase(text.substr(i, 3), "and") &&
        (i + 3 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 3])))) {
      parts.emplace_back(Trim(cur));
      cur.clear();
      i += 2;
      continue;
    }
    cur.push_back(c);
  }
  parts.emplace_back(Trim(cur));
  return parts;
}

Result<Datum> ParseLiteral(std::string_view text, const DataType& type, std::string_view where) {
  text = Trim(text);
  JsonValue json;
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
    std::string s(text.substr(1, text.size() - 2));
    // SQL doubles quotes inside a literal: 'it''s'.
    std::string unescaped;
    for (size_t i = 0; i < s.size(); ++i) {
      unescaped.push_back(s[i]);
      if (s[i] == '\'' && i + 1 < s.size() && s[i + 1] == '\'') ++i;
    }
    json = JsonValue::String(unescaped);
  } else if (EqualsIgnoreCase(text, "true") || EqualsIgnoreCase(text, "false")) {
    json = JsonValue::Bool(EqualsIgnoreCase(text, "true"));
  } else {
    auto parsed = ParseJson(text, "literal");
    if (!parsed.ok() || !parsed->is_number()) {
      return Status::InvalidArgument("filter \"" + std::string(where) + "\": cannot read literal " + std::string(text));
    }
    json = *parsed;
  }
  auto d = format::DatumFromJson(json, type.WithNullable(true));
  if (!d.ok()) return d.status().WithContext("filter \"" + std::string(where) + "\"");
  return d;
}

}  // namespace

Result<Predicate> Predicate::Parse(std::string_view text, const format::RowType& type) {
  Predicate p;
  if (Trim(text).empty()) return p;
  static const std::pair<const char*, CompareOp> kOps[] = {{"<=", CompareOp::kLe}, {">=", CompareOp::kGe},
                                                           {"!=", CompareOp::kNe}, {"<>", CompareOp::kNe},
                                                           {"=", CompareOp::kEq},  {"<", CompareOp::kLt},
                                                           {">", CompareOp::kGt}};
  for (const std::string& part : SplitConjunction(text)) {
    if (part.empty()) return Status::InvalidArgument("filter \"" + std::string(text) + "\" has an empty condition");
    std::string upper = ToUpper(part);
    PredicateLeaf leaf;
    if (upper.size() > 12 && upper.compare(upper.size() - 12, 12, " IS NOT NULL") == 0) {
      leaf.field = std::string(Trim(std::string_view(part).substr(0, part.size() - 12)));
      leaf.op = CompareOp::kIsNotNull;
    } else if (upper.size() > 8 && upper.compare(upper.size() - 8, 8, " IS NULL") == 0) {
      leaf.field = std::string(Trim(std::string_view(part).substr(0, part.size() - 8)));
      leaf.op = CompareOp::kIsNull;
    } else {
      size_t pos = std::string::npos, len = 0;
      for (const auto& [sym, op] : kOps) {
        size_t at = part.find(sym);
        if (at != std::string::npos && (pos == std::string::npos || at < pos)) {
          pos = at;
          len = std::string_view(sym).size();
          leaf.op = op;
        }
      }
      if (pos == std::string::npos) {
        return Status::InvalidArgument("filter condition \"" + part + "\" has no comparison (=, !=, <, <=, >, >=)");
      }
      leaf.field = std::string(Trim(std::string_view(part).substr(0, pos)));
      int idx = type.IndexOf(leaf.field);
      if (idx < 0) return Status::InvalidArgument("filter names unknown column \"" + leaf.field + "\"");
      KL_ASSIGN_OR_RETURN(leaf.literal, ParseLiteral(std::string_view(part).substr(pos + len),
                                                     type.type(static_cast<size_t>(idx)), part));
    }
    p.And(std::move(leaf));
  }
  KL_RETURN_IF_ERROR(p.Validate(type));
  return p;
}

Status Predicate::Validate(const format::RowType& type) const {
  for (const auto& l : leaves_) {
    int idx = type.IndexOf(l.field);
    if (idx < 0) return Status::InvalidArgument("filter names unknown column \"" + l.field + "\"");
    if (l.op == CompareOp::kIsNull || l.op == CompareOp::kIsNotNull) continue;
    const DataType& t = type.type(static_cast<size_t>(idx));
    if (l.op == CompareOp::kIn) {
      for (const auto& v : l.literals) {
        if (!Comparable(t, v)) {
          return Status::InvalidArgument("filter compares column " + l.field + " (" + t.ToString() + ") with " +
                                         format::DatumDebugString(v));
        }
      }
      continue;
    }
    if (!Comparable(t, l.literal)) {
      return Status::InvalidArgument("filter compares column " + l.field + " (" + t.ToString() + ") with " +
                                     format::DatumDebugString(l.literal));
    }
  }
  return Status::OK();
}

bool LeafMatches(const PredicateLeaf& leaf, const format::Column& column, size_t row) {
  bool null = column.IsNull(row);
  if (leaf.op == CompareOp::kIsNull) return null;
  if (leaf.op == CompareOp::kIsNotNull) return !null;
  if (null) return false;
  if (leaf.op == CompareOp::kIn) {
    const auto& values = leaf.literals;
    if (column.kind() == format::PhysicalKind::kBytes) {
      std::string_view x = column.GetBytes(row);
      auto it = std::lower_bound(values.begin(), values.end(), x, [](const Datum& d, std::string_view v) {
        return d.kind() == Datum::Kind::kBytes ? d.as_bytes() < v : true;
      });
      return it != values.end() && it->kind() == Datum::Kind::kBytes && it->as_bytes() == x;
    }
    Datum v = column.Get(row);
    auto it = std::lower_bound(values.begin(), values.end(), v,
                               [](const Datum& a, const Datum& b) { return format::CompareDatum(a, b) < 0; });
    return it != values.end() && format::CompareDatum(*it, v) == 0;
  }
  // Strings and integers compare in place (no Datum copy): these are most filters.
  if (column.kind() == format::PhysicalKind::kBytes && leaf.literal.kind() == Datum::Kind::kBytes) {
    int c = column.GetBytes(row).compare(leaf.literal.as_bytes());
    return TestOrder(leaf.op, c < 0 ? -1 : c > 0 ? 1 : 0);
  }
  if (column.kind() == format::PhysicalKind::kInt && leaf.literal.kind() == Datum::Kind::kInt) {
    int64_t x = column.GetInt(row), y = leaf.literal.as_int();
    return TestOrder(leaf.op, x < y ? -1 : x > y ? 1 : 0);
  }
  Datum v = column.Get(row);
  if (v.kind() == Datum::Kind::kDouble && std::isnan(v.as_double())) {
    // NaN compares unequal to everything (and is not ordered).
    return leaf.op == CompareOp::kNe;
  }
  return TestOrder(leaf.op, format::CompareDatum(v, leaf.literal));
}

bool LeafMayMatch(const PredicateLeaf& leaf, const ValueRange* range) {
  if (range == nullptr) return true;
  bool all_null = range->has_null_count && range->num_values > 0 && range->null_count >= range->num_values;
  switch (leaf.op) {
    case CompareOp::kIsNull: return !range->has_null_count || range->null_count > 0;
    case CompareOp::kIsNotNull: return !all_null;
    default: break;
  }
  if (all_null) return false;  // comparisons with null are never true
  if (leaf.op == CompareOp::kIn && leaf.literals.empty()) return false;
  if (!range->has_min_max || range->min.is_null() || range->max.is_null()) return true;
  if (leaf.op == CompareOp::kIn) {
    // Some value lies in [min, max]: the first one not below min is not above max.
    for (const auto& v : leaf.literals) {
      if (v.kind() != range->min.kind() || v.kind() != range->max.kind()) return true;
    }
    auto it = std::lower_bound(leaf.literals.begin(), leaf.literals.end(), range->min,
                               [](const Datum& a, const Datum& b) { return format::CompareDatum(a, b) < 0; });
    return it != leaf.literals.end() && format::CompareDatum(*it, range->max) <= 0;
  }
  // Bounds of another kind (a file written before a type change) say nothing here.
  if (range->min.kind() != leaf.literal.kind() || range->max.kind() != leaf.literal.kind()) return true;
  int lo = format::CompareDatum(leaf.literal, range->min);  // literal vs min
  int hi = format::CompareDatum(leaf.literal, range->max);  // literal vs max
  switch (leaf.op) {
    case CompareOp::kEq: return lo >= 0 && hi <= 0;
    case CompareOp::kNe:
      // Only a range of values all equal to the literal excludes a match; floats may
      // also hold NaNs, which statistics leave out and which are != everything.
      return !(lo == 0 && hi == 0) || leaf.literal.kind() == Datum::Kind::kDouble;
    case CompareOp::kLt: return lo > 0;                 // some value < literal  <=> min < literal
    case CompareOp::kLe: return lo >= 0;
    case CompareOp::kGt: return hi < 0;                 // some value > literal  <=> max > literal
    case CompareOp::kGe: return hi <= 0;
    default: return true;
  }
}

}  // namespace kl::table
