#include "table/schema/cast.h"

#include <cstdio>

#include "common/json.h"
#include "common/string_util.h"

namespace kl::table {

using format::Column;
using format::DataType;
using format::Datum;
using format::DatumList;
using format::PhysicalKind;
using format::Timestamp;
using format::TypeRoot;

namespace {

constexpr int64_t kMillisPerDay = 86400000;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int IntegerRank(TypeRoot r) {
  switch (r) {
    case TypeRoot::kTinyInt: return 1;
    case TypeRoot::kSmallInt: return 2;
    case TypeRoot::kInt: return 3;
    case TypeRoot::kBigInt: return 4;
    default: return 0;
  }
}

bool IsTimestamp(const DataType& t) { return t.root() == TypeRoot::kTimestamp || t.root() == TypeRoot::kTimestampLtz; }

int64_t WrapInteger(int64_t v, TypeRoot to) {
  switch (to) {
    case TypeRoot::kTinyInt: return static_cast<int8_t>(v);
    case TypeRoot::kSmallInt: return static_cast<int16_t>(v);
    case TypeRoot::kInt: return static_cast<int32_t>(v);
    default: return v;
  }
}

// Drops digits below the precision (floor, so negative times stay ordered).
Timestamp TruncateTimestamp(Timestamp ts, int precision) {
  if (precision >= 9) return ts;
  if (precision >= 3) {
    int32_t unit = precision >= 6 ? 1000 : 1000000;
    if (precision == 4) unit = 100000;
    if (precision == 5) unit = 10000;
    if (precision == 7) unit = 100;
    if (precision == 8) unit = 10;
    ts.nanos = ts.nanos / unit * unit;
    return ts;
  }
  int64_t div = precision == 0 ? 1000 : (precision == 1 ? 100 : 10);
  ts.millis = FloorDiv(ts.millis, div) * div;
  ts.nanos = 0;
  return ts;
}

// Paimon's text of a wall-clock time: "yyyy-MM-dd HH:mm:ss" and `precision` fraction digits.
std::string TimestampText(Timestamp ts, int precision) {
  int64_t days = FloorDiv(ts.millis, kMillisPerDay);
  int64_t ms_of_day = ts.millis - days * kMillisPerDay;
  int64_t secs = ms_of_day / 1000;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s %02d:%02d:%02d", format::FormatDate(days).c_str(), static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  std::string out = buf;
  if (precision > 0) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), "%09lld", static_cast<long long>((ms_of_day % 1000) * 1000000 + ts.nanos));
    out += "." + std::string(frac, static_cast<size_t>(std::min(precision, 9)));
  }
  return out;
}

Timestamp Shift(Timestamp ts, int64_t millis) { return Timestamp{ts.millis + millis, ts.nanos}; }

Status Unsupported(const DataType& from, const DataType& to) {
  return Status::NotSupported("cast from " + from.ToString() + " to " + to.ToString());
}

Result<Datum> FromText(const std::string& text, const DataType& to, const CastOptions& options) {
  if (to.root() == TypeRoot::kBoolean) {
    // Paimon's string-to-boolean: these words in any case, after trimming.
    std::string t = ToLower(Trim(text));
    if (t == "t" || t == "true" || t == "y" || t == "yes" || t == "1") return Datum::Bool(true);
    if (t == "f" || t == "false" || t == "n" || t == "no" || t == "0") return Datum::Bool(false);
    return Status::InvalidArgument("cannot cast \"" + text + "\" to BOOLEAN");
  }
  if (IsTimestamp(to)) {
    auto ts = format::ParseTimestamp(text);
    if (!ts.ok()) return Status::InvalidArgument("cannot cast \"" + text + "\" to " + to.ToString());
    Timestamp wall = TruncateTimestamp(*ts, to.precision());
    return Datum::Time(to.root() == TypeRoot::kTimestampLtz ? Shift(wall, -options.OffsetAtLocal(wall.millis)) : wall);
  }
  auto json = ParseJson(text);
  JsonValue value = json.ok() ? *json : JsonValue::String(text);
  auto parsed = format::DatumFromJson(value, to.WithNullable(true));
  if (!parsed.ok()) parsed = format::DatumFromJson(JsonValue::String(text), to.WithNullable(true));
  if (!parsed.ok()) return Status::InvalidArgument("cannot cast \"" + text + "\" to " + to.ToString());
  return parsed;
}

