#include "table/mergetree/bucket_writer.h"

#include <algorithm>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "table/data/binary_row.h"

namespace kl::table {

using format::ColumnBatch;
using format::Row;
using format::RowKind;

std::vector<DataFileMeta> CommitIncrement::AddCompaction(const std::vector<DataFileMeta>& before,
                                                         const std::vector<DataFileMeta>& after) {
  auto named = [](const std::vector<DataFileMeta>& files, const std::string& name) {
    return std::find_if(files.begin(), files.end(), [&](const DataFileMeta& f) { return f.file_name == name; });
  };
  std::vector<DataFileMeta> obsolete;
  for (const auto& f : before) {
    auto produced = named(compact_after, f.file_name);
    if (produced != compact_after.end()) {
      compact_after.erase(produced);
      // Still referenced when a committed file of that name is deleted (it was moved up a
      // level) or when this compaction moves it up again.
      if (named(compact_before, f.file_name) == compact_before.end() && named(after, f.file_name) == after.end())
        obsolete.push_back(f);
    } else if (named(compact_before, f.file_name) == compact_before.end()) {
      compact_before.push_back(f);
    }
  }
  compact_after.insert(compact_after.end(), after.begin(), after.end());
  return obsolete;
}

namespace {

constexpr size_t kReadChunkRows = 16384;
// A flush decodes its buffered records this many at a time (whole keys): the chunk is read
// again by the lookup, the data file's encoding and its statistics, so it should stay in the
// core's cache (2,048 of the warehouse's ~1 KB object rows: ~2 MB). Chunks of 16,384 made
// the initial load's flushes ~14 % dearer (pipeline_bench: DWD flush 0.85 CPU-s against 0.73).
constexpr size_t kFlushChunkRows = 2048;

// The table columns a write buffer orders records by: the trimmed key and the sequence fields.
std::vector<int> KeyLayoutColumns(const TableContext& ctx) {
  const TableSchema& schema = ctx.schema();
  std::vector<bool> in_layout(schema.fields.size(), false);
  for (int k : schema.TrimmedKeyIndexes()) in_layout[static_cast<size_t>(k)] = true;
  for (const auto& name : ctx.options().sequence_fields()) {
    int i = schema.fields.IndexOf(name);
    if (i >= 0) in_layout[static_cast<size_t>(i)] = true;
  }
  std::vector<int> columns;
  for (size_t i = 0; i < in_layout.size(); ++i) {
    if (in_layout[i]) columns.push_back(static_cast<int>(i));
  }
  return columns;
}

KeyComparator KeyLayoutComparator(const TableContext& ctx) {
  auto cmp = ctx.ComparatorFor(ctx.schema().fields.Project(KeyLayoutColumns(ctx)));
  return cmp.ok() ? *cmp : KeyComparator();
}

}  // namespace

// The changelog records of one chunk of a flush, written together when the chunk is done
// rather than one by one: records of the chunk are referred to by row, others (a key's
// stored record before, a merged view) are copied in as they come, since what they point
// into changes with the next key.
class ChunkChangelog {
 public:
  explicit ChunkChangelog(const format::RowType& type) : copied_(type), gathered_(type) {}

  void Add(const KvBatch& chunk, const KvRef* ref, const Row* row, RowKind kind, int64_t seq) {
    if (ref != nullptr && ref->batch == &chunk) {
      from_chunk_.push_back(1);
      rows_.push_back(ref->row);
    } else {
      from_chunk_.push_back(0);
      rows_.push_back(copied_.size());
      if (ref != nullptr) {
        copied_.values.AppendRowFrom(ref->batch->values, ref->row);
        copied_.seq.push_back(seq);
        copied_.kinds.push_back(kind);
      } else {
        copied_.AppendRow(*row, seq, kind);
      }
    }
    kinds_.push_back(kind);
    seqs_.push_back(seq);
  }

  // Whether the records collected are the chunk's records as they are: every one in its
  // order, each with its own kind and sequence number (each key of the chunk new).
  bool IsChunk(const KvBatch& chunk) const {
    if (!IsWholeChunk(chunk)) return false;
    for (size_t k = 0; k < rows_.size(); ++k) {
      if (kinds_[k] != chunk.kinds[k] || seqs_[k] != chunk.seq[k]) return false;
    }
    return true;
  }

