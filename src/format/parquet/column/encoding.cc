#include "format/parquet/column/encoding.h"

#include <algorithm>
#include <cstring>

#include "common/coding.h"

namespace kl::format::parquet {
namespace {

bool ReadUleb(const uint8_t** p, const uint8_t* end, uint64_t* out) { return GetVarint64(p, end, out); }

bool ReadZigZag(const uint8_t** p, const uint8_t* end, int64_t* out) {
  uint64_t v;
  if (!GetVarint64(p, end, &v)) return false;
  *out = ZigZagDecode(v);
  return true;
}

// Loads up to 8 bytes starting at data[byte] without reading past `size`.
inline uint64_t LoadWord(const uint8_t* data, size_t size, size_t byte) {
  if (byte + 8 <= size) return LoadLE64(data + byte);
  uint64_t v = 0;
  if (byte < size) std::memcpy(&v, data + byte, size - byte);
  return v;
}

}  // namespace

int BitWidth(uint64_t max_value) { return max_value == 0 ? 0 : 64 - __builtin_clzll(max_value); }

void BitUnpack64(const uint8_t* data, size_t size, size_t n, int bit_width, uint64_t* out) {
  if (bit_width == 0) {
    std::fill(out, out + n, 0);
    return;
  }
  const uint64_t mask = bit_width == 64 ? ~0ULL : (1ULL << bit_width) - 1;
  size_t bit = 0;
  for (size_t i = 0; i < n; ++i, bit += static_cast<size_t>(bit_width)) {
    size_t byte = bit >> 3;
    unsigned shift = bit & 7;
    uint64_t v = LoadWord(data, size, byte) >> shift;
    if (shift + static_cast<unsigned>(bit_width) > 64) v |= LoadWord(data, size, byte + 8) << (64 - shift);
    out[i] = v & mask;
  }
}

void BitPack(const uint32_t* values, size_t n, int bit_width, std::string* out) {
  if (bit_width == 0) return;
  size_t bytes = (n * static_cast<size_t>(bit_width) + 7) / 8;
  size_t base = out->size();
  out->resize(base + bytes, 0);
  auto* dst = reinterpret_cast<uint8_t*>(out->data() + base);
  uint64_t acc = 0;
  int acc_bits = 0;
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    acc |= static_cast<uint64_t>(values[i]) << acc_bits;
    acc_bits += bit_width;
    while (acc_bits >= 8) {
      dst[pos++] = static_cast<uint8_t>(acc);
      acc >>= 8;
      acc_bits -= 8;
    }
  }
  if (acc_bits > 0) dst[pos++] = static_cast<uint8_t>(acc);
}

bool RleDecoder::NextRun() {
  uint64_t header;
  if (!ReadUleb(&p_, end_, &header)) {
    error_ = "truncated RLE run header";
    return false;
  }
  if (header & 1) {
    uint64_t groups = header >> 1;
    if (groups == 0 || groups > (1ULL << 28)) {
      error_ = "bad bit-packed run length";
      return false;
    }
    size_t bytes = static_cast<size_t>(groups) * static_cast<size_t>(bit_width_);
    size_t available = static_cast<size_t>(end_ - p_);
    // Writers may drop the padding bytes of a final short group; accept what is there.
    if (bytes > available) bytes = available;
    repeat_ = false;
    literal_ = p_;
    literal_bytes_ = bytes;
    literal_index_ = 0;
    remaining_ =
        bit_width_ == 0 ? groups * 8 : std::min<size_t>(groups * 8, bytes * 8 / static_cast<size_t>(bit_width_));
    p_ += bytes;
  } else {
    uint64_t count = header >> 1;
    if (count == 0 || count > (1ULL << 40)) {
      error_ = "bad RLE run length";
      return false;
    }
    int value_bytes = (bit_width_ + 7) / 8;
    if (end_ - p_ < value_bytes) {
      error_ = "truncated RLE run value";
      return false;
    }
    uint32_t v = 0;
    for (int i = 0; i < value_bytes; ++i) v |= static_cast<uint32_t>(p_[i]) << (8 * i);
    p_ += value_bytes;
    if (bit_width_ < 32 && (v >> bit_width_) != 0) {
      error_ = "RLE run value wider than the bit width";
      return false;
    }
    repeat_ = true;
    repeat_value_ = v;
    remaining_ = static_cast<size_t>(count);
  }
  return remaining_ > 0 || NextRun();
}

bool RleDecoder::IsOneRun(size_t n, uint32_t* value) {
  if (bit_width_ < 0 || bit_width_ > 32) return false;
  const uint8_t* saved = p_;
  if (remaining_ == 0 && (p_ == end_ || !NextRun())) {
    p_ = saved;  // Get reads the run again and reports the error
    remaining_ = 0;
    error_.clear();
    return false;
  }
  if (!repeat_ || remaining_ < n) return false;
  *value = repeat_value_;
  return true;
}

