#include "format/parquet/column/column_reader.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "common/coding.h"
#include "format/parquet/column/compression.h"
#include "format/parquet/column/encoding.h"
#include "format/parquet/metadata/statistics.h"

namespace kl::format::parquet {
namespace {

// Limits that keep hostile headers from forcing huge allocations. Real pages are about
// 1 MiB and 20 000 rows (parquet-mr, Arrow); RLE lets a few bytes claim millions of nulls,
// so the value count needs its own cap (a page costs up to ~24 bytes per value decoded).
constexpr size_t kMaxPageBytes = size_t{1} << 30;
constexpr int64_t kMaxPageValues = int64_t{1} << 24;

int ValueWidth(const LeafInfo& leaf) {
  switch (leaf.physical) {
    case PhysicalType::kInt32:
    case PhysicalType::kFloat: return 4;
    case PhysicalType::kInt64:
    case PhysicalType::kDouble: return 8;
    case PhysicalType::kInt96: return 12;
    case PhysicalType::kFixedLenByteArray: return leaf.type_length;
    default: return 0;
  }
}

}  // namespace

ColumnChunkReader::ColumnChunkReader(std::string_view file, const ColumnChunk& chunk, const LeafInfo& leaf,
                                     std::string where)
    : file_(file), chunk_(chunk), leaf_(leaf), where_(std::move(where)) {}

Status ColumnChunkReader::Corrupt(const std::string& what) const {
  std::string page = page_index_ >= 0 ? ", page " + std::to_string(page_index_) : "";
  return Status::Corruption(where_ + page + ": " + what);
}

Status ColumnChunkReader::Open() {
  if (!chunk_.file_path.empty()) {
    return Status::NotSupported(where_ + ": column data in another file (" + chunk_.file_path + ")");
  }
  if (!chunk_.has_meta_data) return Corrupt("column chunk without metadata");
  const ColumnMetaData& m = chunk_.meta_data;
  if (m.type != leaf_.physical) return Corrupt("column chunk type differs from the schema");
  if (!CodecSupported(m.codec)) {
    return Status::NotSupported(where_ + ": compression codec " + CodecName(m.codec) + " is not supported");
  }
  int64_t start = m.data_page_offset;
  if (m.dictionary_page_offset && *m.dictionary_page_offset > 0 && *m.dictionary_page_offset < start) {
    start = *m.dictionary_page_offset;
  }
  int64_t size = m.total_compressed_size;
  if (start < 4 || size < 0 || static_cast<uint64_t>(start) > file_.size() ||
      static_cast<uint64_t>(size) > file_.size() - static_cast<uint64_t>(start)) {
    return Corrupt("column chunk range [" + std::to_string(start) + ", +" + std::to_string(size) +
                   ") lies outside the file");
  }
  if (m.num_values < 0) return Corrupt("negative value count");
  pos_ = static_cast<size_t>(start);
  end_ = pos_ + static_cast<size_t>(size);
  return Status::OK();
}

Status ColumnChunkReader::ReadHeader(PageHeader* header, std::string_view* body) {
  *header = PageHeader();
  size_t consumed = 0;
  std::string error;
  if (!ParsePageHeader(file_.substr(pos_, end_ - pos_), header, &consumed, &error)) {
    return Corrupt("bad page header at offset " + std::to_string(pos_) + ": " + error);
  }
  size_t body_start = pos_ + consumed;
  size_t body_size = static_cast<size_t>(header->compressed_page_size);
  if (body_size > end_ - body_start) {
    return Corrupt("page of " + std::to_string(body_size) + " bytes at offset " + std::to_string(pos_) +
                   " overruns the column chunk");
  }
  if (static_cast<size_t>(header->uncompressed_page_size) > kMaxPageBytes) return Corrupt("page too large");
  *body = file_.substr(body_start, body_size);
  pos_ = body_start + body_size;
  return Status::OK();
}

Status ColumnChunkReader::Uncompress(std::string_view input, size_t size, ByteBuffer* buffer, std::string_view* out) {
  Codec codec = chunk_.meta_data.codec;
  if (codec == Codec::kUncompressed) {
    if (input.size() != size) return Corrupt("uncompressed page size differs from its header");
    *out = input;
    return Status::OK();
  }
  // Bound the output before allocating it: no codec expands beyond these ratios, and zstd
  // frames state their size.
  if (codec == Codec::kZstd) {
    unsigned long long declared = ZSTD_getFrameContentSize(input.data(), input.size());
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != size) {
      return Corrupt("zstd frame holds " + std::to_string(declared) + " bytes, page header says " +
                     std::to_string(size));
    }
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN && size > input.size() * 2048 + 65536)
      return Corrupt("implausible page size");
  } else if (size > input.size() * 1100 + 65536) {
    return Corrupt("implausible page size " + std::to_string(size) + " for " + std::to_string(input.size()) +
                   " compressed bytes");
  }
  char* dst = buffer->Reserve(size);
  Status s = Decompress(codec, input, dst, size);
  if (!s.ok()) return Corrupt(s.message());
  *out = std::string_view(dst, size);
  return Status::OK();
}

