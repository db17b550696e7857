// Dynamic bucket mode's key index, in Paimon's HASH index format: per
// (partition, bucket) one file "index-<uuid>-<n>" holding the 32-bit hash of
// every trimmed primary key ever written to that bucket, each a big-endian
// int32, nothing else (no header, no checksum). The index manifest entry
// records the file's size and the number of hashes (row count), which the
// reader checks. HashToBucket is the in-memory map from key hash to bucket
// that the bucket assigner keeps per partition (Paimon's Int2ShortHashMap).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "table/index/index_manifest.h"

namespace kl::table {

// The hashes of a HASH index file's bytes; `what` names the file in errors. `expected_rows`
// (the manifest's row count; -1: unknown) must match the number of hashes.
Result<std::vector<int32_t>> ParseHashIndex(std::string_view data, const std::string& what, int64_t expected_rows);
// Reads and checks the HASH index file at `path` against its manifest entry (size, row count).
Result<std::vector<int32_t>> ReadHashIndexFile(const std::string& path, const IndexFileMeta& meta);
// The bytes of a HASH index file.
std::string EncodeHashIndex(const std::vector<int32_t>& hashes);

// Open-addressing map from key hash to bucket id (0..32767): about 8-12 bytes per key.
class HashToBucket {
 public:
  HashToBucket() = default;
  explicit HashToBucket(size_t expected) { Reserve(expected); }

  // The bucket of `hash`, or -1.
  int32_t Find(int32_t hash) const {
    if (size_ == 0) return -1;
    size_t mask = keys_.size() - 1;
    for (size_t i = Slot(hash, mask);; i = (i + 1) & mask) {
      if (buckets_[i] < 0) return -1;
      if (keys_[i] == hash) return buckets_[i];
    }
  }
  // Maps `hash` to `bucket` unless it is mapped already; true when it was added.
  bool Insert(int32_t hash, int16_t bucket);
  size_t size() const { return size_; }
  void Reserve(size_t expected);

 private:
  static size_t Slot(int32_t hash, size_t mask) {
    // Key hashes are Murmur3 outputs already; a multiply spreads sequential ones too.
    uint64_t x = uint64_t{static_cast<uint32_t>(hash)} * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(x ^ (x >> 32)) & mask;
  }
  void Grow(size_t capacity);

  std::vector<int32_t> keys_;
  std::vector<int16_t> buckets_;  // -1: empty slot
  size_t size_ = 0;
};

}  // namespace kl::table
