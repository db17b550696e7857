#include "table/data/data_file.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/string_util.h"
#include "format/avro/avro_file.h"
#include "table/data/binary_row.h"
#include "table/data/decoded_files.h"
#include "table/operation/recent_files.h"

namespace kl::table {

using format::Column;
using format::ColumnBatch;
using format::DataField;
using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

namespace {

constexpr size_t kStagingRows = 4096;
// Whole batches of at least this many records go to the file as they are rather than through
// staging: a flush hands over chunks of 2,048 (the copy into staging was ~9 % of a load's flush).
constexpr size_t kDirectRows = 1024;

RowType AppendFileType(const TableSchema& schema) { return schema.fields; }

// Serialized key (BinaryRow with arity) of row `row` of `batch`, from columns `indexes`.
std::string KeyBytes(const ColumnBatch& batch, const std::vector<int>& indexes, size_t row) {
  BinaryRowWriter w(indexes.size());
  for (size_t i = 0; i < indexes.size(); ++i) w.WriteFromColumn(i, batch.column(static_cast<size_t>(indexes[i])), row);
  std::string out;
  out.reserve(4 + w.data().size());
  uint32_t arity = __builtin_bswap32(static_cast<uint32_t>(indexes.size()));
  out.append(reinterpret_cast<const char*>(&arity), 4);
  out += w.data();
  return out;
}

// Reads a file's rows kept in memory (RecentFiles) as a format reader would
// read the file: the requested columns, matched by name, in file order.
class KeptRowsReader : public FormatReader {
 public:
  // Null when a requested column is not among the kept ones in its type.
  static std::unique_ptr<KeptRowsReader> Create(std::shared_ptr<const FileRows> rows, const RowType& read_type) {
    std::vector<int> source;
    for (const auto& f : read_type.fields()) {
      int i = rows->type.IndexOf(f.name);
      if (i < 0 || rows->type.type(static_cast<size_t>(i)).physical() != f.type.physical()) return nullptr;
      source.push_back(i);
    }
    return std::unique_ptr<KeptRowsReader>(new KeptRowsReader(std::move(rows), std::move(source)));
  }

  Result<size_t> Read(size_t max_rows, ColumnBatch* out) override {
    size_t n = 0;
    while (n < max_rows && chunk_ < rows_->chunks.size()) {
      const ColumnBatch& c = rows_->chunks[chunk_];
      size_t take = std::min(max_rows - n, c.num_rows() - row_);
      for (size_t i = 0; i < source_.size(); ++i) {
        out->mutable_column(i).AppendRange(c.column(static_cast<size_t>(source_[i])), row_, row_ + take);
      }
      n += take;
      row_ += take;
      if (row_ == c.num_rows()) {
        ++chunk_;
        row_ = 0;
      }
    }
    out->SetNumRows(out->num_rows() + n);
    return n;
  }

 private:
  KeptRowsReader(std::shared_ptr<const FileRows> rows, std::vector<int> source)
      : rows_(std::move(rows)), source_(std::move(source)) {}
  std::shared_ptr<const FileRows> rows_;
  std::vector<int> source_;
  size_t chunk_ = 0, row_ = 0;
};

// Reads row ranges of a decoded file (DecodedFiles) as a format reader would read
// the file: the requested columns, matched by field id, in file order.
class DecodedRangesReader : public FormatReader {
 public:
  // Null when a requested column is not among the decoded ones in its physical type.
  static std::unique_ptr<DecodedRangesReader> Create(std::shared_ptr<const DecodedFile> file, const RowType& read_type,
                                                     std::vector<std::pair<size_t, size_t>> ranges) {
    std::vector<int> source;
    for (const auto& f : read_type.fields()) {
      int i = file->type.IndexOfId(f.id);
      if (i < 0 || file->type.type(static_cast<size_t>(i)).physical() != f.type.physical()) return nullptr;
      source.push_back(i);
    }
    int64_t kept = 0;
    for (const auto& [b, e] : ranges) kept += static_cast<int64_t>(e - b);
    int64_t skipped = static_cast<int64_t>(file->rows) - kept;
    return std::unique_ptr<DecodedRangesReader>(
        new DecodedRangesReader(std::move(file), std::move(source), std::move(ranges), skipped));
  }

  Result<size_t> Read(size_t max_rows, ColumnBatch* out) override {
    size_t n = 0;
    while (n < max_rows && range_ < ranges_.size()) {
      auto [begin, end] = ranges_[range_];
      if (row_ < begin) row_ = begin;
      auto [c, i] = file_->Locate(row_);
      const ColumnBatch& chunk = file_->chunks[c];
      size_t take = std::min({max_rows - n, end - row_, chunk.num_rows() - i});
      for (size_t k = 0; k < source_.size(); ++k) {
        out->mutable_column(k).AppendRange(chunk.column(static_cast<size_t>(source_[k])), i, i + take);
      }
      n += take;
      row_ += take;
      if (row_ >= end) ++range_;
    }
    out->SetNumRows(out->num_rows() + n);
    return n;
  }
  int64_t rows_skipped() const override { return skipped_; }

