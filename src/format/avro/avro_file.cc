#include "format/avro/avro_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "common/coding.h"
#include "common/random.h"
#include "format/avro/flat_record_decoder.h"
#include "format/compression.h"

namespace kl::format::avro {
namespace {

constexpr char kMagic[4] = {'O', 'b', 'j', 1};
constexpr size_t kSyncSize = 16;
// A block may not decompress to more than this: guards against corrupt or hostile sizes.
constexpr size_t kMaxBlockBytes = size_t{1} << 31;
// Nesting limit for arrays/maps/records inside values.
constexpr int kMaxDepth = 64;

// A negative block count means "|count| items, then the block's byte size". The most negative
// long has no positive counterpart; it stays negative so the caller rejects it as corrupt.
int64_t NegatedBlockCount(int64_t count) { return count == std::numeric_limits<int64_t>::min() ? count : -count; }

// Decodes values from one block. Errors set `error` and stop; callers check once per record.
class ValueDecoder {
 public:
  explicit ValueDecoder(ByteReader* r) : r_(r) {}

  bool failed() const { return !error_.empty() || !r_->ok(); }
  std::string error() const { return error_.empty() ? "record is truncated" : error_; }

  void Fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    r_->Fail();
  }

  // Resolves unions: returns the branch to decode, or nullptr for a null value.
  const AvroSchema* Branch(const AvroSchema& s) {
    if (s.type != AvroType::kUnion) return &s;
    int64_t index = r_->ZigZag();
    if (index < 0 || static_cast<size_t>(index) >= s.branches.size()) {
      Fail("union branch " + std::to_string(index) + " out of range");
      return nullptr;
    }
    const AvroSchema* b = s.branches[static_cast<size_t>(index)].get();
    return b->type == AvroType::kNull ? nullptr : b;
  }

  int64_t ReadLong() { return r_->ZigZag(); }
  double ReadFloat() {
    auto b = r_->Bytes(4);
    if (b.size() != 4) return 0;
    float f;
    std::memcpy(&f, b.data(), 4);
    return f;
  }
  double ReadDouble() {
    auto b = r_->Bytes(8);
    if (b.size() != 8) return 0;
    double d;
    std::memcpy(&d, b.data(), 8);
    return d;
  }
  std::string_view ReadBytes() {
    int64_t len = r_->ZigZag();
    if (len < 0 || static_cast<uint64_t>(len) > r_->remaining()) {
      Fail("length " + std::to_string(len) + " exceeds the block");
      return {};
    }
    return r_->Bytes(static_cast<size_t>(len));
  }

  static Int128 DecimalFromBigEndian(std::string_view b) {
    Int128 v = (!b.empty() && (static_cast<unsigned char>(b[0]) & 0x80)) ? -1 : 0;
    for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
    return v;
  }

  static Timestamp ToTimestamp(int64_t v, LogicalType logical) {
    switch (logical) {
      case LogicalType::kTimestampMicros:
      case LogicalType::kLocalTimestampMicros: return Timestamp::FromMicros(v);
      case LogicalType::kTimestampNanos:
      case LogicalType::kLocalTimestampNanos: return Timestamp::FromNanos(v);
      default: return Timestamp{v, 0};
    }
  }

  // Decodes one value of writer schema `s` into `col` (whose type says how to hold it).
  void DecodeToColumn(const AvroSchema& s, Column* col) {
    const AvroSchema* b = Branch(s);
    if (failed()) return;
    if (b == nullptr) {
      col->AppendNull();
      return;
    }
    switch (col->kind()) {
      case PhysicalKind::kInt:
        switch (b->type) {
          case AvroType::kBoolean: col->AppendInt(r_->Byte() != 0); return;
          case AvroType::kInt:
          case AvroType::kLong: col->AppendInt(ReadLong()); return;
          default: break;
        }
        break;
      case PhysicalKind::kDouble:
        switch (b->type) {
          case AvroType::kFloat: col->AppendDouble(ReadFloat()); return;
          case AvroType::kDouble: col->AppendDouble(ReadDouble()); return;
          case AvroType::kInt:
          case AvroType::kLong: col->AppendDouble(static_cast<double>(ReadLong())); return;
          default: break;
        }
        break;
      case PhysicalKind::kBytes:
        switch (b->type) {
          case AvroType::kString:
          case AvroType::kBytes: col->AppendBytes(ReadBytes()); return;
          case AvroType::kFixed: col->AppendBytes(r_->Bytes(static_cast<size_t>(b->fixed_size))); return;
          case AvroType::kEnum: {
            int64_t i = ReadLong();
            if (i < 0 || static_cast<size_t>(i) >= b->symbols.size()) {
              Fail("enum index out of range");
              return;
            }
            col->AppendBytes(b->symbols[static_cast<size_t>(i)]);
            return;
          }
          default: break;
        }
        break;
      case PhysicalKind::kDecimal:
        if (b->type == AvroType::kBytes) {
          col->AppendDecimal(DecimalFromBigEndian(ReadBytes()));
          return;
        }
        if (b->type == AvroType::kFixed) {
          col->AppendDecimal(DecimalFromBigEndian(r_->Bytes(static_cast<size_t>(b->fixed_size))));
          return;
        }
        break;
      case PhysicalKind::kTimestamp:
        if (b->type == AvroType::kLong) {
          col->AppendTimestamp(ToTimestamp(ReadLong(), b->logical));
          return;
        }
        break;
      case PhysicalKind::kNested: {
        Datum d = DecodeDatum(*b, col->type(), 0);
        if (!failed()) col->AppendNested(std::move(d));
        return;
      }
    }
    Fail("Avro type " + AvroSchemaToJson(*b) + " cannot be read as " + col->type().ToString());
  }

