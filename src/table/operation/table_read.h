// Reading splits into rows. Batch splits of primary-key tables are merged
// (one row per key, deleted keys dropped); streaming splits and append
// tables are read as stored, each row with its change kind. Only the
// projected columns (plus what merging needs) are decoded.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "format/column.h"
#include "table/data/predicate.h"
#include "table/mergetree/merge_reader.h"
#include "table/operation/scan.h"
#include "table/table_context.h"

namespace kl::table {

struct RowsWithKinds {
  format::ColumnBatch rows;
  std::vector<format::RowKind> kinds;

  size_t size() const { return kinds.size(); }
  bool empty() const { return kinds.empty(); }
};

class SplitReader {
 public:
  virtual ~SplitReader() = default;
  // Reads up to `max_rows` records and appends those that pass the read's filter
  // (all of them without one); returns the records read, 0 at the end of the split.
  virtual Result<size_t> Next(size_t max_rows, RowsWithKinds* out) = 0;
};

class TableRead {
 public:
  // `projection`: column names to return, in that order; empty for all columns.
  // `filter`: only rows that satisfy it are returned (after merging, for primary-key
  // tables); where that is safe it also skips Parquet row groups and pages by their
  // statistics: every condition for append tables and change reads, conditions on
  // primary-key columns for merged reads, none for files with deletion vectors.
  static Result<std::unique_ptr<TableRead>> Create(std::shared_ptr<TableContext> ctx,
                                                   std::vector<std::string> projection = {}, Predicate filter = {});

  // A hint for merged reads of primary-key tables: the caller keeps only rows whose
  // `fields` hold one of `rows`; files kept decoded are read only within their key ranges.
  // (The filter alone decides which rows are returned.)
  void NarrowToKeys(std::vector<std::string> fields, std::vector<format::Row> rows);
  // Files this read misses in RecentFiles are decoded once for every reader that said the
  // same (with the columns of them all) and kept for the others: for the jobs that follow
  // a table, which read the same files soon after one another.
  void ShareDecodes();
  TableRead(const TableRead&) = delete;  // the destructor ends the reader ShareDecodes() registered
  TableRead& operator=(const TableRead&) = delete;
  ~TableRead();

  const format::RowType& output_type() const { return output_type_; }
  Result<std::unique_ptr<SplitReader>> Open(const DataSplit& split);
  // Reads every split of a plan into one batch.
  Result<RowsWithKinds> ReadAll(const ScanPlan& plan);
  RowsWithKinds NewOutput() const;

 private:
  // Merged reads: the files whose key range cannot hold a key the filter's key conditions accept.
  void DropFilesOutsideKeyRange(std::vector<DataFileMeta>* files) const;
  TableRead() = default;
  std::shared_ptr<TableContext> ctx_;
  format::RowType output_type_;  // projected columns
  format::RowType read_type_;    // columns decoded (output + key + sequence fields + filter)
  std::vector<int> output_from_read_;
  Predicate filter_;
  std::vector<int> filter_columns_;          // per filter leaf: its column in read_type_
  std::vector<PredicateLeaf> key_leaves_;    // filter leaves on primary-key columns
  std::shared_ptr<const KeyRows> key_rows_;  // NarrowToKeys
  int64_t shared_reader_ = 0;                // ShareDecodes: its id in RecentFiles
};

}  // namespace kl::table