Status ColumnChunkReader::NextPage(bool* done) {
  while (true) {
    if (pos_ >= end_) {
      if (values_seen_ != chunk_.meta_data.num_values) {
        return Corrupt("column chunk ends after " + std::to_string(values_seen_) + " of " +
                       std::to_string(chunk_.meta_data.num_values) + " values");
      }
      *done = true;
      return Status::OK();
    }
    ++page_index_;
    PageHeader header;
    std::string_view body;
    KL_RETURN_IF_ERROR(ReadHeader(&header, &body));
    switch (header.type) {
      case PageType::kDictionaryPage: KL_RETURN_IF_ERROR(LoadDictionary(header, body)); continue;
      case PageType::kDataPage:
      case PageType::kDataPageV2:
        KL_RETURN_IF_ERROR(DecodeDataPage(header, body));
        *done = false;
        return Status::OK();
      default: continue;  // index pages and unknown page types carry nothing to decode
    }
  }
}

Result<int64_t> ColumnChunkReader::TrySkipPage(int64_t max_rows) {
  if (leaf_.max_rep > 0) return int64_t{0};
  while (pos_ < end_) {
    size_t saved = pos_;
    int saved_index = page_index_;
    ++page_index_;
    PageHeader header;
    std::string_view body;
    KL_RETURN_IF_ERROR(ReadHeader(&header, &body));
    if (header.type == PageType::kDictionaryPage) {
      KL_RETURN_IF_ERROR(LoadDictionary(header, body));
      continue;
    }
    int64_t rows = -1;
    if (header.type == PageType::kDataPage && header.has_data) rows = header.data.num_values;
    if (header.type == PageType::kDataPageV2 && header.has_data_v2) rows = header.data_v2.num_values;
    if (header.type != PageType::kDataPage && header.type != PageType::kDataPageV2) continue;
    if (rows >= 0 && rows <= max_rows) {
      values_seen_ += rows;
      return rows;
    }
    pos_ = saved;
    page_index_ = saved_index;
    return int64_t{0};
  }
  return int64_t{0};
}

Status ColumnChunkReader::LoadDictionary(const PageHeader& header, std::string_view body) {
  if (!header.has_dictionary) return Corrupt("dictionary page without its header");
  if (has_dictionary_) return Corrupt("second dictionary page in one column chunk");
  const DictionaryPageHeader& d = header.dictionary;
  if (d.encoding != Encoding::kPlain && d.encoding != Encoding::kPlainDictionary) {
    return Corrupt(std::string("dictionary page encoded as ") + EncodingName(d.encoding));
  }
  if (d.num_values < 0 || d.num_values > kMaxPageValues) return Corrupt("bad dictionary size");
  std::string_view data;
  KL_RETURN_IF_ERROR(Uncompress(body, static_cast<size_t>(header.uncompressed_page_size), &dict_buffer_, &data));
  // Uncompressed dictionaries are views of the mapped file, which outlives this reader.
  KL_RETURN_IF_ERROR(DecodePlain(data, static_cast<size_t>(d.num_values), &dict_));
  ConvertInts(&dict_);
  if (leaf_.conversion == LeafConversion::kBytes) {
    dict_column_ = Column::MakeDictionary(leaf_.type, dict_.views.data(), dict_.size);
  }
  has_dictionary_ = true;
  return Status::OK();
}