  Datum DecodeDatum(const AvroSchema& s, const DataType& t, int depth) {
    if (depth > kMaxDepth) {
      Fail("value nested too deeply");
      return {};
    }
    const AvroSchema* b = Branch(s);
    if (failed() || b == nullptr) return {};
    switch (t.physical()) {
      case PhysicalKind::kInt:
        if (b->type == AvroType::kBoolean) return Datum::Bool(r_->Byte() != 0);
        if (b->type == AvroType::kInt || b->type == AvroType::kLong) return Datum::Int(ReadLong());
        break;
      case PhysicalKind::kDouble:
        if (b->type == AvroType::kFloat) return Datum::Double(ReadFloat());
        if (b->type == AvroType::kDouble) return Datum::Double(ReadDouble());
        if (b->type == AvroType::kInt || b->type == AvroType::kLong)
          return Datum::Double(static_cast<double>(ReadLong()));
        break;
      case PhysicalKind::kBytes:
        if (b->type == AvroType::kString || b->type == AvroType::kBytes) return Datum::Bytes(std::string(ReadBytes()));
        if (b->type == AvroType::kFixed)
          return Datum::Bytes(std::string(r_->Bytes(static_cast<size_t>(b->fixed_size))));
        break;
      case PhysicalKind::kDecimal:
        if (b->type == AvroType::kBytes) return Datum::Decimal(DecimalFromBigEndian(ReadBytes()));
        if (b->type == AvroType::kFixed) {
          return Datum::Decimal(DecimalFromBigEndian(r_->Bytes(static_cast<size_t>(b->fixed_size))));
        }
        break;
      case PhysicalKind::kTimestamp:
        if (b->type == AvroType::kLong) return Datum::Time(ToTimestamp(ReadLong(), b->logical));
        break;
      case PhysicalKind::kNested: return DecodeNested(*b, t, depth);
    }
    Fail("Avro type " + AvroSchemaToJson(*b) + " cannot be read as " + t.ToString());
    return {};
  }

  // Array and map values come in blocks: a count (negative: followed by a byte size), items, 0.
  template <typename Fn>
  void ForEachBlockItem(Fn&& fn) {
    while (!failed()) {
      int64_t count = ReadLong();
      if (count == 0) return;
      if (count < 0) {
        count = NegatedBlockCount(count);
        ReadLong();  // byte size of the block, not needed
      }
      if (count < 0 || static_cast<uint64_t>(count) > r_->remaining()) {
        Fail("item count " + std::to_string(count) + " exceeds the block");
        return;
      }
      for (int64_t i = 0; i < count && !failed(); ++i) fn();
    }
  }

  Datum DecodeNested(const AvroSchema& b, const DataType& t, int depth) {
    DatumList items;
    if ((t.root() == TypeRoot::kArray || t.root() == TypeRoot::kMultiset) && b.type == AvroType::kArray) {
      ForEachBlockItem([&] { items.push_back(DecodeDatum(*b.items, t.element(), depth + 1)); });
      return Datum::List(std::move(items));
    }
    if (t.root() == TypeRoot::kMap && b.type == AvroType::kMap) {
      ForEachBlockItem([&] {
        items.push_back(Datum::Bytes(std::string(ReadBytes())));
        items.push_back(DecodeDatum(*b.values, t.value(), depth + 1));
      });
      return Datum::List(std::move(items));
    }
    if (t.root() == TypeRoot::kMap && b.type == AvroType::kArray) {
      const AvroSchema& entry = b.items->NonNull();
      if (entry.type != AvroType::kRecord || entry.fields.size() != 2) {
        Fail("map stored as array needs {key, value} records");
        return {};
      }
      ForEachBlockItem([&] {
        const AvroSchema* e = Branch(*b.items);
        if (e == nullptr) return;
        items.push_back(DecodeDatum(*e->fields[0].schema, t.key(), depth + 1));
        items.push_back(DecodeDatum(*e->fields[1].schema, t.value(), depth + 1));
      });
      return Datum::List(std::move(items));
    }
    if (t.root() == TypeRoot::kRow && b.type == AvroType::kRecord) {
      const auto& fields = t.fields();
      items.resize(fields.size());
      std::vector<bool> seen(fields.size(), false);
      for (const auto& wf : b.fields) {
        int target = -1;
        for (size_t k = 0; k < fields.size(); ++k) {
          if (fields[k].name == wf.name) {
            target = static_cast<int>(k);
            break;
          }
        }
        if (target < 0) {
          Skip(*wf.schema, depth + 1);
        } else {
          items[static_cast<size_t>(target)] =
              DecodeDatum(*wf.schema, fields[static_cast<size_t>(target)].type, depth + 1);
          seen[static_cast<size_t>(target)] = true;
        }
      }
      return Datum::List(std::move(items));
    }
    Fail("Avro type " + AvroSchemaToJson(b) + " cannot be read as " + t.ToString());
    return {};
  }