 private:
  DecodedRangesReader(std::shared_ptr<const DecodedFile> file, std::vector<int> source,
                      std::vector<std::pair<size_t, size_t>> ranges, int64_t skipped)
      : file_(std::move(file)), source_(std::move(source)), ranges_(std::move(ranges)), skipped_(skipped) {}
  std::shared_ptr<const DecodedFile> file_;
  std::vector<int> source_;
  std::vector<std::pair<size_t, size_t>> ranges_;
  int64_t skipped_;
  size_t range_ = 0, row_ = 0;
};

// The decoded copy of a key-value data file for a read by key: kept, or decoded now when
// DecodedFiles says the file is worth it; null otherwise (the file is read as usual).
Result<std::shared_ptr<const DecodedFile>> DecodedForKeyRead(const std::string& path, const DataFileMeta& file,
                                                             const TableSchema& file_schema,
                                                             const TableOptions& options) {
  DecodedFiles& cache = DecodedFiles::Global();
  if (cache.limits().max_bytes == 0) return std::shared_ptr<const DecodedFile>();
  if (auto kept = cache.Find(path)) return kept;
  // The values (which hold the key fields too), sequence numbers and kinds: reads never
  // ask for the _KEY_ copies.
  std::vector<DataField> fields = file_schema.fields.fields();
  fields.push_back({kSequenceNumberFieldId, kSequenceNumberField, DataType::BigInt().NotNull(), ""});
  fields.push_back({kValueKindFieldId, kValueKindField, DataType::TinyInt().NotNull(), ""});
  RowType type(std::move(fields));
  // Decoded columns take about 8 bytes a value (dictionary codes, numbers, string views).
  uint64_t estimate = static_cast<uint64_t>(std::max<int64_t>(file.row_count, 0)) * type.size() * 8;
  estimate = std::max<uint64_t>(estimate, static_cast<uint64_t>(std::max<int64_t>(file.file_size, 0)) * 2);
  if (!cache.ShouldDecode(path, estimate)) return std::shared_ptr<const DecodedFile>();
  struct AbandonUnlessKept {  // lets another read decode the file when this one fails
    DecodedFiles& cache;
    const std::string& path;
    bool kept = false;
    ~AbandonUnlessKept() {
      if (!kept) cache.Abandon(path);
    }
  } guard{cache, path};
  KL_ASSIGN_OR_RETURN(auto format, FileFormatForPath(path, options));
  auto reader = format->NewReader(path, type, {});
  if (!reader.ok()) return reader.status().WithContext("opening " + path);
  auto decoded = std::make_shared<DecodedFile>();
  decoded->type = type;
  while (true) {
    ColumnBatch chunk(type);
    auto n = (*reader)->Read(64 * 1024, &chunk);
    if (!n.ok()) return n.status().WithContext("reading " + path);
    if (*n == 0) break;
    decoded->chunk_start.push_back(decoded->rows);
    decoded->rows += *n;
    decoded->bytes += chunk.UsedBytes();
    decoded->chunks.push_back(std::move(chunk));
  }
  cache.Put(path, decoded);
  guard.kept = true;
  return std::shared_ptr<const DecodedFile>(std::move(decoded));
}

}  // namespace

RowType KeyValueFileType(const TableSchema& schema) {
  std::vector<DataField> fields;
  for (int k : schema.TrimmedKeyIndexes()) {
    const DataField& f = schema.fields.field(static_cast<size_t>(k));
    fields.push_back({kKeyFieldIdStart + f.id, std::string(kKeyFieldPrefix) + f.name, f.type, ""});
  }
  fields.push_back({kSequenceNumberFieldId, kSequenceNumberField, DataType::BigInt().NotNull(), ""});
  fields.push_back({kValueKindFieldId, kValueKindField, DataType::TinyInt().NotNull(), ""});
  for (const auto& f : schema.fields.fields()) fields.push_back(f);
  return RowType(std::move(fields));
}

// Running min / max / null count of selected columns of the staged rows.
class DataFileWriter::Stats {
 public:
  Stats(std::vector<int> columns, std::vector<DataType> types)
      : columns_(std::move(columns)),
        types_(std::move(types)),
        mins_(columns_.size()),
        maxs_(columns_.size()),
        nulls_(columns_.size(), 0) {}

  void Update(const ColumnBatch& batch) { Update(batch, 0, batch.num_rows()); }
  // Of rows [begin, end) of `batch` only.
  void Update(const ColumnBatch& batch, size_t begin, size_t end) {
    for (size_t c = 0; c < columns_.size(); ++c) {
      const Column& col = batch.column(static_cast<size_t>(columns_[c]));
      if (col.type().is_nested()) {
        if (begin == 0 && end == batch.num_rows()) {
          nulls_[c] += static_cast<int64_t>(col.null_count());
        } else {
          for (size_t i = begin; i < end; ++i) nulls_[c] += col.IsNull(i) ? 1 : 0;
        }
        continue;
      }
      ptrdiff_t lo = -1, hi = -1;
      // Integers and strings (most columns) compare their values directly, not through
      // CompareAt's dispatch per value; the order is the same.
      if (col.kind() == format::PhysicalKind::kInt) {
        int64_t lo_v = 0, hi_v = 0;
        for (size_t i = begin; i < end; ++i) {
          if (col.IsNull(i)) {
            ++nulls_[c];
            continue;
          }
          const int64_t v = col.GetInt(i);
          if (lo < 0 || v < lo_v) {
            lo = static_cast<ptrdiff_t>(i);
            lo_v = v;
          }
          if (hi < 0 || v > hi_v) {
            hi = static_cast<ptrdiff_t>(i);
            hi_v = v;
          }
        }
        Merge(c, col, lo, hi);
        continue;
      }
      if (col.kind() == format::PhysicalKind::kBytes) {
        std::string_view lo_v, hi_v;
        for (size_t i = begin; i < end; ++i) {
          if (col.IsNull(i)) {
            ++nulls_[c];
            continue;
          }
          const std::string_view v = col.GetBytes(i);
          if (lo < 0 || v.compare(lo_v) < 0) {
            lo = static_cast<ptrdiff_t>(i);
            lo_v = v;
          }
          if (hi < 0 || v.compare(hi_v) > 0) {
            hi = static_cast<ptrdiff_t>(i);
            hi_v = v;
          }
        }
        Merge(c, col, lo, hi);
        continue;
      }
      for (size_t i = begin; i < end; ++i) {
        if (col.IsNull(i)) {
          ++nulls_[c];
          continue;
        }
        if (col.kind() == format::PhysicalKind::kDouble && std::isnan(col.GetDouble(i))) continue;
        if (lo < 0 || col.CompareAt(i, col, static_cast<size_t>(lo)) < 0) lo = static_cast<ptrdiff_t>(i);
        if (hi < 0 || col.CompareAt(i, col, static_cast<size_t>(hi)) > 0) hi = static_cast<ptrdiff_t>(i);
      }
      Merge(c, col, lo, hi);
    }
  }

  // Takes the statistics the file format computed while writing (columns_ index `ranges`).
  void SetFrom(const std::vector<ValueRange>& ranges) {
    for (size_t c = 0; c < columns_.size(); ++c) {
      size_t i = static_cast<size_t>(columns_[c]);
      if (i >= ranges.size()) continue;
      const ValueRange& r = ranges[i];
      nulls_[c] = r.has_null_count ? r.null_count : 0;
      bool atomic = !types_[c].is_nested();
      mins_[c] = atomic && r.has_min_max ? r.min : Datum();
      maxs_[c] = atomic && r.has_min_max ? r.max : Datum();
    }
  }

  SimpleStats Finish(int truncate) const { return ComputeStats(mins_, maxs_, nulls_, types_, truncate); }

 private:
  // Folds a batch's least and greatest values of column `c` (rows `lo`, `hi` of `col`; -1
  // when it had none) into the file's.
  void Merge(size_t c, const Column& col, ptrdiff_t lo, ptrdiff_t hi) {
    if (lo < 0) return;
    Datum vmin = col.Get(static_cast<size_t>(lo)), vmax = col.Get(static_cast<size_t>(hi));
    if (mins_[c].is_null() || format::CompareDatum(vmin, mins_[c]) < 0) mins_[c] = vmin;
    if (maxs_[c].is_null() || format::CompareDatum(vmax, maxs_[c]) > 0) maxs_[c] = vmax;
  }

