// Data file formats behind one interface: Avro (row-oriented, for large rows
// such as raw events) and Parquet (columnar, Paimon's default). Readers match
// the requested columns by field id where the file carries ids, else by name.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "format/column.h"
#include "table/options.h"

namespace kl::table {

class FormatWriter {
 public:
  virtual ~FormatWriter() = default;
  virtual Status Write(const format::ColumnBatch& batch, size_t begin, size_t end) = 0;
  // Finishes the file; returns its size in bytes.
  virtual Result<uint64_t> Close() = 0;
  virtual uint64_t EstimatedSize() const = 0;
};

class FormatReader {
 public:
  virtual ~FormatReader() = default;
  // Appends up to `max_rows` rows to `out` (columns of out->schema()); 0 at the end.
  virtual Result<size_t> Read(size_t max_rows, format::ColumnBatch* out) = 0;
};

class FileFormat {
 public:
  virtual ~FileFormat() = default;
  virtual std::string name() const = 0;
  virtual std::string extension() const = 0;
  virtual Result<std::unique_ptr<FormatWriter>> NewWriter(const std::string& path, const format::RowType& type) const = 0;
  virtual Result<std::unique_ptr<FormatReader>> NewReader(const std::string& path) const = 0;
};

// The format named `name` ("avro", "parquet") with the table's compression options.
Result<std::unique_ptr<FileFormat>> CreateFileFormat(const std::string& name, const TableOptions& options);
// The format of an existing data file, from its extension.
Result<std::unique_ptr<FileFormat>> FileFormatForPath(const std::string& path, const TableOptions& options);

}  // namespace kl::table
