// Date and time functions. Formats are Java SimpleDateFormat patterns, as in
// Flink (yyyy-MM-dd HH:mm:ss). TIMESTAMP_LTZ values are instants shown in the
// session time zone ('table.local-time-zone'); NOW() and friends are fixed
// for the whole statement.
#include <cmath>
#include <cstdio>

#include "common/clock.h"
#include "common/string_util.h"
#include "sql/functions/cast.h"
#include "sql/functions/helpers.h"
#include "table/schema/cast.h"

namespace kl::sql {

using format::Timestamp;

namespace {

struct Civil {
  int64_t year = 1970;
  unsigned month = 1, day = 1;
  int hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;  // within the second
};

Civil ToCivil(Timestamp ts) {
  Civil c;
  int64_t days = FloorDiv(ts.millis, 86400000);
  int64_t ms = ts.millis - days * 86400000;
  CivilFromDays(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<int>(ms / 3600000);
  c.minute = static_cast<int>(ms / 60000 % 60);
  c.second = static_cast<int>(ms / 1000 % 60);
  c.nanos = (ms % 1000) * 1000000 + ts.nanos;
  return c;
}

Timestamp FromCivil(const Civil& c) {
  int64_t days = DaysFromCivil(c.year, c.month, c.day);
  int64_t ms = days * 86400000 + c.hour * 3600000LL + c.minute * 60000LL + c.second * 1000LL + c.nanos / 1000000;
  return Timestamp{ms, static_cast<int32_t>(c.nanos % 1000000)};
}

const char* kMonthNames[] = {"January", "February", "March",     "April",   "May",      "June",
                             "July",    "August",   "September", "October", "November", "December"};
const char* kDayNames[] = {"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"};

std::string Padded(int64_t v, size_t width) {
  std::string s = std::to_string(v < 0 ? -v : v);
  while (s.size() < width) s.insert(s.begin(), '0');
  return v < 0 ? "-" + s : s;
}

// Formats with a Java SimpleDateFormat pattern.
Result<std::string> FormatJava(Timestamp ts, std::string_view pattern, int64_t offset_millis) {
  Civil c = ToCivil(ts);
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    char ch = pattern[i];
    if (ch == '\'') {
      size_t end = pattern.find('\'', i + 1);
      if (end == i + 1) {
        out.push_back('\'');
        i += 2;
        continue;
      }
      if (end == std::string_view::npos) return Status::InvalidArgument("date format: unterminated quote");
      out.append(pattern.substr(i + 1, end - i - 1));
      i = end + 1;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(ch))) {
      out.push_back(ch);
      ++i;
      continue;
    }
    size_t n = 1;
    while (i + n < pattern.size() && pattern[i + n] == ch) ++n;
    switch (ch) {
      case 'y':
      case 'Y':
      case 'u': out += n == 2 ? Padded(c.year % 100, 2) : Padded(c.year, n); break;
      case 'M':
        if (n >= 4) {
          out += kMonthNames[c.month - 1];
        } else if (n == 3) {
          out += std::string(kMonthNames[c.month - 1]).substr(0, 3);
        } else {
          out += Padded(c.month, n);
        }
        break;
      case 'd': out += Padded(c.day, n); break;
      case 'H': out += Padded(c.hour, n); break;
      case 'k': out += Padded(c.hour == 0 ? 24 : c.hour, n); break;
      case 'h': out += Padded(c.hour % 12 == 0 ? 12 : c.hour % 12, n); break;
      case 'K': out += Padded(c.hour % 12, n); break;
      case 'm': out += Padded(c.minute, n); break;
      case 's': out += Padded(c.second, n); break;
      case 'S': {
        std::string frac = Padded(c.nanos, 9);
        if (n <= 9) {
          out += frac.substr(0, n);
        } else {
          out += frac + std::string(n - 9, '0');
        }
        break;
      }
      case 'a': out += c.hour < 12 ? "AM" : "PM"; break;
      case 'E': {
        int64_t days = FloorDiv(ts.millis, 86400000);
        std::string name = kDayNames[((days % 7) + 7) % 7];
        out += n >= 4 ? name : name.substr(0, 3);
        break;
      }
      case 'D': {
        int64_t doy = FloorDiv(ts.millis, 86400000) - DaysFromCivil(c.year, 1, 1) + 1;
        out += Padded(doy, n);
        break;
      }
      case 'Z':
      case 'X':
      case 'x': {
        int64_t m = offset_millis / 60000;
        if (m == 0 && ch == 'X') {
          out += "Z";
        } else {
          std::string sign = m < 0 ? "-" : "+";
          m = m < 0 ? -m : m;
          out += sign + Padded(m / 60, 2) + (n >= 3 || ch == 'x' ? ":" : "") + Padded(m % 60, 2);
        }
        break;
      }
      case 'z':
        out += offset_millis == 0 ? "UTC"
                                  : "GMT" + std::string(offset_millis < 0 ? "-" : "+") +
                                        TimeText(std::llabs(offset_millis), 0).substr(0, 5);
        break;
      default:
        return Status::InvalidArgument("date format letter '" + std::string(1, ch) + "' is not supported in '" +
                                       std::string(pattern) + "'");
    }
    i += n;
  }
  return out;
}

// Parses text with a Java SimpleDateFormat pattern (numeric fields, literals, AM/PM).
Result<Timestamp> ParseJava(std::string_view text, std::string_view pattern) {
  Civil c;
  bool pm = false, has_ampm = false;
  size_t t = 0;
  for (size_t i = 0; i < pattern.size();) {
    char ch = pattern[i];
    if (ch == '\'') {
      size_t end = pattern.find('\'', i + 1);
      if (end == std::string_view::npos) return Status::InvalidArgument("date format: unterminated quote");
      std::string_view lit = end == i + 1 ? std::string_view("'") : pattern.substr(i + 1, end - i - 1);
      if (text.substr(t, lit.size()) != lit) return Status::InvalidArgument("text does not match the format");
      t += lit.size();
      i = end + 1;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(ch))) {
      if (t >= text.size() || text[t] != ch) return Status::InvalidArgument("text does not match the format");
      ++t;
      ++i;
      continue;
    }
    size_t n = 1;
    while (i + n < pattern.size() && pattern[i + n] == ch) ++n;
    i += n;
    if (ch == 'a') {
      std::string ap = ToUpper(text.substr(t, 2));
      if (ap != "AM" && ap != "PM") return Status::InvalidArgument("expected AM or PM");
      pm = ap == "PM";
      has_ampm = true;
      t += 2;
      continue;
    }
    // Numbers: as many digits as the field has when followed by another field, else greedy.
    bool next_is_field = i < pattern.size() && std::isalpha(static_cast<unsigned char>(pattern[i]));
    size_t max_digits = next_is_field ? n : (ch == 'S' ? 9 : 10);
    if (ch == 'y' && !next_is_field) max_digits = 9;
    int64_t v = 0;
    size_t digits = 0;
    while (t < text.size() && digits < max_digits && std::isdigit(static_cast<unsigned char>(text[t]))) {
      v = v * 10 + (text[t] - '0');
      ++t;
      ++digits;
    }
    if (digits == 0) return Status::InvalidArgument("expected digits for '" + std::string(n, ch) + "'");
    switch (ch) {
      case 'y':
      case 'Y':
      case 'u': c.year = (n == 2 && digits == 2) ? 2000 + v : v; break;
      case 'M': c.month = static_cast<unsigned>(v); break;
      case 'd': c.day = static_cast<unsigned>(v); break;
      case 'H':
      case 'k': c.hour = static_cast<int>(v % 24); break;
      case 'h':
      case 'K': c.hour = static_cast<int>(v % 12); break;
      case 'm': c.minute = static_cast<int>(v); break;
      case 's': c.second = static_cast<int>(v); break;
      case 'S': {
        int64_t nanos = v;
        for (size_t k = digits; k < 9; ++k) nanos *= 10;
        c.nanos = nanos;
        break;
      }
      default:
        return Status::InvalidArgument("date format letter '" + std::string(1, ch) + "' is not supported for parsing");
    }
  }
  if (t != text.size()) return Status::InvalidArgument("text continues past the format");
  if (has_ampm && pm) c.hour += 12;
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.minute > 59 || c.second > 59) {
    return Status::InvalidArgument("field out of range");
  }
  return FromCivil(c);
}

