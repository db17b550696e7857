#include "table/tag/tag.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/string_util.h"
#include "table/schema/cast.h"

namespace kl::table {
namespace {

constexpr char kTagPrefix[] = "tag-";
constexpr int64_t kMillisPerDay = 86400000;

bool Digits(std::string_view s, size_t at, size_t n, int64_t* out) {
  if (at + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Jackson's array form of a LocalDateTime: [y, M, d, H, m] then seconds and
// nanoseconds only when not zero.
std::string LocalDateTimeJson(int64_t wall) {
  int64_t days = FloorDiv(wall, kMillisPerDay);
  int64_t ms = wall - days * kMillisPerDay;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  int64_t secs = ms / 1000 % 60, nanos = ms % 1000 * 1000000;
  std::string out = "[ " + std::to_string(y) + ", " + std::to_string(m) + ", " + std::to_string(d) + ", " +
                    std::to_string(ms / 3600000) + ", " + std::to_string(ms / 60000 % 60);
  if (secs > 0 || nanos > 0) {
    out += ", " + std::to_string(secs);
    if (nanos > 0) out += ", " + std::to_string(nanos);
  }
  return out + " ]";
}

// A LocalDateTime as Jackson writes it (the array) or as ISO text ("2024-03-05T10:15:30.123").
std::optional<int64_t> ParseLocalDateTime(const JsonValue& v) {
  int64_t parts[7] = {0, 1, 1, 0, 0, 0, 0};
  if (v.is_array()) {
    const auto& items = v.items();
    if (items.size() < 3 || items.size() > 7) return std::nullopt;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_int()) return std::nullopt;
      parts[i] = items[i].as_int();
    }
  } else if (v.is_string()) {
    // yyyy-MM-dd['T'HH:mm[:ss[.fraction]]]
    std::string_view t = v.as_string();
    size_t year_end = t.find('-');
    if (year_end < 4 || year_end > 6 || !Digits(t, 0, year_end, &parts[0]) || t.size() < year_end + 6 ||
        !Digits(t, year_end + 1, 2, &parts[1]) || t[year_end + 3] != '-' || !Digits(t, year_end + 4, 2, &parts[2])) {
      return std::nullopt;
    }
    size_t at = year_end + 6;
    if (at < t.size()) {
      if (t[at] != 'T' || !Digits(t, at + 1, 2, &parts[3]) || t.size() < at + 6 || t[at + 3] != ':' ||
          !Digits(t, at + 4, 2, &parts[4])) {
        return std::nullopt;
      }
      at += 6;
      if (at < t.size()) {
        if (t[at] != ':' || !Digits(t, at + 1, 2, &parts[5])) return std::nullopt;
        at += 3;
        if (at < t.size()) {
          size_t digits = t.size() - at - 1;
          if (t[at] != '.' || digits == 0 || digits > 9 || !Digits(t, at + 1, digits, &parts[6])) return std::nullopt;
          for (size_t k = digits; k < 9; ++k) parts[6] *= 10;
        }
      }
    }
  } else {
    return std::nullopt;
  }
  // Years a millisecond clock can hold (Java allows more, but no tag is that old).
  if (parts[0] < -100000 || parts[0] > 100000 || parts[1] < 1 || parts[1] > 12 || parts[2] < 1 ||
      parts[2] > DaysInMonth(parts[0], static_cast<unsigned>(parts[1])) || parts[3] < 0 || parts[3] > 23 ||
      parts[4] < 0 || parts[4] > 59 || parts[5] < 0 || parts[5] > 59 || parts[6] < 0 || parts[6] > 999999999) {
    return std::nullopt;
  }
  return DaysFromCivil(parts[0], static_cast<unsigned>(parts[1]), static_cast<unsigned>(parts[2])) * kMillisPerDay +
         parts[3] * 3600000 + parts[4] * 60000 + parts[5] * 1000 + parts[6] / 1000000;
}

// A Duration as Jackson writes it (seconds, with nanoseconds as the fraction) or as ISO text ("PT1H30M").
std::optional<int64_t> ParseDurationJson(const JsonValue& v) {
  constexpr double kMaxSeconds = 9.0e15;  // within an int64 of milliseconds
  if (v.is_number()) {
    double secs = v.as_double();
    if (!(secs > -kMaxSeconds && secs < kMaxSeconds)) return std::nullopt;
    return static_cast<int64_t>(secs * 1000 + (secs >= 0 ? 0.5 : -0.5));
  }
  if (!v.is_string()) return std::nullopt;
  std::string s = ToUpper(v.as_string());
  if (s.size() < 3 || s[0] != 'P') return std::nullopt;
  double total = 0, number = 0;
  bool in_time = false, have_number = false, fraction = false;
  double scale = 1;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == 'T') {
      in_time = true;
    } else if (c >= '0' && c <= '9') {
      if (fraction) {
        scale /= 10;
        number += (c - '0') * scale;
      } else {
        number = number * 10 + (c - '0');
      }
      have_number = true;
    } else if (c == '.') {
      fraction = true;
    } else {
      if (!have_number) return std::nullopt;
      double unit = c == 'D' && !in_time  ? 86400
                    : c == 'H' && in_time ? 3600
                    : c == 'M' && in_time ? 60
                    : c == 'S' && in_time ? 1
                                          : -1;
      if (unit < 0) return std::nullopt;
      total += number * unit;
      number = 0, scale = 1, have_number = false, fraction = false;
    }
  }
  if (have_number || !(total < kMaxSeconds)) return std::nullopt;
  return static_cast<int64_t>(total * 1000 + 0.5);
}

