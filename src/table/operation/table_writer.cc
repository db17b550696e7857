#include "table/operation/table_writer.h"

#include <algorithm>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/worker_pool.h"
#include "spdlog/spdlog.h"
#include "table/data/binary_row.h"
#include "table/index/bucket_assigner.h"
#include "table/operation/maintenance.h"
#include "table/operation/scan.h"
#include "table/tag/tag_auto_creation.h"

namespace kl::table {

using format::ColumnBatch;
using format::Row;
using format::RowKind;

// Append tables: rows go to files in arrival order; sequence numbers count rows.
class AppendBucketWriter {
 public:
  AppendBucketWriter(std::shared_ptr<TableContext> ctx, std::string partition, int32_t bucket, int32_t total_buckets,
                     std::vector<DataFileMeta> existing, std::map<std::string, DeletionFile> deletion_files)
      : ctx_(std::move(ctx)),
        partition_(std::move(partition)),
        bucket_(bucket),
        total_buckets_(total_buckets),
        files_(std::move(existing)),
        buffer_(ctx_->schema().fields),
        deletion_files_(std::move(deletion_files)) {
    for (const auto& f : files_) next_seq_ = std::max(next_seq_, f.max_sequence_number + 1);
  }
  // A file still being encoded was never handed over: nothing refers to it.
  ~AppendBucketWriter() {
    if (held_) held_->Abort();
  }

  // What write-buffer-size bounds: the buffer's memory, not just the bytes of its rows
  // (columns grow by doubling, so a buffer can take up to twice what its rows use); for a
  // row format, the encoded and compressed rows of the file being written.
  size_t buffered_bytes() const { return held_ ? held_->MemoryBytes() : buffer_.MemoryBytes(); }

  Status Write(const ColumnBatch& rows, size_t begin, size_t end) {
    KL_RETURN_IF_ERROR(broken_);
    // (A format the table's options cannot make fails at the flush, as for any format.)
    Result<const FileFormat*> fmt = ctx_->WriteFormat();
    if (fmt.ok() && (*fmt)->holds_encoded_rows()) {
      // Row formats take the rows as they come (no copy into a buffer, none into staging):
      // the write buffer is the file's encoded, compressed bytes, written out at a flush.
      if (!held_) held_ = NewFileWriter(*fmt, /*held=*/true);
      Status s = held_->AppendValues(rows, begin, end, next_seq_);
      if (!s.ok()) {
        // Rows of this flush are gone with the file: this bucket cannot commit any more.
        held_->Abort();
        held_.reset();
        broken_ = s;
        return s;
      }
      next_seq_ += static_cast<int64_t>(end - begin);
      if (static_cast<int64_t>(held_->MemoryBytes()) >= ctx_->options().write_buffer_size()) return Flush();
      return Status::OK();
    }
    for (size_t c = 0; c < rows.num_columns(); ++c) buffer_.mutable_column(c).AppendRange(rows.column(c), begin, end);
    buffer_.SetNumRows(buffer_.num_rows() + (end - begin));
    peak_used_ = std::max(peak_used_, buffer_.UsedBytes());
    if (static_cast<int64_t>(buffer_.MemoryBytes()) >= ctx_->options().write_buffer_size()) return FlushOverBudget();
    return Status::OK();
  }

  // A flush because the table's buffers are full also frees this one's memory: buckets that
  // filled by doubling, one after the other, would otherwise keep several budgets' worth.
  Status FlushOverBudget() {
    KL_RETURN_IF_ERROR(Flush());
    buffer_ = ColumnBatch(ctx_->schema().fields);
    return Status::OK();
  }

  Status Flush() {
    KL_RETURN_IF_ERROR(broken_);
    if (held_) {
      std::unique_ptr<DataFileWriter> w = std::move(held_);
      auto files = w->Close();
      if (!files.ok()) {
        w->Abort();
        broken_ = files.status();
        return broken_;
      }
      Handover(std::move(files).value());
    }
    if (buffer_.num_rows() == 0) return Status::OK();
    KL_ASSIGN_OR_RETURN(const FileFormat* fmt, ctx_->WriteFormat());
    std::unique_ptr<DataFileWriter> w = NewFileWriter(fmt, /*held=*/false);
    AbortOnExit abort_on_failure({w.get()});
    KL_RETURN_IF_ERROR(w->AppendValues(buffer_, 0, buffer_.num_rows(), next_seq_));
    KL_ASSIGN_OR_RETURN(std::vector<DataFileMeta> files, w->Close());
    abort_on_failure.Release();
    next_seq_ += static_cast<int64_t>(buffer_.num_rows());
    Handover(std::move(files));
    buffer_.Clear();
    return Status::OK();
  }

