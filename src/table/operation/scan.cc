#include "table/operation/scan.h"

#include <algorithm>
#include <list>
#include <map>
#include <mutex>

#include "common/file/file_util.h"
#include "common/string_util.h"
#include "table/data/binary_row.h"
#include "table/operation/commit.h"
#include "table/tag/tag.h"

namespace kl::table {

namespace {

// The live files of snapshots planned recently, process-wide. A snapshot's live files
// are what its two manifest lists name, and manifest lists (like manifests) are never
// changed once written and are named uniquely: the same pair of lists always means
// the same files. Every look-up plans the latest snapshot of the tables it reads; this
// spares each one re-merging the manifests of a snapshot already merged. As with the
// manifests' own cache, an entry is used only while every list and manifest it was
// read from has the size and modification time it had then (a file damaged or
// replaced since is read again, and its error reported). Most recently used first;
// small (a few snapshots per table being read).
class LiveEntriesCache {
 public:
  using Entries = std::vector<ManifestEntry>;
  static LiveEntriesCache& Get() {
    static LiveEntriesCache* cache = new LiveEntriesCache();
    return *cache;
  }

  Result<std::shared_ptr<const Entries>> Read(const ManifestIO& io, const std::string& manifest_dir, int64_t schema_id,
                                              const Snapshot& snapshot) {
    std::string key = manifest_dir + '\n' + std::to_string(schema_id) + '\n' + snapshot.base_manifest_list + '\n' +
                      snapshot.delta_manifest_list;
    std::shared_ptr<const Slot> found;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = slots_.begin(); it != slots_.end(); ++it) {
        if ((*it)->key != key) continue;
        slots_.splice(slots_.begin(), slots_, it);
        found = slots_.front();
        break;
      }
    }
    if (found && Unchanged(*found)) return found->entries;
    // The files the entries come from, stamped before they are read (a file that changes
    // meanwhile no longer has the stamp kept, and is read again next time).
    auto slot = std::make_shared<Slot>();
    slot->key = std::move(key);
    bool stamped = true;
    for (const std::string* list : {&snapshot.base_manifest_list, &snapshot.delta_manifest_list}) {
      std::string path = JoinPath(manifest_dir, *list);
      slot->files.push_back({path, StampFile(path)});
      auto metas = io.ReadManifestList(*list);
      if (!metas.ok()) {
        stamped = false;
        break;
      }
      for (const auto& m : *metas) {
        std::string manifest = JoinPath(manifest_dir, m.file_name);
        slot->files.push_back({manifest, StampFile(manifest)});
      }
    }
    KL_ASSIGN_OR_RETURN(Entries live, ReadLiveEntries(io, snapshot));
    slot->entries = std::make_shared<const Entries>(std::move(live));
    for (const auto& f : slot->files) stamped = stamped && f.stamp.size >= 0;
    if (stamped && slot->entries->size() <= kMaxEntriesPerSnapshot) {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = slots_.begin(); it != slots_.end(); ++it) {
        if ((*it)->key == slot->key) {
          slots_.erase(it);
          break;
        }
      }
      slots_.push_front(slot);
      if (slots_.size() > kMaxSnapshots) slots_.pop_back();
    }
    return slot->entries;
  }

 private:
  static constexpr size_t kMaxSnapshots = 64;
  static constexpr size_t kMaxEntriesPerSnapshot = 20000;
  struct StampedFile {
    std::string path;
    FileStamp stamp;
  };
  struct Slot {
    std::string key;
    std::shared_ptr<const Entries> entries;
    std::vector<StampedFile> files;
  };
  static bool Unchanged(const Slot& slot) {
    for (const auto& f : slot.files) {
      if (!(StampFile(f.path) == f.stamp)) return false;
    }
    return true;
  }
  std::mutex mu_;
  std::list<std::shared_ptr<const Slot>> slots_;
};

}  // namespace

TableScan::TableScan(std::shared_ptr<TableContext> ctx)
    : ctx_(ctx),
      snapshots_(ctx->path()),
      manifests_(ctx->paths().ManifestDir(), ctx->schema().PartitionType(), ctx->options().manifest_compression(),
                 ctx->schema().id) {}

