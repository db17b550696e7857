#include "format/parquet/column/column_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "common/coding.h"
#include "format/parquet/column/compression.h"
#include "format/parquet/column/encoding.h"
#include "format/parquet/metadata/statistics.h"

namespace kl::format::parquet {
namespace {

// parquet-mr truncates page-index min/max of byte arrays to this length.
constexpr size_t kIndexTruncate = 64;

std::string TruncateMin(const std::string& v) { return v.size() <= kIndexTruncate ? v : v.substr(0, kIndexTruncate); }

// A prefix whose last byte is incremented stays an upper bound; all-0xff prefixes cannot be.
std::string TruncateMax(const std::string& v) {
  if (v.size() <= kIndexTruncate) return v;
  std::string p = v.substr(0, kIndexTruncate);
  for (size_t i = p.size(); i-- > 0;) {
    if (static_cast<uint8_t>(p[i]) != 0xff) {
      p[i] = static_cast<char>(static_cast<uint8_t>(p[i]) + 1);
      p.resize(i + 1);
      return p;
    }
  }
  return v;
}

// The first page decides whether a dictionary pays off; when this many values are already
// nearly all distinct it cannot, and the writer stops hashing early.
constexpr int64_t kEarlyDictionaryCheck = 2048;

}  // namespace

ColumnChunkWriter::ColumnChunkWriter(const LeafInfo& leaf, std::vector<std::string> path,
                                     const ParquetWriterOptions& options)
    : leaf_(leaf), path_(std::move(path)), options_(options) {
  ResetForRowGroup();
}

void ColumnChunkWriter::ResetForRowGroup() {
  mode_ = options_.dictionary && leaf_.physical != PhysicalType::kBoolean ? Mode::kDictionary : Mode::kFallback;
  dictionary_checked_ = false;
  def_.clear();
  rep_.clear();
  page_levels_ = page_rows_ = page_values_ = 0;
  plain_.clear();
  bools_.clear();
  indices_.clear();
  page_stats_ = PageStats();
  dict_index_.Clear();
  dict_plain_.clear();
  dict_size_ = 0;
  entry_page_.clear();
  page_serial_ = 1;
  chunk_bytes_.Clear();
  dict_page_.clear();
  first_data_page_ = -1;
  has_dictionary_page_ = false;
  total_uncompressed_ = 0;
  num_values_ = 0;
  rows_written_ = 0;
  encodings_.clear();
  encoding_stats_.clear();
  chunk_stats_ = PageStats();
  chunk_nulls_ = 0;
  column_index_ = ColumnIndex();
  column_index_ok_ = leaf_.physical != PhysicalType::kInt96;
  offset_index_ = OffsetIndex();
}

void ColumnChunkWriter::UpdateStats(int64_t v) {
  PageStats& s = page_stats_;
  if (!s.has) {
    s.has = true;
    s.imin = s.imax = v;
    return;
  }
  if (v < s.imin) s.imin = v;
  if (v > s.imax) s.imax = v;
}

void ColumnChunkWriter::UpdateStats(double v) {
  if (std::isnan(v)) return;  // NaN has no place in an order; parquet-mr leaves it out too
  PageStats& s = page_stats_;
  if (!s.has) {
    s.has = true;
    s.dmin = s.dmax = v;
    return;
  }
  if (v < s.dmin) s.dmin = v;
  if (v > s.dmax) s.dmax = v;
}

void ColumnChunkWriter::UpdateStats(std::string_view v) {
  PageStats& s = page_stats_;
  if (leaf_.conversion == LeafConversion::kDecimalBytes) {
    Int128 d = 0;
    DecimalFromBigEndian(v, &d);
    if (!s.has || d < s.decmin) s.decmin = d;
    if (!s.has || d > s.decmax) s.decmax = d;
    s.has = true;
    return;
  }
  uint64_t key = BytesPrefix(v);
  if (!s.has) {
    s.has = true;
    s.bmin.assign(v);
    s.bmax.assign(v);
    s.bmin_key = s.bmax_key = key;
    return;
  }
  // Byte strings order like their 8-byte big-endian prefixes unless the prefixes tie.
  if (key < s.bmin_key || (key == s.bmin_key && v < s.bmin)) {
    s.bmin.assign(v);
    s.bmin_key = key;
  } else if (key > s.bmax_key || (key == s.bmax_key && v > s.bmax)) {
    s.bmax.assign(v);
    s.bmax_key = key;
  }
}

void ColumnChunkWriter::AddInt96Stats(std::string_view v) {
  Datum d = Datum::Time(Int96ToTimestamp(v.data()));
  if (!min_ || CompareDatum(d, *min_) < 0) min_ = d;
  if (!max_ || CompareDatum(d, *max_) > 0) max_ = d;
}

void ColumnChunkWriter::AddInt(int64_t v) {
  ++page_values_;
  UpdateStats(v);
  if (leaf_.physical == PhysicalType::kBoolean) {
    bools_.push_back(v != 0 ? 1 : 0);
    return;
  }
  bool int32 = leaf_.physical == PhysicalType::kInt32;
  if (mode_ == Mode::kDictionary) {
    auto [index, inserted] = dict_index_.FindOrAdd(static_cast<uint64_t>(v));
    if (inserted) {
      ++dict_size_;
      if (int32)
        PutFixed32LE(&dict_plain_, static_cast<uint32_t>(v));
      else
        PutFixed64LE(&dict_plain_, static_cast<uint64_t>(v));
    }
    indices_.push_back(index);
    if (dictionary_checked_) return;
  }
  if (int32)
    PutFixed32LE(&plain_, static_cast<uint32_t>(v));
  else
    PutFixed64LE(&plain_, static_cast<uint64_t>(v));
}

void ColumnChunkWriter::AddInts(const int64_t* v, size_t n) {
  if (mode_ == Mode::kDictionary || leaf_.physical == PhysicalType::kBoolean) {
    for (size_t i = 0; i < n; ++i) AddInt(v[i]);
    return;
  }
  if (n == 0) return;
  page_values_ += static_cast<int64_t>(n);
  int64_t lo = v[0], hi = v[0];
  for (size_t i = 1; i < n; ++i) {
    lo = v[i] < lo ? v[i] : lo;
    hi = v[i] > hi ? v[i] : hi;
  }
  UpdateStats(lo);
  UpdateStats(hi);
  size_t base = plain_.size();
  if (leaf_.physical == PhysicalType::kInt32) {
    plain_.resize(base + 4 * n);
    char* p = plain_.data() + base;
    for (size_t i = 0; i < n; ++i) StoreLE32(p + 4 * i, static_cast<uint32_t>(v[i]));
  } else {
    plain_.resize(base + 8 * n);
    std::memcpy(plain_.data() + base, v, 8 * n);
  }
}

void ColumnChunkWriter::AddDouble(double v) {
  ++page_values_;
  UpdateStats(v);
  bool is_float = leaf_.physical == PhysicalType::kFloat;
  float f = static_cast<float>(v);
  auto put = [&](std::string* out) {
    if (is_float)
      out->append(reinterpret_cast<const char*>(&f), 4);
    else
      out->append(reinterpret_cast<const char*>(&v), 8);
  };
  if (mode_ == Mode::kDictionary) {
    int64_t key = 0;
    if (is_float)
      std::memcpy(&key, &f, 4);
    else
      std::memcpy(&key, &v, 8);
    auto [index, inserted] = dict_index_.FindOrAdd(static_cast<uint64_t>(key));
    if (inserted) {
      ++dict_size_;
      put(&dict_plain_);
    }
    indices_.push_back(index);
    if (dictionary_checked_) return;
  }
  put(&plain_);
}

void ColumnChunkWriter::AddBytes(std::string_view v) {
  ++page_values_;
  bool byte_array = leaf_.physical == PhysicalType::kByteArray;
  auto stats = [&] {
    if (leaf_.physical == PhysicalType::kInt96)
      AddInt96Stats(v);
    else
      UpdateStats(v);
  };
  if (mode_ == Mode::kDictionary) {
    // A new entry's bytes go into the dictionary page, after a BYTE_ARRAY's length.
    auto [index, inserted] = dict_index_.FindOrAdd(v, dict_plain_, dict_plain_.size() + (byte_array ? 4 : 0));
    if (inserted) {
      ++dict_size_;
      if (byte_array) PutFixed32LE(&dict_plain_, static_cast<uint32_t>(v.size()));
      dict_plain_.append(v);
      entry_page_.push_back(0);
    }
    // The min and max of a page are those of its distinct values: an entry the page
    // already holds moves neither, and is not compared again.
    if (entry_page_[index] != page_serial_) {
      entry_page_[index] = page_serial_;
      stats();
    }
    indices_.push_back(index);
    if (dictionary_checked_) return;
  } else {
    stats();
  }
  if (byte_array) PutFixed32LE(&plain_, static_cast<uint32_t>(v.size()));
  plain_.append(v);
}

void ColumnChunkWriter::AddBytesBatch(const std::string_view* v, size_t n) {
  if (mode_ == Mode::kDictionary || leaf_.physical != PhysicalType::kByteArray) {
    for (size_t i = 0; i < n; ++i) AddBytes(v[i]);
    return;
  }
  page_values_ += static_cast<int64_t>(n);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    UpdateStats(v[i]);
    total += v[i].size();
  }
  size_t pos = plain_.size();
  plain_.resize(pos + total + 4 * n);
  char* dst = plain_.data();
  for (size_t i = 0; i < n; ++i) {
    StoreLE32(dst + pos, static_cast<uint32_t>(v[i].size()));
    CopyShortValue(dst + pos + 4, v[i].data(), v[i].size());
    pos += 4 + v[i].size();
  }
}

