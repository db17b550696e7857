// PostgreSQL's date and time functions where they differ from Flink's:
// to_char(t, template), AT TIME ZONE (timezone(zone, t)), date_trunc with
// PostgreSQL's units (weeks start on Monday), extract(epoch | second ...) as
// numeric with the fraction, and the timestamp series generate_series walks.
// Timestamps with time zone are shown in the session time zone (UTC unless set).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/clock.h"
#include "common/string_util.h"
#include "sql/binder/types.h"
#include "sql/functions/datetime/interval.h"
#include "sql/functions/datetime/time_zone.h"
#include "sql/functions/function.h"

namespace kl::sql {

using format::Timestamp;

namespace {

constexpr int64_t kMicrosPerDay = 86400000000LL;

struct Fields {
  int64_t year = 1970;
  unsigned month = 1, day = 1;
  int64_t hour = 0, minute = 0, second = 0, micros = 0;  // micros within the second
  int64_t days = 0;                                      // since 1970-01-01
};

Fields FieldsOf(int64_t micros) {
  Fields f;
  f.days = FloorDiv(micros, kMicrosPerDay);
  int64_t in_day = micros - f.days * kMicrosPerDay;
  CivilFromDays(f.days, &f.year, &f.month, &f.day);
  f.hour = in_day / 3600000000LL;
  f.minute = in_day / 60000000 % 60;
  f.second = in_day / 1000000 % 60;
  f.micros = in_day % 1000000;
  return f;
}

// ISO 8601 week-numbering year, week (1-53) and day of the year.
void IsoWeek(int64_t days, int64_t* iso_year, int64_t* week, int64_t* iso_day_of_year) {
  int64_t dow = ((days + 3) % 7 + 7) % 7;  // 0 = Monday
  int64_t thursday = days - dow + 3;
  unsigned m, d;
  CivilFromDays(thursday, iso_year, &m, &d);
  *week = (thursday - DaysFromCivil(*iso_year, 1, 1)) / 7 + 1;
  *iso_day_of_year = (*week - 1) * 7 + dow + 1;
}

const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};
const char* const kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
const char* const kRoman[] = {"I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"};

// ---- to_char ----

// The template patterns, both spellings where PostgreSQL has both; names of months and
// days also capitalised. Matched longest first.
const char* const kPatterns[] = {
    "A.D.",  "A.M.", "AD",    "AM",   "B.C.", "BC",  "CC",    "DAY",  "DDD",  "DD",    "DY",   "Day",   "Dy",   "D",
    "FF1",   "FF2",  "FF3",   "FF4",  "FF5",  "FF6", "FX",    "HH24", "HH12", "HH",    "IDDD", "ID",    "IW",   "IYYY",
    "IYY",   "IY",   "I",     "J",    "MI",   "MM",  "MONTH", "MON",  "MS",   "Month", "Mon",  "OF",    "P.M.", "PM",
    "Q",     "RM",   "SSSSS", "SSSS", "SS",   "TZH", "TZM",   "TZ",   "US",   "WW",    "W",    "Y,YYY", "YYYY", "YYY",
    "YY",    "Y",    "a.d.",  "a.m.", "ad",   "am",  "b.c.",  "bc",   "cc",   "day",   "ddd",  "dd",    "dy",   "d",
    "ff1",   "ff2",  "ff3",   "ff4",  "ff5",  "ff6", "fx",    "hh24", "hh12", "hh",    "iddd", "id",    "iw",   "iyyy",
    "iyy",   "iy",   "i",     "j",    "mi",   "mm",  "month", "mon",  "ms",   "of",    "p.m.", "pm",    "q",    "rm",
    "sssss", "ssss", "ss",    "tzh",  "tzm",  "tz",  "us",    "ww",   "w",    "y,yyy", "yyyy", "yyy",   "yy",   "y"};

struct Piece {
  std::string text;  // literal text, or the pattern
  bool pattern = false;
  bool fill_mode = false;  // FM: no padding
  int ordinal = 0;         // TH (1, upper-case) or th (2) after a number
};

// Splits a template into patterns and literal text.
std::vector<Piece> CompileTemplate(std::string_view fmt) {
  static const std::vector<std::string> patterns = [] {
    std::vector<std::string> v(std::begin(kPatterns), std::end(kPatterns));
    std::stable_sort(v.begin(), v.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return v;
  }();
  std::vector<Piece> out;
  auto literal = [&](char c) {
    if (out.empty() || out.back().pattern) out.push_back(Piece{});
    out.back().text.push_back(c);
  };
  for (size_t i = 0; i < fmt.size();) {
    if (fmt[i] == '"') {  // quoted text; \ escapes the next character
      for (++i; i < fmt.size() && fmt[i] != '"'; ++i) {
        if (fmt[i] == '\\' && i + 1 < fmt.size()) ++i;
        literal(fmt[i]);
      }
      ++i;
      continue;
    }
    if (fmt[i] == '\\' && i + 1 < fmt.size() && fmt[i + 1] == '"') {
      literal('"');
      i += 2;
      continue;
    }
    bool fill = false;
    size_t at = i;
    if (fmt.substr(at, 2) == "FM" || fmt.substr(at, 2) == "fm") {
      fill = true;
      at += 2;
    } else if (fmt.substr(at, 2) == "TM" || fmt.substr(at, 2) == "tm") {
      at += 2;  // translation mode: names are English either way
    }
    const std::string* found = nullptr;
    for (const std::string& p : patterns) {
      if (fmt.substr(at, p.size()) == p) {
        found = &p;
        break;
      }
    }
    if (found == nullptr) {
      for (; i < at; ++i) literal(fmt[i]);  // a prefix without a pattern is text
      if (i < fmt.size()) literal(fmt[i++]);
      continue;
    }
    Piece p;
    p.pattern = true;
    p.text = *found;
    p.fill_mode = fill;
    at += found->size();
    if (fmt.substr(at, 2) == "TH") {
      p.ordinal = 1;
      at += 2;
    } else if (fmt.substr(at, 2) == "th") {
      p.ordinal = 2;
      at += 2;
    }
    out.push_back(std::move(p));
    i = at;
  }
  return out;
}

std::string Number(int64_t v, int width, const Piece& p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*lld", p.fill_mode ? 0 : width, static_cast<long long>(v));
  std::string s = buf;
  if (p.ordinal != 0) {
    int64_t last2 = (v < 0 ? -v : v) % 100;
    const char* suffix = (last2 >= 11 && last2 <= 13) ? "th"
                         : last2 % 10 == 1            ? "st"
                         : last2 % 10 == 2            ? "nd"
                         : last2 % 10 == 3            ? "rd"
                                                      : "th";
    s += p.ordinal == 1 ? ToUpper(suffix) : std::string(suffix);
  }
  return s;
}

// A name in the pattern's case ("MONTH", "Month", "month"), padded to `width` unless FM.
std::string Name(std::string name, const std::string& pattern, size_t width, const Piece& p) {
  if (pattern.size() > 1 && std::isupper(static_cast<unsigned char>(pattern[1]))) {
    name = ToUpper(name);
  } else if (std::islower(static_cast<unsigned char>(pattern[0]))) {
    name = ToLower(name);
  }
  if (!p.fill_mode && name.size() < width) name.append(width - name.size(), ' ');
  return name;
}

struct ZoneShown {
  bool with_zone = false;  // a timestamp with time zone: TZ shows the zone's abbreviation
  int64_t offset_seconds = 0;
  std::string abbreviation;
};

std::string FormatPiece(const Piece& p, const Fields& f, const ZoneShown& zone) {
  std::string u = ToUpper(p.text);
  bool lower = std::islower(static_cast<unsigned char>(p.text[0])) != 0;
  int64_t h12 = f.hour % 12 == 0 ? 12 : f.hour % 12;
  int64_t doy = f.days - DaysFromCivil(f.year, 1, 1) + 1;
  int64_t iso_year, iso_week, iso_doy;
  IsoWeek(f.days, &iso_year, &iso_week, &iso_doy);
  int64_t dow = ((f.days + 4) % 7 + 7) % 7;  // 0 = Sunday
  auto case_of = [&](std::string s) { return lower ? ToLower(s) : s; };
  if (u == "HH" || u == "HH12") return Number(h12, 2, p);
  if (u == "HH24") return Number(f.hour, 2, p);
  if (u == "MI") return Number(f.minute, 2, p);
  if (u == "SS") return Number(f.second, 2, p);
  if (u == "MS") return Number(f.micros / 1000, 3, p);
  if (u == "US") return Number(f.micros, 6, p);
  if (u.size() == 3 && u.rfind("FF", 0) == 0) {
    int digits = u[2] - '0';
    int64_t v = f.micros;
    for (int k = digits; k < 6; ++k) v /= 10;
    return Number(v, digits, p);
  }
  if (u == "SSSS" || u == "SSSSS") return Number(f.hour * 3600 + f.minute * 60 + f.second, 0, p);
  if (u == "AM" || u == "PM") return case_of(f.hour < 12 ? "AM" : "PM");
  if (u == "A.M." || u == "P.M.") return case_of(f.hour < 12 ? "A.M." : "P.M.");
  if (u == "AD" || u == "BC") return case_of(f.year > 0 ? "AD" : "BC");
  if (u == "A.D." || u == "B.C.") return case_of(f.year > 0 ? "A.D." : "B.C.");
  if (u == "Y,YYY") return Number(f.year / 1000, 0, p) + "," + Number(f.year % 1000, 3, Piece{});
  if (u == "YYYY") return Number(f.year, 4, p);
  if (u == "YYY") return Number(f.year % 1000, 3, p);
  if (u == "YY") return Number(f.year % 100, 2, p);
  if (u == "Y") return Number(f.year % 10, 1, p);
  if (u == "IYYY") return Number(iso_year, 4, p);
  if (u == "IYY") return Number(iso_year % 1000, 3, p);
  if (u == "IY") return Number(iso_year % 100, 2, p);
  if (u == "I") return Number(iso_year % 10, 1, p);
  if (u == "MONTH") return Name(kMonths[f.month - 1], p.text, 9, p);
  if (u == "MON") return Name(std::string(kMonths[f.month - 1]).substr(0, 3), p.text, 0, p);
  if (u == "MM") return Number(f.month, 2, p);
  if (u == "DAY") return Name(kDays[dow], p.text, 9, p);
  if (u == "DY") return Name(std::string(kDays[dow]).substr(0, 3), p.text, 0, p);
  if (u == "DDD") return Number(doy, 3, p);
  if (u == "IDDD") return Number(iso_doy, 3, p);
  if (u == "DD") return Number(f.day, 2, p);
  if (u == "D") return Number(dow + 1, 0, p);
  if (u == "ID") return Number(dow == 0 ? 7 : dow, 0, p);
  if (u == "W") return Number((f.day - 1) / 7 + 1, 0, p);
  if (u == "WW") return Number((doy - 1) / 7 + 1, 2, p);
  if (u == "IW") return Number(iso_week, 2, p);
  if (u == "CC") return Number(f.year > 0 ? (f.year + 99) / 100 : -((99 - f.year) / 100), 2, p);
  if (u == "Q") return Number((f.month - 1) / 3 + 1, 0, p);
  if (u == "J") return Number(f.days + 2440588, 0, p);
  if (u == "RM") {
    std::string r = lower ? ToLower(kRoman[f.month - 1]) : kRoman[f.month - 1];
    if (!p.fill_mode) r.append(4 - r.size(), ' ');
    return r;
  }
  int64_t off = zone.offset_seconds, a = off < 0 ? -off : off;
  std::string sign = off < 0 ? "-" : "+";
  if (u == "TZ") return zone.with_zone ? case_of(zone.abbreviation) : "";
  if (u == "TZH") return sign + Number(a / 3600, 2, Piece{});
  if (u == "TZM") return Number(a / 60 % 60, 2, Piece{});
  if (u == "OF")
    return sign + Number(a / 3600, 2, Piece{}) + (a % 3600 != 0 ? ":" + Number(a / 60 % 60, 2, Piece{}) : "");
  return "";  // FX: a parsing option, nothing to show
}

std::string ToChar(const std::vector<Piece>& pieces, int64_t wall_micros, const ZoneShown& zone) {
  Fields f = FieldsOf(wall_micros);
  std::string out;
  for (const Piece& p : pieces) out += p.pattern ? FormatPiece(p, f, zone) : p.text;
  return out;
}

// ---- date_trunc ----

int64_t TruncateMicros(int64_t micros, const std::string& unit) {
  Fields f = FieldsOf(micros);
  auto at = [](int64_t year, unsigned month, unsigned day) { return DaysFromCivil(year, month, day) * kMicrosPerDay; };
  if (unit == "microseconds") return micros;
  if (unit == "milliseconds") return FloorDiv(micros, 1000) * 1000;
  if (unit == "second") return FloorDiv(micros, 1000000) * 1000000;
  if (unit == "minute") return FloorDiv(micros, 60000000) * 60000000;
  if (unit == "hour") return FloorDiv(micros, 3600000000LL) * 3600000000LL;
  if (unit == "day") return f.days * kMicrosPerDay;
  if (unit == "week") return (f.days - ((f.days + 3) % 7 + 7) % 7) * kMicrosPerDay;  // back to Monday
  if (unit == "month") return at(f.year, f.month, 1);
  if (unit == "quarter") return at(f.year, (f.month - 1) / 3 * 3 + 1, 1);
  if (unit == "year") return at(f.year, 1, 1);
  // Decades, centuries and millennia of years 1.. start at years 1, 2001, ... (PostgreSQL's).
  if (unit == "decade") return at(FloorDiv(f.year, 10) * 10, 1, 1);
  if (unit == "century") return at(FloorDiv(f.year - 1, 100) * 100 + 1, 1, 1);
  return at(FloorDiv(f.year - 1, 1000) * 1000 + 1, 1, 1);  // millennium
}

// ---- helpers ----

bool IsTimestampLike(const DataType& t) {
  return t.root() == TypeRoot::kTimestamp || t.root() == TypeRoot::kTimestampLtz || t.root() == TypeRoot::kDate;
}

// Wall-clock microseconds of a value of `t` (TIMESTAMP_LTZ in the session zone).
int64_t WallMicros(ExecContext& ctx, const Datum& d, const DataType& t) {
  if (t.root() == TypeRoot::kDate) return d.as_int() * kMicrosPerDay;
  int64_t micros = d.as_timestamp().ToMicros();
  if (t.root() == TypeRoot::kTimestampLtz) micros += ctx.OffsetMillisAtUtc(FloorDiv(micros, 1000)) * 1000;
  return micros;
}

// The session zone as shown at the instant `utc_micros` (its offset and abbreviation then).
ZoneShown SessionZone(ExecContext& ctx, bool with_zone, int64_t utc_micros) {
  ZoneShown z;
  z.with_zone = with_zone;
  if (!with_zone) {
    z.abbreviation = OffsetAbbreviation(0);
    return z;
  }
  int64_t utc_seconds = FloorDiv(utc_micros, 1000000);
  z.offset_seconds = ctx.OffsetMillisAtUtc(utc_seconds * 1000) / 1000;
  z.abbreviation = ctx.zone != nullptr ? ctx.zone->Abbreviation(utc_seconds) : OffsetAbbreviation(z.offset_seconds);
  return z;
}

std::string Units() {
  return "microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year, decade, century, "
         "millennium";
}

}  // namespace

// PostgreSQL's unit names (singular, plural, abbreviations) to one spelling.
std::string PostgresUnit(const std::string& text) {
  std::string u = ToLower(text);
  static const std::pair<const char*, const char*> kAliases[] = {{"microsecond", "microseconds"},
                                                                 {"microseconds", "microseconds"},
                                                                 {"us", "microseconds"},
                                                                 {"usec", "microseconds"},
                                                                 {"usecs", "microseconds"},
                                                                 {"useconds", "microseconds"},
                                                                 {"millisecond", "milliseconds"},
                                                                 {"milliseconds", "milliseconds"},
                                                                 {"ms", "milliseconds"},
                                                                 {"msec", "milliseconds"},
                                                                 {"msecs", "milliseconds"},
                                                                 {"mseconds", "milliseconds"},
                                                                 {"second", "second"},
                                                                 {"seconds", "second"},
                                                                 {"s", "second"},
                                                                 {"sec", "second"},
                                                                 {"secs", "second"},
                                                                 {"minute", "minute"},
                                                                 {"minutes", "minute"},
                                                                 {"m", "minute"},
                                                                 {"min", "minute"},
                                                                 {"mins", "minute"},
                                                                 {"hour", "hour"},
                                                                 {"hours", "hour"},
                                                                 {"h", "hour"},
                                                                 {"hr", "hour"},
                                                                 {"hrs", "hour"},
                                                                 {"day", "day"},
                                                                 {"days", "day"},
                                                                 {"d", "day"},
                                                                 {"week", "week"},
                                                                 {"weeks", "week"},
                                                                 {"w", "week"},
                                                                 {"month", "month"},
                                                                 {"months", "month"},
                                                                 {"mon", "month"},
                                                                 {"mons", "month"},
                                                                 {"quarter", "quarter"},
                                                                 {"qtr", "quarter"},
                                                                 {"year", "year"},
                                                                 {"years", "year"},
                                                                 {"y", "year"},
                                                                 {"yr", "year"},
                                                                 {"yrs", "year"},
                                                                 {"decade", "decade"},
                                                                 {"decades", "decade"},
                                                                 {"dec", "decade"},
                                                                 {"decs", "decade"},
                                                                 {"century", "century"},
                                                                 {"centuries", "century"},
                                                                 {"c", "century"},
                                                                 {"cent", "century"},
                                                                 {"millennium", "millennium"},
                                                                 {"millennia", "millennium"},
                                                                 {"mil", "millennium"},
                                                                 {"mils", "millennium"}};
  for (const auto& [from, to] : kAliases) {
    if (u == from) return to;
  }
  return "";
}

void RegisterPostgresDateTimeFunctions(FunctionRegistry* r) {
  r->AddScalar(
      "TO_CHAR",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        const DataType& t = site.arg_types[0];
        if (!IsTimestampLike(t)) {
          return site.Error(site.Arg(0) + " must be a timestamp, timestamptz or date, not " +
                            TypeName(t.WithNullable(true)) + " (number templates are not supported)");
        }
        if (!IsStringType(site.arg_types[1])) {
          return site.Error(site.Arg(1) + " must be a template text such as 'YYYY-MM-DD HH24:MI:SS'");
        }
        // A date shows as the start of its day in the session zone, as PostgreSQL's timestamptz.
        bool with_zone = t.root() != TypeRoot::kTimestamp;
        BoundFunction f;
        f.return_type = DataType::String();
        f.arg_types = {t, DataType::String()};
        auto compiled = std::make_shared<std::pair<std::string, std::vector<Piece>>>();
        if (site.constants[1] && !site.constants[1]->is_null()) {
          compiled->first = site.constants[1]->as_bytes();
          compiled->second = CompileTemplate(compiled->first);
        }
        f.kernel = RowKernel([t, with_zone, compiled](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          std::string fmt(a[1].as_bytes());
          if (fmt != compiled->first || (compiled->second.empty() && !fmt.empty())) {
            *compiled = {fmt, CompileTemplate(fmt)};
          }
          int64_t wall = WallMicros(ctx, a[0], t);
          int64_t utc_micros = t.root() == TypeRoot::kTimestampLtz
                                   ? a[0].as_timestamp().ToMicros()
                                   : wall - ctx.OffsetMillisAtLocal(FloorDiv(wall, 1000)) * 1000;
          *o = Datum::Bytes(ToChar(compiled->second, wall, SessionZone(ctx, with_zone, utc_micros)));
          return Status::OK();
        });
        return f;
      },
      "TO_CHAR(timestamp, template): PostgreSQL's template patterns (YYYY MM DD HH24 MI SS MS US Mon Day TZ, FM, "
      "\"text\")");

