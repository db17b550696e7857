#include "table/tag/tag_auto_creation.h"

#include <algorithm>
#include <limits>

#include "common/clock.h"
#include "common/string_util.h"
#include "spdlog/spdlog.h"
#include "table/operation/maintenance.h"

namespace kl::table {

Result<std::unique_ptr<TagAutoCreation>> TagAutoCreation::Create(std::shared_ptr<TableContext> ctx) {
  const TableOptions& o = ctx->options();
  std::string mode = ToLower(o.GetString("tag.automatic-creation", "none"));
  if (mode == "none" || mode == "batch") return std::unique_ptr<TagAutoCreation>();
  if (mode != "process-time" && mode != "watermark") {
    return Status::InvalidArgument("option tag.automatic-creation = \"" + mode +
                                   "\" is not one of: none, process-time, watermark, batch");
  }
  bool watermark = mode == "watermark";
  KL_ASSIGN_OR_RETURN(TagPeriod period, TagPeriod::FromOptions(o));
  std::optional<std::string> zone = watermark
                                        ? std::optional<std::string>(o.GetString("sink.watermark-time-zone", "UTC"))
                                        : o.Get("sink.process-time-zone");
  auto clock = WallClock::Parse(zone);
  if (!clock.ok()) {
    return clock.status().WithContext(watermark ? "option sink.watermark-time-zone" : "option sink.process-time-zone");
  }
  std::unique_ptr<TagAutoCreation> c(new TagAutoCreation(std::move(ctx), period, *clock, watermark));
  return c;
}

TagAutoCreation::TagAutoCreation(std::shared_ptr<TableContext> ctx, TagPeriod period, WallClock clock, bool watermark)
    : ctx_(std::move(ctx)), period_(period), clock_(clock), watermark_(watermark) {
  const TableOptions& o = ctx_->options();
  delay_millis_ = std::max<int64_t>(0, o.GetDurationMillis("tag.creation-delay", 0));
  if (o.Get("tag.num-retained-max")) num_retained_max_ = static_cast<int>(o.GetInt("tag.num-retained-max", 0));
  if (o.Get("tag.default-time-retained")) time_retained_millis_ = o.GetDurationMillis("tag.default-time-retained", 0);
  automatic_completion_ = o.GetBool("tag.automatic-completion", false);
}

// Where a restarted writer resumes: after the snapshot of the newest automatic tag,
// else at the earliest snapshot.
Status TagAutoCreation::Restore() {
  TagManager tags(ctx_->path());
  KL_ASSIGN_OR_RETURN(std::vector<std::string> names, tags.ListNames());
  std::optional<std::pair<int64_t, std::string>> newest;
  for (const auto& n : names) {
    auto t = period_.TagToTime(n);
    if (t && (!newest || *t > newest->first)) newest = std::make_pair(*t, n);
  }
  if (newest) {
    KL_ASSIGN_OR_RETURN(Tag tag, tags.Read(newest->second));
    next_snapshot_ = tag.snapshot.id + 1;
    next_tag_ = period_.NextTagTime(newest->first);
  } else {
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> earliest, SnapshotManager(ctx_->path()).EarliestId());
    next_snapshot_ = earliest.value_or(1);
  }
  restored_ = true;
  return Status::OK();
}

Result<std::vector<std::string>> TagAutoCreation::Run() {
  if (!restored_) KL_RETURN_IF_ERROR(Restore());
  std::vector<std::string> created;
  SnapshotManager snapshots(ctx_->path());
  while (true) {
    auto s = snapshots.Read(next_snapshot_);
    if (s.ok()) {
      KL_ASSIGN_OR_RETURN(std::optional<std::string> tag, TryToTag(*s));
      if (tag) created.push_back(std::move(*tag));
      ++next_snapshot_;
      continue;
    }
    if (!s.status().IsNotFound()) return s.status();
    // Expired before it was looked at: go on from the earliest.
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> earliest, snapshots.EarliestId());
    if (earliest && *earliest > next_snapshot_) {
      next_snapshot_ = *earliest;
      continue;
    }
    break;
  }
  return created;
}

Result<std::optional<std::string>> TagAutoCreation::TryToTag(const Snapshot& snapshot) {
  int64_t time;
  if (watermark_) {
    if (!snapshot.watermark || *snapshot.watermark == std::numeric_limits<int64_t>::min()) {
      return std::optional<std::string>();
    }
    time = clock_.At(*snapshot.watermark);
  } else {
    time = clock_.At(snapshot.time_millis);
  }
  if (next_tag_ && time - delay_millis_ < period_.NextTagTime(*next_tag_)) return std::optional<std::string>();
  int64_t this_tag = period_.NormalizeToPreviousTag(time);
  if (automatic_completion_ && next_tag_) this_tag = *next_tag_;
  std::string name = period_.TimeToTag(this_tag);
  TagManager tags(ctx_->path());
  std::optional<std::string> created;
  if (!tags.Exists(name)) {
    Status st = tags.Create(name, snapshot.id, time_retained_millis_, WallClock{}.At(NowMillis()));
    if (st.ok()) {
      created = name;
    } else if (!st.IsAlreadyExists()) {  // another writer of the table was first
      return st.WithContext("creating tag '" + name + "' of " + ctx_->path());
    }
  }
  next_tag_ = period_.NextTagTime(this_tag);
  if (num_retained_max_) KL_RETURN_IF_ERROR(DropOldest());
  return created;
}

// Only automatic tags count towards tag.num-retained-max; the oldest (by snapshot) go.
Status TagAutoCreation::DropOldest() {
  KL_ASSIGN_OR_RETURN(std::vector<Tag> all, TagManager(ctx_->path()).ReadAll());
  std::vector<std::string> automatic;
  for (const auto& t : all) {
    if (period_.IsAutoTag(t.name)) automatic.push_back(t.name);
  }
  size_t keep = static_cast<size_t>(std::max(0, *num_retained_max_));
  for (size_t i = 0; i + keep < automatic.size(); ++i) {
    auto deleted = DeleteTag(ctx_, automatic[i]);
    if (!deleted.ok() && !deleted.status().IsNotFound()) return deleted.status();  // NotFound: another writer's
  }
  return Status::OK();
}

}  // namespace kl::table
