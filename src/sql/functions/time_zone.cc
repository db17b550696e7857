#include "sql/functions/time_zone.h"

#include <algorithm>
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
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (EqualsIgnoreCase(entry.path().filename().string(), part)) found = entry.path().string();
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

  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TimeZone>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(z); it != cache.end()) return it->second;
  std::string path = ZoneFile(z);
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
  cache[z] = zone;
  return std::shared_ptr<const TimeZone>(zone);
}

int64_t TimeZone::OffsetAtUtc(int64_t utc_seconds) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
  if (it == transitions_.begin()) return types_[0].offset;
  return types_[kinds_[static_cast<size_t>(it - transitions_.begin() - 1)]].offset;
}

int64_t TimeZone::OffsetAtLocal(int64_t local_seconds) const {
  // The offsets in force a good day before and after (more than any offset away).
  int64_t before = OffsetAtUtc(local_seconds - 100000), after = OffsetAtUtc(local_seconds + 100000);
  bool after_fits = OffsetAtUtc(local_seconds - after) == after;
  // As PostgreSQL: a repeated wall-clock time takes the offset after the change, a
  // skipped one the offset before it.
  return after_fits ? after : before;
}

std::string TimeZone::Abbreviation(int64_t utc_seconds) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
  const Type& t =
      it == transitions_.begin() ? types_[0] : types_[kinds_[static_cast<size_t>(it - transitions_.begin() - 1)]];
  // Zones without a letter abbreviation (tzdata writes "+05") and fixed zones.
  return t.abbreviation.empty() ? OffsetAbbreviation(t.offset) : t.abbreviation;
}

}  // namespace kl::sql
