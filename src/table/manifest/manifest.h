// Manifests: which data files make up a snapshot. A snapshot names manifest
// lists (manifest-list-*), each listing manifest files (manifest-*), each
// listing entries that ADD or DELETE one data file in a partition and bucket.
// Records and field names are Paimon's (version 2), written as Avro.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::table {

// Min/max values (serialized BinaryRows) and null counts of some columns.
struct SimpleStats {
  std::string min_values;
  std::string max_values;
  std::optional<std::vector<std::optional<int64_t>>> null_counts;

  static SimpleStats Empty();  // arity-0 rows, no counts
};

enum class FileSource : int32_t { kAppend = 0, kCompact = 1 };

struct DataFileMeta {
  std::string file_name;
  int64_t file_size = 0;
  int64_t row_count = 0;
  std::string min_key;  // serialized BinaryRow of the trimmed primary key (empty key row for append tables)
  std::string max_key;
  SimpleStats key_stats;
  SimpleStats value_stats;
  int64_t min_sequence_number = 0;
  int64_t max_sequence_number = 0;
  int64_t schema_id = 0;
  int32_t level = 0;
  std::vector<std::string> extra_files;
  std::optional<int64_t> creation_time_millis;
  std::optional<int64_t> delete_row_count;
  std::optional<std::string> embedded_index;
  std::optional<int32_t> file_source;
  std::optional<std::vector<std::string>> value_stats_cols;
  std::optional<std::string> external_path;
  std::optional<int64_t> first_row_id;

  // Rows that add data (row_count minus retractions).
  int64_t add_row_count() const { return row_count - delete_row_count.value_or(0); }
};

enum class FileKind : int32_t { kAdd = 0, kDelete = 1 };

struct ManifestEntry {
  FileKind kind = FileKind::kAdd;
  std::string partition;  // serialized BinaryRow
  int32_t bucket = 0;
  int32_t total_buckets = 0;
  DataFileMeta file;

  // What ADD and DELETE entries of the same file share.
  std::string Identifier() const;
};

struct ManifestFileMeta {
  std::string file_name;
  int64_t file_size = 0;
  int64_t num_added_files = 0;
  int64_t num_deleted_files = 0;
  SimpleStats partition_stats;
  int64_t schema_id = 0;
  std::optional<int32_t> min_bucket, max_bucket, min_level, max_level;
};

// Reading and writing the Avro files, given the table's partition type (for partition stats).
class ManifestIO {
 public:
  ManifestIO(std::string manifest_dir, format::RowType partition_type, std::string compression, int64_t schema_id);

  // Writes `entries` into one or more manifest files of about `target_size` bytes.
  Result<std::vector<ManifestFileMeta>> WriteManifests(const std::vector<ManifestEntry>& entries,
                                                       int64_t target_size) const;
  // Reads go through a process-wide cache of decoded manifests and manifest
  // lists (immutable files with unique names); what a writer wrote is cached
  // as written. The *Uncached variants decode the file (path) every time.
  Result<std::vector<ManifestEntry>> ReadManifest(const std::string& file_name) const;
  Result<std::string> WriteManifestList(const std::vector<ManifestFileMeta>& metas, int64_t* size) const;
  Result<std::vector<ManifestFileMeta>> ReadManifestList(const std::string& file_name) const;
  Result<std::vector<ManifestEntry>> ReadManifestUncached(const std::string& path) const;
  Result<std::vector<ManifestFileMeta>> ReadManifestListUncached(const std::string& path) const;

  const std::string& dir() const { return dir_; }
  const format::RowType& partition_type() const { return partition_type_; }

 private:
  Result<ManifestFileMeta> WriteOneManifest(const std::vector<ManifestEntry>& entries, size_t begin, size_t end) const;
  SimpleStats PartitionStats(const std::vector<ManifestEntry>& entries, size_t begin, size_t end) const;

  std::string dir_;
  format::RowType partition_type_;
  std::string compression_;
  int64_t schema_id_;
};

// Reads a manifest, manifest list or index manifest into columns of `type` (fields matched
// by name): Avro, or ORC for tables Java Paimon wrote with manifest.format = orc.
Result<format::ColumnBatch> ReadMetadataFile(const std::string& path, const format::RowType& type);

// Merges entry streams in commit order: a DELETE cancels the earlier ADD of
// the same file. Returns the live files (all ADD).
Result<std::vector<ManifestEntry>> MergeEntries(const std::vector<ManifestEntry>& entries);

// Computes min/max/null-count stats for rows (used for keys, values and partitions).
// Strings longer than `truncate` characters are cut (max rounded up), as Paimon's truncate(n) mode.
SimpleStats ComputeStats(const std::vector<format::Datum>& mins, const std::vector<format::Datum>& maxs,
                         const std::vector<int64_t>& null_counts, const std::vector<format::DataType>& types,
                         int truncate);

}  // namespace kl::table
