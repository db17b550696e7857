// Page compression through the packaged libraries: snappy, zlib (gzip),
// zstd, lz4 (raw blocks, and Hadoop's framing that parquet-mr calls "LZ4").
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "format/parquet/metadata/metadata.h"

namespace kl::format::parquet {

bool CodecSupported(Codec codec);

// Appends the compressed form of `input` to *out. `level` 0 means the codec's default.
Status Compress(Codec codec, int level, std::string_view input, std::string* out);

// Compress() straight into out[0, capacity), for callers that place the result themselves.
// MaxCompressedLength is the capacity that always suffices; 0 when `codec` has no such bound
// here (then use Compress).
size_t MaxCompressedLength(Codec codec, size_t n);
Status CompressTo(Codec codec, int level, std::string_view input, char* out, size_t capacity, size_t* written);

// Decompresses `input` into out[0, size); the result must be exactly that long (Parquet
// page headers record it). `out` needs no initialisation.
Status Decompress(Codec codec, std::string_view input, char* out, size_t size);

// A growable byte buffer that, unlike std::string, does not zero what it hands out:
// decompression overwrites every byte anyway.
class ByteBuffer {
 public:
  char* Reserve(size_t n) {
    if (n > capacity_) {
      data_.reset(new char[n]);
      capacity_ = n;
    }
    return data_.get();
  }
  const char* data() const { return data_.get(); }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
};

}  // namespace kl::format::parquet