// Jackson's number form of a Duration: seconds with nine decimals.
std::string DurationJson(int64_t millis) {
  char buf[48];
  int64_t secs = FloorDiv(millis, 1000);
  std::snprintf(buf, sizeof(buf), "%lld.%09lld", static_cast<long long>(secs),
                static_cast<long long>((millis - secs * 1000) * 1000000));
  return buf;
}

}  // namespace

// ---- Tag ----

std::string Tag::ToJson(std::string_view snapshot_json, std::optional<int64_t> create_time,
                        std::optional<int64_t> time_retained_millis) {
  std::string out(snapshot_json);
  // Paimon writes the two fields only for tags with a retention time (older readers reject them otherwise).
  if (!time_retained_millis || !create_time) return out;
  size_t close = out.find_last_of('}');
  if (close == std::string::npos) return out;
  size_t end = close;
  while (end > 0 && (out[end - 1] == ' ' || out[end - 1] == '\n' || out[end - 1] == '\r' || out[end - 1] == '\t'))
    --end;
  std::string fields = ",\n  \"tagCreateTime\" : " + LocalDateTimeJson(*create_time) +
                       ",\n  \"tagTimeRetained\" : " + DurationJson(*time_retained_millis) + "\n";
  out.replace(end, close - end, fields);
  return out;
}

Result<Tag> Tag::FromJson(std::string name, std::string_view json, std::string_view what) {
  KL_ASSIGN_OR_RETURN(Snapshot snapshot, Snapshot::FromJson(json, what));
  Tag tag;
  tag.name = std::move(name);
  tag.snapshot = std::move(snapshot);
  KL_ASSIGN_OR_RETURN(JsonValue root, ParseJson(json, what));
  if (const JsonValue* t = root.Find("tagCreateTime"); t != nullptr && !t->is_null()) {
    tag.create_time = ParseLocalDateTime(*t);
    if (!tag.create_time) return Status::Corruption(std::string(what) + ": tagCreateTime is not a date-time");
  }
  if (const JsonValue* r = root.Find("tagTimeRetained"); r != nullptr && !r->is_null()) {
    tag.time_retained_millis = ParseDurationJson(*r);
    if (!tag.time_retained_millis) return Status::Corruption(std::string(what) + ": tagTimeRetained is not a duration");
  }
  return tag;
}

// ---- TagManager ----

TagManager::TagManager(std::string table_path) : table_path_(std::move(table_path)) {}

std::string TagManager::TagDir() const { return JoinPath(table_path_, "tag"); }

std::string TagManager::TagPath(const std::string& name) const { return JoinPath(TagDir(), kTagPrefix + name); }

Status TagManager::CheckName(const std::string& name) {
  if (Trim(name).empty()) return Status::InvalidArgument("a tag name must not be blank");
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    return Status::InvalidArgument("tag name \"" + name + "\" may not contain '/' or be '.' or '..'");
  }
  return Status::OK();
}

bool TagManager::Exists(const std::string& name) const { return FileExists(TagPath(name)); }

namespace {

// Snapshot expiry at every commit reads every tag of the table; tag files are
// written once (and rarely replaced), so parsed copies are kept while the
// file's size and modification time stay the same.
class TagCache {
 public:
  static TagCache& Get() {
    static TagCache* cache = new TagCache();
    return *cache;
  }
  std::optional<Tag> Find(const std::string& path, const FileStamp& stamp) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(path);
    if (it == map_.end() || !(it->second.first == stamp)) return std::nullopt;
    return it->second.second;
  }
  void Put(const std::string& path, const FileStamp& stamp, const Tag& tag) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= 4096) map_.clear();
    map_[path] = {stamp, tag};
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<FileStamp, Tag>> map_;
};

}  // namespace