  // Merges small files: all of them when `full`, else the tier PickAppendCompaction picks.
  Status Compact(bool full) {
    KL_RETURN_IF_ERROR(Flush());
    int64_t target = ctx_->options().target_file_size(false);
    std::sort(files_.begin(), files_.end(), [](const DataFileMeta& a, const DataFileMeta& b) {
      return a.min_sequence_number < b.min_sequence_number;
    });
    std::vector<DataFileMeta> picked;
    if (full) {
      for (const auto& f : files_) {
        if (f.file_size < target / 2) picked.push_back(f);
      }
      if (picked.size() < 2) return Status::OK();
    } else {
      auto range = PickAppendCompaction(files_, target, ctx_->options().compaction_min_file_num(),
                                        ctx_->options().compaction_max_file_num());
      if (!range) return Status::OK();
      picked.assign(files_.begin() + static_cast<ptrdiff_t>(range->first),
                    files_.begin() + static_cast<ptrdiff_t>(range->second) + 1);
    }
    KL_ASSIGN_OR_RETURN(std::vector<DataFileMeta> after, Merge(picked, target));
    files_.erase(std::remove_if(files_.begin(), files_.end(),
                                [&](const DataFileMeta& f) {
                                  return std::any_of(picked.begin(), picked.end(),
                                                     [&](const DataFileMeta& s) { return s.file_name == f.file_name; });
                                }),
                 files_.end());
    files_.insert(files_.end(), after.begin(), after.end());
    for (const auto& f : pending_.AddCompaction(picked, after))
      (void)RemoveFile(ctx_->paths().DataFilePath(partition_, bucket_, f));  // else orphan cleanup takes it
    return Status::OK();
  }

  // Flushes, compacts when `compact` (and the table is not write-only), and hands over the changes.
  Result<CommitIncrement> PrepareCommit(bool compact) {
    KL_RETURN_IF_ERROR(Flush());
    // The buffer keeps the memory its rows took since the last commit, for the next
    // interval's; past a bulk load (or gone quiet) it gives the rest back.
    if (buffer_.MemoryBytes() > 2 * peak_used_ + (1 << 20)) buffer_ = ColumnBatch(ctx_->schema().fields);
    peak_used_ = 0;
    if (compact && !ctx_->options().write_only()) KL_RETURN_IF_ERROR(Compact(false));
    CommitIncrement out = std::move(pending_);
    pending_ = CommitIncrement();
    out.partition = partition_;
    out.bucket = bucket_;
    out.total_buckets = total_buckets_;
    return out;
  }

 private:
  std::unique_ptr<DataFileWriter> NewFileWriter(const FileFormat* fmt, bool held) const {
    DataFileWriterOptions opts;
    opts.key_value = false;
    opts.target_file_size = ctx_->options().target_file_size(false);
    opts.stats_truncate = ctx_->options().stats_truncate_length();
    opts.no_value_stats = ctx_->options().value_stats_none(/*changelog=*/false);
    opts.held = held;
    return std::make_unique<DataFileWriter>(ctx_->schema(), fmt, &ctx_->paths(), partition_, bucket_, opts);
  }

  // Written files join the bucket's and go in the next commit.
  void Handover(std::vector<DataFileMeta> files) {
    for (auto& f : files) {
      files_.push_back(f);
      pending_.new_files.push_back(std::move(f));
    }
  }

