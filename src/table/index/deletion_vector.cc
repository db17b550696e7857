#include "table/index/deletion_vector.h"

#include <roaring/roaring.h>
#include <zlib.h>

#include <algorithm>

#include "common/coding.h"
#include "common/file/file_util.h"
#include "format/avro/avro_file.h"

namespace kl::table {

using format::DataType;
using format::Datum;
using format::DatumList;
using format::RowType;

namespace {

constexpr int32_t kBitmap32Magic = 1581511376;  // version 1, big-endian
constexpr int32_t kBitmap64Magic = 1681511377;  // version 2, little-endian
constexpr uint8_t kIndexFileVersion = 1;

uint32_t Crc32(std::string_view data) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

// A portable 32-bit Roaring bitmap at the start of `data`; `consumed` gets its size.
Result<roaring_bitmap_t*> ReadPortableBitmap(std::string_view data, std::string_view what, size_t* consumed) {
  size_t size = roaring_bitmap_portable_deserialize_size(data.data(), data.size());
  if (size == 0) return Status::Corruption(std::string(what) + ": bad Roaring bitmap");
  roaring_bitmap_t* bitmap = roaring_bitmap_portable_deserialize_safe(data.data(), size);
  if (bitmap == nullptr) return Status::Corruption(std::string(what) + ": bad Roaring bitmap");
  *consumed = size;
  return bitmap;
}

}  // namespace

// The bitmaps of the 32-bit "high" keys of 64-bit positions (just key 0 for version 1).
struct DeletionVector::Bitmaps {
  std::vector<std::pair<uint32_t, roaring_bitmap_t*>> by_key;
  ~Bitmaps() {
    for (auto& [key, bitmap] : by_key) roaring_bitmap_free(bitmap);
  }
};

DeletionVector::DeletionVector() : bitmaps_(std::make_unique<Bitmaps>()) {}
DeletionVector::~DeletionVector() = default;
DeletionVector::DeletionVector(DeletionVector&&) noexcept = default;
DeletionVector& DeletionVector::operator=(DeletionVector&&) noexcept = default;

Result<DeletionVector> DeletionVector::Deserialize(std::string_view data, std::string_view what) {
  if (data.size() < 4) return Status::Corruption(std::string(what) + ": deletion vector shorter than its magic number");
  DeletionVector dv;
  if (static_cast<int32_t>(LoadBE32(data.data())) == kBitmap32Magic) {
    size_t used = 0;
    KL_ASSIGN_OR_RETURN(roaring_bitmap_t * bitmap, ReadPortableBitmap(data.substr(4), what, &used));
    dv.bitmaps_->by_key.emplace_back(0, bitmap);
    if (4 + used != data.size()) return Status::Corruption(std::string(what) + ": trailing bytes after the bitmap");
    return dv;
  }
  if (static_cast<int32_t>(LoadLE32(data.data())) == kBitmap64Magic) {
    if (data.size() < 12) return Status::Corruption(std::string(what) + ": truncated 64-bit deletion vector");
    uint64_t count = LoadLE64(data.data() + 4);
    size_t pos = 12;
    // Each bitmap takes at least 4 + 8 bytes: a count larger than that is corrupt.
    if (count > (data.size() - pos) / 12 + 1) return Status::Corruption(std::string(what) + ": bad bitmap count");
    for (uint64_t i = 0; i < count; ++i) {
      if (data.size() - pos < 4) return Status::Corruption(std::string(what) + ": truncated 64-bit deletion vector");
      uint32_t key = LoadLE32(data.data() + pos);
      pos += 4;
      if (!dv.bitmaps_->by_key.empty() && key <= dv.bitmaps_->by_key.back().first) {
        return Status::Corruption(std::string(what) + ": bitmap keys out of order");
      }
      size_t used = 0;
      KL_ASSIGN_OR_RETURN(roaring_bitmap_t * bitmap, ReadPortableBitmap(data.substr(pos), what, &used));
      dv.bitmaps_->by_key.emplace_back(key, bitmap);
      pos += used;
    }
    if (pos != data.size()) return Status::Corruption(std::string(what) + ": trailing bytes after the bitmaps");
    return dv;
  }
  return Status::Corruption(std::string(what) + ": unknown deletion vector magic number " +
                            std::to_string(static_cast<int32_t>(LoadBE32(data.data()))));
}

DeletionVector DeletionVector::FromPositions(const std::vector<int64_t>& positions) {
  DeletionVector dv;
  for (int64_t p : positions) {
    uint32_t key = static_cast<uint32_t>(static_cast<uint64_t>(p) >> 32);
    auto& v = dv.bitmaps_->by_key;
    auto it = std::lower_bound(v.begin(), v.end(), key, [](const auto& e, uint32_t k) { return e.first < k; });
    if (it == v.end() || it->first != key) it = v.emplace(it, key, roaring_bitmap_create());
    roaring_bitmap_add(it->second, static_cast<uint32_t>(p));
  }
  return dv;
}

bool DeletionVector::IsDeleted(int64_t position) const {
  if (position < 0) return false;
  uint32_t key = static_cast<uint32_t>(static_cast<uint64_t>(position) >> 32);
  for (const auto& [k, bitmap] : bitmaps_->by_key) {
    if (k == key) return roaring_bitmap_contains(bitmap, static_cast<uint32_t>(position));
    if (k > key) break;
  }
  return false;
}

int64_t DeletionVector::cardinality() const {
  uint64_t n = 0;
  for (const auto& [k, bitmap] : bitmaps_->by_key) n += roaring_bitmap_get_cardinality(bitmap);
  return static_cast<int64_t>(n);
}

Result<std::string> DeletionVector::Serialize() const {
  roaring_bitmap_t* low = nullptr;
  for (const auto& [k, bitmap] : bitmaps_->by_key) {
    bool has_high_bit = roaring_bitmap_get_cardinality(bitmap) > 0 && roaring_bitmap_maximum(bitmap) > 0x7fffffffu;
    if (k != 0 || has_high_bit) return Status::InvalidArgument("deletion vector position beyond 2^31 - 1");
    low = bitmap;
  }
  std::string out;
  PutFixed32BE(&out, static_cast<uint32_t>(kBitmap32Magic));
  if (low == nullptr) {
    roaring_bitmap_t* empty = roaring_bitmap_create();
    std::string bytes(roaring_bitmap_portable_size_in_bytes(empty), '\0');
    roaring_bitmap_portable_serialize(empty, bytes.data());
    roaring_bitmap_free(empty);
    return out + bytes;
  }
  std::string bytes(roaring_bitmap_portable_size_in_bytes(low), '\0');
  roaring_bitmap_portable_serialize(low, bytes.data());
  return out + bytes;
}

Result<DeletionVector> ReadDeletionVector(const DeletionFile& file) {
  std::string what = "deletion vector in " + file.path + " at offset " + std::to_string(file.offset);
  KL_ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(file.path));
  std::string_view data = mapped->data();
  if (file.offset < 0 || file.length < 0 ||
      static_cast<uint64_t>(file.offset) + 8 + static_cast<uint64_t>(file.length) > data.size()) {
    return Status::Corruption(what + ": range of " + std::to_string(file.length) + " bytes lies beyond the file (" +
                              std::to_string(data.size()) + " bytes)");
  }
  std::string_view framed = data.substr(static_cast<size_t>(file.offset), static_cast<size_t>(file.length) + 8);
  uint32_t length = LoadBE32(framed.data());
  if (static_cast<int64_t>(length) != file.length) {
    return Status::Corruption(what + ": stored length " + std::to_string(length) +
                              " differs from the index manifest's " + std::to_string(file.length));
  }
  std::string_view body = framed.substr(4, length);
  uint32_t crc = LoadBE32(framed.data() + 4 + length);
  if (crc != Crc32(body)) return Status::Corruption(what + ": CRC mismatch");
  KL_ASSIGN_OR_RETURN(DeletionVector dv, DeletionVector::Deserialize(body, what));
  if (file.cardinality && *file.cardinality != dv.cardinality()) {
    return Status::Corruption(what + ": holds " + std::to_string(dv.cardinality()) +
                              " positions, the index manifest says " + std::to_string(*file.cardinality));
  }
  return dv;
}

