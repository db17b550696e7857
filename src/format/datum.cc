#include "format/datum.h"

#include <cmath>
#include <cstdio>

#include "common/clock.h"
#include "common/string_util.h"
#include "format/interval.h"

namespace kl::format {
namespace {

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

Status TypeMismatch(const JsonValue& json, const DataType& type) {
  return Status::InvalidArgument("value " + json.ToJson() + " does not fit type " + type.ToString());
}

}  // namespace

Timestamp Timestamp::FromMicros(int64_t micros) {
  int64_t millis = FloorDiv(micros, 1000);
  return Timestamp{millis, static_cast<int32_t>((micros - millis * 1000) * 1000)};
}

Timestamp Timestamp::FromNanos(int64_t nanos) {
  int64_t millis = FloorDiv(nanos, 1000000);
  return Timestamp{millis, static_cast<int32_t>(nanos - millis * 1000000)};
}

std::string_view RowKindShortString(RowKind k) {
  switch (k) {
    case RowKind::kInsert: return "+I";
    case RowKind::kUpdateBefore: return "-U";
    case RowKind::kUpdateAfter: return "+U";
    case RowKind::kDelete: return "-D";
  }
  return "?";
}

Result<RowKind> ParseRowKind(std::string_view s) {
  if (s == "+I") return RowKind::kInsert;
  if (s == "-U") return RowKind::kUpdateBefore;
  if (s == "+U") return RowKind::kUpdateAfter;
  if (s == "-D") return RowKind::kDelete;
  return Status::InvalidArgument("unknown row kind \"" + std::string(s) + "\" (expected +I, -U, +U or -D)");
}

Result<RowKind> RowKindFromByte(int64_t v) {
  if (v < 0 || v > 3) return Status::Corruption("invalid row kind byte " + std::to_string(v));
  return static_cast<RowKind>(v);
}

bool Datum::operator==(const Datum& other) const { return CompareDatum(*this, other) == 0 && kind() == other.kind(); }

int CompareDatum(const Datum& a, const Datum& b) {
  if (a.is_null() || b.is_null()) return Cmp(!a.is_null(), !b.is_null());
  if (a.kind() != b.kind()) {
    // Mixed numeric kinds compare by value; anything else by kind.
    if ((a.kind() == Datum::Kind::kInt || a.kind() == Datum::Kind::kBool) && b.kind() == Datum::Kind::kDouble) {
      return Cmp(static_cast<double>(a.as_int()), b.as_double());
    }
    if (a.kind() == Datum::Kind::kDouble && (b.kind() == Datum::Kind::kInt || b.kind() == Datum::Kind::kBool)) {
      return Cmp(a.as_double(), static_cast<double>(b.as_int()));
    }
    if ((a.kind() == Datum::Kind::kInt || a.kind() == Datum::Kind::kBool) &&
        (b.kind() == Datum::Kind::kInt || b.kind() == Datum::Kind::kBool)) {
      return Cmp(a.as_int(), b.as_int());
    }
    return Cmp(static_cast<int>(a.kind()), static_cast<int>(b.kind()));
  }
  switch (a.kind()) {
    case Datum::Kind::kNull: return 0;
    case Datum::Kind::kBool: return Cmp(a.as_bool(), b.as_bool());
    case Datum::Kind::kInt: return Cmp(a.as_int(), b.as_int());
    case Datum::Kind::kDouble: {
      // NaN sorts after everything, equal to itself (as Java's Double.compare).
      double x = a.as_double(), y = b.as_double();
      if (std::isnan(x) || std::isnan(y)) return Cmp(std::isnan(x), std::isnan(y));
      return Cmp(x, y);
    }
    case Datum::Kind::kBytes: {
      int c = a.as_bytes().compare(b.as_bytes());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Datum::Kind::kDecimal: return Cmp(a.as_decimal(), b.as_decimal());
    case Datum::Kind::kTimestamp: return Cmp(a.as_timestamp(), b.as_timestamp());
    case Datum::Kind::kList: {
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
        int c = CompareDatum(x[i], y[i]);
        if (c != 0) return c;
      }
      return Cmp(x.size(), y.size());
    }
  }
  return 0;
}

int CompareRows(const Row& a, const Row& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    int c = CompareDatum(a[i], b[i]);
    if (c != 0) return c;
  }
  return Cmp(a.size(), b.size());
}

