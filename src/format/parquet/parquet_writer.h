// ParquetWriter: writes ColumnBatch rows as a Parquet file that parquet-mr
// (Java Paimon) reads: Paimon's type mapping and field ids, row groups cut by
// size, pages v1 or v2, dictionary encoding with fallback, a choice of
// fallback encodings, every packaged codec, footer statistics and the page
// index. Close() reports what the table engine stores in Paimon manifests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/file/file_util.h"
#include "common/result.h"
#include "format/column.h"
#include "format/parquet/metadata/metadata.h"
#include "format/parquet/metadata/statistics.h"

namespace kl::format::parquet {

// The encoding of values that are not dictionary encoded (and of every value when the
// dictionary is off or outgrows its page).
enum class ValueEncoding : uint8_t {
  kPlain,            // PLAIN everywhere
  kDelta,            // DELTA_BINARY_PACKED ints, DELTA_BYTE_ARRAY byte arrays, RLE booleans
  kDeltaLength,      // DELTA_BINARY_PACKED ints, DELTA_LENGTH_BYTE_ARRAY byte arrays
  kByteStreamSplit,  // BYTE_STREAM_SPLIT floats and doubles, PLAIN elsewhere
};

struct ParquetWriterOptions {
  Codec codec = Codec::kZstd;
  int compression_level = 1;            // Paimon's default zstd level; 0 = the codec's default
  int64_t row_group_bytes = 128 << 20;  // buffered bytes at which a row group is cut
  int64_t page_bytes = 1 << 20;
  int64_t page_rows = 20000;  // rows per page at most (finer page-index skipping)
  int64_t dictionary_page_bytes = 1 << 20;
  bool dictionary = true;
  ValueEncoding encoding = ValueEncoding::kPlain;
  bool data_page_v2 = false;
  bool write_page_index = true;
  // fdatasync before Close() returns, so a snapshot never references a file that a crash
  // could still truncate. Callers that sync in bulk (or write to memory) turn it off.
  bool sync = true;
  std::vector<KeyValue> key_value_metadata;
};

struct ParquetWriteResult {
  uint64_t file_size = 0;
  int64_t num_rows = 0;
  // Per top-level column: null count, and min/max for atomic types (none for nested ones).
  std::vector<ColumnStatistics> column_stats;
};

class ParquetWriter {
 public:
  static Result<std::unique_ptr<ParquetWriter>> Open(const std::string& path, RowType schema,
                                                     ParquetWriterOptions options = {});
  // Writes into *sink (which must outlive the writer): for tests and in-memory files.
  static Result<std::unique_ptr<ParquetWriter>> OpenInMemory(std::string* sink, RowType schema,
                                                             ParquetWriterOptions options = {});
  ~ParquetWriter();

  // The batch's columns must have the writer's types (by position).
  Status Write(const ColumnBatch& batch);
  // Finishes the file (footer, page index). The writer is unusable afterwards.
  Result<ParquetWriteResult> Close();

  const RowType& schema() const { return schema_; }
  // Bytes written so far plus the buffered pages of the open row group (uncompressed for
  // the page being filled): what a file rolled at a target size is measured by.
  uint64_t EstimatedSize() const;

 private:
  class Impl;
  ParquetWriter(RowType schema, std::unique_ptr<Impl> impl);
  RowType schema_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kl::format::parquet
