#include "log/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kl::log {
namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78u;

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? kPolyReflected : 0);
    t[0][b] = crc;
  }
  for (int k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

uint32_t ExtendPortable(uint32_t crc, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    word ^= crc;
    crc = kTables[7][word & 0xff] ^ kTables[6][(word >> 8) & 0xff] ^ kTables[5][(word >> 16) & 0xff] ^
          kTables[4][(word >> 24) & 0xff] ^ kTables[3][(word >> 32) & 0xff] ^ kTables[2][(word >> 40) & 0xff] ^
          kTables[1][(word >> 48) & 0xff] ^ kTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xff];
  return crc;
}

// Advancing a CRC register over n zero bytes is linear in the register:
// four byte-indexed tables apply it. It joins CRCs of adjacent pieces:
// Register(c, a + b) == AdvanceOverZeros(Register(c, a), |b|) ^ Register(0, b).
struct ZerosOperator {
  std::array<std::array<uint32_t, 256>, 4> table{};

  ZerosOperator() = default;
  explicit ZerosOperator(size_t zero_bytes) {
    uint32_t basis[32];
    for (int bit = 0; bit < 32; ++bit) {
      uint32_t crc = 1u << bit;
      for (size_t i = 0; i < zero_bytes; ++i) crc = (crc >> 8) ^ kTables[0][crc & 0xff];
      basis[bit] = crc;
    }
    Fill(basis);
  }
  // The operator applied twice (twice as many zero bytes).
  ZerosOperator Squared() const {
    uint32_t basis[32];
    for (int bit = 0; bit < 32; ++bit) basis[bit] = Apply(Apply(1u << bit));
    ZerosOperator op;
    op.Fill(basis);
    return op;
  }
  void Fill(const uint32_t (&basis)[32]) {
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        uint32_t v = 0;
        for (int i = 0; i < 8; ++i) {
          if (b & (1u << i)) v ^= basis[8 * k + i];
        }
        table[k][b] = v;
      }
    }
  }
  uint32_t Apply(uint32_t crc) const {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
  }
};

// Operators for 1, 2, 4, ... 2^39 zero bytes: any count is a product of them.
constexpr int kZeroPowers = 40;
const std::array<ZerosOperator, kZeroPowers>& PowerOfTwoZeros() {
  static const auto* ops = [] {
    auto* o = new std::array<ZerosOperator, kZeroPowers>();
    (*o)[0] = ZerosOperator(1);
    for (int k = 1; k < kZeroPowers; ++k) (*o)[k] = (*o)[k - 1].Squared();
    return o;
  }();
  return *ops;
}

uint32_t AdvanceOverZeros(uint32_t crc, uint64_t zero_bytes) {
  const auto& ops = PowerOfTwoZeros();
  for (int k = 0; zero_bytes != 0 && k < kZeroPowers; ++k, zero_bytes >>= 1) {
    if (zero_bytes & 1) crc = ops[k].Apply(crc);
  }
  return crc;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of three cycles and a throughput of
// one: three independent streams over thirds of a block keep it busy
// (about three times the speed of one stream), then their CRCs are joined.
constexpr size_t kLongStream = 8192;  // bytes per stream in blocks of 24 KB
constexpr size_t kShortStream = 256;  // and in blocks of 768 B (a typical event)

__attribute__((target("sse4.2"))) inline uint64_t Crc32Word(uint64_t crc, const uint8_t* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return __builtin_ia32_crc32di(crc, word);
}

// The last bytes one word, then one byte, at a time.
__attribute__((target("sse4.2"))) uint32_t FinishTail(uint64_t c, const uint8_t* p, size_t n) {
  while (n >= 8) {
    c = Crc32Word(c, p);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}

template <size_t kStream>
__attribute__((target("sse4.2"))) uint32_t ThreeStreams(uint32_t crc, const uint8_t*& p, size_t& n,
                                                        const ZerosOperator& shift) {
  while (n >= 3 * kStream) {
    uint64_t c0 = crc, c1 = 0, c2 = 0;
    for (size_t i = 0; i < kStream; i += 8) {
      c0 = Crc32Word(c0, p + i);
      c1 = Crc32Word(c1, p + kStream + i);
      c2 = Crc32Word(c2, p + 2 * kStream + i);
    }
    crc = shift.Apply(shift.Apply(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1)) ^ static_cast<uint32_t>(c2);
    p += 3 * kStream;
    n -= 3 * kStream;
  }
  return crc;
}

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc, const uint8_t* p, size_t n) {
  static const ZerosOperator kLongShift(kLongStream);
  static const ZerosOperator kShortShift(kShortStream);
  crc = ThreeStreams<kLongStream>(crc, p, n, kLongShift);
  crc = ThreeStreams<kShortStream>(crc, p, n, kShortShift);
  return FinishTail(crc, p, n);
}

bool HasHardwareCrc() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}

