#include "sql/functions/datetime/time_zone.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "common/file/file_util.h"
#include "common/string_util.h"

namespace kl::sql {

namespace {

uint32_t BigEndian32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

int64_t BigEndian64(const std::string& s, size_t at) {
  return static_cast<int64_t>((static_cast<uint64_t>(BigEndian32(s, at)) << 32) | BigEndian32(s, at + 4));
}

// "+05:30" / "-3" / "+0530" after a sign: hours[:minutes[:seconds]] as seconds, or -1.
int64_t OffsetDigits(std::string_view s) {
  int64_t parts[3] = {0, 0, 0};
  size_t part = 0, digits = 0;
  std::string compact;
  for (char c : s) {
    if (c == ':') {
      if (digits == 0 || ++part > 2) return -1;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      parts[part] = parts[part] * 10 + (c - '0');
      if (++digits > 4) return -1;
      compact.push_back(c);
    } else {
      return -1;
    }
  }
  if (digits == 0) return -1;
  if (part == 0 && compact.size() > 2) {  // "0530": hours and minutes without a colon
    parts[0] = std::stoll(compact.substr(0, compact.size() - 2));
    parts[1] = std::stoll(compact.substr(compact.size() - 2));
  }
  if (parts[0] > 15 || parts[1] > 59 || parts[2] > 59) return -1;  // PostgreSQL's limit of 15 hours
  return parts[0] * 3600 + parts[1] * 60 + parts[2];
}

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12; day may run past the month).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

// The Gregorian year holding day `days` (since 1970-01-01).
int64_t YearOfDays(int64_t days) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  return yoe + era * 400 + (mp >= 10);  // months 0..9 count from March
}

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// A run of digits at `s` (at most `max_digits`), or -1.
int64_t ReadNumber(std::string_view& s, size_t max_digits) {
  size_t n = 0;
  int64_t v = 0;
  while (n < s.size() && n < max_digits && s[n] >= '0' && s[n] <= '9') v = v * 10 + (s[n++] - '0');
  if (n == 0) return -1;
  s.remove_prefix(n);
  return v;
}

// [+-]hh[:mm[:ss]] of a POSIX TZ string, as seconds (hours up to `max_hours`); false if malformed.
bool ReadPosixTime(std::string_view& s, int64_t max_hours, int64_t* seconds) {
  int64_t sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  int64_t h = ReadNumber(s, 3), m = 0, sec = 0;
  if (h < 0 || h > max_hours) return false;
  if (!s.empty() && s[0] == ':') {
    s.remove_prefix(1);
    if ((m = ReadNumber(s, 2)) < 0 || m > 59) return false;
    if (!s.empty() && s[0] == ':') {
      s.remove_prefix(1);
      if ((sec = ReadNumber(s, 2)) < 0 || sec > 59) return false;
    }
  }
  *seconds = sign * (h * 3600 + m * 60 + sec);
  return true;
}

// A zone abbreviation of a POSIX TZ string: three or more letters, or <...> quoted ("<+03>").
bool ReadPosixName(std::string_view& s, std::string* name) {
  size_t n = 0;
  if (!s.empty() && s[0] == '<') {
    size_t close = s.find('>');
    if (close == std::string_view::npos || close < 4) return false;
    *name = std::string(s.substr(1, close - 1));
    s.remove_prefix(close + 1);
    return true;
  }
  while (n < s.size() && std::isalpha(static_cast<unsigned char>(s[n]))) ++n;
  if (n < 3) return false;
  *name = std::string(s.substr(0, n));
  s.remove_prefix(n);
  return true;
}

