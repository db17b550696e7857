#include "table/index/hash_index.h"

#include "common/file/file_util.h"

namespace kl::table {

Result<std::vector<int32_t>> ParseHashIndex(std::string_view data, const std::string& what, int64_t expected_rows) {
  if (data.size() % 4 != 0) {
    return Status::Corruption("HASH index file " + what + " has " + std::to_string(data.size()) +
                              " bytes, not a whole number of 4-byte hashes (truncated?)");
  }
  size_t n = data.size() / 4;
  if (expected_rows >= 0 && static_cast<uint64_t>(expected_rows) != n) {
    return Status::Corruption("HASH index file " + what + " holds " + std::to_string(n) +
                              " hashes, the index manifest says " + std::to_string(expected_rows));
  }
  std::vector<int32_t> out(n);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  for (size_t i = 0; i < n; ++i, p += 4) {
    out[i] = static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]);
  }
  return out;
}

Result<std::vector<int32_t>> ReadHashIndexFile(const std::string& path, const IndexFileMeta& meta) {
  auto data = ReadFile(path);
  if (!data.ok()) {
    return data.status().WithContext("reading HASH index file " + meta.file_name + " of the dynamic-bucket index");
  }
  if (static_cast<int64_t>(data->size()) != meta.file_size) {
    return Status::Corruption("HASH index file " + path + " has " + std::to_string(data->size()) +
                              " bytes, the index manifest says " + std::to_string(meta.file_size) + " (truncated?)");
  }
  return ParseHashIndex(*data, path, meta.row_count);
}

std::string EncodeHashIndex(const std::vector<int32_t>& hashes) {
  std::string out(hashes.size() * 4, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  for (int32_t h : hashes) {
    auto v = static_cast<uint32_t>(h);
    *p++ = static_cast<unsigned char>(v >> 24);
    *p++ = static_cast<unsigned char>(v >> 16);
    *p++ = static_cast<unsigned char>(v >> 8);
    *p++ = static_cast<unsigned char>(v);
  }
  return out;
}

void HashToBucket::Reserve(size_t expected) {
  size_t capacity = 16;
  while (capacity * 3 < expected * 4 + 4) capacity *= 2;  // load factor <= 0.75
  if (capacity > keys_.size()) Grow(capacity);
}

void HashToBucket::Grow(size_t capacity) {
  std::vector<int32_t> old_keys = std::move(keys_);
  std::vector<int16_t> old_buckets = std::move(buckets_);
  keys_.assign(capacity, 0);
  buckets_.assign(capacity, -1);
  size_t mask = capacity - 1;
  for (size_t j = 0; j < old_keys.size(); ++j) {
    if (old_buckets[j] < 0) continue;
    size_t i = Slot(old_keys[j], mask);
    while (buckets_[i] >= 0) i = (i + 1) & mask;
    keys_[i] = old_keys[j];
    buckets_[i] = old_buckets[j];
  }
}

bool HashToBucket::Insert(int32_t hash, int16_t bucket) {
  if ((size_ + 1) * 4 > keys_.size() * 3) Grow(keys_.empty() ? 16 : keys_.size() * 2);
  size_t mask = keys_.size() - 1;
  size_t i = Slot(hash, mask);
  while (buckets_[i] >= 0) {
    if (keys_[i] == hash) return false;
    i = (i + 1) & mask;
  }
  keys_[i] = hash;
  buckets_[i] = bucket;
  ++size_;
  return true;
}

}  // namespace kl::table
