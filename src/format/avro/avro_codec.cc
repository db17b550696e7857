#include "format/avro/avro_codec.h"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include "common/coding.h"

namespace kl::format::avro {

Result<AvroCodec> AvroCodecFromName(std::string_view name) {
  if (name.empty() || name == "null") return AvroCodec::kNull;
  if (name == "deflate") return AvroCodec::kDeflate;
  if (name == "snappy") return AvroCodec::kSnappy;
  if (name == "zstandard" || name == "zstd") return AvroCodec::kZstandard;
  return Status::NotSupported("Avro codec \"" + std::string(name) + "\"");
}

std::string_view AvroCodecName(AvroCodec codec) {
  switch (codec) {
    case AvroCodec::kNull: return "null";
    case AvroCodec::kDeflate: return "deflate";
    case AvroCodec::kSnappy: return "snappy";
    case AvroCodec::kZstandard: return "zstandard";
  }
  return "null";
}

Status CompressBlock(AvroCodec codec, int level, std::string_view input, std::string* out) {
  switch (codec) {
    case AvroCodec::kNull: out->append(input); return Status::OK();
    case AvroCodec::kDeflate: {
      z_stream zs{};
      // Raw deflate (negative window bits): Avro's deflate codec has no zlib header.
      if (deflateInit2(&zs, level < 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return Status::Internal("deflateInit2 failed");
      }
      size_t start = out->size();
      out->resize(start + deflateBound(&zs, input.size()));
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
      zs.avail_in = static_cast<uInt>(input.size());
      zs.next_out = reinterpret_cast<Bytef*>(out->data() + start);
      zs.avail_out = static_cast<uInt>(out->size() - start);
      int rc = deflate(&zs, Z_FINISH);
      deflateEnd(&zs);
      if (rc != Z_STREAM_END) return Status::Internal("deflate failed");
      out->resize(start + zs.total_out);
      return Status::OK();
    }
    case AvroCodec::kSnappy: {
      size_t start = out->size();
      out->resize(start + snappy::MaxCompressedLength(input.size()));
      size_t n = 0;
      snappy::RawCompress(input.data(), input.size(), out->data() + start, &n);
      out->resize(start + n);
      uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(input.data()), static_cast<uInt>(input.size())));
      PutFixed32BE(out, crc);
      return Status::OK();
    }
    case AvroCodec::kZstandard: {
      size_t start = out->size();
      out->resize(start + ZSTD_compressBound(input.size()));
      size_t n = ZSTD_compress(out->data() + start, out->size() - start, input.data(), input.size(),
                               level <= 0 ? 1 : level);
      if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
      out->resize(start + n);
      return Status::OK();
    }
  }
  return Status::Internal("unknown codec");
}

Status DecompressBlock(AvroCodec codec, std::string_view input, size_t max_output, std::string* out) {
  out->clear();
  switch (codec) {
    case AvroCodec::kNull:
      out->assign(input);
      return Status::OK();
    case AvroCodec::kDeflate: {
      z_stream zs{};
      if (inflateInit2(&zs, -15) != Z_OK) return Status::Internal("inflateInit2 failed");
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
      zs.avail_in = static_cast<uInt>(input.size());
      char buf[1 << 16];
      int rc = Z_OK;
      while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof(buf);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
          inflateEnd(&zs);
          return Status::Corruption("deflate block does not decompress");
        }
        out->append(buf, sizeof(buf) - zs.avail_out);
        if (out->size() > max_output) {
          inflateEnd(&zs);
          return Status::Corruption("deflate block decompresses beyond the size limit");
        }
        if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
          inflateEnd(&zs);
          return Status::Corruption("deflate block is truncated");
        }
      }
      inflateEnd(&zs);
      return Status::OK();
    }
    case AvroCodec::kSnappy: {
      if (input.size() < 4) return Status::Corruption("snappy block shorter than its CRC");
      std::string_view body = input.substr(0, input.size() - 4);
      size_t n = 0;
      if (!snappy::GetUncompressedLength(body.data(), body.size(), &n) || n > max_output) {
        return Status::Corruption("snappy block has a bad length");
      }
      out->resize(n);
      if (!snappy::RawUncompress(body.data(), body.size(), out->data())) {
        return Status::Corruption("snappy block does not decompress");
      }
      uint32_t expected = LoadBE32(input.data() + input.size() - 4);
      uint32_t actual = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(out->data()), static_cast<uInt>(out->size())));
      if (expected != actual) return Status::Corruption("snappy block CRC mismatch");
      return Status::OK();
    }
    case AvroCodec::kZstandard: {
      // Streaming decode: writers such as Java's ZstdOutputStream omit the content size.
      ZSTD_DStream* ds = ZSTD_createDStream();
      if (ds == nullptr) return Status::Internal("ZSTD_createDStream failed");
      ZSTD_inBuffer in{input.data(), input.size(), 0};
      unsigned long long hint = ZSTD_getFrameContentSize(input.data(), input.size());
      if (hint != ZSTD_CONTENTSIZE_UNKNOWN && hint != ZSTD_CONTENTSIZE_ERROR && hint <= max_output) {
        out->reserve(hint);
      }
      char buf[1 << 16];
      size_t rc = 1;
      while (in.pos < in.size || rc != 0) {
        ZSTD_outBuffer ob{buf, sizeof(buf), 0};
        rc = ZSTD_decompressStream(ds, &ob, &in);
        if (ZSTD_isError(rc)) {
          ZSTD_freeDStream(ds);
          return Status::Corruption(std::string("zstandard block does not decompress: ") + ZSTD_getErrorName(rc));
        }
        out->append(buf, ob.pos);
        if (out->size() > max_output) {
          ZSTD_freeDStream(ds);
          return Status::Corruption("zstandard block decompresses beyond the size limit");
        }
        if (in.pos == in.size && ob.pos == 0 && rc != 0) {
          ZSTD_freeDStream(ds);
          return Status::Corruption("zstandard block is truncated");
        }
      }
      ZSTD_freeDStream(ds);
      return Status::OK();
    }
  }
  return Status::Internal("unknown codec");
}

}  // namespace kl::format::avro
