#include "table/operation/table_read.h"

#include <algorithm>

#include "table/data/binary_row.h"
#include "table/data/data_file.h"
#include "table/operation/recent_files.h"

namespace kl::table {

using format::RowType;

namespace {

constexpr size_t kChunkRows = 16384;

// Rows of a read batch that pass the filter (all rows when there is none).
struct RowFilter {
  const Predicate* predicate = nullptr;
  const std::vector<int>* columns = nullptr;  // per leaf: column in the read layout

  bool active() const { return predicate != nullptr && !predicate->empty(); }

  // Sets pass[i] to whether row i of `src` satisfies every leaf. A leaf on a
  // dictionary-encoded column is decided once per dictionary entry its rows use (the
  // answers are kept while the dictionary, a Parquet row group's, stays the same): a
  // point read's few rows of a file kept decoded do not pay for the whole dictionary.
  void Evaluate(const KvBatch& src, std::vector<uint8_t>* pass) {
    leaf_columns_.clear();
    for (int c : *columns) leaf_columns_.push_back(&src.values.column(static_cast<size_t>(c)));
    Evaluate(leaf_columns_.data(), 0, src.size(), pass);
  }
  // The same for rows [begin, begin + n) of columns `leaf_columns` (one per leaf):
  // pass[i] tells of row begin + i.
  void Evaluate(const format::Column* const* leaf_columns, size_t begin, size_t n, std::vector<uint8_t>* pass) {
    pass->assign(n, 1);
    uint8_t* p = pass->data();
    const auto& leaves = predicate->leaves();
    dict_matches_.resize(leaves.size());
    for (size_t l = 0; l < leaves.size(); ++l) {
      const format::Column& col = *leaf_columns[l];
      if (col.is_dictionary()) {
        DictMatches& m = dict_matches_[l];
        const format::Column& dict = col.dictionary();
        if (m.dict != col.shared_dictionary()) {
          m.dict = col.shared_dictionary();
          m.match.assign(dict.size(), kUndecided);
          m.match[col.null_code()] = leaves[l].op == CompareOp::kIsNull ? 1 : 0;  // the null rows
        }
        const uint32_t* codes = col.codes() + begin;
        uint8_t* match = m.match.data();
        for (size_t i = 0; i < n; ++i) {
          if (!p[i]) continue;
          uint8_t& decided = match[codes[i]];
          if (decided == kUndecided) decided = LeafMatches(leaves[l], dict, codes[i]) ? 1 : 0;
          p[i] = decided;
        }
      } else {
        for (size_t i = 0; i < n; ++i) {
          if (p[i]) p[i] = LeafMatches(leaves[l], col, begin + i) ? 1 : 0;
        }
      }
    }
  }

