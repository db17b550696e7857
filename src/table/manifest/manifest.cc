#include "table/manifest/manifest.h"

#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <variant>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "format/avro/avro_file.h"
#include "format/orc/orc_reader.h"
#include "table/data/binary_row.h"

namespace kl::table {

using format::DataField;
using format::DataType;
using format::Datum;
using format::DatumList;
using format::Row;
using format::RowType;

namespace {

constexpr int kManifestVersion = 2;

DataType StatsType() {
  return DataType::Row({{0, "_MIN_VALUES", DataType::Bytes().NotNull(), ""},
                        {1, "_MAX_VALUES", DataType::Bytes().NotNull(), ""},
                        {2, "_NULL_COUNTS", DataType::Array(DataType::BigInt()), ""}})
      .NotNull();
}

DataType FileMetaType() {
  DataType strings = DataType::Array(DataType::String().NotNull());
  return DataType::Row({{0, "_FILE_NAME", DataType::String().NotNull(), ""},
                        {1, "_FILE_SIZE", DataType::BigInt().NotNull(), ""},
                        {2, "_ROW_COUNT", DataType::BigInt().NotNull(), ""},
                        {3, "_MIN_KEY", DataType::Bytes().NotNull(), ""},
                        {4, "_MAX_KEY", DataType::Bytes().NotNull(), ""},
                        {5, "_KEY_STATS", StatsType(), ""},
                        {6, "_VALUE_STATS", StatsType(), ""},
                        {7, "_MIN_SEQUENCE_NUMBER", DataType::BigInt().NotNull(), ""},
                        {8, "_MAX_SEQUENCE_NUMBER", DataType::BigInt().NotNull(), ""},
                        {9, "_SCHEMA_ID", DataType::BigInt().NotNull(), ""},
                        {10, "_LEVEL", DataType::Int().NotNull(), ""},
                        {11, "_EXTRA_FILES", strings.NotNull(), ""},
                        {12, "_CREATION_TIME", DataType::Timestamp(3), ""},
                        {13, "_DELETE_ROW_COUNT", DataType::BigInt(), ""},
                        {14, "_EMBEDDED_FILE_INDEX", DataType::Bytes(), ""},
                        {15, "_FILE_SOURCE", DataType::TinyInt(), ""},
                        {16, "_VALUE_STATS_COLS", strings, ""},
                        {17, "_EXTERNAL_PATH", DataType::String(), ""},
                        {18, "_FIRST_ROW_ID", DataType::BigInt(), ""}})
      .NotNull();
}

RowType ManifestEntryType() {
  return RowType({{0, "_VERSION", DataType::Int().NotNull(), ""},
                  {1, "_KIND", DataType::TinyInt().NotNull(), ""},
                  {2, "_PARTITION", DataType::Bytes().NotNull(), ""},
                  {3, "_BUCKET", DataType::Int().NotNull(), ""},
                  {4, "_TOTAL_BUCKETS", DataType::Int().NotNull(), ""},
                  {5, "_FILE", FileMetaType(), ""}});
}

RowType ManifestFileMetaType() {
  return RowType({{0, "_VERSION", DataType::Int().NotNull(), ""},
                  {1, "_FILE_NAME", DataType::String().NotNull(), ""},
                  {2, "_FILE_SIZE", DataType::BigInt().NotNull(), ""},
                  {3, "_NUM_ADDED_FILES", DataType::BigInt().NotNull(), ""},
                  {4, "_NUM_DELETED_FILES", DataType::BigInt().NotNull(), ""},
                  {5, "_PARTITION_STATS", StatsType(), ""},
                  {6, "_SCHEMA_ID", DataType::BigInt().NotNull(), ""},
                  {7, "_MIN_BUCKET", DataType::Int(), ""},
                  {8, "_MAX_BUCKET", DataType::Int(), ""},
                  {9, "_MIN_LEVEL", DataType::Int(), ""},
                  {10, "_MAX_LEVEL", DataType::Int(), ""}});
}

Datum OptInt(const std::optional<int64_t>& v) { return v ? Datum::Int(*v) : Datum(); }
Datum OptStrings(const std::optional<std::vector<std::string>>& v) {
  if (!v) return Datum();
  DatumList items;
  for (const auto& s : *v) items.push_back(Datum::Bytes(s));
  return Datum::List(std::move(items));
}

Datum StatsDatum(const SimpleStats& s) {
  Datum counts;
  if (s.null_counts) {
    DatumList items;
    for (const auto& c : *s.null_counts) items.push_back(c ? Datum::Int(*c) : Datum());
    counts = Datum::List(std::move(items));
  }
  return Datum::List({Datum::Bytes(s.min_values), Datum::Bytes(s.max_values), counts});
}

// Reading tolerates older layouts: missing or null nested records read as empty.
SimpleStats StatsFrom(const Datum& d) {
  SimpleStats s = SimpleStats::Empty();
  if (d.is_null() || d.kind() != Datum::Kind::kList) return s;
  const auto& items = d.as_list();
  if (items.size() > 0 && !items[0].is_null()) s.min_values = items[0].as_bytes();
  if (items.size() > 1 && !items[1].is_null()) s.max_values = items[1].as_bytes();
  if (items.size() > 2 && !items[2].is_null()) {
    std::vector<std::optional<int64_t>> counts;
    for (const auto& c : items[2].as_list())
      counts.push_back(c.is_null() ? std::nullopt : std::optional<int64_t>(c.as_int()));
    s.null_counts = std::move(counts);
  }
  return s;
}

std::optional<int64_t> OptIntFrom(const Datum& d) {
  if (d.is_null()) return std::nullopt;
  return d.as_int();
}

std::optional<std::vector<std::string>> OptStringsFrom(const Datum& d) {
  if (d.is_null()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& s : d.as_list()) out.push_back(s.is_null() ? "" : s.as_bytes());
  return out;
}

Datum FileDatum(const DataFileMeta& f) {
  return Datum::List({
      Datum::Bytes(f.file_name),
      Datum::Int(f.file_size),
      Datum::Int(f.row_count),
      Datum::Bytes(f.min_key),
      Datum::Bytes(f.max_key),
      StatsDatum(f.key_stats),
      StatsDatum(f.value_stats),
      Datum::Int(f.min_sequence_number),
      Datum::Int(f.max_sequence_number),
      Datum::Int(f.schema_id),
      Datum::Int(f.level),
      OptStrings(f.extra_files),
      f.creation_time_millis ? Datum::Time({*f.creation_time_millis, 0}) : Datum(),
      OptInt(f.delete_row_count),
      f.embedded_index ? Datum::Bytes(*f.embedded_index) : Datum(),
      f.file_source ? Datum::Int(*f.file_source) : Datum(),
      OptStrings(f.value_stats_cols),
      f.external_path ? Datum::Bytes(*f.external_path) : Datum(),
      OptInt(f.first_row_id),
  });
}

Result<DataFileMeta> FileFrom(const Datum& d) {
  if (d.is_null()) return Status::Corruption("manifest entry without _FILE");
  const auto& v = d.as_list();
  if (v.size() < 12 || v[0].is_null()) return Status::Corruption("manifest _FILE record is incomplete");
  DataFileMeta f;
  f.file_name = v[0].as_bytes();
  f.file_size = v[1].is_null() ? 0 : v[1].as_int();
  f.row_count = v[2].is_null() ? 0 : v[2].as_int();
  f.min_key = v[3].is_null() ? "" : v[3].as_bytes();
  f.max_key = v[4].is_null() ? "" : v[4].as_bytes();
  f.key_stats = StatsFrom(v[5]);
  f.value_stats = StatsFrom(v[6]);
  f.min_sequence_number = v[7].is_null() ? 0 : v[7].as_int();
  f.max_sequence_number = v[8].is_null() ? 0 : v[8].as_int();
  f.schema_id = v[9].is_null() ? 0 : v[9].as_int();
  f.level = v[10].is_null() ? 0 : static_cast<int32_t>(v[10].as_int());
  if (auto extra = OptStringsFrom(v[11])) f.extra_files = *extra;
  if (v.size() > 12 && !v[12].is_null()) f.creation_time_millis = v[12].as_timestamp().millis;
  if (v.size() > 13) f.delete_row_count = OptIntFrom(v[13]);
  if (v.size() > 14 && !v[14].is_null()) f.embedded_index = v[14].as_bytes();
  if (v.size() > 15 && !v[15].is_null()) f.file_source = static_cast<int32_t>(v[15].as_int());
  if (v.size() > 16) f.value_stats_cols = OptStringsFrom(v[16]);
  if (v.size() > 17 && !v[17].is_null()) f.external_path = v[17].as_bytes();
  if (v.size() > 18) f.first_row_id = OptIntFrom(v[18]);
  return f;
}

format::avro::AvroWriterOptions WriterOptions(const std::string& compression) {
  format::avro::AvroWriterOptions o;
  auto codec = format::avro::AvroCodecFromName(compression);
  o.codec = codec.ok() ? *codec : format::avro::AvroCodec::kZstandard;
  return o;
}

// Truncation of string stats to `n` code points; the max is rounded up so it stays an upper bound.
size_t Utf8PrefixBytes(std::string_view s, int n) {
  size_t i = 0;
  int count = 0;
  while (i < s.size() && count < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    ++count;
  }
  return std::min(i, s.size());
}

std::optional<std::string> TruncateMax(const std::string& s, int n) {
  size_t cut = Utf8PrefixBytes(s, n);
  if (cut >= s.size()) return s;
  std::string out = s.substr(0, cut);
  // Increment the last byte that can be incremented (ASCII fast path; multi-byte tails are dropped).
  while (!out.empty()) {
    unsigned char last = static_cast<unsigned char>(out.back());
    if (last < 0x7f) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) out.pop_back();
  }
  return std::nullopt;
}

}  // namespace