void ColumnChunkWriter::DropDictionary() {
  mode_ = Mode::kFallback;
  dictionary_checked_ = true;
  indices_.clear();
  dict_index_.Clear();
  dict_plain_.clear();
  dict_size_ = 0;
  entry_page_.clear();
}

int64_t ColumnChunkWriter::BufferedBytes() const {
  int64_t page =
      static_cast<int64_t>(plain_.size() + bools_.size() / 8 + indices_.size() + def_.size() / 4 + rep_.size() / 4);
  return static_cast<int64_t>(chunk_bytes_.size() + dict_plain_.size()) + page;
}

Status ColumnChunkWriter::MaybeFlushPage() {
  if (mode_ == Mode::kDictionary && !dictionary_checked_ && page_values_ >= kEarlyDictionaryCheck &&
      static_cast<int64_t>(dict_size_) * 10 >= page_values_ * 9) {
    DropDictionary();  // plain_ still holds every value of the page
  }
  int64_t page_bytes;
  if (mode_ == Mode::kDictionary && dictionary_checked_) {
    page_bytes = static_cast<int64_t>(indices_.size()) * ((BitWidth(dict_size_) + 7) / 8);
  } else {
    page_bytes = static_cast<int64_t>(plain_.size() + bools_.size() / 8);
  }
  bool dict_full =
      mode_ == Mode::kDictionary && static_cast<int64_t>(dict_plain_.size()) >= options_.dictionary_page_bytes;
  if (page_rows_ >= options_.page_rows || page_bytes >= options_.page_bytes || dict_full) return FlushPage();
  return Status::OK();
}