std::string ToText(const Datum& d, const DataType& from, const CastOptions& options) {
  switch (from.root()) {
    case TypeRoot::kTimestamp: return TimestampText(d.as_timestamp(), from.precision());
    case TypeRoot::kTimestampLtz:
      return TimestampText(Shift(d.as_timestamp(), options.OffsetAtUtc(d.as_timestamp().millis)), from.precision());
    case TypeRoot::kDate: return format::FormatDate(d.as_int());
    case TypeRoot::kBoolean: return d.as_int() != 0 ? "true" : "false";
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: return d.as_bytes();
    default: return format::DatumToString(d, from);
  }
}

Result<Datum> CastNested(const Datum& d, const DataType& from, const DataType& to, const CastOptions& options) {
  const DatumList& items = d.as_list();
  bool list_like_from = from.root() == TypeRoot::kArray || from.root() == TypeRoot::kMultiset;
  bool list_like_to = to.root() == TypeRoot::kArray || to.root() == TypeRoot::kMultiset;
  if (list_like_from && list_like_to && from.root() == to.root()) {
    DatumList out;
    out.reserve(items.size());
    for (const auto& item : items) {
      KL_ASSIGN_OR_RETURN(Datum v, CastDatum(item, from.element(), to.element(), options));
      out.push_back(std::move(v));
    }
    return Datum::List(std::move(out));
  }
  if (from.root() == TypeRoot::kMap && to.root() == TypeRoot::kMap) {
    DatumList out;
    out.reserve(items.size());
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      KL_ASSIGN_OR_RETURN(Datum k, CastDatum(items[i], from.key(), to.key(), options));
      KL_ASSIGN_OR_RETURN(Datum v, CastDatum(items[i + 1], from.value(), to.value(), options));
      out.push_back(std::move(k));
      out.push_back(std::move(v));
    }
    return Datum::List(std::move(out));
  }
  if (from.root() == TypeRoot::kRow && to.root() == TypeRoot::kRow) {
    // Nested fields carry ids too: match them like top-level columns (added fields read
    // as null, renamed and reordered ones by id); without ids, by position.
    const auto& ff = from.fields();
    const auto& tf = to.fields();
    bool by_id = false;
    for (const auto& f : tf) {
      for (const auto& g : ff) by_id = by_id || (f.id >= 0 && f.id == g.id);
    }
    DatumList out;
    for (size_t i = 0; i < tf.size(); ++i) {
      int src = -1;
      if (by_id) {
        for (size_t j = 0; j < ff.size(); ++j) {
          if (ff[j].id == tf[i].id) src = static_cast<int>(j);
        }
      } else if (i < ff.size()) {
        src = static_cast<int>(i);
      }
      if (src < 0 || static_cast<size_t>(src) >= items.size()) {
        out.emplace_back();
        continue;
      }
      KL_ASSIGN_OR_RETURN(
          Datum v, CastDatum(items[static_cast<size_t>(src)], ff[static_cast<size_t>(src)].type, tf[i].type, options));
      out.push_back(std::move(v));
    }
    return Datum::List(std::move(out));
  }
  return Unsupported(from, to);
}

}  // namespace