Result<format::ColumnBatch> ReadMetadataFile(const std::string& path, const RowType& type) {
  KL_ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
  if (format::orc::LooksLikeOrc(mapped->data())) {
    KL_ASSIGN_OR_RETURN(auto reader, format::orc::OrcReader::Open(path));
    return reader->ReadAll(type);
  }
  KL_ASSIGN_OR_RETURN(auto reader, format::avro::AvroReader::Open(path));
  return reader->ReadAll(type);
}

SimpleStats SimpleStats::Empty() {
  SimpleStats s;
  s.min_values = SerializeBinaryRow({}, {});
  s.max_values = s.min_values;
  s.null_counts = std::vector<std::optional<int64_t>>{};
  return s;
}

SimpleStats ComputeStats(const std::vector<Datum>& mins, const std::vector<Datum>& maxs,
                         const std::vector<int64_t>& null_counts, const std::vector<DataType>& types, int truncate) {
  Row min_row = mins, max_row = maxs;
  for (size_t i = 0; i < types.size(); ++i) {
    bool string_like = types[i].is_string();
    bool unsupported = types[i].is_nested();
    if (truncate == 0 || unsupported) {
      min_row[i] = Datum();
      max_row[i] = Datum();
      continue;
    }
    if (string_like && truncate > 0) {
      if (!min_row[i].is_null()) {
        const std::string& s = min_row[i].as_bytes();
        min_row[i] = Datum::Bytes(s.substr(0, Utf8PrefixBytes(s, truncate)));
      }
      if (!max_row[i].is_null()) {
        auto t = TruncateMax(max_row[i].as_bytes(), truncate);
        max_row[i] = t ? Datum::Bytes(*t) : Datum();
      }
    }
  }
  SimpleStats s;
  s.min_values = SerializeBinaryRow(min_row, types);
  s.max_values = SerializeBinaryRow(max_row, types);
  std::vector<std::optional<int64_t>> counts;
  for (int64_t c : null_counts) counts.emplace_back(c);
  s.null_counts = std::move(counts);
  return s;
}