void ColumnChunkWriter::AddEncoding(Encoding e) {
  for (Encoding x : encodings_) {
    if (x == e) return;
  }
  encodings_.push_back(e);
}

std::string ColumnChunkWriter::StatBytes(bool min, const PageStats& s) const {
  std::string out;
  switch (leaf_.physical) {
    case PhysicalType::kBoolean: out.push_back((min ? s.imin : s.imax) != 0 ? 1 : 0); break;
    case PhysicalType::kInt32: PutFixed32LE(&out, static_cast<uint32_t>(min ? s.imin : s.imax)); break;
    case PhysicalType::kInt64: PutFixed64LE(&out, static_cast<uint64_t>(min ? s.imin : s.imax)); break;
    case PhysicalType::kFloat:
    case PhysicalType::kDouble: {
      double d = min ? s.dmin : s.dmax;
      // Readers may see either zero; the spec asks for -0 as a min and +0 as a max.
      if (d == 0) d = min ? -0.0 : 0.0;
      if (leaf_.physical == PhysicalType::kFloat) {
        float f = static_cast<float>(d);
        out.append(reinterpret_cast<const char*>(&f), 4);
      } else {
        out.append(reinterpret_cast<const char*>(&d), 8);
      }
      break;
    }
    case PhysicalType::kByteArray:
    case PhysicalType::kFixedLenByteArray:
      if (leaf_.conversion == LeafConversion::kDecimalBytes) {
        out = DecimalToBigEndian(min ? s.decmin : s.decmax,
                                 leaf_.physical == PhysicalType::kFixedLenByteArray ? leaf_.type_length : 16);
      } else {
        out = min ? s.bmin : s.bmax;
      }
      break;
    case PhysicalType::kInt96: break;
  }
  return out;
}

