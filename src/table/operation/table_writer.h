// Writing to a table: rows are routed to a writer per (partition, bucket) —
// the bucket from Paimon's hash of the bucket key — and a commit flushes
// them, compacts where due, and publishes a snapshot that records the
// caller's commit identifier and log offsets.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/column.h"
#include "table/mergetree/bucket_writer.h"
#include "table/operation/commit.h"
#include "table/operation/scan.h"
#include "table/table_context.h"

namespace kl::table {

class AppendBucketWriter;
class BinaryRowWriter;
class DynamicBucketAssigner;
class TagAutoCreation;

// Where a writer's commits spend the CPU of the committing thread, in seconds.
struct WriterCpu {
  double flush = 0;    // the last flushes: sort, merge, lookup changelog, data and changelog files
  double compact = 0;  // compactions
  double commit = 0;   // manifests, snapshot
  double expire = 0;   // snapshot expiry, automatic tags
  // CPU worker threads spent on this writer's buckets, which the calling thread's CPU time does
  // not show: at commits (part of flush and compact above), flushes over the write-buffer
  // budget (during writes) and Compact().
  double workers = 0;
  // What the primary-key buckets did, counted at commits, to tell the phases' costs apart.
  BucketWork work;

  WriterCpu& operator+=(const WriterCpu& o) {
    flush += o.flush;
    compact += o.compact;
    commit += o.commit;
    expire += o.expire;
    workers += o.workers;
    work += o.work;
    return *this;
  }
};

class TableWriter {
 public:
  TableWriter(std::shared_ptr<TableContext> ctx, std::string commit_user);
  ~TableWriter();

  const std::string& commit_user() const { return commit_user_; }

  // Rows with the table's columns in order; `kinds` (one per row) defaults to +I.
  Status Write(const format::ColumnBatch& rows, const std::vector<format::RowKind>* kinds = nullptr);
  Status WriteRow(const format::Row& row, format::RowKind kind = format::RowKind::kInsert);

  // Flushes all buffers and commits. Returns the snapshots created (none when
  // nothing changed, unless `allow_empty`); a commit whose identifier this
  // user already committed is skipped and reported as such. After a failed
  // commit the writer refuses further use: recreate it and replay from the
  // last committed log offsets.
  Result<CommitResult> Commit(int64_t commit_identifier, const std::map<int32_t, int64_t>& log_offsets = {},
                              bool allow_empty = false);
  // Compacts every bucket (fully when `full`) in the next commit.
  Status Compact(bool full);
  // Makes this writer an overwrite (Paimon's INSERT OVERWRITE): called before any write, it
  // ignores the table's existing files, and its one commit replaces `scope` with what was
  // written, in an OVERWRITE snapshot (even when nothing was written, unless the scope is
  // the written partitions). The writer takes no further writes after that commit.
  Status Overwrite(OverwriteScope scope);
  // While deferred, commits skip compactions of primary-key buckets unless a
  // bucket has more sorted runs than num-sorted-run.stop-trigger: a job that is
  // catching up with a backlog writes each row once instead of merging every
  // few flushes again (the rows of a bulk load would be rewritten two or
  // three times before the load ends).
  void DeferCompaction(bool defer) { defer_compaction_ = defer; }
  // How many buckets flush, compact and write their files at once — on the calling
  // thread and the shared WorkerPool's — at a commit, a compaction and a flush over
  // the write-buffer budget. The buckets' results still go into one commit, so a
  // commit stays atomic whatever the number; 1 does every bucket's work on the
  // calling thread, in bucket order. Default: WorkerPool::DefaultParallelism().
  void SetParallelism(int threads) { parallelism_ = std::max(1, threads); }
  int parallelism() const { return parallelism_; }
  const WriterCpu& cpu() const { return cpu_; }
  // Keys the lookup states of this writer's buckets hold (changelog-producer lookup).
  size_t lookup_state_keys() const;

 private:
  Status LoadExistingFiles();
  // The bucket's committed files and deletion vectors, handed once to its new writer.
  Result<DataSplit> TakeExisting(const std::pair<std::string, int32_t>& bucket);
  Result<BucketWriter*> PkWriter(const std::string& partition, int32_t bucket);
  Result<AppendBucketWriter*> AppendWriter(const std::string& partition, int32_t bucket);
  Status WriteRows(const format::ColumnBatch& rows, const std::vector<format::RowKind>* kinds);
  // 'write-buffer-size' bounds the rows buffered by all of this writer's
  // buckets together, as Paimon's shared write memory does: past it, the
  // fullest buckets flush first.
  Status FlushOverBudget();
  // The serialized partition row of `row`.
  void PartitionOf(const format::ColumnBatch& rows, size_t row, std::string* partition) const;
  // The bucket of `row` in `partition` (fixed: hash of the bucket key; dynamic: the assigner's);
  // `key` is scratch space.
  Result<int32_t> BucketFor(const std::string& partition, const format::ColumnBatch& rows, size_t row,
                            BinaryRowWriter* key);

  std::shared_ptr<TableContext> ctx_;
  std::string commit_user_;
  FileStoreCommit commit_;
  bool loaded_ = false;
  // Live files (every level) and their deletion vectors at the latest snapshot, by bucket.
  std::map<std::pair<std::string, int32_t>, DataSplit> existing_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<BucketWriter>> pk_writers_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<AppendBucketWriter>> append_writers_;
  std::vector<int> partition_indexes_;
  std::vector<int> bucket_key_indexes_;
  int num_buckets_ = 1;
  // Dynamic bucket mode (primary key, bucket = -1): buckets come from the key index.
  std::unique_ptr<DynamicBucketAssigner> dynamic_;
  bool failed_ = false;
  std::optional<OverwriteScope> overwrite_;
  bool overwrite_committed_ = false;
  bool defer_compaction_ = false;
  int parallelism_;
  WriterCpu cpu_;
  // Tags after commits: created per period ('tag.automatic-creation'), expired by time.
  Status MaintainTags();
  // Counts the CPU the commit's helper threads spent (its manifests' syncs) as the commit's.
  void ChargeCommitHelpers();
  bool tags_checked_ = false;
  std::unique_ptr<TagAutoCreation> tag_creation_;
  int64_t next_tag_expiry_millis_ = 0;
};

}  // namespace kl::table
