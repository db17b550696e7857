// Committing: turns the files written by writers into the next snapshot.
// New files become an APPEND snapshot (with their changelog), compaction
// results a COMPACT snapshot. Snapshot files are created only if absent, so
// two racing writers cannot both take an id: the loser re-reads the latest
// snapshot, checks that the files it deletes are still live, and retries.
// An overwrite replaces the live files of whole partitions (or the table) in one
// OVERWRITE snapshot. A commit carries (commitUser, commitIdentifier); one already in the
// table's history is skipped, which makes retries after a crash exact.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "format/datum.h"
#include "table/index/index_manifest.h"
#include "table/manifest/manifest.h"
#include "table/manifest/snapshot.h"
#include "table/mergetree/bucket_writer.h"
#include "table/table_context.h"

namespace kl::table {

// What an OVERWRITE commit (Paimon's INSERT OVERWRITE) replaces: the live data files and
// index files (HASH, deletion vectors) of these partitions are deleted in the snapshot that
// adds the commit's new files.
struct OverwriteScope {
  enum class Kind {
    kTable,              // every partition (an unpartitioned table's whole content)
    kWrittenPartitions,  // the partitions the commit writes to; nothing when it writes none
    kPartitionSpec,      // the partitions whose columns equal `spec`
  };
  Kind kind = Kind::kTable;
  // kPartitionSpec: partition column name -> value, for some or all partition columns.
  std::map<std::string, format::Datum> spec;
};

struct CommitRequest {
  std::string commit_user;
  int64_t commit_identifier = 0;
  std::map<int32_t, int64_t> log_offsets;
  std::vector<CommitIncrement> increments;
  // Index files this commit replaces and adds (dynamic bucket mode's HASH files): the APPEND
  // snapshot gets a new index manifest, the previous one combined with these.
  std::vector<IndexManifestEntry> index_changes;
  // Record a snapshot even when no file changed (to persist log offsets).
  bool allow_empty = false;
  // Set: an OVERWRITE snapshot replaces the scope's content with the new files (their
  // changelog is dropped, as Paimon's overwrite does). Files the commit adds must lie in the
  // scope. Compaction results still follow in a COMPACT snapshot.
  std::optional<OverwriteScope> overwrite;
};

struct CommitResult {
  bool already_committed = false;     // an earlier attempt of this commit landed
  std::vector<int64_t> snapshot_ids;  // snapshots created (APPEND and/or COMPACT)
};

class FileStoreCommit {
 public:
  explicit FileStoreCommit(std::shared_ptr<TableContext> ctx);

  Result<CommitResult> Commit(const CommitRequest& request);
  // The highest commit identifier `commit_user` has in the table, if any.
  Result<std::optional<int64_t>> LatestCommitIdentifier(const std::string& commit_user) const;
  // Latest snapshot of `commit_user`, if any (for restoring log offsets).
  Result<std::optional<Snapshot>> LatestSnapshotOf(const std::string& commit_user) const;

  // CPU seconds threads other than the caller's spent on this object's commits (the manifests'
  // syncs) since the last call.
  double TakeHelperCpu() { return std::exchange(helper_cpu_, 0.0); }

 private:
  // `replaced` (OVERWRITE only): which partitions of the latest snapshot the commit deletes.
  Result<int64_t> CommitOnce(const CommitRequest& request, CommitKind kind, const std::vector<ManifestEntry>& delta,
                             const std::vector<ManifestEntry>& changelog, int64_t changelog_rows,
                             const std::function<bool(const std::string&)>& replaced = nullptr);
  // Which serialized partitions an overwrite replaces; `written`: the partitions it adds files to.
  Result<std::function<bool(const std::string&)>> ReplacedPartitions(const OverwriteScope& scope,
                                                                     const std::set<std::string>& written) const;

  // Writes the index manifest that follows `previous` with `changes`; returns its name.
  Result<std::string> WriteNextIndexManifest(const std::optional<std::string>& previous,
                                             const std::vector<IndexManifestEntry>& changes) const;

  // An overwrite's index manifest: `previous` without the replaced partitions' files, plus
  // `changes`; nullopt when there is no index at all.
  Result<std::optional<std::string>> WriteOverwriteIndexManifest(
      const std::optional<std::string>& previous, const std::vector<IndexManifestEntry>& changes,
      const std::function<bool(const std::string&)>& replaced) const;

  std::shared_ptr<TableContext> ctx_;
  SnapshotManager snapshots_;
  ManifestIO manifests_;
  std::optional<int64_t> last_committed_;  // the last snapshot this object committed
  // Another committer's snapshot came after one of ours: what this object's writer planned
  // its compactions on may be stale, so every delete is checked from then on.
  bool others_committed_ = false;
  double helper_cpu_ = 0;  // of the threads that synced manifests, since taken
};

// The live files of a snapshot (base + delta manifests merged).
Result<std::vector<ManifestEntry>> ReadLiveEntries(const ManifestIO& io, const Snapshot& snapshot);
// The entries of a snapshot's delta (what that commit changed) or changelog.
Result<std::vector<ManifestEntry>> ReadDeltaEntries(const ManifestIO& io, const Snapshot& snapshot);
Result<std::vector<ManifestEntry>> ReadChangelogEntries(const ManifestIO& io, const Snapshot& snapshot);

}  // namespace kl::table