  void Skip(const AvroSchema& s, int depth) {
    if (depth > kMaxDepth) {
      Fail("value nested too deeply");
      return;
    }
    const AvroSchema* b = Branch(s);
    if (failed() || b == nullptr) return;
    switch (b->type) {
      case AvroType::kNull: return;
      case AvroType::kBoolean: r_->Byte(); return;
      case AvroType::kInt:
      case AvroType::kLong:
      case AvroType::kEnum: r_->Varint(); return;
      case AvroType::kFloat: r_->Bytes(4); return;
      case AvroType::kDouble: r_->Bytes(8); return;
      case AvroType::kBytes:
      case AvroType::kString: ReadBytes(); return;
      case AvroType::kFixed: r_->Bytes(static_cast<size_t>(b->fixed_size)); return;
      case AvroType::kRecord:
        for (const auto& f : b->fields) Skip(*f.schema, depth + 1);
        return;
      case AvroType::kArray: ForEachBlockItem([&] { Skip(*b->items, depth + 1); }); return;
      case AvroType::kMap:
        ForEachBlockItem([&] {
          ReadBytes();
          Skip(*b->values, depth + 1);
        });
        return;
      case AvroType::kUnion: Fail("nested union"); return;
    }
  }

 private:
  ByteReader* r_;
  std::string error_;
};

// Encodes values for the writer. Schemas come from AvroSchemaFromRowType, so a
// nullable value is always the union ["null", T] (branch 0 = null, 1 = value).
class ValueEncoder {
 public:
  explicit ValueEncoder(std::string* out) : out_(out) {}

  void Long(int64_t v) { PutVarint64(out_, ZigZagEncode(v)); }
  void Bytes(std::string_view b) {
    Long(static_cast<int64_t>(b.size()));
    out_->append(b);
  }
  void Float(double v) {
    float f = static_cast<float>(v);
    out_->append(reinterpret_cast<const char*>(&f), 4);
  }
  void Double(double v) { out_->append(reinterpret_cast<const char*>(&v), 8); }
  void Decimal(Int128 v) {
    // Minimal big-endian two's complement, as Java's BigInteger.toByteArray().
    unsigned char buf[16];
    for (int i = 15; i >= 0; --i) {
      buf[i] = static_cast<unsigned char>(v & 0xff);
      v >>= 8;
    }
    int start = 0;
    while (start < 15 &&
           ((buf[start] == 0x00 && !(buf[start + 1] & 0x80)) || (buf[start] == 0xff && (buf[start + 1] & 0x80)))) {
      ++start;
    }
    Bytes(std::string_view(reinterpret_cast<const char*>(buf + start), static_cast<size_t>(16 - start)));
  }
  static int64_t FromTimestamp(Timestamp ts, LogicalType logical) {
    switch (logical) {
      case LogicalType::kTimestampMicros:
      case LogicalType::kLocalTimestampMicros: return ts.ToMicros();
      case LogicalType::kTimestampNanos:
      case LogicalType::kLocalTimestampNanos: return ts.millis * 1000000 + ts.nanos;
      default: return ts.millis;
    }
  }

  // Returns the value schema after writing the union branch, or nullptr after writing a null.
  const AvroSchema* Branch(const AvroSchema& s, bool is_null) {
    if (s.type != AvroType::kUnion) return &s;
    int null_branch = s.NullBranch();
    int branch = is_null ? null_branch : 1 - null_branch;
    Long(branch);
    return is_null ? nullptr : s.branches[static_cast<size_t>(branch)].get();
  }

  void FromColumn(const AvroSchema& s, const Column& col, size_t i) {
    const AvroSchema* b = Branch(s, col.IsNull(i));
    if (b == nullptr) return;
    switch (b->type) {
      case AvroType::kBoolean: out_->push_back(col.GetInt(i) != 0 ? 1 : 0); return;
      case AvroType::kInt: Long(col.GetInt(i)); return;
      case AvroType::kLong:
        Long(col.kind() == PhysicalKind::kTimestamp ? FromTimestamp(col.GetTimestamp(i), b->logical) : col.GetInt(i));
        return;
      case AvroType::kFloat: Float(col.GetDouble(i)); return;
      case AvroType::kDouble: Double(col.GetDouble(i)); return;
      case AvroType::kString: Bytes(col.GetBytes(i)); return;
      case AvroType::kBytes:
        if (b->logical == LogicalType::kDecimal)
          Decimal(col.GetDecimal(i));
        else
          Bytes(col.GetBytes(i));
        return;
      default: FromDatum(*b, col.GetNested(i), col.type()); return;
    }
  }