Status ColumnChunkReader::DecodeLevels(const uint8_t* data, size_t size, int16_t max_level, size_t n,
                                       std::vector<int16_t>* out, bool* all_max) {
  RleDecoder decoder(data, size, BitWidth(static_cast<uint64_t>(max_level)));
  if (all_max != nullptr) {
    uint32_t v = 0;
    *all_max = n > 0 && decoder.IsOneRun(n, &v) && v == static_cast<uint32_t>(max_level);
    if (*all_max) return Status::OK();
  }
  level_scratch_.resize(n);
  if (!decoder.Get(level_scratch_.data(), n)) return Corrupt("levels: " + decoder.error());
  out->resize(n);
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    bad |= level_scratch_[i] > static_cast<uint32_t>(max_level) ? 1u : 0u;
    (*out)[i] = static_cast<int16_t>(level_scratch_[i]);
  }
  if (bad) return Corrupt("level above the column's maximum " + std::to_string(max_level));
  return Status::OK();
}

Status ColumnChunkReader::DecodeDataPage(const PageHeader& header, std::string_view body) {
  bool v2 = header.type == PageType::kDataPageV2;
  if (v2 ? !header.has_data_v2 : !header.has_data) return Corrupt("data page without its header");
  int64_t n = v2 ? header.data_v2.num_values : header.data.num_values;
  if (n < 0 || n > kMaxPageValues) return Corrupt("bad value count " + std::to_string(n));
  if (values_seen_ + n > chunk_.meta_data.num_values) return Corrupt("pages hold more values than the column chunk");
  values_seen_ += n;
  Encoding encoding = v2 ? header.data_v2.encoding : header.data.encoding;
  size_t count = static_cast<size_t>(n);
  num_levels_ = count;
  std::string_view values;
  bool def_all_max = false;  // no nulls in the page: def_ is not filled
  if (v2) {
    const DataPageHeaderV2& h = header.data_v2;
    if (h.repetition_levels_byte_length < 0 || h.definition_levels_byte_length < 0 ||
        static_cast<size_t>(h.repetition_levels_byte_length) + static_cast<size_t>(h.definition_levels_byte_length) >
            body.size()) {
      return Corrupt("level lengths overrun the page");
    }
    size_t rep_len = static_cast<size_t>(h.repetition_levels_byte_length);
    size_t def_len = static_cast<size_t>(h.definition_levels_byte_length);
    const auto* levels = reinterpret_cast<const uint8_t*>(body.data());
    if (leaf_.max_rep > 0) KL_RETURN_IF_ERROR(DecodeLevels(levels, rep_len, leaf_.max_rep, count, &rep_));
    if (leaf_.max_def > 0) {
      KL_RETURN_IF_ERROR(DecodeLevels(levels + rep_len, def_len, leaf_.max_def, count, &def_, &def_all_max));
    }
    std::string_view rest = body.substr(rep_len + def_len);
    size_t raw_size = static_cast<size_t>(header.uncompressed_page_size);
    if (raw_size < rep_len + def_len) return Corrupt("uncompressed size smaller than the levels");
    raw_size -= rep_len + def_len;
    if (h.is_compressed) {
      KL_RETURN_IF_ERROR(Uncompress(rest, raw_size, &page_buffer_, &values));
    } else {
      values = rest;
    }
  } else {
    std::string_view page;
    KL_RETURN_IF_ERROR(Uncompress(body, static_cast<size_t>(header.uncompressed_page_size), &page_buffer_, &page));
    // v1 levels: each is a 4-byte length followed by RLE data.
    auto read_levels = [&](int16_t max_level, Encoding enc, std::vector<int16_t>* out, bool* all_max) -> Status {
      if (max_level == 0) return Status::OK();
      if (enc != Encoding::kRle) {
        return Status::NotSupported(where_ + ": levels encoded as " + EncodingName(enc));
      }
      if (page.size() < 4) return Corrupt("truncated level length");
      uint32_t len = LoadLE32(page.data());
      if (len > page.size() - 4) return Corrupt("levels overrun the page");
      KL_RETURN_IF_ERROR(
          DecodeLevels(reinterpret_cast<const uint8_t*>(page.data() + 4), len, max_level, count, out, all_max));
      page.remove_prefix(4 + len);
      return Status::OK();
    };
    KL_RETURN_IF_ERROR(read_levels(leaf_.max_rep, header.data.repetition_level_encoding, &rep_, nullptr));
    KL_RETURN_IF_ERROR(read_levels(leaf_.max_def, header.data.definition_level_encoding, &def_, &def_all_max));
    values = page;
  }
  if (leaf_.max_rep > 0 && count > 0 && rep_[0] != 0 && page_index_ == 0) {
    return Corrupt("first value of the column chunk continues a previous row");
  }
  size_t non_null = count;
  if (leaf_.max_def > 0 && !def_all_max) {
    non_null = 0;
    const int16_t max = leaf_.max_def;
    for (size_t i = 0; i < count; ++i) non_null += def_[i] == max;
  }
  all_defined_ = non_null == count;
  KL_RETURN_IF_ERROR(DecodeValues(encoding, values, non_null, &values_));
  return Status::OK();
}