// Carry-less multiplication folds the message 64 bytes per lane-group at a
// time (AVX-512 VPCLMULQDQ: four 128-bit lanes per instruction), about four
// times the crc32 instruction's 8 bytes per cycle; the crc32 instruction then
// reduces the last 64 folded bytes and the tail. Folding a 16-byte lane
// forward over d bytes multiplies its low half by x^(8d+31) and its high half
// by x^(8d-33) (mod P, bit-reflected), giving 16 bytes with the same CRC
// contribution at the lane's new place.
uint32_t XPowModP(uint64_t exponent) {  // x^exponent mod P, bit-reflected
  uint32_t r = 0x80000000u;
  for (uint64_t i = 0; i < exponent; ++i) r = (r >> 1) ^ ((r & 1) ? kPolyReflected : 0);
  return r;
}

bool HasVpclmul() {
  static const bool has =
      __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq");
  return has;
}

constexpr size_t kMinFoldBytes = 256;

__attribute__((target("avx512f,vpclmulqdq,sse4.2"))) inline __m512i Fold(__m512i x, __m512i k, __m512i data) {
  __m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
  __m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);
  return _mm512_ternarylogic_epi64(lo, hi, data, 0x96);  // lo ^ hi ^ data
}

// n >= kMinFoldBytes.
__attribute__((target("avx512f,vpclmulqdq,sse4.2"))) uint32_t ExtendFolding(uint32_t crc, const uint8_t* p, size_t n) {
  static const uint64_t k256[2] = {XPowModP(8 * 256 + 31), XPowModP(8 * 256 - 33)};
  static const uint64_t k64[2] = {XPowModP(8 * 64 + 31), XPowModP(8 * 64 - 33)};
  const __m512i fold256 = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k256)));
  const __m512i fold64 = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k64)));
  // The register's initial value enters as if XORed into the first four bytes.
  __m512i x0 =
      _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_maskz_mov_epi32(1, _mm512_set1_epi32(static_cast<int>(crc))));
  __m512i x1 = _mm512_loadu_si512(p + 64);
  __m512i x2 = _mm512_loadu_si512(p + 128);
  __m512i x3 = _mm512_loadu_si512(p + 192);
  p += 256;
  n -= 256;
  while (n >= 256) {
    x0 = Fold(x0, fold256, _mm512_loadu_si512(p));
    x1 = Fold(x1, fold256, _mm512_loadu_si512(p + 64));
    x2 = Fold(x2, fold256, _mm512_loadu_si512(p + 128));
    x3 = Fold(x3, fold256, _mm512_loadu_si512(p + 192));
    p += 256;
    n -= 256;
  }
  __m512i x = Fold(Fold(Fold(x0, fold64, x1), fold64, x2), fold64, x3);
  while (n >= 64) {
    x = Fold(x, fold64, _mm512_loadu_si512(p));
    p += 64;
    n -= 64;
  }
  alignas(64) uint8_t folded[64];
  _mm512_store_si512(folded, x);
  uint64_t c = 0;
  for (size_t i = 0; i < 64; i += 8) c = Crc32Word(c, folded + i);
  return FinishTail(c, p, n);
}
#endif

}  // namespace

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  if (n >= kMinFoldBytes && HasVpclmul()) return ~ExtendFolding(crc, p, n);
  if (HasHardwareCrc()) return ~ExtendHardware(crc, p, n);
#endif
  return ~ExtendPortable(crc, p, n);
}

uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, size_t size_b) {
  // Register(c, a + b) == AdvanceOverZeros(Register(c, a), |b|) ^ Register(0, b);
  // the pre- and post-inversions of the two CRCs cancel but for crc_a's own.
  return AdvanceOverZeros(crc_a, size_b) ^ crc_b;
}

uint32_t Crc32cPatch(uint32_t crc, size_t message_size, size_t at, const void* delta, size_t n) {
  // CRC-32C is affine: for messages of one length, Crc(a) ^ Crc(b) is the
  // raw register (no pre- and post-inversion) of a ^ b, here the delta
  // followed by the zero bytes after it (zero bytes before it leave a zero
  // register unchanged).
  uint32_t raw = ExtendPortable(0, static_cast<const uint8_t*>(delta), n);
  return crc ^ AdvanceOverZeros(raw, message_size - at - n);
}

}  // namespace kl::log