std::string FormatDecimal(Int128 unscaled, int scale) {
  bool negative = unscaled < 0;
  unsigned __int128 v =
      negative ? static_cast<unsigned __int128>(-(unscaled + 1)) + 1 : static_cast<unsigned __int128>(unscaled);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  while (static_cast<int>(digits.size()) <= scale) digits.push_back('0');
  std::string out = negative ? "-" : "";
  for (size_t i = digits.size(); i-- > 0;) {
    out.push_back(digits[i]);
    if (scale > 0 && i == static_cast<size_t>(scale)) out.push_back('.');
  }
  return out;
}

Result<Int128> ParseDecimal(std::string_view text, int precision, int scale) {
  std::string_view s = Trim(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  Int128 v = 0;
  int frac_digits = -1;
  int digits = 0;
  for (char c : s) {
    if (c == '.') {
      if (frac_digits >= 0) return Status::InvalidArgument("bad decimal \"" + std::string(text) + "\"");
      frac_digits = 0;
      continue;
    }
    if (c < '0' || c > '9') return Status::InvalidArgument("bad decimal \"" + std::string(text) + "\"");
    if (frac_digits >= 0) {
      if (frac_digits == scale) continue;  // extra digits are truncated
      ++frac_digits;
    }
    v = v * 10 + (c - '0');
    if (++digits > 38) return Status::InvalidArgument("decimal \"" + std::string(text) + "\" has too many digits");
  }
  if (frac_digits < 0) frac_digits = 0;
  for (; frac_digits < scale; ++frac_digits) v *= 10;
  Int128 limit = 1;
  for (int i = 0; i < precision; ++i) limit *= 10;
  if (v >= limit) {
    return Status::InvalidArgument("decimal \"" + std::string(text) + "\" overflows DECIMAL(" +
                                   std::to_string(precision) + ", " + std::to_string(scale) + ")");
  }
  return negative ? -v : v;
}

std::string FormatDate(int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

std::string FormatTimestamp(Timestamp ts) {
  int64_t days = FloorDiv(ts.millis, 86400000);
  int64_t ms_of_day = ts.millis - days * 86400000;
  int64_t secs = ms_of_day / 1000;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%sT%02d:%02d:%02d", FormatDate(days).c_str(), static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  std::string out = buf;
  int64_t nanos = (ms_of_day % 1000) * 1000000 + ts.nanos;
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), ".%09lld", static_cast<long long>(nanos));
    std::string f = frac;
    // Java's LocalDateTime style: 3, 6 or 9 fraction digits.
    if (nanos % 1000000 == 0)
      f.resize(4);
    else if (nanos % 1000 == 0)
      f.resize(7);
    out += f;
  }
  return out;
}

Result<Timestamp> ParseTimestamp(std::string_view text) {
  std::string s(Trim(text));
  int y, mo, d, h = 0, mi = 0, sec = 0;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%d%n", &y, &mo, &d, &consumed) != 3) {
    return Status::InvalidArgument("bad timestamp \"" + s + "\"");
  }
  size_t pos = static_cast<size_t>(consumed);
  int64_t nanos = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    int n = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%d:%d:%d%n", &h, &mi, &sec, &n) < 2) {
      return Status::InvalidArgument("bad timestamp \"" + s + "\"");
    }
    pos += 1 + static_cast<size_t>(n);
    if (n == 0) pos = s.size();
    if (pos < s.size() && s[pos] == '.') {
      int digits = 0;
      ++pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 9) nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      for (; digits < 9; ++digits) nanos *= 10;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return Status::InvalidArgument("bad timestamp \"" + s + "\"");
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t millis = ((days * 24 + h) * 60 + mi) * 60000 + static_cast<int64_t>(sec) * 1000 + nanos / 1000000;
  return Timestamp{millis, static_cast<int32_t>(nanos % 1000000)};
}