  // Writes the records collected for `chunk` to `w` in the order they came, and forgets them.
  Status WriteTo(KvBatch* chunk, DataFileWriter* w) {
    const size_t n = rows_.size();
    if (n == 0) return Status::OK();
    const bool whole_chunk = IsWholeChunk(*chunk);
    Status s;
    if (whole_chunk) {
      // Every record of the chunk in its order (an initial load: each key new): the chunk's
      // columns go to the file as they are, with the changelog's kinds and sequence numbers.
      std::swap(chunk->seq, seqs_);
      std::swap(chunk->kinds, kinds_);
      s = w->AppendWholeBatch(chunk, /*give_up=*/true);  // the chunk is done with
      std::swap(chunk->seq, seqs_);
      std::swap(chunk->kinds, kinds_);
      // Its columns kept by the writer, what came back is the chunk's sequence numbers and
      // kinds over no values: empty it whole rather than leave it half.
      if (chunk->values.num_rows() == 0) chunk->Clear();
    } else {
      gathered_.Clear();
      std::vector<const format::Column*> sources(n);
      for (size_t c = 0; c < gathered_.values.num_columns(); ++c) {
        for (size_t k = 0; k < n; ++k)
          sources[k] = from_chunk_[k] ? &chunk->values.column(c) : &copied_.values.column(c);
        gathered_.values.mutable_column(c).AppendFromEach(sources.data(), rows_.data(), n);
      }
      gathered_.values.SetNumRows(n);
      gathered_.seq.swap(seqs_);
      gathered_.kinds.swap(kinds_);
      s = w->AppendWholeBatch(&gathered_, /*give_up=*/true);
    }
    Forget();
    return s;
  }

  void Forget() {
    from_chunk_.clear();
    rows_.clear();
    kinds_.clear();
    seqs_.clear();
    copied_.Clear();
  }

 private:
  // Every record of `chunk` in its order (any kinds and sequence numbers).
  bool IsWholeChunk(const KvBatch& chunk) const {
    const size_t n = rows_.size();
    bool whole = n == chunk.size();
    for (size_t k = 0; k < n && whole; ++k) whole = from_chunk_[k] && rows_[k] == k;
    return whole;
  }

