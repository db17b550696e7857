// Tags created as a table is written, as Paimon's TagAutoCreation:
// 'tag.automatic-creation' = 'process-time' tags by commit time, 'watermark' by
// the snapshot's watermark (snapshots without one are passed over). The first
// snapshot past the end of a period (plus 'tag.creation-delay') gets the tag
// named after that period (TagPeriod), so tag '2024-03-05' holds the table as
// it was when March 5th ended. 'tag.num-retained-max' keeps only the newest so
// many automatic tags (the oldest go, with the files only they held);
// 'tag.default-time-retained' makes tags expire that long after their creation.
// A table writer runs it after each commit.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "table/table_context.h"
#include "table/tag/tag.h"

namespace kl::table {

class TagAutoCreation {
 public:
  // nullptr when the table's tags are not created automatically ('none', or 'batch',
  // which tags the end of a batch job: kubelake has none).
  static Result<std::unique_ptr<TagAutoCreation>> Create(std::shared_ptr<TableContext> ctx);

  // Looks at the snapshots committed since the last run; returns the tags it created.
  Result<std::vector<std::string>> Run();

 private:
  TagAutoCreation(std::shared_ptr<TableContext> ctx, TagPeriod period, WallClock clock, bool watermark);
  Status Restore();
  Result<std::optional<std::string>> TryToTag(const Snapshot& snapshot);
  Status DropOldest();

  std::shared_ptr<TableContext> ctx_;
  TagPeriod period_;
  WallClock clock_;
  bool watermark_;
  int64_t delay_millis_;
  std::optional<int> num_retained_max_;
  std::optional<int64_t> time_retained_millis_;
  bool automatic_completion_;
  bool restored_ = false;
  std::optional<int64_t> next_tag_;  // the period of the last tag created (a local date-time)
  int64_t next_snapshot_ = 1;
};

}  // namespace kl::table