std::string ManifestEntry::Identifier() const {
  std::string id = partition;
  id += '\x1f';
  id += std::to_string(bucket);
  id += '\x1f';
  id += std::to_string(file.level);
  id += '\x1f';
  id += file.file_name;
  if (file.external_path) {
    id += '\x1f';
    id += *file.external_path;
  }
  return id;
}

ManifestIO::ManifestIO(std::string manifest_dir, RowType partition_type, std::string compression, int64_t schema_id)
    : dir_(std::move(manifest_dir)),
      partition_type_(std::move(partition_type)),
      compression_(std::move(compression)),
      schema_id_(schema_id) {}

SimpleStats ManifestIO::PartitionStats(const std::vector<ManifestEntry>& entries, size_t begin, size_t end) const {
  std::vector<DataType> types = TypesOf(partition_type_);
  std::vector<Datum> mins(types.size()), maxs(types.size());
  std::vector<int64_t> nulls(types.size(), 0);
  std::vector<bool> seen(types.size(), false);
  for (size_t e = begin; e < end; ++e) {
    auto row = DeserializeBinaryRow(entries[e].partition, types);
    if (!row.ok()) continue;
    for (size_t i = 0; i < types.size(); ++i) {
      const Datum& v = (*row)[i];
      if (v.is_null()) {
        ++nulls[i];
        continue;
      }
      if (!seen[i] || format::CompareDatum(v, mins[i]) < 0) mins[i] = v;
      if (!seen[i] || format::CompareDatum(v, maxs[i]) > 0) maxs[i] = v;
      seen[i] = true;
    }
  }
  return ComputeStats(mins, maxs, nulls, types, -1);
}