  KvBatch copied_;    // records from outside the chunk
  KvBatch gathered_;  // the records in order, when not the chunk as it is
  std::vector<uint8_t> from_chunk_;
  std::vector<size_t> rows_;  // in the chunk or in copied_
  std::vector<RowKind> kinds_;
  std::vector<int64_t> seqs_;
};

namespace {

// Writes the picked records `rows` of `chunk` (in key order) to `w`: the chunk itself when
// every record was picked, else a copy of those rows. `chunk_done`: nothing reads the chunk
// after this, so the writer may keep its columns (see AppendWholeBatch).
Status WritePicked(KvBatch* chunk, const std::vector<size_t>& rows, KvBatch* scratch, DataFileWriter* w,
                   bool chunk_done) {
  if (rows.empty()) return Status::OK();
  bool whole_chunk = rows.size() == chunk->size();
  for (size_t k = 0; k < rows.size() && whole_chunk; ++k) whole_chunk = rows[k] == k;
  if (whole_chunk) return w->AppendWholeBatch(chunk, chunk_done);
  scratch->Clear();
  scratch->AppendGather(*chunk, rows.data(), rows.size());
  return w->AppendWholeBatch(scratch, /*give_up=*/true);
}

// The value statistics a key-value file written at `level` collects, by its stats mode.
void SetStatsMode(const TableOptions& options, int level, bool changelog, DataFileWriterOptions* out) {
  std::string mode = options.key_value_stats_mode(level, changelog);
  out->stats_truncate = TableOptions::StatsTruncateLength(mode);
  out->no_value_stats = mode == "none";
}

}  // namespace

BucketWriter::BucketWriter(std::shared_ptr<TableContext> ctx, std::string partition, int32_t bucket,
                           int32_t total_buckets, std::vector<DataFileMeta> existing_files,
                           std::map<std::string, DeletionFile> deletion_files)
    : ctx_(std::move(ctx)),
      partition_(std::move(partition)),
      bucket_(bucket),
      total_buckets_(total_buckets),
      levels_(ctx_->options().num_levels(), std::move(existing_files)),
      engine_(ctx_->options().merge_engine()),
      changelog_row_deduplicate_(ctx_->options().changelog_row_deduplicate()),
      buffer_(ctx_->schema().fields, KeyLayoutColumns(*ctx_), KeyLayoutComparator(*ctx_)),
      deletion_files_(std::move(deletion_files)) {
  for (const auto& f : levels_.AllFiles()) next_seq_ = std::max(next_seq_, f.max_sequence_number + 1);
  // The schema was validated when the table was created or opened.
  auto expire = RecordLevelExpire::Create(ctx_->schema());
  if (expire.ok()) expire_ = std::move(expire).value();
}

Status BucketWriter::WriteInOrder(DataFileWriter* w, const size_t* rows, size_t count) {
  KvBatch sorted(ctx_->schema().fields, /*merged_records=*/true);
  for (size_t start = 0; start < count; start += kReadChunkRows) {
    size_t n = std::min(kReadChunkRows, count - start);
    sorted.Clear();
    buffer_.Gather(rows + start, n, &sorted);
    KL_RETURN_IF_ERROR(w->AppendWholeBatch(&sorted, /*give_up=*/true));  // gathered anew each time
  }
  return Status::OK();
}

std::string BucketWriter::KeyOf(const KvBatch& batch, size_t row) const {
  const auto& keys = ctx_->comparator().key_indexes();
  BinaryRowWriter w(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) w.WriteFromColumn(i, batch.values.column(static_cast<size_t>(keys[i])), row);
  return w.data();
}

Status BucketWriter::Write(const ColumnBatch& rows, size_t row, RowKind kind) {
  buffer_.Append(rows, row, next_seq_++, kind);
  if (static_cast<int64_t>(buffered_bytes()) >= ctx_->options().write_buffer_size()) return Flush();
  return Status::OK();
}

Status BucketWriter::WriteRange(const ColumnBatch& rows, size_t begin, size_t end, const std::vector<RowKind>* kinds) {
  // Slices bound how far the buffer may pass write-buffer-size before it flushes.
  constexpr size_t kSliceRows = 1024;
  const int64_t limit = ctx_->options().write_buffer_size();
  while (begin < end) {
    size_t n = std::min(kSliceRows, end - begin);
    buffer_.AppendRange(rows, begin, begin + n, next_seq_, kinds);
    next_seq_ += static_cast<int64_t>(n);
    begin += n;
    if (static_cast<int64_t>(buffered_bytes()) >= limit) KL_RETURN_IF_ERROR(Flush());
  }
  return Status::OK();
}

Status BucketWriter::EnsureLookupState() {
  if (lookup_) return Status::OK();
  // Picking engines never read a stored retraction's values: only its key and its place in
  // the merge order (sequence fields) count.
  std::vector<int> retraction_columns;
  if (engine_ == MergeEngine::kDeduplicate || engine_ == MergeEngine::kFirstRow) {
    retraction_columns = ctx_->comparator().key_indexes();
    for (int s : ctx_->comparator().sequence_indexes()) retraction_columns.push_back(s);
  }
  // Keys are KeyOf's BinaryRow of the key columns: records leave those columns out.
  auto state = std::make_unique<LookupState>(ctx_->schema().fields, std::move(retraction_columns),
                                             ctx_->comparator().key_indexes());
  std::vector<std::unique_ptr<RunCursor>> cursors;
  KL_ASSIGN_OR_RETURN(FileOpener opener, Opener());
  std::vector<SortedRun> runs = SortedRunsOf(levels_.AllFiles(), ctx_->key_types());
  const size_t chunk_rows = RunChunkRows(runs.size());
  for (auto& run : runs) cursors.push_back(std::make_unique<RunCursor>(std::move(run), opener, chunk_rows));
  // The state keeps each key's stored form (tombstones and carried
  // retractions too): later merges need it, and views derive from it.
  KL_ASSIGN_OR_RETURN(auto merge, CreateMergeFunction(ctx_->schema(), ctx_->schema().fields, MergeMode::kStore));
  MergeReader reader(std::move(cursors), ctx_->comparator(), std::move(merge), /*drop_retracts=*/false);
  KL_RETURN_IF_ERROR(reader.Init());
  while (true) {
    KvBatch chunk(ctx_->schema().fields);
    KL_ASSIGN_OR_RETURN(size_t n, reader.Next(kReadChunkRows, &chunk));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) state->Put(KeyOf(chunk, i), chunk, i);
  }
  lookup_ = std::move(state);
  return Status::OK();
}

std::optional<Row> BucketWriter::View(const KvRef& stored, MergeFunction* view_merge) const {
  view_merge->Reset();
  if (!view_merge->Add(stored).ok()) return std::nullopt;
  MergeResult r;
  if (!view_merge->GetResult(&r).ok() || !r.present || r.is_retract()) return std::nullopt;
  return r.by_ref ? r.ref.batch->values.GetRow(r.ref.row) : std::move(r.row);
}