void WriteDatumJson(JsonWriter* w, const Datum& d, const DataType& type) {
  if (d.is_null()) {
    w->Null();
    return;
  }
  switch (type.root()) {
    case TypeRoot::kBoolean: w->Bool(d.as_int() != 0); return;
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt:
    case TypeRoot::kDate:
    case TypeRoot::kTime: w->Int(d.as_int()); return;
    case TypeRoot::kFloat:
    case TypeRoot::kDouble: w->Double(d.as_double()); return;
    case TypeRoot::kDecimal: w->String(FormatDecimal(d.as_decimal(), type.scale())); return;
    case TypeRoot::kInterval: w->String(FormatInterval(IntervalFromKey(d.as_decimal()))); return;
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: w->String(d.as_bytes()); return;
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: w->String(FormatTimestamp(d.as_timestamp())); return;
    case TypeRoot::kArray:
    case TypeRoot::kMultiset:
      w->BeginArray();
      for (const auto& item : d.as_list()) WriteDatumJson(w, item, type.element());
      w->EndArray();
      return;
    case TypeRoot::kMap: {
      const auto& items = d.as_list();
      w->BeginArray();
      for (size_t i = 0; i + 1 < items.size(); i += 2) {
        w->BeginArray();
        WriteDatumJson(w, items[i], type.key());
        WriteDatumJson(w, items[i + 1], type.value());
        w->EndArray();
      }
      w->EndArray();
      return;
    }
    case TypeRoot::kRow: {
      const auto& items = d.as_list();
      w->BeginArray();
      for (size_t i = 0; i < items.size() && i < type.fields().size(); ++i) {
        WriteDatumJson(w, items[i], type.fields()[i].type);
      }
      w->EndArray();
      return;
    }
  }
}

Result<Datum> DatumFromJson(const JsonValue& json, const DataType& type) {
  if (json.is_null()) {
    if (!type.nullable()) return Status::InvalidArgument("null for NOT NULL type " + type.ToString());
    return Datum();
  }
  switch (type.root()) {
    case TypeRoot::kBoolean:
      if (json.is_bool()) return Datum::Bool(json.as_bool());
      return TypeMismatch(json, type);
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt:
    case TypeRoot::kTime: {
      int64_t v;
      if (json.is_int())
        v = json.as_int();
      else if (json.is_string() && ParseInt64(json.as_string()))
        v = *ParseInt64(json.as_string());
      else
        return TypeMismatch(json, type);
      int64_t lo = INT64_MIN, hi = INT64_MAX;
      if (type.root() == TypeRoot::kTinyInt) lo = -128, hi = 127;
      if (type.root() == TypeRoot::kSmallInt) lo = -32768, hi = 32767;
      if (type.root() == TypeRoot::kInt || type.root() == TypeRoot::kTime) lo = INT32_MIN, hi = INT32_MAX;
      if (v < lo || v > hi)
        return Status::InvalidArgument(std::to_string(v) + " is out of range for " + type.ToString());
      return Datum::Int(v);
    }
    case TypeRoot::kDate: {
      if (json.is_int()) return Datum::Int(json.as_int());
      if (json.is_string()) {
        KL_ASSIGN_OR_RETURN(Timestamp ts, ParseTimestamp(json.as_string()));
        return Datum::Int(FloorDiv(ts.millis, 86400000));
      }
      return TypeMismatch(json, type);
    }
    case TypeRoot::kFloat:
    case TypeRoot::kDouble:
      if (json.is_number()) return Datum::Double(json.as_double());
      if (json.is_string()) {
        const std::string& s = json.as_string();
        if (s == "NaN") return Datum::Double(NAN);
        if (s == "Infinity") return Datum::Double(INFINITY);
        if (s == "-Infinity") return Datum::Double(-INFINITY);
        if (auto v = ParseDouble(s)) return Datum::Double(*v);
      }
      return TypeMismatch(json, type);
    case TypeRoot::kDecimal: {
      std::string text;
      if (json.is_string())
        text = json.as_string();
      else if (json.is_int())
        text = std::to_string(json.as_int());
      else if (json.is_number())
        text = FormatDouble(json.as_double());
      else
        return TypeMismatch(json, type);
      KL_ASSIGN_OR_RETURN(Int128 v, ParseDecimal(text, type.precision(), type.scale()));
      return Datum::Decimal(v);
    }
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary:
      if (json.is_string()) return Datum::Bytes(json.as_string());
      // A string column takes any JSON as its text, as JSON_VALUE-free loaders do.
      if (type.is_string()) return Datum::Bytes(json.ToJson());
      return TypeMismatch(json, type);
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz:
      if (json.is_int()) return Datum::Time(Timestamp{json.as_int(), 0});
      if (json.is_string()) {
        KL_ASSIGN_OR_RETURN(Timestamp ts, ParseTimestamp(json.as_string()));
        return Datum::Time(ts);
      }
      return TypeMismatch(json, type);
    case TypeRoot::kArray:
    case TypeRoot::kMultiset: {
      if (!json.is_array()) return TypeMismatch(json, type);
      DatumList items;
      for (const auto& item : json.items()) {
        KL_ASSIGN_OR_RETURN(Datum d, DatumFromJson(item, type.element()));
        items.push_back(std::move(d));
      }
      return Datum::List(std::move(items));
    }
    case TypeRoot::kMap: {
      DatumList items;
      if (json.is_array()) {
        for (const auto& pair : json.items()) {
          if (!pair.is_array() || pair.items().size() != 2) return TypeMismatch(json, type);
          KL_ASSIGN_OR_RETURN(Datum k, DatumFromJson(pair.items()[0], type.key()));
          KL_ASSIGN_OR_RETURN(Datum v, DatumFromJson(pair.items()[1], type.value()));
          items.push_back(std::move(k));
          items.push_back(std::move(v));
        }
      } else if (json.is_object()) {
        for (const auto& [k, v] : json.members()) {
          KL_ASSIGN_OR_RETURN(Datum kd, DatumFromJson(JsonValue::String(k), type.key()));
          KL_ASSIGN_OR_RETURN(Datum vd, DatumFromJson(v, type.value()));
          items.push_back(std::move(kd));
          items.push_back(std::move(vd));
        }
      } else {
        return TypeMismatch(json, type);
      }
      return Datum::List(std::move(items));
    }
    case TypeRoot::kInterval: return TypeMismatch(json, type);  // read by the SQL engine, not from JSON
    case TypeRoot::kRow: {
      DatumList items;
      const auto& fields = type.fields();
      if (json.is_array()) {
        if (json.items().size() != fields.size()) return TypeMismatch(json, type);
        for (size_t i = 0; i < fields.size(); ++i) {
          KL_ASSIGN_OR_RETURN(Datum d, DatumFromJson(json.items()[i], fields[i].type));
          items.push_back(std::move(d));
        }
      } else if (json.is_object()) {
        for (const auto& f : fields) {
          const JsonValue* v = json.Find(f.name);
          KL_ASSIGN_OR_RETURN(Datum d, DatumFromJson(v != nullptr ? *v : JsonValue(), f.type));
          items.push_back(std::move(d));
        }
      } else {
        return TypeMismatch(json, type);
      }
      return Datum::List(std::move(items));
    }
  }
  return TypeMismatch(json, type);
}