Status ColumnChunkReader::DecodePlain(std::string_view data, size_t n, DecodedValues* out) {
  out->size = n;
  const char* p = data.data();
  size_t size = data.size();
  switch (leaf_.physical) {
    case PhysicalType::kBoolean: {
      if (n > size * 8) return Corrupt("PLAIN booleans overrun the page");
      out->ints.resize(n);
      for (size_t i = 0; i < n; ++i) out->ints[i] = (static_cast<uint8_t>(p[i >> 3]) >> (i & 7)) & 1;
      return Status::OK();
    }
    case PhysicalType::kInt32: {
      if (n > size / 4) return Corrupt("PLAIN INT32 values overrun the page");
      out->ints.resize(n);
      for (size_t i = 0; i < n; ++i) out->ints[i] = static_cast<int32_t>(LoadLE32(p + 4 * i));
      return Status::OK();
    }
    case PhysicalType::kInt64: {
      if (n > size / 8) return Corrupt("PLAIN INT64 values overrun the page");
      out->ints.resize(n);
      if (n > 0) std::memcpy(out->ints.data(), p, n * 8);
      return Status::OK();
    }
    case PhysicalType::kFloat: {
      if (n > size / 4) return Corrupt("PLAIN FLOAT values overrun the page");
      out->doubles.resize(n);
      for (size_t i = 0; i < n; ++i) {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        out->doubles[i] = f;
      }
      return Status::OK();
    }
    case PhysicalType::kDouble: {
      if (n > size / 8) return Corrupt("PLAIN DOUBLE values overrun the page");
      out->doubles.resize(n);
      if (n > 0) std::memcpy(out->doubles.data(), p, n * 8);
      return Status::OK();
    }
    case PhysicalType::kInt96:
    case PhysicalType::kFixedLenByteArray: {
      size_t w = static_cast<size_t>(ValueWidth(leaf_));
      if (w == 0 || n > size / w) return Corrupt("PLAIN fixed-width values overrun the page");
      out->views.resize(n);
      for (size_t i = 0; i < n; ++i) out->views[i] = std::string_view(p + w * i, w);
      return Status::OK();
    }
    case PhysicalType::kByteArray: {
      if (n > size / 4) return Corrupt("PLAIN BYTE_ARRAY values overrun the page");
      out->views.resize(n);
      std::string_view* v = out->views.data();
      size_t left = size;
      for (size_t i = 0; i < n; ++i) {
        if (left < 4) return Corrupt("PLAIN BYTE_ARRAY length overruns the page");
        uint32_t len = LoadLE32(p);
        p += 4;
        left -= 4;
        if (len > left) return Corrupt("PLAIN BYTE_ARRAY value of " + std::to_string(len) + " bytes overruns the page");
        v[i] = std::string_view(p, len);
        p += len;
        left -= len;
      }
      return Status::OK();
    }
  }
  return Corrupt("unknown physical type");
}