  void FromDatum(const AvroSchema& s, const Datum& d, const DataType& t) {
    const AvroSchema* b = Branch(s, d.is_null());
    if (b == nullptr) return;
    switch (b->type) {
      case AvroType::kNull: return;
      case AvroType::kBoolean: out_->push_back(d.as_int() != 0 ? 1 : 0); return;
      case AvroType::kInt: Long(d.as_int()); return;
      case AvroType::kLong:
        Long(d.kind() == Datum::Kind::kTimestamp ? FromTimestamp(d.as_timestamp(), b->logical) : d.as_int());
        return;
      case AvroType::kFloat: Float(d.as_double()); return;
      case AvroType::kDouble: Double(d.as_double()); return;
      case AvroType::kString: Bytes(d.as_bytes()); return;
      case AvroType::kBytes:
        if (b->logical == LogicalType::kDecimal)
          Decimal(d.as_decimal());
        else
          Bytes(d.as_bytes());
        return;
      case AvroType::kArray: {
        const auto& items = d.as_list();
        if (t.root() == TypeRoot::kMap || t.root() == TypeRoot::kMultiset) {
          // Map with non-string keys: an array of {key, value} records.
          const AvroSchema& entry = b->items->NonNull();
          DataType key = t.root() == TypeRoot::kMap ? t.key() : t.element();
          DataType value = t.root() == TypeRoot::kMap ? t.value() : DataType::Int().NotNull();
          size_t n = items.size() / 2;
          if (n > 0) Long(static_cast<int64_t>(n));
          for (size_t k = 0; k + 1 < items.size(); k += 2) {
            if (b->items->type == AvroType::kUnion) Branch(*b->items, false);
            FromDatum(*entry.fields[0].schema, items[k], key);
            FromDatum(*entry.fields[1].schema, items[k + 1], value);
          }
          Long(0);
          return;
        }
        if (!items.empty()) Long(static_cast<int64_t>(items.size()));
        for (const auto& item : items) FromDatum(*b->items, item, t.element());
        Long(0);
        return;
      }
      case AvroType::kMap: {
        const auto& items = d.as_list();
        size_t n = items.size() / 2;
        if (n > 0) Long(static_cast<int64_t>(n));
        for (size_t k = 0; k + 1 < items.size(); k += 2) {
          Bytes(items[k].is_null() ? std::string_view() : std::string_view(items[k].as_bytes()));
          FromDatum(*b->values, items[k + 1], t.value());
        }
        Long(0);
        return;
      }
      case AvroType::kRecord: {
        const auto& items = d.as_list();
        for (size_t k = 0; k < b->fields.size(); ++k) {
          const Datum& v = k < items.size() ? items[k] : Datum();
          FromDatum(*b->fields[k].schema, v, t.fields()[k].type);
        }
        return;
      }
      default: return;
    }
  }

 private:
  std::string* out_;
};

}  // namespace

struct AvroReader::Plan {
  struct Step {
    const AvroSchema* schema;
    int target;  // column index in the output batch, or -1 to skip
  };
  bool top_level_union = false;  // records written as ["null", record] (older Paimon manifests)
  const AvroSchema* record = nullptr;
  std::vector<Step> steps;
  std::vector<int> missing;                 // output columns the file does not have (filled with null)
  std::unique_ptr<FlatRecordDecoder> flat;  // set when every field is flat
};

namespace {

// Files of a table share a few schemas: parsing a reader's schema and building a
// writer's (tree and JSON) once per schema, not once per file, takes a visible
// share of the small commits of a streaming warehouse. Bounded: cleared when full.
constexpr size_t kSchemaCacheEntries = 512;

AvroSchemaPtr CachedParse(const std::string& json, Status* error) {
  static std::mutex mu;
  static std::unordered_map<std::string, AvroSchemaPtr> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(json);
    if (it != cache.end()) return it->second;
  }
  auto parsed = ParseAvroSchema(json);
  if (!parsed.ok()) {
    *error = parsed.status();
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= kSchemaCacheEntries) cache.clear();
  cache.emplace(json, *parsed);
  return *parsed;
}

struct WriterSchema {
  AvroSchemaPtr schema;
  std::string json;
};

std::shared_ptr<const WriterSchema> CachedWriterSchema(const RowType& type, const AvroWriterOptions& options) {
  std::string key = options.record_namespace + "." + options.record_name;
  for (const auto& f : type.fields()) {
    key += '\n' + std::to_string(f.id) + ' ' + f.name + ' ' + f.type.ToString();
  }
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const WriterSchema>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  auto built = std::make_shared<WriterSchema>();
  built->schema = AvroSchemaFromRowType(type, options.record_name, options.record_namespace);
  built->json = AvroSchemaToJson(*built->schema);
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= kSchemaCacheEntries) cache.clear();
  cache.emplace(std::move(key), built);
  return built;
}

}  // namespace

AvroReader::~AvroReader() = default;

Result<std::unique_ptr<AvroReader>> AvroReader::Open(const std::string& path) {
  std::unique_ptr<AvroReader> r(new AvroReader());
  r->name_ = path;
  KL_ASSIGN_OR_RETURN(r->mapped_, MappedFile::Open(path));
  r->data_ = r->mapped_->data();
  KL_RETURN_IF_ERROR(r->Init());
  return r;
}

