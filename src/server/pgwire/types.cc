#include "server/pgwire/types.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

#include "common/clock.h"
#include "common/json.h"
#include "common/string_util.h"
#include "sql/functions/datetime/interval.h"
#include "sql/functions/datetime/time_zone.h"
#include "sql/functions/postgres_text.h"

namespace kl::server::pg {
namespace {

using format::DataType;
using format::Datum;
using format::TypeRoot;

// PostgreSQL's epoch for dates and timestamps: 2000-01-01.
constexpr int64_t kPgEpochDays = 10957;
constexpr int64_t kPgEpochMicros = kPgEpochDays * 86400LL * 1000000LL;

void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBE(std::string_view s) {
  uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

// NUMERIC's binary form: base-10000 digits, weight, sign, display scale.
void EncodeNumericBinary(format::Int128 unscaled, int scale, std::string* out) {
  bool negative = unscaled < 0;
  unsigned __int128 mag = negative ? static_cast<unsigned __int128>(-(unscaled + 1)) + 1 : unscaled;
  std::string digits;  // decimal digits of the magnitude
  if (mag == 0) digits = "0";
  while (mag > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  }
  // Integer and fraction parts, padded to groups of 4 around the point.
  std::string int_part = digits.size() > static_cast<size_t>(scale) ? digits.substr(0, digits.size() - scale) : "";
  std::string frac_part = digits.size() > static_cast<size_t>(scale)
                              ? digits.substr(digits.size() - scale)
                              : std::string(static_cast<size_t>(scale) - digits.size(), '0') + digits;
  while (int_part.size() % 4 != 0) int_part.insert(int_part.begin(), '0');
  while (frac_part.size() % 4 != 0) frac_part.push_back('0');
  std::vector<int16_t> groups;
  for (size_t i = 0; i < int_part.size(); i += 4)
    groups.push_back(static_cast<int16_t>(std::stoi(int_part.substr(i, 4))));
  int weight = static_cast<int>(int_part.size() / 4) - 1;
  for (size_t i = 0; i < frac_part.size(); i += 4)
    groups.push_back(static_cast<int16_t>(std::stoi(frac_part.substr(i, 4))));
  // Strip leading and trailing zero groups (PostgreSQL's canonical form).
  size_t first = 0;
  while (first < groups.size() && groups[first] == 0) {
    ++first;
    --weight;
  }
  size_t last = groups.size();
  while (last > first && groups[last - 1] == 0) --last;
  if (first == last) weight = 0;
  PutBE(out, last - first, 2);
  PutBE(out, static_cast<uint16_t>(static_cast<int16_t>(weight)), 2);
  PutBE(out, first == last ? 0 : (negative ? 0x4000 : 0x0000), 2);
  PutBE(out, static_cast<uint16_t>(scale), 2);
  for (size_t i = first; i < last; ++i) PutBE(out, static_cast<uint16_t>(groups[i]), 2);
}

Result<format::Int128> DecodeNumericBinary(std::string_view b, int scale) {
  if (b.size() < 8) return Status::InvalidArgument("numeric: shorter than its header");
  size_t ndigits = GetBE(b.substr(0, 2));
  int weight = static_cast<int16_t>(GetBE(b.substr(2, 2)));
  uint16_t sign = static_cast<uint16_t>(GetBE(b.substr(4, 2)));
  if (b.size() != 8 + 2 * ndigits) return Status::InvalidArgument("numeric: length does not match its digit count");
  if (sign == 0xC000) return Status::InvalidArgument("numeric: NaN is not a DECIMAL value");
  if (sign != 0 && sign != 0x4000) return Status::InvalidArgument("numeric: bad sign");
  // Group p (base 10000) has weight p: the digits are sum d * 10000^p.
  std::map<int, int> groups;
  for (size_t i = 0; i < ndigits; ++i) {
    int d = static_cast<int>(GetBE(b.substr(8 + 2 * i, 2)));
    if (d > 9999) return Status::InvalidArgument("numeric: digit out of range");
    groups[weight - static_cast<int>(i)] = d;
  }
  int hi = std::max(weight, 0);
  int lo = std::min(weight - static_cast<int>(ndigits) + 1, 0);
  if (hi > 10 || lo < -10) return Status::InvalidArgument("numeric: value out of range for DECIMAL(38)");
  std::string text = sign == 0x4000 ? "-" : "";
  auto group_text = [&](int p) {
    char g[8];
    std::snprintf(g, sizeof(g), "%04d", groups.count(p) != 0 ? groups[p] : 0);
    return std::string(g);
  };
  for (int p = hi; p >= 0; --p) text += group_text(p);
  if (lo < 0) {
    text += ".";
    for (int p = -1; p >= lo; --p) text += group_text(p);
  }
  // Trailing fraction zeros beyond the target scale would fail the parse.
  if (lo < 0) {
    while (text.back() == '0' && text.size() - text.find('.') - 1 > static_cast<size_t>(scale)) text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return format::ParseDecimal(text, 38, scale);
}

Status EncodeBinary(const Datum& v, const DataType& type, std::string* out) {
  switch (type.root()) {
    case TypeRoot::kBoolean: out->push_back(v.as_bool() ? 1 : 0); return Status::OK();
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt: PutBE(out, static_cast<uint16_t>(v.as_int()), 2); return Status::OK();
    case TypeRoot::kInt: PutBE(out, static_cast<uint32_t>(v.as_int()), 4); return Status::OK();
    case TypeRoot::kBigInt: PutBE(out, static_cast<uint64_t>(v.as_int()), 8); return Status::OK();
    case TypeRoot::kFloat: {
      float f = static_cast<float>(v.as_double());
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      PutBE(out, bits, 4);
      return Status::OK();
    }
    case TypeRoot::kDouble: {
      double d = v.as_double();
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      PutBE(out, bits, 8);
      return Status::OK();
    }
    case TypeRoot::kDecimal: EncodeNumericBinary(v.as_decimal(), type.scale(), out); return Status::OK();
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: out->append(v.as_bytes()); return Status::OK();
    case TypeRoot::kDate:
      PutBE(out, static_cast<uint32_t>(static_cast<int32_t>(v.as_int() - kPgEpochDays)), 4);
      return Status::OK();
    case TypeRoot::kTime: PutBE(out, static_cast<uint64_t>(v.as_int() * 1000), 8); return Status::OK();
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz:
      PutBE(out, static_cast<uint64_t>(v.as_timestamp().ToMicros() - kPgEpochMicros), 8);
      return Status::OK();
    case TypeRoot::kInterval: {
      // microseconds (int64), days (int32), months (int32)
      kl::sql::Interval i = kl::sql::IntervalFromKey(v.as_decimal());
      PutBE(out, static_cast<uint64_t>(i.micros), 8);
      PutBE(out, static_cast<uint32_t>(i.days), 4);
      PutBE(out, static_cast<uint32_t>(i.months), 4);
      return Status::OK();
    }
    case TypeRoot::kArray: {
      const DataType& element = type.element();
      const auto& items = v.as_list();
      bool has_null = false;
      for (const auto& item : items) has_null |= item.is_null();
      PutBE(out, 1, 4);  // dimensions
      PutBE(out, has_null ? 1 : 0, 4);
      PutBE(out, PgTypeOf(element).oid, 4);
      PutBE(out, items.size(), 4);
      PutBE(out, 1, 4);  // lower bound
      for (const auto& item : items) {
        if (item.is_null()) {
          PutBE(out, 0xffffffffu, 4);
          continue;
        }
        std::string bytes;
        KL_RETURN_IF_ERROR(EncodeBinary(item, element, &bytes));
        PutBE(out, bytes.size(), 4);
        out->append(bytes);
      }
      return Status::OK();
    }
    case TypeRoot::kMap:
    case TypeRoot::kMultiset:
    case TypeRoot::kRow: return kl::sql::AppendPostgresText(v, type, nullptr, out);  // json's binary form is its text
  }
  return Status::NotSupported("no PostgreSQL binary form for " + type.ToString());
}

Result<int64_t> ParseIntText(std::string_view s, int64_t lo, int64_t hi, const char* what) {
  auto n = ParseInt64(Trim(s));
  if (!n)
    return Status::InvalidArgument(std::string("invalid input syntax for type ") + what + ": \"" + std::string(s) +
                                   "\"");
  if (*n < lo || *n > hi)
    return Status::InvalidArgument(std::string("value \"") + std::string(s) + "\" is out of range for type " + what);
  return *n;
}

Result<int64_t> ParseDateText(std::string_view s) {
  std::string t(Trim(s));
  int y, m, d;
  char tail;
  if (std::sscanf(t.c_str(), "%d-%d-%d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31) {
    return Status::InvalidArgument("invalid input syntax for type date: \"" + t + "\"");
  }
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

// "HH:MM[:SS[.ffffff]]" -> microseconds of the day.
Result<int64_t> ParseTimeText(std::string_view s) {
  std::string t(Trim(s));
  int h = 0, mi = 0;
  double sec = 0;
  int n = std::sscanf(t.c_str(), "%d:%d:%lf", &h, &mi, &sec);
  if (n < 2 || h < 0 || h > 24 || mi < 0 || mi > 59 || sec < 0 || sec >= 61) {
    return Status::InvalidArgument("invalid input syntax for type time: \"" + t + "\"");
  }
  return (static_cast<int64_t>(h) * 3600 + mi * 60) * 1000000 + static_cast<int64_t>(std::llround(sec * 1e6));
}

// "YYYY-MM-DD[ T]HH:MM:SS[.f][Z|+HH[:MM]]" -> microseconds since 1970 (UTC when zoned;
// `zoned`, when given, tells whether the text named its zone).
Result<int64_t> ParseTimestampText(std::string_view s, bool* zoned = nullptr) {
  std::string t(Trim(s));
  size_t sep = t.find_first_of(" T");
  KL_ASSIGN_OR_RETURN(int64_t days, ParseDateText(sep == std::string::npos ? t : t.substr(0, sep)));
  int64_t micros = days * 86400000000LL;
  if (sep == std::string::npos) return micros;
  std::string rest = t.substr(sep + 1);
  size_t zone = rest.find_first_of("Z+-", 1);
  std::string time = zone == std::string::npos ? rest : rest.substr(0, zone);
  KL_ASSIGN_OR_RETURN(int64_t tod, ParseTimeText(time));
  micros += tod;
  if (zoned != nullptr) *zoned = zone != std::string::npos;
  if (zone != std::string::npos && rest[zone] != 'Z') {
    int oh = 0, om = 0;
    std::string z = rest.substr(zone + 1);
    if (std::sscanf(z.c_str(), "%d:%d", &oh, &om) < 1) {
      return Status::InvalidArgument("invalid input syntax for type timestamp: \"" + t + "\"");
    }
    if (z.size() == 4 && z.find(':') == std::string::npos) {
      om = oh % 100;
      oh /= 100;
    }
    int64_t offset = (static_cast<int64_t>(oh) * 3600 + om * 60) * 1000000;
    micros += rest[zone] == '+' ? -offset : offset;
  }
  return micros;
}

Result<bool> ParseBoolText(std::string_view s) {
  std::string t = ToLower(Trim(s));
  if (t == "t" || t == "true" || t == "yes" || t == "on" || t == "1" || t == "y") return true;
  if (t == "f" || t == "false" || t == "no" || t == "off" || t == "0" || t == "n") return false;
  return Status::InvalidArgument("invalid input syntax for type boolean: \"" + std::string(s) + "\"");
}

Result<std::string> ParseByteaText(std::string_view s) {
  if (s.size() >= 2 && s[0] == '\\' && s[1] == 'x') {
    std::string out;
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (size_t i = 2; i < s.size();) {
      if (std::isspace(static_cast<unsigned char>(s[i]))) {
        ++i;
        continue;
      }
      if (i + 1 >= s.size() || nibble(s[i]) < 0 || nibble(s[i + 1]) < 0) {
        return Status::InvalidArgument("invalid hexadecimal data in bytea input");
      }
      out.push_back(static_cast<char>(nibble(s[i]) * 16 + nibble(s[i + 1])));
      i += 2;
    }
    return out;
  }
  return std::string(s);  // escape format: taken as the bytes given
}

Result<Datum> DecodeText(std::string_view s, const DataType& type, const kl::sql::TimeZone* zone);

// A one-dimensional array in PostgreSQL's text form: {a,"b c",NULL}.
Result<Datum> DecodeArrayText(std::string_view s, const DataType& type, const kl::sql::TimeZone* zone) {
  format::DatumList items;
  KL_RETURN_IF_ERROR(kl::sql::ForEachArrayTextElement(
      s,
      [&](std::optional<std::string_view> element) -> Status {
        if (!element) {
          items.emplace_back();
          return Status::OK();
        }
        KL_ASSIGN_OR_RETURN(Datum d, DecodeText(*element, type.element(), zone));
        items.push_back(std::move(d));
        return Status::OK();
      },
      [&](kl::sql::ArrayTextError error) {
        if (error == kl::sql::ArrayTextError::kNested) {
          return Status::NotSupported("multidimensional array parameters are not supported");
        }
        return Status::InvalidArgument("malformed array literal: \"" + std::string(s) + "\"");
      }));
  return Datum::List(std::move(items));
}

Result<Datum> DecodeText(std::string_view s, const DataType& type, const kl::sql::TimeZone* zone) {
  switch (type.root()) {
    case TypeRoot::kArray: return DecodeArrayText(s, type, zone);
    case TypeRoot::kBoolean: {
      KL_ASSIGN_OR_RETURN(bool b, ParseBoolText(s));
      return Datum::Bool(b);
    }
    case TypeRoot::kTinyInt: {
      KL_ASSIGN_OR_RETURN(int64_t n, ParseIntText(s, -128, 127, "tinyint"));
      return Datum::Int(n);
    }
    case TypeRoot::kSmallInt: {
      KL_ASSIGN_OR_RETURN(int64_t n, ParseIntText(s, INT16_MIN, INT16_MAX, "smallint"));
      return Datum::Int(n);
    }
    case TypeRoot::kInt: {
      KL_ASSIGN_OR_RETURN(int64_t n, ParseIntText(s, INT32_MIN, INT32_MAX, "integer"));
      return Datum::Int(n);
    }
    case TypeRoot::kBigInt: {
      KL_ASSIGN_OR_RETURN(int64_t n, ParseIntText(s, INT64_MIN, INT64_MAX, "bigint"));
      return Datum::Int(n);
    }
    case TypeRoot::kFloat:
    case TypeRoot::kDouble: {
      std::string t = ToLower(Trim(s));
      if (t == "nan") return Datum::Double(NAN);
      if (t == "infinity" || t == "inf" || t == "+infinity") return Datum::Double(INFINITY);
      if (t == "-infinity" || t == "-inf") return Datum::Double(-INFINITY);
      auto d = ParseDouble(t);
      if (!d)
        return Status::InvalidArgument("invalid input syntax for type double precision: \"" + std::string(s) + "\"");
      return Datum::Double(*d);
    }
    case TypeRoot::kDecimal: {
      auto d = format::ParseDecimal(Trim(s), type.precision(), type.scale());
      if (!d.ok()) return Status::InvalidArgument("invalid input syntax for type numeric: \"" + std::string(s) + "\"");
      return Datum::Decimal(*d);
    }
    case TypeRoot::kChar:
    case TypeRoot::kVarChar: return Datum::Bytes(std::string(s));
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: {
      KL_ASSIGN_OR_RETURN(std::string b, ParseByteaText(s));
      return Datum::Bytes(std::move(b));
    }
    case TypeRoot::kDate: {
      KL_ASSIGN_OR_RETURN(int64_t d, ParseDateText(s));
      return Datum::Int(d);
    }
    case TypeRoot::kTime: {
      KL_ASSIGN_OR_RETURN(int64_t us, ParseTimeText(s));
      return Datum::Int(us / 1000);
    }
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: {
      bool zoned = false;
      KL_ASSIGN_OR_RETURN(int64_t us, ParseTimestampText(s, &zoned));
      // A timestamptz without an offset is a wall-clock time in the session zone.
      if (type.root() == TypeRoot::kTimestampLtz && !zoned && zone != nullptr) {
        us -= zone->OffsetAtLocal(FloorDiv(us, 1000000)) * 1000000;
      }
      return Datum::Time(format::Timestamp::FromMicros(us));
    }
    case TypeRoot::kInterval: {
      KL_ASSIGN_OR_RETURN(kl::sql::Interval i, kl::sql::ParseInterval(s));
      KL_ASSIGN_OR_RETURN(format::Int128 key, kl::sql::IntervalKey(i));
      return Datum::Decimal(key);
    }
    default: return Status::NotSupported("parameters of type " + type.ToString() + " are not supported");
  }
}

Result<Datum> DecodeBinary(std::string_view b, const DataType& type, uint32_t wire_oid);

// A one-dimensional array in PostgreSQL's binary form: dimensions, has-null flag, element
// type, (size, lower bound) per dimension, then each element's length (-1 NULL) and bytes.
Result<Datum> DecodeArrayBinary(std::string_view b, const DataType& type) {
  auto int32 = [&](size_t at) -> Result<int32_t> {
    if (at + 4 > b.size()) return Status::InvalidArgument("insufficient data left in message: binary array");
    return static_cast<int32_t>(GetBE(b.substr(at, 4)));
  };
  KL_ASSIGN_OR_RETURN(int32_t ndim, int32(0));
  KL_ASSIGN_OR_RETURN(int32_t elem_oid, int32(8));
  if (ndim == 0) return Datum::List({});
  if (ndim != 1) return Status::NotSupported("multidimensional array parameters are not supported");
  KL_ASSIGN_OR_RETURN(int32_t count, int32(12));
  if (count < 0 || static_cast<size_t>(count) > b.size()) return Status::InvalidArgument("invalid array length");
  size_t at = 20;
  format::DatumList items;
  for (int32_t i = 0; i < count; ++i) {
    KL_ASSIGN_OR_RETURN(int32_t len, int32(at));
    at += 4;
    if (len < 0) {
      items.emplace_back();
      continue;
    }
    if (at + static_cast<size_t>(len) > b.size())
      return Status::InvalidArgument("insufficient data left in message: array element");
    KL_ASSIGN_OR_RETURN(
        Datum d, DecodeBinary(b.substr(at, static_cast<size_t>(len)), type.element(), static_cast<uint32_t>(elem_oid)));
    items.push_back(std::move(d));
    at += static_cast<size_t>(len);
  }
  if (at != b.size()) return Status::InvalidArgument("invalid binary array: trailing bytes");
  return Datum::List(std::move(items));
}

Result<Datum> DecodeBinary(std::string_view b, const DataType& type, uint32_t wire_oid) {
  if (type.root() == TypeRoot::kArray) return DecodeArrayBinary(b, type);
  auto need = [&](size_t n, const char* what) -> Status {
    if (b.size() != n) {
      return Status::InvalidArgument(std::string("insufficient data left in message: binary ") + what + " needs " +
                                     std::to_string(n) + " bytes, got " + std::to_string(b.size()));
    }
    return Status::OK();
  };
  // Integer width follows the declared wire type when there is one.
  uint32_t wire = wire_oid != 0 ? wire_oid : PgTypeOf(type).oid;
  switch (wire) {
    case oid::kBool: KL_RETURN_IF_ERROR(need(1, "boolean")); return Datum::Bool(b[0] != 0);
    case oid::kInt2: KL_RETURN_IF_ERROR(need(2, "smallint")); return Datum::Int(static_cast<int16_t>(GetBE(b)));
    case oid::kInt4: KL_RETURN_IF_ERROR(need(4, "integer")); return Datum::Int(static_cast<int32_t>(GetBE(b)));
    case oid::kInt8: KL_RETURN_IF_ERROR(need(8, "bigint")); return Datum::Int(static_cast<int64_t>(GetBE(b)));
    case oid::kOid: KL_RETURN_IF_ERROR(need(4, "oid")); return Datum::Int(static_cast<int64_t>(GetBE(b)));
    case oid::kFloat4: {
      KL_RETURN_IF_ERROR(need(4, "real"));
      uint32_t bits = static_cast<uint32_t>(GetBE(b));
      float f;
      std::memcpy(&f, &bits, 4);
      return Datum::Double(f);
    }
    case oid::kFloat8: {
      KL_RETURN_IF_ERROR(need(8, "double precision"));
      uint64_t bits = GetBE(b);
      double d;
      std::memcpy(&d, &bits, 8);
      return Datum::Double(d);
    }
    case oid::kNumeric: {
      int scale = type.root() == TypeRoot::kDecimal ? type.scale() : 18;
      KL_ASSIGN_OR_RETURN(auto v, DecodeNumericBinary(b, scale));
      return Datum::Decimal(v);
    }
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kUnknown:
    case oid::kBytea:
    case oid::kJson: return Datum::Bytes(std::string(b));
    case oid::kDate:
      KL_RETURN_IF_ERROR(need(4, "date"));
      return Datum::Int(static_cast<int32_t>(GetBE(b)) + kPgEpochDays);
    case oid::kTime: KL_RETURN_IF_ERROR(need(8, "time")); return Datum::Int(static_cast<int64_t>(GetBE(b)) / 1000);
    case oid::kTimestamp:
    case oid::kTimestamptz:
      KL_RETURN_IF_ERROR(need(8, "timestamp"));
      return Datum::Time(format::Timestamp::FromMicros(static_cast<int64_t>(GetBE(b)) + kPgEpochMicros));
    case oid::kInterval: {
      KL_RETURN_IF_ERROR(need(16, "interval"));
      kl::sql::Interval i;
      i.micros = static_cast<int64_t>(GetBE(b.substr(0, 8)));
      i.days = static_cast<int32_t>(GetBE(b.substr(8, 4)));
      i.months = static_cast<int32_t>(GetBE(b.substr(12, 4)));
      KL_ASSIGN_OR_RETURN(format::Int128 key, kl::sql::IntervalKey(i));
      return Datum::Decimal(key);
    }
    default: return Status::NotSupported("binary parameters of type " + PgTypeName(wire) + " are not supported");
  }
}

}  // namespace

PgType PgTypeOf(const DataType& type) {
  switch (type.root()) {
    case TypeRoot::kBoolean: return {oid::kBool, 1, -1};
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt: return {oid::kInt2, 2, -1};
    case TypeRoot::kInt: return {oid::kInt4, 4, -1};
    case TypeRoot::kBigInt: return {oid::kInt8, 8, -1};
    case TypeRoot::kFloat: return {oid::kFloat4, 4, -1};
    case TypeRoot::kDouble: return {oid::kFloat8, 8, -1};
    case TypeRoot::kDecimal: return {oid::kNumeric, -1, ((type.precision() << 16) | type.scale()) + 4};
    case TypeRoot::kChar: return {oid::kBpchar, -1, type.length() + 4};
    case TypeRoot::kVarChar:
      if (type.length() == DataType::kMaxLength) return {oid::kText, -1, -1};
      return {oid::kVarchar, -1, type.length() + 4};
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: return {oid::kBytea, -1, -1};
    case TypeRoot::kDate: return {oid::kDate, 4, -1};
    case TypeRoot::kTime: return {oid::kTime, 8, type.precision()};
    case TypeRoot::kTimestamp: return {oid::kTimestamp, 8, type.precision()};
    case TypeRoot::kTimestampLtz: return {oid::kTimestamptz, 8, type.precision()};
    case TypeRoot::kInterval: return {oid::kInterval, 16, -1};
    case TypeRoot::kArray: {
      uint32_t a = ArrayOidOf(PgTypeOf(type.element()).oid);
      if (a != 0) return {a, -1, -1};
      return {oid::kJson, -1, -1};
    }
    case TypeRoot::kMap:
    case TypeRoot::kMultiset:
    case TypeRoot::kRow: return {oid::kJson, -1, -1};
  }
  return {oid::kText, -1, -1};
}

std::optional<DataType> DataTypeOfOid(uint32_t o) {
  switch (o) {
    case oid::kBool: return DataType::Boolean();
    case oid::kInt2: return DataType::SmallInt();
    case oid::kInt4: return DataType::Int();
    case oid::kOid:
    case oid::kInt8: return DataType::BigInt();
    case oid::kFloat4: return DataType::Float();
    case oid::kFloat8: return DataType::Double();
    case oid::kNumeric: return DataType::Decimal(38, 18);
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kChar:
    case oid::kJson: return DataType::String();
    case oid::kBytea: return DataType::Bytes();
    case oid::kDate: return DataType::Date();
    case oid::kTime: return DataType::Time(6);
    case oid::kTimestamp: return DataType::Timestamp(6);
    case oid::kTimestamptz: return DataType::TimestampLtz(6);
    case oid::kInterval: return DataType::Interval();
    default: break;
  }
  // Arrays of those.
  static const std::pair<uint32_t, uint32_t> kArrays[] = {
      {1000, oid::kBool},    {1005, oid::kInt2},      {1007, oid::kInt4},        {1016, oid::kInt8},
      {1021, oid::kFloat4},  {1022, oid::kFloat8},    {1009, oid::kText},        {1015, oid::kVarchar},
      {1014, oid::kBpchar},  {1003, oid::kName},      {1028, oid::kOid},         {1231, oid::kNumeric},
      {1182, oid::kDate},    {1115, oid::kTimestamp}, {1185, oid::kTimestamptz}, {1001, oid::kBytea},
      {1187, oid::kInterval}};
  for (const auto& [array, element] : kArrays) {
    if (o == array) {
      auto e = DataTypeOfOid(element);
      if (e) return DataType::Array(*e);
    }
  }
  switch (o) {
    default: return std::nullopt;
  }
}

uint32_t ArrayOidOf(uint32_t e) {
  switch (e) {
    case oid::kBool: return 1000;
    case oid::kBytea: return 1001;
    case oid::kInt2: return 1005;
    case oid::kInt4: return 1007;
    case oid::kText: return 1009;
    case oid::kBpchar: return 1014;
    case oid::kVarchar: return 1015;
    case oid::kInt8: return 1016;
    case oid::kFloat4: return 1021;
    case oid::kFloat8: return 1022;
    case oid::kTimestamp: return 1115;
    case oid::kDate: return 1182;
    case oid::kTime: return 1183;
    case oid::kTimestamptz: return 1185;
    case oid::kInterval: return 1187;
    case oid::kNumeric: return 1231;
    case oid::kJson: return 199;
    default: return 0;
  }
}

std::string PgTypeName(uint32_t o) {
  switch (o) {
    case oid::kBool: return "boolean";
    case oid::kBytea: return "bytea";
    case oid::kInt2: return "smallint";
    case oid::kInt4: return "integer";
    case oid::kInt8: return "bigint";
    case oid::kText: return "text";
    case oid::kFloat4: return "real";
    case oid::kFloat8: return "double precision";
    case oid::kNumeric: return "numeric";
    case oid::kDate: return "date";
    case oid::kTime: return "time";
    case oid::kTimestamp: return "timestamp";
    case oid::kTimestamptz: return "timestamptz";
    case oid::kInterval: return "interval";
    case oid::kVarchar: return "varchar";
    case oid::kJson: return "json";
    default: return "type " + std::to_string(o);
  }
}

std::optional<std::string_view> PlainTextOf(const format::Column& column, size_t row, const DataType& type, char* buf) {
  if (column.type().root() != type.root()) return std::nullopt;
  switch (type.root()) {
    case TypeRoot::kBoolean:
      if (column.kind() != format::PhysicalKind::kInt) return std::nullopt;
      return std::string_view(column.GetInt(row) != 0 ? "t" : "f", 1);
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt: {
      if (column.kind() != format::PhysicalKind::kInt) return std::nullopt;
      auto [end, ec] = std::to_chars(buf, buf + 24, column.GetInt(row));
      return std::string_view(buf, static_cast<size_t>(end - buf));
    }
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
      if (column.kind() != format::PhysicalKind::kBytes) return std::nullopt;
      return column.GetBytes(row);
    default: return std::nullopt;
  }
}

Status EncodeValue(const Datum& value, const DataType& type, bool binary, std::string* out,
                   const kl::sql::TimeZone* zone) {
  return binary ? EncodeBinary(value, type, out) : kl::sql::AppendPostgresText(value, type, zone, out);
}

Result<Datum> DecodeValue(std::string_view bytes, const DataType& type, uint32_t wire_oid, bool binary,
                          const kl::sql::TimeZone* zone) {
  if (binary) return DecodeBinary(bytes, type, wire_oid);
  return DecodeText(bytes, type, zone);
}

}  // namespace kl::server::pg
