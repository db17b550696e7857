// libFuzzer target for the Parquet reader: the footer (Thrift compact), the
// schema, page headers, decompression and every value/level decoder. Input is
// either a whole file, or (first byte 'P') raw page bytes wrapped in a
// synthetic footer so that mutations reach the page decoders directly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/coding.h"
#include "format/parquet/parquet.h"

namespace {

using namespace kl::format::parquet;  // NOLINT

void ReadAll(const std::string& file) {
  auto reader = ParquetReader::OpenBuffer(file, "fuzz.parquet");
  if (!reader.ok()) return;
  (void)(*reader)->ReadAll();
  ParquetReadOptions options;
  options.batch_rows = 7;
  options.predicate = [](const StatsLookup& stats) {
    const ColumnStatistics* s = stats(0);
    return s == nullptr || !s->has_min_max || kl::format::CompareDatum(s->min, s->max) != 0;
  };
  auto batches = (*reader)->NewBatchReader(options);
  if (!batches.ok()) return;
  kl::format::ColumnBatch batch;
  for (int i = 0; i < 1000; ++i) {
    auto more = (*batches)->Next(&batch);
    if (!more.ok() || !*more) break;
  }
}

// A footer declaring three columns (optional INT64, optional STRING, LIST<INT32>) whose
// chunks split `pages` in three; the codec and the row count come from the first two bytes.
std::string WrapPages(const uint8_t* data, size_t size) {
  if (size < 4) return {};
  Codec codec = static_cast<Codec>(data[0] % 8);
  int64_t rows = data[1] % 64;
  std::string pages(reinterpret_cast<const char*>(data + 2), size - 2);
  FileMetaData meta;
  SchemaElement root;
  root.name = "schema";
  root.num_children = 3;
  meta.schema.push_back(root);
  SchemaElement a;
  a.name = "a";
  a.type = PhysicalType::kInt64;
  a.repetition = Repetition::kOptional;
  meta.schema.push_back(a);
  SchemaElement b;
  b.name = "b";
  b.type = PhysicalType::kByteArray;
  b.repetition = Repetition::kOptional;
  b.logical.kind = LogicalType::Kind::kString;
  meta.schema.push_back(b);
  SchemaElement list;
  list.name = "c";
  list.repetition = Repetition::kOptional;
  list.num_children = 1;
  list.converted_type = ConvertedType::kList;
  meta.schema.push_back(list);
  SchemaElement rep;
  rep.name = "list";
  rep.repetition = Repetition::kRepeated;
  rep.num_children = 1;
  meta.schema.push_back(rep);
  SchemaElement element;
  element.name = "element";
  element.type = PhysicalType::kInt32;
  element.repetition = Repetition::kOptional;
  meta.schema.push_back(element);
  meta.num_rows = rows;
  RowGroup group;
  group.num_rows = rows;
  size_t third = pages.size() / 3;
  const PhysicalType types[] = {PhysicalType::kInt64, PhysicalType::kByteArray, PhysicalType::kInt32};
  const char* paths[][3] = {{"a", "", ""}, {"b", "", ""}, {"c", "list", "element"}};
  for (int c = 0; c < 3; ++c) {
    ColumnChunk chunk;
    chunk.has_meta_data = true;
    chunk.meta_data.type = types[c];
    chunk.meta_data.codec = codec;
    chunk.meta_data.num_values = c == 2 ? rows * 2 : rows;
    chunk.meta_data.data_page_offset = 4 + static_cast<int64_t>(third * static_cast<size_t>(c));
    chunk.meta_data.total_compressed_size = static_cast<int64_t>(c == 2 ? pages.size() - 2 * third : third);
    for (const char* p : paths[c]) {
      if (*p) chunk.meta_data.path_in_schema.push_back(p);
    }
    group.columns.push_back(chunk);
  }
  meta.row_groups.push_back(group);
  std::string file = "PAR1" + pages;
  std::string footer;
  SerializeFileMetaData(meta, &footer);
  file += footer;
  kl::PutFixed32LE(&file, static_cast<uint32_t>(footer.size()));
  file += "PAR1";
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] == 'P' && (size < 4 || data[1] != 'A')) {
    std::string file = WrapPages(data + 1, size - 1);
    if (!file.empty()) ReadAll(file);
    return 0;
  }
  ReadAll(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
