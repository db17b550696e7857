#include "sql/functions/postgres_text.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common/clock.h"
#include "common/json.h"
#include "common/string_util.h"
#include "format/datum.h"
#include "format/interval.h"
#include "sql/functions/datetime/time_zone.h"

namespace kl::sql {

namespace {

using format::DataType;
using format::Datum;
using format::TypeRoot;

Status AppendText(const Datum& v, const DataType& type, const TimeZone* zone, std::string* out);

std::string FormatDate(int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[48];
  if (y <= 0) {
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u BC", static_cast<long long>(1 - y), m, d);
  } else {
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  }
  return buf;
}

// "HH:MM:SS[.ffffff]" of microseconds within a day.
std::string FormatTimeOfDay(int64_t micros) {
  int64_t s = micros / 1000000, frac = micros % 1000000;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  std::string out = buf;
  if (frac != 0) {
    char f[16];
    std::snprintf(f, sizeof(f), ".%06lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out;
}

// An offset as PostgreSQL ends a timestamptz: "+02", "+05:30", "-03:30", "+00:53:28".
std::string FormatZoneOffset(int64_t east_seconds) {
  int64_t a = east_seconds < 0 ? -east_seconds : east_seconds;
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%c%02lld", east_seconds < 0 ? '-' : '+', static_cast<long long>(a / 3600));
  std::string out = buf;
  if (a % 3600 != 0) {
    std::snprintf(buf, sizeof(buf), ":%02lld", static_cast<long long>(a / 60 % 60));
    out += buf;
  }
  if (a % 60 != 0) {
    std::snprintf(buf, sizeof(buf), ":%02lld", static_cast<long long>(a % 60));
    out += buf;
  }
  return out;
}

// A timestamp's text; a timestamptz on the wall clock of `zone` (null = UTC) with its offset then.
std::string FormatTimestamp(int64_t micros, bool with_zone, const TimeZone* zone) {
  int64_t offset = with_zone && zone != nullptr ? zone->OffsetAtUtc(FloorDiv(micros, 1000000)) : 0;
  micros += offset * 1000000;
  int64_t days = FloorDiv(micros, 86400000000LL);
  int64_t in_day = micros - days * 86400000000LL;
  std::string date = FormatDate(days);
  std::string bc;
  if (date.size() > 3 && date.compare(date.size() - 3, 3, " BC") == 0) {
    bc = " BC";
    date.resize(date.size() - 3);
  }
  return date + " " + FormatTimeOfDay(in_day) + (with_zone ? FormatZoneOffset(offset) : "") + bc;
}

std::string FormatFloat(double v, bool single) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  // PostgreSQL's float4out and float8out: the shortest digits that read back exactly, in
  // exponent form when the decimal exponent is below -4 or at least 6 (float4) or 15
  // (float8): "1.234567e+06", "1e+15", "1e-05", "2", "-0".
  char buf[64];
  float f = static_cast<float>(v);
  auto sci = single ? std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific)
                    : std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string text(buf, sci.ptr);
  int exponent = std::atoi(text.c_str() + text.find('e') + 1);
  if (exponent < -4 || exponent >= (single ? 6 : 15)) return text;
  if (single) {
    auto fixed = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::fixed);
    return std::string(buf, fixed.ptr);
  }
  auto fixed = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

// An array element in the text array syntax: quoted when it must be.
void AppendArrayElement(std::string* out, const std::string& text, bool is_null) {
  if (is_null) {
    out->append("NULL");
    return;
  }
  bool quote = text.empty() || EqualsIgnoreCase(text, "NULL");
  for (char c : text) {
    if (c == '"' || c == '\\' || c == '{' || c == '}' || c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
        c == '\v' || c == '\f') {
      quote = true;
    }
  }
  if (!quote) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

// MAP with string keys and ROW as JSON objects (what a json column reader
// expects); other maps as [[key, value], ...].
void WriteNestedJson(JsonWriter* w, const Datum& v, const DataType& type) {
  if (v.is_null()) {
    w->Null();
    return;
  }
  if (type.root() == TypeRoot::kMap && type.key().is_string()) {
    const auto& items = v.as_list();
    w->BeginObject();
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      w->Key(items[i].is_null() ? "" : items[i].as_bytes());
      WriteNestedJson(w, items[i + 1], type.value());
    }
    w->EndObject();
    return;
  }
  if (type.root() == TypeRoot::kRow) {
    const auto& items = v.as_list();
    w->BeginObject();
    for (size_t i = 0; i < type.fields().size() && i < items.size(); ++i) {
      w->Key(type.fields()[i].name);
      WriteNestedJson(w, items[i], type.fields()[i].type);
    }
    w->EndObject();
    return;
  }
  if (type.root() == TypeRoot::kArray || type.root() == TypeRoot::kMultiset) {
    w->BeginArray();
    for (const auto& item : v.as_list()) WriteNestedJson(w, item, type.element());
    w->EndArray();
    return;
  }
  format::WriteDatumJson(w, v, type);
}

Status AppendArrayText(const Datum& v, const DataType& type, const TimeZone* zone, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const Datum& item : v.as_list()) {
    if (!first) out->push_back(',');
    first = false;
    if (!item.is_null() && type.element().root() == TypeRoot::kArray) {
      KL_RETURN_IF_ERROR(AppendArrayText(item, type.element(), zone, out));  // {{1,2},{3,4}}: not quoted
      continue;
    }
    std::string text;
    if (!item.is_null()) KL_RETURN_IF_ERROR(AppendText(item, type.element(), zone, &text));
    AppendArrayElement(out, text, item.is_null());
  }
  out->push_back('}');
  return Status::OK();
}

Status AppendText(const Datum& v, const DataType& type, const TimeZone* zone, std::string* out) {
  switch (type.root()) {
    case TypeRoot::kBoolean: out->append(v.as_bool() ? "t" : "f"); return Status::OK();
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt: out->append(std::to_string(v.as_int())); return Status::OK();
    case TypeRoot::kFloat: out->append(FormatFloat(v.as_double(), true)); return Status::OK();
    case TypeRoot::kDouble: out->append(FormatFloat(v.as_double(), false)); return Status::OK();
    case TypeRoot::kDecimal: out->append(format::FormatDecimal(v.as_decimal(), type.scale())); return Status::OK();
    case TypeRoot::kChar:
    case TypeRoot::kVarChar: out->append(v.as_bytes()); return Status::OK();
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: out->append(PostgresByteaHex(v.as_bytes())); return Status::OK();
    case TypeRoot::kDate: out->append(FormatDate(v.as_int())); return Status::OK();
    case TypeRoot::kTime: out->append(FormatTimeOfDay(v.as_int() * 1000)); return Status::OK();
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz:
      out->append(FormatTimestamp(v.as_timestamp().ToMicros(), type.root() == TypeRoot::kTimestampLtz, zone));
      return Status::OK();
    case TypeRoot::kInterval:
      out->append(format::FormatInterval(format::IntervalFromKey(v.as_decimal())));
      return Status::OK();
    case TypeRoot::kArray: return AppendArrayText(v, type, zone, out);
    case TypeRoot::kMap:
    case TypeRoot::kMultiset:
    case TypeRoot::kRow: {
      JsonWriter w;
      WriteNestedJson(&w, v, type);
      out->append(w.str());
      return Status::OK();
    }
  }
  return Status::NotSupported("no PostgreSQL text form for " + type.ToString());
}

}  // namespace

