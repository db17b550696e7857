// Deletion vectors: the positions of deleted rows of one data file, as Java
// Paimon stores them for primary-key tables with `deletion-vectors.enabled`.
// A compaction that finds a newer version of a key in a higher level marks
// the older row deleted instead of rewriting its file, so readers of files at
// levels > 0 need no merge. Vectors live in DV index files ("index-<uuid>-N",
// listed by the snapshot's index manifest); each entry of the index manifest
// names, per data file, the offset and length of its vector inside the file.
//
// Index file layout (Paimon's DeletionVectorsIndexFile):
//   1 byte version (1 or 2), then per vector:
//     int32 big-endian length L, L bytes of vector data, int32 big-endian CRC-32 of those L bytes
//   vector data, version 1: int32 big-endian magic 1581511376 + portable 32-bit Roaring bitmap
//   vector data, version 2: int32 little-endian magic 1681511377 + 64-bit Roaring bitmap
//     (uint64 LE count of 32-bit bitmaps, each uint32 LE high key + portable 32-bit bitmap)
// kubelake reads both; it does not write deletion vectors (its compactions
// rewrite files instead), apart from Serialize(), which tests use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/result.h"
#include "table/index/index_manifest.h"
#include "table/manifest/manifest.h"

namespace kl::table {

class DeletionVector {
 public:
  DeletionVector();
  ~DeletionVector();
  DeletionVector(DeletionVector&&) noexcept;
  DeletionVector& operator=(DeletionVector&&) noexcept;

  // From the vector data (magic + bitmap) of either version; `what` names it in errors.
  static Result<DeletionVector> Deserialize(std::string_view data, std::string_view what);
  static DeletionVector FromPositions(const std::vector<int64_t>& positions);

  bool IsDeleted(int64_t position) const;
  int64_t cardinality() const;
  bool empty() const { return cardinality() == 0; }
  // Version-1 vector data (magic + portable 32-bit bitmap); positions must be < 2^31.
  Result<std::string> Serialize() const;

 private:
  struct Bitmaps;
  std::unique_ptr<Bitmaps> bitmaps_;
};

// Where one data file's deletion vector is stored.
struct DeletionFile {
  std::string path;    // local path of the index file
  int64_t offset = 0;  // of the length prefix
  int64_t length = 0;  // of the vector data (without length prefix and CRC)
  std::optional<int64_t> cardinality;
};

// Reads and checks (length prefix, CRC) one deletion vector.
Result<DeletionVector> ReadDeletionVector(const DeletionFile& file);

// Frames vectors into a version-1 index file; returns the file bytes and, per vector, its
// (offset, length). For tests and tools: kubelake's writers do not produce deletion vectors.
std::string BuildDeletionVectorIndexFile(const std::vector<std::string>& vector_data,
                                         std::vector<std::pair<int64_t, int64_t>>* ranges);

// The live deletion files of a snapshot, by partition, bucket and data file name.
class DeletionVectorIndex {
 public:
  // `resolve` turns an index file of (partition, bucket) into a local path.
  using PathResolver =
      std::function<std::string(const std::string& partition, int32_t bucket, const IndexFileMeta& file)>;
  static DeletionVectorIndex Build(const std::vector<IndexManifestEntry>& entries, const PathResolver& resolve);

  // The data file's deletion vector location, or nullopt when it has none.
  std::optional<DeletionFile> Find(const std::string& partition, int32_t bucket, const std::string& data_file) const;
  bool empty() const { return files_.empty(); }

 private:
  std::map<std::pair<std::string, int32_t>, std::map<std::string, DeletionFile>> files_;
};

}  // namespace kl::table
