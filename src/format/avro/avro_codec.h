// Block compression codecs of Avro container files: null, deflate, snappy
// (with its trailing CRC-32) and zstandard, through zlib, libsnappy and libzstd.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace kl::format::avro {

enum class AvroCodec : unsigned char { kNull, kDeflate, kSnappy, kZstandard };

Result<AvroCodec> AvroCodecFromName(std::string_view name);
std::string_view AvroCodecName(AvroCodec codec);

// Appends the compressed form of `input` to `out`. `level` applies to deflate and zstandard.
Status CompressBlock(AvroCodec codec, int level, std::string_view input, std::string* out);
// Replaces `out` with the decompressed `input`; refuses output above `max_output` bytes.
Status DecompressBlock(AvroCodec codec, std::string_view input, size_t max_output, std::string* out);

}  // namespace kl::format::avro
