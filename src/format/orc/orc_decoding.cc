#include "format/orc/orc_decoding.h"

#include <lz4.h>
#include <snappy-c.h>

#include <algorithm>
#include <cstring>

#include "format/compression.h"

namespace kl::format::orc {
namespace {

bool ReadVarintAt(std::string_view in, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= in.size()) return false;
    uint8_t b = static_cast<uint8_t>(in[(*pos)++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

int64_t ZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

Status Truncated(const char* what) { return Status::Corruption(std::string(what) + ": stream ends inside a run"); }

// RLE v2's 5-bit width codes.
int DecodeWidth(int code) {
  if (code < 24) return code + 1;
  static const int kWide[] = {26, 28, 30, 32, 40, 48, 56, 64};
  return kWide[code - 24];
}

// The smallest width RLE v2 packs `bits` into.
int ClosestFixedBits(int bits) {
  if (bits <= 1) return 1;
  if (bits <= 24) return bits;
  if (bits <= 26) return 26;
  if (bits <= 28) return 28;
  if (bits <= 30) return 30;
  if (bits <= 32) return 32;
  if (bits <= 40) return 40;
  if (bits <= 48) return 48;
  if (bits <= 56) return 56;
  return 64;
}

// `n` values of `width` bits, most significant bit first; ends at a byte boundary.
bool UnpackBits(std::string_view in, size_t* pos, int width, size_t n, std::vector<uint64_t>* out) {
  uint64_t total_bits = static_cast<uint64_t>(width) * n;
  if ((total_bits + 7) / 8 > in.size() - *pos) return false;
  out->resize(n);
  uint32_t buffer = 0;
  int available = 0;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(in.data()) + *pos;
  size_t consumed = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t v = 0;
    int need = width;
    while (need > 0) {
      if (available == 0) {
        buffer = p[consumed++];
        available = 8;
      }
      int take = need < available ? need : available;
      v = (v << take) | ((buffer >> (available - take)) & ((1u << take) - 1));
      available -= take;
      need -= take;
    }
    (*out)[i] = v;
  }
  *pos += consumed;
  return true;
}

bool ReadBigEndian(std::string_view in, size_t* pos, int bytes, uint64_t* out) {
  if (static_cast<size_t>(bytes) > in.size() - *pos) return false;
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[(*pos)++]);
  *out = v;
  return true;
}

Status RunV1(std::string_view in, size_t* pos, bool is_signed, std::vector<int64_t>* out) {
  int8_t header = static_cast<int8_t>(in[(*pos)++]);
  auto read = [&](int64_t* v) {
    uint64_t raw;
    if (!ReadVarintAt(in, pos, &raw)) return false;
    *v = is_signed ? ZigZag(raw) : static_cast<int64_t>(raw);
    return true;
  };
  if (header >= 0) {
    if (*pos >= in.size()) return Truncated("integer RLE v1");
    int8_t delta = static_cast<int8_t>(in[(*pos)++]);
    int64_t base;
    if (!read(&base)) return Truncated("integer RLE v1");
    for (int i = 0; i < header + 3; ++i) out->push_back(static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(i) * static_cast<uint64_t>(static_cast<int64_t>(delta))));
    return Status::OK();
  }
  for (int i = 0; i < -header; ++i) {
    int64_t v;
    if (!read(&v)) return Truncated("integer RLE v1");
    out->push_back(v);
  }
  return Status::OK();
}

Status RunV2(std::string_view in, size_t* pos, bool is_signed, std::vector<int64_t>* out,
             std::vector<uint64_t>* scratch, std::vector<uint64_t>* patches) {
  uint8_t b0 = static_cast<uint8_t>(in[(*pos)++]);
  int encoding = b0 >> 6;
  if (encoding == 0) {  // SHORT_REPEAT
    int bytes = ((b0 >> 3) & 7) + 1;
    int count = (b0 & 7) + 3;
    uint64_t raw;
    if (!ReadBigEndian(in, pos, bytes, &raw)) return Truncated("integer RLE v2 short repeat");
    int64_t v = is_signed ? ZigZag(raw) : static_cast<int64_t>(raw);
    out->insert(out->end(), static_cast<size_t>(count), v);
    return Status::OK();
  }
  if (*pos >= in.size()) return Truncated("integer RLE v2");
  uint8_t b1 = static_cast<uint8_t>(in[(*pos)++]);
  size_t length = ((static_cast<size_t>(b0 & 1) << 8) | b1) + 1;
  int code = (b0 >> 1) & 0x1f;
  if (encoding == 1) {  // DIRECT
    int width = DecodeWidth(code);
    if (!UnpackBits(in, pos, width, length, scratch)) return Truncated("integer RLE v2 direct");
    for (uint64_t raw : *scratch) out->push_back(is_signed ? ZigZag(raw) : static_cast<int64_t>(raw));
    return Status::OK();
  }
  if (encoding == 2) {  // PATCHED_BASE
    if (in.size() - *pos < 2) return Truncated("integer RLE v2 patched base");
    uint8_t b2 = static_cast<uint8_t>(in[(*pos)++]);
    uint8_t b3 = static_cast<uint8_t>(in[(*pos)++]);
    int width = DecodeWidth(code);
    int base_bytes = ((b2 >> 5) & 7) + 1;
    int patch_width = DecodeWidth(b2 & 0x1f);
    int gap_width = ((b3 >> 5) & 7) + 1;
    size_t patch_count = b3 & 0x1f;
    if (width + patch_width > 64 || gap_width + patch_width > 64) {
      return Status::Corruption("integer RLE v2 patched base: patch wider than 64 bits");
    }
    uint64_t raw_base;
    if (!ReadBigEndian(in, pos, base_bytes, &raw_base)) return Truncated("integer RLE v2 patched base");
    uint64_t sign = uint64_t{1} << (base_bytes * 8 - 1);
    int64_t base = (raw_base & sign) ? -static_cast<int64_t>(raw_base & ~sign) : static_cast<int64_t>(raw_base);
    if (!UnpackBits(in, pos, width, length, scratch)) return Truncated("integer RLE v2 patched base");
    if (!UnpackBits(in, pos, ClosestFixedBits(gap_width + patch_width), patch_count, patches)) {
      return Truncated("integer RLE v2 patch list");
    }
    uint64_t patch_mask = patch_width == 64 ? ~uint64_t{0} : (uint64_t{1} << patch_width) - 1;
    size_t index = 0;
    for (size_t p = 0; p < patch_count; ++p) {
      uint64_t gap = (*patches)[p] >> patch_width;
      uint64_t patch = (*patches)[p] & patch_mask;
      // A gap of 255 with no patch only carries the gap over to the next entry.
      if (gap == 255 && patch == 0) {
        index += 255;
        continue;
      }
      index += gap;
      if (index >= length) return Status::Corruption("integer RLE v2 patched base: patch beyond the run");
      (*scratch)[index] |= patch << width;
    }
    for (uint64_t v : *scratch) out->push_back(static_cast<int64_t>(static_cast<uint64_t>(base) + v));
    return Status::OK();
  }
  // DELTA
  uint64_t raw_base, raw_delta;
  if (!ReadVarintAt(in, pos, &raw_base) || !ReadVarintAt(in, pos, &raw_delta)) return Truncated("integer RLE v2 delta");
  int64_t value = is_signed ? ZigZag(raw_base) : static_cast<int64_t>(raw_base);
  int64_t delta = ZigZag(raw_delta);
  out->push_back(value);
  if (length == 1) return Status::OK();
  value = static_cast<int64_t>(static_cast<uint64_t>(value) + static_cast<uint64_t>(delta));
  out->push_back(value);
  if (code == 0) {  // a fixed delta
    for (size_t i = 2; i < length; ++i) {
      value = static_cast<int64_t>(static_cast<uint64_t>(value) + static_cast<uint64_t>(delta));
      out->push_back(value);
    }
    return Status::OK();
  }
  if (!UnpackBits(in, pos, DecodeWidth(code), length - 2, scratch)) return Truncated("integer RLE v2 delta");
  for (uint64_t d : *scratch) {
    value = static_cast<int64_t>(delta < 0 ? static_cast<uint64_t>(value) - d : static_cast<uint64_t>(value) + d);
    out->push_back(value);
  }
  return Status::OK();
}

}  // namespace

