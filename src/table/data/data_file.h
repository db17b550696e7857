// Data files of a table. Primary-key tables store key-value files: the
// trimmed primary key as _KEY_<name> columns, _SEQUENCE_NUMBER, _VALUE_KIND,
// then all value columns; append tables store just the values. Writers roll
// files at the target size and compute the DataFileMeta (key range, column
// statistics, sequence range) that manifests record. Readers map columns by
// field id, so files written under an older schema read in the current one.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "table/data/file_format.h"
#include "table/data/kv.h"
#include "table/data/predicate.h"
#include "table/index/deletion_vector.h"
#include "table/manifest/manifest.h"
#include "table/paths.h"
#include "table/schema/cast.h"
#include "table/schema/schema.h"

namespace kl::table {

// Paimon's reserved field ids (SpecialFields).
inline constexpr int32_t kKeyFieldIdStart = 1073741823;
inline constexpr int32_t kSequenceNumberFieldId = 2147483646;
inline constexpr int32_t kValueKindFieldId = 2147483645;
inline constexpr char kKeyFieldPrefix[] = "_KEY_";
inline constexpr char kSequenceNumberField[] = "_SEQUENCE_NUMBER";
inline constexpr char kValueKindField[] = "_VALUE_KIND";

// The column layout of a key-value data file for `schema`.
format::RowType KeyValueFileType(const TableSchema& schema);

struct FileRows;

struct DataFileWriterOptions {
  bool key_value = true;  // key-value file (primary-key table) or plain values (append table)
  int32_t level = 0;
  FileSource source = FileSource::kAppend;
  int64_t target_file_size = 128LL << 20;
  std::string prefix = "data-";
  int stats_truncate = 16;
  // Stats mode "none": no value statistics (key statistics of key-value files still are).
  bool no_value_stats = false;
  // Keep each finished file's rows in RecentFiles for readers in this process (changelog files).
  bool keep_rows = false;
  // Append files of a format that holds encoded rows (FileFormat::holds_encoded_rows): the
  // open file's rows are encoded as they come and held in memory until the file closes
  // (the caller's write buffer), taken straight from the caller's batch without staging.
  bool held = false;
  // Twins (a lookup changelog whose rows are exactly the data file's): when not empty, each
  // file is also published under a name of this prefix, as a copy of its bytes made at
  // Close(), unless DropTwins() came first. The rows are encoded once.
  std::string twin_prefix;
  bool twin_keep_rows = false;  // keep_rows for the twins (not the files themselves)
  bool twin_sync = false;       // fsync each twin (the format syncs the files it writes)
};

class DataFileWriter {
 public:
  DataFileWriter(const TableSchema& schema, const FileFormat* format, const PathFactory* paths, std::string partition,
                 int32_t bucket, DataFileWriterOptions options);
  ~DataFileWriter();

  // Key-value files: records must come in key order.
  Status Append(const KvBatch& batch, size_t row);
  // The values of `row` of `batch` with another kind and sequence number (changelog records).
  Status AppendAs(const KvBatch& batch, size_t row, format::RowKind kind, int64_t seq);
  Status AppendMerged(const format::Row& values, int64_t seq, format::RowKind kind);
  // Records [begin, end) of a key-ordered batch, copied in bulk.
  Status AppendBatch(const KvBatch& batch, size_t begin, size_t end);
  // All records of a key-ordered batch. Large batches go to the file without a copy:
  // the batch lends its value columns for the write and gets them back unchanged. With
  // `give_up`, a writer that keeps its files' rows may keep the columns themselves rather
  // than a copy: the batch is then left empty (no values, sequence numbers or kinds).
  Status AppendWholeBatch(KvBatch* batch, bool give_up = false);
  // Append files: rows [begin, end) of `values`, with sequence numbers from `first_seq`.
  Status AppendValues(const format::ColumnBatch& values, size_t begin, size_t end, int64_t first_seq);

  // Finishes the current file; returns every file written.
  Result<std::vector<DataFileMeta>> Close();
  // Writes no twins after all (before Close()).
  void DropTwins();
  // After Close(): the twins of the files written, in their order.
  std::vector<DataFileMeta> TakeTwins() { return std::move(twins_done_); }
  // Deletes the files written so far (after a failure).
  void Abort();