namespace {

// Manifests and manifest lists are immutable and named uniquely (a UUID), so a
// decoded copy stays valid for as long as anyone asks: the jobs following a
// table read the same changelog manifests one after the other, and every
// commit reads the manifest lists the previous one wrote. Process-wide, LRU,
// bounded by an estimate of the decoded size.
class MetadataCache {
 public:
  using Entries = std::vector<ManifestEntry>;
  using Metas = std::vector<ManifestFileMeta>;

  static MetadataCache& Get() {
    static MetadataCache* cache = new MetadataCache();
    return *cache;
  }

  // The cached copy, if the file is still the one that was cached (same size
  // and modification time: a file damaged or replaced since is decoded again).
  template <typename T>
  std::shared_ptr<const T> Find(const std::string& path) {
    FileStamp stamp = StampFile(path);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(path);
    if (it == map_.end()) return nullptr;
    if (!(it->second.stamp == stamp)) {
      used_ -= it->second.bytes;
      lru_.erase(it->second.lru);
      map_.erase(it);
      return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    auto* value = std::get_if<std::shared_ptr<const T>>(&it->second.value);
    return value != nullptr ? *value : nullptr;
  }

  template <typename T>
  void Put(const std::string& path, std::shared_ptr<const T> value, size_t bytes) {
    if (bytes > kBudget / 8) return;
    FileStamp stamp = StampFile(path);
    if (stamp.size < 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.count(path) != 0) return;
    lru_.push_front(path);
    map_.emplace(path, Slot{std::move(value), bytes, lru_.begin(), stamp});
    used_ += bytes;
    while (used_ > kBudget && !lru_.empty()) {
      auto victim = map_.find(lru_.back());
      used_ -= victim->second.bytes;
      map_.erase(victim);
      lru_.pop_back();
    }
  }

 private:
  static constexpr size_t kBudget = 64u << 20;
  struct Slot {
    std::variant<std::shared_ptr<const Entries>, std::shared_ptr<const Metas>> value;
    size_t bytes;
    std::list<std::string>::iterator lru;
    FileStamp stamp;
  };
  std::mutex mu_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, Slot> map_;
  size_t used_ = 0;
};

size_t StatsBytes(const SimpleStats& s) {
  return s.min_values.size() + s.max_values.size() + (s.null_counts ? s.null_counts->size() * 16 : 0);
}

size_t EntryBytes(const std::vector<ManifestEntry>& entries) {
  size_t bytes = sizeof(entries);
  for (const auto& e : entries) {
    bytes += sizeof(ManifestEntry) + e.partition.size() + e.file.file_name.size() + e.file.min_key.size() +
             e.file.max_key.size() + StatsBytes(e.file.key_stats) + StatsBytes(e.file.value_stats);
  }
  return bytes;
}

size_t MetaBytes(const std::vector<ManifestFileMeta>& metas) {
  size_t bytes = sizeof(metas);
  for (const auto& m : metas) bytes += sizeof(ManifestFileMeta) + m.file_name.size() + StatsBytes(m.partition_stats);
  return bytes;
}

}  // namespace

Result<ManifestFileMeta> ManifestIO::WriteOneManifest(const std::vector<ManifestEntry>& entries, size_t begin,
                                                      size_t end) const {
  std::string name = "manifest-" + RandomUuid() + "-0";
  std::string path = JoinPath(dir_, name);
  auto writer = format::avro::AvroWriter::Open(path, ManifestEntryType(), WriterOptions(compression_));
  if (!writer.ok()) return writer.status();
  ManifestFileMeta meta;
  meta.file_name = name;
  meta.schema_id = schema_id_;
  for (size_t i = begin; i < end; ++i) {
    const ManifestEntry& e = entries[i];
    Row row{Datum::Int(kManifestVersion), Datum::Int(static_cast<int32_t>(e.kind)),
            Datum::Bytes(e.partition),    Datum::Int(e.bucket),
            Datum::Int(e.total_buckets),  FileDatum(e.file)};
    KL_RETURN_IF_ERROR((*writer)->WriteRow(row));
    if (e.kind == FileKind::kAdd)
      ++meta.num_added_files;
    else
      ++meta.num_deleted_files;
    meta.min_bucket = std::min(meta.min_bucket.value_or(e.bucket), e.bucket);
    meta.max_bucket = std::max(meta.max_bucket.value_or(e.bucket), e.bucket);
    meta.min_level = std::min(meta.min_level.value_or(e.file.level), e.file.level);
    meta.max_level = std::max(meta.max_level.value_or(e.file.level), e.file.level);
  }
  KL_ASSIGN_OR_RETURN(uint64_t size, (*writer)->Close());
  meta.file_size = static_cast<int64_t>(size);
  meta.partition_stats = PartitionStats(entries, begin, end);
  auto written = std::make_shared<const std::vector<ManifestEntry>>(entries.begin() + static_cast<ptrdiff_t>(begin),
                                                                    entries.begin() + static_cast<ptrdiff_t>(end));
  MetadataCache::Get().Put(path, written, EntryBytes(*written));
  return meta;
}

Result<std::vector<ManifestFileMeta>> ManifestIO::WriteManifests(const std::vector<ManifestEntry>& entries,
                                                                 int64_t target_size) const {
  KL_RETURN_IF_ERROR(CreateDirs(dir_));
  std::vector<ManifestFileMeta> out;
  if (entries.empty()) return out;
  // About 300 bytes per entry once compressed; roll files near the target size.
  size_t per_file = std::max<size_t>(1000, static_cast<size_t>(target_size / 300));
  for (size_t begin = 0; begin < entries.size(); begin += per_file) {
    size_t end = std::min(entries.size(), begin + per_file);
    KL_ASSIGN_OR_RETURN(ManifestFileMeta meta, WriteOneManifest(entries, begin, end));
    out.push_back(std::move(meta));
  }
  return out;
}

Result<std::vector<ManifestEntry>> ManifestIO::ReadManifest(const std::string& file_name) const {
  std::string path = JoinPath(dir_, file_name);
  if (auto cached = MetadataCache::Get().Find<MetadataCache::Entries>(path)) return *cached;
  KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, ReadManifestUncached(path));
  auto shared = std::make_shared<const std::vector<ManifestEntry>>(entries);
  MetadataCache::Get().Put(path, shared, EntryBytes(entries));
  return entries;
}