Result<std::unique_ptr<AvroReader>> AvroReader::FromBuffer(std::string name, std::string data) {
  std::unique_ptr<AvroReader> r(new AvroReader());
  r->name_ = std::move(name);
  r->owned_ = std::move(data);
  r->data_ = r->owned_;
  KL_RETURN_IF_ERROR(r->Init());
  return r;
}

Status AvroReader::Fail(const Status& s) const { return s.WithContext("Avro file " + name_); }

Status AvroReader::Init() {
  if (data_.size() < 4 || std::memcmp(data_.data(), kMagic, 4) != 0) {
    return Fail(Status::Corruption("not an Avro object container file (bad magic)"));
  }
  ByteReader r(data_.substr(4));
  // File metadata: an Avro map<bytes>.
  while (r.ok()) {
    int64_t count = r.ZigZag();
    if (count == 0) break;
    if (count < 0) {
      count = NegatedBlockCount(count);
      r.ZigZag();
    }
    if (count < 0 || static_cast<uint64_t>(count) > r.remaining())
      return Fail(Status::Corruption("bad metadata map count"));
    for (int64_t i = 0; i < count && r.ok(); ++i) {
      int64_t klen = r.ZigZag();
      if (klen < 0) return Fail(Status::Corruption("bad metadata key length"));
      std::string key(r.Bytes(static_cast<size_t>(klen)));
      int64_t vlen = r.ZigZag();
      if (vlen < 0) return Fail(Status::Corruption("bad metadata value length"));
      metadata_[key] = std::string(r.Bytes(static_cast<size_t>(vlen)));
    }
  }
  sync_ = std::string(r.Bytes(kSyncSize));
  if (!r.ok()) return Fail(Status::Corruption("header is truncated"));
  auto schema_it = metadata_.find("avro.schema");
  if (schema_it == metadata_.end()) return Fail(Status::Corruption("header has no avro.schema"));
  Status parse_error;
  schema_ = CachedParse(schema_it->second, &parse_error);
  if (!schema_) return Fail(parse_error);
  auto codec_it = metadata_.find("avro.codec");
  auto codec = AvroCodecFromName(codec_it == metadata_.end() ? "null" : codec_it->second);
  if (!codec.ok()) return Fail(codec.status());
  codec_ = *codec;
  pos_ = data_.size() - r.remaining();
  return Status::OK();
}

Result<RowType> AvroReader::FileRowType() const {
  const AvroSchema& top = schema_->NonNull();
  if (top.type != AvroType::kRecord) return Fail(Status::NotSupported("top-level schema is not a record"));
  std::vector<DataField> fields;
  for (const auto& f : top.fields) {
    auto t = DataTypeFromAvro(*f.schema);
    if (!t.ok()) return Fail(t.status().WithContext("field " + f.name));
    fields.push_back({static_cast<int32_t>(fields.size()), f.name, *t, ""});
  }
  return RowType(std::move(fields));
}

