// Time zones for PostgreSQL's AT TIME ZONE / timezone(zone, t): a fixed offset,
// or a zone of the tz database (the system's compiled TZif files).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl::sql {

class TimeZone {
 public:
  // A zone as PostgreSQL reads its name: 'UTC' / 'GMT' / 'Z'; POSIX offsets, where
  // '+05', '-03:30' and 'UTC+5' lie WEST of Greenwich ('+05' is five hours behind UTC);
  // and the names of the tz database ('Europe/Berlin', 'EST'), read from $TZDIR or
  // /usr/share/zoneinfo. The error names the zone.
  static Result<std::shared_ptr<const TimeZone>> FromPostgresName(std::string_view name);
  // A zone with a fixed offset, in seconds east of UTC.
  static std::shared_ptr<const TimeZone> Fixed(int64_t east_seconds);

  // Seconds east of UTC at the instant `utc_seconds`.
  int64_t OffsetAtUtc(int64_t utc_seconds) const;
  // The offset of the wall-clock time `local_seconds` in this zone (for a time skipped
  // or repeated by a change of offset, the offset before the change).
  int64_t OffsetAtLocal(int64_t local_seconds) const;
  // The abbreviation in use at `utc_seconds` ("CET", "UTC", "+05").
  std::string Abbreviation(int64_t utc_seconds) const;

  struct Type {
    int64_t offset = 0;  // seconds east of UTC
    std::string abbreviation;
  };

  // The day of a year on which a change of a POSIX TZ rule falls: Jn (1..365, never
  // counting February 29), n (0..365, counting it) or Mm.w.d (day d, 0 = Sunday, of week
  // w of month m, week 5 = the last), at `time` seconds of local time (may be negative
  // or beyond 24 hours).
  struct RuleDate {
    enum Kind { kJulianNoLeap, kDayOfYear, kMonthWeekDay } kind = kMonthWeekDay;
    int day = 0, week = 0, month = 0;
    int64_t time = 7200;
  };
  // The TZif footer (a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3"), which
  // holds after the file's last transition.
  struct Rule {
    Type standard, daylight;
    bool has_daylight = false;
    RuleDate start, end;  // of daylight time, in the wall time in force before each change
  };
  // Parses a POSIX TZ string; false if malformed.
  static bool ParseRule(std::string_view text, Rule* rule);
  // The type the rule gives at `utc_seconds`.
  static const Type& RuleTypeAt(const Rule& rule, int64_t utc_seconds);

 private:
  const Type& TypeAt(int64_t utc_seconds) const;

  std::vector<int64_t> transitions_;  // instants (UTC seconds) at which types_[kinds_[i]] begins
  std::vector<uint8_t> kinds_;
  std::vector<Type> types_;  // types_[0]: before the first transition
  bool has_rule_ = false;    // rule_ holds after the last transition
  Rule rule_;
};

// "+05", "-03:30", "UTC": PostgreSQL's abbreviation of a fixed offset (seconds east).
std::string OffsetAbbreviation(int64_t east_seconds);

}  // namespace kl::sql