bool RleDecoder::Get(uint32_t* out, size_t n) {
  if (bit_width_ < 0 || bit_width_ > 32) {
    error_ = "bit width " + std::to_string(bit_width_) + " out of range";
    return false;
  }
  while (n > 0) {
    if (remaining_ == 0 && !NextRun()) return false;
    size_t take = std::min(n, remaining_);
    if (repeat_) {
      std::fill(out, out + take, repeat_value_);
    } else if (bit_width_ == 0) {
      std::fill(out, out + take, 0u);
    } else {
      const uint32_t mask = bit_width_ == 32 ? ~0u : (1u << bit_width_) - 1;
      const size_t width = static_cast<size_t>(bit_width_);
      size_t bit = literal_index_ * width;
      size_t i = 0;
      // Values whose 8-byte window lies inside the run load it unchecked (a value spans at
      // most 39 bits of it); the last few go through the bounds-checked load.
      const size_t safe_bits = literal_bytes_ >= 8 ? (literal_bytes_ - 7) * 8 : 0;
      for (; i < take && bit < safe_bits; ++i, bit += width) {
        out[i] = static_cast<uint32_t>(LoadLE64(literal_ + (bit >> 3)) >> (bit & 7)) & mask;
      }
      for (; i < take; ++i, bit += width) {
        out[i] = static_cast<uint32_t>(LoadWord(literal_, literal_bytes_, bit >> 3) >> (bit & 7)) & mask;
      }
      literal_index_ += take;
    }
    out += take;
    n -= take;
    remaining_ -= take;
  }
  return true;
}

namespace {

void PutRepeat(uint32_t value, size_t count, int bit_width, std::string* out) {
  PutVarint64(out, static_cast<uint64_t>(count) << 1);
  int value_bytes = (bit_width + 7) / 8;
  for (int i = 0; i < value_bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

void PutLiteral(const uint32_t* values, size_t count, int bit_width, std::string* out) {
  size_t groups = (count + 7) / 8;
  PutVarint64(out, (static_cast<uint64_t>(groups) << 1) | 1);
  if (count % 8 == 0) {
    BitPack(values, count, bit_width, out);
  } else {
    std::vector<uint32_t> padded(values, values + count);
    padded.resize(groups * 8, 0);
    BitPack(padded.data(), padded.size(), bit_width, out);
  }
}

}  // namespace

void RleEncode(const uint32_t* v, size_t n, int bit_width, std::string* out) {
  size_t literal_start = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && v[j] == v[i]) ++j;
    if (j - i >= 8) {
      if (literal_start < i) {
        // Literal runs hold whole groups of 8: borrow the first values of this run to fill
        // the last group rather than padding (padding is only allowed at the very end).
        size_t len = i - literal_start;
        size_t take = std::min((8 - len % 8) % 8, j - i);
        PutLiteral(v + literal_start, len + take, bit_width, out);
        i += take;
      }
      if (j > i) PutRepeat(v[i], j - i, bit_width, out);
      literal_start = j;
    }
    i = j;
  }
  if (literal_start < n) PutLiteral(v + literal_start, n - literal_start, bit_width, out);
}

bool DeltaBinaryDecode(const uint8_t* data, size_t size, size_t max_values, std::vector<int64_t>* out, size_t* consumed,
                       std::string* error) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  uint64_t block_size, miniblocks, total;
  int64_t first;
  if (!ReadUleb(&p, end, &block_size) || !ReadUleb(&p, end, &miniblocks) || !ReadUleb(&p, end, &total) ||
      !ReadZigZag(&p, end, &first)) {
    *error = "truncated DELTA_BINARY_PACKED header";
    return false;
  }
  if (block_size == 0 || block_size % 128 != 0 || block_size > (1u << 20) || miniblocks == 0 ||
      block_size % miniblocks != 0 || (block_size / miniblocks) % 32 != 0) {
    *error = "bad DELTA_BINARY_PACKED block layout";
    return false;
  }
  if (total > max_values) {
    *error = "DELTA_BINARY_PACKED declares " + std::to_string(total) + " values, more than the page holds";
    return false;
  }
  out->clear();
  out->reserve(total);
  if (total == 0) {
    *consumed = static_cast<size_t>(p - data);
    return true;
  }
  uint64_t value = static_cast<uint64_t>(first);
  out->push_back(first);
  const size_t per_mini = block_size / miniblocks;
  std::vector<uint64_t> deltas(per_mini);
  std::vector<uint8_t> widths(miniblocks);
  while (out->size() < total) {
    int64_t min_delta;
    if (!ReadZigZag(&p, end, &min_delta) || static_cast<uint64_t>(end - p) < miniblocks) {
      *error = "truncated DELTA_BINARY_PACKED block header";
      return false;
    }
    std::memcpy(widths.data(), p, miniblocks);
    p += miniblocks;
    for (size_t m = 0; m < miniblocks && out->size() < total; ++m) {
      int w = widths[m];
      if (w > 64) {
        *error = "DELTA_BINARY_PACKED miniblock bit width " + std::to_string(w);
        return false;
      }
      size_t bytes = per_mini * static_cast<size_t>(w) / 8;
      if (static_cast<size_t>(end - p) < bytes) {
        *error = "truncated DELTA_BINARY_PACKED miniblock";
        return false;
      }
      BitUnpack64(p, bytes, per_mini, w, deltas.data());
      p += bytes;
      size_t take = std::min<size_t>(per_mini, total - out->size());
      for (size_t k = 0; k < take; ++k) {
        value += static_cast<uint64_t>(min_delta) + deltas[k];
        out->push_back(static_cast<int64_t>(value));
      }
    }
  }
  *consumed = static_cast<size_t>(p - data);
  return true;
}