std::string BuildDeletionVectorIndexFile(const std::vector<std::string>& vector_data,
                                         std::vector<std::pair<int64_t, int64_t>>* ranges) {
  std::string out(1, static_cast<char>(kIndexFileVersion));
  for (const auto& body : vector_data) {
    if (ranges != nullptr) ranges->emplace_back(static_cast<int64_t>(out.size()), static_cast<int64_t>(body.size()));
    PutFixed32BE(&out, static_cast<uint32_t>(body.size()));
    out += body;
    PutFixed32BE(&out, Crc32(body));
  }
  return out;
}

DeletionVectorIndex DeletionVectorIndex::Build(const std::vector<IndexManifestEntry>& entries,
                                               const PathResolver& resolve) {
  // Index manifests list live files, but apply DELETE entries too, in order, should one
  // carry them.
  std::map<std::tuple<std::string, int32_t, std::string>, const IndexManifestEntry*> live;
  for (const auto& e : entries) {
    if (e.file.index_type != kDeletionVectorsIndex) continue;
    auto key = std::make_tuple(e.partition, e.bucket, e.file.file_name);
    if (e.kind == FileKind::kAdd)
      live[key] = &e;
    else
      live.erase(key);
  }
  DeletionVectorIndex index;
  for (const auto& [key, e] : live) {
    std::string path = resolve(e->partition, e->bucket, e->file);
    auto& files = index.files_[{e->partition, e->bucket}];
    for (const auto& r : e->file.dv_ranges) {
      files[r.data_file] = DeletionFile{path, r.offset, r.length, r.cardinality};
    }
  }
  return index;
}

std::optional<DeletionFile> DeletionVectorIndex::Find(const std::string& partition, int32_t bucket,
                                                      const std::string& data_file) const {
  auto bucket_it = files_.find({partition, bucket});
  if (bucket_it == files_.end()) return std::nullopt;
  auto it = bucket_it->second.find(data_file);
  if (it == bucket_it->second.end()) return std::nullopt;
  return it->second;
}

}  // namespace kl::table
