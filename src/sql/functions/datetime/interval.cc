#include "sql/functions/datetime/interval.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/clock.h"

namespace kl::sql {

using format::Int128;

namespace {

constexpr int64_t kDaysPerMonth = 30;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;

Status OutOfRange() { return Status::InvalidArgument("interval out of range"); }

Status FieldOutOfRange(std::string_view text) {
  return Status::InvalidArgument("interval field value out of range: \"" + std::string(text) + "\"");
}

Status BadText(std::string_view text) {
  return Status::InvalidArgument("invalid input syntax for type interval: \"" + std::string(text) + "\"");
}

// The fields PostgreSQL's output and extract() see: years and months from the months,
// hours down to microseconds from the time, each with the sign of what it came from.
struct Broken {
  int64_t years, months, days, hours, minutes, seconds, micros;
};

Broken Break(const Interval& v) {
  Broken b;
  b.years = v.months / 12;
  b.months = v.months % 12;
  b.days = v.days;
  int64_t t = v.micros;
  b.hours = t / kMicrosPerHour;
  t -= b.hours * kMicrosPerHour;
  b.minutes = t / kMicrosPerMinute;
  t -= b.minutes * kMicrosPerMinute;
  b.seconds = t / kMicrosPerSecond;
  b.micros = t - b.seconds * kMicrosPerSecond;
  return b;
}

// Sums of fields while reading or computing, wide enough to check at the end.
struct Wide {
  Int128 months = 0, days = 0, micros = 0;
};

Result<Interval> Narrow(const Wide& w) {
  if (w.months > kMaxIntervalMonths || w.months < -kMaxIntervalMonths || w.days > INT32_MAX || w.days < INT32_MIN ||
      w.micros > INT64_MAX || w.micros < INT64_MIN) {
    return OutOfRange();
  }
  return Interval{static_cast<int32_t>(w.months), static_cast<int32_t>(w.days), static_cast<int64_t>(w.micros)};
}

// PostgreSQL's AdjustFractMicroseconds: a fraction (|frac| < 1) of `scale` microseconds,
// rounded to the nearest microsecond.
int64_t FractionMicros(double frac, double scale) {
  frac *= scale;
  int64_t us = static_cast<int64_t>(frac);
  frac -= static_cast<double>(us);
  if (frac > 0.5) ++us;
  if (frac < -0.5) --us;
  return us;
}

// PostgreSQL's AdjustFractDays: a fraction of `scale` days as whole days and microseconds.
void FractionDays(double frac, double scale, Wide* w) {
  frac *= scale;
  int64_t whole = static_cast<int64_t>(frac);
  w->days += whole;
  w->micros += FractionMicros(frac - static_cast<double>(whole), static_cast<double>(kIntervalMicrosPerDay));
}

enum class Unit {
  kNone,
  kMicro,
  kMilli,
  kSecond,
  kMinute,
  kHour,
  kDay,
  kWeek,
  kMonth,
  kQuarter,
  kYear,
  kDecade,
  kCentury,
  kMillennium
};

Unit UnitNamed(const std::string& w) {
  static const std::pair<const char*, Unit> kNames[] = {{"microsecond", Unit::kMicro},
                                                        {"microseconds", Unit::kMicro},
                                                        {"us", Unit::kMicro},
                                                        {"usec", Unit::kMicro},
                                                        {"usecs", Unit::kMicro},
                                                        {"useconds", Unit::kMicro},
                                                        {"millisecond", Unit::kMilli},
                                                        {"milliseconds", Unit::kMilli},
                                                        {"ms", Unit::kMilli},
                                                        {"msec", Unit::kMilli},
                                                        {"msecs", Unit::kMilli},
                                                        {"mseconds", Unit::kMilli},
                                                        {"second", Unit::kSecond},
                                                        {"seconds", Unit::kSecond},
                                                        {"s", Unit::kSecond},
                                                        {"sec", Unit::kSecond},
                                                        {"secs", Unit::kSecond},
                                                        {"minute", Unit::kMinute},
                                                        {"minutes", Unit::kMinute},
                                                        {"m", Unit::kMinute},
                                                        {"min", Unit::kMinute},
                                                        {"mins", Unit::kMinute},
                                                        {"hour", Unit::kHour},
                                                        {"hours", Unit::kHour},
                                                        {"h", Unit::kHour},
                                                        {"hr", Unit::kHour},
                                                        {"hrs", Unit::kHour},
                                                        {"day", Unit::kDay},
                                                        {"days", Unit::kDay},
                                                        {"d", Unit::kDay},
                                                        {"week", Unit::kWeek},
                                                        {"weeks", Unit::kWeek},
                                                        {"w", Unit::kWeek},
                                                        {"month", Unit::kMonth},
                                                        {"months", Unit::kMonth},
                                                        {"mon", Unit::kMonth},
                                                        {"mons", Unit::kMonth},
                                                        {"quarter", Unit::kQuarter},
                                                        {"quarters", Unit::kQuarter},
                                                        {"year", Unit::kYear},
                                                        {"years", Unit::kYear},
                                                        {"y", Unit::kYear},
                                                        {"yr", Unit::kYear},
                                                        {"yrs", Unit::kYear},
                                                        {"decade", Unit::kDecade},
                                                        {"decades", Unit::kDecade},
                                                        {"dec", Unit::kDecade},
                                                        {"decs", Unit::kDecade},
                                                        {"century", Unit::kCentury},
                                                        {"centuries", Unit::kCentury},
                                                        {"c", Unit::kCentury},
                                                        {"cent", Unit::kCentury},
                                                        {"millennium", Unit::kMillennium},
                                                        {"millennia", Unit::kMillennium},
                                                        {"mil", Unit::kMillennium},
                                                        {"mils", Unit::kMillennium}};
  for (const auto& [name, unit] : kNames) {
    if (w == name) return unit;
  }
  return Unit::kNone;
}

// A number as PostgreSQL splits it: the integer part and the signed fraction.
struct Number {
  Int128 whole = 0;
  double fraction = 0;
};

bool ReadNumber(std::string_view s, Number* n) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    n->whole = n->whole * 10 + (s[i++] - '0');
    // -2^63 has one more unit of magnitude than 2^63 - 1.
    if (n->whole > static_cast<Int128>(INT64_MAX) + (negative ? 1 : 0)) return false;
    ++digits;
  }
  if (i < s.size() && s[i] == '.') {
    std::string frac = "0" + std::string(s.substr(i));
    char* end = nullptr;
    n->fraction = std::strtod(frac.c_str(), &end);
    if (end != frac.c_str() + frac.size()) return false;
    digits += frac.size() - 2;
    i = s.size();
  }
  if (i != s.size() || digits == 0) return false;
  if (negative) {
    n->whole = -n->whole;
    n->fraction = -n->fraction;
  }
  return true;
}