bool ReadRuleDate(std::string_view& s, TimeZone::RuleDate* date) {
  if (!s.empty() && s[0] == 'M') {
    s.remove_prefix(1);
    date->kind = TimeZone::RuleDate::kMonthWeekDay;
    int64_t m = ReadNumber(s, 2);
    if (m < 1 || m > 12 || s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    int64_t w = ReadNumber(s, 1);
    if (w < 1 || w > 5 || s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    int64_t d = ReadNumber(s, 1);
    if (d < 0 || d > 6) return false;
    date->month = static_cast<int>(m);
    date->week = static_cast<int>(w);
    date->day = static_cast<int>(d);
  } else {
    bool julian = !s.empty() && s[0] == 'J';
    if (julian) s.remove_prefix(1);
    int64_t n = ReadNumber(s, 3);
    if (n < (julian ? 1 : 0) || n > 365) return false;
    date->kind = julian ? TimeZone::RuleDate::kJulianNoLeap : TimeZone::RuleDate::kDayOfYear;
    date->day = static_cast<int>(n);
  }
  date->time = 7200;
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    // Version 3 of TZif allows -167..167 hours.
    if (!ReadPosixTime(s, 167, &date->time)) return false;
  }
  return true;
}

// Days since 1970-01-01 of the day `date` falls on in year `y`.
int64_t RuleDay(int64_t y, const TimeZone::RuleDate& date) {
  int64_t jan1 = DaysFromCivil(y, 1, 1);
  switch (date.kind) {
    case TimeZone::RuleDate::kJulianNoLeap: return jan1 + date.day - 1 + (IsLeapYear(y) && date.day >= 60 ? 1 : 0);
    case TimeZone::RuleDate::kDayOfYear: return jan1 + date.day;
    case TimeZone::RuleDate::kMonthWeekDay: break;
  }
  int64_t first = DaysFromCivil(y, date.month, 1);
  int64_t next_month = date.month == 12 ? DaysFromCivil(y + 1, 1, 1) : DaysFromCivil(y, date.month + 1, 1);
  int64_t weekday = ((first + 4) % 7 + 7) % 7;  // 1970-01-01 was a Thursday
  int64_t day = first + (date.day - weekday + 7) % 7 + (date.week - 1) * 7;
  while (day >= next_month) day -= 7;  // week 5: the last such day of the month
  return day;
}

std::string ZoneDirectory() {
  const char* dir = std::getenv("TZDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo";
}

// The zone's file; names match case-insensitively, as in PostgreSQL ('europe/berlin').
std::string ZoneFile(const std::string& name) {
  std::string path = ZoneDirectory();
  for (const std::string& part : Split(name, '/')) {
    std::string exact = path + "/" + part;
    std::error_code ec;
    if (std::filesystem::exists(exact, ec)) {
      path = exact;
      continue;
    }
    std::string found;
    // increment(ec), not ++: a directory that fails midway must not throw.
    for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      if (EqualsIgnoreCase(it->path().filename().string(), part)) found = it->path().string();
    }
    path = found.empty() ? exact : found;
  }
  return path;
}

}  // namespace

std::string OffsetAbbreviation(int64_t east_seconds) {
  if (east_seconds == 0) return "UTC";
  int64_t a = east_seconds < 0 ? -east_seconds : east_seconds;
  char buf[32];
  if (a % 3600 == 0) {
    std::snprintf(buf, sizeof(buf), "%c%02lld", east_seconds < 0 ? '-' : '+', static_cast<long long>(a / 3600));
  } else {
    std::snprintf(buf, sizeof(buf), "%c%02lld:%02lld", east_seconds < 0 ? '-' : '+', static_cast<long long>(a / 3600),
                  static_cast<long long>(a / 60 % 60));
  }
  return buf;
}