void ColumnChunkWriter::MergePageStats() {
  const PageStats& p = page_stats_;
  PageStats& c = chunk_stats_;
  if (!p.has) return;
  if (!c.has) {
    c = p;
    return;
  }
  c.imin = std::min(c.imin, p.imin);
  c.imax = std::max(c.imax, p.imax);
  c.dmin = std::min(c.dmin, p.dmin);
  c.dmax = std::max(c.dmax, p.dmax);
  if (p.bmin < c.bmin) {
    c.bmin = p.bmin;
    c.bmin_key = p.bmin_key;
  }
  if (p.bmax > c.bmax) {
    c.bmax = p.bmax;
    c.bmax_key = p.bmax_key;
  }
  c.decmin = std::min(c.decmin, p.decmin);
  c.decmax = std::max(c.decmax, p.decmax);
}

Status ColumnChunkWriter::EncodeValues(std::string* out, Encoding* encoding) {
  out->clear();
  if (mode_ == Mode::kDictionary) {
    int bw = BitWidth(dict_size_ > 0 ? dict_size_ - 1 : 0);
    out->push_back(static_cast<char>(bw));
    RleEncode(indices_.data(), indices_.size(), bw, out);
    *encoding = options_.data_page_v2 ? Encoding::kRleDictionary : Encoding::kPlainDictionary;
    return Status::OK();
  }
  ValueEncoding choice = options_.encoding;
  switch (leaf_.physical) {
    case PhysicalType::kBoolean:
      if (choice == ValueEncoding::kDelta) {
        std::string rle;
        RleEncode(bools_.data(), bools_.size(), 1, &rle);
        PutFixed32LE(out, static_cast<uint32_t>(rle.size()));
        out->append(rle);
        *encoding = Encoding::kRle;
      } else {
        BitPack(bools_.data(), bools_.size(), 1, out);
        *encoding = Encoding::kPlain;
      }
      return Status::OK();
    case PhysicalType::kInt32:
    case PhysicalType::kInt64:
      if (choice == ValueEncoding::kDelta || choice == ValueEncoding::kDeltaLength) {
        bool int32 = leaf_.physical == PhysicalType::kInt32;
        size_t n = plain_.size() / (int32 ? 4 : 8);
        std::vector<int64_t> values(n);
        for (size_t i = 0; i < n; ++i) {
          values[i] = int32 ? static_cast<int32_t>(LoadLE32(plain_.data() + 4 * i))
                            : static_cast<int64_t>(LoadLE64(plain_.data() + 8 * i));
        }
        DeltaBinaryEncode(values.data(), n, int32, out);
        *encoding = Encoding::kDeltaBinaryPacked;
        return Status::OK();
      }
      break;
    case PhysicalType::kFloat:
    case PhysicalType::kDouble:
      if (choice == ValueEncoding::kByteStreamSplit) {
        int width = leaf_.physical == PhysicalType::kFloat ? 4 : 8;
        ByteStreamSplitEncode(reinterpret_cast<const uint8_t*>(plain_.data()), plain_.size() / width, width, out);
        *encoding = Encoding::kByteStreamSplit;
        return Status::OK();
      }
      break;
    case PhysicalType::kByteArray:
    case PhysicalType::kFixedLenByteArray:
      if (choice == ValueEncoding::kDelta ||
          (choice == ValueEncoding::kDeltaLength && leaf_.physical == PhysicalType::kByteArray)) {
        std::vector<std::string_view> views;
        views.reserve(static_cast<size_t>(page_values_));
        const char* p = plain_.data();
        const char* end = p + plain_.size();
        while (p < end) {
          size_t len = static_cast<size_t>(leaf_.type_length);
          if (leaf_.physical == PhysicalType::kByteArray) {
            len = LoadLE32(p);
            p += 4;
          }
          views.emplace_back(p, len);
          p += len;
        }
        if (choice == ValueEncoding::kDelta) {
          DeltaByteArrayEncode(views.data(), views.size(), out);
          *encoding = Encoding::kDeltaByteArray;
        } else {
          DeltaLengthByteArrayEncode(views.data(), views.size(), out);
          *encoding = Encoding::kDeltaLengthByteArray;
        }
        return Status::OK();
      }
      break;
    case PhysicalType::kInt96: break;
  }
  out->swap(plain_);
  *encoding = Encoding::kPlain;
  return Status::OK();
}

