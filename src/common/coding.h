// Byte-level encodings shared by the file formats: fixed-width little/big
// endian integers, (zigzag) varints, short-value copies and order-preserving
// byte-string prefixes.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kl {

inline void PutFixed32LE(std::string* dst, uint32_t v) { dst->append(reinterpret_cast<const char*>(&v), 4); }
inline void PutFixed64LE(std::string* dst, uint64_t v) { dst->append(reinterpret_cast<const char*>(&v), 8); }
inline void PutFixed32BE(std::string* dst, uint32_t v) {
  v = __builtin_bswap32(v);
  dst->append(reinterpret_cast<const char*>(&v), 4);
}
inline void PutFixed64BE(std::string* dst, uint64_t v) {
  v = __builtin_bswap64(v);
  dst->append(reinterpret_cast<const char*>(&v), 8);
}

inline uint16_t LoadLE16(const void* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t LoadLE32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t LoadLE64(const void* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t LoadBE32(const void* p) { return __builtin_bswap32(LoadLE32(p)); }
inline uint64_t LoadBE64(const void* p) { return __builtin_bswap64(LoadLE64(p)); }
inline void StoreLE32(void* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void StoreLE64(void* p, uint64_t v) { std::memcpy(p, &v, 8); }

// Copies a short value without a library call: overlapping fixed-size moves that
// stay inside both buffers (most column values are a few to a few dozen bytes).
inline void CopyShortValue(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n > 16) {
    std::memcpy(dst, src, n);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// The first 8 bytes as a big-endian number, zero-padded: for byte strings compared
// as unsigned bytes, a < b implies BytesPrefix(a) <= BytesPrefix(b).
inline uint64_t BytesPrefix(std::string_view v) {
  uint64_t key = 0;
  if (v.size() >= 8) return LoadBE64(v.data());
  for (size_t i = 0; i < v.size(); ++i) key |= static_cast<uint64_t>(static_cast<uint8_t>(v[i])) << (56 - 8 * i);
  return key;
}

inline uint64_t ZigZagEncode(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t ZigZagDecode(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Writes v as a varint at p, which must have room for kMaxVarint64Bytes; returns the byte after it.
// For encoders that size a record's room first and then fill it through a pointer.
inline constexpr size_t kMaxVarint64Bytes = 10;
inline char* EncodeVarint64(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[kMaxVarint64Bytes];
  dst->append(buf, static_cast<size_t>(EncodeVarint64(buf, v) - buf));
}

// Decodes a varint from [*p, limit). Returns false on truncation or overlong input.
inline bool GetVarint64(const uint8_t** p, const uint8_t* limit, uint64_t* out) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < limit; shift += 7) {
    uint64_t byte = **p;
    ++*p;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *out = result;
      return true;
    }
  }
  return false;
}

// Reads bytes front to back with bounds checks; `ok()` turns false on the first overrun.
class ByteReader {
 public:
  ByteReader(const void* data, size_t size) : p_(static_cast<const uint8_t*>(data)), end_(p_ + size) {}
  explicit ByteReader(std::string_view s) : ByteReader(s.data(), s.size()) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* position() const { return p_; }
  void Fail() {
    ok_ = false;
    p_ = end_;
  }

  uint64_t Varint() {
    uint64_t v = 0;
    if (!GetVarint64(&p_, end_, &v)) Fail();
    return v;
  }
  int64_t ZigZag() { return ZigZagDecode(Varint()); }
  uint8_t Byte() {
    if (p_ >= end_) {
      Fail();
      return 0;
    }
    return *p_++;
  }
  std::string_view Bytes(size_t n) {
    if (n > remaining()) {
      Fail();
      return {};
    }
    std::string_view out(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return out;
  }
  uint32_t Fixed32LE() {
    auto b = Bytes(4);
    return ok_ ? LoadLE32(b.data()) : 0;
  }
  uint64_t Fixed64LE() {
    auto b = Bytes(8);
    return ok_ ? LoadLE64(b.data()) : 0;
  }
  uint32_t Fixed32BE() {
    auto b = Bytes(4);
    return ok_ ? LoadBE32(b.data()) : 0;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace kl
