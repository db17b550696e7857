#include "format/compression.h"

#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <limits>

namespace kl::format {
namespace {

// One pair of contexts per thread serves every block that thread compresses or reads.
struct ZstdContexts {
  ZSTD_CCtx* compress = ZSTD_createCCtx();
  ZSTD_DCtx* decompress = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(compress);
    ZSTD_freeDCtx(decompress);
  }
};

ZstdContexts& Zstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

Status ZstdError(const char* what, size_t code) {
  return Status::Corruption(std::string(what) + ": " + ZSTD_getErrorName(code));
}

// zlib counts in uInt; larger inputs are not produced by any format kubelake reads or writes.
bool FitsZlib(size_t n) { return n <= std::numeric_limits<uInt>::max(); }

// zstd itself clamps a level it lacks to one it has: refused here, so a
// configured level is the one used.
Status CheckZstdLevel(int level) {
  if (level >= ZSTD_minCLevel() && level <= ZSTD_maxCLevel()) return Status::OK();
  return Status::InvalidArgument("zstd level " + std::to_string(level) + " is outside " +
                                 std::to_string(ZSTD_minCLevel()) + " to " + std::to_string(ZSTD_maxCLevel()));
}

}  // namespace

int ZstdMinLevel() { return ZSTD_minCLevel(); }
int ZstdMaxLevel() { return ZSTD_maxCLevel(); }

Status ZstdCompress(int level, std::string_view input, std::string* out) {
  size_t base = out->size();
  out->resize(base + ZSTD_compressBound(input.size()));
  size_t n = 0;
  Status s = ZstdCompressTo(level, input, out->data() + base, out->size() - base, &n);
  out->resize(s.ok() ? base + n : base);
  return s;
}

size_t ZstdCompressBound(size_t n) { return ZSTD_compressBound(n); }

Status ZstdCompressTo(int level, std::string_view input, char* out, size_t capacity, size_t* written) {
  KL_RETURN_IF_ERROR(CheckZstdLevel(level));
  size_t n = ZSTD_compressCCtx(Zstd().compress, out, capacity, input.data(), input.size(), level);
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  *written = n;
  return Status::OK();
}

Status ZstdDecompress(std::string_view input, char* out, size_t capacity, size_t* produced) {
  size_t n = ZSTD_decompressDCtx(Zstd().decompress, out, capacity, input.data(), input.size());
  if (ZSTD_isError(n)) return ZstdError("zstd data does not decompress", n);
  *produced = n;
  return Status::OK();
}

Status ZstdDecompressStream(std::string_view input, size_t max_output, std::string* out) {
  ZSTD_DCtx* ds = Zstd().decompress;
  ZSTD_DCtx_reset(ds, ZSTD_reset_session_only);
  unsigned long long hint = ZSTD_getFrameContentSize(input.data(), input.size());
  if (hint != ZSTD_CONTENTSIZE_UNKNOWN && hint != ZSTD_CONTENTSIZE_ERROR && hint <= max_output) {
    out->reserve(out->size() + hint);
  }
  const size_t base = out->size();
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  char buf[1 << 16];
  size_t rc = 1;
  while (in.pos < in.size || rc != 0) {
    ZSTD_outBuffer ob{buf, sizeof(buf), 0};
    rc = ZSTD_decompressStream(ds, &ob, &in);
    if (ZSTD_isError(rc)) {
      ZSTD_DCtx_reset(ds, ZSTD_reset_session_only);
      return ZstdError("zstd data does not decompress", rc);
    }
    out->append(buf, ob.pos);
    if (out->size() - base > max_output) return Status::Corruption("zstd data decompresses beyond the size limit");
    if (in.pos == in.size && ob.pos == 0 && rc != 0) {
      ZSTD_DCtx_reset(ds, ZSTD_reset_session_only);
      return Status::Corruption("zstd data is truncated");
    }
  }
  return Status::OK();
}

Status ZstdCompressInto(int level, std::string_view input, std::string* buffer, std::string_view* out) {
  KL_RETURN_IF_ERROR(CheckZstdLevel(level));
  size_t bound = ZSTD_compressBound(input.size());
  if (buffer->size() < bound) buffer->resize(bound);
  size_t n = ZSTD_compressCCtx(Zstd().compress, buffer->data(), bound, input.data(), input.size(), level);
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  *out = std::string_view(buffer->data(), n);
  return Status::OK();
}

