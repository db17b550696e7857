#include "table/bucket_writer.h"

#include <algorithm>
#include <numeric>

#include "table/binary_row.h"

namespace kl::table {

using format::ColumnBatch;
using format::Row;
using format::RowKind;

namespace {
constexpr size_t kReadChunkRows = 16384;
}  // namespace

std::optional<KvRef> LookupState::Get(const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return KvRef{&store_, it->second};
}

void LookupState::Put(const std::string& key, const KvBatch& batch, size_t row) {
  store_.Append(batch, row);
  index_[key] = store_.size() - 1;
  MaybeShrink();
}

void LookupState::PutMerged(const std::string& key, const Row& values, int64_t seq, RowKind kind) {
  store_.AppendRow(values, seq, kind);
  index_[key] = store_.size() - 1;
  MaybeShrink();
}

void LookupState::Erase(const std::string& key) { index_.erase(key); }

void LookupState::MaybeShrink() {
  // Replaced values stay in the store until garbage outweighs live rows.
  if (store_.size() < 4096 || store_.size() < 2 * index_.size()) return;
  KvBatch fresh(store_.values.schema());
  std::vector<std::pair<size_t, const std::string*>> live;
  live.reserve(index_.size());
  for (auto& [k, row] : index_) live.emplace_back(row, &k);
  std::sort(live.begin(), live.end());
  for (auto& [row, key] : live) {
    fresh.Append(store_, row);
    index_[*key] = fresh.size() - 1;
  }
  store_ = std::move(fresh);
}

BucketWriter::BucketWriter(std::shared_ptr<TableContext> ctx, std::string partition, int32_t bucket,
                           int32_t total_buckets, std::vector<DataFileMeta> existing_files)
    : ctx_(std::move(ctx)),
      partition_(std::move(partition)),
      bucket_(bucket),
      total_buckets_(total_buckets),
      levels_(ctx_->options().num_levels(), std::move(existing_files)),
      buffer_(ctx_->schema().fields, /*merged_records=*/false) {
  for (const auto& f : levels_.AllFiles()) next_seq_ = std::max(next_seq_, f.max_sequence_number + 1);
}

std::string BucketWriter::KeyOf(const KvBatch& batch, size_t row) const {
  const auto& keys = ctx_->comparator().key_indexes();
  BinaryRowWriter w(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) w.WriteFromColumn(i, batch.values.column(static_cast<size_t>(keys[i])), row);
  return w.data();
}

Status BucketWriter::Write(const ColumnBatch& rows, size_t row, RowKind kind) {
  buffer_.values.AppendRowFrom(rows, row);
  buffer_.seq.push_back(next_seq_++);
  buffer_.kinds.push_back(kind);
  if (static_cast<int64_t>(buffer_.values.MemoryBytes()) >= ctx_->options().write_buffer_size()) return Flush();
  return Status::OK();
}

Status BucketWriter::EnsureLookupState() {
  if (lookup_) return Status::OK();
  auto state = std::make_unique<LookupState>(ctx_->schema().fields);
  std::vector<std::unique_ptr<RunCursor>> cursors;
  FileOpener opener = ctx_->OpenerFor(partition_, bucket_, ctx_->schema().fields);
  for (auto& run : SortedRunsOf(levels_.AllFiles(), ctx_->key_types())) {
    cursors.push_back(std::make_unique<RunCursor>(std::move(run), opener, kReadChunkRows));
  }
  KL_ASSIGN_OR_RETURN(auto merge, CreateMergeFunction(ctx_->schema(), ctx_->schema().fields));
  MergeReader reader(std::move(cursors), ctx_->comparator(), std::move(merge), /*drop_retracts=*/true);
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

Status BucketWriter::Flush() {
  if (buffer_.size() == 0) return Status::OK();
  if (!merge_) {
    KL_ASSIGN_OR_RETURN(merge_, CreateMergeFunction(ctx_->schema(), ctx_->schema().fields));
  }
  const KeyComparator& cmp = ctx_->comparator();
  std::vector<size_t> order(buffer_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return cmp.Compare(KvRef{&buffer_, a}, KvRef{&buffer_, b}) < 0;
  });

  ChangelogProducer producer = ctx_->options().changelog_producer();
  bool lookup = producer == ChangelogProducer::kLookup;
  if (lookup) KL_RETURN_IF_ERROR(EnsureLookupState());
  bool first_row = ctx_->options().merge_engine() == MergeEngine::kFirstRow;
  bool row_dedup = ctx_->options().changelog_row_deduplicate();

  KL_ASSIGN_OR_RETURN(const FileFormat* fmt, ctx_->WriteFormat());
  DataFileWriterOptions data_opts;
  data_opts.target_file_size = ctx_->options().target_file_size(true);
  data_opts.stats_truncate = ctx_->options().stats_truncate_length();
  DataFileWriter data(ctx_->schema(), fmt, &ctx_->paths(), partition_, bucket_, data_opts);
  std::unique_ptr<DataFileWriter> changelog;
  if (producer == ChangelogProducer::kInput || lookup) {
    DataFileWriterOptions cl_opts = data_opts;
    cl_opts.prefix = "changelog-";
    changelog = std::make_unique<DataFileWriter>(ctx_->schema(), fmt, &ctx_->paths(), partition_,
                                                 bucket_, cl_opts);
  }
  std::unique_ptr<MergeFunction> lookup_merge;
  if (lookup) {
    KL_ASSIGN_OR_RETURN(lookup_merge, CreateMergeFunction(ctx_->schema(), ctx_->schema().fields));
  }

  auto fail = [&](const Status& s) {
    data.Abort();
    if (changelog) changelog->Abort();
    return s;
  };

  MergeResult result;
  MergeResult merged_view;
  std::vector<KvRef> group;
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin + 1;
    while (end < order.size() && cmp.CompareKey(KvRef{&buffer_, order[begin]}, KvRef{&buffer_, order[end]}) == 0) ++end;
    merge_->Reset();
    for (size_t i = begin; i < end; ++i) {
      Status s = merge_->Add(KvRef{&buffer_, order[i]});
      if (!s.ok()) return fail(s);
    }
    Status s = merge_->GetResult(&result);
    if (!s.ok()) return fail(s);
    if (result.present) {
      s = result.by_ref ? data.Append(*result.ref.batch, result.ref.row)
                        : data.AppendMerged(result.row, result.seq, result.kind);
      if (!s.ok()) return fail(s);
    }
    if (producer == ChangelogProducer::kInput) {
      for (size_t i = begin; i < end; ++i) {
        s = changelog->Append(buffer_, order[i]);
        if (!s.ok()) return fail(s);
      }
    }
    if (lookup) {
      std::string key = KeyOf(buffer_, order[begin]);
      std::optional<KvRef> old = lookup_->Get(key);
      group.clear();
      if (old) group.push_back(*old);
      for (size_t i = begin; i < end; ++i) group.push_back(KvRef{&buffer_, order[i]});
      std::stable_sort(group.begin(), group.end(),
                       [&](const KvRef& a, const KvRef& b) { return cmp.CompareSequence(a, b) < 0; });
      lookup_merge->Reset();
      for (const auto& r : group) {
        s = lookup_merge->Add(r);
        if (!s.ok()) return fail(s);
      }
      s = lookup_merge->GetResult(&merged_view);
      if (!s.ok()) return fail(s);
      bool now = merged_view.present && !merged_view.is_retract();
      bool unchanged = merged_view.by_ref && old && merged_view.ref.batch == old->batch && merged_view.ref.row == old->row;
      auto emit_new = [&](RowKind kind) -> Status {
        if (merged_view.by_ref) {
          const KvBatch& b = *merged_view.ref.batch;
          Row values = b.values.GetRow(merged_view.ref.row);
          return changelog->AppendMerged(values, merged_view.seq, kind);
        }
        return changelog->AppendMerged(merged_view.row, merged_view.seq, kind);
      };
      auto emit_old = [&](RowKind kind) -> Status {
        return changelog->AppendMerged(old->batch->values.GetRow(old->row), old->seq(), kind);
      };
      if (!old && now) {
        s = emit_new(RowKind::kInsert);
      } else if (old && !now) {
        s = emit_old(RowKind::kDelete);
      } else if (old && now && !first_row && !unchanged) {
        bool equal = false;
        if (row_dedup) {
          Row before = old->batch->values.GetRow(old->row);
          Row after = merged_view.by_ref ? merged_view.ref.batch->values.GetRow(merged_view.ref.row) : merged_view.row;
          equal = format::CompareRows(before, after) == 0;
        }
        if (!equal) {
          s = emit_old(RowKind::kUpdateBefore);
          if (s.ok()) s = emit_new(RowKind::kUpdateAfter);
        }
      } else if (old && now && !first_row && unchanged && !row_dedup) {
        // A newer input lost to the current value (older sequence): the value is unchanged.
      }
      if (!s.ok()) return fail(s);
      if (!now) {
        lookup_->Erase(key);
      } else if (!unchanged) {
        if (merged_view.by_ref) lookup_->Put(key, *merged_view.ref.batch, merged_view.ref.row);
        else lookup_->PutMerged(key, merged_view.row, merged_view.seq, RowKind::kInsert);
      }
    }
    begin = end;
  }
  auto files = data.Close();
  if (!files.ok()) return fail(files.status());
  for (auto& f : *files) {
    levels_.AddLevel0(f);
    pending_.new_files.push_back(f);
  }
  if (changelog) {
    auto cl_files = changelog->Close();
    if (!cl_files.ok()) return cl_files.status();
    for (auto& f : *cl_files) pending_.changelog_files.push_back(std::move(f));
  }
  buffer_.Clear();
  return Status::OK();
}