constexpr char kDefaultFormat[] = "yyyy-MM-dd HH:mm:ss";

// Wall-clock time of a temporal value (LTZ shifted into the session zone).
Timestamp WallClock(ExecContext& ctx, const Datum& d, const DataType& t) {
  if (t.root() == TypeRoot::kDate) return Timestamp{d.as_int() * 86400000, 0};
  if (t.root() == TypeRoot::kTime) return Timestamp{d.as_int(), 0};
  Timestamp ts = d.as_timestamp();
  if (t.root() == TypeRoot::kTimestampLtz) ts.millis += ctx.OffsetMillisAtUtc(ts.millis);
  return ts;
}

Result<int64_t> ExtractField(const std::string& unit, Timestamp ts) {
  Civil c = ToCivil(ts);
  int64_t days = FloorDiv(ts.millis, 86400000);
  if (unit == "YEAR") return c.year;
  if (unit == "QUARTER") return (c.month - 1) / 3 + 1;
  if (unit == "MONTH") return c.month;
  if (unit == "DAY") return c.day;
  if (unit == "HOUR") return c.hour;
  if (unit == "MINUTE") return c.minute;
  if (unit == "SECOND") return c.second;
  if (unit == "MILLISECOND") return c.second * 1000 + c.nanos / 1000000;
  if (unit == "MICROSECOND") return c.second * 1000000LL + c.nanos / 1000;
  if (unit == "NANOSECOND") return c.second * 1000000000LL + c.nanos;
  if (unit == "DOW") return ((days + 4) % 7 + 7) % 7 + 1;     // 1 = Sunday
  if (unit == "ISODOW") return ((days + 3) % 7 + 7) % 7 + 1;  // 1 = Monday
  if (unit == "DOY") return days - DaysFromCivil(c.year, 1, 1) + 1;
  if (unit == "EPOCH") return FloorDiv(ts.millis, 1000);
  if (unit == "DECADE") return FloorDiv(c.year, 10);
  if (unit == "CENTURY") return c.year > 0 ? (c.year + 99) / 100 : -((-c.year + 99) / 100);
  if (unit == "MILLENNIUM") return c.year > 0 ? (c.year + 999) / 1000 : -((-c.year + 999) / 1000);
  if (unit == "WEEK" || unit == "ISOYEAR") {
    // ISO 8601 week: weeks start on Monday; week 1 holds the year's first Thursday.
    int64_t dow = ((days + 3) % 7 + 7) % 7;  // 0 = Monday
    int64_t thursday = days - dow + 3;
    int64_t ty;
    unsigned tm, td;
    CivilFromDays(thursday, &ty, &tm, &td);
    if (unit == "ISOYEAR") return ty;
    return (thursday - DaysFromCivil(ty, 1, 1)) / 7 + 1;
  }
  return Status::InvalidArgument("EXTRACT does not know the unit " + unit);
}