Status ColumnChunkWriter::FlushPage() {
  if (page_levels_ == 0) return Status::OK();
  if (mode_ == Mode::kDictionary && !dictionary_checked_) {
    dictionary_checked_ = true;
    // Keep the dictionary only if it (plus the indices) is smaller than plain values.
    size_t indices = indices_.size() * static_cast<size_t>(BitWidth(dict_size_)) / 8;
    if (dict_plain_.size() + indices >= plain_.size()) DropDictionary();
  }
  bool dict_page = mode_ == Mode::kDictionary;
  std::string& values = page_encoded_;
  Encoding encoding;
  KL_RETURN_IF_ERROR(EncodeValues(&values, &encoding));
  std::string rep_rle, def_rle;
  if (leaf_.max_rep > 0) RleEncode(rep_.data(), rep_.size(), BitWidth(static_cast<uint64_t>(leaf_.max_rep)), &rep_rle);
  if (leaf_.max_def > 0) RleEncode(def_.data(), def_.size(), BitWidth(static_cast<uint64_t>(leaf_.max_def)), &def_rle);

  PageHeader header;
  header.type = options_.data_page_v2 ? PageType::kDataPageV2 : PageType::kDataPage;
  int32_t num_nulls = static_cast<int32_t>(page_levels_ - page_values_);
  // The page body: bytes stored as they are (v2's levels), then the compressed input.
  std::string& stored = v2_levels_;
  stored.clear();
  std::string_view input;
  if (options_.data_page_v2) {
    stored.append(rep_rle);
    stored.append(def_rle);
    input = values;
    header.uncompressed_page_size = static_cast<int32_t>(rep_rle.size() + def_rle.size() + values.size());
    header.has_data_v2 = true;
    header.data_v2.num_values = static_cast<int32_t>(page_levels_);
    header.data_v2.num_nulls = num_nulls;
    header.data_v2.num_rows = static_cast<int32_t>(page_rows_);
    header.data_v2.encoding = encoding;
    header.data_v2.definition_levels_byte_length = static_cast<int32_t>(def_rle.size());
    header.data_v2.repetition_levels_byte_length = static_cast<int32_t>(rep_rle.size());
    header.data_v2.is_compressed = options_.codec != Codec::kUncompressed;
  } else {
    std::string& raw = v1_page_;
    raw.clear();
    raw.reserve(rep_rle.size() + def_rle.size() + values.size() + 8);
    if (leaf_.max_rep > 0) {
      PutFixed32LE(&raw, static_cast<uint32_t>(rep_rle.size()));
      raw.append(rep_rle);
    }
    if (leaf_.max_def > 0) {
      PutFixed32LE(&raw, static_cast<uint32_t>(def_rle.size()));
      raw.append(def_rle);
    }
    raw.append(values);
    input = raw;
    header.uncompressed_page_size = static_cast<int32_t>(raw.size());
    header.has_data = true;
    header.data.num_values = static_cast<int32_t>(page_levels_);
    header.data.encoding = encoding;
    header.data.definition_level_encoding = Encoding::kRle;
    header.data.repetition_level_encoding = Encoding::kRle;
  }
  // Header and body go straight into the chunk. The header states the compressed size, known
  // only once compressed: the body is compressed into place behind room for the header of the
  // largest size it could have, and the header, never longer, is written just before it.
  const size_t page_start = chunk_bytes_.size();
  std::string& header_bytes = header_;
  size_t bound = MaxCompressedLength(options_.codec, input.size());
  if (bound == 0) {
    // A codec compressed only into a string: the page is copied in.
    std::string body = stored;
    KL_RETURN_IF_ERROR(Compress(options_.codec, options_.compression_level, input, &body));
    header.compressed_page_size = static_cast<int32_t>(body.size());
    header_bytes.clear();
    SerializePageHeader(header, &header_bytes);
    chunk_bytes_.Append(header_bytes);
    chunk_bytes_.Append(body);
  } else {
    if (stored.size() + bound > static_cast<size_t>(INT32_MAX)) {
      return Status::InvalidArgument("a Parquet page of " + std::to_string(input.size()) +
                                     " bytes is beyond the format's 2 GiB page size");
    }
    header.compressed_page_size = static_cast<int32_t>(stored.size() + bound);
    header_bytes.clear();
    SerializePageHeader(header, &header_bytes);
    const size_t room = header_bytes.size();
    char* p = chunk_bytes_.Extend(room + stored.size() + bound);
    if (!stored.empty()) std::memcpy(p + room, stored.data(), stored.size());
    size_t n = 0;
    KL_RETURN_IF_ERROR(
        CompressTo(options_.codec, options_.compression_level, input, p + room + stored.size(), bound, &n));
    header.compressed_page_size = static_cast<int32_t>(stored.size() + n);
    header_bytes.clear();
    SerializePageHeader(header, &header_bytes);
    // A smaller size may take fewer varint bytes (never more): the body then moves up against
    // the header.
    if (header_bytes.size() > room) return Status::Internal("a Parquet page header outgrew its room");
    if (header_bytes.size() < room) std::memmove(p + header_bytes.size(), p + room, stored.size() + n);
    std::memcpy(p, header_bytes.data(), header_bytes.size());
    chunk_bytes_.Resize(page_start + header_bytes.size() + stored.size() + n);
  }

  PageLocation loc;
  loc.offset = static_cast<int64_t>(page_start);  // relative; fixed up in Finish
  loc.compressed_page_size = static_cast<int32_t>(chunk_bytes_.size() - page_start);
  loc.first_row_index = rows_written_;
  offset_index_.page_locations.push_back(loc);
  if (first_data_page_ < 0) first_data_page_ = static_cast<int64_t>(page_start);
  total_uncompressed_ += static_cast<int64_t>(header_bytes.size()) + header.uncompressed_page_size;
  num_values_ += page_levels_;
  rows_written_ += page_rows_;
  AddEncoding(encoding);
  AddEncoding(Encoding::kRle);
  bool found = false;
  for (auto& s : encoding_stats_) {
    if (s.page_type == header.type && s.encoding == encoding) {
      ++s.count;
      found = true;
    }
  }
  if (!found) encoding_stats_.push_back({header.type, encoding, 1});

  // page index entry
  bool null_page = page_values_ == 0;
  column_index_.null_pages.push_back(null_page);
  column_index_.null_counts.push_back(num_nulls);
  if (null_page || !page_stats_.has) {
    if (!null_page) column_index_ok_ = false;  // values without an order (all NaN, INT96)
    column_index_.min_values.emplace_back();
    column_index_.max_values.emplace_back();
  } else {
    std::string lo = StatBytes(true, page_stats_), hi = StatBytes(false, page_stats_);
    bool binary = leaf_.physical == PhysicalType::kByteArray && leaf_.conversion != LeafConversion::kDecimalBytes;
    column_index_.min_values.push_back(binary ? TruncateMin(lo) : lo);
    column_index_.max_values.push_back(binary ? TruncateMax(hi) : hi);
  }
  chunk_nulls_ += num_nulls;
  null_count_ += num_nulls;
  MergePageStats();

  // reset the page
  def_.clear();
  rep_.clear();
  page_levels_ = page_rows_ = page_values_ = 0;
  plain_.clear();
  bools_.clear();
  indices_.clear();
  page_stats_ = PageStats();
  ++page_serial_;
  if (dict_page) has_dictionary_page_ = true;
  // A dictionary that outgrew its page stops here; later pages use the fallback encoding.
  if (mode_ == Mode::kDictionary && static_cast<int64_t>(dict_plain_.size()) >= options_.dictionary_page_bytes) {
    mode_ = Mode::kFallback;
    dict_index_.Clear();
  }
  return Status::OK();
}