  // `files` (in sequence order) as fewer files: Avro files by copying their
  // compressed blocks; otherwise (and where a deletion vector drops rows) by
  // rewriting the rows.
  Result<std::vector<DataFileMeta>> Merge(const std::vector<DataFileMeta>& files, int64_t target) {
    bool has_deletions = std::any_of(files.begin(), files.end(),
                                     [&](const DataFileMeta& f) { return deletion_files_.count(f.file_name) != 0; });
    if (!has_deletions) {
      auto concatenated =
          ConcatAvroDataFiles(ctx_->schema(), ctx_->paths(), partition_, bucket_, files,
                              ctx_->options().stats_truncate_length(), ctx_->options().data_file_sync());
      if (concatenated.ok()) return std::vector<DataFileMeta>{std::move(concatenated).value()};
      if (concatenated.status().code() != StatusCode::kNotSupported) return concatenated.status();
    }
    KL_ASSIGN_OR_RETURN(const FileFormat* fmt, ctx_->WriteFormat());
    DataFileWriterOptions opts;
    opts.key_value = false;
    opts.source = FileSource::kCompact;
    opts.target_file_size = target;
    opts.stats_truncate = ctx_->options().stats_truncate_length();
    opts.no_value_stats = ctx_->options().value_stats_none(/*changelog=*/false);
    DataFileWriter w(ctx_->schema(), fmt, &ctx_->paths(), partition_, bucket_, opts);
    AbortOnExit abort_on_failure({&w});
    // Rows a deletion vector removed stay removed in the rewritten file.
    KL_ASSIGN_OR_RETURN(std::shared_ptr<SplitReadExtras> extras, LoadDeletionVectors(deletion_files_));
    FileOpener opener = ctx_->OpenerFor(partition_, bucket_, ctx_->schema().fields, std::move(extras));
    for (const auto& f : files) {
      KL_ASSIGN_OR_RETURN(auto reader, opener(f));
      while (true) {
        KvBatch chunk;
        KL_ASSIGN_OR_RETURN(size_t n, reader->Next(16384, &chunk));
        if (n == 0) break;
        KL_RETURN_IF_ERROR(w.AppendValues(chunk.values, 0, n, chunk.seq[0]));
      }
    }
    KL_ASSIGN_OR_RETURN(std::vector<DataFileMeta> after, w.Close());
    abort_on_failure.Release();
    return after;
  }

 private:
  std::shared_ptr<TableContext> ctx_;
  std::string partition_;
  int32_t bucket_;
  int32_t total_buckets_;
  std::vector<DataFileMeta> files_;
  ColumnBatch buffer_;
  size_t peak_used_ = 0;  // the most the buffer held since the last commit
  std::map<std::string, DeletionFile> deletion_files_;
  int64_t next_seq_ = 0;
  CommitIncrement pending_;
  // Row formats: the file being encoded, held in memory until the next flush.
  std::unique_ptr<DataFileWriter> held_;
  Status broken_;  // a held file failed: its rows are lost, so this writer never commits again
};

TableWriter::TableWriter(std::shared_ptr<TableContext> ctx, std::string commit_user)
    : ctx_(ctx), commit_user_(std::move(commit_user)), commit_(ctx), parallelism_(WorkerPool::DefaultParallelism()) {
  partition_indexes_ = ctx_->schema().PartitionIndexes();
  bucket_key_indexes_ = ctx_->schema().BucketKeyIndexes();
  num_buckets_ = ctx_->options().bucket();
  if (ctx_->primary_key() && num_buckets_ == -1 && !ctx_->schema().CrossPartitionUpdate()) {
    // The key hash is over the trimmed primary key, as Paimon's assigner computes it.
    bucket_key_indexes_ = ctx_->schema().TrimmedKeyIndexes();
    dynamic_ = std::make_unique<DynamicBucketAssigner>(ctx_);
  }
}

TableWriter::~TableWriter() = default;

Status TableWriter::LoadExistingFiles() {
  if (loaded_) return Status::OK();
  if (overwrite_) {
    // An overwrite starts from nothing: what it replaces is deleted by its commit.
    if (dynamic_) KL_RETURN_IF_ERROR(dynamic_->Restore(std::nullopt, {}));
    loaded_ = true;
    return Status::OK();
  }
  TableScan scan(ctx_);
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, scan.snapshots().LatestId());
  if (latest) {
    // Every level: batch plans of some tables leave level 0 out, a writer needs it all.
    KL_ASSIGN_OR_RETURN(ScanPlan plan, scan.PlanSnapshotFull(*latest));
    for (auto& split : plan.splits) existing_[{split.partition, split.bucket}] = std::move(split);
  }
  if (dynamic_) {
    std::optional<Snapshot> snapshot;
    if (latest) {
      KL_ASSIGN_OR_RETURN(snapshot, scan.snapshots().Read(*latest));
    }
    std::set<std::pair<std::string, int32_t>> buckets;
    for (const auto& [key, split] : existing_) buckets.insert(key);
    KL_RETURN_IF_ERROR(dynamic_->Restore(snapshot, buckets));
  }
  loaded_ = true;
  return Status::OK();
}