// Adds `n` of `unit` to `w` as PostgreSQL's DecodeInterval does (fractions cascade down).
void AddUnits(const Number& n, Unit unit, Wide* w) {
  switch (unit) {
    case Unit::kMicro: w->micros += n.whole + FractionMicros(n.fraction, 1); break;
    case Unit::kMilli: w->micros += n.whole * 1000 + FractionMicros(n.fraction, 1000); break;
    case Unit::kNone:
    case Unit::kSecond: w->micros += n.whole * kMicrosPerSecond + FractionMicros(n.fraction, 1e6); break;
    case Unit::kMinute: w->micros += n.whole * kMicrosPerMinute + FractionMicros(n.fraction, 6e7); break;
    case Unit::kHour: w->micros += n.whole * kMicrosPerHour + FractionMicros(n.fraction, 3.6e9); break;
    case Unit::kDay:
      w->days += n.whole;
      w->micros += FractionMicros(n.fraction, 8.64e10);
      break;
    case Unit::kWeek:
      w->days += n.whole * 7;
      FractionDays(n.fraction, 7, w);
      break;
    case Unit::kMonth:
      w->months += n.whole;
      FractionDays(n.fraction, kDaysPerMonth, w);
      break;
    case Unit::kQuarter:
      w->months += n.whole * 3;
      FractionDays(n.fraction, 3 * kDaysPerMonth, w);
      break;
    case Unit::kYear:
    case Unit::kDecade:
    case Unit::kCentury:
    case Unit::kMillennium: {
      int64_t years = unit == Unit::kYear ? 1 : unit == Unit::kDecade ? 10 : unit == Unit::kCentury ? 100 : 1000;
      w->months += n.whole * years * 12;
      w->months += static_cast<int64_t>(std::rint(n.fraction * static_cast<double>(years * 12)));
      break;
    }
  }
}

bool Overflowing(const Wide& w) {
  const Int128 kLimit = static_cast<Int128>(1) << 100;  // far past every field's range, far from wrapping
  auto big = [&](Int128 v) { return v > kLimit || v < -kLimit; };
  return big(w.months) || big(w.days) || big(w.micros);
}