void DeltaBinaryEncode(const int64_t* values, size_t n, bool int32, std::string* out) {
  constexpr size_t kBlock = 128, kMiniblocks = 4, kPerMini = kBlock / kMiniblocks;
  PutVarint64(out, kBlock);
  PutVarint64(out, kMiniblocks);
  PutVarint64(out, n);
  PutVarint64(out, ZigZagEncode(n > 0 ? values[0] : 0));
  std::vector<int64_t> deltas;
  deltas.reserve(kBlock);
  std::vector<uint64_t> rel(kBlock);
  for (size_t start = 1; start < n; start += kBlock) {
    size_t count = std::min(kBlock, n - start);
    deltas.clear();
    for (size_t k = 0; k < count; ++k) {
      uint64_t d = static_cast<uint64_t>(values[start + k]) - static_cast<uint64_t>(values[start + k - 1]);
      deltas.push_back(int32 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(d)))
                             : static_cast<int64_t>(d));
    }
    int64_t min_delta = *std::min_element(deltas.begin(), deltas.end());
    PutVarint64(out, ZigZagEncode(min_delta));
    // Deltas relative to the minimum, in the column's width (wrapping, as readers add them back).
    std::fill(rel.begin(), rel.end(), 0);
    for (size_t k = 0; k < count; ++k) {
      uint64_t r = static_cast<uint64_t>(deltas[k]) - static_cast<uint64_t>(min_delta);
      rel[k] = int32 ? (r & 0xffffffffULL) : r;
    }
    size_t used_minis = (count + kPerMini - 1) / kPerMini;
    int widths[kMiniblocks] = {0, 0, 0, 0};
    for (size_t m = 0; m < used_minis; ++m) {
      uint64_t max = 0;
      for (size_t k = m * kPerMini; k < std::min(count, (m + 1) * kPerMini); ++k) max |= rel[k];
      widths[m] = BitWidth(max);
      out->push_back(static_cast<char>(widths[m]));
    }
    for (size_t m = used_minis; m < kMiniblocks; ++m) out->push_back(0);
    for (size_t m = 0; m < used_minis; ++m) {
      int w = widths[m];
      if (w == 0) continue;
      size_t bytes = kPerMini * static_cast<size_t>(w) / 8;
      size_t base = out->size();
      out->resize(base + bytes, 0);
      auto* dst = reinterpret_cast<uint8_t*>(out->data() + base);
      size_t bit = 0;
      for (size_t k = 0; k < kPerMini; ++k, bit += static_cast<size_t>(w)) {
        uint64_t v = rel[m * kPerMini + k];
        for (int b = 0; b < w;) {
          size_t pos = (bit + static_cast<size_t>(b)) >> 3;
          unsigned off = static_cast<unsigned>((bit + static_cast<size_t>(b)) & 7);
          int chunk = std::min(w - b, 8 - static_cast<int>(off));
          dst[pos] |= static_cast<uint8_t>(((v >> b) & ((1u << chunk) - 1)) << off);
          b += chunk;
        }
      }
    }
  }
}