Status BucketWriter::ApplyLookup(const std::string& key, const KvBatch& records, size_t begin, size_t end,
                                 MergeFunction* store_merge, MergeFunction* view_merge, ChunkChangelog* changelog) {
  const KeyComparator& cmp = ctx_->comparator();
  KL_ASSIGN_OR_RETURN(std::optional<KvRef> old, lookup_->Get(key));
  ++work_.lookups;
  if (old) ++work_.lookup_hits;
  std::vector<KvRef>& group = lookup_group_;
  group.clear();
  if (old) group.push_back(*old);
  int64_t seq = 0;
  for (size_t i = begin; i < end; ++i) {
    group.push_back(KvRef{&records, i});
    seq = std::max(seq, records.seq[i]);
  }
  // (Most keys have one record: no sort, whose buffer would be allocated even then.)
  if (group.size() > 1) {
    std::stable_sort(group.begin(), group.end(),
                     [&](const KvRef& a, const KvRef& b) { return cmp.CompareSequence(a, b) < 0; });
  }
  store_merge->Reset();
  for (const auto& r : group) KL_RETURN_IF_ERROR(store_merge->Add(r));
  MergeResult stored;
  KL_RETURN_IF_ERROR(store_merge->GetResult(&stored));

  // What the key looked like before and after, as readers see it.
  bool unchanged = stored.by_ref && old && stored.ref.batch == old->batch && stored.ref.row == old->row;
  std::optional<KvRef> now;
  if (unchanged) {
    now = old;
  } else if (stored.present) {
    now = stored.by_ref ? lookup_->Put(key, *stored.ref.batch, stored.ref.row)
                        : lookup_->PutMerged(key, stored.row, stored.seq, stored.kind);
  }
  if (store_merge->picks_input()) {
    // Picking engines: the view of a stored record is the record itself
    // unless it is a retraction, so changelog rows are copied column by column.
    std::optional<KvRef> before, after;
    if (old && !format::IsRetract(old->kind())) before = old;
    if (now && !format::IsRetract(now->kind())) after = now;
    Status s = EmitChange(records, before ? &*before : nullptr, nullptr, after ? &*after : nullptr, nullptr, unchanged,
                          seq, engine_, changelog);
    if (!now) lookup_->Erase(key);
    return s;
  }
  std::optional<Row> before_row = old ? View(*old, view_merge) : std::nullopt;
  std::optional<Row> after_row = now ? View(*now, view_merge) : std::nullopt;
  if (!now) lookup_->Erase(key);
  return EmitChange(records, nullptr, before_row ? &*before_row : nullptr, nullptr, after_row ? &*after_row : nullptr,
                    unchanged, seq, engine_, changelog);
}

Status BucketWriter::EmitChange(const KvBatch& chunk, const KvRef* before, const Row* before_row, const KvRef* after,
                                const Row* after_row, bool unchanged, int64_t seq, MergeEngine engine,
                                ChunkChangelog* changelog) {
  bool had = before != nullptr || before_row != nullptr;
  bool has = after != nullptr || after_row != nullptr;
  auto emit = [&](const KvRef* ref, const Row* row, RowKind kind) -> Status {
    // Changelog records carry the flush's newest sequence number, so changelog
    // files of successive flushes stay in order.
    changelog->Add(chunk, ref, row, kind, seq);
    return Status::OK();
  };
  if (!had && has) return emit(after, after_row, RowKind::kInsert);
  if (engine == MergeEngine::kFirstRow) return Status::OK();
  if (had && !has) return emit(before, before_row, RowKind::kDelete);
  if (had && has && !unchanged) {
    if (changelog_row_deduplicate_) {
      Row b = before != nullptr ? before->batch->values.GetRow(before->row) : *before_row;
      Row a = after != nullptr ? after->batch->values.GetRow(after->row) : *after_row;
      if (format::CompareRows(b, a) == 0) return Status::OK();
    }
    KL_RETURN_IF_ERROR(emit(before, before_row, RowKind::kUpdateBefore));
    return emit(after, after_row, RowKind::kUpdateAfter);
  }
  return Status::OK();
}

Status BucketWriter::Flush() {
  Status s = FlushBuffer();
  if (!s.ok() && lookup_) {
    lookup_.reset();
    taken_block_reads_ = 0;
  }
  return s;
}