  r->AddScalar(
      "TIMEZONE",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        if (!IsStringType(site.arg_types[0])) {
          return site.Error("the zone of AT TIME ZONE must be text such as 'UTC', '+05:00' or 'Europe/Berlin', not " +
                            TypeName(site.arg_types[0].WithNullable(true)));
        }
        DataType t = site.arg_types[1];
        // Text and dates are read as timestamps with time zone, as PostgreSQL resolves them.
        if (IsStringType(t) || t.root() == TypeRoot::kDate) t = DataType::TimestampLtz(6);
        if (t.root() != TypeRoot::kTimestamp && t.root() != TypeRoot::kTimestampLtz) {
          return site.Error("AT TIME ZONE applies to a timestamp or timestamptz, not " +
                            TypeName(t.WithNullable(true)));
        }
        std::shared_ptr<const TimeZone> fixed;
        if (site.constants[0] && !site.constants[0]->is_null()) {
          auto z = TimeZone::FromPostgresName(site.constants[0]->as_bytes());
          if (!z.ok()) return site.Error(z.status().message());
          fixed = *z;
        }
        bool to_local = t.root() == TypeRoot::kTimestampLtz;
        BoundFunction f;
        f.return_type = to_local ? DataType::Timestamp(t.precision()) : DataType::TimestampLtz(t.precision());
        f.arg_types = {DataType::String(), t};
        f.kernel = RowKernel([fixed, to_local](ExecContext&, const Datum* a, Datum* o) -> Status {
          std::shared_ptr<const TimeZone> zone = fixed;
          if (!zone) {
            KL_ASSIGN_OR_RETURN(zone, TimeZone::FromPostgresName(a[0].as_bytes()));
          }
          int64_t micros = a[1].as_timestamp().ToMicros();
          int64_t seconds = FloorDiv(micros, 1000000);
          int64_t shift = to_local ? zone->OffsetAtUtc(seconds) : -zone->OffsetAtLocal(seconds);
          *o = Datum::Time(Timestamp::FromMicros(micros + shift * 1000000));
          return Status::OK();
        });
        return f;
      },
      "TIMEZONE(zone, t) | t AT TIME ZONE zone: UTC, POSIX offsets ('+05' is UTC-5) and tz database names");

  // date_trunc: PostgreSQL's units in PostgreSQL sessions, Flink's FLOOR(t TO unit) otherwise.
  if (const ScalarBinder* flink_trunc = r->FindScalar("DATE_TRUNC")) {
    ScalarBinder flink = *flink_trunc;
    r->AddScalar(
        "DATE_TRUNC",
        [flink](const CallSite& site) -> Result<BoundFunction> {
          if (!site.postgres) return flink(site);
          KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
          if (!IsStringType(site.arg_types[0]) || !site.constants[0] || site.constants[0]->is_null()) {
            return site.Error("the unit of date_trunc must be constant text such as 'hour' (" + Units() + ")");
          }
          std::string written = site.constants[0]->as_bytes();
          std::string unit = PostgresUnit(written);
          if (unit.empty()) return site.Error("date_trunc does not know the unit '" + written + "' (" + Units() + ")");
          DataType t = site.arg_types[1];
          if (IsStringType(t) || t.root() == TypeRoot::kDate) t = DataType::TimestampLtz(6);
          if (t.root() != TypeRoot::kTimestamp && t.root() != TypeRoot::kTimestampLtz) {
            return site.Error(site.Arg(1) + " must be a timestamp, timestamptz or date, not " +
                              TypeName(t.WithNullable(true)));
          }
          BoundFunction f;
          f.return_type = t.WithNullable(true);
          f.arg_types = {DataType::String(), t};
          f.kernel = RowKernel([unit, t](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
            int64_t micros = a[1].as_timestamp().ToMicros();
            if (t.root() != TypeRoot::kTimestampLtz) {
              *o = Datum::Time(Timestamp::FromMicros(TruncateMicros(micros, unit)));
              return Status::OK();
            }
            // Truncated on the session zone's wall clock, then read back in that zone (whose
            // offset may differ at the truncated time: a day across a change to summer time).
            // A wall-clock time that occurs twice keeps the offset the value had (PostgreSQL's).
            int64_t offset = ctx.OffsetMillisAtUtc(FloorDiv(micros, 1000)) * 1000;
            int64_t wall = TruncateMicros(micros + offset, unit);
            if (ctx.OffsetMillisAtUtc(FloorDiv(wall - offset, 1000)) * 1000 != offset) {
              offset = ctx.OffsetMillisAtLocal(FloorDiv(wall, 1000)) * 1000;
            }
            *o = Datum::Time(Timestamp::FromMicros(wall - offset));
            return Status::OK();
          });
          return f;
        },
        "DATE_TRUNC(unit, t): PostgreSQL sessions: " + Units() + " (weeks start on Monday); Flink: FLOOR(t TO unit)");
  }

  // extract(epoch | second | milliseconds ...): PostgreSQL gives numeric with the fraction.
  if (const ScalarBinder* flink_extract = r->FindScalar("EXTRACT")) {
    ScalarBinder flink = *flink_extract;
    r->AddScalar(
        "EXTRACT",
        [flink](const CallSite& site) -> Result<BoundFunction> {
          if (!site.postgres || site.arg_types.size() != 2 || !site.constants[0] || site.constants[0]->is_null() ||
              !IsTimestampLike(site.arg_types[1])) {
            return flink(site);
          }
          std::string unit = ToUpper(site.constants[0]->as_bytes());
          DataType t = site.arg_types[1];
          bool fraction =
              unit == "EPOCH" || ((unit == "SECOND" || unit == "MILLISECOND") && t.root() != TypeRoot::kDate);
          if (unit == "DOW") {
            // PostgreSQL counts the days of the week from 0 = Sunday (Flink from 1 = Sunday).
            BoundFunction f;
            f.return_type = DataType::BigInt();
            f.arg_types = {DataType::String(), t};
            f.kernel = RowKernel([t](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
              int64_t days = FloorDiv(WallMicros(ctx, a[1], t), kMicrosPerDay);
              *o = Datum::Int(((days + 4) % 7 + 7) % 7);
              return Status::OK();
            });
            return f;
          }
          if (!fraction) return flink(site);
          // Dates have no fraction: their epoch is a whole number (PostgreSQL's numeric scale 0).
          int scale = t.root() == TypeRoot::kDate ? 0 : unit == "EPOCH" || unit == "SECOND" ? 6 : 3;
          BoundFunction f;
          // As narrow as the values need, so that dividing keeps the fraction exact enough
          // (floor(extract(epoch from t)/3600) must not round up at 23:59:59.999).
          int digits = unit == "EPOCH" ? 12 : unit == "SECOND" ? 2 : 5;
          f.return_type = DataType::Decimal(digits + scale, scale);
          f.arg_types = {DataType::String(), t};
          f.kernel = RowKernel([unit, t](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
            int64_t micros =
                t.root() == TypeRoot::kDate ? a[1].as_int() * kMicrosPerDay : a[1].as_timestamp().ToMicros();
            if (t.root() == TypeRoot::kDate) {
              *o = Datum::Decimal(static_cast<format::Int128>(micros / 1000000));
            } else if (unit == "EPOCH") {
              *o = Datum::Decimal(static_cast<format::Int128>(micros));
            } else {
              // Seconds of the minute in the wall clock (an LTZ in the session zone).
              int64_t wall = WallMicros(ctx, a[1], t);
              int64_t in_minute = wall - FloorDiv(wall, 60000000) * 60000000;
              *o = Datum::Decimal(static_cast<format::Int128>(in_minute));  // scale 6 (s) or 3 (ms)
            }
            return Status::OK();
          });
          return f;
        },
        "EXTRACT(unit FROM t) (PostgreSQL sessions: epoch and second as numeric with the fraction, dow from 0 = "
        "Sunday)");
  }
}

}  // namespace kl::sql
