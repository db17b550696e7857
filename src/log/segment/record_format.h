// The bytes of the embedded log: segment file header, record framing and the
// decoder shared by the writer's recovery, readers, `kubelake log verify` and
// the fuzz target. docs/log.md draws the layout.
//
//   segment file = header record*
//   header       = magic "KLSEG001" (8) | base offset u64 LE (8)
//   record       = crc32c u32 LE | body length u32 LE | body
//   body         = offset u64 LE | timestamp ms i64 LE | key length u32 LE | key | value
//
// The CRC covers the length field and the body, so a damaged length is
// caught like damaged content. Each record carries its own offset so a reader
// can check that the file holds what its name and position promise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kl::log {

inline constexpr std::string_view kSegmentMagic = "KLSEG001";
inline constexpr size_t kSegmentHeaderSize = 16;
inline constexpr size_t kRecordPrefixSize = 8;      // crc + length
inline constexpr size_t kRecordFixedBodySize = 20;  // offset + timestamp + key length
inline constexpr size_t kRecordOverhead = kRecordPrefixSize + kRecordFixedBodySize;
// Bodies above this are never written, so a larger length field is damage.
inline constexpr uint32_t kMaxRecordBodySize = 256u << 20;

std::string EncodeSegmentHeader(int64_t base_offset);

enum class HeaderState { kOk, kIncomplete, kBad };
// Checks the first bytes of a segment file against the base offset its name gives.
HeaderState CheckSegmentHeader(std::string_view data, int64_t base_offset, std::string* problem);

inline size_t EncodedRecordSize(size_t key_size, size_t value_size) { return kRecordOverhead + key_size + value_size; }

// Appends a complete record (CRC filled in).
void AppendRecord(std::string* dst, int64_t offset, int64_t timestamp_ms, std::string_view key, std::string_view value);

// Writes `offset` into the encoded record at `record` and adjusts the CRC it
// carries to match (without a pass over the record: CRC-32C is linear in the
// change). The producer encodes records before the writer knows their
// offsets, and the ingest endpoint appends records a collector's spool
// framed. The record's CRC must be right before: a damaged record stays
// detectably damaged.
void SealRecord(char* record, int64_t offset);

struct DecodedRecord {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string_view key;
  std::string_view value;
  size_t encoded_size = 0;  // bytes the record occupies in the file
};

enum class DecodeState {
  kOk,          // a complete record whose CRC matches
  kIncomplete,  // the bytes end before the record does (still being written, or torn)
  kBad,         // the bytes cannot be a record written by kubelake
};

// Decodes the record at the start of `data`. On kBad, `problem` says why.
// With verify_crc false only the framing is checked (for skipping quickly).
DecodeState DecodeRecord(std::string_view data, DecodedRecord* out, std::string* problem, bool verify_crc = true);

// The length field of the record at the start of `data` (needs 8 bytes), so a
// reader knows how much to read; 0 when fewer bytes are present.
size_t RecordSizeAt(std::string_view data);

// Searches [from, data.size()) for a position that decodes as a valid record
// with an offset >= min_offset. Distinguishes a torn tail (nothing valid after
// the damage: safe to cut) from damage in the middle (valid records follow).
// Returns std::string_view::npos when there is none.
size_t FindValidRecord(std::string_view data, size_t from, int64_t min_offset);

}  // namespace kl::log
