#include "table/data/binary_row.h"

#include <cstring>

#include "common/coding.h"

namespace kl::table {

using format::DataType;
using format::Datum;
using format::Int128;
using format::Row;
using format::Timestamp;
using format::TypeRoot;

namespace {

size_t NullBitsBytes(size_t arity) { return ((arity + 63 + 8) / 64) * 8; }

bool IsCompactDecimal(int precision) { return precision <= 18; }
bool IsCompactTimestamp(int precision) { return precision <= 3; }

// Java's BigInteger.toByteArray(): minimal big-endian two's complement.
std::string DecimalBytes(Int128 v) {
  unsigned char buf[16];
  for (int i = 15; i >= 0; --i) {
    buf[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
  int start = 0;
  while (start < 15 && ((buf[start] == 0x00 && !(buf[start + 1] & 0x80)) || (buf[start] == 0xff && (buf[start + 1] & 0x80)))) {
    ++start;
  }
  return std::string(reinterpret_cast<const char*>(buf + start), static_cast<size_t>(16 - start));
}

Int128 DecimalFromBytes(std::string_view b) {
  Int128 v = (!b.empty() && (static_cast<unsigned char>(b[0]) & 0x80)) ? -1 : 0;
  for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

inline uint32_t Rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

}  // namespace

BinaryRowWriter::BinaryRowWriter(size_t arity) : arity_(arity), null_bytes_(NullBitsBytes(arity)) { Reset(); }

void BinaryRowWriter::Reset() { buf_.assign(null_bytes_ + arity_ * 8, '\0'); }

void BinaryRowWriter::SetNull(size_t pos) {
  size_t bit = pos + 8;  // the first byte holds the row kind
  buf_[bit / 8] = static_cast<char>(static_cast<unsigned char>(buf_[bit / 8]) | (1u << (bit % 8)));
  std::memset(buf_.data() + SlotOffset(pos), 0, 8);
}

void BinaryRowWriter::WriteInt(size_t pos, int64_t v, TypeRoot root) {
  char* slot = buf_.data() + SlotOffset(pos);
  std::memset(slot, 0, 8);
  switch (root) {
    case TypeRoot::kBoolean:
    case TypeRoot::kTinyInt: slot[0] = static_cast<char>(v); break;
    case TypeRoot::kSmallInt: {
      int16_t s = static_cast<int16_t>(v);
      std::memcpy(slot, &s, 2);
      break;
    }
    case TypeRoot::kInt:
    case TypeRoot::kDate:
    case TypeRoot::kTime: {
      int32_t i = static_cast<int32_t>(v);
      std::memcpy(slot, &i, 4);
      break;
    }
    default: std::memcpy(slot, &v, 8);
  }
}

void BinaryRowWriter::WriteDouble(size_t pos, double v, TypeRoot root) {
  char* slot = buf_.data() + SlotOffset(pos);
  std::memset(slot, 0, 8);
  if (root == TypeRoot::kFloat) {
    float f = static_cast<float>(v);
    std::memcpy(slot, &f, 4);
  } else {
    std::memcpy(slot, &v, 8);
  }
}

void BinaryRowWriter::WriteVariable(size_t pos, std::string_view bytes) {
  size_t offset = buf_.size();
  buf_.append(bytes);
  size_t padded = (bytes.size() + 7) / 8 * 8;
  buf_.append(padded - bytes.size(), '\0');
  uint64_t slot = (static_cast<uint64_t>(offset) << 32) | bytes.size();
  StoreLE64(buf_.data() + SlotOffset(pos), slot);
}

void BinaryRowWriter::WriteBytes(size_t pos, std::string_view v) {
  if (v.size() <= 7) {
    char* slot = buf_.data() + SlotOffset(pos);
    std::memset(slot, 0, 8);
    std::memcpy(slot, v.data(), v.size());
    slot[7] = static_cast<char>(0x80 | v.size());
    return;
  }
  WriteVariable(pos, v);
}

void BinaryRowWriter::WriteDecimal(size_t pos, Int128 v, int precision) {
  if (IsCompactDecimal(precision)) {
    int64_t unscaled = static_cast<int64_t>(v);
    StoreLE64(buf_.data() + SlotOffset(pos), static_cast<uint64_t>(unscaled));
    return;
  }
  // Non-compact decimals reserve 16 bytes and store BigInteger bytes (offset << 32 | length).
  std::string bytes = DecimalBytes(v);
  size_t offset = buf_.size();
  std::string area(16, '\0');
  std::memcpy(area.data(), bytes.data(), bytes.size());
  buf_.append(area);
  StoreLE64(buf_.data() + SlotOffset(pos), (static_cast<uint64_t>(offset) << 32) | bytes.size());
}

void BinaryRowWriter::WriteTimestamp(size_t pos, Timestamp v, int precision) {
  if (IsCompactTimestamp(precision)) {
    StoreLE64(buf_.data() + SlotOffset(pos), static_cast<uint64_t>(v.millis));
    return;
  }
  // Non-compact timestamps: millis in the variable part, nanos-of-milli in the slot's high half.
  size_t offset = buf_.size();
  buf_.append(8, '\0');
  StoreLE64(buf_.data() + offset, static_cast<uint64_t>(v.millis));
  StoreLE64(buf_.data() + SlotOffset(pos), (static_cast<uint64_t>(offset) << 32) | static_cast<uint32_t>(v.nanos));
}

void BinaryRowWriter::Write(size_t pos, const Datum& d, const DataType& type) {
  if (d.is_null()) {
    SetNull(pos);
    return;
  }
  switch (type.physical()) {
    case format::PhysicalKind::kInt: WriteInt(pos, d.as_int(), type.root()); return;
    case format::PhysicalKind::kDouble: WriteDouble(pos, d.as_double(), type.root()); return;
    case format::PhysicalKind::kBytes: WriteBytes(pos, d.as_bytes()); return;
    case format::PhysicalKind::kDecimal: WriteDecimal(pos, d.as_decimal(), type.precision()); return;
    case format::PhysicalKind::kTimestamp: WriteTimestamp(pos, d.as_timestamp(), type.precision()); return;
    case format::PhysicalKind::kNested: {
      // Nested values only occur in kubelake-internal rows (never in keys or
      // partitions); they are kept as their JSON text so the row stays self-contained.
      JsonWriter w;
      format::WriteDatumJson(&w, d, type);
      WriteVariable(pos, w.str());
      return;
    }
  }
}

void BinaryRowWriter::WriteFromColumn(size_t pos, const format::Column& col, size_t row) {
  if (col.IsNull(row)) {
    SetNull(pos);
    return;
  }
  const DataType& type = col.type();
  switch (col.kind()) {
    case format::PhysicalKind::kInt: WriteInt(pos, col.GetInt(row), type.root()); return;
    case format::PhysicalKind::kDouble: WriteDouble(pos, col.GetDouble(row), type.root()); return;
    case format::PhysicalKind::kBytes: WriteBytes(pos, col.GetBytes(row)); return;
    case format::PhysicalKind::kDecimal: WriteDecimal(pos, col.GetDecimal(row), type.precision()); return;
    case format::PhysicalKind::kTimestamp: WriteTimestamp(pos, col.GetTimestamp(row), type.precision()); return;
    case format::PhysicalKind::kNested: Write(pos, col.GetNested(row), type); return;
  }
}

std::string EncodeBinaryRow(const Row& row, const std::vector<DataType>& types) {
  BinaryRowWriter w(types.size());
  for (size_t i = 0; i < types.size(); ++i) w.Write(i, i < row.size() ? row[i] : Datum(), types[i]);
  return w.data();
}

std::string SerializeBinaryRow(const Row& row, const std::vector<DataType>& types) {
  std::string out;
  PutFixed32BE(&out, static_cast<uint32_t>(types.size()));
  out += EncodeBinaryRow(row, types);
  return out;
}

Result<Row> DeserializeBinaryRow(std::string_view data, const std::vector<DataType>& types) {
  if (data.size() < 4) return Status::Corruption("binary row shorter than its arity");
  uint32_t arity = LoadBE32(data.data());
  std::string_view body = data.substr(4);
  size_t null_bytes = NullBitsBytes(arity);
  if (arity > 1u << 16 || body.size() < null_bytes + static_cast<size_t>(arity) * 8) {
    return Status::Corruption("binary row of arity " + std::to_string(arity) + " is truncated");
  }
  Row row;
  row.reserve(types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    if (i >= arity) {
      row.emplace_back();
      continue;
    }
    size_t bit = i + 8;
    if (static_cast<unsigned char>(body[bit / 8]) & (1u << (bit % 8))) {
      row.emplace_back();
      continue;
    }
    const char* slot = body.data() + null_bytes + i * 8;
    uint64_t raw = LoadLE64(slot);
    const DataType& t = types[i];
    auto variable = [&](uint64_t s) -> Result<std::string_view> {
      uint64_t offset = s >> 32, len = s & 0xffffffffu;
      if (offset + len > body.size()) return Status::Corruption("binary row variable field out of bounds");
      return body.substr(offset, len);
    };
    switch (t.root()) {
      case TypeRoot::kBoolean: row.push_back(Datum::Bool(slot[0] != 0)); break;
      case TypeRoot::kTinyInt: row.push_back(Datum::Int(static_cast<int8_t>(slot[0]))); break;
      case TypeRoot::kSmallInt: {
        int16_t v;
        std::memcpy(&v, slot, 2);
        row.push_back(Datum::Int(v));
        break;
      }
      case TypeRoot::kInt:
      case TypeRoot::kDate:
      case TypeRoot::kTime: {
        int32_t v;
        std::memcpy(&v, slot, 4);
        row.push_back(Datum::Int(v));
        break;
      }
      case TypeRoot::kBigInt: row.push_back(Datum::Int(static_cast<int64_t>(raw))); break;
      case TypeRoot::kFloat: {
        float f;
        std::memcpy(&f, slot, 4);
        row.push_back(Datum::Double(f));
        break;
      }
      case TypeRoot::kDouble: {
        double d;
        std::memcpy(&d, slot, 8);
        row.push_back(Datum::Double(d));
        break;
      }
      case TypeRoot::kChar:
      case TypeRoot::kVarChar:
      case TypeRoot::kBinary:
      case TypeRoot::kVarBinary: {
        if (raw & (uint64_t{1} << 63)) {
          size_t len = (raw >> 56) & 0x7f;
          if (len > 7) return Status::Corruption("binary row inline string longer than 7 bytes");
          row.push_back(Datum::Bytes(std::string(slot, len)));
        } else {
          KL_ASSIGN_OR_RETURN(std::string_view v, variable(raw));
          row.push_back(Datum::Bytes(std::string(v)));
        }
        break;
      }
      case TypeRoot::kDecimal:
        if (IsCompactDecimal(t.precision())) {
          row.push_back(Datum::Decimal(static_cast<int64_t>(raw)));
        } else {
          KL_ASSIGN_OR_RETURN(std::string_view v, variable(raw));
          row.push_back(Datum::Decimal(DecimalFromBytes(v)));
        }
        break;
      case TypeRoot::kTimestamp:
      case TypeRoot::kTimestampLtz:
        if (IsCompactTimestamp(t.precision())) {
          row.push_back(Datum::Time(Timestamp{static_cast<int64_t>(raw), 0}));
        } else {
          uint64_t offset = raw >> 32;
          if (offset + 8 > body.size()) return Status::Corruption("binary row timestamp out of bounds");
          row.push_back(Datum::Time(
              Timestamp{static_cast<int64_t>(LoadLE64(body.data() + offset)), static_cast<int32_t>(raw & 0xffffffffu)}));
        }
        break;
      default: {
        KL_ASSIGN_OR_RETURN(std::string_view v, variable(raw));
        auto json = ParseJson(v, "nested binary row field");
        if (!json.ok()) return json.status();
        KL_ASSIGN_OR_RETURN(Datum d, format::DatumFromJson(*json, t));
        row.push_back(std::move(d));
      }
    }
  }
  return row;
}

int32_t HashBytesByWords(std::string_view bytes) {
  uint32_t h1 = 42;
  size_t n = bytes.size() / 4 * 4;
  for (size_t i = 0; i < n; i += 4) {
    uint32_t k1 = LoadLE32(bytes.data() + i);
    k1 *= 0xcc9e2d51u;
    k1 = Rotl32(k1, 15);
    k1 *= 0x1b873593u;
    h1 ^= k1;
    h1 = Rotl32(h1, 13);
    h1 = h1 * 5 + 0xe6546b64u;
  }
  h1 ^= static_cast<uint32_t>(bytes.size());
  h1 ^= h1 >> 16;
  h1 *= 0x85ebca6bu;
  h1 ^= h1 >> 13;
  h1 *= 0xc2b2ae35u;
  h1 ^= h1 >> 16;
  return static_cast<int32_t>(h1);
}

int BucketOf(std::string_view binary_row, int num_buckets) {
  int32_t hash = HashBytesByWords(binary_row);
  int32_t rem = hash % num_buckets;  // C++ and Java agree: the sign follows the dividend
  return rem < 0 ? -rem : rem;
}

std::vector<DataType> TypesOf(const format::RowType& row) {
  std::vector<DataType> out;
  out.reserve(row.size());
  for (const auto& f : row.fields()) out.push_back(f.type);
  return out;
}

}  // namespace kl::table