int64_t MonthsBetween(Timestamp a, Timestamp b) {
  Civil x = ToCivil(a), y = ToCivil(b);
  int64_t months = (y.year - x.year) * 12 + (static_cast<int64_t>(y.month) - x.month);
  // Not a full month yet when b's day/time is before a's.
  auto rest = [](const Civil& c) {
    return ((static_cast<int64_t>(c.day) * 24 + c.hour) * 60 + c.minute) * 60000000000LL + c.second * 1000000000LL +
           c.nanos;
  };
  if (months > 0 && rest(y) < rest(x)) --months;
  if (months < 0 && rest(y) > rest(x)) ++months;
  return months;
}

Result<int64_t> UnitMillis(const std::string& unit) {
  if (unit == "WEEK") return 7 * 86400000LL;
  if (unit == "DAY") return 86400000LL;
  if (unit == "HOUR") return 3600000LL;
  if (unit == "MINUTE") return 60000LL;
  if (unit == "SECOND") return 1000LL;
  if (unit == "MILLISECOND") return 1LL;
  return Status::InvalidArgument("unit " + unit + " is not supported here");
}

Timestamp FloorTo(Timestamp ts, const std::string& unit, bool ceil) {
  Civil c = ToCivil(ts);
  Civil f = c;
  f.nanos = 0;
  if (unit == "YEAR" || unit == "QUARTER" || unit == "MONTH" || unit == "WEEK" || unit == "DAY") {
    f.hour = f.minute = f.second = 0;
    if (unit == "YEAR") f.month = 1;
    if (unit == "QUARTER") f.month = (f.month - 1) / 3 * 3 + 1;
    if (unit != "DAY" && unit != "WEEK") f.day = 1;
  } else if (unit == "HOUR") {
    f.minute = f.second = 0;
  } else if (unit == "MINUTE") {
    f.second = 0;
  }
  Timestamp r = FromCivil(f);
  if (unit == "WEEK") {
    int64_t days = FloorDiv(r.millis, 86400000);
    int64_t dow = ((days + 4) % 7 + 7) % 7;  // 0 = Sunday (Flink's weeks start on Sunday)
    r.millis -= dow * 86400000;
  }
  if (ceil && (r.millis != ts.millis || r.nanos != ts.nanos)) {
    Civil n = ToCivil(r);
    if (unit == "YEAR") {
      n.year += 1;
    } else if (unit == "QUARTER" || unit == "MONTH") {
      int64_t m = n.month - 1 + (unit == "QUARTER" ? 3 : 1);
      n.year += m / 12;
      n.month = static_cast<unsigned>(m % 12 + 1);
    } else {
      r.millis += *UnitMillis(unit == "WEEK" ? "WEEK" : unit);
      return r;
    }
    return FromCivil(n);
  }
  return r;
}