  static constexpr uint8_t kUndecided = 2;
  struct DictMatches {
    std::shared_ptr<const format::Column> dict;  // held so that the pointer stays unique
    std::vector<uint8_t> match;                  // per code: 1, 0 or kUndecided
  };
  std::vector<DictMatches> dict_matches_;  // per leaf
  std::vector<const format::Column*> leaf_columns_;
};

// Moves the projected columns of `src` (read layout) that pass `filter` to the end of `out`.
void EmitProjected(KvBatch& src, const std::vector<int>& output_from_read, RowFilter& filter, RowsWithKinds* out) {
  size_t n = src.size();
  auto& cols = out->rows.mutable_columns();
  if (!filter.active()) {
    // Into an empty output, a column read once moves over instead of being copied.
    bool empty = out->rows.num_rows() == 0;
    for (size_t c = 0; c < output_from_read.size(); ++c) {
      size_t from = static_cast<size_t>(output_from_read[c]);
      format::Column& col = src.values.mutable_column(from);
      bool once = std::count(output_from_read.begin(), output_from_read.end(), output_from_read[c]) == 1;
      if (empty && once && col.size() == n && col.type() == cols[c].type()) {
        cols[c].Clear();
        cols[c].SwapValues(col);  // `src` gets the output's emptied buffers to refill
      } else {
        cols[c].AppendRange(col, 0, n);
      }
    }
    out->kinds.insert(out->kinds.end(), src.kinds.begin(), src.kinds.end());
    out->rows.SetNumRows(out->rows.num_rows() + n);
    return;
  }
  std::vector<uint8_t> pass;
  filter.Evaluate(src, &pass);
  std::vector<size_t> keep;
  keep.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (pass[i]) keep.push_back(i);
  }
  for (size_t c = 0; c < output_from_read.size(); ++c) {
    cols[c].AppendGather(src.values.column(static_cast<size_t>(output_from_read[c])), keep.data(), keep.size());
  }
  for (size_t i : keep) out->kinds.push_back(src.kinds[i]);
  out->rows.SetNumRows(out->rows.num_rows() + keep.size());
}

// Appends the rows of `in` (read in place from a file kept in memory) that pass `filter`
// to `out`: only the projected columns of those rows are copied.
void EmitInPlace(const DataFileReader::InPlaceRows& in, const std::vector<int>& kept_columns,
                 const std::vector<int>& output_from_read, RowFilter& filter, RowsWithKinds* out) {
  const size_t n = in.end - in.begin;
  auto& cols = out->rows.mutable_columns();
  auto column_of = [&](int read_column) -> const format::Column& {
    return in.chunk->column(static_cast<size_t>(kept_columns[static_cast<size_t>(read_column)]));
  };
  if (!filter.active()) {
    for (size_t c = 0; c < output_from_read.size(); ++c) {
      cols[c].AppendRange(column_of(output_from_read[c]), in.begin, in.end);
    }
    out->kinds.insert(out->kinds.end(), in.kinds.begin(), in.kinds.end());
    out->rows.SetNumRows(out->rows.num_rows() + n);
    return;
  }
  std::vector<const format::Column*> leaf_columns;
  for (int c : *filter.columns) leaf_columns.push_back(&column_of(c));
  std::vector<uint8_t> pass;
  filter.Evaluate(leaf_columns.data(), in.begin, n, &pass);
  std::vector<size_t> keep;  // rows of the chunk
  keep.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (pass[i]) keep.push_back(in.begin + i);
  }
  if (keep.empty()) return;
  for (size_t c = 0; c < output_from_read.size(); ++c) {
    cols[c].AppendGather(column_of(output_from_read[c]), keep.data(), keep.size());
  }
  for (size_t i : keep) out->kinds.push_back(in.kinds[i - in.begin]);
  out->rows.SetNumRows(out->rows.num_rows() + keep.size());
}

class MergedSplitReader : public SplitReader {
 public:
  MergedSplitReader(std::unique_ptr<MergeReader> reader, std::vector<int> output_from_read, RowType read_type,
                    RowFilter filter)
      : reader_(std::move(reader)),
        output_from_read_(std::move(output_from_read)),
        read_type_(std::move(read_type)),
        filter_(filter) {}
  // Returns the merged records consumed (0 at the end), which may exceed the rows the filter let through.
  Result<size_t> Next(size_t max_rows, RowsWithKinds* out) override {
    KvBatch& chunk = chunk_;
    chunk.Clear();
    KL_ASSIGN_OR_RETURN(size_t n, reader_->Next(max_rows, &chunk));
    // A merged read returns the table's rows, not changes: every row is an insert,
    // whichever kind its winning record was stored with (Paimon's batch reads alike).
    std::fill(chunk.kinds.begin(), chunk.kinds.end(), format::RowKind::kInsert);
    EmitProjected(chunk, output_from_read_, filter_, out);
    return n;
  }

 private:
  std::unique_ptr<MergeReader> reader_;
  std::vector<int> output_from_read_;
  RowType read_type_;
  RowFilter filter_;
  KvBatch chunk_{read_type_};  // reused: buffers cycle between the files' reader and the caller
};