Result<int64_t> ParseTimeZoneOffset(std::string_view zone) {
  std::string z(Trim(zone));
  std::string upper = ToUpper(z);
  for (const char* prefix : {"UTC", "GMT"}) {
    if (upper.rfind(prefix, 0) == 0) {
      z = z.substr(3);
      break;
    }
  }
  if (z.empty() || z == "Z" || z == "z") return int64_t{0};
  int sign = z[0] == '-' ? -1 : (z[0] == '+' ? 1 : 0);
  if (sign == 0) {
    return Status::InvalidArgument("time zone \"" + std::string(zone) +
                                   "\": give a fixed offset such as UTC, +08:00 or -05:30");
  }
  std::string digits;
  for (char c : z.substr(1)) {
    if (c != ':') digits.push_back(c);
  }
  auto v = ParseInt64(digits);
  if (!v || digits.empty() || digits.size() > 4)
    return Status::InvalidArgument("time zone \"" + std::string(zone) + "\"");
  int64_t hours = digits.size() <= 2 ? *v : *v / 100;
  int64_t minutes = digits.size() <= 2 ? 0 : *v % 100;
  if (hours > 18 || minutes > 59)
    return Status::InvalidArgument("time zone \"" + std::string(zone) + "\" out of range");
  return sign * (hours * 3600000 + minutes * 60000);
}

bool SameRepresentation(const DataType& from, const DataType& to) {
  if (from.is_string() && to.is_string()) return true;
  if (from.is_binary() && to.is_binary()) return true;
  if (from.root() != to.root()) {
    return IntegerRank(from.root()) > 0 && IntegerRank(to.root()) > 0 &&
           IntegerRank(from.root()) <= IntegerRank(to.root());
  }
  switch (from.root()) {
    case TypeRoot::kDecimal: return from.scale() == to.scale();
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: return to.precision() >= from.precision();
    case TypeRoot::kArray:
    case TypeRoot::kMultiset: return SameRepresentation(from.element(), to.element());
    case TypeRoot::kMap:
      return SameRepresentation(from.key(), to.key()) && SameRepresentation(from.value(), to.value());
    case TypeRoot::kRow: {
      const auto& ff = from.fields();
      const auto& tf = to.fields();
      if (ff.size() != tf.size()) return false;
      for (size_t i = 0; i < ff.size(); ++i) {
        if (ff[i].id != tf[i].id || !SameRepresentation(ff[i].type, tf[i].type)) return false;
      }
      return true;
    }
    default: return true;
  }
}