std::string DatumToString(const Datum& d, const DataType& type) {
  if (d.is_null()) return "NULL";
  switch (type.physical()) {
    case PhysicalKind::kBytes: return d.as_bytes();
    case PhysicalKind::kTimestamp: return FormatTimestamp(d.as_timestamp());
    case PhysicalKind::kDecimal:
      if (type.root() == TypeRoot::kInterval) return FormatInterval(IntervalFromKey(d.as_decimal()));
      return FormatDecimal(d.as_decimal(), type.scale());
    case PhysicalKind::kDouble: return FormatDouble(d.as_double());
    case PhysicalKind::kInt:
      if (type.root() == TypeRoot::kBoolean) return d.as_int() != 0 ? "true" : "false";
      if (type.root() == TypeRoot::kDate) return FormatDate(d.as_int());
      return std::to_string(d.as_int());
    case PhysicalKind::kNested: {
      JsonWriter w;
      WriteDatumJson(&w, d, type);
      return w.Release();
    }
  }
  return "";
}

std::string DatumDebugString(const Datum& d) {
  switch (d.kind()) {
    case Datum::Kind::kNull: return "null";
    case Datum::Kind::kBool: return d.as_bool() ? "true" : "false";
    case Datum::Kind::kInt: return std::to_string(d.as_int());
    case Datum::Kind::kDouble: return FormatDouble(d.as_double());
    case Datum::Kind::kBytes: return "\"" + d.as_bytes() + "\"";
    case Datum::Kind::kDecimal: return FormatDecimal(d.as_decimal(), 0) + "e-?";
    case Datum::Kind::kTimestamp: return FormatTimestamp(d.as_timestamp());
    case Datum::Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < d.as_list().size(); ++i) out += (i > 0 ? ", " : "") + DatumDebugString(d.as_list()[i]);
      return out + "]";
    }
  }
  return "?";
}

}  // namespace kl::format