// ---- protobuf ----

bool ProtoReader::NextField(uint32_t* field, uint32_t* wire_type) {
  if (!ok_ || done()) return false;
  uint64_t tag = ReadVarint();
  if (!ok_) return false;
  *field = static_cast<uint32_t>(tag >> 3);
  *wire_type = static_cast<uint32_t>(tag & 7);
  return true;
}

uint64_t ProtoReader::ReadVarint() {
  uint64_t v = 0;
  if (!ReadVarintAt(data_, &pos_, &v)) ok_ = false;
  return v;
}

std::string_view ProtoReader::ReadBytes() {
  uint64_t len = ReadVarint();
  if (!ok_ || len > data_.size() - pos_) {
    ok_ = false;
    return {};
  }
  std::string_view out = data_.substr(pos_, len);
  pos_ += len;
  return out;
}

void ProtoReader::Skip(uint32_t wire_type) {
  switch (wire_type) {
    case 0: ReadVarint(); break;
    case 1:
      if (data_.size() - pos_ < 8) ok_ = false;
      else pos_ += 8;
      break;
    case 2: ReadBytes(); break;
    case 5:
      if (data_.size() - pos_ < 4) ok_ = false;
      else pos_ += 4;
      break;
    default: ok_ = false;
  }
}

void ProtoReader::ReadRepeatedVarint(uint32_t wire_type, std::vector<uint64_t>* out) {
  if (wire_type == 0) {
    out->push_back(ReadVarint());
    return;
  }
  if (wire_type != 2) {
    ok_ = false;
    return;
  }
  ProtoReader packed(ReadBytes());
  while (ok_ && !packed.done()) {
    out->push_back(packed.ReadVarint());
    if (!packed.ok()) ok_ = false;
  }
}