Result<std::vector<ManifestEntry>> ManifestIO::ReadManifestUncached(const std::string& path) const {
  auto batch = ReadMetadataFile(path, ManifestEntryType());
  if (!batch.ok()) return batch.status();
  std::vector<ManifestEntry> entries;
  entries.reserve(batch->num_rows());
  for (size_t i = 0; i < batch->num_rows(); ++i) {
    ManifestEntry e;
    int64_t kind = batch->column(1).GetInt(i);
    if (kind != 0 && kind != 1)
      return Status::Corruption(path + ": entry " + std::to_string(i) + " has kind " + std::to_string(kind));
    e.kind = static_cast<FileKind>(kind);
    e.partition = std::string(batch->column(2).GetBytes(i));
    e.bucket = static_cast<int32_t>(batch->column(3).GetInt(i));
    e.total_buckets = static_cast<int32_t>(batch->column(4).GetInt(i));
    auto file = FileFrom(batch->column(5).Get(i));
    if (!file.ok()) return file.status().WithContext(path);
    e.file = std::move(file).value();
    entries.push_back(std::move(e));
  }
  return entries;
}

Result<std::string> ManifestIO::WriteManifestList(const std::vector<ManifestFileMeta>& metas, int64_t* size) const {
  KL_RETURN_IF_ERROR(CreateDirs(dir_));
  std::string name = "manifest-list-" + RandomUuid() + "-0";
  auto writer =
      format::avro::AvroWriter::Open(JoinPath(dir_, name), ManifestFileMetaType(), WriterOptions(compression_));
  if (!writer.ok()) return writer.status();
  for (const auto& m : metas) {
    auto opt32 = [](const std::optional<int32_t>& v) { return v ? Datum::Int(*v) : Datum(); };
    Row row{Datum::Int(kManifestVersion),
            Datum::Bytes(m.file_name),
            Datum::Int(m.file_size),
            Datum::Int(m.num_added_files),
            Datum::Int(m.num_deleted_files),
            StatsDatum(m.partition_stats),
            Datum::Int(m.schema_id),
            opt32(m.min_bucket),
            opt32(m.max_bucket),
            opt32(m.min_level),
            opt32(m.max_level)};
    KL_RETURN_IF_ERROR((*writer)->WriteRow(row));
  }
  KL_ASSIGN_OR_RETURN(uint64_t bytes, (*writer)->Close());
  if (size != nullptr) *size = static_cast<int64_t>(bytes);
  auto written = std::make_shared<const std::vector<ManifestFileMeta>>(metas);
  MetadataCache::Get().Put(JoinPath(dir_, name), written, MetaBytes(metas));
  return name;
}