  std::vector<int> columns_;
  std::vector<DataType> types_;
  std::vector<Datum> mins_, maxs_;
  std::vector<int64_t> nulls_;
};

DataFileWriter::DataFileWriter(const TableSchema& schema, const FileFormat* format, const PathFactory* paths,
                               std::string partition, int32_t bucket, DataFileWriterOptions options)
    : schema_(schema),
      format_(format),
      paths_(paths),
      partition_(std::move(partition)),
      bucket_(bucket),
      options_(std::move(options)) {
  file_type_ = options_.key_value ? KeyValueFileType(schema_) : AppendFileType(schema_);
  if (options_.key_value) {
    key_value_indexes_ = schema_.TrimmedKeyIndexes();
    size_t nkeys = key_value_indexes_.size();
    for (size_t i = 0; i < nkeys; ++i) key_indexes_.push_back(static_cast<int>(i));
    value_offset_ = nkeys + 2;
  }
  staging_ = ColumnBatch(file_type_);
  twins_ = !options_.twin_prefix.empty();
}

DataFileWriter::~DataFileWriter() = default;

size_t DataFileWriter::MemoryBytes() const { return (writer_ ? writer_->MemoryBytes() : 0) + staging_.MemoryBytes(); }

Status DataFileWriter::EnsureOpen() {
  if (writer_) return Status::OK();
  current_name_ = paths_->NewFileName(options_.prefix, format_->extension());
  std::string dir = paths_->BucketDir(partition_, bucket_);
  KL_RETURN_IF_ERROR(CreateDirs(dir));
  std::string path = JoinPath(dir, current_name_);
  if (options_.held) {
    KL_ASSIGN_OR_RETURN(writer_, format_->NewHeldWriter(path, file_type_));
  } else {
    KL_ASSIGN_OR_RETURN(writer_, format_->NewWriter(path, file_type_));
  }
  written_paths_.push_back(path);
  file_rows_ = 0;
  keep_file_rows_ = keeps_rows();
  kept_bytes_ = 0;
  kept_columns_.clear();
  if (keep_file_rows_) {
    // Only the columns the jobs following the table read, when they say (RecentFiles::
    // AddReader): the others would only take the cache's room (a DWD file kept whole is
    // three times the size), and any other reader reads the file.
    std::vector<std::string> shared = RecentFiles::Get().SharedColumns(paths_->table_path());
    std::vector<DataField> fields;
    for (size_t i = 0; i < file_type_.size() && !shared.empty(); ++i) {
      if (std::find(shared.begin(), shared.end(), file_type_.field(i).name) == shared.end()) continue;
      kept_columns_.push_back(static_cast<int>(i));
      fields.push_back(file_type_.field(i));
    }
    if (kept_columns_.size() == file_type_.size()) kept_columns_.clear();
    kept_type_ = kept_columns_.empty() ? file_type_ : RowType(std::move(fields));
  }
  file_deletes_ = 0;
  min_key_.clear();
  max_key_.clear();
  std::vector<int> stat_columns;
  std::vector<DataType> stat_types;
  if (options_.no_value_stats) {
    // Only the key columns (among the values), for the key statistics.
    for (int k : key_value_indexes_) {
      stat_columns.push_back(static_cast<int>(value_offset_) + k);
      stat_types.push_back(file_type_.type(value_offset_ + static_cast<size_t>(k)));
    }
  } else {
    for (size_t i = value_offset_; i < file_type_.size(); ++i) {
      stat_columns.push_back(static_cast<int>(i));
      stat_types.push_back(file_type_.type(i));
    }
  }
  stats_ = std::make_unique<Stats>(stat_columns, stat_types);
  return Status::OK();
}

Status DataFileWriter::FlushStaging(bool roll_check) {
  if (staging_.num_rows() == 0) return Status::OK();
  // The staged rows leave staging_ before they are written: a write that rolls
  // the file finishes it, which flushes staging_ again (they were written twice).
  ColumnBatch rows(file_type_);
  std::swap(rows, staging_);
  const bool keeping = keep_file_rows_;
  Status s = WriteFileBatch(rows, roll_check, &rows);
  if (keeping && keep_file_rows_) return s;  // the rows were kept
  rows.Clear();
  if (staging_.num_rows() == 0) std::swap(rows, staging_);  // keep the capacity
  return s;
}

Status DataFileWriter::WriteFileBatch(const ColumnBatch& rows, bool roll_check, ColumnBatch* movable) {
  size_t n = rows.num_rows();
  if (n == 0) return Status::OK();
  if (options_.key_value) {
    if (file_rows_ == 0) min_key_ = KeyBytes(rows, key_indexes_, 0);
    max_key_ = KeyBytes(rows, key_indexes_, n - 1);
    const Column& seq = rows.column(key_indexes_.size());
    const Column& kind = rows.column(key_indexes_.size() + 1);
    for (size_t i = 0; i < n; ++i) {
      int64_t s = seq.GetInt(i);
      if (file_rows_ == 0 && i == 0) min_seq_ = max_seq_ = s;
      min_seq_ = std::min(min_seq_, s);
      max_seq_ = std::max(max_seq_, s);
      if (format::IsRetract(static_cast<RowKind>(kind.GetInt(i)))) ++file_deletes_;
    }
  }
  // Formats that compute column statistics themselves (Parquet) hand them over at close.
  if (!writer_->ComputesStatistics()) stats_->Update(rows);
  KL_RETURN_IF_ERROR(writer_->Write(rows, 0, n));
  file_rows_ += static_cast<int64_t>(n);
  if (keep_file_rows_) {
    if (kept_columns_.empty()) {
      kept_bytes_ += rows.UsedBytes();
    } else {
      for (int c : kept_columns_) kept_bytes_ += rows.column(static_cast<size_t>(c)).UsedBytes();
    }
    if (kept_bytes_ > RecentFiles::Get().max_file_bytes()) {
      // Too large for the cache to take: the rows would only be held until the file closes.
      keep_file_rows_ = false;
      kept_.clear();
    } else if (!kept_columns_.empty()) {
      ColumnBatch kept(kept_type_);
      for (size_t k = 0; k < kept_columns_.size(); ++k) {
        const size_t c = static_cast<size_t>(kept_columns_[k]);
        if (movable != nullptr) {
          std::swap(kept.mutable_column(k), movable->mutable_column(c));
        } else {
          kept.mutable_column(k).AppendRange(rows.column(c), 0, n);
        }
      }
      kept.SetNumRows(n);
      kept_.push_back(std::move(kept));
    } else if (movable != nullptr) {
      // Column by column, so that `movable` is left with empty columns of its types.
      ColumnBatch kept(file_type_);
      for (size_t c = 0; c < rows.num_columns(); ++c) std::swap(kept.mutable_column(c), movable->mutable_column(c));
      kept.SetNumRows(n);
      movable->SetNumRows(0);
      kept_.push_back(std::move(kept));
    } else {
      ColumnBatch copy(file_type_);
      for (size_t c = 0; c < rows.num_columns(); ++c) copy.mutable_column(c).AppendRange(rows.column(c), 0, n);
      copy.SetNumRows(n);
      kept_.push_back(std::move(copy));
    }
  }
  if (roll_check && static_cast<int64_t>(writer_->EstimatedSize()) >= options_.target_file_size) return FinishFile();
  return Status::OK();
}

Status DataFileWriter::FinishFile() {
  if (!writer_) return Status::OK();
  KL_RETURN_IF_ERROR(FlushStaging(false));
  KL_ASSIGN_OR_RETURN(uint64_t size, writer_->Close());
  if (writer_->ComputesStatistics()) stats_->SetFrom(writer_->column_stats());
  writer_.reset();
  if (file_rows_ == 0) {
    // Nothing was written after all: leave no empty file behind.
    (void)RemoveFile(written_paths_.back());
    written_paths_.pop_back();
    kept_.clear();
    return Status::OK();
  }
  std::shared_ptr<const FileRows> kept_rows;
  if (keep_file_rows_) {
    auto rows = std::make_shared<FileRows>();
    rows->type = kept_type_;
    rows->chunks = std::move(kept_);
    rows->rows = file_rows_;
    kept_.clear();
    kept_rows = rows;
    if (options_.keep_rows) RecentFiles::Get().Put(written_paths_.back(), std::move(rows));
  }
  DataFileMeta meta;
  meta.file_name = current_name_;
  meta.file_size = static_cast<int64_t>(size);
  meta.row_count = file_rows_;
  const std::vector<DataType> value_types = TypesOf(schema_.fields);
  SimpleStats value_stats;
  if (options_.no_value_stats) {
    // Paimon's "none": null minimums and maximums, unknown null counts.
    std::vector<Datum> nulls(value_types.size());
    value_stats.min_values = SerializeBinaryRow(nulls, value_types);
    value_stats.max_values = value_stats.min_values;
    value_stats.null_counts = std::vector<std::optional<int64_t>>(value_types.size());
  } else {
    value_stats = stats_->Finish(options_.stats_truncate);
  }
  if (options_.key_value) {
    meta.min_key = min_key_;
    meta.max_key = max_key_;
    // Key statistics are the value statistics of the key columns, never truncated.
    std::vector<int> key_cols = schema_.TrimmedKeyIndexes();
    std::vector<DataType> key_types;
    for (int k : key_cols) key_types.push_back(schema_.fields.type(static_cast<size_t>(k)));
    SimpleStats full = stats_->Finish(-1);
    // The collector covers every value column, or (no value statistics) just the keys.
    const std::vector<DataType>& collected = options_.no_value_stats ? key_types : value_types;
    auto mins = DeserializeBinaryRow(full.min_values, collected);
    auto maxs = DeserializeBinaryRow(full.max_values, collected);
    std::vector<Datum> kmin, kmax;
    std::vector<int64_t> knull(key_cols.size(), 0);
    for (size_t i = 0; i < key_cols.size(); ++i) {
      size_t at = options_.no_value_stats ? i : static_cast<size_t>(key_cols[i]);
      kmin.push_back(mins.ok() ? (*mins)[at] : Datum());
      kmax.push_back(maxs.ok() ? (*maxs)[at] : Datum());
    }
    meta.key_stats = ComputeStats(kmin, kmax, knull, key_types, -1);
    meta.min_sequence_number = min_seq_;
    meta.max_sequence_number = max_seq_;
    meta.delete_row_count = file_deletes_;
  } else {
    meta.min_key = SerializeBinaryRow({}, {});
    meta.max_key = meta.min_key;
    meta.key_stats = SimpleStats::Empty();
    meta.min_sequence_number = min_seq_;
    meta.max_sequence_number = max_seq_;
    meta.delete_row_count = 0;
  }
  meta.value_stats = value_stats;
  meta.schema_id = schema_.id;
  meta.level = options_.level;
  meta.creation_time_millis = NowMillis();
  meta.file_source = static_cast<int32_t>(options_.source);
  if (twins_) {
    // The rows wait for the copy until Close(): all files' together stay within what the
    // cache takes of one file, and later files' copies are read from disk.
    bool hold =
        options_.twin_keep_rows && kept_rows && twin_kept_bytes_ + kept_bytes_ <= RecentFiles::Get().max_file_bytes();
    if (hold) twin_kept_bytes_ += kept_bytes_;
    twin_sources_.push_back(TwinOf{written_paths_.back(), meta, hold ? std::move(kept_rows) : nullptr});
  }
  done_.push_back(std::move(meta));
  return Status::OK();
}

namespace {

// `to` with the bytes of `from`, a file written and closed: a hard link where the filesystem
// allows one (files are never changed once written, and expiry and compaction each remove
// only their own name), else a copy. Returns the size. A linked `to` needs no sync of its own:
// its bytes are `from`'s, synced when `sync` was asked of that file too (as twin_sync is).
Result<uint64_t> LinkOrCopyFile(const std::string& from, const std::string& to, bool sync) {
  if (::link(from.c_str(), to.c_str()) == 0) {
    auto size = FileSize(to);
    if (!size.ok()) (void)RemoveFile(to);
    return size;
  }
  // Another filesystem, one without hard links, too many links...: the copy (which reports
  // what fails, if anything does). An existing `to` is an error: a copy over it would
  // truncate `from` if it were another name of it.
  if (errno == EEXIST) return Status::AlreadyExists("linking " + from + " to " + to + ": the target exists");
  return CopyFile(from, to, sync);
}

}  // namespace

Status DataFileWriter::WriteTwins() {
  const std::string dir = paths_->BucketDir(partition_, bucket_);
  // The copies' rows go to RecentFiles only once every copy is made: a failed copy aborts
  // the writer, which deletes the earlier copies too, and no entry may outlive its file.
  std::vector<std::pair<std::string, std::shared_ptr<const FileRows>>> kept;
  for (TwinOf& twin : twin_sources_) {
    std::string name = paths_->NewFileName(options_.twin_prefix, format_->extension());
    std::string path = JoinPath(dir, name);
    written_paths_.push_back(path);  // a failed copy leaves part of a file behind: an abort deletes it
    Result<uint64_t> linked = LinkOrCopyFile(twin.path, path, options_.twin_sync);
    if (!linked.ok() && linked.status().IsAlreadyExists()) written_paths_.pop_back();  // not this writer's file
    KL_ASSIGN_OR_RETURN(uint64_t size, std::move(linked));
    if (static_cast<int64_t>(size) != twin.meta.file_size) {
      return Status::Corruption("copying " + twin.path + ": " + std::to_string(size) + " bytes, written " +
                                std::to_string(twin.meta.file_size));
    }
    if (twin.rows) kept.emplace_back(path, std::move(twin.rows));
    // Everything else (rows, keys, sequence numbers, statistics, level, source) is the file's.
    DataFileMeta meta = std::move(twin.meta);
    meta.file_name = std::move(name);
    meta.creation_time_millis = NowMillis();
    twins_done_.push_back(std::move(meta));
  }
  twin_sources_.clear();
  twin_kept_bytes_ = 0;
  for (auto& [path, rows] : kept) RecentFiles::Get().Put(path, std::move(rows));
  return Status::OK();
}

void DataFileWriter::DropTwins() {
  if (!twins_) return;
  twins_ = false;
  twin_sources_.clear();
  twin_kept_bytes_ = 0;
  if (!keeps_rows() && keep_file_rows_) {
    keep_file_rows_ = false;
    kept_.clear();
    kept_bytes_ = 0;
  }
}

Status DataFileWriter::Append(const KvBatch& batch, size_t row) {
  return AppendAs(batch, row, batch.kinds[row], batch.seq[row]);
}

Status DataFileWriter::AppendAs(const KvBatch& batch, size_t row, RowKind kind, int64_t seq) {
  KL_RETURN_IF_ERROR(EnsureOpen());
  auto& cols = staging_.mutable_columns();
  const std::vector<int>& keys = key_value_indexes_;
  for (size_t k = 0; k < keys.size(); ++k) cols[k].AppendFrom(batch.values.column(static_cast<size_t>(keys[k])), row);
  cols[keys.size()].AppendInt(seq);
  cols[keys.size() + 1].AppendInt(static_cast<int64_t>(kind));
  for (size_t c = 0; c < batch.values.num_columns(); ++c)
    cols[value_offset_ + c].AppendFrom(batch.values.column(c), row);
  staging_.SetNumRows(staging_.num_rows() + 1);
  ++records_;
  if (staging_.num_rows() >= kStagingRows) return FlushStaging(true);
  return Status::OK();
}

Status DataFileWriter::AppendMerged(const Row& values, int64_t seq, RowKind kind) {
  KL_RETURN_IF_ERROR(EnsureOpen());
  auto& cols = staging_.mutable_columns();
  const std::vector<int>& keys = key_value_indexes_;
  for (size_t k = 0; k < keys.size(); ++k) cols[k].Append(values[static_cast<size_t>(keys[k])]);
  cols[keys.size()].AppendInt(seq);
  cols[keys.size() + 1].AppendInt(static_cast<int64_t>(kind));
  for (size_t c = 0; c < values.size(); ++c) cols[value_offset_ + c].Append(values[c]);
  staging_.SetNumRows(staging_.num_rows() + 1);
  ++records_;
  if (staging_.num_rows() >= kStagingRows) return FlushStaging(true);
  return Status::OK();
}

Status DataFileWriter::AppendBatch(const KvBatch& batch, size_t begin, size_t end) {
  const std::vector<int>& keys = key_value_indexes_;
  size_t pos = begin;
  while (pos < end) {
    KL_RETURN_IF_ERROR(EnsureOpen());
    size_t take = std::min(end - pos, kStagingRows - staging_.num_rows());
    auto& cols = staging_.mutable_columns();
    for (size_t k = 0; k < keys.size(); ++k) {
      cols[k].AppendRange(batch.values.column(static_cast<size_t>(keys[k])), pos, pos + take);
    }
    format::Column& seq = cols[keys.size()];
    format::Column& kind = cols[keys.size() + 1];
    for (size_t i = pos; i < pos + take; ++i) {
      seq.AppendInt(batch.seq[i]);
      kind.AppendInt(static_cast<int64_t>(batch.kinds[i]));
    }
    for (size_t c = 0; c < batch.values.num_columns(); ++c) {
      cols[value_offset_ + c].AppendRange(batch.values.column(c), pos, pos + take);
    }
    staging_.SetNumRows(staging_.num_rows() + take);
    records_ += static_cast<int64_t>(take);
    pos += take;
    if (staging_.num_rows() >= kStagingRows) KL_RETURN_IF_ERROR(FlushStaging(true));
  }
  return Status::OK();
}

Status DataFileWriter::AppendWholeBatch(KvBatch* batch, bool give_up) {
  size_t n = batch->size();
  if (!options_.key_value || n < kDirectRows || staging_.num_rows() > 0) return AppendBatch(*batch, 0, n);
  KL_RETURN_IF_ERROR(EnsureOpen());
  const std::vector<int>& keys = key_value_indexes_;
  ColumnBatch file(file_type_);
  auto& cols = file.mutable_columns();
  for (size_t k = 0; k < keys.size(); ++k)
    cols[k].AppendRange(batch->values.column(static_cast<size_t>(keys[k])), 0, n);
  cols[keys.size()].AppendInts(batch->seq.data(), n);
  Column& kind = cols[keys.size() + 1];
  kind.Reserve(n);
  for (size_t i = 0; i < n; ++i) kind.AppendInt(static_cast<int64_t>(batch->kinds[i]));
  auto& values = batch->values.mutable_columns();
  for (size_t c = 0; c < values.size(); ++c) std::swap(cols[value_offset_ + c], values[c]);
  file.SetNumRows(n);
  // Given up, kept columns leave `file` (empty ones of their types take their place).
  Status s = WriteFileBatch(file, /*roll_check=*/true, give_up ? &file : nullptr);
  for (size_t c = 0; c < values.size(); ++c) std::swap(cols[value_offset_ + c], values[c]);
  bool all_back = true;
  for (const auto& v : values) all_back = all_back && v.size() == n;
  if (!all_back) {
    for (auto& v : values) v.Clear();
    batch->values.SetNumRows(0);
    batch->seq.clear();
    batch->kinds.clear();
  }
  records_ += static_cast<int64_t>(n);
  return s;
}

Status DataFileWriter::AppendValues(const ColumnBatch& values, size_t begin, size_t end, int64_t first_seq) {
  if (options_.held && !options_.key_value && !keeps_rows() && staging_.num_rows() == 0) {
    // The format encodes the rows into the held file as they come: straight from `values`.
    for (size_t pos = begin; pos < end;) {
      KL_RETURN_IF_ERROR(EnsureOpen());
      size_t take = std::min(end - pos, kStagingRows);
      if (file_rows_ == 0) min_seq_ = first_seq + static_cast<int64_t>(pos - begin);
      if (!writer_->ComputesStatistics()) stats_->Update(values, pos, pos + take);
      KL_RETURN_IF_ERROR(writer_->Write(values, pos, pos + take));
      file_rows_ += static_cast<int64_t>(take);
      records_ += static_cast<int64_t>(take);
      pos += take;
      max_seq_ = first_seq + static_cast<int64_t>(pos - begin) - 1;
      if (static_cast<int64_t>(writer_->EstimatedSize()) >= options_.target_file_size) KL_RETURN_IF_ERROR(FinishFile());
    }
    return Status::OK();
  }
  size_t pos = begin;
  while (pos < end) {
    KL_RETURN_IF_ERROR(EnsureOpen());
    size_t take = std::min(end - pos, kStagingRows - staging_.num_rows());
    if (staging_.num_rows() == 0 && file_rows_ == 0) min_seq_ = first_seq + static_cast<int64_t>(pos - begin);
    auto& cols = staging_.mutable_columns();
    for (size_t c = 0; c < values.num_columns(); ++c) cols[c].AppendRange(values.column(c), pos, pos + take);
    staging_.SetNumRows(staging_.num_rows() + take);
    pos += take;
    max_seq_ = first_seq + static_cast<int64_t>(pos - begin) - 1;
    records_ += static_cast<int64_t>(take);
    if (staging_.num_rows() >= kStagingRows) KL_RETURN_IF_ERROR(FlushStaging(true));
  }
  return Status::OK();
}

Result<std::vector<DataFileMeta>> DataFileWriter::Close() {
  KL_RETURN_IF_ERROR(FinishFile());
  if (twins_) KL_RETURN_IF_ERROR(WriteTwins());
  return std::move(done_);
}

void DataFileWriter::Abort() {
  writer_.reset();
  kept_.clear();
  for (const auto& p : written_paths_) (void)RemoveFile(p);
  written_paths_.clear();
  done_.clear();
  twin_sources_.clear();
  twin_kept_bytes_ = 0;
  twins_done_.clear();
}

Result<DataFileMeta> ConcatAvroDataFiles(const TableSchema& schema, const PathFactory& paths,
                                         const std::string& partition, int32_t bucket,
                                         const std::vector<DataFileMeta>& files, int stats_truncate, bool sync) {
  if (files.empty()) return Status::InvalidArgument("nothing to concatenate");
  const std::vector<DataType> types = TypesOf(schema.fields);
  for (const auto& f : files) {
    if (f.schema_id != schema.id || f.external_path || f.value_stats_cols || !f.value_stats.null_counts ||
        f.file_name.size() < 5 || f.file_name.compare(f.file_name.size() - 5, 5, ".avro") != 0) {
      return Status::NotSupported("file " + f.file_name + " cannot be concatenated");
    }
  }
  std::vector<std::unique_ptr<format::avro::AvroReader>> readers;
  for (const auto& f : files) {
    KL_ASSIGN_OR_RETURN(auto r, format::avro::AvroReader::Open(paths.DataFilePath(partition, bucket, f)));
    if (!readers.empty() && (r->codec() != readers[0]->codec() ||
                             r->metadata().at("avro.schema") != readers[0]->metadata().at("avro.schema"))) {
      return Status::NotSupported("file " + f.file_name + " differs in schema or codec");
    }
    readers.push_back(std::move(r));
  }
  // Combined statistics: min of the minimums, max of the maximums, summed null counts.
  size_t n = types.size();
  std::vector<Datum> mins(n), maxs(n);
  std::vector<int64_t> nulls(n, 0);
  int64_t rows = 0;
  for (const auto& f : files) {
    KL_ASSIGN_OR_RETURN(Row lo, DeserializeBinaryRow(f.value_stats.min_values, types));
    KL_ASSIGN_OR_RETURN(Row hi, DeserializeBinaryRow(f.value_stats.max_values, types));
    if (lo.size() != n || hi.size() != n || f.value_stats.null_counts->size() != n) {
      return Status::NotSupported("file " + f.file_name + " has statistics of another arity");
    }
    for (size_t c = 0; c < n; ++c) {
      const auto& nc = (*f.value_stats.null_counts)[c];
      if (!nc) return Status::NotSupported("file " + f.file_name + " lacks a null count");
      nulls[c] += *nc;
      if (!lo[c].is_null() && (mins[c].is_null() || format::CompareDatum(lo[c], mins[c]) < 0)) mins[c] = lo[c];
      if (!hi[c].is_null() && (maxs[c].is_null() || format::CompareDatum(hi[c], maxs[c]) > 0)) maxs[c] = hi[c];
    }
    rows += f.row_count;
  }
  std::string name = paths.NewFileName("data-", "avro");
  std::string dir = paths.BucketDir(partition, bucket);
  std::string path = JoinPath(dir, name);
  format::avro::AvroWriterOptions opts;
  opts.codec = readers[0]->codec();
  opts.sync = sync;
  KL_ASSIGN_OR_RETURN(auto writer, format::avro::AvroWriter::Open(path, schema.fields, opts));
  auto fail = [&](const Status& st) {
    writer.reset();
    (void)RemoveFile(path);
    return st;
  };
  if (format::avro::AvroSchemaToJson(writer->schema()) != readers[0]->metadata().at("avro.schema")) {
    return fail(Status::NotSupported("files were written with another Avro schema"));
  }
  for (auto& r : readers) {
    while (true) {
      int64_t count = 0;
      std::string_view block;
      auto more = r->NextRawBlock(&count, &block);
      if (!more.ok()) return fail(more.status());
      if (!*more) break;
      Status st = writer->AppendRawBlock(count, block);
      if (!st.ok()) return fail(st);
    }
  }
  if (static_cast<int64_t>(writer->rows_written()) != rows) {
    return fail(Status::Corruption("concatenating " + std::to_string(files.size()) + " files into " + name + ": " +
                                   std::to_string(writer->rows_written()) + " records, the manifest says " +
                                   std::to_string(rows)));
  }
  auto size = writer->Close();
  if (!size.ok()) return fail(size.status());
  DataFileMeta meta;
  meta.file_name = name;
  meta.file_size = static_cast<int64_t>(*size);
  meta.row_count = rows;
  meta.min_key = SerializeBinaryRow({}, {});
  meta.max_key = meta.min_key;
  meta.key_stats = SimpleStats::Empty();
  meta.value_stats = ComputeStats(mins, maxs, nulls, types, stats_truncate);
  meta.min_sequence_number = files.front().min_sequence_number;
  meta.max_sequence_number = files.back().max_sequence_number;
  for (const auto& f : files) {
    meta.min_sequence_number = std::min(meta.min_sequence_number, f.min_sequence_number);
    meta.max_sequence_number = std::max(meta.max_sequence_number, f.max_sequence_number);
  }
  meta.delete_row_count = 0;
  meta.schema_id = schema.id;
  meta.level = 0;
  meta.creation_time_millis = NowMillis();
  meta.file_source = static_cast<int32_t>(FileSource::kCompact);
  return meta;
}

Result<const TableSchema*> SchemaCache::Get(int64_t id) {
  auto it = schemas_.find(id);
  if (it != schemas_.end()) return it->second.get();
  KL_ASSIGN_OR_RETURN(TableSchema s, manager_.Read(id));
  auto owned = std::make_unique<TableSchema>(std::move(s));
  const TableSchema* ptr = owned.get();
  schemas_[id] = std::move(owned);
  return ptr;
}

namespace {

// A file not (or no longer) kept, read by followers with different columns: decoded once
// with the columns of them all (RecentFiles::DecodeOnce), or null when this reader alone
// reads there or another's decode was not kept (then it reads the file itself).
Result<std::shared_ptr<const FileRows>> DecodeOnceForAll(const std::string& path, const std::string& table_path,
                                                         const TableSchema& file_schema, const RowType& file_read_type,
                                                         const TableOptions& options) {
  RecentFiles& recent = RecentFiles::Get();
  std::vector<std::string> shared = recent.SharedColumns(table_path);
  if (shared.empty()) return std::shared_ptr<const FileRows>();
  // In the file read type's layout: the file schema's columns, then the key-value ones.
  std::vector<DataField> fields;
  auto wanted = [&](const std::string& name) { return std::find(shared.begin(), shared.end(), name) != shared.end(); };
  for (const auto& f : file_schema.fields.fields()) {
    if (wanted(f.name)) fields.push_back(f);
  }
  for (const auto& f : file_read_type.fields()) {
    if (file_schema.fields.IndexOfId(f.id) < 0 && wanted(f.name)) fields.push_back(f);
  }
  RowType type(std::move(fields));
  return recent.DecodeOnce(path, [&]() -> Result<std::shared_ptr<const FileRows>> {
    KL_ASSIGN_OR_RETURN(std::unique_ptr<FileFormat> format, FileFormatForPath(path, options));
    auto reader = format->NewReader(path, type, FormatReadOptions{});
    if (!reader.ok()) return reader.status().WithContext("opening " + path);
    auto rows = std::make_shared<FileRows>();
    rows->type = type;
    size_t bytes = 0;
    while (true) {
      ColumnBatch chunk(type);
      KL_ASSIGN_OR_RETURN(size_t n, (*reader)->Read(8192, &chunk));
      if (n == 0) break;
      // Rows the cache could not keep would only hold the others up: each reads on its own.
      bytes += chunk.UsedBytes();
      if (bytes > recent.max_file_bytes()) return std::shared_ptr<const FileRows>();
      rows->rows += static_cast<int64_t>(n);
      rows->chunks.push_back(std::move(chunk));
    }
    return std::shared_ptr<const FileRows>(std::move(rows));
  });
}

}  // namespace

Result<std::unique_ptr<DataFileReader>> DataFileReader::Open(const std::string& path, const DataFileMeta& file,
                                                             const TableSchema& file_schema, const RowType& read_type,
                                                             bool key_value, const TableOptions& options,
                                                             const DataFileReadExtras& extras) {
  std::unique_ptr<DataFileReader> r(new DataFileReader());
  r->path_ = path;
  r->read_type_ = read_type;
  r->key_value_ = key_value;
  r->next_seq_ = file.min_sequence_number;
  r->deletion_vector_ = extras.deletion_vector;
  if (auto zone = options.Get("kubelake.local-time-zone")) {
    auto offset = ParseTimeZoneOffset(*zone);
    if (!offset.ok()) return offset.status().WithContext("option kubelake.local-time-zone");
    r->cast_.time_zone_offset_millis = *offset;
  }
  if (r->deletion_vector_ && r->deletion_vector_->empty()) r->deletion_vector_.reset();
  std::vector<DataField> fields;
  for (const auto& f : read_type.fields()) {
    int idx = file_schema.fields.IndexOfId(f.id);
    if (idx < 0) {
      r->source_.push_back(-1);
      continue;
    }
    r->source_.push_back(static_cast<int>(fields.size()));
    fields.push_back(file_schema.fields.field(static_cast<size_t>(idx)));
  }
  if (key_value) {
    r->seq_column_ = static_cast<int>(fields.size());
    fields.push_back({kSequenceNumberFieldId, kSequenceNumberField, DataType::BigInt().NotNull(), ""});
    r->kind_column_ = static_cast<int>(fields.size());
    fields.push_back({kValueKindFieldId, kValueKindField, DataType::TinyInt().NotNull(), ""});
  }
  r->file_read_type_ = RowType(std::move(fields));
  FormatReadOptions read;
  // Statistics skipping drops rows, which would shift the positions a deletion vector names.
  if (!extras.skip_by_stats.empty() && !r->deletion_vector_) {
    std::vector<std::pair<int, PredicateLeaf>> leaves;  // (column in file_read_type_, leaf)
    for (const auto& leaf : extras.skip_by_stats) {
      int i = read_type.IndexOf(leaf.field);
      if (i < 0) continue;
      int s = r->source_[static_cast<size_t>(i)];
      // A column the file lacks reads as null: only IS NULL can match it, which the
      // statistics cannot tell here, so such leaves are left to the exact filter.
      if (s < 0) continue;
      const DataType& stored = r->file_read_type_.type(static_cast<size_t>(s));
      if (stored.root() != read_type.type(static_cast<size_t>(i)).root()) continue;
      leaves.emplace_back(s, leaf);
      if (std::find(read.may_match_columns.begin(), read.may_match_columns.end(), s) == read.may_match_columns.end()) {
        read.may_match_columns.push_back(s);
      }
    }
    if (!leaves.empty()) {
      read.may_match = [leaves](const RangeLookup& stats) {
        for (const auto& [column, leaf] : leaves) {
          if (!LeafMayMatch(leaf, stats(column))) return false;
        }
        return true;
      };
    }
  }
  // A read by key of a sorted (key-value) file: from its decoded copy when one is kept,
  // only the rows of the key ranges the conditions allow. Deletion vectors name file
  // positions, so files with one are read as usual.
  if (key_value && !extras.key_leaves.empty() && !r->deletion_vector_) {
    KL_ASSIGN_OR_RETURN(std::shared_ptr<const DecodedFile> decoded,
                        DecodedForKeyRead(path, file, file_schema, options));
    if (decoded && decoded->rows > 0) {
      std::vector<int> key_columns;
      for (const auto& name : file_schema.TrimmedPrimaryKeys()) {
        int f = file_schema.fields.IndexOf(name);
        key_columns.push_back(f < 0 ? -1
                                    : decoded->type.IndexOfId(file_schema.fields.field(static_cast<size_t>(f)).id));
      }
      std::vector<int> leaf_columns;
      for (const auto& leaf : extras.key_leaves) {
        int i = read_type.IndexOf(leaf.field);
        int c = i < 0 ? -1 : decoded->type.IndexOfId(read_type.field(static_cast<size_t>(i)).id);
        // A condition on a column whose type changed since the file was written is not searched.
        if (c >= 0 &&
            decoded->type.type(static_cast<size_t>(c)).root() != read_type.type(static_cast<size_t>(i)).root()) {
          c = -1;
        }
        leaf_columns.push_back(c);
      }
      if (std::find(key_columns.begin(), key_columns.end(), -1) == key_columns.end()) {
        std::vector<std::pair<size_t, size_t>> by_rows;
        size_t prefix = 0;
        if (extras.key_rows) {
          // Whole key rows first; leaves on the columns they cover add nothing then (the
          // IN lists of those columns are what the rows are made of).
          std::vector<int> row_columns;
          for (const auto& name : extras.key_rows->fields) {
            int i = read_type.IndexOf(name);
            int c = i < 0 ? -1 : decoded->type.IndexOfId(read_type.field(static_cast<size_t>(i)).id);
            if (c >= 0 &&
                decoded->type.type(static_cast<size_t>(c)).root() != read_type.type(static_cast<size_t>(i)).root()) {
              c = -1;
            }
            row_columns.push_back(c);
          }
          by_rows = KeyRowsRanges(*decoded, key_columns, row_columns, extras.key_rows->rows, &prefix);
          for (size_t l = 0; l < leaf_columns.size(); ++l) {
            if (std::find(key_columns.begin(), key_columns.begin() + static_cast<long>(prefix), leaf_columns[l]) !=
                key_columns.begin() + static_cast<long>(prefix)) {
              leaf_columns[l] = -1;
            }
          }
        }
        auto ranges = KeyRowRanges(*decoded, key_columns, extras.key_leaves, leaf_columns);
        if (prefix > 0) ranges = IntersectRanges(ranges, by_rows);
        if (auto reader = DecodedRangesReader::Create(decoded, r->file_read_type_, std::move(ranges))) {
          r->reader_ = std::move(reader);
          return r;
        }
      }
    }
  }
  std::shared_ptr<const FileRows> kept = RecentFiles::Get().Find(path);
  if (!kept && !extras.share_decodes_of.empty() && !r->deletion_vector_) {
    KL_ASSIGN_OR_RETURN(kept,
                        DecodeOnceForAll(path, extras.share_decodes_of, file_schema, r->file_read_type_, options));
  }
  if (kept) {
    // Written by this process moments ago (a changelog file), or decoded for all its
    // readers: its rows, not its bytes.
    if (auto reader = KeptRowsReader::Create(kept, r->file_read_type_)) {
      r->reader_ = std::move(reader);
      // Read in place when no read column needs a cast (or reads as null).
      bool in_place = !r->deletion_vector_;
      std::vector<int> columns;
      for (size_t i = 0; in_place && i < read_type.size(); ++i) {
        int s = r->source_[i];
        in_place = s >= 0 && r->file_read_type_.type(static_cast<size_t>(s)).EqualsIgnoreNullable(read_type.type(i));
        if (in_place) columns.push_back(kept->type.IndexOf(r->file_read_type_.field(static_cast<size_t>(s)).name));
      }
      if (in_place && key_value) {
        r->kept_kind_column_ = kept->type.IndexOf(kValueKindField);
        in_place = r->kept_kind_column_ >= 0;
      }
      if (in_place) {
        r->kept_ = std::move(kept);
        r->kept_columns_ = std::move(columns);
      }
      return r;
    }
  }
  KL_ASSIGN_OR_RETURN(r->format_, FileFormatForPath(path, options));
  auto reader = r->format_->NewReader(path, r->file_read_type_, read);
  if (!reader.ok()) return reader.status().WithContext("opening " + path);
  r->reader_ = std::move(reader).value();
  return r;
}

Result<size_t> DataFileReader::NextInPlace(size_t max_rows, InPlaceRows* out) {
  out->kinds.clear();
  out->chunk = nullptr;
  out->begin = out->end = 0;
  if (kept_ == nullptr) return Status::Internal(path_ + ": not read in place");
  while (kept_chunk_ < kept_->chunks.size() && kept_row_ >= kept_->chunks[kept_chunk_].num_rows()) {
    ++kept_chunk_;
    kept_row_ = 0;
  }
  if (kept_chunk_ >= kept_->chunks.size() || max_rows == 0) return size_t{0};
  const ColumnBatch& chunk = kept_->chunks[kept_chunk_];
  const size_t begin = kept_row_, end = std::min(chunk.num_rows(), begin + max_rows), n = end - begin;
  out->kinds.resize(n);
  if (key_value_) {
    const Column& kind = chunk.column(static_cast<size_t>(kept_kind_column_));
    for (size_t k = 0; k < n; ++k) {
      int64_t v = kind.GetInt(begin + k);
      if (v < 0 || v > 3) return Status::Corruption(path_ + ": row kind " + std::to_string(v) + " out of range");
      out->kinds[k] = static_cast<RowKind>(v);
    }
  } else {
    std::fill(out->kinds.begin(), out->kinds.end(), RowKind::kInsert);
    next_seq_ += static_cast<int64_t>(n);
  }
  out->chunk = &chunk;
  out->begin = begin;
  out->end = end;
  kept_row_ = end;
  position_ += static_cast<int64_t>(n);
  return n;
}

size_t DataFileReader::ApplyDeletionVector(ColumnBatch* raw, size_t n) {
  int64_t first = position_ - static_cast<int64_t>(n);
  std::vector<size_t> keep;
  keep.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    if (!deletion_vector_->IsDeleted(first + static_cast<int64_t>(k))) keep.push_back(k);
  }
  if (keep.size() == n) return n;
  rows_deleted_ += static_cast<int64_t>(n - keep.size());
  for (auto& col : raw->mutable_columns()) {
    Column kept(col.type());
    kept.AppendGather(col, keep.data(), keep.size());
    col = std::move(kept);
  }
  raw->SetNumRows(keep.size());
  return keep.size();
}