// "[+-]h:m[:s[.f]]", or "m:s.f" (PostgreSQL reads two parts with a fraction as minutes and seconds).
// `field_range`: minutes past 59 or seconds past 60 (PostgreSQL's own message for them).
bool ReadTime(std::string_view s, Wide* w, bool* field_range) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ':') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  // PostgreSQL reads "1:" and "1:2:" with the missing last field as zero.
  while (parts.size() > 1 && parts.back().empty()) parts.pop_back();
  if (parts.size() == 1) parts.push_back("0");
  if (parts.size() < 2 || parts.size() > 3) return false;
  Number h, m, sec;
  bool seconds_in_second = parts.size() == 2 && parts[1].find('.') != std::string_view::npos;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i][0] == '+' || parts[i][0] == '-') return false;
    bool last = i + 1 == parts.size();
    if (!last && parts[i].find('.') != std::string_view::npos) return false;
  }
  if (seconds_in_second) {
    if (!ReadNumber(parts[0], &m) || !ReadNumber(parts[1], &sec)) return false;
  } else {
    if (!ReadNumber(parts[0], &h) || !ReadNumber(parts[1], &m)) return false;
    if (parts.size() == 3 && !ReadNumber(parts[2], &sec)) return false;
    if (parts.size() == 2 && m.fraction != 0) return false;
  }
  if (m.whole > 59 || sec.whole > 60) {  // 60.5 seconds pass, as in PostgreSQL
    *field_range = true;
    return false;
  }
  Int128 micros = h.whole * kMicrosPerHour + m.whole * kMicrosPerMinute + sec.whole * kMicrosPerSecond +
                  FractionMicros(sec.fraction, 1e6);
  w->micros += negative ? -micros : micros;
  return true;
}

Result<Interval> ParseIso8601(std::string_view text, std::string_view s) {
  // s: after the 'p'.
  Wide w;
  bool in_time = false, any = false;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == 't') {
      if (in_time) return BadText(text);
      in_time = true;
      ++i;
      continue;
    }
    size_t start = i;
    if (s[i] == '+' || s[i] == '-') ++i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    Number n;
    if (i >= s.size() || !ReadNumber(s.substr(start, i - start), &n)) return BadText(text);
    char designator = s[i++];
    Unit unit = Unit::kNone;
    if (!in_time) {
      unit = designator == 'y'   ? Unit::kYear
             : designator == 'm' ? Unit::kMonth
             : designator == 'w' ? Unit::kWeek
             : designator == 'd' ? Unit::kDay
                                 : Unit::kNone;
    } else {
      unit = designator == 'h'   ? Unit::kHour
             : designator == 'm' ? Unit::kMinute
             : designator == 's' ? Unit::kSecond
                                 : Unit::kNone;
    }
    if (unit == Unit::kNone) return BadText(text);
    AddUnits(n, unit, &w);
    if (Overflowing(w)) return OutOfRange();
    any = true;
  }
  if (!any && !in_time) return BadText(text);  // "PT" is zero, "P" nothing
  return Narrow(w);
}

}  // namespace