void ColumnChunkReader::ConvertInts(DecodedValues* v) const {
  switch (leaf_.conversion) {
    case LeafConversion::kUInt32:
      for (auto& x : v->ints) x = static_cast<int64_t>(static_cast<uint32_t>(x));
      break;
    case LeafConversion::kTimeMicros:
      for (auto& x : v->ints) x = FloorDiv(x, 1000);
      break;
    case LeafConversion::kTimeNanos:
      for (auto& x : v->ints) x = FloorDiv(x, 1000000);
      break;
    default: break;
  }
}

Status ColumnChunkReader::DecodeValues(Encoding encoding, std::string_view data, size_t n, DecodedValues* out) {
  out->size = n;
  page_codes_ = false;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  std::string error;
  switch (encoding) {
    case Encoding::kPlain: KL_RETURN_IF_ERROR(DecodePlain(data, n, out)); break;
    case Encoding::kPlainDictionary:
    case Encoding::kRleDictionary: {
      if (!has_dictionary_) return Corrupt("dictionary-encoded page without a dictionary");
      if (n == 0) break;
      if (data.empty()) return Corrupt("missing dictionary index bit width");
      int bit_width = bytes[0];
      if (bit_width > 32) return Corrupt("dictionary index bit width " + std::to_string(bit_width));
      RleDecoder decoder(bytes + 1, data.size() - 1, bit_width);
      indices_.resize(n);
      if (!decoder.Get(indices_.data(), n)) return Corrupt("dictionary indices: " + decoder.error());
      uint32_t dict_size = static_cast<uint32_t>(dict_.size);
      uint32_t max_index = 0;
      for (size_t i = 0; i < n; ++i) max_index = std::max(max_index, indices_[i]);
      if (max_index >= dict_size) {
        return Corrupt("dictionary index " + std::to_string(max_index) + " beyond a dictionary of " +
                       std::to_string(dict_size));
      }
      const uint32_t* idx = indices_.data();
      if (dict_column_) {
        page_codes_ = true;  // bytes stay in the dictionary
        return Status::OK();
      }
      if (!dict_.views.empty() || leaf_.physical == PhysicalType::kByteArray ||
          leaf_.physical == PhysicalType::kFixedLenByteArray || leaf_.physical == PhysicalType::kInt96) {
        out->views.resize(n);
        for (size_t i = 0; i < n; ++i) out->views[i] = dict_.views[idx[i]];
      } else if (leaf_.physical == PhysicalType::kFloat || leaf_.physical == PhysicalType::kDouble) {
        out->doubles.resize(n);
        for (size_t i = 0; i < n; ++i) out->doubles[i] = dict_.doubles[idx[i]];
      } else {
        out->ints.resize(n);
        for (size_t i = 0; i < n; ++i) out->ints[i] = dict_.ints[idx[i]];
      }
      return Status::OK();  // dictionary values were converted already
    }
    case Encoding::kRle: {
      if (leaf_.physical != PhysicalType::kBoolean) return Corrupt("RLE values outside a BOOLEAN column");
      if (data.size() < 4) return Corrupt("truncated RLE boolean length");
      uint32_t len = LoadLE32(bytes);
      if (len > data.size() - 4) return Corrupt("RLE booleans overrun the page");
      RleDecoder decoder(bytes + 4, len, 1);
      indices_.resize(n);
      if (!decoder.Get(indices_.data(), n)) return Corrupt("RLE booleans: " + decoder.error());
      out->ints.assign(indices_.begin(), indices_.begin() + static_cast<std::ptrdiff_t>(n));
      break;
    }
    case Encoding::kDeltaBinaryPacked: {
      if (leaf_.physical != PhysicalType::kInt32 && leaf_.physical != PhysicalType::kInt64) {
        return Corrupt("DELTA_BINARY_PACKED outside an integer column");
      }
      size_t used;
      if (!DeltaBinaryDecode(bytes, data.size(), n, &out->ints, &used, &error)) return Corrupt(error);
      if (out->ints.size() != n) return Corrupt("DELTA_BINARY_PACKED holds a different number of values");
      if (leaf_.physical == PhysicalType::kInt32) {
        for (auto& x : out->ints) x = static_cast<int32_t>(static_cast<uint32_t>(x));
      }
      break;
    }
    case Encoding::kDeltaLengthByteArray:
      if (leaf_.physical != PhysicalType::kByteArray)
        return Corrupt("DELTA_LENGTH_BYTE_ARRAY outside a BYTE_ARRAY column");
      if (!DeltaLengthByteArrayDecode(bytes, data.size(), n, &out->views, &error)) return Corrupt(error);
      break;
    case Encoding::kDeltaByteArray: {
      if (leaf_.physical != PhysicalType::kByteArray && leaf_.physical != PhysicalType::kFixedLenByteArray) {
        return Corrupt("DELTA_BYTE_ARRAY outside a byte array column");
      }
      if (!DeltaByteArrayDecode(bytes, data.size(), n, &out->views, &scratch_, &error)) return Corrupt(error);
      if (leaf_.physical == PhysicalType::kFixedLenByteArray) {
        for (auto v : out->views) {
          if (v.size() != static_cast<size_t>(leaf_.type_length))
            return Corrupt("DELTA_BYTE_ARRAY value of wrong length");
        }
      }
      break;
    }
    case Encoding::kByteStreamSplit: {
      int width = ValueWidth(leaf_);
      if (width == 0) return Corrupt("BYTE_STREAM_SPLIT outside a fixed-width column");
      if (!ByteStreamSplitDecode(bytes, data.size(), n, width, &scratch_, &error)) return Corrupt(error);
      KL_RETURN_IF_ERROR(DecodePlain(scratch_, n, out));
      break;
    }
    default:
      return Status::NotSupported(where_ + ": encoding " + EncodingName(encoding) + " (" +
                                  std::to_string(static_cast<int>(encoding)) + ")");
  }
  if (leaf_.conversion == LeafConversion::kDecimalBytes) {
    for (auto v : out->views) {
      if (v.empty() || v.size() > 16) return Corrupt("decimal of " + std::to_string(v.size()) + " bytes");
    }
  }
  ConvertInts(out);
  return Status::OK();
}

