// Index manifests: the snapshot's "indexManifest" names one Avro file that
// lists every live index file of the table — deletion vectors
// (DELETION_VECTORS) and the key-hash sets of dynamic bucket mode (HASH) —
// by partition and bucket, as Paimon's IndexManifestEntry records. Unlike
// data manifests it is not a delta: each commit that changes an index writes
// a complete new list, the previous one combined with the change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "table/manifest/manifest.h"

namespace kl::table {

struct DeletionVectorRange {
  std::string data_file;
  int32_t offset = 0;
  int32_t length = 0;
  std::optional<int64_t> cardinality;
};

struct IndexFileMeta {
  std::string index_type;  // "DELETION_VECTORS", "HASH", ...
  std::string file_name;
  int64_t file_size = 0;
  int64_t row_count = 0;
  std::vector<DeletionVectorRange> dv_ranges;
  std::optional<std::string> external_path;
};

struct IndexManifestEntry {
  FileKind kind = FileKind::kAdd;
  std::string partition;  // serialized BinaryRow
  int32_t bucket = 0;
  IndexFileMeta file;
};

inline constexpr char kDeletionVectorsIndex[] = "DELETION_VECTORS";
inline constexpr char kHashIndex[] = "HASH";

// Reads an index manifest (Avro or ORC, Paimon's IndexManifestEntry records).
Result<std::vector<IndexManifestEntry>> ReadIndexManifest(const std::string& path);
// Writes one as Avro with `compression` (Paimon's manifest.compression); returns its size in bytes.
Result<int64_t> WriteIndexManifest(const std::string& path, const std::vector<IndexManifestEntry>& entries,
                                   const std::string& compression = "zstd");

// The next index manifest's entries: `previous` (all ADD) with `changes` applied. DELETE
// entries go first, then ADD entries. Bucketed index types (HASH, and DELETION_VECTORS)
// hold one file per (partition, bucket, type). kubelake replaces one by a DELETE of the
// file it read and an ADD of the new one: a DELETE of a file that is not live there, or an
// ADD where a file stays live, means another writer changed that index since this one read
// it, and the result is Conflict (dynamic bucket mode takes one writer at a time). Other
// index types are keyed by file name. Types without changes pass through as they are.
Result<std::vector<IndexManifestEntry>> CombineIndexEntries(const std::vector<IndexManifestEntry>& previous,
                                                            const std::vector<IndexManifestEntry>& changes);

}  // namespace kl::table