Result<Datum> CastDatum(const Datum& d, const DataType& from, const DataType& to, const CastOptions& options) {
  if (d.is_null()) return Datum();
  if (SameRepresentation(from, to)) return d;
  if (from.is_nested() && to.is_nested()) return CastNested(d, from, to, options);
  if (from.is_nested() || to.is_nested()) {
    if (to.is_string()) return Datum::Bytes(format::DatumToString(d, from));
    return Unsupported(from, to);
  }
  // To and from text.
  if (to.is_string()) return Datum::Bytes(ToText(d, from, options));
  if (to.is_binary() && from.is_string()) return Datum::Bytes(d.as_bytes());
  if (from.is_string()) return FromText(d.as_bytes(), to, options);
  // Numbers.
  if (IntegerRank(to.root()) > 0) {
    if (IntegerRank(from.root()) > 0 || from.root() == TypeRoot::kBoolean)
      return Datum::Int(WrapInteger(d.as_int(), to.root()));
    if (from.physical() == PhysicalKind::kDouble)
      return Datum::Int(WrapInteger(static_cast<int64_t>(d.as_double()), to.root()));
    if (from.root() == TypeRoot::kDecimal) {
      format::Int128 v = d.as_decimal();
      for (int s = 0; s < from.scale(); ++s) v /= 10;
      return Datum::Int(WrapInteger(static_cast<int64_t>(v), to.root()));
    }
    // Epoch seconds of the instant (a wall-clock time is placed in the session zone).
    if (IsTimestamp(from)) {
      int64_t millis = d.as_timestamp().millis;
      if (from.root() == TypeRoot::kTimestamp) millis -= options.OffsetAtLocal(millis);
      return Datum::Int(WrapInteger(FloorDiv(millis, 1000), to.root()));
    }
  }
  if (to.physical() == PhysicalKind::kDouble) {
    if (from.physical() == PhysicalKind::kInt && from.root() != TypeRoot::kDate && from.root() != TypeRoot::kTime) {
      return Datum::Double(static_cast<double>(d.as_int()));
    }
    if (from.physical() == PhysicalKind::kDouble) {
      return Datum::Double(to.root() == TypeRoot::kFloat ? static_cast<double>(static_cast<float>(d.as_double()))
                                                         : d.as_double());
    }
    if (from.root() == TypeRoot::kDecimal) {
      double v = static_cast<double>(d.as_decimal());
      for (int s = 0; s < from.scale(); ++s) v /= 10;
      return Datum::Double(v);
    }
  }
  if (to.root() == TypeRoot::kDecimal) {
    if (IntegerRank(from.root()) > 0) {
      format::Int128 v = d.as_int();
      for (int s = 0; s < to.scale(); ++s) v *= 10;
      return Datum::Decimal(v);
    }
    if (from.root() == TypeRoot::kDecimal) {
      format::Int128 v = d.as_decimal();
      for (int s = from.scale(); s < to.scale(); ++s) v *= 10;
      for (int s = to.scale(); s < from.scale(); ++s) v /= 10;
      return Datum::Decimal(v);
    }
    if (from.physical() == PhysicalKind::kDouble) return FromText(format::DatumToString(d, from), to, options);
  }
  if (to.root() == TypeRoot::kBoolean && IntegerRank(from.root()) > 0) return Datum::Bool(d.as_int() != 0);
  // Dates and times.
  if (IsTimestamp(to)) {
    bool to_ltz = to.root() == TypeRoot::kTimestampLtz;
    Timestamp ts;
    if (IsTimestamp(from)) {
      ts = d.as_timestamp();
      bool from_ltz = from.root() == TypeRoot::kTimestampLtz;
      if (from_ltz && !to_ltz) ts = Shift(ts, options.OffsetAtUtc(ts.millis));     // instant -> wall clock
      if (!from_ltz && to_ltz) ts = Shift(ts, -options.OffsetAtLocal(ts.millis));  // wall clock -> instant
    } else if (from.root() == TypeRoot::kDate) {
      ts = Timestamp{d.as_int() * kMillisPerDay, 0};
      if (to_ltz) ts = Shift(ts, -options.OffsetAtLocal(ts.millis));
    } else if (IntegerRank(from.root()) > 0) {
      ts = Timestamp{d.as_int() * 1000, 0};  // epoch seconds
      if (!to_ltz) ts = Shift(ts, options.OffsetAtUtc(ts.millis));
    } else {
      return Unsupported(from, to);
    }
    return Datum::Time(TruncateTimestamp(ts, to.precision()));
  }
  if (to.root() == TypeRoot::kDate && IsTimestamp(from)) {
    int64_t wall = d.as_timestamp().millis;
    if (from.root() == TypeRoot::kTimestampLtz) wall += options.OffsetAtUtc(wall);
    return Datum::Int(FloorDiv(wall, kMillisPerDay));
  }
  if (to.root() == from.root()) {
    // Same root, narrower representation: integers wrap, timestamps lose digits.
    if (IntegerRank(to.root()) > 0) return Datum::Int(WrapInteger(d.as_int(), to.root()));
  }
  return Unsupported(from, to);
}

Result<Column> CastColumn(const Column& src, const DataType& to, const CastOptions& options) {
  Column out(to);
  out.Reserve(src.size());
  const DataType& from = src.type();
  if (SameRepresentation(from, to) && from.physical() == to.physical()) {
    out.AppendRange(src, 0, src.size());
    return out;
  }
  for (size_t i = 0; i < src.size(); ++i) {
    if (src.IsNull(i)) {
      out.AppendNull();
      continue;
    }
    KL_ASSIGN_OR_RETURN(Datum v, CastDatum(src.Get(i), from, to, options));
    out.Append(v);
  }
  return out;
}

}  // namespace kl::table
