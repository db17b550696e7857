// Corrupt and truncated Parquet input: every failure is a Corruption (or
// NotSupported) naming the file, never a crash or an out-of-bounds read (this
// test also runs under ASan + UBSan).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/testing/test_util.h"
#include "format/parquet/parquet.h"
#include "format/parquet/parquet_test_util.h"

namespace kl::format::parquet {
namespace {

// Opens and reads everything, including a predicate pass over the page index.
Status ReadEverything(const std::string& data, const std::string& name) {
  KL_ASSIGN_OR_RETURN(auto reader, ParquetReader::OpenBuffer(data, name));
  KL_RETURN_IF_ERROR(reader->ReadAll().status());
  ParquetReadOptions options;
  options.batch_rows = 13;
  options.predicate = [](const StatsLookup& stats) {
    const ColumnStatistics* s = stats(0);
    return s == nullptr || !s->has_min_max || CompareDatum(s->min, s->max) <= 0;
  };
  KL_ASSIGN_OR_RETURN(auto batches, reader->NewBatchReader(options));
  ColumnBatch batch;
  while (true) {
    KL_ASSIGN_OR_RETURN(bool more, batches->Next(&batch));
    if (!more) break;
  }
  return Status::OK();
}

std::vector<std::pair<std::string, std::string>> SampleFiles() {
  std::vector<std::pair<std::string, std::string>> out;
  proptest::RandomData data(42);
  RowType schema(
      {{0, "k", DataType::BigInt().NotNull(), ""},
       {1, "s", DataType::String(), ""},
       {2, "d", DataType::Double(), ""},
       {3, "ts", DataType::Timestamp(9), ""},
       {4, "dec", DataType::Decimal(20, 2), ""},
       {5, "arr", DataType::Array(DataType::Int()), ""},
       {6, "m", DataType::Map(DataType::String().NotNull(), DataType::Row({{8, "x", DataType::Int(), ""}})), ""}});
  ColumnBatch batch = data.Batch(schema, 60);
  struct Variant {
    const char* name;
    Codec codec;
    bool v2;
    bool dictionary;
    ValueEncoding encoding;
  };
  const Variant variants[] = {
      {"plain-uncompressed-v1", Codec::kUncompressed, false, false, ValueEncoding::kPlain},
      {"dict-snappy-v1", Codec::kSnappy, false, true, ValueEncoding::kPlain},
      {"delta-zstd-v2", Codec::kZstd, true, false, ValueEncoding::kDelta},
      {"dict-gzip-v2", Codec::kGzip, true, true, ValueEncoding::kDeltaLength},
      {"bss-lz4-v1", Codec::kLz4Raw, false, false, ValueEncoding::kByteStreamSplit},
  };
  for (const auto& v : variants) {
    ParquetWriterOptions options;
    options.codec = v.codec;
    options.data_page_v2 = v.v2;
    options.dictionary = v.dictionary;
    options.encoding = v.encoding;
    options.page_rows = 25;
    std::string file;
    auto writer = ParquetWriter::OpenInMemory(&file, schema, options);
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE((*writer)->Write(batch).ok());
    EXPECT_TRUE((*writer)->Close().ok());
    out.emplace_back(v.name, file);
  }
  return out;
}

void ExpectCleanFailure(const Status& s, const std::string& name, const std::string& what) {
  if (s.ok()) return;  // a flipped bit inside uncompressed values may decode to other values
  EXPECT_TRUE(s.code() == StatusCode::kCorruption || s.code() == StatusCode::kNotSupported)
      << what << ": " << s.ToString();
  EXPECT_NE(s.message().find(name), std::string::npos) << what << ": message does not name the file: " << s.ToString();
}

TEST(ParquetCorruptionTest, SampleFilesReadCleanly) {
  auto samples = SampleFiles();
  for (const auto& [name, data] : samples) KL_EXPECT_OK(ReadEverything(data, name));
  // The seed corpus of fuzz/ is made of these files; regenerate it on request.
  if (const char* dir = std::getenv("KUBELAKE_PARQUET_CORPUS_OUT")) {
    for (const auto& [name, data] : samples) KL_EXPECT_OK(WriteFile(JoinPath(dir, name + ".parquet"), data));
  }
}

TEST(ParquetCorruptionTest, EveryTruncationFailsCleanly) {
  for (const auto& [name, data] : SampleFiles()) {
    // Every length near both ends (magic, footer length, footer), a stride in between.
    for (size_t len = 0; len < data.size(); len += (len < 64 || len + 600 > data.size()) ? 1 : 7) {
      Status s = ReadEverything(data.substr(0, len), name);
      ASSERT_FALSE(s.ok()) << name << " truncated to " << len << " bytes was accepted";
      ExpectCleanFailure(s, name, name + " truncated to " + std::to_string(len));
    }
  }
}

TEST(ParquetCorruptionTest, FlippedBytesNeverCrash) {
  Random rng(3);
  int failures = 0;
  for (const auto& [name, data] : SampleFiles()) {
    for (int trial = 0; trial < 600; ++trial) {
      std::string bad = data;
      // Half the flips land in the footer, where most of the structure is.
      size_t pos =
          rng.OneIn(2) ? rng.Uniform(data.size()) : data.size() - 1 - rng.Uniform(std::min<size_t>(data.size(), 700));
      bad[pos] = static_cast<char>(bad[pos] ^ static_cast<char>(1 + rng.Uniform(255)));
      Status s = ReadEverything(bad, name);
      failures += !s.ok();
      ExpectCleanFailure(s, name, name + " byte " + std::to_string(pos));
    }
  }
  EXPECT_GT(failures, 100);
}

TEST(ParquetCorruptionTest, FlippedBytesInJavaWrittenFiles) {
  KL_REQUIRE_SHARED("paimon-compat/tables/parquet/parquet_append_table.db", dir);
  Random rng(11);
  for (auto it = std::filesystem::recursive_directory_iterator(dir);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (it->path().extension() != ".parquet") continue;
    std::string path = it->path().string();
    KL_ASSERT_OK_AND_ASSIGN(std::string data, ReadFile(path));
    KL_ASSERT_OK(ReadEverything(data, path));
    for (size_t pos = 0; pos < data.size(); pos += 3) {
      std::string bad = data;
      bad[pos] = static_cast<char>(bad[pos] ^ static_cast<char>(1 + rng.Uniform(255)));
      ExpectCleanFailure(ReadEverything(bad, path), path, "byte " + std::to_string(pos));
    }
  }
}

TEST(ParquetCorruptionTest, ErrorsNameWhereTheyHappened) {
  auto samples = SampleFiles();
  const std::string& data = samples[0].second;  // uncompressed: page bytes are visible
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(data, "where.parquet"));
  // Point the first string column chunk past the end of its pages.
  const ColumnChunk& chunk = reader->metadata().row_groups[0].columns[1];
  std::string bad = data;
  size_t header_at = static_cast<size_t>(chunk.meta_data.data_page_offset);
  bad[header_at] = static_cast<char>(0xff);  // not a valid field header
  Status s = ReadEverything(bad, "where.parquet");
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("where.parquet"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("row group 0"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("column s"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("page 0"), std::string::npos) << s.ToString();

  Status magic = ReadEverything("PAR1xxxxxxxxPAR0", "magic.parquet");
  EXPECT_TRUE(magic.IsCorruption());
  EXPECT_NE(magic.message().find("magic"), std::string::npos) << magic.ToString();
}

}  // namespace
}  // namespace kl::format::parquet