// ---- compression ----

const char* CompressionName(CompressionKind kind) {
  switch (kind) {
    case CompressionKind::kNone: return "NONE";
    case CompressionKind::kZlib: return "ZLIB";
    case CompressionKind::kSnappy: return "SNAPPY";
    case CompressionKind::kLzo: return "LZO";
    case CompressionKind::kLz4: return "LZ4";
    case CompressionKind::kZstd: return "ZSTD";
  }
  return "unknown";
}

Status Decompress(CompressionKind kind, uint64_t block_size, std::string_view in, std::string* out) {
  out->clear();
  if (kind == CompressionKind::kNone) {
    out->assign(in);
    return Status::OK();
  }
  // A chunk never decompresses to more than the block size; cap it against hostile footers.
  if (block_size == 0 || block_size > (64u << 20)) {
    return Status::Corruption("compression block size " + std::to_string(block_size) + " out of range");
  }
  std::string buffer(block_size, '\0');
  size_t pos = 0;
  while (pos < in.size()) {
    if (in.size() - pos < 3) return Status::Corruption("truncated compression chunk header");
    uint32_t header = static_cast<uint8_t>(in[pos]) | (static_cast<uint32_t>(static_cast<uint8_t>(in[pos + 1])) << 8) |
                      (static_cast<uint32_t>(static_cast<uint8_t>(in[pos + 2])) << 16);
    pos += 3;
    size_t len = header >> 1;
    bool original = header & 1;
    if (len > in.size() - pos) return Status::Corruption("compression chunk beyond the stream");
    std::string_view chunk = in.substr(pos, len);
    pos += len;
    if (original) {
      out->append(chunk);
      continue;
    }
    size_t produced = 0;
    switch (kind) {
      case CompressionKind::kZstd: {
        KL_RETURN_IF_ERROR(ZstdDecompress(chunk, buffer.data(), buffer.size(), &produced));
        break;
      }
      case CompressionKind::kZlib: KL_RETURN_IF_ERROR(Inflate(kRawDeflate, chunk, buffer.data(), buffer.size(), &produced)); break;
      case CompressionKind::kSnappy: {
        size_t n = 0;
        if (snappy_uncompressed_length(chunk.data(), chunk.size(), &n) != SNAPPY_OK || n > buffer.size()) {
          return Status::Corruption("bad snappy chunk");
        }
        if (snappy_uncompress(chunk.data(), chunk.size(), buffer.data(), &n) != SNAPPY_OK) {
          return Status::Corruption("bad snappy chunk");
        }
        produced = n;
        break;
      }
      case CompressionKind::kLz4: {
        int n = LZ4_decompress_safe(chunk.data(), buffer.data(), static_cast<int>(chunk.size()),
                                    static_cast<int>(buffer.size()));
        if (n < 0) return Status::Corruption("bad lz4 chunk");
        produced = static_cast<size_t>(n);
        break;
      }
      default: return Status::NotSupported(std::string("ORC compression ") + CompressionName(kind));
    }
    out->append(buffer.data(), produced);
  }
  return Status::OK();
}