void ColumnChunkReader::AppendValues(size_t from, size_t n, Column* out) const {
  const DecodedValues& v = values_;
  switch (out->kind()) {
    case PhysicalKind::kInt: out->AppendInts(v.ints.data() + from, n); return;
    case PhysicalKind::kDouble: out->AppendDoubles(v.doubles.data() + from, n); return;
    case PhysicalKind::kBytes:
      if (page_codes_)
        out->AppendCodes(dict_column_, indices_.data() + from, n);
      else
        out->AppendBytesBatch(v.views.data() + from, n);
      return;
    case PhysicalKind::kDecimal:
      for (size_t i = from; i < from + n; ++i) {
        Int128 d = 0;
        if (leaf_.conversion == LeafConversion::kDecimalInt)
          d = v.ints[i];
        else
          DecimalFromBigEndian(v.views[i], &d);
        out->AppendDecimal(d);
      }
      return;
    case PhysicalKind::kTimestamp:
      for (size_t i = from; i < from + n; ++i) {
        switch (leaf_.conversion) {
          case LeafConversion::kInt96: out->AppendTimestamp(Int96ToTimestamp(v.views[i].data())); break;
          case LeafConversion::kTimestampMicros: out->AppendTimestamp(TimestampFromMicros(v.ints[i])); break;
          case LeafConversion::kTimestampNanos: out->AppendTimestamp(TimestampFromNanos(v.ints[i])); break;
          default: out->AppendTimestamp(Timestamp{v.ints[i], 0}); break;
        }
      }
      return;
    case PhysicalKind::kNested: return;  // leaves are never nested
  }
}

}  // namespace kl::format::parquet