Result<DataSplit> TableWriter::TakeExisting(const std::pair<std::string, int32_t>& bucket) {
  KL_RETURN_IF_ERROR(LoadExistingFiles());
  DataSplit existing;
  if (auto e = existing_.find(bucket); e != existing_.end()) existing = std::move(e->second);
  return existing;
}

Result<BucketWriter*> TableWriter::PkWriter(const std::string& partition, int32_t bucket) {
  auto key = std::make_pair(partition, bucket);
  auto it = pk_writers_.find(key);
  if (it != pk_writers_.end()) return it->second.get();
  KL_ASSIGN_OR_RETURN(DataSplit existing, TakeExisting(key));
  auto& w = pk_writers_[key];
  w = std::make_unique<BucketWriter>(ctx_, partition, bucket, num_buckets_, std::move(existing.files),
                                     std::move(existing.deletion_files));
  return w.get();
}

Result<AppendBucketWriter*> TableWriter::AppendWriter(const std::string& partition, int32_t bucket) {
  auto key = std::make_pair(partition, bucket);
  auto it = append_writers_.find(key);
  if (it != append_writers_.end()) return it->second.get();
  KL_ASSIGN_OR_RETURN(DataSplit existing, TakeExisting(key));
  auto& w = append_writers_[key];
  w = std::make_unique<AppendBucketWriter>(ctx_, partition, bucket, num_buckets_, std::move(existing.files),
                                           std::move(existing.deletion_files));
  return w.get();
}

void TableWriter::PartitionOf(const ColumnBatch& rows, size_t row, std::string* partition) const {
  BinaryRowWriter w(partition_indexes_.size());
  for (size_t i = 0; i < partition_indexes_.size(); ++i) {
    w.WriteFromColumn(i, rows.column(static_cast<size_t>(partition_indexes_[i])), row);
  }
  uint32_t arity = __builtin_bswap32(static_cast<uint32_t>(partition_indexes_.size()));
  partition->assign(reinterpret_cast<const char*>(&arity), 4);
  *partition += w.data();
}

Result<int32_t> TableWriter::BucketFor(const std::string& partition, const ColumnBatch& rows, size_t row,
                                       BinaryRowWriter* key) {
  if (num_buckets_ <= 1 && !dynamic_) return 0;
  key->Reset();
  for (size_t i = 0; i < bucket_key_indexes_.size(); ++i) {
    key->WriteFromColumn(i, rows.column(static_cast<size_t>(bucket_key_indexes_[i])), row);
  }
  if (dynamic_) return dynamic_->Assign(partition, HashBytesByWords(key->data()));
  return BucketOf(key->data(), num_buckets_);
}

Status TableWriter::Write(const ColumnBatch& rows, const std::vector<RowKind>* kinds) {
  KL_RETURN_IF_ERROR(WriteRows(rows, kinds));
  return FlushOverBudget();
}

Status TableWriter::FlushOverBudget() {
  if (pk_writers_.size() + append_writers_.size() <= 1) return Status::OK();  // the bucket's own check holds
  const int64_t budget = ctx_->options().write_buffer_size();
  struct Buffered {
    size_t bytes;
    BucketWriter* pk;
    AppendBucketWriter* append;
  };
  std::vector<Buffered> buffered;
  int64_t total = 0;
  for (const auto& [key, w] : pk_writers_) buffered.push_back({w->buffered_bytes(), w.get(), nullptr});
  for (const auto& [key, w] : append_writers_) buffered.push_back({w->buffered_bytes(), nullptr, w.get()});
  for (const auto& b : buffered) total += static_cast<int64_t>(b.bytes);
  if (total < budget || total == 0) return Status::OK();
  // The fullest buckets flush until the rest fit the budget; they flush side by side.
  std::stable_sort(buffered.begin(), buffered.end(),
                   [](const Buffered& a, const Buffered& b) { return a.bytes > b.bytes; });
  size_t flushing = 0;
  while (flushing < buffered.size() && total >= budget && total > 0 && buffered[flushing].bytes > 0) {
    total -= static_cast<int64_t>(buffered[flushing].bytes);
    ++flushing;
  }
  double worker_cpu = 0;
  Status flushed = WorkerPool::Shared().Run(
      flushing, parallelism_,
      [&](size_t i) {
        return buffered[i].pk != nullptr ? buffered[i].pk->Flush() : buffered[i].append->FlushOverBudget();
      },
      &worker_cpu);
  cpu_.workers += worker_cpu;
  return flushed;
}

