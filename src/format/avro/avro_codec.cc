#include "format/avro/avro_codec.h"

#include <snappy.h>
#include <zlib.h>

#include "common/coding.h"
#include "format/compression.h"

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
    // Avro's deflate codec is raw deflate, without a zlib header.
    case AvroCodec::kDeflate: return DeflateCompress(level, kRawDeflate, input, out);
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
    case AvroCodec::kZstandard: return ZstdCompress(level, input, out);
  }
  return Status::Internal("unknown codec");
}

Status DecompressBlock(AvroCodec codec, std::string_view input, size_t max_output, std::string* out) {
  out->clear();
  switch (codec) {
    case AvroCodec::kNull:
      out->assign(input);
      return Status::OK();
    case AvroCodec::kDeflate: return InflateStream(kRawDeflate, input, max_output, out);
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
    // Streaming decode: writers such as Java's ZstdOutputStream omit the content size.
    case AvroCodec::kZstandard: return ZstdDecompressStream(input, max_output, out);
  }
  return Status::Internal("unknown codec");
}

}  // namespace kl::format::avro
