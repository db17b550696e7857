// Planning reads: which data files a read must open. A batch plan lists the
// live files of one snapshot (latest, by id, or as of a time) grouped into
// splits by partition and bucket. A streaming scan returns, call after
// call, the changes of each new snapshot: its delta files, or its changelog
// files when the table has a changelog producer. OVERWRITE snapshots are passed
// over, as Paimon's streaming reads do without 'streaming-read-overwrite'.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/datum.h"
#include "table/index/deletion_vector.h"
#include "table/manifest/manifest.h"
#include "table/manifest/snapshot.h"
#include "table/table_context.h"

namespace kl::table {

struct DataSplit {
  int64_t snapshot_id = 0;
  std::string partition;
  int32_t bucket = 0;
  int32_t total_buckets = 0;
  std::vector<DataFileMeta> files;
  // Streaming splits hold changes to read as they are (no merge with older data).
  bool raw_changes = false;
  // Deletion vectors of some of the files, by data file name (tables with
  // deletion-vectors.enabled): their rows at these positions are gone.
  std::map<std::string, DeletionFile> deletion_files;
};

struct ScanPlan {
  std::optional<int64_t> snapshot_id;  // nullopt: nothing to read (yet)
  std::vector<DataSplit> splits;
};

// Keeps only the partitions the predicate accepts (called with the partition values).
using PartitionFilter = std::function<bool(const format::Row& partition)>;
// Keeps only the buckets the predicate accepts (a read by bucket key names its buckets).
// `total_buckets` is the count the file was written with: a table whose bucket count
// changed keeps older files under the old count, where a key's bucket differs.
using BucketFilter = std::function<bool(int32_t bucket, int32_t total_buckets)>;

// Batch plans of primary-key tables with deletion vectors, and of first-row
// tables, hold only files above level 0 (plus deletion vectors), as Paimon's:
// those levels never overlap in live keys, and level-0 data becomes visible
// when compaction lifts it (kubelake's writer compacts level 0 away at every
// commit for such tables, so a committed write is visible in the snapshot
// that compaction produces). Full plans for streaming starts hold every level.
class TableScan {
 public:
  explicit TableScan(std::shared_ptr<TableContext> ctx);

  Result<ScanPlan> PlanLatest(const PartitionFilter& filter = nullptr) const;
  Result<ScanPlan> PlanSnapshot(int64_t snapshot_id, const PartitionFilter& filter = nullptr) const;
  // `snapshot` (read before, say by snapshots().Latest()) as PlanLatest would plan it.
  Result<ScanPlan> PlanAt(const Snapshot& snapshot, const PartitionFilter& filter = nullptr) const;
  Result<ScanPlan> PlanAsOfTime(int64_t time_millis, const PartitionFilter& filter = nullptr) const;
  // The snapshot tag `name` names, as it was when tagged (NotFound: no such tag).
  Result<ScanPlan> PlanTag(const std::string& name, const PartitionFilter& filter = nullptr) const;
  // What the table's options travel to, as Paimon's batch reads: 'scan.snapshot-id',
  // 'scan.tag-name', 'scan.version' (a tag if one has that name, else a snapshot id) or
  // 'scan.timestamp-millis' (at most one of them); the latest snapshot without any.
  Result<ScanPlan> PlanConfigured(const PartitionFilter& filter = nullptr) const;
  // Every live file of `snapshot` (a tag's, say) at every level; see PlanSnapshotFull.
  Result<ScanPlan> PlanFull(const Snapshot& snapshot, const PartitionFilter& filter = nullptr) const;
  // Every live file of the snapshot at every level, with deletion vectors: the
  // state a streaming read starts from.
  Result<ScanPlan> PlanSnapshotFull(int64_t snapshot_id, const PartitionFilter& filter = nullptr) const;
  // The changes one snapshot made (delta or changelog files); empty for snapshots without any.
  Result<ScanPlan> PlanChanges(int64_t snapshot_id, const PartitionFilter& filter = nullptr) const;
  Result<ScanPlan> PlanChanges(const Snapshot& snapshot, const PartitionFilter& filter = nullptr) const;

  const SnapshotManager& snapshots() const { return snapshots_; }
  const ManifestIO& manifests() const { return manifests_; }

  // Batch and full plans made after this hold only the buckets `filter` accepts: the
  // others' files are not copied out of the snapshot's kept live files at all.
  void SetBucketFilter(BucketFilter filter) { bucket_filter_ = std::move(filter); }

 private:
  Result<ScanPlan> PlanFrom(const Snapshot& snapshot, const PartitionFilter& filter, bool batch) const;
  Result<Snapshot> ReadSnapshot(int64_t snapshot_id) const;
  // NotSupported for tables kubelake cannot read correctly (unknown manifest formats, data evolution).
  Status CheckReadable() const;
  // Attaches the snapshot's deletion vectors to the splits' files.
  Status AttachDeletionVectors(const Snapshot& snapshot, std::vector<DataSplit>* splits) const;
  std::vector<DataSplit> Group(int64_t snapshot_id, std::vector<ManifestEntry> entries, const PartitionFilter& filter,
                               bool raw) const;
  // Group over entries shared with a cache: only the files of accepted entries are copied.
  std::vector<DataSplit> GroupKept(int64_t snapshot_id, const std::vector<ManifestEntry>& entries,
                                   const PartitionFilter& filter, bool skip_level0) const;

  std::shared_ptr<TableContext> ctx_;
  SnapshotManager snapshots_;
  ManifestIO manifests_;
  BucketFilter bucket_filter_;
};

enum class StreamStart {
  kLatestFull,        // everything at the latest snapshot, then each new snapshot's changes
  kLatest,            // only changes after the latest snapshot
  kFromSnapshot,      // changes starting with the given snapshot
  kFromSnapshotFull,  // everything at the given snapshot, then changes after it
};

class StreamScan {
 public:
  StreamScan(std::shared_ptr<TableContext> ctx, StreamStart start, std::optional<int64_t> snapshot_id = std::nullopt,
             PartitionFilter filter = nullptr);
  // The next plan: a full snapshot first (for *Full starts), then one
  // snapshot's changes per call. A plan without snapshot id means "no new snapshot yet".
  Result<ScanPlan> Next();
  // The next snapshot id this scan will look at.
  std::optional<int64_t> next_snapshot() const { return next_; }
  // Resume after `snapshot_id` (whose changes were consumed).
  void RestoreAfter(int64_t snapshot_id) {
    next_ = snapshot_id + 1;
    started_ = true;
  }

 private:
  TableScan scan_;
  StreamStart start_;
  std::optional<int64_t> start_snapshot_;
  PartitionFilter filter_;
  bool started_ = false;
  std::optional<int64_t> next_;
};

}  // namespace kl::table
