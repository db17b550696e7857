// Page compression through the packaged libraries: snappy, zlib (gzip),
// zstd, lz4 (raw blocks, and Hadoop's framing that parquet-mr calls "LZ4").
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "format/parquet/metadata.h"

namespace kl::format::parquet {

bool CodecSupported(Codec codec);

// Appends the compressed form of `input` to *out. `level` 0 means the codec's default.
Status Compress(Codec codec, int level, std::string_view input, std::string* out);

// Decompresses `input` into out[0, uncompressed_size); the result must be exactly that
// long (Parquet page headers record it), which also caps the allocation.
Status Decompress(Codec codec, std::string_view input, size_t uncompressed_size, std::string* out);

}  // namespace kl::format::parquet
