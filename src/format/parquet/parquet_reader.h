// ParquetReader: opens a Parquet file (mapped, or a buffer), exposes its schema
// as a kubelake RowType (with field ids when the file has them), its row groups
// and their statistics, and reads a projection of top-level columns into
// ColumnBatch in bounded batches. A caller-supplied predicate over statistics
// skips row groups (footer statistics) and pages (page index).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/file/file_util.h"
#include "common/result.h"
#include "format/column.h"
#include "format/parquet/metadata/metadata.h"
#include "format/parquet/metadata/schema.h"
#include "format/parquet/metadata/statistics.h"

namespace kl::format::parquet {

struct ParquetReadOptions {
  std::vector<int> columns;       // top-level file columns to read, in this order; empty = all
  size_t batch_rows = 64 * 1024;  // rows per batch at most
  StatsPredicate predicate;       // optional: skips row groups and pages that cannot match
  // Top-level file columns the predicate looks at (empty: any). Only their page indexes
  // are read: a narrow read of a file with small pages need not parse every column's.
  std::vector<int> predicate_columns;
  bool use_page_index = true;  // consult the page index for page skipping
};

class ParquetBatchReader;

class ParquetReader {
 public:
  static Result<std::unique_ptr<ParquetReader>> Open(const std::string& path);
  // The file as ParquetFileCache::Global() keeps it: opened once, reused while unchanged.
  static Result<std::shared_ptr<const ParquetReader>> OpenShared(const std::string& path);
  // Reads a file held in memory; `name` is used in error messages.
  static Result<std::unique_ptr<ParquetReader>> OpenBuffer(std::string data, std::string name);

  const std::string& name() const { return name_; }
  // Top-level columns as Paimon types. Without field ids (Paimon 0.9 files) ids are the
  // column positions and callers match columns by name.
  const RowType& schema() const { return schema_.row_type(); }
  bool has_field_ids() const { return schema_.has_field_ids(); }
  int64_t num_rows() const { return metadata_.num_rows; }
  size_t num_row_groups() const { return metadata_.row_groups.size(); }
  int64_t row_group_num_rows(size_t rg) const { return metadata_.row_groups[rg].num_rows; }
  // Statistics of top-level column `column` in row group `rg`; nested columns have none.
  const ColumnStatistics& statistics(size_t rg, size_t column) const { return stats_[rg][column]; }
  const FileMetaData& metadata() const { return metadata_; }
  const FileSchema& file_schema() const { return schema_; }
  std::string_view data() const { return data_; }

  // The batch reader borrows this reader, which must outlive it. A ParquetReader does not
  // change after Open, so several batch readers (on several threads) may share it.
  Result<std::unique_ptr<ParquetBatchReader>> NewBatchReader(ParquetReadOptions options) const;
  // All rows of the given columns (empty = all) in one batch: for small files and tests.
  Result<ColumnBatch> ReadAll(const std::vector<int>& columns = {}) const;

 private:
  ParquetReader() = default;
  Status Init();

  std::string name_;
  std::unique_ptr<MappedFile> mapped_;
  std::string owned_;
  std::string_view data_;
  FileMetaData metadata_;
  FileSchema schema_;
  std::vector<std::vector<ColumnStatistics>> stats_;
};

class ParquetBatchReader {
 public:
  ~ParquetBatchReader();
  // Replaces *out with the next batch; false when no rows are left.
  Result<bool> Next(ColumnBatch* out);

  int row_groups_skipped() const { return row_groups_skipped_; }
  int64_t rows_skipped() const { return rows_skipped_; }  // by the predicate, row groups and pages
  int64_t pages_skipped() const;                          // pages passed over without decoding

  class FieldReader;  // produces one column of a row group (defined in parquet_reader.cc)

 private:
  friend class ParquetReader;
  struct RowRange {
    int64_t begin, end;
  };
  ParquetBatchReader(const ParquetReader* file, ParquetReadOptions options, RowType schema);
  Status StartRowGroup(size_t rg, bool* selected);
  Result<std::vector<RowRange>> SelectRows(size_t rg);

  const ParquetReader* file_;
  ParquetReadOptions options_;
  RowType schema_;
  size_t next_row_group_ = 0;
  std::vector<std::unique_ptr<FieldReader>> readers_;
  std::vector<RowRange> ranges_;
  size_t range_index_ = 0;
  int64_t row_ = 0;  // next row of the current row group the readers will produce
  int row_groups_skipped_ = 0;
  int64_t rows_skipped_ = 0;
  int64_t pages_skipped_done_ = 0;
};

}  // namespace kl::format::parquet
