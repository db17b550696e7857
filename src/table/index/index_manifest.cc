#include "table/index/index_manifest.h"

#include <map>
#include <set>
#include <tuple>

#include "format/avro/avro_file.h"

namespace kl::table {

using format::DataType;
using format::Datum;
using format::DatumList;
using format::RowType;

namespace {

// Paimon's IndexManifestEntry with its format identifier first (_VERSION). Newer Paimon adds a
// nullable _GLOBAL_INDEX row at the end; readers of either version skip what they lack.
RowType IndexManifestType() {
  DataType range = DataType::Row({{0, "f0", DataType::String().NotNull(), ""},
                                  {1, "f1", DataType::Int().NotNull(), ""},
                                  {2, "f2", DataType::Int().NotNull(), ""},
                                  {3, "_CARDINALITY", DataType::BigInt(), ""}});
  return RowType({{0, "_VERSION", DataType::Int().NotNull(), ""},
                  {1, "_KIND", DataType::Int().NotNull(), ""},
                  {2, "_PARTITION", DataType::Bytes().NotNull(), ""},
                  {3, "_BUCKET", DataType::Int().NotNull(), ""},
                  {4, "_INDEX_TYPE", DataType::String().NotNull(), ""},
                  {5, "_FILE_NAME", DataType::String().NotNull(), ""},
                  {6, "_FILE_SIZE", DataType::BigInt().NotNull(), ""},
                  {7, "_ROW_COUNT", DataType::BigInt().NotNull(), ""},
                  {8, "_DELETIONS_VECTORS_RANGES", DataType::Array(range), ""},
                  {9, "_EXTERNAL_PATH", DataType::String(), ""}});
}

constexpr int kIndexManifestVersion = 1;

format::avro::AvroWriterOptions WriterOptions(const std::string& compression) {
  format::avro::AvroWriterOptions o;
  auto codec = format::avro::AvroCodecFromName(compression);
  o.codec = codec.ok() ? *codec : format::avro::AvroCodec::kZstandard;
  return o;
}

bool Bucketed(const std::string& index_type) { return index_type == kHashIndex || index_type == kDeletionVectorsIndex; }

}  // namespace

Result<std::vector<IndexManifestEntry>> ReadIndexManifest(const std::string& path) {
  KL_ASSIGN_OR_RETURN(format::ColumnBatch batch, ReadMetadataFile(path, IndexManifestType()));
  std::vector<IndexManifestEntry> out;
  out.reserve(batch.num_rows());
  for (size_t i = 0; i < batch.num_rows(); ++i) {
    std::string where = path + ": index entry " + std::to_string(i);
    if (!batch.column(0).IsNull(i) && batch.column(0).GetInt(i) != kIndexManifestVersion) {
      return Status::NotSupported(where + " has format version " + std::to_string(batch.column(0).GetInt(i)) +
                                  "; kubelake reads version " + std::to_string(kIndexManifestVersion));
    }
    for (size_t c : {1, 2, 3, 4, 5, 6, 7}) {
      if (batch.column(c).IsNull(i)) {
        return Status::Corruption(where + " lacks " + IndexManifestType().fields()[c].name);
      }
    }
    IndexManifestEntry e;
    int64_t kind = batch.column(1).GetInt(i);
    if (kind != 0 && kind != 1) return Status::Corruption(where + " has kind " + std::to_string(kind));
    e.kind = static_cast<FileKind>(kind);
    e.partition = std::string(batch.column(2).GetBytes(i));
    e.bucket = static_cast<int32_t>(batch.column(3).GetInt(i));
    e.file.index_type = std::string(batch.column(4).GetBytes(i));
    e.file.file_name = std::string(batch.column(5).GetBytes(i));
    e.file.file_size = batch.column(6).GetInt(i);
    e.file.row_count = batch.column(7).GetInt(i);
    if (e.file.file_name.empty() || e.file.file_name.find('/') != std::string::npos || e.file.file_size < 0 ||
        e.file.row_count < 0) {
      return Status::Corruption(where + " names index file \"" + e.file.file_name + "\" of size " +
                                std::to_string(e.file.file_size) + " and " + std::to_string(e.file.row_count) +
                                " rows");
    }
    Datum ranges = batch.column(8).Get(i);
    if (!ranges.is_null()) {
      for (const Datum& r : ranges.as_list()) {
        if (r.is_null()) continue;
        const auto& f = r.as_list();
        if (f.size() < 3 || f[0].is_null() || f[1].is_null() || f[2].is_null()) {
          return Status::Corruption(where + " has an incomplete deletion vector range");
        }
        DeletionVectorRange range;
        range.data_file = f[0].as_bytes();
        range.offset = static_cast<int32_t>(f[1].as_int());
        range.length = static_cast<int32_t>(f[2].as_int());
        if (f.size() > 3 && !f[3].is_null()) range.cardinality = f[3].as_int();
        e.file.dv_ranges.push_back(std::move(range));
      }
    }
    if (!batch.column(9).IsNull(i)) e.file.external_path = std::string(batch.column(9).GetBytes(i));
    out.push_back(std::move(e));
  }
  return out;
}

Result<int64_t> WriteIndexManifest(const std::string& path, const std::vector<IndexManifestEntry>& entries,
                                   const std::string& compression) {
  KL_ASSIGN_OR_RETURN(auto writer,
                      format::avro::AvroWriter::Open(path, IndexManifestType(), WriterOptions(compression)));
  for (const auto& e : entries) {
    // Paimon leaves the ranges null for index files that are not deletion vectors.
    Datum ranges;
    if (e.file.index_type == kDeletionVectorsIndex || !e.file.dv_ranges.empty()) {
      DatumList list;
      for (const auto& r : e.file.dv_ranges) {
        list.push_back(Datum::List({Datum::Bytes(r.data_file), Datum::Int(r.offset), Datum::Int(r.length),
                                    r.cardinality ? Datum::Int(*r.cardinality) : Datum()}));
      }
      ranges = Datum::List(std::move(list));
    }
    format::Row row{Datum::Int(kIndexManifestVersion),
                    Datum::Int(static_cast<int32_t>(e.kind)),
                    Datum::Bytes(e.partition),
                    Datum::Int(e.bucket),
                    Datum::Bytes(e.file.index_type),
                    Datum::Bytes(e.file.file_name),
                    Datum::Int(e.file.file_size),
                    Datum::Int(e.file.row_count),
                    std::move(ranges),
                    e.file.external_path ? Datum::Bytes(*e.file.external_path) : Datum()};
    KL_RETURN_IF_ERROR(writer->WriteRow(row));
  }
  KL_ASSIGN_OR_RETURN(uint64_t size, writer->Close());
  return static_cast<int64_t>(size);
}

Result<std::vector<IndexManifestEntry>> CombineIndexEntries(const std::vector<IndexManifestEntry>& previous,
                                                            const std::vector<IndexManifestEntry>& changes) {
  std::set<std::string> changed_types;
  for (const auto& e : changes) changed_types.insert(e.file.index_type);
  // Types this commit does not touch pass through as they are, in their order.
  std::vector<IndexManifestEntry> out;
  using BucketKey = std::tuple<std::string, int32_t, std::string>;
  std::map<BucketKey, IndexManifestEntry> bucketed;
  std::map<std::pair<std::string, std::string>, IndexManifestEntry> by_name;  // (type, file name)
  for (const auto& e : previous) {
    if (e.kind != FileKind::kAdd) {
      return Status::Corruption("index manifest lists a DELETE entry for " + e.file.file_name);
    }
    if (changed_types.count(e.file.index_type) == 0) {
      out.push_back(e);
    } else if (Bucketed(e.file.index_type)) {
      bucketed[{e.partition, e.bucket, e.file.index_type}] = e;
    } else {
      by_name[{e.file.index_type, e.file.file_name}] = e;
    }
  }
  for (const auto& e : changes) {
    if (e.kind != FileKind::kDelete) continue;
    if (Bucketed(e.file.index_type)) {
      auto it = bucketed.find({e.partition, e.bucket, e.file.index_type});
      if (it == bucketed.end() || it->second.file.file_name != e.file.file_name) {
        return Status::Conflict("the " + e.file.index_type + " index file of bucket " + std::to_string(e.bucket) +
                                " is no longer " + e.file.file_name +
                                ": another writer changed it (a dynamic-bucket table takes one writer at a time)");
      }
      bucketed.erase(it);
    } else if (by_name.erase({e.file.index_type, e.file.file_name}) == 0) {
      return Status::Conflict("index file " + e.file.file_name + " is no longer live");
    }
  }
  for (const auto& e : changes) {
    if (e.kind != FileKind::kAdd) continue;
    if (Bucketed(e.file.index_type)) {
      auto [it, added] = bucketed.try_emplace({e.partition, e.bucket, e.file.index_type}, e);
      if (!added) {
        return Status::Conflict("bucket " + std::to_string(e.bucket) + " already has " + e.file.index_type +
                                " index file " + it->second.file.file_name + " that this commit did not replace: " +
                                "another writer added it (a dynamic-bucket table takes one writer at a time)");
      }
    } else {
      by_name[{e.file.index_type, e.file.file_name}] = e;
    }
  }
  for (auto& [k, e] : bucketed) out.push_back(std::move(e));
  for (auto& [k, e] : by_name) out.push_back(std::move(e));
  return out;
}

}  // namespace kl::table