  int64_t records_written() const { return records_; }
  // Heap bytes of the open file's writer (a held file's bytes) and of the staged rows.
  size_t MemoryBytes() const;

 private:
  class Stats;
  Status EnsureOpen();
  Status FlushStaging(bool roll_check);
  // Writes rows of the file layout, updating key range, sequence range and stats.
  // With keep_rows, `movable` (the same rows, when the caller can give them up) is
  // kept instead of a copy.
  Status WriteFileBatch(const format::ColumnBatch& rows, bool roll_check, format::ColumnBatch* movable = nullptr);
  Status FinishFile();
  // Copies each finished file to its twin.
  Status WriteTwins();
  bool keeps_rows() const { return options_.keep_rows || (twins_ && options_.twin_keep_rows); }

  const TableSchema& schema_;
  const FileFormat* format_;
  const PathFactory* paths_;
  std::string partition_;
  int32_t bucket_;
  DataFileWriterOptions options_;
  format::RowType file_type_;
  std::vector<int> key_indexes_;        // trimmed key columns in the file layout
  std::vector<int> key_value_indexes_;  // the same columns among the values
  size_t value_offset_ = 0;             // first value column in the file layout

  std::unique_ptr<FormatWriter> writer_;
  std::string current_name_;
  format::ColumnBatch staging_;
  std::unique_ptr<Stats> stats_;
  int64_t file_rows_ = 0;
  int64_t file_deletes_ = 0;
  int64_t min_seq_ = 0, max_seq_ = 0;
  std::string min_key_, max_key_;
  std::vector<DataFileMeta> done_;
  std::vector<std::string> written_paths_;
  std::vector<format::ColumnBatch> kept_;  // keep_rows: the current file's rows
  bool keep_file_rows_ = false;            // keep_rows, and the current file's rows still fit the cache
  std::vector<int> kept_columns_;          // the columns of file_type_ kept (empty: all)
  format::RowType kept_type_;              // their layout
  size_t kept_bytes_ = 0;
  int64_t records_ = 0;
  // Twins still wanted, and the finished files they copy.
  bool twins_ = false;
  struct TwinOf {
    std::string path;
    DataFileMeta meta;
    std::shared_ptr<const FileRows> rows;  // twin_keep_rows: the file's rows, for the twin
  };
  std::vector<TwinOf> twin_sources_;
  size_t twin_kept_bytes_ = 0;  // the rows twin_sources_ holds
  std::vector<DataFileMeta> twins_done_;
};

// Append tables: concatenates Avro data files (in sequence order) into one by
// copying their compressed blocks, without decoding a record; the new file's
// statistics combine the inputs'. NotSupported when that cannot be done
// exactly (files of another format, schema or codec, external paths, no null
// counts): the caller then rewrites the rows.
Result<DataFileMeta> ConcatAvroDataFiles(const TableSchema& schema, const PathFactory& paths,
                                         const std::string& partition, int32_t bucket,
                                         const std::vector<DataFileMeta>& files, int stats_truncate, bool sync);

// Aborts the writers it holds when it leaves scope unless released: every
// early return of a failed write removes the files that write left behind.
class AbortOnExit {
 public:
  explicit AbortOnExit(std::initializer_list<DataFileWriter*> writers) : writers_(writers) {}
  ~AbortOnExit() {
    for (DataFileWriter* w : writers_) {
      if (w != nullptr) w->Abort();
    }
  }
  AbortOnExit(const AbortOnExit&) = delete;
  AbortOnExit& operator=(const AbortOnExit&) = delete;
  // The writes succeeded: their files are the caller's now.
  void Release() { writers_.clear(); }

 private:
  std::vector<DataFileWriter*> writers_;
};

// Reads the schema with a given id (files remember the schema they were written with).
class SchemaCache {
 public:
  explicit SchemaCache(std::string table_path) : manager_(std::move(table_path)) {}
  Result<const TableSchema*> Get(int64_t id);