Status TableWriter::WriteRows(const ColumnBatch& rows, const std::vector<RowKind>* kinds) {
  const auto& schema = ctx_->schema();
  if (rows.num_columns() != schema.fields.size()) {
    return Status::InvalidArgument("rows have " + std::to_string(rows.num_columns()) + " columns, table " +
                                   ctx_->path() + " has " + std::to_string(schema.fields.size()));
  }
  if (ctx_->primary_key() && num_buckets_ <= 0 && !dynamic_) {
    if (num_buckets_ == -1) {
      return Status::NotSupported(
          "table " + ctx_->path() +
          " has a primary key without all partition columns (cross-partition upsert), which kubelake does not "
          "write; put the partition columns into the primary key or use a fixed 'bucket'");
    }
    return Status::NotSupported("table " + ctx_->path() + " has bucket = " + std::to_string(num_buckets_) +
                                ", a bucket mode kubelake does not write");
  }
  if (failed_) return Status::Aborted("table writer of " + ctx_->path() + " must be recreated after a failed commit");
  if (overwrite_committed_) {
    return Status::Aborted("table writer of " + ctx_->path() + " has committed its overwrite; use a new writer");
  }
  if (ctx_->options().manifest_format() != "avro") {
    return Status::NotSupported("writing to " + ctx_->path() + ": its manifests are " +
                                ctx_->options().manifest_format() + "; kubelake writes Avro manifests only");
  }
  // Key columns may not be null: a row with a null key cannot be merged.
  if (ctx_->primary_key()) {
    for (const auto& name : schema.primary_keys) {
      const auto& col = rows.column(static_cast<size_t>(schema.fields.IndexOf(name)));
      if (col.has_nulls()) return Status::InvalidArgument("primary key column \"" + name + "\" has a null value");
    }
  }
  if (!ctx_->primary_key() && kinds != nullptr) {
    for (RowKind k : *kinds) {
      if (k != RowKind::kInsert) return Status::InvalidArgument("append table " + ctx_->path() + " only takes +I rows");
    }
  }
  if (dynamic_) KL_RETURN_IF_ERROR(LoadExistingFiles());
  bool single_target = partition_indexes_.empty() && num_buckets_ <= 1 && !dynamic_;
  size_t n = rows.num_rows();
  if (single_target) {
    if (!ctx_->primary_key()) {
      KL_ASSIGN_OR_RETURN(AppendBucketWriter * w, AppendWriter(SerializeBinaryRow({}, {}), 0));
      return w->Write(rows, 0, n);
    }
    KL_ASSIGN_OR_RETURN(BucketWriter * only, PkWriter(SerializeBinaryRow({}, {}), 0));
    return only->WriteRange(rows, 0, n, kinds);
  }
  // Consecutive rows of one (partition, bucket) go to its writer together; the writer
  // map is consulted only where the target changes.
  BinaryRowWriter key(bucket_key_indexes_.size());
  std::string partition = SerializeBinaryRow({}, {});
  std::string run_partition;
  int32_t run_bucket = -1;
  size_t run_begin = 0;
  auto flush_run = [&](size_t end) -> Status {
    if (run_bucket < 0) return Status::OK();
    if (ctx_->primary_key()) {
      KL_ASSIGN_OR_RETURN(BucketWriter * w, PkWriter(run_partition, run_bucket));
      return w->WriteRange(rows, run_begin, end, kinds);
    }
    KL_ASSIGN_OR_RETURN(AppendBucketWriter * w, AppendWriter(run_partition, run_bucket));
    return w->Write(rows, run_begin, end);
  };
  for (size_t i = 0; i < n; ++i) {
    if (!partition_indexes_.empty()) PartitionOf(rows, i, &partition);
    KL_ASSIGN_OR_RETURN(int32_t bucket, BucketFor(partition, rows, i, &key));
    if (bucket == run_bucket && partition == run_partition) continue;
    KL_RETURN_IF_ERROR(flush_run(i));
    run_partition = partition;
    run_bucket = bucket;
    run_begin = i;
  }
  return flush_run(n);
}

Status TableWriter::WriteRow(const Row& row, RowKind kind) {
  ColumnBatch batch(ctx_->schema().fields);
  batch.AppendRow(row);
  std::vector<RowKind> kinds{kind};
  return Write(batch, &kinds);
}