Status Lz4CompressInto(std::string_view input, std::string* buffer, std::string_view* out) {
  if (input.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return Status::InvalidArgument("input too large for LZ4");
  const int bound = LZ4_compressBound(static_cast<int>(input.size()));
  if (buffer->size() < static_cast<size_t>(bound)) buffer->resize(static_cast<size_t>(bound));
  const int n = LZ4_compress_default(input.data(), buffer->data(), static_cast<int>(input.size()), bound);
  if (n <= 0) return Status::Internal("LZ4 compression failed");
  *out = std::string_view(buffer->data(), static_cast<size_t>(n));
  return Status::OK();
}

Status Lz4DecompressExact(std::string_view input, char* out, size_t size) {
  if (input.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE) || size > static_cast<size_t>(LZ4_MAX_INPUT_SIZE))
    return Status::Corruption("LZ4 block too large");
  const int n = LZ4_decompress_safe(input.data(), out, static_cast<int>(input.size()), static_cast<int>(size));
  if (n < 0 || static_cast<size_t>(n) != size) return Status::Corruption("LZ4 block does not decompress to its size");
  return Status::OK();
}

Status ZstdInflateInto(std::string_view input, size_t max_output, size_t padding, std::string* buffer,
                       std::string_view* out) {
  // One frame that states its size (what ZstdCompress writes) inflates in one call, in place.
  unsigned long long size = ZSTD_getFrameContentSize(input.data(), input.size());
  if (size != ZSTD_CONTENTSIZE_UNKNOWN && size != ZSTD_CONTENTSIZE_ERROR &&
      ZSTD_findFrameCompressedSize(input.data(), input.size()) == input.size()) {
    if (size > max_output) return Status::Corruption("zstd data decompresses beyond the size limit");
    if (buffer->size() < size + padding) buffer->resize(size + padding);
    size_t n = ZSTD_decompressDCtx(Zstd().decompress, buffer->data(), size, input.data(), input.size());
    if (ZSTD_isError(n)) return ZstdError("zstd data does not decompress", n);
    if (n != size) return Status::Corruption("zstd data inflates to fewer bytes than its frames state");
    *out = std::string_view(buffer->data(), n);
    return Status::OK();
  }
  std::string inflated;
  KL_RETURN_IF_ERROR(ZstdDecompressStream(input, max_output, &inflated));
  size_t n = inflated.size();
  inflated.resize(n + padding);
  buffer->swap(inflated);
  *out = std::string_view(buffer->data(), n);
  return Status::OK();
}

Status DeflateCompress(int level, int window_bits, std::string_view input, std::string* out) {
  if (!FitsZlib(input.size())) return Status::InvalidArgument("block too large for deflate");
  z_stream zs{};
  if (deflateInit2(&zs, level < 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return Status::Internal("zlib deflateInit2 failed");
  }
  size_t base = out->size();
  out->resize(base + deflateBound(&zs, input.size()) + 32);  // + gzip header and trailer
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data() + base);
  zs.avail_out = static_cast<uInt>(out->size() - base);
  int rc = deflate(&zs, Z_FINISH);
  size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    out->resize(base);
    return Status::Internal("zlib deflate did not finish");
  }
  out->resize(base + n);
  return Status::OK();
}

Status Inflate(int window_bits, std::string_view input, char* out, size_t capacity, size_t* produced) {
  if (!FitsZlib(input.size()) || !FitsZlib(capacity)) return Status::Corruption("deflate block too large");
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return Status::Internal("zlib inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  zs.next_out = reinterpret_cast<Bytef*>(out);
  zs.avail_out = static_cast<uInt>(capacity);
  int rc = inflate(&zs, Z_FINISH);
  *produced = capacity - zs.avail_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Corruption("deflate data does not inflate (corrupt, truncated or too large)");
  return Status::OK();
}

Status InflateStream(int window_bits, std::string_view input, size_t max_output, std::string* out) {
  if (!FitsZlib(input.size())) return Status::Corruption("deflate block too large");
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return Status::Internal("zlib inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  const size_t base = out->size();
  char buf[1 << 16];
  Status status;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      status = Status::Corruption("deflate data does not inflate");
      break;
    }
    out->append(buf, sizeof(buf) - zs.avail_out);
    if (out->size() - base > max_output) {
      status = Status::Corruption("deflate data inflates beyond the size limit");
      break;
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      status = Status::Corruption("deflate data is truncated");
      break;
    }
  }
  inflateEnd(&zs);
  return status;
}

}  // namespace kl::format
