#include "format/orc/orc_reader.h"

#include <cstring>
#include <map>

namespace kl::format::orc {

// ORC's type kinds (orc_proto.proto, Type.Kind).
enum class Kind : int {
  kBoolean = 0, kByte = 1, kShort = 2, kInt = 3, kLong = 4, kFloat = 5, kDouble = 6, kString = 7,
  kBinary = 8, kTimestamp = 9, kList = 10, kMap = 11, kStruct = 12, kUnion = 13, kDecimal = 14,
  kDate = 15, kVarchar = 16, kChar = 17, kTimestampInstant = 18,
};

// Stream kinds and column encodings (orc_proto.proto).
enum StreamKind : int { kPresent = 0, kData = 1, kLength = 2, kDictionaryData = 3, kSecondary = 5 };
enum EncodingKind : int { kDirect = 0, kDictionary = 1, kDirectV2 = 2, kDictionaryV2 = 3 };

struct OrcReader::Type {
  Kind kind = Kind::kStruct;
  std::vector<uint32_t> subtypes;
  std::vector<std::string> field_names;
  uint32_t max_length = 0;
  uint32_t precision = 0;
  uint32_t scale = 0;
};

struct OrcReader::Stripe {
  uint64_t offset = 0, index_length = 0, data_length = 0, footer_length = 0, rows = 0;
};

namespace {

constexpr int64_t kTimestampBaseSeconds = 1420070400;  // 2015-01-01 00:00:00 UTC, ORC's epoch

// The decompressed streams and column encodings of one stripe.
struct StripeData {
  std::map<std::pair<uint32_t, int>, std::string> streams;
  std::map<uint32_t, std::pair<int, uint64_t>> encodings;  // column -> (kind, dictionary size)

  std::string_view Stream(uint32_t column, int kind) const {
    auto it = streams.find({column, kind});
    return it == streams.end() ? std::string_view() : std::string_view(it->second);
  }
  bool Has(uint32_t column, int kind) const { return streams.count({column, kind}) != 0; }
  bool V2(uint32_t column) const {
    auto it = encodings.find(column);
    return it != encodings.end() && (it->second.first == kDirectV2 || it->second.first == kDictionaryV2);
  }
  bool Dictionary(uint32_t column) const {
    auto it = encodings.find(column);
    return it != encodings.end() && (it->second.first == kDictionary || it->second.first == kDictionaryV2);
  }
  uint64_t DictionarySize(uint32_t column) const {
    auto it = encodings.find(column);
    return it == encodings.end() ? 0 : it->second.second;
  }
};

Result<DataType> ToPaimonType(const std::vector<OrcReader::Type>& types, uint32_t column, int depth) {
  if (column >= types.size() || depth > 32) return Status::Corruption("type tree references column " + std::to_string(column));
  const auto& t = types[column];
  auto child = [&](size_t i) -> Result<DataType> {
    if (i >= t.subtypes.size()) return Status::Corruption("type " + std::to_string(column) + " lacks a child type");
    if (t.subtypes[i] <= column) return Status::Corruption("type tree is not in pre-order");
    return ToPaimonType(types, t.subtypes[i], depth + 1);
  };
  switch (t.kind) {
    case Kind::kBoolean: return DataType::Boolean();
    case Kind::kByte: return DataType::TinyInt();
    case Kind::kShort: return DataType::SmallInt();
    case Kind::kInt: return DataType::Int();
    case Kind::kLong: return DataType::BigInt();
    case Kind::kFloat: return DataType::Float();
    case Kind::kDouble: return DataType::Double();
    case Kind::kString: return DataType::String();
    case Kind::kVarchar: return DataType::VarChar(t.max_length > 0 ? static_cast<int>(t.max_length) : 1);
    case Kind::kChar: return DataType::Char(t.max_length > 0 ? static_cast<int>(t.max_length) : 1);
    case Kind::kBinary: return DataType::Bytes();
    case Kind::kTimestamp: return DataType::Timestamp(9);
    case Kind::kTimestampInstant: return DataType::TimestampLtz(9);
    case Kind::kDate: return DataType::Date();
    case Kind::kDecimal: {
      int precision = t.precision > 0 ? static_cast<int>(t.precision) : 38;
      if (precision > 38 || t.scale > static_cast<uint32_t>(precision)) return Status::Corruption("bad decimal type");
      return DataType::Decimal(precision, static_cast<int>(t.scale));
    }
    case Kind::kList: {
      KL_ASSIGN_OR_RETURN(DataType e, child(0));
      return DataType::Array(e);
    }
    case Kind::kMap: {
      KL_ASSIGN_OR_RETURN(DataType k, child(0));
      KL_ASSIGN_OR_RETURN(DataType v, child(1));
      return DataType::Map(k, v);
    }
    case Kind::kStruct: {
      if (t.field_names.size() != t.subtypes.size()) return Status::Corruption("struct type with unnamed fields");
      std::vector<DataField> fields;
      for (size_t i = 0; i < t.subtypes.size(); ++i) {
        KL_ASSIGN_OR_RETURN(DataType f, child(i));
        fields.push_back({static_cast<int32_t>(i), t.field_names[i], f, ""});
      }
      return DataType::Row(std::move(fields));
    }
    case Kind::kUnion: return Status::NotSupported("ORC UNION columns");
  }
  return Status::Corruption("unknown ORC type kind " + std::to_string(static_cast<int>(t.kind)));
}

// Decodes the values of one column (and its children) of a stripe into Datums.
class ColumnDecoder {
 public:
  ColumnDecoder(const std::vector<OrcReader::Type>& types, const StripeData& stripe, uint64_t max_values)
      : types_(types), stripe_(stripe), max_values_(max_values) {}