namespace {

// The block at [begin, end) of a mapped file is decoded into the reader's own buffer and the
// file before it is not read again: its whole pages leave this process's memory (they stay in
// the page cache), so a large file read to its end — a compaction's input — does not stay
// resident as a whole. Reading them again would still be correct: it faults them back in.
void ReleaseMapped(std::string_view mapped, size_t begin, size_t end) {
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t base = reinterpret_cast<uintptr_t>(mapped.data());  // the mapping, page-aligned
  uintptr_t from = (base + begin) / page * page, to = (base + end) / page * page;
  if (to > from) (void)::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

}  // namespace

Status AvroReader::NextBlock() {
  const size_t block_start = pos_;
  ByteReader r(data_.substr(pos_));
  int64_t count = r.ZigZag();
  int64_t size = r.ZigZag();
  ++block_index_;
  std::string where = "block " + std::to_string(block_index_) + " at offset " + std::to_string(pos_);
  if (!r.ok() || count < 0 || size < 0 || static_cast<uint64_t>(size) + kSyncSize > r.remaining()) {
    return Fail(Status::Corruption(where + ": truncated or bad block header"));
  }
  std::string_view payload = r.Bytes(static_cast<size_t>(size));
  std::string_view sync = r.Bytes(kSyncSize);
  if (sync != sync_) return Fail(Status::Corruption(where + ": sync marker mismatch"));
  Status s = DecompressBlock(codec_, payload, kMaxBlockBytes, &block_);
  if (!s.ok()) return Fail(s.WithContext(where));
  if (static_cast<uint64_t>(count) > block_.size() + 1) {
    return Fail(Status::Corruption(where + ": record count exceeds block size"));
  }
  block_pos_ = 0;
  block_remaining_ = count;
  pos_ = data_.size() - r.remaining();
  if (mapped_ != nullptr) ReleaseMapped(data_, block_start, pos_);
  return Status::OK();
}

Result<bool> AvroReader::NextRawBlock(int64_t* count, std::string_view* payload) {
  if (pos_ >= data_.size()) return false;
  ByteReader r(data_.substr(pos_));
  int64_t n = r.ZigZag();
  int64_t size = r.ZigZag();
  ++block_index_;
  std::string where = "block " + std::to_string(block_index_) + " at offset " + std::to_string(pos_);
  if (!r.ok() || n < 0 || size < 0 || static_cast<uint64_t>(size) + kSyncSize > r.remaining()) {
    return Fail(Status::Corruption(where + ": truncated or bad block header"));
  }
  *payload = r.Bytes(static_cast<size_t>(size));
  if (r.Bytes(kSyncSize) != sync_) return Fail(Status::Corruption(where + ": sync marker mismatch"));
  *count = n;
  pos_ = data_.size() - r.remaining();
  return true;
}

void AvroReader::set_flat_decoding(bool on) {
  flat_decoding_ = on;
  plan_.reset();
}

bool AvroReader::decoding_flat() const { return plan_ != nullptr && plan_->flat != nullptr; }

Status AvroReader::BuildPlan(const RowType& read_type) {
  auto plan = std::make_unique<Plan>();
  plan->top_level_union = schema_->type == AvroType::kUnion;
  plan->record = &schema_->NonNull();
  if (plan->record->type != AvroType::kRecord) return Fail(Status::NotSupported("top-level schema is not a record"));
  std::vector<bool> found(read_type.size(), false);
  for (const auto& f : plan->record->fields) {
    int target = read_type.IndexOf(f.name);
    if (target >= 0) found[static_cast<size_t>(target)] = true;
    plan->steps.push_back({f.schema.get(), target});
  }
  if (flat_decoding_ && !plan->top_level_union) {
    std::vector<const AvroSchema*> fields;
    std::vector<int> targets;
    for (const auto& step : plan->steps) {
      fields.push_back(step.schema);
      targets.push_back(step.target);
    }
    plan->flat = FlatRecordDecoder::Make(fields, targets, read_type);
  }
  for (size_t i = 0; i < read_type.size(); ++i) {
    if (found[i]) continue;
    if (!read_type.type(i).nullable()) {
      return Fail(Status::Corruption("file has no field \"" + read_type.field(i).name + "\""));
    }
    plan->missing.push_back(static_cast<int>(i));
  }
  plan_ = std::move(plan);
  plan_type_ = read_type;
  return Status::OK();
}

Result<size_t> AvroReader::Read(size_t max_rows, ColumnBatch* out) {
  if (!plan_ || !(plan_type_ == out->schema())) KL_RETURN_IF_ERROR(BuildPlan(out->schema()));
  size_t decoded = 0;
  while (decoded < max_rows) {
    if (block_remaining_ == 0) {
      if (block_pos_ != block_.size()) {
        return Fail(Status::Corruption("block " + std::to_string(block_index_) + " has trailing bytes"));
      }
      if (pos_ >= data_.size()) break;
      KL_RETURN_IF_ERROR(NextBlock());
      continue;
    }
    auto& columns = out->mutable_columns();
    if (plan_->flat) {
      size_t n = std::min(static_cast<size_t>(block_remaining_), max_rows - decoded);
      const uint8_t* begin = reinterpret_cast<const uint8_t*>(block_.data());
      const uint8_t* p = begin + block_pos_;
      size_t bad = 0;
      std::string error;
      if (!plan_->flat->Decode(&p, begin + block_.size(), n, &columns, &bad, &error)) {
        return Fail(Status::Corruption("block " + std::to_string(block_index_) + ", record " +
                                       std::to_string(block_remaining_ - static_cast<int64_t>(bad)) +
                                       " from the end: " + error));
      }
      for (int m : plan_->missing) {
        for (size_t i = 0; i < n; ++i) columns[static_cast<size_t>(m)].AppendNull();
      }
      block_pos_ = static_cast<size_t>(p - begin);
      block_remaining_ -= static_cast<int64_t>(n);
      decoded += n;
      continue;
    }
    ByteReader r(std::string_view(block_).substr(block_pos_));
    ValueDecoder dec(&r);
    while (block_remaining_ > 0 && decoded < max_rows) {
      if (plan_->top_level_union && dec.Branch(*schema_) == nullptr && !dec.failed()) {
        // A null top-level record: every column null.
        for (auto& c : columns) c.AppendNull();
      } else {
        for (const auto& step : plan_->steps) {
          if (step.target >= 0)
            dec.DecodeToColumn(*step.schema, &columns[static_cast<size_t>(step.target)]);
          else
            dec.Skip(*step.schema, 0);
          if (dec.failed()) break;
        }
        for (int m : plan_->missing) columns[static_cast<size_t>(m)].AppendNull();
      }
      if (dec.failed()) {
        int64_t record = block_remaining_;
        return Fail(Status::Corruption("block " + std::to_string(block_index_) + ", record " + std::to_string(record) +
                                       " from the end: " + dec.error()));
      }
      --block_remaining_;
      ++decoded;
    }
    block_pos_ = block_.size() - r.remaining();
  }
  out->SetNumRows(out->num_rows() + decoded);
  return decoded;
}

Result<ColumnBatch> AvroReader::ReadAll(const RowType& read_type) {
  ColumnBatch batch(read_type);
  while (true) {
    KL_ASSIGN_OR_RETURN(size_t n, Read(1 << 20, &batch));
    if (n == 0) break;
  }
  return batch;
}

AvroWriter::AvroWriter(RowType type, AvroWriterOptions options) : type_(std::move(type)), options_(std::move(options)) {
  auto cached = CachedWriterSchema(type_, options_);
  schema_ = cached->schema;
  schema_json_ = cached->json;
  sync_ = RandomUuid().substr(0, kSyncSize);
}

AvroWriter::~AvroWriter() = default;

Result<std::unique_ptr<AvroWriter>> AvroWriter::Open(const std::string& path, const RowType& type,
                                                     const AvroWriterOptions& options) {
  std::unique_ptr<AvroWriter> w(new AvroWriter(type, options));
  if (options.hold_until_close) {
    w->path_ = path;
  } else {
    KL_ASSIGN_OR_RETURN(w->file_, AppendFile::Open(path, /*truncate=*/true));
  }
  KL_RETURN_IF_ERROR(w->Start());
  return w;
}

Result<std::unique_ptr<AvroWriter>> AvroWriter::InMemory(const RowType& type, const AvroWriterOptions& options) {
  std::unique_ptr<AvroWriter> w(new AvroWriter(type, options));
  KL_RETURN_IF_ERROR(w->Start());
  return w;
}

Status AvroWriter::Emit(std::string_view bytes) {
  bytes_written_ += bytes.size();
  if (file_) return file_->Append(bytes);
  out_.append(bytes);
  return Status::OK();
}

Status AvroWriter::Start() {
  std::string header(kMagic, 4);
  std::map<std::string, std::string> meta = options_.metadata;
  meta["avro.schema"] = schema_json_;
  meta["avro.codec"] = std::string(AvroCodecName(options_.codec));
  PutVarint64(&header, ZigZagEncode(static_cast<int64_t>(meta.size())));
  for (const auto& [k, v] : meta) {
    PutVarint64(&header, ZigZagEncode(static_cast<int64_t>(k.size())));
    header += k;
    PutVarint64(&header, ZigZagEncode(static_cast<int64_t>(v.size())));
    header += v;
  }
  PutVarint64(&header, 0);
  header += sync_;
  return Emit(header);
}

Status AvroWriter::FlushBlock() {
  if (block_count_ == 0) return Status::OK();
  // Without a codec the block goes out as it is.
  std::string_view body = block_;
  if (options_.codec == AvroCodec::kZstandard) {
    // Into compressed_ as it stands (it only grows): resizing it to zstd's bound from empty
    // zero-filled a block's worth before every compression.
    KL_RETURN_IF_ERROR(ZstdCompressInto(options_.level, block_, &compressed_, &body));
  } else if (options_.codec != AvroCodec::kNull) {
    compressed_.clear();
    KL_RETURN_IF_ERROR(CompressBlock(options_.codec, options_.level, block_, &compressed_));
    body = compressed_;
  }
  std::string head;
  PutVarint64(&head, ZigZagEncode(block_count_));
  PutVarint64(&head, ZigZagEncode(static_cast<int64_t>(body.size())));
  // The pieces go out as they are, not copied into one buffer (a block is ~64 KB, its head and
  // sync marker a few bytes: two small writes cost less than moving the block twice).
  Status s = Emit(head);
  if (s.ok()) s = Emit(body);
  if (s.ok()) s = Emit(sync_);
  block_.clear();
  block_count_ = 0;
  return s;
}

Status AvroWriter::Write(const ColumnBatch& batch) { return WriteRows(batch, 0, batch.num_rows()); }

Status AvroWriter::WriteRows(const ColumnBatch& batch, size_t begin, size_t end) {
  if (closed_) return Status::InvalidArgument("write after close");
  if (batch.num_columns() != type_.size()) {
    return Status::InvalidArgument("batch has " + std::to_string(batch.num_columns()) + " columns, writer expects " +
                                   std::to_string(type_.size()));
  }
  const AvroSchema& record = *schema_;
  ValueEncoder enc(&block_);
  // How each column encodes, worked out once for the batch rather than per value: the
  // common shapes (a nullable long, boolean or string) are written here, the rest by
  // FromColumn.
  enum class Shape : uint8_t { kLong, kBoolean, kBytes, kOther };
  struct Plan {
    Shape shape = Shape::kOther;
    char null_byte = 0, value_byte = 0;  // the union's branch indexes, zigzag varints of 0 or 1
    bool nullable = false;
    const Column* col = nullptr;
  };
  std::vector<Plan> plans(type_.size());
  for (size_t c = 0; c < type_.size(); ++c) {
    Plan& p = plans[c];
    p.col = &batch.column(c);
    const AvroSchema& field = *record.fields[c].schema;
    const AvroSchema* value = &field;
    if (field.type == AvroType::kUnion) {
      const int null_branch = field.NullBranch();
      if (null_branch < 0) continue;  // not ["null", T]: FromColumn
      p.nullable = true;
      p.null_byte = static_cast<char>(ZigZagEncode(null_branch));
      p.value_byte = static_cast<char>(ZigZagEncode(1 - null_branch));
      value = field.branches[static_cast<size_t>(1 - null_branch)].get();
    } else if (p.col->has_nulls()) {
      continue;  // a null in a column the schema says has none: FromColumn
    }
    const PhysicalKind kind = p.col->kind();
    if (kind == PhysicalKind::kInt && (value->type == AvroType::kInt || value->type == AvroType::kLong))
      p.shape = Shape::kLong;
    else if (kind == PhysicalKind::kInt && value->type == AvroType::kBoolean)
      p.shape = Shape::kBoolean;
    else if (kind == PhysicalKind::kBytes &&
             (value->type == AvroType::kString ||
              (value->type == AvroType::kBytes && value->logical != LogicalType::kDecimal)))
      p.shape = Shape::kBytes;
  }
  bool all_common = true;
  for (const Plan& p : plans) all_common = all_common && p.shape != Shape::kOther;
  if (all_common) {
    // Each record's most bytes first, then its values stored through a pointer rather than
    // appended one by one (the appends were about half of the encoding).
    for (size_t i = begin; i < end; ++i) {
      size_t bound = 0;
      for (const Plan& p : plans) {
        bound += 1 + kMaxVarint64Bytes;  // a union branch and a varint
        if (p.shape == Shape::kBytes && !p.col->IsNull(i)) bound += p.col->GetBytes(i).size();
      }
      const size_t at = block_.size();
      block_.resize(at + bound);
      char* out = block_.data() + at;
      for (const Plan& p : plans) {
        if (p.nullable) {
          if (p.col->IsNull(i)) {
            *out++ = p.null_byte;
            continue;
          }
          *out++ = p.value_byte;
        }
        switch (p.shape) {
          case Shape::kLong: out = EncodeVarint64(out, ZigZagEncode(p.col->GetInt(i))); break;
          case Shape::kBoolean: *out++ = p.col->GetInt(i) != 0 ? 1 : 0; break;
          case Shape::kBytes: {
            std::string_view v = p.col->GetBytes(i);
            out = EncodeVarint64(out, ZigZagEncode(static_cast<int64_t>(v.size())));
            CopyShortValue(out, v.data(), v.size());
            out += v.size();
            break;
          }
          case Shape::kOther: break;
        }
      }
      block_.resize(static_cast<size_t>(out - block_.data()));
      ++block_count_;
      ++rows_;
      if (block_.size() >= options_.block_bytes) KL_RETURN_IF_ERROR(FlushBlock());
    }
    return Status::OK();
  }
  for (size_t i = begin; i < end; ++i) {
    for (size_t c = 0; c < type_.size(); ++c) {
      const Plan& p = plans[c];
      if (p.shape == Shape::kOther) {
        enc.FromColumn(*record.fields[c].schema, *p.col, i);
        continue;
      }
      if (p.nullable) {
        if (p.col->IsNull(i)) {
          block_.push_back(p.null_byte);
          continue;
        }
        block_.push_back(p.value_byte);
      }
      switch (p.shape) {
        case Shape::kLong: enc.Long(p.col->GetInt(i)); break;
        case Shape::kBoolean: block_.push_back(p.col->GetInt(i) != 0 ? 1 : 0); break;
        case Shape::kBytes: enc.Bytes(p.col->GetBytes(i)); break;
        case Shape::kOther: break;
      }
    }
    ++block_count_;
    ++rows_;
    if (block_.size() >= options_.block_bytes) KL_RETURN_IF_ERROR(FlushBlock());
  }
  return Status::OK();
}

Status AvroWriter::WriteRow(const Row& row) {
  if (closed_) return Status::InvalidArgument("write after close");
  const AvroSchema& record = *schema_;
  ValueEncoder enc(&block_);
  for (size_t c = 0; c < type_.size(); ++c) {
    enc.FromDatum(*record.fields[c].schema, c < row.size() ? row[c] : Datum(), type_.type(c));
  }
  ++block_count_;
  ++rows_;
  if (block_.size() >= options_.block_bytes) return FlushBlock();
  return Status::OK();
}

Status AvroWriter::AppendRawBlock(int64_t count, std::string_view payload) {
  if (closed_) return Status::InvalidArgument("write after close");
  KL_RETURN_IF_ERROR(FlushBlock());
  compressed_.clear();
  PutVarint64(&compressed_, ZigZagEncode(count));
  PutVarint64(&compressed_, ZigZagEncode(static_cast<int64_t>(payload.size())));
  compressed_.append(payload);
  compressed_ += sync_;
  rows_ += static_cast<uint64_t>(count);
  return Emit(compressed_);
}

Result<uint64_t> AvroWriter::Close() {
  if (closed_) {
    // A failed sync or close stays failed: the file must never count as durable later.
    if (!close_status_.ok()) return close_status_;
    return bytes_written_;
  }
  KL_RETURN_IF_ERROR(FlushBlock());
  closed_ = true;
  if (!path_.empty()) {
    // Held until now: the whole file in one write.
    auto file = AppendFile::Open(path_, /*truncate=*/true);
    close_status_ = file.status();
    if (file.ok()) {
      file_ = std::move(*file);
      close_status_ = file_->Append(out_);
    }
    out_ = std::string();
  }
  if (file_ && close_status_.ok() && options_.sync) close_status_ = file_->Sync();
  if (file_ && close_status_.ok()) close_status_ = file_->Close();
  if (!close_status_.ok()) return close_status_;
  return bytes_written_;
}

}  // namespace kl::format::avro