bool DeltaLengthByteArrayDecode(const uint8_t* data, size_t size, size_t n, std::vector<std::string_view>* out,
                                std::string* error) {
  std::vector<int64_t> lengths;
  size_t used = 0;
  if (!DeltaBinaryDecode(data, size, n, &lengths, &used, error)) return false;
  if (lengths.size() != n) {
    *error =
        "DELTA_LENGTH_BYTE_ARRAY holds " + std::to_string(lengths.size()) + " lengths, expected " + std::to_string(n);
    return false;
  }
  const char* p = reinterpret_cast<const char*>(data) + used;
  size_t left = size - used;
  out->clear();
  out->reserve(n);
  for (int64_t len : lengths) {
    if (len < 0 || static_cast<uint64_t>(len) > left) {
      *error = "DELTA_LENGTH_BYTE_ARRAY value overruns the page";
      return false;
    }
    out->emplace_back(p, static_cast<size_t>(len));
    p += len;
    left -= static_cast<size_t>(len);
  }
  return true;
}

bool DeltaByteArrayDecode(const uint8_t* data, size_t size, size_t n, std::vector<std::string_view>* out,
                          std::string* arena, std::string* error) {
  std::vector<int64_t> prefixes;
  size_t used = 0;
  if (!DeltaBinaryDecode(data, size, n, &prefixes, &used, error)) return false;
  std::vector<std::string_view> suffixes;
  if (!DeltaLengthByteArrayDecode(data + used, size - used, prefixes.size(), &suffixes, error)) return false;
  if (prefixes.size() != n) {
    *error = "DELTA_BYTE_ARRAY holds " + std::to_string(prefixes.size()) + " values, expected " + std::to_string(n);
    return false;
  }
  // First pass sizes the arena so views stay valid; prefixes never exceed the previous value.
  size_t total = 0, prev_len = 0;
  for (size_t i = 0; i < n; ++i) {
    if (prefixes[i] < 0 || static_cast<uint64_t>(prefixes[i]) > prev_len) {
      *error = "DELTA_BYTE_ARRAY prefix longer than the previous value";
      return false;
    }
    prev_len = static_cast<size_t>(prefixes[i]) + suffixes[i].size();
    total += prev_len;
    if (total > (size_t{1} << 34)) {
      *error = "DELTA_BYTE_ARRAY expands beyond limits";
      return false;
    }
  }
  arena->clear();
  arena->resize(total);
  out->clear();
  out->reserve(n);
  size_t pos = 0;
  std::string_view prev;
  for (size_t i = 0; i < n; ++i) {
    size_t pre = static_cast<size_t>(prefixes[i]);
    char* dst = arena->data() + pos;
    if (pre > 0) std::memmove(dst, prev.data(), pre);
    if (!suffixes[i].empty()) std::memcpy(dst + pre, suffixes[i].data(), suffixes[i].size());
    size_t len = pre + suffixes[i].size();
    out->emplace_back(dst, len);
    prev = out->back();
    pos += len;
  }
  return true;
}

void DeltaLengthByteArrayEncode(const std::string_view* values, size_t n, std::string* out) {
  std::vector<int64_t> lengths(n);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    lengths[i] = static_cast<int64_t>(values[i].size());
    total += values[i].size();
  }
  DeltaBinaryEncode(lengths.data(), n, true, out);
  out->reserve(out->size() + total);
  for (size_t i = 0; i < n; ++i) out->append(values[i]);
}

void DeltaByteArrayEncode(const std::string_view* values, size_t n, std::string* out) {
  std::vector<int64_t> prefixes(n);
  std::vector<std::string_view> suffixes(n);
  std::string_view prev;
  for (size_t i = 0; i < n; ++i) {
    size_t max = std::min(prev.size(), values[i].size());
    size_t k = 0;
    while (k < max && prev[k] == values[i][k]) ++k;
    prefixes[i] = static_cast<int64_t>(k);
    suffixes[i] = values[i].substr(k);
    prev = values[i];
  }
  DeltaBinaryEncode(prefixes.data(), n, true, out);
  DeltaLengthByteArrayEncode(suffixes.data(), n, out);
}

bool ByteStreamSplitDecode(const uint8_t* data, size_t size, size_t n, int width, std::string* out,
                           std::string* error) {
  size_t w = static_cast<size_t>(width);
  if (size < n * w) {
    *error = "BYTE_STREAM_SPLIT data shorter than " + std::to_string(n) + " values";
    return false;
  }
  out->resize(n * w);
  for (size_t k = 0; k < w; ++k) {
    const uint8_t* stream = data + k * n;
    for (size_t i = 0; i < n; ++i) (*out)[i * w + k] = static_cast<char>(stream[i]);
  }
  return true;
}

void ByteStreamSplitEncode(const uint8_t* values, size_t n, int width, std::string* out) {
  size_t w = static_cast<size_t>(width);
  size_t base = out->size();
  out->resize(base + n * w);
  for (size_t k = 0; k < w; ++k) {
    char* stream = out->data() + base + k * n;
    for (size_t i = 0; i < n; ++i) stream[i] = static_cast<char>(values[i * w + k]);
  }
}

}  // namespace kl::format::parquet