  // `count` slots of column `column` (one per non-null parent slot); nulls where absent.
  Result<std::vector<Datum>> Decode(uint32_t column, size_t count, int depth) {
    if (column >= types_.size() || depth > 32) return Status::Corruption("column " + std::to_string(column) + " out of range");
    auto fail = [&](const Status& s) { return s.WithContext("column " + std::to_string(column)); };
    std::vector<uint8_t> present;
    if (stripe_.Has(column, kPresent)) {
      Status s = DecodeBooleanRle(stripe_.Stream(column, kPresent), count, &present);
      if (!s.ok()) return fail(s);
    } else {
      present.assign(count, 1);
    }
    size_t n = 0;
    for (uint8_t p : present) n += p;
    auto values = DecodeValues(column, n, depth);
    if (!values.ok()) return fail(values.status());
    std::vector<Datum> out(count);
    size_t k = 0;
    for (size_t i = 0; i < count; ++i) {
      if (present[i]) out[i] = std::move((*values)[k++]);
    }
    return out;
  }

 private:
  Status Ints(uint32_t column, int kind, size_t n, bool is_signed, std::vector<int64_t>* out) {
    if (n > 0 && !stripe_.Has(column, kind)) return Status::Corruption("missing stream " + std::to_string(kind));
    return DecodeIntRle(stripe_.Stream(column, kind), n, is_signed, stripe_.V2(column), out);
  }

