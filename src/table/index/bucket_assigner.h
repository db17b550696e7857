// Dynamic bucket mode (bucket = -1 on a primary-key table), as Paimon's
// HashBucketAssigner, PartitionIndex and DynamicBucketIndexMaintainer do it.
// A key's bucket is not a function of the key: the first time a key (its
// trimmed primary key's hash) is seen in a partition it goes to the first
// bucket with fewer than `dynamic-bucket.target-row-num` keys, or to a new
// bucket; from then on it stays there. The key hashes of each bucket are the
// table's HASH index files, listed by the snapshot's index manifest, so a
// restarted writer (or Java Paimon) finds every existing key's bucket.
//
// `dynamic-bucket.initial-buckets` = N spreads new keys over N buckets from
// the start, as Paimon's N parallel assigners do: a key belongs to assigner
// (|partition hash % N| + |key hash % N|) % N, which fills only the buckets
// b with b % N equal to its id. `dynamic-bucket.max-buckets` caps the buckets
// of a partition; past it new keys go to a random existing bucket.
//
// One writer at a time: the index is loaded once per partition and replaced
// at each commit; a commit finds it changed by someone else -> Conflict.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/random.h"
#include "common/result.h"
#include "table/index/hash_index.h"
#include "table/index/index_manifest.h"
#include "table/manifest/snapshot.h"
#include "table/table_context.h"

namespace kl::table {

class DynamicBucketAssigner {
 public:
  explicit DynamicBucketAssigner(std::shared_ptr<TableContext> ctx);
  ~DynamicBucketAssigner();

  // Starts from `snapshot` (none: an empty table): its index manifest's HASH files, and the
  // buckets that hold live data files (each must have a HASH file, or the index is incomplete).
  Status Restore(const std::optional<Snapshot>& snapshot,
                 const std::set<std::pair<std::string, int32_t>>& buckets_with_files);

  // The bucket of the key whose trimmed primary key hashes to `key_hash`, in `partition`
  // (serialized BinaryRow); a new key gets one.
  Result<int32_t> Assign(const std::string& partition, int32_t key_hash);

  // Writes a HASH index file for every bucket that gained keys since the last commit and
  // returns the index manifest changes (DELETE of the file replaced, ADD of the new one).
  Result<std::vector<IndexManifestEntry>> PrepareCommit();
  // After the commit: `landed` false when it was skipped (already committed), so the
  // files written stay unreferenced and the next commit writes the buckets again.
  void Committed(bool landed);

  // Partitions whose index is in memory, and keys in them (for tests and figures).
  size_t loaded_partitions() const { return partitions_.size(); }
  size_t loaded_keys() const;

 private:
  struct Bucket {
    std::vector<int32_t> hashes;           // every key hash of the bucket
    std::optional<IndexFileMeta> live;     // its committed HASH file
    std::optional<IndexFileMeta> written;  // written by PrepareCommit, not yet committed
    bool modified = false;
  };
  struct Partition {
    HashToBucket map;
    std::map<int32_t, Bucket> buckets;
    std::vector<std::set<int32_t>> non_full;  // per assigner: its buckets below the target
    std::vector<bool> upper_bound_reached;    // per assigner
    int32_t partition_hash = 0;
    int64_t idle_commits = 0;  // commits since the last Assign
    bool accessed = false;
  };

  Result<Partition*> Load(const std::string& partition);
  int32_t AssignerOf(const Partition& p, int32_t key_hash) const;
  std::string FilePath(const std::string& partition, int32_t bucket, const IndexFileMeta& file) const;

  std::shared_ptr<TableContext> ctx_;
  int64_t target_rows_;
  int32_t max_buckets_;  // -1: up to 32767
  int32_t assigners_;    // dynamic-bucket.initial-buckets (1 when unset)
  // Committed HASH files of every partition, loaded into memory or not.
  std::map<std::string, std::map<int32_t, IndexFileMeta>> live_files_;
  std::set<std::pair<std::string, int32_t>> buckets_with_files_;
  std::map<std::string, std::unique_ptr<Partition>> partitions_;
  // The partition of the previous Assign: rows of a batch mostly share one.
  const std::string* last_name_ = nullptr;
  Partition* last_ = nullptr;
  Random rng_;
};

}  // namespace kl::table