Status NeedTemporal(const CallSite& site, size_t i) {
  if (!IsTemporal(site.arg_types[i]) && !IsStringType(site.arg_types[i])) {
    return site.Error(site.Arg(i) + " must be a date, time or timestamp, not " +
                      TypeName(site.arg_types[i].WithNullable(true)));
  }
  return Status::OK();
}

std::string ConstantUnit(const CallSite& site, size_t i) {
  return site.constants[i] && !site.constants[i]->is_null() ? ToUpper(site.constants[i]->as_bytes()) : "";
}

// Casts strings to TIMESTAMP(3) so kernels see one representation.
DataType TemporalArg(const DataType& t) { return IsStringType(t) ? DataType::Timestamp(3) : t; }

}  // namespace

void RegisterDateTimeFunctions(FunctionRegistry* r) {
  auto now_ltz = [](const CallSite& site) -> Result<BoundFunction> {
    KL_RETURN_IF_ERROR(CheckArgCount(site, 0, 0));
    BoundFunction f;
    f.return_type = DataType::TimestampLtz(3).NotNull();
    f.deterministic = false;
    f.kernel = [](ExecContext& ctx, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
      for (size_t i = 0; i < rows; ++i) out->AppendTimestamp(Timestamp{ctx.statement_time_millis, 0});
      return Status::OK();
    };
    return f;
  };
  r->AddScalar("NOW", now_ltz,
               "NOW(): TIMESTAMP_LTZ(3), the statement's start (streaming jobs: when the row is processed)");
  r->AddScalar("PROCTIME", now_ltz, "PROCTIME(): TIMESTAMP_LTZ(3), the processing time (batch: the statement's start)");
  r->AddScalar("CURRENT_TIMESTAMP", now_ltz, "CURRENT_TIMESTAMP");
  r->AddScalar("CURRENT_ROW_TIMESTAMP", now_ltz, "CURRENT_ROW_TIMESTAMP()");
  auto local_ts = [](const CallSite& site) -> Result<BoundFunction> {
    BoundFunction f;
    f.return_type = DataType::Timestamp(3).NotNull();
    f.deterministic = false;
    f.kernel = [](ExecContext& ctx, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
      for (size_t i = 0; i < rows; ++i) {
        out->AppendTimestamp(
            Timestamp{ctx.statement_time_millis + ctx.OffsetMillisAtUtc(ctx.statement_time_millis), 0});
      }
      return Status::OK();
    };
    return f;
  };
  r->AddScalar("LOCALTIMESTAMP", local_ts, "LOCALTIMESTAMP");
  r->AddScalar(
      "CURRENT_DATE",
      [](const CallSite&) -> Result<BoundFunction> {
        BoundFunction f;
        f.return_type = DataType::Date().NotNull();
        f.deterministic = false;
        f.kernel = [](ExecContext& ctx, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
          for (size_t i = 0; i < rows; ++i) {
            out->AppendInt(
                FloorDiv(ctx.statement_time_millis + ctx.OffsetMillisAtUtc(ctx.statement_time_millis), 86400000));
          }
          return Status::OK();
        };
        return f;
      },
      "CURRENT_DATE");
  auto current_time = [](const CallSite&) -> Result<BoundFunction> {
    BoundFunction f;
    f.return_type = DataType::Time(0).NotNull();
    f.deterministic = false;
    f.kernel = [](ExecContext& ctx, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
      int64_t ms = ctx.statement_time_millis + ctx.OffsetMillisAtUtc(ctx.statement_time_millis);
      for (size_t i = 0; i < rows; ++i) out->AppendInt((ms % 86400000 + 86400000) % 86400000 / 1000 * 1000);
      return Status::OK();
    };
    return f;
  };
  r->AddScalar("CURRENT_TIME", current_time, "CURRENT_TIME");
  r->AddScalar("LOCALTIME", current_time, "LOCALTIME");
  r->AddScalar(
      "UNIX_TIMESTAMP",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 0, 2));
        BoundFunction f;
        f.return_type = DataType::BigInt();
        if (site.arg_types.empty()) {
          f.return_type = DataType::BigInt().NotNull();
          f.deterministic = false;
          f.kernel = [](ExecContext& ctx, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
            for (size_t i = 0; i < rows; ++i) out->AppendInt(FloorDiv(ctx.statement_time_millis, 1000));
            return Status::OK();
          };
          return f;
        }
        return FixedBinder("ss", 1, DataType::BigInt(), [](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          std::string fmt = a[1].is_null() ? kDefaultFormat : a[1].as_bytes();
          auto ts = ParseJava(Trim(a[0].as_bytes()), fmt);
          if (!ts.ok()) {
            *o = Datum();  // unparseable text: NULL
            return Status::OK();
          }
          *o = Datum::Int(FloorDiv(ts->millis - ctx.OffsetMillisAtLocal(ts->millis), 1000));
          return Status::OK();
        })(site);
      },
      "UNIX_TIMESTAMP() | UNIX_TIMESTAMP(text[, format]): seconds since 1970 (BIGINT)");
  r->AddScalar(
      "FROM_UNIXTIME",
      FixedBinder("is", 1, DataType::String(),
                  [](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
                    int64_t secs = a[0].as_int();
                    if (secs > 253402300799LL || secs < -62135596800LL) {
                      *o = Datum();
                      return Status::OK();
                    }
                    std::string fmt = a[1].is_null() ? kDefaultFormat : a[1].as_bytes();
                    int64_t offset = ctx.OffsetMillisAtUtc(secs * 1000);
                    KL_ASSIGN_OR_RETURN(std::string text, FormatJava(Timestamp{secs * 1000 + offset, 0}, fmt, offset));
                    *o = Datum::Bytes(std::move(text));
                    return Status::OK();
                  }),
      "FROM_UNIXTIME(seconds[, format]): text in the session time zone");
  r->AddScalar("TO_TIMESTAMP",
               FixedBinder("ss", 1, DataType::Timestamp(3),
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             std::string_view text = Trim(a[0].as_bytes());
                             Result<Timestamp> ts =
                                 a[1].is_null() ? ParseTimestampText(text) : ParseJava(text, a[1].as_bytes());
                             if (!ts.ok() && a[1].is_null()) ts = ParseJava(text, kDefaultFormat);
                             *o = ts.ok() ? Datum::Time(Timestamp{ts->millis, 0}) : Datum();
                             return Status::OK();
                           }),
               "TO_TIMESTAMP(text[, format]): TIMESTAMP(3), NULL when the text does not parse");
  r->AddScalar("TO_DATE",
               FixedBinder("ss", 1, DataType::Date(),
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             std::string_view text = Trim(a[0].as_bytes());
                             Result<Timestamp> ts =
                                 a[1].is_null() ? ParseTimestampText(text) : ParseJava(text, a[1].as_bytes());
                             *o = ts.ok() ? Datum::Int(FloorDiv(ts->millis, 86400000)) : Datum();
                             return Status::OK();
                           }),
               "TO_DATE(text[, format])");
  r->AddScalar(
      "TO_TIMESTAMP_LTZ",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 2));
        if (!IsNumeric(site.arg_types[0])) return site.Error(site.Arg(0) + " must be a number (epoch seconds or ms)");
        int64_t precision = 3;
        if (site.arg_types.size() == 2) {
          if (!site.constants[1] || site.constants[1]->is_null())
            return site.Error("the precision of TO_TIMESTAMP_LTZ must be a constant 0 or 3");
          precision = site.constants[1]->as_int();
          if (precision != 0 && precision != 3)
            return site.Error("the precision of TO_TIMESTAMP_LTZ must be 0 (seconds) or 3 (milliseconds)");
        }
        BoundFunction f =
            *FixedBinder("ni", 1, DataType::TimestampLtz(3), [precision](ExecContext&, const Datum* a, Datum* o) {
              double v = a[0].as_double() * (precision == 0 ? 1000.0 : 1.0);
              if (std::isnan(v) || std::fabs(v) > 9.0e15) {
                *o = Datum();
              } else {
                *o = Datum::Time(Timestamp{static_cast<int64_t>(std::floor(v)), 0});
              }
              return Status::OK();
            })(site);
        return f;
      },
      "TO_TIMESTAMP_LTZ(epoch[, 0 | 3]): seconds (0) or milliseconds (3, default)");
  r->AddScalar(
      "DATE_FORMAT",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        KL_RETURN_IF_ERROR(NeedTemporal(site, 0));
        if (!IsStringType(site.arg_types[1])) return site.Error(site.Arg(1) + " must be a format string");
        DataType t = TemporalArg(site.arg_types[0]);
        BoundFunction f;
        f.return_type = DataType::String();
        f.arg_types = {t, DataType::String()};
        f.kernel = RowKernel([t](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          Timestamp wall = WallClock(ctx, a[0], t);
          // The offset a zone pattern prints: an instant's own, or the one its wall-clock time has.
          int64_t offset = t.root() == TypeRoot::kTimestampLtz ? ctx.OffsetMillisAtUtc(a[0].as_timestamp().millis)
                                                               : ctx.OffsetMillisAtLocal(wall.millis);
          KL_ASSIGN_OR_RETURN(std::string text, FormatJava(wall, a[1].as_bytes(), offset));
          *o = Datum::Bytes(std::move(text));
          return Status::OK();
        });
        return f;
      },
      "DATE_FORMAT(timestamp, format)");
  r->AddScalar(
      "EXTRACT",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        std::string unit = ConstantUnit(site, 0);
        KL_RETURN_IF_ERROR(NeedTemporal(site, 1));
        DataType t = TemporalArg(site.arg_types[1]);
        if (!ExtractField(unit, Timestamp{0, 0}).ok()) return site.Error("EXTRACT does not know the unit " + unit);
        BoundFunction f;
        f.return_type = DataType::BigInt();
        f.arg_types = {DataType::String(), t};
        f.kernel = RowKernel([unit, t](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(int64_t v, ExtractField(unit, WallClock(ctx, a[1], t)));
          *o = Datum::Int(v);
          return Status::OK();
        });
        return f;
      },
      "EXTRACT(unit FROM t)");
  auto field = [](const char* unit) {
    return [unit](const CallSite& site) -> Result<BoundFunction> {
      KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
      KL_RETURN_IF_ERROR(NeedTemporal(site, 0));
      DataType t = TemporalArg(site.arg_types[0]);
      BoundFunction f;
      f.return_type = DataType::BigInt();
      f.arg_types = {t};
      std::string u = unit;
      f.kernel = RowKernel([u, t](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
        KL_ASSIGN_OR_RETURN(int64_t v, ExtractField(u, WallClock(ctx, a[0], t)));
        *o = Datum::Int(v);
        return Status::OK();
      });
      return f;
    };
  };
  r->AddScalar("YEAR", field("YEAR"), "YEAR(t)");
  r->AddScalar("QUARTER", field("QUARTER"), "QUARTER(t)");
  r->AddScalar("MONTH", field("MONTH"), "MONTH(t)");
  r->AddScalar("WEEK", field("WEEK"), "WEEK(t): ISO week");
  r->AddScalar("DAYOFYEAR", field("DOY"), "DAYOFYEAR(t)");
  r->AddScalar("DAYOFMONTH", field("DAY"), "DAYOFMONTH(t)");
  r->AddScalar("DAYOFWEEK", field("DOW"), "DAYOFWEEK(t): 1 = Sunday");
  r->AddScalar("HOUR", field("HOUR"), "HOUR(t)");
  r->AddScalar("MINUTE", field("MINUTE"), "MINUTE(t)");
  r->AddScalar("SECOND", field("SECOND"), "SECOND(t)");
  r->AddScalar(
      "TIMESTAMPDIFF",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 3, 3));
        std::string unit = ConstantUnit(site, 0);
        KL_RETURN_IF_ERROR(NeedTemporal(site, 1));
        KL_RETURN_IF_ERROR(NeedTemporal(site, 2));
        DataType ta = TemporalArg(site.arg_types[1]), tb = TemporalArg(site.arg_types[2]);
        bool months = unit == "YEAR" || unit == "QUARTER" || unit == "MONTH";
        int64_t unit_ms = 1;
        if (!months) {
          auto u = UnitMillis(unit);
          if (!u.ok()) return site.Error("TIMESTAMPDIFF does not know the unit " + unit);
          unit_ms = *u;
        }
        BoundFunction f;
        f.return_type = DataType::Int();
        f.arg_types = {DataType::String(), ta, tb};
        f.kernel = RowKernel([unit, months, unit_ms, ta, tb](ExecContext& ctx, const Datum* a, Datum* o) {
          // Both sides as instants when either is an LTZ; as wall clock otherwise.
          Timestamp x = WallClock(ctx, a[1], ta), y = WallClock(ctx, a[2], tb);
          int64_t v;
          if (months) {
            v = MonthsBetween(x, y);
            if (unit == "YEAR") v /= 12;
            if (unit == "QUARTER") v /= 3;
          } else {
            // Truncated toward zero, on the whole nanosecond difference.
            __int128 nx = static_cast<__int128>(x.millis) * 1000000 + x.nanos;
            __int128 ny = static_cast<__int128>(y.millis) * 1000000 + y.nanos;
            v = static_cast<int64_t>((ny - nx) / (static_cast<__int128>(unit_ms) * 1000000));
          }
          *o = Datum::Int(static_cast<int32_t>(v));
          return Status::OK();
        });
        return f;
      },
      "TIMESTAMPDIFF(unit, t1, t2): whole units from t1 to t2");
  r->AddScalar(
      "TIMESTAMPADD",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 3, 3));
        std::string unit = ConstantUnit(site, 0);
        if (!IsIntegral(site.arg_types[1])) return site.Error(site.Arg(1) + " must be an integer");
        KL_RETURN_IF_ERROR(NeedTemporal(site, 2));
        DataType t = TemporalArg(site.arg_types[2]);
        bool months = unit == "YEAR" || unit == "QUARTER" || unit == "MONTH";
        int64_t unit_ms = 1;
        if (!months) {
          auto u = UnitMillis(unit);
          if (!u.ok()) return site.Error("TIMESTAMPADD does not know the unit " + unit);
          unit_ms = *u;
        }
        int64_t month_factor = unit == "YEAR" ? 12 : unit == "QUARTER" ? 3 : 1;
        BoundFunction f;
        f.return_type = t.root() == TypeRoot::kDate && !months && unit_ms % 86400000 != 0 ? DataType::Timestamp(3)
                                                                                          : t.WithNullable(true);
        f.arg_types = {DataType::String(), DataType::BigInt(), t};
        DataType ret = f.return_type;
        f.kernel = RowKernel([months, unit_ms, month_factor, t, ret](ExecContext&, const Datum* a, Datum* o) {
          int64_t n = a[1].as_int();
          Timestamp ts = t.root() == TypeRoot::kDate ? Timestamp{a[2].as_int() * 86400000, 0} : a[2].as_timestamp();
          if (months) {
            if (n > 1200000 || n < -1200000) {
              *o = Datum();
              return Status::OK();
            }
            Civil c = ToCivil(ts);
            int64_t total = c.year * 12 + (c.month - 1) + n * month_factor;
            c.year = FloorDiv(total, 12);
            c.month = static_cast<unsigned>(total - c.year * 12 + 1);
            c.day = std::min(c.day, static_cast<unsigned>(DaysInMonth(c.year, c.month)));
            ts = FromCivil(c);
          } else {
            int64_t delta;
            if (__builtin_mul_overflow(n, unit_ms, &delta) || __builtin_add_overflow(ts.millis, delta, &ts.millis)) {
              *o = Datum();  // beyond the representable range
              return Status::OK();
            }
          }
          if (ret.root() == TypeRoot::kDate) {
            *o = Datum::Int(FloorDiv(ts.millis, 86400000));
          } else {
            *o = Datum::Time(ts);
          }
          return Status::OK();
        });
        return f;
      },
      "TIMESTAMPADD(unit, n, t)");
  auto trunc = [](bool ceil) {
    return [ceil](const CallSite& site) -> Result<BoundFunction> {
      KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
      std::string unit = ConstantUnit(site, 0);
      KL_RETURN_IF_ERROR(NeedTemporal(site, 1));
      static const char* kUnits[] = {"YEAR", "QUARTER", "MONTH",  "WEEK",       "DAY",
                                     "HOUR", "MINUTE",  "SECOND", "MILLISECOND"};
      bool known = false;
      for (const char* u : kUnits) known = known || unit == u;
      if (!known) return site.Error("unknown unit " + unit + " for " + site.name);
      DataType t = TemporalArg(site.arg_types[1]);
      BoundFunction f;
      f.return_type = t.WithNullable(true);
      f.arg_types = {DataType::String(), t};
      f.kernel = RowKernel([unit, t, ceil](ExecContext& ctx, const Datum* a, Datum* o) {
        Timestamp w = WallClock(ctx, a[1], t);
        Timestamp r = FloorTo(w, unit, ceil);
        if (t.root() == TypeRoot::kDate) {
          *o = Datum::Int(FloorDiv(r.millis, 86400000));
        } else if (t.root() == TypeRoot::kTime) {
          *o = Datum::Int(r.millis);
        } else {
          if (t.root() == TypeRoot::kTimestampLtz) r.millis -= ctx.OffsetMillisAtLocal(r.millis);
          *o = Datum::Time(r);
        }
        return Status::OK();
      });
      return f;
    };
  };
  r->AddScalar("DATE_TRUNC", trunc(false), "DATE_TRUNC(unit, t) (FLOOR(t TO unit))");
  r->AddScalar("__CEIL_TIME", trunc(true), "CEIL(t TO unit)");
  r->AddScalar("CONVERT_TZ",
               FixedBinder("sss", 3, DataType::String(),
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             auto ts = ParseTimestampText(a[0].as_bytes());
                             auto from = table::ParseTimeZoneOffset(a[1].as_bytes());
                             auto to = table::ParseTimeZoneOffset(a[2].as_bytes());
                             if (!from.ok()) return from.status();
                             if (!to.ok()) return to.status();
                             if (!ts.ok()) {
                               *o = Datum();
                               return Status::OK();
                             }
                             Timestamp t = *ts;
                             t.millis += *to - *from;
                             *o = Datum::Bytes(TimestampText(t, 0));
                             return Status::OK();
                           }),
               "CONVERT_TZ(text, from zone, to zone)");
}

}  // namespace kl::sql