Result<std::vector<ManifestFileMeta>> ManifestIO::ReadManifestList(const std::string& file_name) const {
  std::string path = JoinPath(dir_, file_name);
  if (auto cached = MetadataCache::Get().Find<MetadataCache::Metas>(path)) return *cached;
  KL_ASSIGN_OR_RETURN(std::vector<ManifestFileMeta> metas, ReadManifestListUncached(path));
  auto shared = std::make_shared<const std::vector<ManifestFileMeta>>(metas);
  MetadataCache::Get().Put(path, shared, MetaBytes(metas));
  return metas;
}

Result<std::vector<ManifestFileMeta>> ManifestIO::ReadManifestListUncached(const std::string& path) const {
  auto batch = ReadMetadataFile(path, ManifestFileMetaType());
  if (!batch.ok()) return batch.status();
  std::vector<ManifestFileMeta> out;
  for (size_t i = 0; i < batch->num_rows(); ++i) {
    ManifestFileMeta m;
    m.file_name = std::string(batch->column(1).GetBytes(i));
    m.file_size = batch->column(2).GetInt(i);
    m.num_added_files = batch->column(3).GetInt(i);
    m.num_deleted_files = batch->column(4).GetInt(i);
    m.partition_stats = StatsFrom(batch->column(5).Get(i));
    m.schema_id = batch->column(6).GetInt(i);
    auto opt32 = [&](size_t c) -> std::optional<int32_t> {
      if (batch->column(c).IsNull(i)) return std::nullopt;
      return static_cast<int32_t>(batch->column(c).GetInt(i));
    };
    m.min_bucket = opt32(7);
    m.max_bucket = opt32(8);
    m.min_level = opt32(9);
    m.max_level = opt32(10);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<ManifestEntry>> MergeEntries(const std::vector<ManifestEntry>& entries) {
  // Identifier -> position of its live ADD in `live`. A DELETE seen before its
  // ADD (manifests merged out of order by another writer) is remembered and
  // cancels the ADD when it arrives.
  std::map<std::string, size_t> index;
  std::map<std::string, int> early_deletes;
  std::vector<std::optional<ManifestEntry>> live;
  for (const auto& e : entries) {
    std::string id = e.Identifier();
    if (e.kind == FileKind::kAdd) {
      auto pending = early_deletes.find(id);
      if (pending != early_deletes.end()) {
        if (--pending->second == 0) early_deletes.erase(pending);
        continue;
      }
      auto it = index.find(id);
      if (it != index.end() && live[it->second]) {
        return Status::Corruption("file " + e.file.file_name + " is added twice without being deleted");
      }
      index[id] = live.size();
      live.push_back(e);
    } else {
      auto it = index.find(id);
      if (it == index.end() || !live[it->second]) {
        ++early_deletes[id];
        continue;
      }
      live[it->second].reset();
      index.erase(it);
    }
  }
  if (!early_deletes.empty()) {
    return Status::Corruption("file " +
                              early_deletes.begin()->first.substr(early_deletes.begin()->first.rfind('\x1f') + 1) +
                              " is deleted but was never added");
  }
  std::vector<ManifestEntry> out;
  for (auto& e : live) {
    if (e) out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace kl::table