Status TableWriter::Compact(bool full) {
  KL_RETURN_IF_ERROR(LoadExistingFiles());
  // Every bucket that has files takes part, not only those written to.
  std::vector<std::pair<std::string, int32_t>> targets;
  for (const auto& [key, files] : existing_) targets.push_back(key);
  for (const auto& [key, w] : pk_writers_) targets.push_back(key);
  for (const auto& [key, w] : append_writers_) targets.push_back(key);
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  // Writers first (that touches the writer maps), then the buckets compact side by side.
  std::vector<BucketWriter*> pk;
  std::vector<AppendBucketWriter*> append;
  for (const auto& [partition, bucket] : targets) {
    if (ctx_->primary_key()) {
      KL_ASSIGN_OR_RETURN(BucketWriter * w, PkWriter(partition, bucket));
      pk.push_back(w);
    } else {
      KL_ASSIGN_OR_RETURN(AppendBucketWriter * w, AppendWriter(partition, bucket));
      append.push_back(w);
    }
  }
  double worker_cpu = 0;
  Status compacted = WorkerPool::Shared().Run(
      pk.size() + append.size(), parallelism_,
      [&](size_t i) -> Status {
        if (i < pk.size()) {
          KL_RETURN_IF_ERROR(pk[i]->Flush());
          return pk[i]->Compact(full);
        }
        return append[i - pk.size()]->Compact(full);
      },
      &worker_cpu);
  cpu_.workers += worker_cpu;
  return compacted;
}

size_t TableWriter::lookup_state_keys() const {
  size_t n = 0;
  for (const auto& [key, w] : pk_writers_) n += w->lookup_keys();
  return n;
}

Status TableWriter::Overwrite(OverwriteScope scope) {
  if (loaded_ || !pk_writers_.empty() || !append_writers_.empty()) {
    return Status::InvalidArgument("table writer of " + ctx_->path() + ": an overwrite must be set before writing");
  }
  if (scope.kind == OverwriteScope::Kind::kPartitionSpec) {
    format::RowType partition_type = ctx_->schema().PartitionType();
    for (const auto& [name, value] : scope.spec) {
      if (partition_type.IndexOf(name) < 0) {
        return Status::InvalidArgument("overwriting " + ctx_->path() + ": \"" + name + "\" is not a partition column");
      }
    }
  }
  overwrite_ = std::move(scope);
  return Status::OK();
}