Status ColumnChunkWriter::Finish(int64_t offset, ColumnChunk* chunk, ColumnIndex* column_index,
                                 OffsetIndex* offset_index, bool* has_column_index) {
  KL_RETURN_IF_ERROR(FlushPage());
  std::string& dict = dict_page_;
  dict.clear();
  if (has_dictionary_page_) {
    PageHeader header;
    header.type = PageType::kDictionaryPage;
    header.has_dictionary = true;
    header.dictionary.num_values = static_cast<int32_t>(dict_size_);
    header.dictionary.encoding = options_.data_page_v2 ? Encoding::kPlain : Encoding::kPlainDictionary;
    std::string body;
    KL_RETURN_IF_ERROR(Compress(options_.codec, options_.compression_level, dict_plain_, &body));
    header.uncompressed_page_size = static_cast<int32_t>(dict_plain_.size());
    header.compressed_page_size = static_cast<int32_t>(body.size());
    SerializePageHeader(header, &dict);
    total_uncompressed_ += static_cast<int64_t>(dict.size()) + header.uncompressed_page_size;
    dict.append(body);
    AddEncoding(header.dictionary.encoding);
    encoding_stats_.insert(encoding_stats_.begin(), {PageType::kDictionaryPage, header.dictionary.encoding, 1});
  }
  int64_t data_start = offset + static_cast<int64_t>(dict.size());
  chunk->file_offset = offset;
  chunk->has_meta_data = true;
  ColumnMetaData& m = chunk->meta_data;
  m.type = leaf_.physical;
  m.encodings = encodings_;
  m.path_in_schema = path_;
  m.codec = options_.codec;
  m.num_values = num_values_;
  m.total_uncompressed_size = total_uncompressed_;
  m.total_compressed_size = static_cast<int64_t>(dict.size() + chunk_bytes_.size());
  m.data_page_offset = data_start + std::max<int64_t>(first_data_page_, 0);
  if (has_dictionary_page_) m.dictionary_page_offset = offset;
  m.encoding_stats = encoding_stats_;
  m.statistics = Statistics();
  m.statistics.null_count = chunk_nulls_;
  if (chunk_stats_.has && leaf_.physical != PhysicalType::kInt96) {
    m.statistics.min_value = StatBytes(true, chunk_stats_);
    m.statistics.max_value = StatBytes(false, chunk_stats_);
    bool signed_order = leaf_.physical == PhysicalType::kBoolean || leaf_.physical == PhysicalType::kInt32 ||
                        leaf_.physical == PhysicalType::kInt64 || leaf_.physical == PhysicalType::kFloat ||
                        leaf_.physical == PhysicalType::kDouble;
    if (signed_order) {
      m.statistics.min = m.statistics.min_value;
      m.statistics.max = m.statistics.max_value;
    }
    Datum lo, hi;
    if (DecodeStatValue(leaf_, *m.statistics.min_value, &lo) && DecodeStatValue(leaf_, *m.statistics.max_value, &hi)) {
      if (!min_ || CompareDatum(lo, *min_) < 0) min_ = lo;
      if (!max_ || CompareDatum(hi, *max_) > 0) max_ = hi;
    }
  }
  *offset_index = offset_index_;
  for (auto& loc : offset_index->page_locations) loc.offset += data_start;
  *has_column_index = column_index_ok_ && !column_index_.null_pages.empty();
  if (*has_column_index) *column_index = column_index_;
  return Status::OK();
}

}  // namespace kl::format::parquet
