#include "table/table_read.h"

#include <algorithm>

namespace kl::table {

using format::RowType;

namespace {

constexpr size_t kChunkRows = 16384;

// Moves the projected columns of `src` (read layout) to the end of `out`.
void EmitProjected(const KvBatch& src, const std::vector<int>& output_from_read, bool drop_retracts, RowsWithKinds* out) {
  size_t n = src.size();
  bool all_kept = !drop_retracts;
  if (drop_retracts) {
    all_kept = true;
    for (auto k : src.kinds) all_kept &= !format::IsRetract(k);
  }
  auto& cols = out->rows.mutable_columns();
  if (all_kept) {
    for (size_t c = 0; c < output_from_read.size(); ++c) {
      cols[c].AppendRange(src.values.column(static_cast<size_t>(output_from_read[c])), 0, n);
    }
    out->kinds.insert(out->kinds.end(), src.kinds.begin(), src.kinds.end());
    out->rows.SetNumRows(out->rows.num_rows() + n);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    if (format::IsRetract(src.kinds[i])) continue;
    for (size_t c = 0; c < output_from_read.size(); ++c) {
      cols[c].AppendFrom(src.values.column(static_cast<size_t>(output_from_read[c])), i);
    }
    out->kinds.push_back(src.kinds[i]);
    out->rows.SetNumRows(out->rows.num_rows() + 1);
  }
}

class MergedSplitReader : public SplitReader {
 public:
  MergedSplitReader(std::unique_ptr<MergeReader> reader, std::vector<int> output_from_read, RowType read_type)
      : reader_(std::move(reader)), output_from_read_(std::move(output_from_read)), read_type_(std::move(read_type)) {}
  Result<size_t> Next(size_t max_rows, RowsWithKinds* out) override {
    KvBatch chunk(read_type_);
    KL_ASSIGN_OR_RETURN(size_t n, reader_->Next(max_rows, &chunk));
    EmitProjected(chunk, output_from_read_, /*drop_retracts=*/false, out);
    return n;
  }

 private:
  std::unique_ptr<MergeReader> reader_;
  std::vector<int> output_from_read_;
  RowType read_type_;
};

// Files read one after another as stored (append tables, streaming changes).
class RawSplitReader : public SplitReader {
 public:
  RawSplitReader(std::vector<DataFileMeta> files, FileOpener opener, std::vector<int> output_from_read)
      : files_(std::move(files)), opener_(std::move(opener)), output_from_read_(std::move(output_from_read)) {}
  Result<size_t> Next(size_t max_rows, RowsWithKinds* out) override {
    while (true) {
      if (!reader_) {
        if (index_ >= files_.size()) return size_t{0};
        KL_ASSIGN_OR_RETURN(reader_, opener_(files_[index_]));
        ++index_;
      }
      KvBatch chunk;
      KL_ASSIGN_OR_RETURN(size_t n, reader_->Next(max_rows, &chunk));
      if (n == 0) {
        reader_.reset();
        continue;
      }
      EmitProjected(chunk, output_from_read_, /*drop_retracts=*/false, out);
      return n;
    }
  }

 private:
  std::vector<DataFileMeta> files_;
  FileOpener opener_;
  std::vector<int> output_from_read_;
  size_t index_ = 0;
  std::unique_ptr<DataFileReader> reader_;
};

}  // namespace

Result<std::unique_ptr<TableRead>> TableRead::Create(std::shared_ptr<TableContext> ctx,
                                                     std::vector<std::string> projection) {
  std::unique_ptr<TableRead> r(new TableRead());
  const TableSchema& schema = ctx->schema();
  if (projection.empty()) projection = schema.fields.names();
  std::vector<int> out_idx;
  for (const auto& name : projection) {
    int i = schema.fields.IndexOf(name);
    if (i < 0) return Status::InvalidArgument("table " + ctx->path() + " has no column \"" + name + "\"");
    out_idx.push_back(i);
  }
  r->output_type_ = schema.fields.Project(out_idx);
  // Decoded columns: the projection plus what merging needs, in table order.
  std::vector<bool> needed(schema.fields.size(), false);
  for (int i : out_idx) needed[static_cast<size_t>(i)] = true;
  if (schema.has_primary_key()) {
    bool all = MergeNeedsAllColumns(schema);
    for (size_t i = 0; i < needed.size(); ++i) needed[i] = needed[i] || all;
    for (int k : schema.TrimmedKeyIndexes()) needed[static_cast<size_t>(k)] = true;
    for (const auto& s : schema.table_options().sequence_fields()) {
      int i = schema.fields.IndexOf(s);
      if (i >= 0) needed[static_cast<size_t>(i)] = true;
    }
  }
  std::vector<int> read_idx;
  for (size_t i = 0; i < needed.size(); ++i) {
    if (needed[i]) read_idx.push_back(static_cast<int>(i));
  }
  r->read_type_ = schema.fields.Project(read_idx);
  for (int i : out_idx) {
    r->output_from_read_.push_back(static_cast<int>(std::find(read_idx.begin(), read_idx.end(), i) - read_idx.begin()));
  }
  r->ctx_ = std::move(ctx);
  return r;
}

RowsWithKinds TableRead::NewOutput() const {
  RowsWithKinds out;
  out.rows = format::ColumnBatch(output_type_);
  return out;
}

Result<std::unique_ptr<SplitReader>> TableRead::Open(const DataSplit& split) {
  FileOpener opener = ctx_->OpenerFor(split.partition, split.bucket, read_type_);
  if (!ctx_->primary_key() || split.raw_changes) {
    std::vector<DataFileMeta> files = split.files;
    std::sort(files.begin(), files.end(), [](const DataFileMeta& a, const DataFileMeta& b) {
      return a.min_sequence_number < b.min_sequence_number ||
             (a.min_sequence_number == b.min_sequence_number && a.file_name < b.file_name);
    });
    return std::unique_ptr<SplitReader>(new RawSplitReader(std::move(files), std::move(opener), output_from_read_));
  }
  std::vector<std::unique_ptr<RunCursor>> cursors;
  for (auto& run : SortedRunsOf(split.files, ctx_->key_types())) {
    cursors.push_back(std::make_unique<RunCursor>(std::move(run), opener, kChunkRows));
  }
  KL_ASSIGN_OR_RETURN(KeyComparator cmp, ctx_->ComparatorFor(read_type_));
  KL_ASSIGN_OR_RETURN(auto merge, CreateMergeFunction(ctx_->schema(), read_type_));
  auto reader = std::make_unique<MergeReader>(std::move(cursors), cmp, std::move(merge), /*drop_retracts=*/true);
  KL_RETURN_IF_ERROR(reader->Init());
  return std::unique_ptr<SplitReader>(new MergedSplitReader(std::move(reader), output_from_read_, read_type_));
}

Result<RowsWithKinds> TableRead::ReadAll(const ScanPlan& plan) {
  RowsWithKinds out = NewOutput();
  for (const auto& split : plan.splits) {
    KL_ASSIGN_OR_RETURN(auto reader, Open(split));
    while (true) {
      KL_ASSIGN_OR_RETURN(size_t n, reader->Next(kChunkRows, &out));
      if (n == 0) break;
    }
  }
  return out;
}

}  // namespace kl::table