Status BucketWriter::FlushBuffer() {
  if (buffer_.size() == 0) return Status::OK();
  ++work_.flushes;
  work_.flushed_records += static_cast<int64_t>(buffer_.size());
  std::vector<size_t> order;
  std::vector<uint8_t> same_key;
  buffer_.Sort(&order, &same_key);
  const KvBatch& keys = buffer_.keys();

  ChangelogProducer producer = ctx_->options().changelog_producer();
  bool lookup = producer == ChangelogProducer::kLookup;
  if (lookup) {
    KL_RETURN_IF_ERROR(EnsureLookupState());
    // Shrinking moves rows, so it happens here, before any reference into the state is taken.
    KL_RETURN_IF_ERROR(lookup_->MaybeShrink());
  }

  // Picking engines (deduplicate, first-row) decide on keys and sequence
  // numbers alone; combining engines merge full rows of each key.
  const format::RowType& full = ctx_->schema().fields;
  if (!merge_) {
    bool picking = engine_ == MergeEngine::kDeduplicate || engine_ == MergeEngine::kFirstRow;
    const format::RowType& layout = picking ? keys.values.schema() : full;
    KL_ASSIGN_OR_RETURN(merge_, CreateMergeFunction(ctx_->schema(), layout, MergeMode::kStore));
  }
  bool picks = merge_->picks_input();
  // With the lookup producer, a picking merge's records are written from the decoded chunk
  // (the chunk's rows picked, in order) and the chunk's changelog records together, once
  // the chunk is done: the buffer is decoded once.
  const bool picks_from_chunk = picks && lookup;

  KL_ASSIGN_OR_RETURN(const FileFormat* fmt, ctx_->WriteFormat(/*level=*/0));
  DataFileWriterOptions data_opts;
  data_opts.target_file_size = ctx_->options().target_file_size(true);
  SetStatsMode(ctx_->options(), /*level=*/0, /*changelog=*/false, &data_opts);
  DataFileWriterOptions cl_opts = data_opts;
  cl_opts.prefix = "changelog-";
  SetStatsMode(ctx_->options(), /*level=*/0, /*changelog=*/true, &cl_opts);
  cl_opts.keep_rows = true;  // followers in this process read it next
  // A lookup changelog of only new keys (an initial load) is +I of exactly the data file's
  // records, in its order: when changelog files are written like level-0 files, it is a
  // copy of the data file's bytes rather than the same rows encoded again. Each chunk
  // checks that it is so (`copying` ends at the first that is not: the changelog then
  // catches up with the records written so far and goes on as usual).
  bool copying = picks_from_chunk && cl_opts.stats_truncate == data_opts.stats_truncate &&
                 cl_opts.no_value_stats == data_opts.no_value_stats && ctx_->ChangelogWritesLike(/*level=*/0);
  for (size_t i = 0; i < order.size() && copying; ++i)
    copying = !same_key[i] && keys.kinds[order[i]] == RowKind::kInsert;
  if (copying) {
    data_opts.twin_prefix = cl_opts.prefix;
    data_opts.twin_keep_rows = cl_opts.keep_rows;
    data_opts.twin_sync = ctx_->options().data_file_sync();
  }
  DataFileWriter data(ctx_->schema(), fmt, &ctx_->paths(), partition_, bucket_, data_opts);
  std::unique_ptr<DataFileWriter> changelog;
  if (producer == ChangelogProducer::kInput || lookup) {
    KL_ASSIGN_OR_RETURN(const FileFormat* cl_fmt, ctx_->ChangelogWriteFormat());
    changelog = std::make_unique<DataFileWriter>(ctx_->schema(), cl_fmt, &ctx_->paths(), partition_, bucket_, cl_opts);
  }
  std::unique_ptr<MergeFunction> store_merge, view_merge;
  if (lookup) {
    KL_ASSIGN_OR_RETURN(store_merge, CreateMergeFunction(ctx_->schema(), full, MergeMode::kStore));
    KL_ASSIGN_OR_RETURN(view_merge, CreateMergeFunction(ctx_->schema(), full, MergeMode::kView));
  }
  AbortOnExit abort_on_failure({&data, changelog.get()});
  std::vector<size_t> picked;
  if (picks) picked.reserve(order.size());
  MergeResult result;
  // Combining merges and the lookup producer need the keys' full records: they
  // are decoded a chunk of whole keys at a time, positions [chunk_begin, chunk_end) of `order`.
  const bool need_records = !picks || lookup;
  KvBatch chunk(full, /*merged_records=*/false);
  size_t chunk_begin = 0, chunk_end = 0;
  std::vector<size_t> chunk_picked;
  KvBatch picked_rows(full);
  std::unique_ptr<ChunkChangelog> chunk_changes;
  if (lookup) chunk_changes = std::make_unique<ChunkChangelog>(full);
  // The lookup's keys of the chunk, one per key in order, made when it is decoded: the state
  // fetches each one's slot kPrefetchKeys keys before its look-up.
  constexpr size_t kPrefetchKeys = 8;
  std::vector<std::string> chunk_keys;
  size_t next_key = 0;
  auto finish_chunk = [&]() -> Status {
    // The copies go on while the chunk's records as they are make both the data file and the
    // changelog; they stop before the data of a chunk that does not (whose rows the data file
    // would keep for them).
    bool copy_chunk = false;
    if (copying) {
      copy_chunk = chunk_picked.size() == chunk.size() && chunk_changes->IsChunk(chunk);
      for (size_t k = 0; k < chunk_picked.size() && copy_chunk; ++k) copy_chunk = chunk_picked[k] == k;
      if (!copy_chunk) {
        copying = false;
        data.DropTwins();
        // The changelog so far is the data file so far: the buffered records before this chunk.
        KL_RETURN_IF_ERROR(WriteInOrder(changelog.get(), order.data(), chunk_begin));
      }
    }
    if (picks_from_chunk) {
      // A copied chunk is the changelog too: nothing reads it after the data file.
      KL_RETURN_IF_ERROR(WritePicked(&chunk, chunk_picked, &picked_rows, &data, /*chunk_done=*/copy_chunk));
      chunk_picked.clear();
    }
    if (!lookup) return Status::OK();
    if (copy_chunk) {
      chunk_changes->Forget();
      return Status::OK();
    }
    return chunk_changes->WriteTo(&chunk, changelog.get());
  };
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin + 1;
    while (end < order.size() && same_key[end]) ++end;
    if (need_records && end > chunk_end) {
      KL_RETURN_IF_ERROR(finish_chunk());
      chunk_begin = begin;
      chunk_end = std::max(end, std::min(order.size(), begin + kFlushChunkRows));
      while (chunk_end < order.size() && same_key[chunk_end]) ++chunk_end;
      chunk.Clear();
      buffer_.Gather(order.data() + chunk_begin, chunk_end - chunk_begin, &chunk);
      if (lookup) {
        chunk_keys.clear();
        next_key = 0;
        for (size_t i = chunk_begin; i < chunk_end; ++i) {
          if (i == chunk_begin || !same_key[i]) chunk_keys.push_back(KeyOf(chunk, i - chunk_begin));
        }
        for (size_t k = 0; k < kPrefetchKeys && k < chunk_keys.size(); ++k) lookup_->Prefetch(chunk_keys[k]);
      }
    }
    const size_t first = begin - chunk_begin, last = end - chunk_begin;  // the key's records in `chunk`
    merge_->Reset();
    Status s;
    for (size_t i = begin; i < end && s.ok(); ++i) {
      s = picks ? merge_->Add(KvRef{&keys, order[i]}) : merge_->Add(KvRef{&chunk, i - chunk_begin});
    }
    if (s.ok()) s = merge_->GetResult(&result);
    if (s.ok() && result.present) {
      if (picks_from_chunk) {
        size_t i = begin;
        while (i < end && order[i] != result.ref.row) ++i;
        if (i == end) return Status::Internal("merge picked a record that is not one of the key's buffered records");
        chunk_picked.push_back(i - chunk_begin);
      } else if (picks)
        picked.push_back(result.ref.row);
      else
        s = data.AppendMerged(result.row, result.seq, result.kind);
    }
    if (s.ok() && lookup) {
      if (next_key >= chunk_keys.size()) return Status::Internal("flush: a key beyond its chunk's keys");
      if (next_key + kPrefetchKeys < chunk_keys.size()) lookup_->Prefetch(chunk_keys[next_key + kPrefetchKeys]);
      s = ApplyLookup(chunk_keys[next_key++], chunk, first, last, store_merge.get(), view_merge.get(),
                      chunk_changes.get());
    }
    KL_RETURN_IF_ERROR(s);
    begin = end;
  }
  KL_RETURN_IF_ERROR(finish_chunk());
  if (picks && !picks_from_chunk) KL_RETURN_IF_ERROR(WriteInOrder(&data, picked.data(), picked.size()));
  if (producer == ChangelogProducer::kInput)
    KL_RETURN_IF_ERROR(WriteInOrder(changelog.get(), order.data(), order.size()));
  // Every fallible step comes before Release() and before levels_/pending_ change: a failed
  // close then leaves no files behind and the bucket as it was, so a retry of the flush sees
  // its keys as new again (and emits their changelog).
  KL_ASSIGN_OR_RETURN(std::vector<DataFileMeta> files, data.Close());
  std::vector<DataFileMeta> copies = data.TakeTwins();
  std::vector<DataFileMeta> cl_files;
  if (changelog) {
    KL_ASSIGN_OR_RETURN(cl_files, changelog->Close());
  }
  abort_on_failure.Release();
  for (auto& f : files) {
    levels_.AddLevel0(f);
    pending_.new_files.push_back(f);
  }
  for (auto& f : cl_files) pending_.changelog_files.push_back(std::move(f));
  work_.changelog_copies += static_cast<int64_t>(copies.size());
  for (auto& f : copies) pending_.changelog_files.push_back(std::move(f));
  buffer_.Clear();
  return Status::OK();
}