  Result<std::vector<Datum>> DecodeValues(uint32_t column, size_t n, int depth) {
    const auto& t = types_[column];
    std::vector<Datum> out;
    std::string_view data = stripe_.Stream(column, kData);
    switch (t.kind) {
      case Kind::kBoolean: {
        std::vector<uint8_t> bits;
        KL_RETURN_IF_ERROR(DecodeBooleanRle(data, n, &bits));
        for (uint8_t b : bits) out.push_back(Datum::Bool(b != 0));
        return out;
      }
      case Kind::kByte: {
        std::vector<uint8_t> bytes;
        KL_RETURN_IF_ERROR(DecodeByteRle(data, n, &bytes));
        for (uint8_t b : bytes) out.push_back(Datum::Int(static_cast<int8_t>(b)));
        return out;
      }
      case Kind::kShort:
      case Kind::kInt:
      case Kind::kLong:
      case Kind::kDate: {
        std::vector<int64_t> v;
        KL_RETURN_IF_ERROR(Ints(column, kData, n, true, &v));
        for (int64_t x : v) out.push_back(Datum::Int(x));
        return out;
      }
      case Kind::kFloat:
      case Kind::kDouble: {
        size_t width = t.kind == Kind::kFloat ? 4 : 8;
        if (data.size() < n * width) return Status::Corruption("float data shorter than its values");
        for (size_t i = 0; i < n; ++i) {
          if (width == 4) {
            float f;
            std::memcpy(&f, data.data() + i * 4, 4);
            out.push_back(Datum::Double(f));
          } else {
            double d;
            std::memcpy(&d, data.data() + i * 8, 8);
            out.push_back(Datum::Double(d));
          }
        }
        return out;
      }
      case Kind::kString:
      case Kind::kVarchar:
      case Kind::kChar:
      case Kind::kBinary: return DecodeStrings(column, n);
      case Kind::kTimestamp:
      case Kind::kTimestampInstant: {
        std::vector<int64_t> seconds, nanos;
        KL_RETURN_IF_ERROR(Ints(column, kData, n, true, &seconds));
        KL_RETURN_IF_ERROR(Ints(column, kSecondary, n, false, &nanos));
        for (size_t i = 0; i < n; ++i) {
          // Nanos drop trailing decimal zeros: the low 3 bits count them (minus one).
          int64_t encoded = nanos[i];
          int zeros = static_cast<int>(encoded & 7);
          int64_t ns = encoded >> 3;
          for (int z = 0; zeros != 0 && z <= zeros; ++z) ns *= 10;
          if (ns < 0 || ns > 999999999) return Status::Corruption("timestamp nanoseconds out of range");
          int64_t millis = (seconds[i] + kTimestampBaseSeconds) * 1000 + ns / 1000000;
          out.push_back(Datum::Time({millis, static_cast<int32_t>(ns % 1000000)}));
        }
        return out;
      }
      case Kind::kDecimal: {
        std::vector<Int128> unscaled;
        std::vector<int64_t> scales;
        KL_RETURN_IF_ERROR(DecodeSignedVarints128(data, n, &unscaled));
        KL_RETURN_IF_ERROR(Ints(column, kSecondary, n, true, &scales));
        for (size_t i = 0; i < n; ++i) {
          Int128 v = unscaled[i];
          int64_t scale = scales[i];
          if (scale < 0 || scale > 38) return Status::Corruption("decimal scale out of range");
          for (int64_t s = scale; s < t.scale; ++s) v *= 10;
          for (int64_t s = t.scale; s < scale; ++s) v /= 10;
          out.push_back(Datum::Decimal(v));
        }
        return out;
      }
      case Kind::kList:
      case Kind::kMap: {
        std::vector<int64_t> lengths;
        KL_RETURN_IF_ERROR(Ints(column, kLength, n, false, &lengths));
        uint64_t total = 0;
        for (int64_t l : lengths) {
          if (l < 0 || static_cast<uint64_t>(l) > (uint64_t{1} << 31)) return Status::Corruption("bad list length");
          total += static_cast<uint64_t>(l);
        }
        if (total > (uint64_t{1} << 31) || total > max_values_) {
          return Status::Corruption("list children exceed what the stripe can hold");
        }
        size_t children = t.kind == Kind::kList ? 1 : 2;
        if (t.subtypes.size() < children) return Status::Corruption("list/map without child types");
        std::vector<std::vector<Datum>> parts;
        for (size_t c = 0; c < children; ++c) {
          KL_ASSIGN_OR_RETURN(auto part, Decode(t.subtypes[c], static_cast<size_t>(total), depth + 1));
          parts.push_back(std::move(part));
        }
        size_t pos = 0;
        for (int64_t l : lengths) {
          DatumList items;
          for (int64_t j = 0; j < l; ++j, ++pos) {
            for (size_t c = 0; c < children; ++c) items.push_back(std::move(parts[c][pos]));
          }
          out.push_back(Datum::List(std::move(items)));
        }
        return out;
      }
      case Kind::kStruct: {
        std::vector<std::vector<Datum>> fields;
        for (uint32_t sub : t.subtypes) {
          KL_ASSIGN_OR_RETURN(auto f, Decode(sub, n, depth + 1));
          fields.push_back(std::move(f));
        }
        for (size_t i = 0; i < n; ++i) {
          DatumList items;
          for (auto& f : fields) items.push_back(std::move(f[i]));
          out.push_back(Datum::List(std::move(items)));
        }
        return out;
      }
      case Kind::kUnion: return Status::NotSupported("ORC UNION columns");
    }
    return Status::Corruption("unknown type kind");
  }