// Files read one after another as stored (append tables, streaming changes).
class RawSplitReader : public SplitReader {
 public:
  RawSplitReader(std::vector<DataFileMeta> files, FileOpener opener, std::vector<int> output_from_read,
                 RowFilter filter)
      : files_(std::move(files)),
        opener_(std::move(opener)),
        output_from_read_(std::move(output_from_read)),
        filter_(filter) {}
  Result<size_t> Next(size_t max_rows, RowsWithKinds* out) override {
    while (true) {
      if (!reader_) {
        if (index_ >= files_.size()) return size_t{0};
        KL_ASSIGN_OR_RETURN(reader_, opener_(files_[index_]));
        ++index_;
      }
      if (reader_->reads_in_place()) {
        // A changelog file kept in memory (a follower's read): filtered where it is.
        KL_ASSIGN_OR_RETURN(size_t n, reader_->NextInPlace(max_rows, &in_place_));
        if (n == 0) {
          reader_.reset();
          continue;
        }
        EmitInPlace(in_place_, reader_->in_place_columns(), output_from_read_, filter_, out);
        return n;
      }
      KvBatch chunk;
      KL_ASSIGN_OR_RETURN(size_t n, reader_->Next(max_rows, &chunk));
      if (n == 0) {
        reader_.reset();
        continue;
      }
      EmitProjected(chunk, output_from_read_, filter_, out);
      return n;
    }
  }

 private:
  std::vector<DataFileMeta> files_;
  FileOpener opener_;
  std::vector<int> output_from_read_;
  RowFilter filter_;
  size_t index_ = 0;
  std::unique_ptr<DataFileReader> reader_;
  DataFileReader::InPlaceRows in_place_;
};

}  // namespace

Result<std::unique_ptr<TableRead>> TableRead::Create(std::shared_ptr<TableContext> ctx,
                                                     std::vector<std::string> projection, Predicate filter) {
  std::unique_ptr<TableRead> r(new TableRead());
  const TableSchema& schema = ctx->schema();
  if (projection.empty()) projection = schema.fields.names();
  std::vector<int> out_idx;
  for (const auto& name : projection) {
    int i = schema.fields.IndexOf(name);
    if (i < 0) return Status::InvalidArgument("table " + ctx->path() + " has no column \"" + name + "\"");
    out_idx.push_back(i);
  }
  KL_RETURN_IF_ERROR(filter.Validate(schema.fields).WithContext("table " + ctx->path()));
  r->output_type_ = schema.fields.Project(out_idx);
  // Decoded columns: the projection plus what merging and filtering need, in table order.
  std::vector<bool> needed(schema.fields.size(), false);
  for (int i : out_idx) needed[static_cast<size_t>(i)] = true;
  for (const auto& leaf : filter.leaves()) needed[static_cast<size_t>(schema.fields.IndexOf(leaf.field))] = true;
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
  std::vector<std::string> keys = schema.TrimmedPrimaryKeys();
  for (const auto& leaf : filter.leaves()) {
    r->filter_columns_.push_back(r->read_type_.IndexOf(leaf.field));
    // Every record of a key holds the same key value: skipping rows by a key condition
    // never hides a newer record of a key that matches.
    if (std::find(keys.begin(), keys.end(), leaf.field) != keys.end()) r->key_leaves_.push_back(leaf);
  }
  r->filter_ = std::move(filter);
  r->ctx_ = std::move(ctx);
  return r;
}

void TableRead::ShareDecodes() {
  if (shared_reader_ != 0) return;
  std::vector<std::string> columns = read_type_.names();
  if (ctx_->primary_key()) {
    columns.push_back(kSequenceNumberField);
    columns.push_back(kValueKindField);
  }
  shared_reader_ = RecentFiles::Get().AddReader(ctx_->path(), std::move(columns));
}

TableRead::~TableRead() {
  if (shared_reader_ != 0) RecentFiles::Get().RemoveReader(shared_reader_);
}

void TableRead::NarrowToKeys(std::vector<std::string> fields, std::vector<format::Row> rows) {
  auto keys = std::make_shared<KeyRows>();
  keys->fields = std::move(fields);
  keys->rows = std::move(rows);
  key_rows_ = std::move(keys);
}

RowsWithKinds TableRead::NewOutput() const {
  RowsWithKinds out;
  out.rows = format::ColumnBatch(output_type_);
  return out;
}