 private:
  SchemaManager manager_;
  std::map<int64_t, std::unique_ptr<TableSchema>> schemas_;
};

// Values of some columns of a table (by name), one row per combination wanted.
struct KeyRows {
  std::vector<std::string> fields;
  std::vector<format::Row> rows;
};

// What a read of one data file may use beyond the columns it returns.
struct DataFileReadExtras {
  // Positions of rows to drop (Paimon deletion vectors).
  std::shared_ptr<const DeletionVector> deletion_vector;
  // Conditions on read columns that rows the caller wants must satisfy; the reader uses
  // them only to skip row groups and pages by statistics (never as an exact filter), and
  // only where the file stores the column in the read type (no cast in between).
  std::vector<PredicateLeaf> skip_by_stats;
  // Conditions on primary-key columns of a merged read (the file is sorted by key):
  // with a decoded copy of the file (DecodedFiles), only the key ranges they allow are
  // read. Like skip_by_stats, never an exact filter.
  std::vector<PredicateLeaf> key_leaves;
  // Merged reads: a hint that only rows whose key columns hold one of these rows are
  // wanted; a decoded copy of the file is then read only within their key ranges.
  std::shared_ptr<const KeyRows> key_rows;
  // When not empty, the path of the table whose readers in RecentFiles share decodes: a
  // file not kept there is decoded once for them all, with the columns of them all, and
  // kept for the others (RecentFiles::DecodeOnce).
  std::string share_decodes_of;
};

class DataFileReader {
 public:
  // Reads `file` (written under `file_schema`) into records with the columns of
  // `read_type` (fields of the current schema, matched by id). Columns the file
  // lacks read as null; changed types are cast.
  static Result<std::unique_ptr<DataFileReader>> Open(const std::string& path, const DataFileMeta& file,
                                                      const TableSchema& file_schema, const format::RowType& read_type,
                                                      bool key_value, const TableOptions& options,
                                                      const DataFileReadExtras& extras = {});

  // Reads up to `max_rows` records into a fresh batch; an empty batch at the end.
  Result<size_t> Next(size_t max_rows, KvBatch* out);
  // Rows passed over by statistics, and rows dropped by the deletion vector, so far.
  int64_t rows_skipped() const { return reader_ ? reader_->rows_skipped() : 0; }
  int64_t rows_deleted() const { return rows_deleted_; }

  // Rows of a file kept in memory (RecentFiles) read where they are: a caller that keeps
  // only some rows (a filter) copies just those, and just the columns it returns.
  struct InPlaceRows {
    const format::ColumnBatch* chunk = nullptr;  // a kept chunk; valid while the reader lives
    size_t begin = 0, end = 0;                   // its rows read, [begin, end)
    std::vector<format::RowKind> kinds;          // of those rows
  };
  // Whether NextInPlace may be used instead of Next: the file's rows are kept, every read
  // column is stored in its read type (no cast, none missing), and no deletion vector applies.
  bool reads_in_place() const { return kept_ != nullptr; }
  // Per read column: its column in the kept chunks (with reads_in_place).
  const std::vector<int>& in_place_columns() const { return kept_columns_; }
  // Reads the next up to `max_rows` records (within one kept chunk) in place; returns their
  // number, 0 at the end. Not to be mixed with Next.
  Result<size_t> NextInPlace(size_t max_rows, InPlaceRows* out);

 private:
  DataFileReader() = default;
  // Drops the rows of `raw` (file positions position_ - n .. position_) the deletion vector marks.
  size_t ApplyDeletionVector(format::ColumnBatch* raw, size_t n);

  std::string path_;
  std::unique_ptr<FileFormat> format_;
  std::unique_ptr<FormatReader> reader_;
  format::RowType read_type_;
  format::RowType file_read_type_;
  format::ColumnBatch raw_;  // the format reader's output, its buffers reused chunk after chunk
  bool reset_raw_ = false;
  std::vector<int> source_;  // per read column: column in file_read_type_, or -1
  bool key_value_ = true;
  int seq_column_ = -1;
  int kind_column_ = -1;
  int64_t next_seq_ = 0;  // append files: synthetic sequence numbers
  std::shared_ptr<const DeletionVector> deletion_vector_;
  int64_t position_ = 0;  // rows of the file read so far (positions are file row numbers)
  int64_t rows_deleted_ = 0;
  CastOptions cast_;
  std::shared_ptr<const FileRows> kept_;  // reads_in_place
  std::vector<int> kept_columns_;         // per read column: column of the kept chunks
  int kept_kind_column_ = -1;             // key-value files: the row kind's column there
  size_t kept_chunk_ = 0, kept_row_ = 0;  // the next row read in place
};

}  // namespace kl::table