Result<Interval> ParseInterval(std::string_view text) {
  std::string s;
  for (char c : text) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  s = s.substr(b, e - b);
  if (s.empty()) return BadText(text);
  if (s[0] == 'p') return ParseIso8601(text, std::string_view(s).substr(1));
  if (s[0] == '@') s = s.substr(1);

  Wide w;
  bool any = false, ago = false, time_seen = false;
  std::vector<Unit> seen;
  Number last_bare;  // the number of the last field when it had no unit (seen.back() == kNone)
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (ago) return BadText(text);  // "ago" ends the text
    if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t start = i;
      while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
      if (s.substr(start, i - start) != "ago" || !any) return BadText(text);
      ago = true;
      continue;
    }
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) return BadText(text);
    size_t start = i++;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == ':')) ++i;
    std::string_view token = std::string_view(s).substr(start, i - start);
    if (token.find(':') != std::string_view::npos) {
      bool field_range = false;
      if (time_seen || !ReadTime(token, &w, &field_range)) {
        if (field_range) {
          return Status::InvalidArgument("interval field value out of range: \"" + std::string(text) + "\"");
        }
        return BadText(text);
      }
      // A bare number before a time counts days, as PostgreSQL reads "1 2:03:04".
      if (!seen.empty() && seen.back() == Unit::kNone) {
        for (Unit u : seen) {
          if (u == Unit::kDay) return BadText(text);
        }
        AddUnits(Number{-last_bare.whole, -last_bare.fraction}, Unit::kNone, &w);
        AddUnits(last_bare, Unit::kDay, &w);
        seen.back() = Unit::kDay;
      }
      for (Unit u : seen) {
        if (u == Unit::kHour || u == Unit::kMinute || u == Unit::kSecond || u == Unit::kNone) return BadText(text);
      }
      time_seen = true;
      any = true;
      if (Overflowing(w)) return OutOfRange();
      continue;
    }
    Number n;
    if (!ReadNumber(token, &n)) {
      // A well-formed number too long for 64 bits is out of range, anything else bad text.
      size_t digits = 0, points = 0;
      for (char d : token.substr(token[0] == '-' || token[0] == '+' ? 1 : 0)) {
        if (std::isdigit(static_cast<unsigned char>(d))) {
          ++digits;
        } else if (d == '.') {
          ++points;
        } else {
          return BadText(text);
        }
      }
      return digits > 0 && points <= 1 ? FieldOutOfRange(text) : BadText(text);
    }
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    Unit unit = Unit::kNone;
    if (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) {
      size_t u0 = i;
      while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
      std::string word = s.substr(u0, i - u0);
      unit = UnitNamed(word);
      // PostgreSQL refuses a bare number before "ago" ("1 ago") as any word it does not know.
      if (unit == Unit::kNone) return BadText(text);
    }
    bool time_unit = unit == Unit::kHour || unit == Unit::kMinute || unit == Unit::kSecond || unit == Unit::kNone;
    for (Unit u : seen) {
      if (u == unit) return BadText(text);
    }
    if (time_seen && time_unit) return BadText(text);
    seen.push_back(unit);
    if (unit == Unit::kNone) last_bare = n;
    AddUnits(n, unit, &w);
    if (Overflowing(w)) return OutOfRange();
    any = true;
  }
  if (!any) return BadText(text);
  // Days and time past their fields' range are PostgreSQL's field errors; months past theirs
  // "interval out of range" (from Narrow).
  if (w.days > INT32_MAX || w.days < INT32_MIN || w.micros > INT64_MAX || w.micros < INT64_MIN) {
    return FieldOutOfRange(text);
  }
  if (ago) {
    w.months = -w.months;
    w.days = -w.days;
    w.micros = -w.micros;
  }
  return Narrow(w);
}

Result<Interval> AddIntervals(const Interval& a, const Interval& b) {
  Wide w{static_cast<Int128>(a.months) + b.months, static_cast<Int128>(a.days) + b.days,
         static_cast<Int128>(a.micros) + b.micros};
  return Narrow(w);
}

Result<Interval> NegateInterval(const Interval& v) {
  return Narrow(Wide{-static_cast<Int128>(v.months), -static_cast<Int128>(v.days), -static_cast<Int128>(v.micros)});
}

namespace {

double TsRound(double x) { return std::rint(x * 1e6) / 1e6; }

bool FitsInt32(double x) { return !std::isnan(x) && x >= -2147483648.0 && x < 2147483648.0; }
bool FitsInt64(double x) { return !std::isnan(x) && x >= -9223372036854775808.0 && x < 9223372036854775808.0; }

// PostgreSQL's interval_mul and interval_div: months and days scaled, their fractions
// cascaded into days and seconds (rounded to microseconds), the time scaled.
Result<Interval> Scale(const Interval& v, double months_scaled, double days_scaled, double time_scaled) {
  if (!FitsInt32(months_scaled) || !FitsInt32(days_scaled)) return OutOfRange();
  Wide w;
  w.months = static_cast<int32_t>(months_scaled);
  w.days = static_cast<int32_t>(days_scaled);
  double month_remainder_days = TsRound((months_scaled - static_cast<double>(w.months)) * kDaysPerMonth);
  double sec_remainder = TsRound((days_scaled - static_cast<double>(w.days) + month_remainder_days -
                                  static_cast<double>(static_cast<int>(month_remainder_days))) *
                                 86400.0);
  if (std::fabs(sec_remainder) >= 86400.0) {
    int extra = static_cast<int>(sec_remainder / 86400.0);
    w.days += extra;
    sec_remainder -= extra * 86400.0;
  }
  w.days += static_cast<int>(month_remainder_days);
  double time = std::rint(time_scaled + sec_remainder * 1e6);
  if (!FitsInt64(time)) return OutOfRange();
  w.micros = static_cast<int64_t>(time);
  return Narrow(w);
}

}  // namespace

