// CRC-32C (Castagnoli), the checksum of every log record and ingest batch.
// From 256 bytes on, with AVX-512 VPCLMULQDQ, by carry-less folding
// (checking the records of an ingest batch: 0.08-0.11 us per 2.5 KB record
// here against 0.13-0.16 us with the crc32 instruction); otherwise the SSE 4.2
// crc32 instruction on three streams at once (about 9 GB/s on a 2.5 KB record
// and 12 GB/s on a megabyte here), and a table-driven fallback without it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kl::log {

// Continues a CRC-32C over more bytes: Extend(Extend(0, a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

// The CRC-32C of a message of `message_size` bytes after its `n` bytes at
// `at` changed by `delta` (XORed into them), from its CRC before: about
// log2(message_size) table steps instead of a pass over the message (the
// log renumbers records this way). message_size < 2^40.
uint32_t Crc32cPatch(uint32_t crc, size_t message_size, size_t at, const void* delta, size_t n);
inline uint32_t Crc32c(std::string_view s) { return Crc32cExtend(0, s.data(), s.size()); }

// The CRC-32C of a + b from the CRCs of a and b: Crc32cCombine(Crc32c(a),
// Crc32c(b), |b|) == Crc32c(a + b), in about log2(|b|) table steps (a CRC
// taken while b was being written saves a pass over it later).
uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, size_t size_b);

}  // namespace kl::log