Result<std::unique_ptr<SplitReader>> TableRead::Open(const DataSplit& split) {
  bool raw = !ctx_->primary_key() || split.raw_changes;
  // Change reads return rows as stored: deletion vectors belong to merged state.
  std::map<std::string, DeletionFile> deletion_files;
  if (!split.raw_changes) {
    for (const auto& f : split.files) {
      auto it = split.deletion_files.find(f.file_name);
      if (it != split.deletion_files.end()) deletion_files.insert(*it);
    }
  }
  KL_ASSIGN_OR_RETURN(std::shared_ptr<SplitReadExtras> extras, LoadDeletionVectors(deletion_files));
  std::vector<DataFileMeta> files = split.files;
  if (!raw) DropFilesOutsideKeyRange(&files);
  // Rows read as stored are filtered one by one afterwards, so any condition may skip
  // them; merged reads may skip only by key conditions.
  extras->skip_by_stats = raw ? filter_.leaves() : key_leaves_;
  if (shared_reader_ != 0) extras->share_decodes_of = ctx_->path();
  if (!raw) {
    extras->key_leaves = key_leaves_;
    extras->key_rows = key_rows_;
  }
  FileOpener opener = ctx_->OpenerFor(split.partition, split.bucket, read_type_, std::move(extras));
  RowFilter filter{&filter_, &filter_columns_};
  if (raw) {
    std::sort(files.begin(), files.end(), [](const DataFileMeta& a, const DataFileMeta& b) {
      return a.min_sequence_number < b.min_sequence_number ||
             (a.min_sequence_number == b.min_sequence_number && a.file_name < b.file_name);
    });
    return std::unique_ptr<SplitReader>(
        new RawSplitReader(std::move(files), std::move(opener), output_from_read_, filter));
  }
  std::vector<std::unique_ptr<RunCursor>> cursors;
  std::vector<SortedRun> runs = SortedRunsOf(files, ctx_->key_types());
  const size_t chunk_rows = RunChunkRows(runs.size());
  for (auto& run : runs) cursors.push_back(std::make_unique<RunCursor>(std::move(run), opener, chunk_rows));
  KL_ASSIGN_OR_RETURN(KeyComparator cmp, ctx_->ComparatorFor(read_type_));
  KL_ASSIGN_OR_RETURN(auto merge, CreateMergeFunction(ctx_->schema(), read_type_));
  auto reader = std::make_unique<MergeReader>(std::move(cursors), cmp, std::move(merge), /*drop_retracts=*/true);
  KL_RETURN_IF_ERROR(reader->Init());
  return std::unique_ptr<SplitReader>(new MergedSplitReader(std::move(reader), output_from_read_, read_type_, filter));
}

void TableRead::DropFilesOutsideKeyRange(std::vector<DataFileMeta>* files) const {
  // A file's keys lie between its min and max key, so its first key column lies between
  // theirs: a condition on that column that no value there meets rules the file out (every
  // record of a key has the same key, so no newer record of a matching key is lost).
  std::vector<std::string> keys = ctx_->schema().TrimmedPrimaryKeys();
  if (keys.empty()) return;
  std::vector<PredicateLeaf> leading;
  for (const auto& leaf : key_leaves_) {
    if (leaf.field == keys[0]) leading.push_back(leaf);
  }
  if (leading.empty()) return;
  const std::vector<format::DataType>& types = ctx_->key_types();
  files->erase(std::remove_if(files->begin(), files->end(),
                              [&](const DataFileMeta& f) {
                                auto lo = DeserializeBinaryRow(f.min_key, types);
                                auto hi = DeserializeBinaryRow(f.max_key, types);
                                if (!lo.ok() || !hi.ok() || lo->empty() || hi->empty()) return false;
                                if ((*lo)[0].is_null() || (*hi)[0].is_null()) return false;
                                ValueRange range;
                                range.has_min_max = true;
                                range.min = (*lo)[0];
                                range.max = (*hi)[0];
                                for (const auto& leaf : leading) {
                                  if (!LeafMayMatch(leaf, &range)) return true;
                                }
                                return false;
                              }),
               files->end());
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