Status BucketWriter::RunCompaction(const CompactUnit& unit, std::optional<int64_t> expire_now_seconds) {
  if (unit.files.empty()) return Status::OK();
  // Expired records go only where the unit holds every file of the bucket: each merged record is
  // then its key's only one, and the lookup state (the merge of all the files) forgets it too.
  if (expire_now_seconds && (!expire_ || unit.files.size() != levels_.AllFiles().size())) expire_now_seconds.reset();
  // At the bottom (nothing older below the output) a delete has nothing left
  // to hide and can go — but only where a retraction means nothing else: not
  // with a sequence field (a later write may sort before the delete), not
  // with partial-update sequence groups (retractions carry group order), and
  // not for aggregation (a stored retraction still subtracts, and first_value
  // must tell "no value yet" from null).
  const TableOptions& table_opts = ctx_->options();
  bool bottom = unit.output_level != 0 && unit.output_level >= levels_.NonEmptyHighestLevel();
  bool retraction_is_plain_delete = table_opts.sequence_fields().empty() && !HasSequenceGroups(ctx_->schema()) &&
                                    table_opts.merge_engine() != MergeEngine::kAggregation;
  bool drop_delete = bottom && retraction_is_plain_delete;
  // A single file moves up a level without a rewrite, unless deletes must be dropped from it
  // or the levels are written with different compressions (file.compression.per.level).
  if (unit.files.size() == 1 && !expire_now_seconds) {
    const DataFileMeta& f = unit.files[0];
    if (f.level == unit.output_level) return Status::OK();
    // (A table this build cannot write keeps relabelling: moving a file needs no writer.)
    auto from_fmt = ctx_->WriteFormat(f.level);
    auto to_fmt = ctx_->WriteFormat(unit.output_level);
    bool same_format = !from_fmt.ok() || !to_fmt.ok() || *from_fmt == *to_fmt;
    if ((!drop_delete || f.delete_row_count.value_or(1) == 0) && same_format) {
      DataFileMeta upgraded = f;
      upgraded.level = unit.output_level;
      levels_.Update({f}, {upgraded});
      pending_.AddCompaction({f}, {upgraded});
      return Status::OK();
    }
  }
  ++work_.compactions;
  for (const auto& f : unit.files) {
    work_.compacted_rows += f.row_count;
    work_.compacted_bytes += f.file_size;
  }
  KL_ASSIGN_OR_RETURN(FileOpener opener, Opener());
  std::vector<std::unique_ptr<RunCursor>> cursors;
  const size_t chunk_rows = RunChunkRows(unit.runs.size());
  for (const auto& run : unit.runs) cursors.push_back(std::make_unique<RunCursor>(SortedRun{run}, opener, chunk_rows));
  KL_ASSIGN_OR_RETURN(auto merge, CreateMergeFunction(ctx_->schema(), ctx_->schema().fields, MergeMode::kStore));
  MergeReader reader(std::move(cursors), ctx_->comparator(), std::move(merge), drop_delete);
  KL_RETURN_IF_ERROR(reader.Init());
  KL_ASSIGN_OR_RETURN(const FileFormat* fmt, ctx_->WriteFormat(unit.output_level));
  DataFileWriterOptions opts;
  opts.level = unit.output_level;
  opts.source = FileSource::kCompact;
  opts.target_file_size = ctx_->options().target_file_size(true);
  SetStatsMode(ctx_->options(), unit.output_level, /*changelog=*/false, &opts);
  DataFileWriter writer(ctx_->schema(), fmt, &ctx_->paths(), partition_, bucket_, opts);
  AbortOnExit abort_on_failure({&writer});
  KvBatch chunk(ctx_->schema().fields);  // reused: its buffers cycle between reader and writer
  KvBatch kept(ctx_->schema().fields);
  std::vector<size_t> kept_rows;
  std::vector<std::string> expired_keys;  // forgotten by the lookup state once the files are written
  while (true) {
    chunk.Clear();
    KL_ASSIGN_OR_RETURN(size_t n, reader.Next(kReadChunkRows, &chunk));
    if (n == 0) break;
    if (expire_now_seconds) {
      const format::Column& time = chunk.values.column(static_cast<size_t>(expire_->time_field()));
      kept_rows.clear();
      for (size_t i = 0; i < n; ++i) {
        if (!expire_->Expired(time, i, *expire_now_seconds))
          kept_rows.push_back(i);
        else if (lookup_)
          expired_keys.push_back(KeyOf(chunk, i));
      }
      if (kept_rows.size() < n) {
        kept.Clear();
        kept.AppendGather(chunk, kept_rows.data(), kept_rows.size());
        if (kept.size() > 0) KL_RETURN_IF_ERROR(writer.AppendWholeBatch(&kept));
        continue;
      }
    }
    KL_RETURN_IF_ERROR(writer.AppendWholeBatch(&chunk));
  }
  KL_ASSIGN_OR_RETURN(std::vector<DataFileMeta> after, writer.Close());
  abort_on_failure.Release();
  for (const auto& key : expired_keys) lookup_->Erase(key);
  levels_.Update(unit.files, after);
  for (const auto& f : pending_.AddCompaction(unit.files, after))
    (void)RemoveFile(ctx_->paths().DataFilePath(partition_, bucket_, f));  // else orphan cleanup takes it
  return Status::OK();
}