namespace {

// Groups added files into one split per (partition, bucket), keeping those `keep` accepts and
// whose partition `filter` accepts (each partition decoded once). `take` gives a file's
// description (moved out of entries the caller owns, or copied).
template <typename Entries, typename Keep, typename Take>
std::vector<DataSplit> GroupIntoSplits(int64_t snapshot_id, Entries& entries, const PartitionFilter& filter,
                                       const format::RowType& partition_type, bool raw, Keep keep, Take take) {
  std::map<std::pair<std::string, int32_t>, DataSplit> by_bucket;
  std::map<std::string, bool> accepted;
  std::vector<format::DataType> part_types;
  if (filter) part_types = TypesOf(partition_type);
  for (auto& e : entries) {
    if (e.kind != FileKind::kAdd || !keep(e)) continue;
    if (filter) {
      auto it = accepted.find(e.partition);
      if (it == accepted.end()) {
        auto row = DeserializeBinaryRow(e.partition, part_types);
        it = accepted.emplace(e.partition, row.ok() && filter(*row)).first;
      }
      if (!it->second) continue;
    }
    DataSplit& split = by_bucket[{e.partition, e.bucket}];
    split.snapshot_id = snapshot_id;
    split.partition = e.partition;
    split.bucket = e.bucket;
    split.total_buckets = e.total_buckets;
    split.raw_changes = raw;
    split.files.push_back(take(e));
  }
  std::vector<DataSplit> out;
  out.reserve(by_bucket.size());
  for (auto& [k, split] : by_bucket) out.push_back(std::move(split));
  return out;
}

}  // namespace

std::vector<DataSplit> TableScan::Group(int64_t snapshot_id, std::vector<ManifestEntry> entries,
                                        const PartitionFilter& filter, bool raw) const {
  return GroupIntoSplits(
      snapshot_id, entries, filter, ctx_->schema().PartitionType(), raw, [](const ManifestEntry&) { return true; },
      [](ManifestEntry& e) { return std::move(e.file); });
}

std::vector<DataSplit> TableScan::GroupKept(int64_t snapshot_id, const std::vector<ManifestEntry>& entries,
                                            const PartitionFilter& filter, bool skip_level0) const {
  return GroupIntoSplits(
      snapshot_id, entries, filter, ctx_->schema().PartitionType(), false,
      [&](const ManifestEntry& e) {
        return !(skip_level0 && e.file.level == 0) && (!bucket_filter_ || bucket_filter_(e.bucket, e.total_buckets));
      },
      [](const ManifestEntry& e) { return e.file; });
}

Status TableScan::CheckReadable() const {
  std::string format = ctx_->options().manifest_format();
  if (format != "avro" && format != "orc") {
    return Status::NotSupported("table " + ctx_->path() + " has " + format +
                                " manifests; kubelake reads Avro and ORC ones");
  }
  // Data-evolution tables split a row's columns over several files joined by row id;
  // reading their files one by one would return partial rows.
  if (ctx_->options().GetBool("data-evolution.enabled", false)) {
    return Status::NotSupported("table " + ctx_->path() +
                                " uses data evolution (data-evolution.enabled), which kubelake does not read");
  }
  return Status::OK();
}

Result<ScanPlan> TableScan::PlanFrom(const Snapshot& snapshot, const PartitionFilter& filter, bool batch) const {
  KL_RETURN_IF_ERROR(CheckReadable());
  KL_ASSIGN_OR_RETURN(
      std::shared_ptr<const std::vector<ManifestEntry>> cached,
      LiveEntriesCache::Get().Read(manifests_, ctx_->paths().ManifestDir(), ctx_->schema().id, snapshot));
  bool skip_level0 = batch && ctx_->primary_key() && ctx_->options().batch_scan_skips_level0();
  ScanPlan plan;
  plan.snapshot_id = snapshot.id;
  plan.splits = GroupKept(snapshot.id, *cached, filter, skip_level0);
  KL_RETURN_IF_ERROR(AttachDeletionVectors(snapshot, &plan.splits));
  return plan;
}

Status TableScan::AttachDeletionVectors(const Snapshot& snapshot, std::vector<DataSplit>* splits) const {
  if (!ctx_->options().deletion_vectors_enabled() || !snapshot.index_manifest || splits->empty()) return Status::OK();
  std::string path = JoinPath(ctx_->paths().ManifestDir(), *snapshot.index_manifest);
  auto entries = ReadIndexManifest(path);
  if (!entries.ok()) return entries.status().WithContext("snapshot " + std::to_string(snapshot.id));
  bool in_data_dir = ctx_->options().index_file_in_data_file_dir();
  const PathFactory& paths = ctx_->paths();
  DeletionVectorIndex index = DeletionVectorIndex::Build(
      *entries, [&](const std::string& partition, int32_t bucket, const IndexFileMeta& file) {
        return paths.IndexFilePath(partition, bucket, file, in_data_dir);
      });
  if (index.empty()) return Status::OK();
  for (auto& split : *splits) {
    for (const auto& f : split.files) {
      if (auto dv = index.Find(split.partition, split.bucket, f.file_name)) split.deletion_files[f.file_name] = *dv;
    }
  }
  return Status::OK();
}