  Result<std::vector<Datum>> DecodeStrings(uint32_t column, size_t n) {
    std::vector<Datum> out;
    std::vector<int64_t> lengths;
    if (stripe_.Dictionary(column)) {
      uint64_t dict_size = stripe_.DictionarySize(column);
      std::string_view dict = stripe_.Stream(column, kDictionaryData);
      // Every entry has a length in the LENGTH stream: a larger claim is corrupt.
      if (dict_size > stripe_.Stream(column, kLength).size() * 512 + 512) return Status::Corruption("dictionary too large");
      KL_RETURN_IF_ERROR(Ints(column, kLength, static_cast<size_t>(dict_size), false, &lengths));
      std::vector<std::string_view> entries;
      size_t pos = 0;
      for (int64_t l : lengths) {
        if (l < 0 || static_cast<uint64_t>(l) > dict.size() - pos) return Status::Corruption("dictionary entry beyond its stream");
        entries.push_back(dict.substr(pos, static_cast<size_t>(l)));
        pos += static_cast<size_t>(l);
      }
      std::vector<int64_t> indexes;
      KL_RETURN_IF_ERROR(Ints(column, kData, n, false, &indexes));
      for (int64_t idx : indexes) {
        if (idx < 0 || static_cast<uint64_t>(idx) >= entries.size()) return Status::Corruption("dictionary index out of range");
        out.push_back(Datum::Bytes(std::string(entries[static_cast<size_t>(idx)])));
      }
      return out;
    }
    KL_RETURN_IF_ERROR(Ints(column, kLength, n, false, &lengths));
    std::string_view data = stripe_.Stream(column, kData);
    size_t pos = 0;
    for (int64_t l : lengths) {
      if (l < 0 || static_cast<uint64_t>(l) > data.size() - pos) return Status::Corruption("string beyond its stream");
      out.push_back(Datum::Bytes(std::string(data.substr(pos, static_cast<size_t>(l)))));
      pos += static_cast<size_t>(l);
    }
    return out;
  }

