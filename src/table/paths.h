// Where a table's files live: snapshot/, schema/, manifest/, and data files
// under <partition path>/bucket-<n>/, with Paimon's names and escaping.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "format/types.h"
#include "table/index/deletion_vector.h"
#include "table/manifest/manifest.h"

namespace kl::table {

class PathFactory {
 public:
  PathFactory(std::string table_path, format::RowType partition_type, std::string default_partition_name);

  const std::string& table_path() const { return table_path_; }
  std::string ManifestDir() const;
  std::string IndexDir() const;
  // "dt=2024-01-01/hr=3" for a serialized partition row; "" for unpartitioned tables.
  std::string PartitionPath(const std::string& partition) const;
  std::string BucketDir(const std::string& partition, int32_t bucket) const;
  // A fresh, unique file name: <prefix><uuid>-<n>.<extension>.
  std::string NewFileName(const std::string& prefix, const std::string& extension) const;
  std::string DataFilePath(const std::string& partition, int32_t bucket, const DataFileMeta& file) const;
  std::string DataFilePath(const std::string& partition, int32_t bucket, const std::string& file_name) const;
  // A deletion-vector (or other) index file: its external path when it has one, else in
  // the bucket directory (index-file-in-data-file-dir) or in <table>/index/.
  std::string IndexFilePath(const std::string& partition, int32_t bucket, const IndexFileMeta& file,
                            bool in_data_file_dir) const;

  // Files written under external paths (data-file.external-paths) are found at their URI;
  // a table moved elsewhere maps the old external root `from` to a local directory `to`.
  void SetExternalPathRewrite(std::string from, std::string to);
  // The local path of an external path URI ("file:/x", "FILE:///x", "/x"), after the rewrite.
  std::string ExternalLocalPath(const std::string& uri) const;

 private:
  std::string table_path_;
  format::RowType partition_type_;
  std::string default_partition_name_;
  std::string uuid_;
  mutable std::atomic<uint64_t> counter_{0};
  std::string rewrite_from_, rewrite_to_;
};

// Paimon's partition path escaping (%XX for characters unsafe in paths).
std::string EscapePathName(std::string_view name);
// Partition value text as it appears in a path ("" and null become the default name).
std::string PartitionValueText(const format::Datum& value, const format::DataType& type, const std::string& default_name);

}  // namespace kl::table