Result<Interval> MultiplyInterval(const Interval& v, double factor) {
  return Scale(v, v.months * factor, v.days * factor, static_cast<double>(v.micros) * factor);
}

Result<Interval> DivideInterval(const Interval& v, double divisor) {
  if (divisor == 0) return Status::InvalidArgument("division by zero");
  return Scale(v, v.months / divisor, v.days / divisor, static_cast<double>(v.micros) / divisor);
}

// Moves the whole `unit`s of `*small` into `*large` (whole days of the time, whole months of the days).
void CarryWhole(Int128* large, Int128* small, Int128 unit) {
  Int128 whole = *small / unit;
  *small -= whole * unit;
  *large += whole;
}

// Gives `*small` the sign of `*large` by borrowing one `unit` (justify_*'s last step);
// `small_is_negative`/`small_is_positive` say what counts as the other sign.
void MatchSign(Int128* large, Int128* small, Int128 unit, bool small_is_negative, bool small_is_positive) {
  if (*large > 0 && small_is_negative) {
    *small += unit;
    *large -= 1;
  } else if (*large < 0 && small_is_positive) {
    *small -= unit;
    *large += 1;
  }
}

Result<Interval> JustifyHours(const Interval& v) {
  Wide w{v.months, v.days, v.micros};
  CarryWhole(&w.days, &w.micros, kIntervalMicrosPerDay);
  MatchSign(&w.days, &w.micros, kIntervalMicrosPerDay, w.micros<0, w.micros> 0);
  return Narrow(w);
}

Result<Interval> JustifyDays(const Interval& v) {
  Wide w{v.months, v.days, v.micros};
  CarryWhole(&w.months, &w.days, kDaysPerMonth);
  MatchSign(&w.months, &w.days, kDaysPerMonth, w.days<0, w.days> 0);
  return Narrow(w);
}

Result<Interval> JustifyInterval(const Interval& v) {
  Wide w{v.months, v.days, v.micros};
  CarryWhole(&w.days, &w.micros, kIntervalMicrosPerDay);
  CarryWhole(&w.months, &w.days, kDaysPerMonth);
  // The months' sign decides, the time counting where the days are zero.
  MatchSign(&w.months, &w.days, kDaysPerMonth, w.days < 0 || (w.days == 0 && w.micros < 0),
            w.days > 0 || (w.days == 0 && w.micros > 0));
  MatchSign(&w.days, &w.micros, kIntervalMicrosPerDay, w.micros<0, w.micros> 0);
  return Narrow(w);
}

Result<Interval> TimestampDifference(int64_t a_micros, int64_t b_micros) {
  int64_t diff;
  if (__builtin_sub_overflow(a_micros, b_micros, &diff)) return OutOfRange();
  return JustifyHours(Interval{0, 0, diff});
}

Result<Interval> Age(int64_t a_wall_micros, int64_t b_wall_micros) {
  struct Tm {
    int64_t year, month, day, hour, minute, second, micros;
  };
  auto split = [](int64_t micros) {
    Tm t;
    int64_t days = FloorDiv(micros, kIntervalMicrosPerDay);
    int64_t in_day = micros - days * kIntervalMicrosPerDay;
    unsigned m, d;
    CivilFromDays(days, &t.year, &m, &d);
    t.month = m;
    t.day = d;
    t.hour = in_day / kMicrosPerHour;
    t.minute = in_day / kMicrosPerMinute % 60;
    t.second = in_day / kMicrosPerSecond % 60;
    t.micros = in_day % kMicrosPerSecond;
    return t;
  };
  Tm t1 = split(a_wall_micros), t2 = split(b_wall_micros);
  Tm r{t1.year - t2.year,     t1.month - t2.month,   t1.day - t2.day,      t1.hour - t2.hour,
       t1.minute - t2.minute, t1.second - t2.second, t1.micros - t2.micros};
  bool before = a_wall_micros < b_wall_micros;
  auto flip = [&] { r = Tm{-r.year, -r.month, -r.day, -r.hour, -r.minute, -r.second, -r.micros}; };
  if (before) flip();
  while (r.micros < 0) {
    r.micros += kMicrosPerSecond;
    --r.second;
  }
  while (r.second < 0) {
    r.second += 60;
    --r.minute;
  }
  while (r.minute < 0) {
    r.minute += 60;
    --r.hour;
  }
  while (r.hour < 0) {
    r.hour += 24;
    --r.day;
  }
  while (r.day < 0) {
    // The month borrowed is as long as the month of the earlier time.
    const Tm& earlier = before ? t1 : t2;
    r.day += DaysInMonth(earlier.year, static_cast<unsigned>(earlier.month));
    --r.month;
  }
  while (r.month < 0) {
    r.month += 12;
    --r.year;
  }
  if (before) flip();
  Wide w;
  w.months = static_cast<Int128>(r.year) * 12 + r.month;
  w.days = r.day;
  w.micros = ((static_cast<Int128>(r.hour) * 60 + r.minute) * 60 + r.second) * kMicrosPerSecond + r.micros;
  return Narrow(w);
}