Result<Tag> TagManager::Read(const std::string& name) const {
  KL_RETURN_IF_ERROR(CheckName(name));
  std::string path = TagPath(name);
  FileStamp stamp = StampFile(path);
  if (stamp.size >= 0) {
    if (auto cached = TagCache::Get().Find(path, stamp)) return std::move(*cached);
  }
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return Status::NotFound("table " + table_path_ + " has no tag '" + name + "'");
    return text.status();
  }
  KL_ASSIGN_OR_RETURN(Tag tag, Tag::FromJson(name, *text, path));
  if (stamp.size == static_cast<int64_t>(text->size())) TagCache::Get().Put(path, stamp, tag);
  return tag;
}

Result<std::vector<std::string>> TagManager::ListNames() const {
  auto names = ListDir(TagDir());
  if (!names.ok()) {
    if (names.status().IsNotFound()) return std::vector<std::string>{};
    return names.status();
  }
  std::vector<std::string> out;
  for (const auto& n : *names) {
    if (n.rfind(kTagPrefix, 0) == 0 && n.size() > sizeof(kTagPrefix) - 1)
      out.push_back(n.substr(sizeof(kTagPrefix) - 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<Tag>> TagManager::ReadAll() const {
  KL_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames());
  std::vector<Tag> tags;
  for (const auto& n : names) {
    auto tag = Read(n);
    if (!tag.ok()) {
      if (tag.status().IsNotFound()) continue;  // deleted meanwhile
      return tag.status();
    }
    tags.push_back(std::move(tag).value());
  }
  std::stable_sort(tags.begin(), tags.end(), [](const Tag& a, const Tag& b) { return a.snapshot.id < b.snapshot.id; });
  return tags;
}

Status TagManager::Create(const std::string& name, int64_t snapshot_id, std::optional<int64_t> time_retained_millis,
                          int64_t now_wall) const {
  KL_RETURN_IF_ERROR(CheckName(name));
  SnapshotManager snapshots(table_path_);
  std::string snapshot_path = snapshots.SnapshotPath(snapshot_id);
  auto text = ReadFile(snapshot_path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) {
      return Status::NotFound("table " + table_path_ + " has no snapshot " + std::to_string(snapshot_id) +
                              " (it may have expired)");
    }
    return text.status();
  }
  // Read it first: a damaged snapshot file must not become a tag.
  KL_RETURN_IF_ERROR(Snapshot::FromJson(*text, snapshot_path).status());
  KL_RETURN_IF_ERROR(CreateDirs(TagDir()));
  Status st = WriteFileIfAbsent(TagPath(name), Tag::ToJson(*text, now_wall, time_retained_millis));
  if (st.IsAlreadyExists()) return Status::AlreadyExists("table " + table_path_ + " already has a tag '" + name + "'");
  return st;
}

Status TagManager::RemoveTagFile(const std::string& name) const {
  KL_RETURN_IF_ERROR(CheckName(name));
  return RemoveFile(TagPath(name));
}

// ---- WallClock ----

Result<WallClock> WallClock::Parse(const std::optional<std::string>& zone) {
  WallClock c;
  if (!zone) return c;
  KL_ASSIGN_OR_RETURN(int64_t offset, ParseTimeZoneOffset(*zone));
  c.offset_millis = offset;
  return c;
}

int64_t WallClock::At(int64_t epoch_millis) const {
  if (offset_millis) return epoch_millis + *offset_millis;
  time_t secs = static_cast<time_t>(FloorDiv(epoch_millis, 1000));
  struct tm local;
  if (localtime_r(&secs, &local) == nullptr) return epoch_millis;
  return epoch_millis + static_cast<int64_t>(local.tm_gmtoff) * 1000;
}

// ---- TagPeriod ----

Result<TagPeriod> TagPeriod::FromOptions(const TableOptions& options) {
  std::string formatter = ToLower(options.GetString("tag.period-formatter", "with_dashes"));
  if (formatter != "with_dashes" && formatter != "without_dashes" && formatter != "without_dashes_and_spaces") {
    return Status::InvalidArgument("option tag.period-formatter = \"" + formatter +
                                   "\" is not one of: with_dashes, without_dashes, without_dashes_and_spaces");
  }
  if (auto d = options.Get("tag.creation-period-duration")) {
    int64_t ms = options.GetDurationMillis("tag.creation-period-duration", -1);
    if (ms < 60000) {
      return Status::InvalidArgument("option tag.creation-period-duration = \"" + *d +
                                     "\" is not a duration of a minute or more");
    }
    return TagPeriod(ms, Format::kMinute);
  }
  std::string period = ToLower(options.GetString("tag.creation-period", "daily"));
  if (period == "daily") {
    return TagPeriod(kMillisPerDay, formatter == "with_dashes" ? Format::kDay : Format::kDayCompact);
  }
  if (period == "hourly") {
    return TagPeriod(3600000, formatter == "with_dashes"      ? Format::kHour
                              : formatter == "without_dashes" ? Format::kHourCompact
                                                              : Format::kHourCompactNoSpace);
  }
  if (period == "two-hours") return TagPeriod(7200000, Format::kHour);
  return Status::InvalidArgument("option tag.creation-period = \"" + period +
                                 "\" is not one of: daily, hourly, two-hours");
}

int64_t TagPeriod::NormalizeToPreviousTag(int64_t time) const {
  return FloorDiv(time, period_millis_) * period_millis_ - period_millis_;
}

std::string TagPeriod::TimeToTag(int64_t time) const {
  int64_t days = FloorDiv(time, kMillisPerDay);
  int64_t ms = time - days * kMillisPerDay;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  int h = static_cast<int>(ms / 3600000), mi = static_cast<int>(ms / 60000 % 60);
  char buf[64];
  auto year = static_cast<long long>(y);
  switch (format_) {
    case Format::kDay: std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", year, m, d); break;
    case Format::kDayCompact: std::snprintf(buf, sizeof(buf), "%04lld%02u%02u", year, m, d); break;
    case Format::kHour: std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u %02d", year, m, d, h); break;
    case Format::kHourCompact: std::snprintf(buf, sizeof(buf), "%04lld%02u%02u %02d", year, m, d, h); break;
    case Format::kHourCompactNoSpace: std::snprintf(buf, sizeof(buf), "%04lld%02u%02u%02d", year, m, d, h); break;
    case Format::kMinute: std::snprintf(buf, sizeof(buf), "%04lld%02u%02u%02d%02d", year, m, d, h, mi); break;
  }
  return buf;
}

std::optional<int64_t> TagPeriod::TagToTime(const std::string& name) const {
  std::string_view s = name;
  // Fixed-width fields and literals, as the strict formatters Paimon parses with.
  int64_t y = 0, m = 0, d = 0, h = 0, mi = 0;
  bool ok = false;
  switch (format_) {
    case Format::kDay:
    case Format::kDayCompact: {
      s = s.substr(0, s.find(' '));  // Paimon parses what comes before a space
      if (format_ == Format::kDay) {
        ok = s.size() == 10 && Digits(s, 0, 4, &y) && s[4] == '-' && Digits(s, 5, 2, &m) && s[7] == '-' &&
             Digits(s, 8, 2, &d);
      } else {
        ok = s.size() == 8 && Digits(s, 0, 4, &y) && Digits(s, 4, 2, &m) && Digits(s, 6, 2, &d);
      }
      break;
    }
    case Format::kHour:
      ok = s.size() == 13 && Digits(s, 0, 4, &y) && s[4] == '-' && Digits(s, 5, 2, &m) && s[7] == '-' &&
           Digits(s, 8, 2, &d) && s[10] == ' ' && Digits(s, 11, 2, &h);
      break;
    case Format::kHourCompact:
      ok = s.size() == 11 && Digits(s, 0, 4, &y) && Digits(s, 4, 2, &m) && Digits(s, 6, 2, &d) && s[8] == ' ' &&
           Digits(s, 9, 2, &h);
      break;
    case Format::kHourCompactNoSpace:
      ok = s.size() == 10 && Digits(s, 0, 4, &y) && Digits(s, 4, 2, &m) && Digits(s, 6, 2, &d) && Digits(s, 8, 2, &h);
      break;
    case Format::kMinute:
      ok = s.size() == 12 && Digits(s, 0, 4, &y) && Digits(s, 4, 2, &m) && Digits(s, 6, 2, &d) && Digits(s, 8, 2, &h) &&
           Digits(s, 10, 2, &mi);
      break;
  }
  if (!ok || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, static_cast<unsigned>(m)) || h > 23 || mi > 59) {
    return std::nullopt;
  }
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * kMillisPerDay + h * 3600000 +
         mi * 60000;
}

}  // namespace kl::table