Result<CommitResult> TableWriter::Commit(int64_t commit_identifier, const std::map<int32_t, int64_t>& log_offsets,
                                         bool allow_empty) {
  if (failed_) return Status::Aborted("table writer of " + ctx_->path() + " must be recreated after a failed commit");
  if (overwrite_committed_) {
    return Status::Aborted("table writer of " + ctx_->path() + " has committed its overwrite; use a new writer");
  }
  if (ctx_->options().manifest_format() != "avro") {
    return Status::NotSupported("writing to " + ctx_->path() + ": its manifests are " +
                                ctx_->options().manifest_format() + "; kubelake writes Avro manifests only");
  }
  CommitRequest request;
  request.commit_user = commit_user_;
  request.commit_identifier = commit_identifier;
  request.log_offsets = log_offsets;
  request.allow_empty = allow_empty;
  double mark = ThreadCpuSeconds();
  auto charge = [&](double* bucket) {
    double now = ThreadCpuSeconds();
    *bucket += now - mark;
    mark = now;
  };
  // Each bucket's last flush, compaction and files are its own: the buckets do them side
  // by side, and the one commit below publishes all their increments together (or none).
  std::vector<BucketWriter*> pk;
  std::vector<AppendBucketWriter*> append;
  for (auto& [key, w] : pk_writers_) pk.push_back(w.get());
  for (auto& [key, w] : append_writers_) append.push_back(w.get());
  const size_t buckets = pk.size() + append.size();
  std::vector<CommitIncrement> increments(buckets);
  std::vector<double> flush_cpu(buckets, 0), compact_cpu(buckets, 0);
  const size_t stop_trigger = static_cast<size_t>(std::max(1, ctx_->options().num_sorted_run_stop_trigger()));
  auto prepare = [&](size_t i) -> Status {
    double start = ThreadCpuSeconds();
    if (i < pk.size()) {
      BucketWriter* w = pk[i];
      KL_RETURN_IF_ERROR(w->Flush());
      double flushed = ThreadCpuSeconds();
      flush_cpu[i] = flushed - start;
      bool compact = !defer_compaction_ || w->sorted_runs() > stop_trigger;
      KL_ASSIGN_OR_RETURN(increments[i], w->PrepareCommit(compact));
      compact_cpu[i] = ThreadCpuSeconds() - flushed;
    } else {
      AppendBucketWriter* w = append[i - pk.size()];
      KL_RETURN_IF_ERROR(w->Flush());
      double flushed = ThreadCpuSeconds();
      flush_cpu[i] = flushed - start;
      KL_ASSIGN_OR_RETURN(increments[i], w->PrepareCommit(/*compact=*/true));
      compact_cpu[i] = ThreadCpuSeconds() - flushed;
    }
    return Status::OK();
  };
  double worker_cpu = 0;
  Status prepared = WorkerPool::Shared().Run(buckets, parallelism_, prepare, &worker_cpu);
  for (size_t i = 0; i < buckets; ++i) {
    cpu_.flush += flush_cpu[i];
    cpu_.compact += compact_cpu[i];
  }
  for (BucketWriter* w : pk) cpu_.work += w->TakeWork();
  cpu_.workers += worker_cpu;
  mark = ThreadCpuSeconds();  // the tasks counted their CPU themselves, on whichever thread
  if (!prepared.ok()) {
    // Buckets that did finish have handed over their increments: they are gone with
    // this commit, so the writer cannot commit again (recreate it, replay from the table).
    failed_ = true;
    return prepared;
  }
  for (auto& inc : increments) {
    if (!inc.empty()) request.increments.push_back(std::move(inc));
  }
  if (dynamic_) {
    auto index_changes = dynamic_->PrepareCommit();
    if (!index_changes.ok()) {
      failed_ = true;  // the increments above are gone with it
      return index_changes.status();
    }
    request.index_changes = std::move(index_changes).value();
  }
  if (overwrite_) {
    request.overwrite = overwrite_;
    overwrite_committed_ = true;
  } else if (request.increments.empty() && request.index_changes.empty() && !allow_empty) {
    return CommitResult{};
  }
  auto result = commit_.Commit(request);
  charge(&cpu_.commit);
  ChargeCommitHelpers();
  if (dynamic_ && result.ok()) dynamic_->Committed(!result->already_committed);
  // The increments are gone with a failed commit: the caller restarts from its
  // last committed state (the log offsets in the table) with a new writer.
  if (!result.ok()) {
    failed_ = true;
    return result;
  }
  if (!ctx_->options().write_only() && !result->snapshot_ids.empty()) {
    // The commit stands either way; failed tag upkeep and expiry are retried at the next one.
    // Tags first: a snapshot tagged now keeps its files through the expiry that follows.
    Status tags = MaintainTags();
    if (!tags.ok()) spdlog::warn("tags of {}: {}", ctx_->path(), tags.ToString());
    auto expired = ExpireSnapshots(ctx_, ExpireOptions::FromTable(ctx_->options()));
    if (!expired.ok()) spdlog::warn("expiring snapshots of {}: {}", ctx_->path(), expired.status().ToString());
    charge(&cpu_.expire);
  }
  return result;
}

void TableWriter::ChargeCommitHelpers() {
  double helpers = commit_.TakeHelperCpu();
  cpu_.commit += helpers;
  cpu_.workers += helpers;
}

Status TableWriter::MaintainTags() {
  if (!tags_checked_) {
    tags_checked_ = true;
    KL_ASSIGN_OR_RETURN(tag_creation_, TagAutoCreation::Create(ctx_));
  }
  if (tag_creation_) {
    KL_ASSIGN_OR_RETURN(std::vector<std::string> created, tag_creation_->Run());
    for (const auto& name : created) spdlog::info("tagged {} as '{}'", ctx_->path(), name);
  }
  // Tag retention is counted in hours or days: reading every tag once a minute is enough.
  int64_t now = NowMillis();
  if (now >= next_tag_expiry_millis_) {
    next_tag_expiry_millis_ = now + 60000;
    KL_ASSIGN_OR_RETURN(std::vector<std::string> expired, ExpireTagsByTime(ctx_, WallClock{}.At(now)));
    for (const auto& name : expired) spdlog::info("tag '{}' of {} expired (tagTimeRetained)", name, ctx_->path());
  }
  return Status::OK();
}

}  // namespace kl::table