std::shared_ptr<const TimeZone> TimeZone::Fixed(int64_t east_seconds) {
  auto z = std::make_shared<TimeZone>();
  z->types_.push_back({east_seconds, OffsetAbbreviation(east_seconds)});
  return z;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::FromPostgresName(std::string_view name) {
  std::string z(Trim(name));
  std::string upper = ToUpper(z);
  if (upper == "UTC" || upper == "GMT" || upper == "Z" || upper == "UCT" || upper == "ZULU" || upper == "UNIVERSAL") {
    return Fixed(0);
  }
  // POSIX offsets: the sign says how far WEST of Greenwich ('+05' is UTC-5). A quoted
  // abbreviation may come first ('<+05:30>-05:30', as PostgreSQL names a zone set by
  // SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE).
  std::string_view rest = z;
  if (upper.rfind("UTC", 0) == 0 || upper.rfind("GMT", 0) == 0) {
    rest.remove_prefix(3);
  } else if (!z.empty() && z[0] == '<' && z.find('>') != std::string::npos) {
    rest.remove_prefix(z.find('>') + 1);
  }
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
    int64_t s = OffsetDigits(rest.substr(1));
    if (s < 0) {
      return Status::InvalidArgument("time zone \"" + z +
                                     "\" not recognized: a numeric zone is [+-]hh[:mm[:ss]], at "
                                     "most 15 hours");
    }
    return Fixed(rest[0] == '+' ? -s : s);
  }
  bool safe = !z.empty() && z.find("..") == std::string::npos && z[0] != '/';
  for (char c : z) {
    safe = safe && (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+');
  }
  if (!safe) return Status::InvalidArgument("time zone \"" + z + "\" not recognized");

  // Cached by the resolved file, so the spellings of one zone ('europe/berlin',
  // 'EUROPE/Berlin') share an entry; at most kMaxCachedZones zones stay cached. The
  // first spellings seen also find their zone without touching the file system (a zone
  // that varies by row is looked up for every row).
  constexpr size_t kMaxCachedZones = 256, kMaxCachedSpellings = 1024;
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TimeZone>> cache, by_spelling;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = by_spelling.find(z); it != by_spelling.end()) return it->second;
  std::string path = ZoneFile(z);
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  std::string key = ec ? path : canonical.string();
  if (auto it = cache.find(key); it != cache.end()) {
    if (by_spelling.size() < kMaxCachedSpellings) by_spelling[z] = it->second;
    return it->second;
  }
  auto data = ReadFile(path);
  if (!data.ok()) {
    return Status::InvalidArgument("time zone \"" + z + "\" not recognized (no such zone in the tz database at " +
                                   ZoneDirectory() + ", e.g. Europe/Berlin)");
  }
  const std::string& d = *data;
  auto bad = [&] { return Status::InvalidArgument("time zone \"" + z + "\": " + path + " is not a TZif file"); };
  if (d.size() < 44 || d.compare(0, 4, "TZif") != 0) return bad();
  // Version 2+ files repeat the data with 64-bit times after the 32-bit block; read those.
  size_t at = 0;
  bool wide = false;
  if (d[4] >= '2') {
    size_t v1 = 44 + BigEndian32(d, 32) * 5ULL + BigEndian32(d, 36) * 6ULL + BigEndian32(d, 40) +
                BigEndian32(d, 28) * 8ULL + BigEndian32(d, 24) + BigEndian32(d, 20);
    if (v1 + 44 > d.size() || d.compare(v1, 4, "TZif") != 0) return bad();
    at = v1;
    wide = true;
  }
  uint32_t timecnt = BigEndian32(d, at + 32), typecnt = BigEndian32(d, at + 36), charcnt = BigEndian32(d, at + 40);
  size_t time_size = wide ? 8 : 4;
  size_t p = at + 44;
  if (typecnt == 0 || p + timecnt * (time_size + 1) + typecnt * 6ULL + charcnt > d.size()) return bad();
  auto zone = std::make_shared<TimeZone>();
  for (uint32_t i = 0; i < timecnt; ++i) {
    zone->transitions_.push_back(wide ? BigEndian64(d, p + i * 8)
                                      : static_cast<int64_t>(static_cast<int32_t>(BigEndian32(d, p + i * 4))));
  }
  p += timecnt * time_size;
  for (uint32_t i = 0; i < timecnt; ++i) {
    uint8_t k = static_cast<uint8_t>(d[p + i]);
    if (k >= typecnt) return bad();
    zone->kinds_.push_back(k);
  }
  p += timecnt;
  size_t chars = p + typecnt * 6ULL;
  for (uint32_t i = 0; i < typecnt; ++i) {
    Type t;
    t.offset = static_cast<int32_t>(BigEndian32(d, p + i * 6ULL));
    size_t abbr = static_cast<uint8_t>(d[p + i * 6ULL + 5]);
    if (abbr < charcnt) t.abbreviation = std::string(d.c_str() + chars + abbr);
    zone->types_.push_back(std::move(t));
  }
  // The footer of a version 2+ file: "\n<POSIX TZ string>\n" after the leap seconds and
  // the standard/UT indicators. Missing or malformed: the last type holds.
  if (wide) {
    size_t footer =
        chars + charcnt + BigEndian32(d, at + 28) * 12ULL + BigEndian32(d, at + 24) + BigEndian32(d, at + 20);
    if (footer < d.size() && d[footer] == '\n') {
      size_t close = d.find('\n', footer + 1);
      if (close != std::string::npos) {
        zone->has_rule_ = ParseRule(std::string_view(d).substr(footer + 1, close - footer - 1), &zone->rule_);
      }
    }
  }
  if (cache.size() < kMaxCachedZones) {
    cache[key] = zone;
    if (by_spelling.size() < kMaxCachedSpellings) by_spelling[z] = zone;
  }
  return std::shared_ptr<const TimeZone>(zone);
}

