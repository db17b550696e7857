// Manifest merging at commit, as Paimon's ManifestFileMerger: the manifests a
// snapshot inherits (its predecessor's base and delta) become its base list,
// merged so their number stays bounded however many commits a table takes.
//
//  * Full compaction, when the manifests that must change (small ones, below
//    manifest.target-file-size, and any holding DELETE entries) add up to
//    manifest.full-compaction-threshold-size: every DELETE cancels its ADD,
//    the surviving ADDs of those manifests are rewritten into files of the
//    target size, and large manifests no DELETE touches are kept as they are
//    (without reading them, when their partition statistics rule out every
//    deleted file's partition).
//  * Otherwise minor compaction: consecutive manifests are merged once their
//    sizes add up to the target size, and a tail of at least
//    manifest.merge-min-count manifests is merged into one. Entries of the
//    same file cancel within a merge (ADD then DELETE); a DELETE whose ADD lies
//    in an earlier manifest stays.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "table/manifest/manifest.h"
#include "table/schema/options.h"

namespace kl::table {

struct ManifestMergeOptions {
  int64_t target_file_size = 8LL << 20;                 // manifest.target-file-size
  int min_count = 30;                                   // manifest.merge-min-count
  int64_t full_compaction_threshold_size = 16LL << 20;  // manifest.full-compaction-threshold-size

  static ManifestMergeOptions FromTable(const TableOptions& options);
};

// Merges `input` (in commit order) into the manifests of a new base list.
// Manifests it writes are appended to `written`, so a commit that fails later
// can remove them; the input manifests are never modified or deleted.
Result<std::vector<ManifestFileMeta>> MergeManifests(const ManifestIO& io, const std::vector<ManifestFileMeta>& input,
                                                     const ManifestMergeOptions& options,
                                                     std::vector<std::string>* written);

}  // namespace kl::table