Status AppendPostgresText(const format::Datum& v, const format::DataType& type, const TimeZone* zone,
                          std::string* out) {
  return AppendText(v, type, zone, out);
}

std::string PostgresByteaHex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

Status ForEachArrayTextElement(std::string_view text,
                               const std::function<Status(std::optional<std::string_view>)>& element,
                               const std::function<Status(ArrayTextError)>& malformed) {
  std::string_view t = Trim(text);
  if (t.size() < 2 || t.front() != '{' || t.back() != '}') return malformed(ArrayTextError::kNotBraced);
  std::string item;
  bool quoted = false, was_quoted = false, any = false, emitted = false;
  auto flush = [&]() -> Status {
    std::string_view v = was_quoted ? std::string_view(item) : Trim(item);
    emitted = true;
    if (!was_quoted && EqualsIgnoreCase(v, "NULL")) {
      KL_RETURN_IF_ERROR(element(std::nullopt));
    } else {
      KL_RETURN_IF_ERROR(element(v));
    }
    item.clear();
    was_quoted = false;
    return Status::OK();
  };
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    char c = t[i];
    if (quoted) {
      if (c == '\\' && i + 2 < t.size()) {
        item.push_back(t[++i]);
      } else if (c == '"') {
        quoted = false;
      } else {
        item.push_back(c);
      }
    } else if (c == '"') {
      quoted = was_quoted = any = true;
    } else if (c == ',') {
      KL_RETURN_IF_ERROR(flush());
    } else if (c == '{' || c == '}') {
      return malformed(ArrayTextError::kNested);
    } else {
      item.push_back(c);
      if (!std::isspace(static_cast<unsigned char>(c))) any = true;
    }
  }
  if (quoted) return malformed(ArrayTextError::kUnterminatedQuote);
  // The last element, unless the braces hold nothing at all ("{}", "{ }").
  if (any || emitted) KL_RETURN_IF_ERROR(flush());
  return Status::OK();
}

}  // namespace kl::sql