Result<ScanPlan> TableScan::PlanLatest(const PartitionFilter& filter) const {
  KL_ASSIGN_OR_RETURN(std::optional<Snapshot> latest, snapshots_.Latest());
  if (!latest) return ScanPlan{};
  return PlanFrom(*latest, filter, /*batch=*/true);
}

Result<Snapshot> TableScan::ReadSnapshot(int64_t snapshot_id) const {
  auto s = snapshots_.Read(snapshot_id);
  if (!s.ok()) {
    if (s.status().IsNotFound()) {
      return Status::NotFound("snapshot " + std::to_string(snapshot_id) + " of " + ctx_->path() +
                              " does not exist (expired or not yet committed)");
    }
    return s.status();
  }
  return s;
}

Result<ScanPlan> TableScan::PlanSnapshot(int64_t snapshot_id, const PartitionFilter& filter) const {
  KL_ASSIGN_OR_RETURN(Snapshot s, ReadSnapshot(snapshot_id));
  return PlanFrom(s, filter, /*batch=*/true);
}

Result<ScanPlan> TableScan::PlanAt(const Snapshot& snapshot, const PartitionFilter& filter) const {
  return PlanFrom(snapshot, filter, /*batch=*/true);
}

Result<ScanPlan> TableScan::PlanSnapshotFull(int64_t snapshot_id, const PartitionFilter& filter) const {
  KL_ASSIGN_OR_RETURN(Snapshot s, ReadSnapshot(snapshot_id));
  return PlanFrom(s, filter, /*batch=*/false);
}

Result<ScanPlan> TableScan::PlanAsOfTime(int64_t time_millis, const PartitionFilter& filter) const {
  KL_ASSIGN_OR_RETURN(std::optional<Snapshot> s, snapshots_.AtOrBefore(time_millis));
  if (!s) return Status::NotFound("no snapshot of " + ctx_->path() + " at or before the requested time");
  return PlanFrom(*s, filter, /*batch=*/true);
}

Result<ScanPlan> TableScan::PlanTag(const std::string& name, const PartitionFilter& filter) const {
  KL_ASSIGN_OR_RETURN(Tag tag, TagManager(ctx_->path()).Read(name));
  return PlanFrom(tag.snapshot, filter, /*batch=*/true);
}

Result<ScanPlan> TableScan::PlanFull(const Snapshot& snapshot, const PartitionFilter& filter) const {
  return PlanFrom(snapshot, filter, /*batch=*/false);
}

Result<ScanPlan> TableScan::PlanConfigured(const PartitionFilter& filter) const {
  const TableOptions& o = ctx_->options();
  std::vector<std::string> given;
  for (const char* key : {"scan.snapshot-id", "scan.tag-name", "scan.version", "scan.timestamp-millis"}) {
    if (o.Get(key)) given.push_back(key);
  }
  if (given.empty()) return PlanLatest(filter);
  if (given.size() > 1) {
    return Status::InvalidArgument(
        "only one of 'scan.snapshot-id', 'scan.tag-name', 'scan.version' and "
        "'scan.timestamp-millis' may be set, not " +
        given[0] + " and " + given[1]);
  }
  std::string value(Trim(*o.Get(given[0])));
  auto snapshot_id = [&](const std::string& key) -> Result<int64_t> {
    auto id = ParseInt64(value);
    if (!id || *id < 1) return Status::InvalidArgument("'" + key + "' = '" + value + "' is not a snapshot number");
    return *id;
  };
  if (given[0] == "scan.snapshot-id") {
    KL_ASSIGN_OR_RETURN(int64_t id, snapshot_id(given[0]));
    return PlanSnapshot(id, filter);
  }
  if (given[0] == "scan.tag-name") return PlanTag(value, filter);
  if (given[0] == "scan.version") {
    // Paimon's order: a tag of that name, else a snapshot number.
    if (!value.empty() && TagManager(ctx_->path()).Exists(value)) return PlanTag(value, filter);
    if (!ParseInt64(value)) {
      return Status::NotFound("'scan.version' = '" + value + "': " + ctx_->path() +
                              " has no tag of that name, and it is not a snapshot number");
    }
    KL_ASSIGN_OR_RETURN(int64_t id, snapshot_id(given[0]));
    return PlanSnapshot(id, filter);
  }
  auto ms = ParseInt64(value);
  if (!ms) return Status::InvalidArgument("'scan.timestamp-millis' = '" + value + "' is not a number of milliseconds");
  return PlanAsOfTime(*ms, filter);
}

