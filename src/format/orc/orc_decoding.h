// The low layers of ORC reading: a protobuf wire-format reader (ORC's footers
// are protobuf messages), the chunked compression of ORC streams, and the
// run-length encodings of values (byte RLE, boolean RLE, integer RLE v1 and
// v2). Every decoder checks its input and fails with Corruption instead of
// reading past it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "format/datum.h"

namespace kl::format::orc {

// ---- protobuf wire format ----

class ProtoReader {
 public:
  explicit ProtoReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  // Reads the next field's tag; false (and ok() unchanged) at the end.
  bool NextField(uint32_t* field, uint32_t* wire_type);
  uint64_t ReadVarint();
  std::string_view ReadBytes();  // length-delimited
  void Skip(uint32_t wire_type);
  // A repeated varint field, packed (wire type 2) or not (wire type 0).
  void ReadRepeatedVarint(uint32_t wire_type, std::vector<uint64_t>* out);
  bool ok() const { return ok_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// ---- compression ----

enum class CompressionKind : int { kNone = 0, kZlib = 1, kSnappy = 2, kLzo = 3, kLz4 = 4, kZstd = 5 };
const char* CompressionName(CompressionKind kind);

// Undoes ORC's chunked compression (3-byte headers: length << 1 | original) of a whole
// stream. `block_size` bounds each chunk's decompressed size.
Status Decompress(CompressionKind kind, uint64_t block_size, std::string_view in, std::string* out);

// ---- run-length encodings ----

// Byte RLE (TINYINT data, and the bytes under boolean RLE).
Status DecodeByteRle(std::string_view in, size_t count, std::vector<uint8_t>* out);
// Boolean RLE: byte RLE of bits, most significant bit first.
Status DecodeBooleanRle(std::string_view in, size_t count, std::vector<uint8_t>* out);
// Integer RLE, version 1 (DIRECT / DICTIONARY encodings) or 2 (the _V2 encodings).
Status DecodeIntRle(std::string_view in, size_t count, bool is_signed, bool v2, std::vector<int64_t>* out);
// Unbounded zigzag varints (DECIMAL data).
Status DecodeSignedVarints128(std::string_view in, size_t count, std::vector<Int128>* out);

}  // namespace kl::format::orc