Int128 AddMonthsAndDays(int64_t wall_micros, int64_t months, int64_t days) {
  int64_t day = FloorDiv(wall_micros, kIntervalMicrosPerDay);
  int64_t in_day = wall_micros - day * kIntervalMicrosPerDay;
  if (months != 0) day = AddMonthsToDay(day, months);
  // Far enough out the microseconds pass 2^63; the caller range-checks the wide value.
  return (static_cast<Int128>(day) + days) * kIntervalMicrosPerDay + in_day;
}

Result<Int128> ExtractFromInterval(const std::string& field, const Interval& v, int* scale) {
  Broken b = Break(v);
  *scale = 0;
  int64_t seconds_micros = b.seconds * kMicrosPerSecond + b.micros;
  if (field == "microseconds") return Int128{seconds_micros};
  if (field == "milliseconds") {
    *scale = 3;
    return Int128{seconds_micros};
  }
  if (field == "second") {
    *scale = 6;
    return Int128{seconds_micros};
  }
  if (field == "epoch") {
    *scale = 6;
    // PostgreSQL counts a year as 365.25 days here (31557600 s) and a month as 30 days.
    Int128 seconds = static_cast<Int128>(v.months / 12) * 31557600 +
                     (static_cast<Int128>(v.months % 12) * kDaysPerMonth + v.days) * 86400;
    return seconds * kMicrosPerSecond + v.micros;
  }
  if (field == "minute") return Int128{b.minutes};
  if (field == "hour") return Int128{b.hours};
  if (field == "day") return Int128{b.days};
  if (field == "month") return Int128{b.months};
  if (field == "quarter") return Int128{b.months / 3 + 1};
  if (field == "year") return Int128{b.years};
  if (field == "decade") return Int128{b.years / 10};
  if (field == "century") return Int128{b.years / 100};
  if (field == "millennium") return Int128{b.years / 1000};
  return Status::InvalidArgument("unit \"" + field + "\" not supported for type interval");
}

Result<Interval> TruncateInterval(const std::string& field, const Interval& v) {
  Broken b = Break(v);
  static const char* kOrder[] = {"millennium", "century", "decade", "year",   "quarter",      "month",
                                 "day",        "hour",    "minute", "second", "milliseconds", "microseconds"};
  int level = -1;
  for (int i = 0; i < 12; ++i) {
    if (field == kOrder[i]) level = i;
  }
  if (field == "week") {
    return Status::InvalidArgument(
        "unit \"week\" not supported for type interval (months usually have fractional weeks)");
  }
  if (level < 0) return Status::InvalidArgument("unit \"" + field + "\" not supported for type interval");
  if (level <= 0) b.years = b.years / 1000 * 1000;
  if (level <= 1) b.years = b.years / 100 * 100;
  if (level <= 2) b.years = b.years / 10 * 10;
  if (level <= 3) b.months = 0;
  if (level <= 4) b.months = 3 * (b.months / 3);
  if (level <= 5) b.days = 0;
  if (level <= 6) b.hours = 0;
  if (level <= 7) b.minutes = 0;
  if (level <= 8) b.seconds = 0;
  if (level <= 9) b.micros = 0;
  if (level == 10) b.micros = b.micros / 1000 * 1000;
  Wide w;
  w.months = static_cast<Int128>(b.years) * 12 + b.months;
  w.days = b.days;
  w.micros = ((static_cast<Int128>(b.hours) * 60 + b.minutes) * 60 + b.seconds) * kMicrosPerSecond + b.micros;
  return Narrow(w);
}

}  // namespace kl::sql
