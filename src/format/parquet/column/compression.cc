#include "format/parquet/column/compression.h"

#include <lz4.h>
#include <snappy.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "common/coding.h"
#include "format/compression.h"

namespace kl::format::parquet {
namespace {

// Hadoop's Lz4Codec frames data as blocks: [be32 uncompressed][be32 compressed][lz4 block]...
bool HadoopLz4Decompress(std::string_view input, size_t size, char* out) {
  size_t in = 0, produced = 0;
  while (in < input.size()) {
    if (input.size() - in < 8) return false;
    uint32_t block_raw = LoadBE32(input.data() + in);
    uint32_t block_compressed = LoadBE32(input.data() + in + 4);
    in += 8;
    if (block_compressed > input.size() - in || block_raw > size - produced) return false;
    int n = LZ4_decompress_safe(input.data() + in, out + produced, static_cast<int>(block_compressed),
                                static_cast<int>(block_raw));
    if (n < 0 || static_cast<uint32_t>(n) != block_raw) return false;
    in += block_compressed;
    produced += block_raw;
  }
  return produced == size;
}

}  // namespace

bool CodecSupported(Codec codec) {
  switch (codec) {
    case Codec::kUncompressed:
    case Codec::kSnappy:
    case Codec::kGzip:
    case Codec::kZstd:
    case Codec::kLz4Raw:
    case Codec::kLz4Hadoop: return true;
    default: return false;
  }
}

Status Compress(Codec codec, int level, std::string_view input, std::string* out) {
  switch (codec) {
    case Codec::kUncompressed: out->append(input); return Status::OK();
    case Codec::kSnappy: {
      size_t base = out->size();
      out->resize(base + snappy::MaxCompressedLength(input.size()));
      size_t n = 0;
      snappy::RawCompress(input.data(), input.size(), out->data() + base, &n);
      out->resize(base + n);
      return Status::OK();
    }
    // Parquet's GZIP is gzip framing; level 0 means zlib's default.
    case Codec::kGzip: return DeflateCompress(level == 0 ? -1 : level, kGzip, input, out);
    // parquet-mr's default zstd level is 3.
    case Codec::kZstd: return ZstdCompress(level == 0 ? 3 : level, input, out);
    case Codec::kLz4Raw:
    case Codec::kLz4Hadoop: {
      size_t base = out->size();
      bool hadoop = codec == Codec::kLz4Hadoop;
      size_t header = hadoop ? 8 : 0;
      out->resize(base + header + LZ4_compressBound(static_cast<int>(input.size())));
      int n = LZ4_compress_default(input.data(), out->data() + base + header, static_cast<int>(input.size()),
                                   LZ4_compressBound(static_cast<int>(input.size())));
      if (n <= 0 && !input.empty()) return Status::Internal("lz4 compression failed");
      if (hadoop) {
        uint32_t raw = __builtin_bswap32(static_cast<uint32_t>(input.size()));
        uint32_t comp = __builtin_bswap32(static_cast<uint32_t>(n));
        std::memcpy(out->data() + base, &raw, 4);
        std::memcpy(out->data() + base + 4, &comp, 4);
      }
      out->resize(base + header + static_cast<size_t>(n));
      return Status::OK();
    }
    default: return Status::NotSupported(std::string("writing codec ") + CodecName(codec));
  }
}

size_t MaxCompressedLength(Codec codec, size_t n) {
  switch (codec) {
    case Codec::kUncompressed: return n;
    case Codec::kSnappy: return snappy::MaxCompressedLength(n);
    case Codec::kZstd: return ZstdCompressBound(n);
    case Codec::kLz4Raw:
      return n > static_cast<size_t>(LZ4_MAX_INPUT_SIZE) ? 0
                                                         : static_cast<size_t>(LZ4_compressBound(static_cast<int>(n)));
    default: return 0;
  }
}

Status CompressTo(Codec codec, int level, std::string_view input, char* out, size_t capacity, size_t* written) {
  if (capacity < MaxCompressedLength(codec, input.size()) || MaxCompressedLength(codec, input.size()) == 0)
    return Status::InvalidArgument("compression output too small");
  switch (codec) {
    case Codec::kUncompressed:
      if (!input.empty()) std::memcpy(out, input.data(), input.size());
      *written = input.size();
      return Status::OK();
    case Codec::kSnappy: snappy::RawCompress(input.data(), input.size(), out, written); return Status::OK();
    case Codec::kZstd: return ZstdCompressTo(level == 0 ? 3 : level, input, out, capacity, written);
    case Codec::kLz4Raw: {
      int n = LZ4_compress_default(input.data(), out, static_cast<int>(input.size()),
                                   static_cast<int>(std::min(capacity, static_cast<size_t>(INT_MAX))));
      if (n <= 0 && !input.empty()) return Status::Internal("lz4 compression failed");
      *written = static_cast<size_t>(n);
      return Status::OK();
    }
    default: return Status::NotSupported(std::string("writing codec ") + CodecName(codec));
  }
}

Status Decompress(Codec codec, std::string_view input, char* out, size_t size) {
  switch (codec) {
    case Codec::kUncompressed:
      if (input.size() != size) return Status::Corruption("uncompressed page size mismatch");
      if (size > 0) std::memcpy(out, input.data(), size);
      return Status::OK();
    case Codec::kSnappy: {
      size_t n = 0;
      if (!snappy::GetUncompressedLength(input.data(), input.size(), &n) || n != size) {
        return Status::Corruption("snappy data does not match the declared page size");
      }
      if (!snappy::RawUncompress(input.data(), input.size(), out)) return Status::Corruption("bad snappy data");
      return Status::OK();
    }
    case Codec::kGzip: {
      // Some writers emit zlib streams under the GZIP codec; accept either header.
      size_t n = 0;
      Status s = Inflate(kZlibOrGzip, input, out, size, &n);
      if (!s.ok() || n != size) {
        return Status::Corruption("gzip data does not inflate to the " + std::to_string(size) +
                                  " bytes the page declares");
      }
      return Status::OK();
    }
    case Codec::kZstd: {
      size_t n = 0;
      KL_RETURN_IF_ERROR(ZstdDecompress(input, out, size, &n));
      if (n != size) return Status::Corruption("zstd data does not match the declared page size");
      return Status::OK();
    }
    case Codec::kLz4Raw: return Lz4DecompressExact(input, out, size);
    case Codec::kLz4Hadoop:
      // parquet-mr's "LZ4" is Hadoop-framed; some other writers put a raw block there.
      if (HadoopLz4Decompress(input, size, out)) return Status::OK();
      return Lz4DecompressExact(input, out, size);
    default: return Status::NotSupported(std::string("codec ") + CodecName(codec) + " is not supported");
  }
}

}  // namespace kl::format::parquet