  const std::vector<OrcReader::Type>& types_;
  const StripeData& stripe_;
  uint64_t max_values_;  // values a column of the stripe can plausibly hold
};

// Reshapes a value of the file's type into the caller's: ROW fields by name (missing
// ones null), elements of arrays and maps alike.
Result<Datum> Reshape(const Datum& d, const DataType& file, const DataType& want) {
  if (d.is_null()) return Datum();
  if (want.root() == TypeRoot::kRow && file.root() == TypeRoot::kRow) {
    const auto& items = d.as_list();
    DatumList out;
    for (const auto& wf : want.fields()) {
      int idx = -1;
      for (size_t j = 0; j < file.fields().size(); ++j) {
        if (file.fields()[j].name == wf.name) idx = static_cast<int>(j);
      }
      if (idx < 0 || static_cast<size_t>(idx) >= items.size()) {
        out.emplace_back();
        continue;
      }
      KL_ASSIGN_OR_RETURN(Datum v, Reshape(items[static_cast<size_t>(idx)], file.fields()[static_cast<size_t>(idx)].type, wf.type));
      out.push_back(std::move(v));
    }
    return Datum::List(std::move(out));
  }
  bool list_like = (want.root() == TypeRoot::kArray || want.root() == TypeRoot::kMultiset) && file.root() == TypeRoot::kArray;
  if (list_like || (want.root() == TypeRoot::kMap && file.root() == TypeRoot::kMap)) {
    DatumList out;
    const auto& items = d.as_list();
    bool map = want.root() == TypeRoot::kMap;
    for (size_t i = 0; i < items.size(); ++i) {
      const DataType& f = map ? (i % 2 == 0 ? file.key() : file.value()) : file.element();
      const DataType& w = map ? (i % 2 == 0 ? want.key() : want.value()) : want.element();
      KL_ASSIGN_OR_RETURN(Datum v, Reshape(items[i], f, w));
      out.push_back(std::move(v));
    }
    return Datum::List(std::move(out));
  }
  if (want.physical() != file.physical()) {
    return Status::InvalidArgument("ORC column of type " + file.ToString() + " does not read as " + want.ToString());
  }
  return d;
}

}  // namespace

bool LooksLikeOrc(std::string_view data) { return data.size() >= 3 && data.substr(0, 3) == "ORC"; }

OrcReader::~OrcReader() = default;

size_t OrcReader::num_stripes() const { return stripes_.size(); }

Status OrcReader::Fail(const Status& s) const { return s.WithContext("reading ORC file " + name_); }

Result<std::unique_ptr<OrcReader>> OrcReader::Open(const std::string& path) {
  std::unique_ptr<OrcReader> r(new OrcReader());
  r->name_ = path;
  KL_ASSIGN_OR_RETURN(r->mapped_, MappedFile::Open(path));
  r->data_ = r->mapped_->data();
  KL_RETURN_IF_ERROR(r->Init());
  return r;
}

Result<std::unique_ptr<OrcReader>> OrcReader::OpenBuffer(std::string data, std::string name) {
  std::unique_ptr<OrcReader> r(new OrcReader());
  r->name_ = std::move(name);
  r->owned_ = std::move(data);
  r->data_ = r->owned_;
  KL_RETURN_IF_ERROR(r->Init());
  return r;
}

Status OrcReader::Init() {
  if (data_.size() < 4 || !LooksLikeOrc(data_)) return Fail(Status::Corruption("no ORC magic at the start"));
  size_t ps_length = static_cast<uint8_t>(data_.back());
  if (ps_length == 0 || ps_length + 1 > data_.size() - 3) return Fail(Status::Corruption("bad postscript length"));
  ProtoReader ps(data_.substr(data_.size() - 1 - ps_length, ps_length));
  uint64_t footer_length = 0;
  std::string_view magic;
  uint32_t field, wire;
  while (ps.NextField(&field, &wire)) {
    switch (field) {
      case 1: footer_length = ps.ReadVarint(); break;
      case 2: compression_ = static_cast<CompressionKind>(ps.ReadVarint()); break;
      case 3: block_size_ = ps.ReadVarint(); break;
      case 8000: magic = ps.ReadBytes(); break;
      default: ps.Skip(wire);
    }
  }
  if (!ps.ok() || magic != "ORC") return Fail(Status::Corruption("bad postscript"));
  if (footer_length > data_.size() - 1 - ps_length - 3) return Fail(Status::Corruption("footer longer than the file"));
  std::string footer;
  Status s = Decompress(compression_, block_size_, data_.substr(data_.size() - 1 - ps_length - footer_length, footer_length), &footer);
  if (!s.ok()) return Fail(s.WithContext("footer"));
  ProtoReader f(footer);
  while (f.NextField(&field, &wire)) {
    if (field == 3 && wire == 2) {
      ProtoReader si(f.ReadBytes());
      Stripe stripe;
      uint32_t sf, sw;
      while (si.NextField(&sf, &sw)) {
        switch (sf) {
          case 1: stripe.offset = si.ReadVarint(); break;
          case 2: stripe.index_length = si.ReadVarint(); break;
          case 3: stripe.data_length = si.ReadVarint(); break;
          case 4: stripe.footer_length = si.ReadVarint(); break;
          case 5: stripe.rows = si.ReadVarint(); break;
          default: si.Skip(sw);
        }
      }
      if (!si.ok()) return Fail(Status::Corruption("bad stripe information"));
      uint64_t end = stripe.offset + stripe.index_length + stripe.data_length + stripe.footer_length;
      if (end < stripe.offset || end > data_.size()) return Fail(Status::Corruption("stripe lies beyond the file"));
      stripes_.push_back(stripe);
    } else if (field == 4 && wire == 2) {
      ProtoReader tr(f.ReadBytes());
      Type t;
      uint32_t tf, tw;
      std::vector<uint64_t> subtypes;
      while (tr.NextField(&tf, &tw)) {
        switch (tf) {
          case 1: t.kind = static_cast<Kind>(tr.ReadVarint()); break;
          case 2: tr.ReadRepeatedVarint(tw, &subtypes); break;
          case 3: t.field_names.emplace_back(tr.ReadBytes()); break;
          case 4: t.max_length = static_cast<uint32_t>(tr.ReadVarint()); break;
          case 5: t.precision = static_cast<uint32_t>(tr.ReadVarint()); break;
          case 6: t.scale = static_cast<uint32_t>(tr.ReadVarint()); break;
          default: tr.Skip(tw);
        }
      }
      if (!tr.ok()) return Fail(Status::Corruption("bad type"));
      for (uint64_t st : subtypes) t.subtypes.push_back(static_cast<uint32_t>(st));
      types_.push_back(std::move(t));
    } else if (field == 6 && wire == 0) {
      num_rows_ = static_cast<int64_t>(f.ReadVarint());
    } else {
      f.Skip(wire);
    }
  }
  if (!f.ok()) return Fail(Status::Corruption("bad footer"));
  if (types_.empty() || types_[0].kind != Kind::kStruct) return Fail(Status::NotSupported("top-level type is not a struct"));
  auto root = ToPaimonType(types_, 0, 0);
  if (!root.ok()) return Fail(root.status());
  schema_ = RowType(root->fields());
  return Status::OK();
}

Status OrcReader::ReadStripe(size_t index, ColumnBatch* out) const {
  if (index >= stripes_.size()) return Status::InvalidArgument("stripe " + std::to_string(index) + " out of range");
  const Stripe& st = stripes_[index];
  std::string where = "stripe " + std::to_string(index);
  std::string footer;
  Status s = Decompress(compression_, block_size_,
                        data_.substr(st.offset + st.index_length + st.data_length, st.footer_length), &footer);
  if (!s.ok()) return Fail(s.WithContext(where + " footer"));
  StripeData stripe;
  ProtoReader f(footer);
  uint32_t field, wire;
  uint64_t stream_offset = st.offset;
  uint32_t encoding_column = 0;
  uint64_t stripe_end = st.offset + st.index_length + st.data_length;
  while (f.NextField(&field, &wire)) {
    if (field == 1 && wire == 2) {
      ProtoReader sr(f.ReadBytes());
      int kind = 0;
      uint32_t column = 0;
      uint64_t length = 0;
      uint32_t sf, sw;
      while (sr.NextField(&sf, &sw)) {
        if (sf == 1) kind = static_cast<int>(sr.ReadVarint());
        else if (sf == 2) column = static_cast<uint32_t>(sr.ReadVarint());
        else if (sf == 3) length = sr.ReadVarint();
        else sr.Skip(sw);
      }
      if (!sr.ok() || length > stripe_end - stream_offset) return Fail(Status::Corruption(where + ": stream beyond the stripe"));
      // Index streams (row index, bloom filters) are not needed to read every row.
      if (kind == kPresent || kind == kData || kind == kLength || kind == kDictionaryData || kind == kSecondary) {
        std::string bytes;
        Status d = Decompress(compression_, block_size_, data_.substr(stream_offset, length), &bytes);
        if (!d.ok()) return Fail(d.WithContext(where + ", column " + std::to_string(column)));
        stripe.streams[{column, kind}] = std::move(bytes);
      }
      stream_offset += length;
    } else if (field == 2 && wire == 2) {
      ProtoReader er(f.ReadBytes());
      int kind = kDirect;
      uint64_t dict = 0;
      uint32_t ef, ew;
      while (er.NextField(&ef, &ew)) {
        if (ef == 1) kind = static_cast<int>(er.ReadVarint());
        else if (ef == 2) dict = er.ReadVarint();
        else er.Skip(ew);
      }
      if (!er.ok()) return Fail(Status::Corruption(where + ": bad column encoding"));
      stripe.encodings[encoding_column++] = {kind, dict};
    } else {
      f.Skip(wire);
    }
  }
  if (!f.ok()) return Fail(Status::Corruption(where + ": bad stripe footer"));
  const RowType& want = out->schema();
  const auto& root = types_[0];
  size_t rows = static_cast<size_t>(st.rows);
  // The densest encodings hold about 500 values per byte: a claim beyond that is corrupt
  // (and would make the reader allocate for values that are not there).
  if (st.rows > (st.data_length + 1) * 1024 || st.rows > (uint64_t{1} << 31)) {
    return Fail(Status::Corruption(where + ": implausible row count " + std::to_string(st.rows)));
  }
  ColumnDecoder decoder(types_, stripe, (st.data_length + 1) * 1024);
  auto& columns = out->mutable_columns();
  for (size_t i = 0; i < want.size(); ++i) {
    const DataField& wf = want.field(i);
    int idx = schema_.IndexOf(wf.name);
    if (idx < 0) {
      if (!wf.type.nullable()) return Fail(Status::Corruption("file has no field \"" + wf.name + "\""));
      for (size_t r = 0; r < rows; ++r) columns[i].AppendNull();
      continue;
    }
    auto values = decoder.Decode(root.subtypes[static_cast<size_t>(idx)], rows, 1);
    if (!values.ok()) return Fail(values.status().WithContext(where + ", field " + wf.name));
    for (const Datum& d : *values) {
      auto v = Reshape(d, schema_.type(static_cast<size_t>(idx)), wf.type);
      if (!v.ok()) return Fail(v.status().WithContext("field " + wf.name));
      columns[i].Append(*v);
    }
  }
  out->SetNumRows(out->num_rows() + rows);
  return Status::OK();
}

Result<ColumnBatch> OrcReader::ReadAll(const RowType& read_type) const {
  ColumnBatch batch(read_type);
  for (size_t i = 0; i < stripes_.size(); ++i) KL_RETURN_IF_ERROR(ReadStripe(i, &batch));
  return batch;
}

}  // namespace kl::format::orc