Result<FileOpener> BucketWriter::Opener() {
  if (!read_extras_) {
    KL_ASSIGN_OR_RETURN(read_extras_, LoadDeletionVectors(deletion_files_));
  }
  return ctx_->OpenerFor(partition_, bucket_, ctx_->schema().fields, read_extras_);
}

Status BucketWriter::Compact(bool full) {
  std::vector<Levels::Run> runs = levels_.Runs();
  UniversalCompactionOptions universal = UniversalCompactionOptions::From(ctx_->options());
  std::optional<CompactUnit> unit;
  if (full)
    unit = PickFullCompaction(levels_.num_levels(), runs);
  else if (ctx_->options().batch_scan_skips_level0())
    unit = PickForceUpLevel0Compaction(universal, levels_.num_levels(), runs);
  else if (const int batch = ctx_->options().compaction_level0_file_num(); batch <= 1)
    unit = PickUniversalCompaction(universal, levels_.num_levels(), runs);
  else if (levels_.level0().size() >= static_cast<size_t>(batch))
    unit = PickLevel0BatchCompaction(universal, levels_.num_levels(), runs);
  if (full && expire_) {
    // A full compaction drops expired records, even of a bucket already in one run.
    next_expiry_check_millis_ = NowMillis() + expire_->check_interval_millis();
    if (!unit && !levels_.AllFiles().empty()) unit = WholeBucketUnit();
    if (unit) return RunCompaction(*unit, NowMillis() / 1000);
  }
  if (!unit) return Status::OK();
  return RunCompaction(*unit);
}

