// Block compression shared by the file codecs (Avro blocks, Parquet pages, ORC chunks). Each
// format adds its own framing around these; what they share is here: per-thread zstd contexts
// (creating one costs more than compressing a small block) and output bounds that keep hostile
// input from allocating without limit. zstd, zlib, snappy and lz4 are Debian's packages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kl::format {

// zstd's levels: ZstdMinLevel() (negative: its fast levels) to ZstdMaxLevel(); 0 is its default (3).
int ZstdMinLevel();
int ZstdMaxLevel();

// Appends the zstd frame of `input` at `level`, taken as it is, to `out`; a level outside zstd's
// range is an error.
Status ZstdCompress(int level, std::string_view input, std::string* out);

// Writes the zstd frame of `input` at `level` into out[0, capacity) (capacity at least
// ZstdCompressBound(input.size())); *written receives its length.
size_t ZstdCompressBound(size_t n);
Status ZstdCompressTo(int level, std::string_view input, char* out, size_t capacity, size_t* written);

// Decompresses the zstd frames in `input` into out[0, capacity); *produced receives the length.
// Fails when the data does not fit, so callers that know the exact size also check *produced.
Status ZstdDecompress(std::string_view input, char* out, size_t capacity, size_t* produced);

// Appends the decompressed zstd frames in `input` to `out`, for frames that need not state their
// content size (Java's ZstdOutputStream omits it); fails beyond max_output bytes.
Status ZstdDecompressStream(std::string_view input, size_t max_output, std::string* out);

// For request bodies compressed or inflated again and again by one thread (the remote sink, the
// ingest endpoint): `buffer` is kept by the caller and only grows, so a call neither zero-fills
// nor faults in fresh pages for the megabyte it writes. *out views the result inside `buffer`.
// ZstdCompressInto passes `level` to zstd as it is (negative levels are zstd's fast ones); a level
// zstd lacks is InvalidArgument, as for ZstdCompress.
Status ZstdCompressInto(int level, std::string_view input, std::string* buffer, std::string_view* out);
// At least `padding` bytes of `buffer` follow *out (for parsers that read past the end).
Status ZstdInflateInto(std::string_view input, size_t max_output, size_t padding, std::string* buffer,
                       std::string_view* out);

// LZ4's raw block form (no frame): about twice zstd's fastest level in both directions, for data
// kept in memory and read back often; larger. Lz4CompressInto writes into `buffer`, which only
// grows, and *out views the block inside it.
Status Lz4CompressInto(std::string_view input, std::string* buffer, std::string_view* out);
// Decompresses an LZ4 block that must fill out[0, size) exactly.
Status Lz4DecompressExact(std::string_view input, char* out, size_t size);

// zlib's window bits name the framing: -15 raw deflate (Avro, ORC), 15 + 16 gzip (Parquet),
// 15 + 32 inflate either zlib or gzip.
inline constexpr int kRawDeflate = -15;
inline constexpr int kGzip = 15 + 16;
inline constexpr int kZlibOrGzip = 15 + 32;

// Appends the deflate stream of `input` (level < 0: zlib's default) in the given framing.
Status DeflateCompress(int level, int window_bits, std::string_view input, std::string* out);

// Inflates `input` into out[0, capacity); *produced receives the length. The stream must end
// within `input` and fit.
Status Inflate(int window_bits, std::string_view input, char* out, size_t capacity, size_t* produced);

// Appends the inflated `input` to `out` when its size is not known up front; fails beyond
// max_output bytes or when the stream is cut short.
Status InflateStream(int window_bits, std::string_view input, size_t max_output, std::string* out);

}  // namespace kl::format
