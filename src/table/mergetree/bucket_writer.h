// The writer of one primary-key bucket (Paimon's merge-tree writer): new
// records go to a sorted in-memory buffer; a flush merges records of the
// same key and writes a level-0 file; compaction keeps the number of sorted
// runs bounded. Changelog producers: `input` writes the input records as the
// changelog; `lookup` compares each key's merged value before and after the
// flush (kept in a lookup state loaded from the bucket's files) and writes
// -U/+U, +I or -D records.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "table/data/kv.h"
#include "table/manifest/manifest.h"
#include "table/mergetree/compaction.h"
#include "table/mergetree/lookup_state.h"
#include "table/mergetree/merge_function.h"
#include "table/mergetree/record_level_expire.h"
#include "table/mergetree/write_buffer.h"
#include "table/table_context.h"

namespace kl::table {

// What one bucket contributes to a commit.
struct CommitIncrement {
  std::string partition;
  int32_t bucket = 0;
  int32_t total_buckets = 0;
  std::vector<DataFileMeta> new_files;
  std::vector<DataFileMeta> compact_before;
  std::vector<DataFileMeta> compact_after;
  std::vector<DataFileMeta> changelog_files;

  bool empty() const {
    return new_files.empty() && compact_before.empty() && compact_after.empty() && changelog_files.empty();
  }
  // Adds one compaction's inputs and outputs. Compactions run again before a commit take
  // earlier outputs as inputs: those leave compact_after instead of joining compact_before,
  // so the commit deletes only committed files, each once (Paimon's MergeTreeWriter does the
  // same). Returns the intermediate files nothing refers to any more, for the caller to remove
  // (a file moved up a level keeps its name and is never among them).
  std::vector<DataFileMeta> AddCompaction(const std::vector<DataFileMeta>& before,
                                          const std::vector<DataFileMeta>& after);
};

// What a primary-key bucket writer did (flushes, compactions, lookups), for figures.
struct BucketWork {
  int64_t flushes = 0;
  int64_t flushed_records = 0;     // buffered records flushed (before merging keys)
  int64_t compactions = 0;         // rewrites, not files moved up a level
  int64_t compacted_rows = 0;      // rows of their input files
  int64_t compacted_bytes = 0;     // bytes of their input files
  int64_t lookups = 0;             // keys a lookup-changelog flush looked up in the lookup state
  int64_t lookup_hits = 0;         // of those, keys the state held
  int64_t lookup_block_reads = 0;  // compressed blocks of the state decompressed for them
  int64_t changelog_copies = 0;    // lookup changelog files written as a copy of a data file

  BucketWork& operator+=(const BucketWork& o) {
    flushes += o.flushes;
    flushed_records += o.flushed_records;
    compactions += o.compactions;
    compacted_rows += o.compacted_rows;
    compacted_bytes += o.compacted_bytes;
    lookups += o.lookups;
    lookup_hits += o.lookup_hits;
    lookup_block_reads += o.lookup_block_reads;
    changelog_copies += o.changelog_copies;
    return *this;
  }
};

class ChunkChangelog;

class BucketWriter {
 public:
  // `deletion_files`: deletion vectors of existing files (tables Java Paimon wrote with
  // deletion-vectors.enabled); reads of those files for lookups and compactions apply them.
  BucketWriter(std::shared_ptr<TableContext> ctx, std::string partition, int32_t bucket, int32_t total_buckets,
               std::vector<DataFileMeta> existing_files, std::map<std::string, DeletionFile> deletion_files = {});

  // `row` of `rows` (table columns) with its change kind.
  Status Write(const format::ColumnBatch& rows, size_t row, format::RowKind kind);
  // Rows [begin, end) of `rows`; `kinds` is indexed by row of `rows` (all +I when null).
  Status WriteRange(const format::ColumnBatch& rows, size_t begin, size_t end,
                    const std::vector<format::RowKind>* kinds);
  size_t buffered_records() const { return buffer_.size(); }
  size_t buffered_bytes() const { return buffer_.UsedBytes(); }

  // Writes the buffer as level-0 files. A failed flush drops the lookup state (which may hold
  // some of the buffer's records by then): the next flush builds it anew from the files.
  Status Flush();
  // Runs universal compaction if it is due (or a full compaction).
  Status Compact(bool full);
  // Flushes, compacts when due, and hands over everything written since the last call.
  Result<CommitIncrement> PrepareCommit(bool compact);
  const Levels& levels() const { return levels_; }
  // Level-0 files plus non-empty higher levels.
  size_t sorted_runs() const;
  // What this bucket did since the last call.
  BucketWork TakeWork();
  // Keys the lookup state holds (0 before the first lookup flush).
  size_t lookup_keys() const { return lookup_ ? lookup_->size() : 0; }

 private:
  Status FlushBuffer();
  Status EnsureLookupState();
  // Merges a key's buffered records (rows [begin, end) of `records`, in sequence order; `key`
  // is KeyOf their key) into the lookup state and writes the change of the key's view to
  // `changelog`.
  Status ApplyLookup(const std::string& key, const KvBatch& records, size_t begin, size_t end,
                     MergeFunction* store_merge, MergeFunction* view_merge, ChunkChangelog* changelog);
  // Writes buffered records `rows` to `w` in that order, gathered in chunks.
  Status WriteInOrder(DataFileWriter* w, const size_t* rows, size_t count);
  std::optional<format::Row> View(const KvRef& stored, MergeFunction* view_merge) const;
  // Adds the changelog of one key going from `before` to `after` (a stored record or a
  // materialized row each; null when absent) to `changelog`; `chunk` holds the flush's
  // records being merged.
  Status EmitChange(const KvBatch& chunk, const KvRef* before, const format::Row* before_row, const KvRef* after,
                    const format::Row* after_row, bool unchanged, int64_t seq, MergeEngine engine,
                    ChunkChangelog* changelog);
  // `expire_now_seconds`: drop records expired at that time (record-level expiry; only for a
  // unit of every file of the bucket).
  Status RunCompaction(const CompactUnit& unit, std::optional<int64_t> expire_now_seconds = std::nullopt);
  // Every file of the bucket, into the last level (what record-level expiry compacts).
  CompactUnit WholeBucketUnit() const;
  // Record-level expiry: at most every check interval, a full compaction when some file may
  // hold an expired record.
  Status MaybeExpireRecords();
  // Opens the bucket's files as full table rows, deletion vectors applied.
  Result<FileOpener> Opener();
  std::string KeyOf(const KvBatch& batch, size_t row) const;

  std::shared_ptr<TableContext> ctx_;
  std::string partition_;
  int32_t bucket_;
  int32_t total_buckets_;
  Levels levels_;
  // The table's options a flush asks for every key, read once (each read looks the option up
  // by name and parses it).
  const MergeEngine engine_;
  const bool changelog_row_deduplicate_;
  int64_t next_seq_ = 0;
  WriteBuffer buffer_;
  std::unique_ptr<MergeFunction> merge_;
  std::unique_ptr<LookupState> lookup_;
  std::vector<KvRef> lookup_group_;  // ApplyLookup's records of one key, kept for their capacity
  CommitIncrement pending_;
  std::map<std::string, DeletionFile> deletion_files_;
  std::shared_ptr<const SplitReadExtras> read_extras_;  // loaded on first use
  BucketWork work_;
  int64_t taken_block_reads_ = 0;            // the lookup state's block reads already in a TakeWork
  std::optional<RecordLevelExpire> expire_;  // the table's record-level expiry, if it has one
  int64_t next_expiry_check_millis_ = 0;
};

}  // namespace kl::table
