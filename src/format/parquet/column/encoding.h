// Parquet value and level encodings, bounds-checked on decode:
//  * RLE / bit-packed hybrid (levels, dictionary indices, RLE booleans)
//  * PLAIN booleans (bit-packed) and fixed-width values
//  * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY
//  * BYTE_STREAM_SPLIT
// Decoders work on whole pages: they fill caller-owned vectors and report
// false (with the reason in *error) on corrupt input, never reading outside
// [data, data + size).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kl::format::parquet {

// Bits needed for values up to `max_value`.
int BitWidth(uint64_t max_value);

class RleDecoder {
 public:
  RleDecoder() = default;
  RleDecoder(const uint8_t* data, size_t size, int bit_width) : p_(data), end_(data + size), bit_width_(bit_width) {}

  // Decodes exactly n values into out; false when the data ends early or is malformed.
  bool Get(uint32_t* out, size_t n);
  // Whether the next n values are one repeated run (then *value is its value); consumes
  // nothing that Get would not.
  bool IsOneRun(size_t n, uint32_t* value);
  const std::string& error() const { return error_; }

 private:
  bool NextRun();

  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  int bit_width_ = 0;
  // current run
  bool repeat_ = false;
  uint32_t repeat_value_ = 0;
  size_t remaining_ = 0;              // values left in the current run
  const uint8_t* literal_ = nullptr;  // bit-packed data of the current literal run
  size_t literal_bytes_ = 0;
  size_t literal_index_ = 0;  // next value within the literal run
  std::string error_;
};

// Encodes values with the hybrid RLE: runs of 8+ equal values become repeated runs, the
// rest bit-packed groups of 8.
void RleEncode(const uint32_t* values, size_t n, int bit_width, std::string* out);

// Bit-packs n values (LSB first) of `bit_width` bits; pads the last byte with zeros.
void BitPack(const uint32_t* values, size_t n, int bit_width, std::string* out);
// Unpacks n values of up to 64 bits from data, which must hold ceil(n * bit_width / 8) bytes.
void BitUnpack64(const uint8_t* data, size_t size, size_t n, int bit_width, uint64_t* out);

// DELTA_BINARY_PACKED. Decodes all values the header announces (at most max_values)
// and reports the bytes used, so byte data that follows can be found.
bool DeltaBinaryDecode(const uint8_t* data, size_t size, size_t max_values, std::vector<int64_t>* out, size_t* consumed,
                       std::string* error);
// `int32` selects 32-bit wrapping arithmetic, as INT32 columns require.
void DeltaBinaryEncode(const int64_t* values, size_t n, bool int32, std::string* out);

// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY. Decoded values view `data` (length
// variant) or `arena` (prefix variant; the arena is cleared and owns the bytes).
bool DeltaLengthByteArrayDecode(const uint8_t* data, size_t size, size_t n, std::vector<std::string_view>* out,
                                std::string* error);
bool DeltaByteArrayDecode(const uint8_t* data, size_t size, size_t n, std::vector<std::string_view>* out,
                          std::string* arena, std::string* error);
void DeltaLengthByteArrayEncode(const std::string_view* values, size_t n, std::string* out);
void DeltaByteArrayEncode(const std::string_view* values, size_t n, std::string* out);

// BYTE_STREAM_SPLIT of n values of `width` bytes: byte k of every value in stream k.
bool ByteStreamSplitDecode(const uint8_t* data, size_t size, size_t n, int width, std::string* out, std::string* error);
void ByteStreamSplitEncode(const uint8_t* values, size_t n, int width, std::string* out);

}  // namespace kl::format::parquet
