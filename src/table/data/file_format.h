// Data file formats behind one interface: Parquet (columnar, Paimon's default
// `file.format`) and Avro (row-oriented, for tables of large rows such as raw
// events). Readers decode only the requested columns, matching them to the
// file's columns by field id where the file carries ids (Parquet written by
// Paimon 1.x or kubelake), else by name (Avro, Parquet from Paimon 0.9).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "table/data/predicate.h"
#include "table/schema/options.h"

namespace kl::table {

// Flushes a closed file's data to disk (fdatasync through a fresh descriptor): for files closed
// before the caller knows they must be durable (manifests, synced together before a snapshot).
Status SyncFile(const std::string& path);

class FormatWriter {
 public:
  virtual ~FormatWriter() = default;
  virtual Status Write(const format::ColumnBatch& batch, size_t begin, size_t end) = 0;
  // Finishes the file; returns its size in bytes.
  virtual Result<uint64_t> Close() = 0;
  virtual uint64_t EstimatedSize() const = 0;
  // Heap bytes the writer holds (a held writer: the file's bytes so far).
  virtual size_t MemoryBytes() const { return 0; }
  // Whether Close() leaves per-column statistics in column_stats(), so callers
  // need not compute them again.
  virtual bool ComputesStatistics() const { return false; }
  // After Close(): min/max/null count of every column (no min/max for nested ones).
  virtual const std::vector<ValueRange>& column_stats() const {
    static const std::vector<ValueRange> kNone;
    return kNone;
  }
};

class FormatReader {
 public:
  virtual ~FormatReader() = default;
  // Appends up to `max_rows` rows to `out` (columns of the read type given at
  // open; a column may come back in the type the file stores, e.g. STRING for
  // VARCHAR(10), which the caller casts); 0 at the end.
  virtual Result<size_t> Read(size_t max_rows, format::ColumnBatch* out) = 0;
  // Rows passed over because their statistics ruled out a match (Parquet).
  virtual int64_t rows_skipped() const { return 0; }
};

// Statistics of read column `i` (index into the read type) over some rows, or nullptr.
using RangeLookup = std::function<const ValueRange*(int column)>;

struct FormatReadOptions {
  // Rows whose statistics make this answer false may be skipped (never required to be):
  // Parquet asks per row group and per page. Must treat unknown statistics as "may match".
  std::function<bool(const RangeLookup& stats)> may_match;
  std::vector<int> may_match_columns;  // the columns may_match looks at (empty: any)
  size_t batch_rows = 16384;           // a hint for the decode batch size
};

class FileFormat {
 public:
  virtual ~FileFormat() = default;
  virtual std::string name() const = 0;
  virtual std::string extension() const = 0;
  virtual Result<std::unique_ptr<FormatWriter>> NewWriter(const std::string& path,
                                                          const format::RowType& type) const = 0;
  // A writer that encodes (and compresses) rows as they come but holds the file's bytes in
  // memory, creating the file only at Close(): a write buffer of encoded rows for row
  // formats (Avro). Columnar formats lay a file out column by column at the end, so they
  // buffer rows anyway: NotSupported (see holds_encoded_rows()).
  virtual bool holds_encoded_rows() const { return false; }
  virtual Result<std::unique_ptr<FormatWriter>> NewHeldWriter(const std::string& path,
                                                              const format::RowType& type) const {
    (void)path;
    (void)type;
    return Status::NotSupported("the " + name() + " format holds no encoded rows");
  }
  // Reads the fields of `read_type` (ids and names as the file was written); fields the
  // file lacks read as null (NOT NULL ones are an error).
  virtual Result<std::unique_ptr<FormatReader>> NewReader(const std::string& path, const format::RowType& read_type,
                                                          const FormatReadOptions& options = {}) const = 0;
};

// Whether data files of `format` ("parquet", "avro") can be written with `compression`, a
// file.compression name; the error lists the names the format accepts.
Status CheckWriteCompression(const std::string& format, const std::string& compression);
// The format named `name` ("parquet", "avro") with the table's compression options; an error
// naming file.compression when the format cannot write it.
Result<std::unique_ptr<FileFormat>> CreateFileFormat(const std::string& name, const TableOptions& options);
// The format of an existing data file, from its extension.
Result<std::unique_ptr<FileFormat>> FileFormatForPath(const std::string& path, const TableOptions& options);

}  // namespace kl::table