Status BucketWriter::RunCompaction(const CompactUnit& unit, bool drop_delete) {
  if (unit.files.empty()) return Status::OK();
  // A single file moves up a level without a rewrite, unless deletes must be dropped from it.
  if (unit.files.size() == 1) {
    const DataFileMeta& f = unit.files[0];
    if (f.level == unit.output_level) return Status::OK();
    if (!drop_delete || f.delete_row_count.value_or(1) == 0) {
      DataFileMeta upgraded = f;
      upgraded.level = unit.output_level;
      levels_.Update({f}, {upgraded});
      pending_.compact_before.push_back(f);
      pending_.compact_after.push_back(upgraded);
      return Status::OK();
    }
  }
  FileOpener opener = ctx_->OpenerFor(partition_, bucket_, ctx_->schema().fields);
  std::vector<std::unique_ptr<RunCursor>> cursors;
  for (const auto& run : unit.runs) cursors.push_back(std::make_unique<RunCursor>(SortedRun{run}, opener, kReadChunkRows));
  KL_ASSIGN_OR_RETURN(auto merge, CreateMergeFunction(ctx_->schema(), ctx_->schema().fields));
  MergeReader reader(std::move(cursors), ctx_->comparator(), std::move(merge), drop_delete);
  KL_RETURN_IF_ERROR(reader.Init());
  KL_ASSIGN_OR_RETURN(const FileFormat* fmt, ctx_->WriteFormat());
  DataFileWriterOptions opts;
  opts.level = unit.output_level;
  opts.source = FileSource::kCompact;
  opts.target_file_size = ctx_->options().target_file_size(true);
  opts.stats_truncate = ctx_->options().stats_truncate_length();
  DataFileWriter writer(ctx_->schema(), fmt, &ctx_->paths(), partition_, bucket_, opts);
  while (true) {
    KvBatch chunk(ctx_->schema().fields);
    auto n = reader.Next(kReadChunkRows, &chunk);
    if (!n.ok()) {
      writer.Abort();
      return n.status();
    }
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      Status s = writer.Append(chunk, i);
      if (!s.ok()) {
        writer.Abort();
        return s;
      }
    }
  }
  auto after = writer.Close();
  if (!after.ok()) {
    writer.Abort();
    return after.status();
  }
  levels_.Update(unit.files, *after);
  pending_.compact_before.insert(pending_.compact_before.end(), unit.files.begin(), unit.files.end());
  pending_.compact_after.insert(pending_.compact_after.end(), after->begin(), after->end());
  return Status::OK();
}

Status BucketWriter::Compact(bool full) {
  std::vector<Levels::Run> runs = levels_.Runs();
  std::optional<CompactUnit> unit =
      full ? PickFullCompaction(levels_.num_levels(), runs)
           : PickUniversalCompaction(UniversalCompactionOptions::From(ctx_->options()), levels_.num_levels(), runs);
  if (!unit) return Status::OK();
  int highest = levels_.NonEmptyHighestLevel();
  bool drop_delete = unit->output_level != 0 && unit->output_level >= highest;
  return RunCompaction(*unit, drop_delete);
}

Result<CommitIncrement> BucketWriter::PrepareCommit(bool compact) {
  KL_RETURN_IF_ERROR(Flush());
  if (compact && !ctx_->options().write_only()) KL_RETURN_IF_ERROR(Compact(false));
  CommitIncrement out = std::move(pending_);
  pending_ = CommitIncrement();
  out.partition = partition_;
  out.bucket = bucket_;
  out.total_buckets = total_buckets_;
  return out;
}

}  // namespace kl::table