size_t BucketWriter::sorted_runs() const {
  size_t runs = levels_.level0().size();
  for (int i = 1; i < levels_.num_levels(); ++i) runs += levels_.level(i).empty() ? 0 : 1;
  return runs;
}

BucketWork BucketWriter::TakeWork() {
  if (lookup_) {
    work_.lookup_block_reads = static_cast<int64_t>(lookup_->block_reads()) - taken_block_reads_;
    taken_block_reads_ = static_cast<int64_t>(lookup_->block_reads());
  }
  BucketWork out = work_;
  work_ = BucketWork();
  return out;
}

Status BucketWriter::MaybeExpireRecords() {
  if (!expire_) return Status::OK();
  const int64_t now = NowMillis();
  if (now < next_expiry_check_millis_) return Status::OK();
  next_expiry_check_millis_ = now + expire_->check_interval_millis();
  const int64_t now_seconds = now / 1000;
  bool any = false;
  for (const auto& f : levels_.AllFiles()) any = any || expire_->FileMayHoldExpired(f, now_seconds);
  if (!any) return Status::OK();
  return RunCompaction(WholeBucketUnit(), now_seconds);
}

CompactUnit BucketWriter::WholeBucketUnit() const {
  CompactUnit unit{levels_.max_level(), levels_.AllFiles(), {}};
  for (const auto& run : levels_.Runs()) unit.runs.push_back(run.files);
  return unit;
}

Result<CommitIncrement> BucketWriter::PrepareCommit(bool compact) {
  KL_RETURN_IF_ERROR(Flush());
  // The buffer keeps the memory its records took since the last commit, for the next
  // intervals'; a writer gone quiet gives it back after a few commits (RowArena::kReleaseWindow).
  buffer_.ReleaseMemory();
  if (compact && !ctx_->options().write_only()) {
    KL_RETURN_IF_ERROR(MaybeExpireRecords());
    KL_RETURN_IF_ERROR(Compact(false));
  }
  CommitIncrement out = std::move(pending_);
  pending_ = CommitIncrement();
  out.partition = partition_;
  out.bucket = bucket_;
  out.total_buckets = total_buckets_;
  return out;
}

}  // namespace kl::table