// ---- run-length encodings ----

Status DecodeByteRle(std::string_view in, size_t count, std::vector<uint8_t>* out) {
  out->clear();
  out->reserve(std::min<size_t>(count, 1 << 16));  // grows with the data, never on a claimed count
  size_t pos = 0;
  while (out->size() < count) {
    if (pos >= in.size()) return Status::Corruption("byte RLE: " + std::to_string(out->size()) + " of " + std::to_string(count) + " values");
    int8_t header = static_cast<int8_t>(in[pos++]);
    if (header >= 0) {
      if (pos >= in.size()) return Truncated("byte RLE");
      out->insert(out->end(), static_cast<size_t>(header) + 3, static_cast<uint8_t>(in[pos++]));
    } else {
      size_t n = static_cast<size_t>(-header);
      if (n > in.size() - pos) return Truncated("byte RLE");
      out->insert(out->end(), in.begin() + static_cast<ptrdiff_t>(pos), in.begin() + static_cast<ptrdiff_t>(pos + n));
      pos += n;
    }
  }
  // A run may reach past the values needed (the writer pads the last bits of booleans).
  out->resize(count);
  return Status::OK();
}

Status DecodeBooleanRle(std::string_view in, size_t count, std::vector<uint8_t>* out) {
  std::vector<uint8_t> bytes;
  KL_RETURN_IF_ERROR(DecodeByteRle(in, (count + 7) / 8, &bytes));
  out->resize(count);
  for (size_t i = 0; i < count; ++i) (*out)[i] = (bytes[i / 8] >> (7 - i % 8)) & 1;
  return Status::OK();
}

Status DecodeIntRle(std::string_view in, size_t count, bool is_signed, bool v2, std::vector<int64_t>* out) {
  out->clear();
  out->reserve(std::min<size_t>(count, 1 << 16));
  std::vector<uint64_t> scratch, patches;
  size_t pos = 0;
  while (out->size() < count) {
    if (pos >= in.size()) {
      return Status::Corruption("integer RLE: " + std::to_string(out->size()) + " of " + std::to_string(count) + " values");
    }
    KL_RETURN_IF_ERROR(v2 ? RunV2(in, &pos, is_signed, out, &scratch, &patches) : RunV1(in, &pos, is_signed, out));
  }
  if (out->size() != count) {
    return Status::Corruption("integer RLE: a run holds " + std::to_string(out->size() - count) + " values too many");
  }
  return Status::OK();
}

Status DecodeSignedVarints128(std::string_view in, size_t count, std::vector<Int128>* out) {
  out->clear();
  out->reserve(std::min(count, in.size()));
  size_t pos = 0;
  for (size_t i = 0; i < count; ++i) {
    unsigned __int128 v = 0;
    int shift = 0;
    while (true) {
      if (pos >= in.size() || shift > 126) return Status::Corruption("decimal varint beyond the stream");
      uint8_t b = static_cast<uint8_t>(in[pos++]);
      v |= static_cast<unsigned __int128>(b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) == 0) break;
    }
    Int128 value = static_cast<Int128>(v >> 1) ^ -static_cast<Int128>(v & 1);
    out->push_back(value);
  }
  return Status::OK();
}

}  // namespace kl::format::orc
