// Tags: named snapshots that outlive snapshot expiry, in Paimon's layout.
// <table>/tag/tag-<name> holds the tagged snapshot's JSON, plus
// "tagCreateTime" and "tagTimeRetained" when the tag expires after a time.
// Expiry keeps every file a tag needs (maintenance.h); deleting a tag whose
// snapshot has expired deletes the files only it still held. Tables with
// 'tag.automatic-creation' get a tag per period (tag_auto_creation.h), named
// by TagPeriod.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "table/manifest/snapshot.h"
#include "table/schema/options.h"

namespace kl::table {

struct Tag {
  std::string name;
  Snapshot snapshot;
  // tagCreateTime: a local date-time (the writer's wall clock), as epoch millis read as UTC.
  std::optional<int64_t> create_time;
  std::optional<int64_t> time_retained_millis;  // tagTimeRetained

  // The tag's JSON as Paimon writes it: the snapshot's JSON, and the two tag fields when retained for a time.
  static std::string ToJson(std::string_view snapshot_json, std::optional<int64_t> create_time,
                            std::optional<int64_t> time_retained_millis);
  static Result<Tag> FromJson(std::string name, std::string_view json, std::string_view what);
};

class TagManager {
 public:
  explicit TagManager(std::string table_path);

  std::string TagDir() const;
  std::string TagPath(const std::string& name) const;
  // A name a tag may have: not blank, no '/', not "." or "..".
  static Status CheckName(const std::string& name);

  bool Exists(const std::string& name) const;
  // NotFound when there is no such tag.
  Result<Tag> Read(const std::string& name) const;
  // Every tag name, sorted.
  Result<std::vector<std::string>> ListNames() const;
  // Every tag, ordered by snapshot id, then name (tags deleted while listing are skipped).
  Result<std::vector<Tag>> ReadAll() const;
  // Writes tag-<name> for `snapshot_id` (its snapshot file, copied as written). AlreadyExists
  // if the tag exists, NotFound if the snapshot does not. `time_retained_millis` makes the
  // tag expire that long after `now_wall` (a local date-time, see Tag::create_time).
  Status Create(const std::string& name, int64_t snapshot_id, std::optional<int64_t> time_retained_millis,
                int64_t now_wall) const;
  // Removes the tag file only (maintenance.h's DeleteTag also removes the files only it held).
  Status RemoveTagFile(const std::string& name) const;

 private:
  std::string table_path_;
};

// The machine's wall clock at `epoch_millis` in its local time zone (as Java's default
// zone), or at a fixed offset: a local date-time as epoch millis read as UTC.
struct WallClock {
  std::optional<int64_t> offset_millis;  // nullopt: the machine's local time zone

  static Result<WallClock> Parse(const std::optional<std::string>& zone);  // absent: local
  int64_t At(int64_t epoch_millis) const;
};

// How tags are spaced and named when created automatically (Paimon's TagPeriodHandler):
// 'tag.creation-period' daily ("2024-03-05"), hourly ("2024-03-05 14"), two-hours, or
// 'tag.creation-period-duration' (named "202403051430"), spelled by 'tag.period-formatter'.
// Times are local date-times as epoch millis read as UTC.
class TagPeriod {
 public:
  static Result<TagPeriod> FromOptions(const TableOptions& options);

  int64_t period_millis() const { return period_millis_; }
  // The period a tag of a snapshot taken at `time` is named after: the one before the period `time` is in.
  int64_t NormalizeToPreviousTag(int64_t time) const;
  int64_t NextTagTime(int64_t time) const { return time + period_millis_; }
  std::string TimeToTag(int64_t time) const;
  // The time an automatically created tag's name stands for; nullopt for other names.
  std::optional<int64_t> TagToTime(const std::string& name) const;
  bool IsAutoTag(const std::string& name) const { return TagToTime(name).has_value(); }

 private:
  enum class Format { kDay, kDayCompact, kHour, kHourCompact, kHourCompactNoSpace, kMinute };
  TagPeriod(int64_t period_millis, Format format) : period_millis_(period_millis), format_(format) {}
  int64_t period_millis_;
  Format format_;
};

}  // namespace kl::table
