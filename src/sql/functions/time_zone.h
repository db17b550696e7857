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

 private:
  std::vector<int64_t> transitions_;  // instants (UTC seconds) at which types_[kinds_[i]] begins
  std::vector<uint8_t> kinds_;
  std::vector<Type> types_;  // types_[0]: before the first transition
};

// "+05", "-03:30", "UTC": PostgreSQL's abbreviation of a fixed offset (seconds east).
std::string OffsetAbbreviation(int64_t east_seconds);

}  // namespace kl::sql