bool TimeZone::ParseRule(std::string_view text, Rule* rule) {
  std::string_view s = text;
  Rule r;
  int64_t west = 0;
  if (!ReadPosixName(s, &r.standard.abbreviation) || !ReadPosixTime(s, 24, &west)) return false;
  r.standard.offset = -west;
  if (!s.empty()) {
    if (!ReadPosixName(s, &r.daylight.abbreviation)) return false;
    r.daylight.offset = r.standard.offset + 3600;
    if (!s.empty() && s[0] != ',') {
      if (!ReadPosixTime(s, 24, &west)) return false;
      r.daylight.offset = -west;
    }
    if (s.empty()) {
      // POSIX leaves the default rule to the implementation; tzcode uses the US rule.
      r.start = {RuleDate::kMonthWeekDay, 0, 2, 3, 7200};
      r.end = {RuleDate::kMonthWeekDay, 0, 1, 11, 7200};
    } else {
      if (s[0] != ',') return false;
      s.remove_prefix(1);
      if (!ReadRuleDate(s, &r.start) || s.empty() || s[0] != ',') return false;
      s.remove_prefix(1);
      if (!ReadRuleDate(s, &r.end)) return false;
    }
    r.has_daylight = true;
  }
  if (!s.empty()) return false;
  *rule = std::move(r);
  return true;
}

const TimeZone::Type& TimeZone::RuleTypeAt(const Rule& rule, int64_t utc_seconds) {
  if (!rule.has_daylight) return rule.standard;
  int64_t year = YearOfDays(FloorDiv(utc_seconds + rule.standard.offset, 86400));
  // Daylight time starts at a wall time of standard time and ends at one of daylight time.
  int64_t start = RuleDay(year, rule.start) * 86400 + rule.start.time - rule.standard.offset;
  int64_t end = RuleDay(year, rule.end) * 86400 + rule.end.time - rule.daylight.offset;
  bool daylight = start < end ? (utc_seconds >= start && utc_seconds < end)
                              : !(utc_seconds >= end && utc_seconds < start);  // southern hemisphere
  return daylight ? rule.daylight : rule.standard;
}

const TimeZone::Type& TimeZone::TypeAt(int64_t utc_seconds) const {
  if (has_rule_ && (transitions_.empty() || utc_seconds >= transitions_.back())) {
    return RuleTypeAt(rule_, utc_seconds);
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
  if (it == transitions_.begin()) return types_[0];
  return types_[kinds_[static_cast<size_t>(it - transitions_.begin() - 1)]];
}

int64_t TimeZone::OffsetAtUtc(int64_t utc_seconds) const { return TypeAt(utc_seconds).offset; }

int64_t TimeZone::OffsetAtLocal(int64_t local_seconds) const {
  // The offsets in force a good day before and after (more than any offset away).
  int64_t before = OffsetAtUtc(local_seconds - 100000), after = OffsetAtUtc(local_seconds + 100000);
  bool after_fits = OffsetAtUtc(local_seconds - after) == after;
  // As PostgreSQL: a repeated wall-clock time takes the offset after the change, a
  // skipped one the offset before it.
  return after_fits ? after : before;
}

std::string TimeZone::Abbreviation(int64_t utc_seconds) const {
  const Type& t = TypeAt(utc_seconds);
  // Zones without a letter abbreviation (tzdata writes "+05") and fixed zones.
  return t.abbreviation.empty() ? OffsetAbbreviation(t.offset) : t.abbreviation;
}

}  // namespace kl::sql
