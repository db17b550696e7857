// What every reader and writer of one table shares: its schema and options,
// the data file format, paths, older schemas (for files written under them)
// and how keys of the current schema compare.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "table/data/data_file.h"
#include "table/data/file_format.h"
#include "table/data/kv.h"
#include "table/mergetree/merge_reader.h"
#include "table/paths.h"
#include "table/schema/schema.h"

namespace kl::table {

// What the files of one split are read with beyond their columns.
struct SplitReadExtras {
  std::map<std::string, std::shared_ptr<const DeletionVector>> deletion_vectors;  // by data file name
  std::vector<PredicateLeaf> skip_by_stats;                                       // see DataFileReadExtras
  std::vector<PredicateLeaf> key_leaves;                                          // see DataFileReadExtras
  std::shared_ptr<const KeyRows> key_rows;                                        // see DataFileReadExtras
  std::string share_decodes_of;                                                   // see DataFileReadExtras
};

// Reads the deletion vectors of `files` (data file name -> where its vector is).
Result<std::shared_ptr<SplitReadExtras>> LoadDeletionVectors(const std::map<std::string, DeletionFile>& files);

class TableContext {
 public:
  static Result<std::shared_ptr<TableContext>> Create(std::string path, TableSchema schema);

  const std::string& path() const { return path_; }
  const TableSchema& schema() const { return schema_; }
  const TableOptions& options() const { return options_; }
  // The format new data files are written in (file.format); an error when
  // this build cannot write it, which does not stop reading the table.
  Result<const FileFormat*> WriteFormat() const;
  // The format a primary-key table's data files of LSM level `level` are written in:
  // file.compression.per.level (Paimon's option, e.g. '0:none,5:zstd') where it names the
  // level, else WriteFormat(). Level-0 files are rewritten by the next compactions, so
  // compressing them seldom pays.
  Result<const FileFormat*> WriteFormat(int level) const;
  // The format changelog files are written in: changelog-file.format and
  // changelog-file.compression where set (Paimon's options), else WriteFormat().
  Result<const FileFormat*> ChangelogWriteFormat() const;
  // Whether changelog files are written exactly as level-`level` data files are (the same
  // format and compression, every other option shared): a changelog file of the rows of
  // such a data file may then be a copy of its bytes.
  bool ChangelogWritesLike(int level) const;
  const PathFactory& paths() const { return *paths_; }
  bool primary_key() const { return schema_.has_primary_key(); }

  // Key comparator over rows laid out as `value_type` (a subset of table columns).
  Result<KeyComparator> ComparatorFor(const format::RowType& value_type) const;
  // Comparator over full table rows.
  const KeyComparator& comparator() const { return comparator_; }
  const std::vector<format::DataType>& key_types() const { return key_types_; }

  // Opens data files of a bucket for reading as `read_type` records, with the
  // deletion vectors and statistics-skipping conditions of `extras`, if given.
  FileOpener OpenerFor(const std::string& partition, int32_t bucket, const format::RowType& read_type,
                       std::shared_ptr<const SplitReadExtras> extras = nullptr);
  Result<const TableSchema*> SchemaById(int64_t id);

 private:
  TableContext() = default;
  Status CreateLevelFormats();
  std::string path_;
  TableSchema schema_;
  TableOptions options_;
  std::unique_ptr<FileFormat> format_;
  Status format_status_;
  std::map<int, std::unique_ptr<FileFormat>> level_formats_;  // levels file.compression.per.level names
  Status level_formats_status_;
  std::unique_ptr<FileFormat> changelog_format_;  // null: the same as format_
  Status changelog_format_status_;
  std::unique_ptr<PathFactory> paths_;
  std::unique_ptr<SchemaCache> schemas_;
  std::mutex schemas_mu_;
  KeyComparator comparator_;
  std::vector<format::DataType> key_types_;
};

}  // namespace kl::table