Result<size_t> DataFileReader::Next(size_t max_rows, KvBatch* out) {
  if (reset_raw_ || raw_.num_columns() != file_read_type_.size()) raw_ = ColumnBatch(file_read_type_);
  reset_raw_ = false;
  ColumnBatch& raw = raw_;
  raw.Clear();
  size_t n = 0;
  while (true) {
    auto read = reader_->Read(max_rows, &raw);
    if (!read.ok()) return read.status().WithContext("reading " + path_);
    n = *read;
    position_ += static_cast<int64_t>(n);
    if (n == 0 || !deletion_vector_) break;
    n = ApplyDeletionVector(&raw, n);
    if (n > 0) break;
    raw.Clear();  // every row of the batch was deleted: read on
  }
  // A batch of this reader's layout (a cursor's recycled chunk) is refilled in place:
  // its emptied buffers go to the format reader for the next chunk.
  bool reusable = out->values.num_columns() == read_type_.size();
  for (size_t i = 0; reusable && i < read_type_.size(); ++i)
    reusable = out->values.column(i).type() == read_type_.type(i);
  if (reusable) {
    out->Clear();
    out->merged = true;
  } else {
    *out = KvBatch(read_type_, /*merged_records=*/true);
  }
  if (n == 0) return size_t{0};
  auto& src = raw.mutable_columns();
  auto& dst = out->values.mutable_columns();
  // A format may hand a column back in its own spelling of the stored type (Parquet:
  // STRING for VARCHAR(n), TIMESTAMP(9) for an INT96 TIMESTAMP_LTZ(9), MAP for MULTISET):
  // take it as the type the file's schema declares, so casts start from the right type.
  for (size_t s = 0; s < src.size(); ++s) {
    const DataType& stored = file_read_type_.type(s);
    Column& col = src[s];
    if (col.type().EqualsIgnoreNullable(stored) || col.kind() != stored.physical()) continue;
    Column retyped(stored);
    retyped.AppendRange(col, 0, n);
    col = std::move(retyped);
    reset_raw_ = true;  // the next chunk starts from the format's own columns again
  }
  for (size_t i = 0; i < read_type_.size(); ++i) {
    int s = source_[i];
    const DataType& want = read_type_.type(i);
    if (s < 0) {
      Column nulls(want);
      nulls.Reserve(n);
      for (size_t k = 0; k < n; ++k) nulls.AppendNull();
      dst[i] = std::move(nulls);
    } else if (src[static_cast<size_t>(s)].type().EqualsIgnoreNullable(want)) {
      dst[i].SwapValues(src[static_cast<size_t>(s)]);
    } else {
      auto cast = CastColumn(src[static_cast<size_t>(s)], want, cast_);
      if (!cast.ok()) return cast.status().WithContext("reading " + path_ + " column " + read_type_.field(i).name);
      dst[i] = std::move(cast).value();
    }
  }
  out->values.SetNumRows(n);
  out->seq.resize(n);
  out->kinds.resize(n);
  if (key_value_) {
    const Column& seq = raw.column(static_cast<size_t>(seq_column_));
    const Column& kind = raw.column(static_cast<size_t>(kind_column_));
    for (size_t k = 0; k < n; ++k) {
      out->seq[k] = seq.GetInt(k);
      int64_t v = kind.GetInt(k);
      if (v < 0 || v > 3) return Status::Corruption(path_ + ": row kind " + std::to_string(v) + " out of range");
      out->kinds[k] = static_cast<RowKind>(v);
    }
  } else {
    for (size_t k = 0; k < n; ++k) {
      out->seq[k] = next_seq_++;
      out->kinds[k] = RowKind::kInsert;
    }
  }
  return n;
}

}  // namespace kl::table
