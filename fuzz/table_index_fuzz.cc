// libFuzzer target for the readers of table index files: dynamic bucket
// mode's HASH index files, index manifests (Avro) and deletion vectors. The
// first byte picks the reader; the rest is the file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/file/file_util.h"
#include "table/index/deletion_vector.h"
#include "table/index/hash_index.h"
#include "table/index/index_manifest.h"

using namespace kl::table;  // NOLINT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const std::string path = "/tmp/kubelake-fuzz-table-index-" + std::to_string(getpid());
  switch (data[0] % 3) {
    case 0: {
      (void)ParseHashIndex(file, "fuzz", -1);
      (void)ParseHashIndex(file, "fuzz", static_cast<int64_t>(file.size() / 4));
      if (!kl::WriteFile(path, file).ok()) return 0;
      IndexFileMeta meta{
          kHashIndex, "fuzz",      static_cast<int64_t>(file.size()), static_cast<int64_t>(file.size() / 4),
          {},         std::nullopt};
      (void)ReadHashIndexFile(path, meta);
      break;
    }
    case 1: {
      if (!kl::WriteFile(path, file).ok()) return 0;
      auto entries = ReadIndexManifest(path);
      if (entries.ok()) (void)CombineIndexEntries(*entries, *entries);
      break;
    }
    case 2: {
      (void)DeletionVector::Deserialize(file, "fuzz");
      if (!kl::WriteFile(path, file).ok()) return 0;
      // A vector framed at offset 1 (after the version byte), of the length its prefix claims.
      int64_t length = file.size() >= 5 ? (static_cast<uint8_t>(file[1]) << 24 | static_cast<uint8_t>(file[2]) << 16 |
                                           static_cast<uint8_t>(file[3]) << 8 | static_cast<uint8_t>(file[4]))
                                        : 0;
      (void)ReadDeletionVector(DeletionFile{path, 1, length, std::nullopt});
      break;
    }
  }
  return 0;
}