Result<ScanPlan> TableScan::PlanChanges(int64_t snapshot_id, const PartitionFilter& filter) const {
  KL_ASSIGN_OR_RETURN(Snapshot s, snapshots_.Read(snapshot_id));
  return PlanChanges(s, filter);
}

Result<ScanPlan> TableScan::PlanChanges(const Snapshot& s, const PartitionFilter& filter) const {
  KL_RETURN_IF_ERROR(CheckReadable());
  ScanPlan plan;
  plan.snapshot_id = s.id;
  bool has_changelog_producer = ctx_->primary_key() && ctx_->options().changelog_producer() != ChangelogProducer::kNone;
  if (s.commit_kind == CommitKind::kOverwrite) {
    // As Paimon's streaming reads: an overwrite is not a change stream (it commits no
    // changelog, and its delta deletes whole files), so followers pass over it.
    if (ctx_->options().GetBool("streaming-read-overwrite", false)) {
      return Status::NotSupported("snapshot " + std::to_string(s.id) + " of " + ctx_->path() +
                                  " is an OVERWRITE; 'streaming-read-overwrite' = 'true' (reading it as changes) "
                                  "is not supported by kubelake: unset it to pass over overwrites");
    }
    return plan;
  }
  if (has_changelog_producer) {
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, ReadChangelogEntries(manifests_, s));
    plan.splits = Group(s.id, std::move(entries), filter, /*raw=*/true);
  } else if (s.commit_kind == CommitKind::kAppend) {
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, ReadDeltaEntries(manifests_, s));
    plan.splits = Group(s.id, std::move(entries), filter, /*raw=*/true);
  }
  return plan;
}

StreamScan::StreamScan(std::shared_ptr<TableContext> ctx, StreamStart start, std::optional<int64_t> snapshot_id,
                       PartitionFilter filter)
    : scan_(std::move(ctx)), start_(start), start_snapshot_(snapshot_id), filter_(std::move(filter)) {}

Result<ScanPlan> StreamScan::Next() {
  if (!started_) {
    started_ = true;
    switch (start_) {
      case StreamStart::kLatestFull: {
        KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, scan_.snapshots().LatestId());
        if (!latest) {
          next_ = 1;
          return ScanPlan{};
        }
        next_ = *latest + 1;
        return scan_.PlanSnapshotFull(*latest, filter_);
      }
      case StreamStart::kLatest: {
        KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, scan_.snapshots().LatestId());
        next_ = latest ? *latest + 1 : 1;
        return ScanPlan{};
      }
      case StreamStart::kFromSnapshot: next_ = start_snapshot_.value_or(1); return ScanPlan{};
      case StreamStart::kFromSnapshotFull: {
        int64_t id = start_snapshot_.value_or(1);
        next_ = id + 1;
        return scan_.PlanSnapshotFull(id, filter_);
      }
    }
  }
  // Skip snapshots without changes to read (compactions) until one has them.
  while (true) {
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, scan_.snapshots().LatestId());
    if (!latest || *next_ > *latest) return ScanPlan{};
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> earliest, scan_.snapshots().EarliestId());
    if (earliest && *next_ < *earliest) {
      return Status::NotFound("snapshot " + std::to_string(*next_) +
                              " expired before the streaming read reached it (earliest is " +
                              std::to_string(*earliest) + ")");
    }
    int64_t id = *next_;
    next_ = id + 1;
    KL_ASSIGN_OR_RETURN(Snapshot s, scan_.snapshots().Read(id));
    if (s.commit_kind == CommitKind::kCompact && !s.changelog_manifest_list) continue;
    KL_ASSIGN_OR_RETURN(ScanPlan plan, scan_.PlanChanges(s, filter_));
    return plan;
  }
}

}  // namespace kl::table
