// Property tests: random schemas and values written by ParquetWriter and read
// back by ParquetReader, for every value encoding, codec, page version and
// dictionary setting; plus statistics, skipping, ids and error cases.
#include <gtest/gtest.h>

#include <cmath>

#include "common/testing/test_util.h"
#include "format/parquet/parquet.h"
#include "format/parquet/parquet_test_util.h"

namespace kl::format::parquet {
namespace {

using proptest::RandomData;

struct Combo {
  ValueEncoding encoding;
  bool dictionary;
  Codec codec;
  bool v2;
};

std::string Describe(const Combo& c) {
  static const char* kEnc[] = {"plain", "delta", "delta-length", "byte-stream-split"};
  return std::string(kEnc[static_cast<int>(c.encoding)]) + (c.dictionary ? "+dict" : "") + " " + CodecName(c.codec) +
         (c.v2 ? " v2" : " v1");
}

std::vector<Combo> AllCombos() {
  std::vector<Combo> out;
  for (ValueEncoding e :
       {ValueEncoding::kPlain, ValueEncoding::kDelta, ValueEncoding::kDeltaLength, ValueEncoding::kByteStreamSplit}) {
    for (bool dict : {false, true}) {
      for (Codec c :
           {Codec::kUncompressed, Codec::kSnappy, Codec::kGzip, Codec::kZstd, Codec::kLz4Raw, Codec::kLz4Hadoop}) {
        for (bool v2 : {false, true}) out.push_back({e, dict, c, v2});
      }
    }
  }
  return out;
}

// Checks that `got` holds exactly the values of `want`, row by row.
void ExpectSameValues(const ColumnBatch& want, const ColumnBatch& got, const std::string& what) {
  ASSERT_EQ(got.num_rows(), want.num_rows()) << what;
  ASSERT_EQ(got.num_columns(), want.num_columns()) << what;
  for (size_t c = 0; c < want.num_columns(); ++c) {
    for (size_t r = 0; r < want.num_rows(); ++r) {
      Datum a = want.column(c).Get(r), b = got.column(c).Get(r);
      ASSERT_TRUE(a == b) << what << ": column " << want.schema().field(c).name << " ("
                          << want.schema().type(c).ToString() << ") row " << r << ": wrote "
                          << DatumToString(a, want.schema().type(c)) << ", read "
                          << DatumToString(b, want.schema().type(c));
    }
  }
}

Result<ColumnBatch> ReadInBatches(const std::string& file, size_t batch_rows) {
  KL_ASSIGN_OR_RETURN(auto reader, ParquetReader::OpenBuffer(file, "roundtrip.parquet"));
  ParquetReadOptions options;
  options.batch_rows = batch_rows;
  KL_ASSIGN_OR_RETURN(auto batches, reader->NewBatchReader(options));
  ColumnBatch all(reader->schema());
  ColumnBatch batch;
  while (true) {
    KL_ASSIGN_OR_RETURN(bool more, batches->Next(&batch));
    if (!more) break;
    if (batch.num_rows() > batch_rows) return Status::Internal("batch larger than asked");
    for (size_t c = 0; c < all.num_columns(); ++c)
      all.mutable_column(c).AppendRange(batch.column(c), 0, batch.num_rows());
    all.SetNumRows(all.num_rows() + batch.num_rows());
  }
  return all;
}

TEST(ParquetRoundTripTest, RandomSchemasEveryEncodingCodecAndPageVersion) {
  std::vector<Combo> combos = AllCombos();
  for (size_t i = 0; i < combos.size(); ++i) {
    const Combo& combo = combos[i];
    RandomData data(1000 + i);
    RowType schema = data.Schema(6);
    ColumnBatch batch = data.Batch(schema, 150 + data.rng().Uniform(150));
    ParquetWriterOptions options;
    options.encoding = combo.encoding;
    options.dictionary = combo.dictionary;
    options.codec = combo.codec;
    options.data_page_v2 = combo.v2;
    options.page_rows = 40;  // many pages
    options.page_bytes = 4096;
    options.row_group_bytes = 64 * 1024;
    options.dictionary_page_bytes = 512;  // dictionaries overflow and fall back mid-chunk
    std::string file;
    KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(&file, schema, options));
    // Two writes: row groups and pages must continue across batches.
    size_t half = batch.num_rows() / 2;
    ColumnBatch first(schema), second(schema);
    for (size_t r = 0; r < batch.num_rows(); ++r) (r < half ? first : second).AppendRowFrom(batch, r);
    KL_ASSERT_OK(writer->Write(first));
    KL_ASSERT_OK(writer->Write(second));
    KL_ASSERT_OK_AND_ASSIGN(ParquetWriteResult result, writer->Close());
    EXPECT_EQ(result.file_size, file.size());
    EXPECT_EQ(result.num_rows, static_cast<int64_t>(batch.num_rows()));
    std::string what = Describe(combo) + " schema " + RowType(schema).fields()[0].type.ToString() + "...";
    for (size_t c = 0; c < schema.size(); ++c) what += " " + schema.type(c).ToString() + ",";
    KL_ASSERT_OK_AND_ASSIGN(ColumnBatch read, ReadInBatches(file, 1 + data.rng().Uniform(97)));
    ExpectSameValues(batch, read, what);
    // The file really uses the encodings asked for, wherever a column's type allows them.
    KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "check.parquet"));
    for (const auto& group : reader->metadata().row_groups) {
      for (const auto& chunk : group.columns) {
        const auto& m = chunk.meta_data;
        auto has = [&](Encoding e) {
          return std::find(m.encodings.begin(), m.encodings.end(), e) != m.encodings.end();
        };
        EXPECT_EQ(m.codec, combo.codec);
        if (combo.dictionary || !has(Encoding::kPlain)) continue;
        bool ints = m.type == PhysicalType::kInt32 || m.type == PhysicalType::kInt64;
        bool doubles = m.type == PhysicalType::kFloat || m.type == PhysicalType::kDouble;
        if (combo.encoding == ValueEncoding::kDelta || combo.encoding == ValueEncoding::kDeltaLength) {
          EXPECT_FALSE(ints || m.type == PhysicalType::kByteArray) << what;
        }
        if (combo.encoding == ValueEncoding::kByteStreamSplit) {
          EXPECT_FALSE(doubles) << what;
        }
      }
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(ParquetRoundTripTest, DictionaryIsKeptForFewValuesAndFallsBackWhenItGrows) {
  RowType schema({{0, "s", DataType::String(), ""}, {1, "i", DataType::BigInt(), ""}});
  ColumnBatch batch(schema);
  for (int r = 0; r < 6000; ++r) {
    // Few distinct values first (the dictionary pays off), then unique ones (it overflows).
    std::string s = r < 2000 ? "state-" + std::to_string(r % 7) : "unique-value-" + std::to_string(r);
    batch.AppendRow({r % 11 == 0 ? Datum() : Datum::Bytes(s), Datum::Int(r < 2000 ? r % 5 : r)});
  }
  for (bool v2 : {false, true}) {
    ParquetWriterOptions options;
    options.data_page_v2 = v2;
    options.page_rows = 500;
    options.dictionary_page_bytes = 4096;
    std::string file;
    KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(&file, schema, options));
    KL_ASSERT_OK(writer->Write(batch));
    KL_ASSERT_OK(writer->Close().status());
    KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "dict.parquet"));
    ASSERT_EQ(reader->num_row_groups(), 1u);
    for (const auto& chunk : reader->metadata().row_groups[0].columns) {
      const auto& e = chunk.meta_data.encodings;
      EXPECT_TRUE(chunk.meta_data.dictionary_page_offset.has_value());
      Encoding dict = v2 ? Encoding::kRleDictionary : Encoding::kPlainDictionary;
      EXPECT_NE(std::find(e.begin(), e.end(), dict), e.end());
      EXPECT_NE(std::find(e.begin(), e.end(), Encoding::kPlain), e.end()) << "no fallback to PLAIN";
    }
    KL_ASSERT_OK_AND_ASSIGN(ColumnBatch read, ReadInBatches(file, 777));
    ExpectSameValues(batch, read, v2 ? "dictionary v2" : "dictionary v1");
    // The string column's first batch (dictionary pages only) arrives as dictionary codes.
    ParquetReadOptions first;
    first.batch_rows = 400;
    KL_ASSERT_OK_AND_ASSIGN(auto batches, reader->NewBatchReader(first));
    ColumnBatch head;
    KL_ASSERT_OK_AND_ASSIGN(bool more, batches->Next(&head));
    ASSERT_TRUE(more);
    EXPECT_TRUE(head.column(0).is_dictionary());
    EXPECT_FALSE(head.column(1).is_dictionary());
  }
}

// Pages are compressed into the chunk behind room for the largest header they could need; a
// page that compresses well gets a shorter header and moves up against it. Chunk memory comes
// back from earlier writers: a file written again after another one must come out the same.
TEST(ParquetRoundTripTest, PagesCompressedInPlaceAndReusedChunkMemoryLeaveNoTrace) {
  RowType schema({{0, "same", DataType::String(), ""},
                  {1, "random", DataType::String(), ""},
                  {2, "n", DataType::BigInt().NotNull(), ""},
                  {3, "maybe", DataType::Int(), ""}});
  auto make = [&](uint64_t seed, int rows) {
    RandomData data(seed);
    ColumnBatch b(schema);
    for (int r = 0; r < rows; ++r) {
      // "same": one value, 20 KB of it per page, compresses to a few dozen bytes (a header with
      // a 2-byte size where the bound took 3); "random": barely compresses.
      b.AppendRow({Datum::Bytes("abcdefghij"), Datum::Bytes(data.rng().Alnum(1 + data.rng().Uniform(30))),
                   Datum::Int(static_cast<int64_t>(data.rng().Next())),
                   data.rng().Uniform(5) == 0 ? Datum() : Datum::Int(r)});
    }
    return b;
  };
  ColumnBatch small = make(7, 5000), large = make(8, 40000);
  for (Codec codec :
       {Codec::kUncompressed, Codec::kSnappy, Codec::kGzip, Codec::kZstd, Codec::kLz4Raw, Codec::kLz4Hadoop}) {
    for (bool v2 : {false, true}) {
      ParquetWriterOptions options;
      options.codec = codec;
      options.data_page_v2 = v2;
      options.dictionary = false;
      options.page_rows = 1500;
      auto write = [&](const ColumnBatch& batch, std::string* file) {
        KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(file, schema, options));
        KL_ASSERT_OK(writer->Write(batch));
        KL_ASSERT_OK(writer->Close().status());
      };
      const std::string what = std::string(CodecName(codec)) + (v2 ? " v2" : " v1");
      std::string first, other, again;
      write(small, &first);
      write(large, &other);
      write(small, &again);
      EXPECT_TRUE(first == again) << what << ": the same rows made a different file after another one";
      KL_ASSERT_OK_AND_ASSIGN(ColumnBatch read_small, ReadInBatches(first, 1000));
      ExpectSameValues(small, read_small, what);
      KL_ASSERT_OK_AND_ASSIGN(ColumnBatch read_large, ReadInBatches(other, 4096));
      ExpectSameValues(large, read_large, what);
      // The offset index places each page right after the one before it.
      KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(other, "pages.parquet"));
      for (const auto& chunk : reader->metadata().row_groups[0].columns) {
        const auto& m = chunk.meta_data;
        ASSERT_TRUE(chunk.offset_index_offset && chunk.offset_index_length) << what;
        OffsetIndex index;
        std::string error;
        ASSERT_TRUE(ParseOffsetIndex(std::string_view(other).substr(static_cast<size_t>(*chunk.offset_index_offset),
                                                                    static_cast<size_t>(*chunk.offset_index_length)),
                                     &index, &error))
            << what << ": " << error;
        ASSERT_GT(index.page_locations.size(), 1u) << what;
        int64_t at = m.data_page_offset;
        for (const auto& page : index.page_locations) {
          EXPECT_EQ(page.offset, at) << what;
          at += page.compressed_page_size;
        }
        EXPECT_EQ(at, m.data_page_offset + m.total_compressed_size) << what;
      }
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(ParquetRoundTripTest, ReadSchemaKeepsNamesIdsAndNullability) {
  RandomData data(7);
  RowType schema = data.Schema(12);
  std::string file;
  KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(&file, schema));
  KL_ASSERT_OK(writer->Write(data.Batch(schema, 10)));
  KL_ASSERT_OK(writer->Close().status());
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "schema.parquet"));
  EXPECT_TRUE(reader->has_field_ids());
  ASSERT_EQ(reader->schema().size(), schema.size());
  for (size_t i = 0; i < schema.size(); ++i) {
    EXPECT_EQ(reader->schema().field(i).name, schema.field(i).name);
    EXPECT_EQ(reader->schema().field(i).id, schema.field(i).id);
    EXPECT_EQ(reader->schema().type(i).nullable(), schema.type(i).nullable()) << schema.type(i).ToString();
    EXPECT_EQ(reader->schema().type(i).root() == TypeRoot::kVarChar ||
                  reader->schema().type(i).root() == TypeRoot::kVarBinary ||
                  reader->schema().type(i).root() == schema.type(i).root(),
              true)
        << schema.type(i).ToString() << " read back as " << reader->schema().type(i).ToString();
  }
}

TEST(ParquetRoundTripTest, NestedFieldIdsFollowPaimon) {
  // ARRAY<MAP<INT, ARRAY<INT>>> with id 5: Paimon derives ids for elements, keys and values.
  DataType inner = DataType::Array(DataType::Int());
  DataType map = DataType::Map(DataType::Int().NotNull(), inner);
  RowType schema({{5, "a", DataType::Array(map), ""},
                  {6, "r", DataType::Row({{7, "x", DataType::Array(DataType::Int()), ""}}), ""}});
  KL_ASSERT_OK_AND_ASSIGN(auto elements, ToParquetSchema(schema));
  std::map<std::string, int32_t> ids;
  KL_ASSERT_OK_AND_ASSIGN(FileSchema fs, FileSchema::Make(elements));
  for (const auto& n : fs.nodes()) {
    std::string path;
    for (const auto& p : n.path) path += "/" + p;
    if (n.element.field_id) ids[path] = *n.element.field_id;
  }
  EXPECT_EQ(ids["/a"], 5);
  EXPECT_EQ(ids["/a/list/element"], ArrayElementFieldId(5, 1));
  EXPECT_EQ(ids["/a/list/element/key_value/key"], MapKeyFieldId(5, 2));
  EXPECT_EQ(ids["/a/list/element/key_value/value"], MapValueFieldId(5, 2));
  EXPECT_EQ(ids["/a/list/element/key_value/value/list/element"], ArrayElementFieldId(5, 3));
  EXPECT_EQ(ids["/r/x"], 7);
  EXPECT_EQ(ids["/r/x/list/element"], ArrayElementFieldId(7, 1));  // ROW fields keep the row's depth
  EXPECT_EQ(ArrayElementFieldId(9, 2), 536880129);                 // as in a parquet-mr file Java Paimon wrote
  EXPECT_EQ(MapKeyFieldId(9, 1), 536861694);
}

TEST(ParquetRoundTripTest, PaimonTypeMappingMatchesJavaPaimon) {
  RowType schema({{0, "tiny", DataType::TinyInt(), ""},
                  {1, "dec9", DataType::Decimal(9, 2), ""},
                  {2, "dec18", DataType::Decimal(18, 2), ""},
                  {3, "dec38", DataType::Decimal(38, 10), ""},
                  {4, "ts3", DataType::Timestamp(3), ""},
                  {5, "ts6", DataType::TimestampLtz(6), ""},
                  {6, "ts9", DataType::Timestamp(9), ""},
                  {7, "s", DataType::String().NotNull(), ""},
                  {8, "t", DataType::Time(), ""}});
  KL_ASSERT_OK_AND_ASSIGN(auto e, ToParquetSchema(schema));
  ASSERT_EQ(e.size(), 10u);
  EXPECT_EQ(e[1].type, PhysicalType::kInt32);
  EXPECT_EQ(e[1].logical.bit_width, 8);
  EXPECT_EQ(e[2].type, PhysicalType::kInt32);
  EXPECT_EQ(e[3].type, PhysicalType::kInt64);
  EXPECT_EQ(e[4].type, PhysicalType::kFixedLenByteArray);
  EXPECT_EQ(e[4].type_length, 16);
  EXPECT_EQ(e[5].logical.unit, TimeUnit::kMillis);
  EXPECT_FALSE(e[5].logical.adjusted_to_utc);
  EXPECT_EQ(e[6].logical.unit, TimeUnit::kMicros);
  EXPECT_TRUE(e[6].logical.adjusted_to_utc);
  EXPECT_EQ(e[7].type, PhysicalType::kInt96);
  EXPECT_EQ(e[8].repetition, Repetition::kRequired);
  EXPECT_EQ(e[8].converted_type, ConvertedType::kUtf8);
  EXPECT_EQ(e[9].logical.kind, LogicalType::Kind::kTime);
}

TEST(ParquetRoundTripTest, MultisetIsStoredAsMapOfCounts) {
  RowType schema({{0, "m", DataType::Multiset(DataType::String()), ""}});
  ColumnBatch batch(schema);
  batch.AppendRow({Datum::List({Datum::Bytes("a"), Datum::Bytes("b"), Datum::Bytes("a")})});
  std::string file;
  KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(&file, schema));
  KL_ASSERT_OK(writer->Write(batch));
  KL_ASSERT_OK(writer->Close().status());
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "multiset.parquet"));
  EXPECT_EQ(reader->schema().type(0).root(), TypeRoot::kMap);
  KL_ASSERT_OK_AND_ASSIGN(auto read, reader->ReadAll());
  Datum want = Datum::List({Datum::Bytes("a"), Datum::Int(2), Datum::Bytes("b"), Datum::Int(1)});
  EXPECT_TRUE(read.column(0).Get(0) == want);
}

TEST(ParquetRoundTripTest, CloseReportsColumnStatistics) {
  RandomData data(99);
  RowType schema({{0, "i", DataType::BigInt(), ""},
                  {1, "d", DataType::Double(), ""},
                  {2, "s", DataType::String(), ""},
                  {3, "ts", DataType::Timestamp(9), ""},
                  {4, "dec", DataType::Decimal(30, 3), ""},
                  {5, "arr", DataType::Array(DataType::Int()), ""}});
  ColumnBatch batch = data.Batch(schema, 500);
  std::string file;
  ParquetWriterOptions options;
  options.row_group_bytes = 8 * 1024;  // several row groups to merge
  KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(&file, schema, options));
  KL_ASSERT_OK(writer->Write(batch));
  KL_ASSERT_OK_AND_ASSIGN(ParquetWriteResult result, writer->Close());
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "stats.parquet"));
  EXPECT_GT(reader->num_row_groups(), 1u);
  ASSERT_EQ(result.column_stats.size(), schema.size());
  for (size_t c = 0; c < schema.size(); ++c) {
    const Column& col = batch.column(c);
    std::optional<Datum> lo, hi;
    int64_t nulls = 0;
    for (size_t r = 0; r < col.size(); ++r) {
      Datum d = col.Get(r);
      if (d.is_null()) {
        ++nulls;
        continue;
      }
      if (d.kind() == Datum::Kind::kDouble && std::isnan(d.as_double())) continue;
      if (!lo || CompareDatum(d, *lo) < 0) lo = d;
      if (!hi || CompareDatum(d, *hi) > 0) hi = d;
    }
    const ColumnStatistics& s = result.column_stats[c];
    EXPECT_EQ(s.null_count, nulls) << schema.field(c).name;
    if (schema.type(c).is_nested()) {
      EXPECT_FALSE(s.has_min_max);
      continue;
    }
    ASSERT_TRUE(s.has_min_max) << schema.field(c).name;
    EXPECT_TRUE(s.min == *lo) << schema.field(c).name << " " << DatumToString(s.min, schema.type(c));
    EXPECT_TRUE(s.max == *hi) << schema.field(c).name << " " << DatumToString(s.max, schema.type(c));
  }
}

TEST(ParquetRoundTripTest, PredicateSkipsRowGroupsAndPages) {
  RowType schema({{0, "k", DataType::Int().NotNull(), ""},
                  {1, "v", DataType::String(), ""},
                  {2, "arr", DataType::Array(DataType::BigInt()), ""}});
  ColumnBatch batch(schema);
  for (int i = 0; i < 20000; ++i) {
    batch.AppendRow({Datum::Int(i), Datum::Bytes("value-" + std::to_string(i)),
                     i % 3 == 0 ? Datum() : Datum::List({Datum::Int(i), Datum::Int(-i)})});
  }
  ParquetWriterOptions options;
  options.page_rows = 100;
  options.row_group_bytes = 16 * 1024;
  std::string file;
  KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(&file, schema, options));
  KL_ASSERT_OK(writer->Write(batch));
  KL_ASSERT_OK(writer->Close().status());
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "skip.parquet"));
  ASSERT_GT(reader->num_row_groups(), 2u);
  // k in [5000, 5250)
  ParquetReadOptions read;
  read.columns = {1, 0, 2};  // the nested column skips by assembling and dropping rows
  int calls = 0;
  read.predicate = [&calls](const StatsLookup& stats) {
    ++calls;
    const ColumnStatistics* k = stats(0);
    if (k == nullptr || !k->has_min_max) return true;
    return k->max.as_int() >= 5000 && k->min.as_int() < 5250;
  };
  KL_ASSERT_OK_AND_ASSIGN(auto batches, reader->NewBatchReader(read));
  ColumnBatch out;
  std::vector<int64_t> keys;
  while (true) {
    KL_ASSERT_OK_AND_ASSIGN(bool more, batches->Next(&out));
    if (!more) break;
    for (size_t r = 0; r < out.num_rows(); ++r) {
      int64_t k = out.column(1).GetInt(r);
      keys.push_back(k);
      EXPECT_EQ(out.column(0).GetBytes(r), "value-" + std::to_string(k));
      Datum arr = out.column(2).Get(r);
      EXPECT_TRUE(k % 3 == 0 ? arr.is_null() : arr == Datum::List({Datum::Int(k), Datum::Int(-k)})) << k;
    }
  }
  EXPECT_GT(calls, 0);
  EXPECT_GT(batches->row_groups_skipped(), 0);
  EXPECT_GT(batches->pages_skipped(), 0);
  // Pages hold 100 rows: exactly the pages overlapping [5000, 5250) remain.
  ASSERT_EQ(keys.size(), 300u);
  EXPECT_EQ(keys.front(), 5000);
  EXPECT_EQ(keys.back(), 5299);
  EXPECT_EQ(batches->rows_skipped(), 20000 - 300);

  // Told which columns the predicate looks at, the reader consults only their page
  // indexes: naming k keeps the same pages; naming only v (whose statistics the
  // predicate ignores) skips no page, only whole row groups by footer statistics.
  for (bool name_k : {true, false}) {
    ParquetReadOptions narrow = read;
    narrow.predicate_columns = {name_k ? 0 : 1};
    KL_ASSERT_OK_AND_ASSIGN(auto b, reader->NewBatchReader(narrow));
    size_t rows = 0;
    while (true) {
      KL_ASSERT_OK_AND_ASSIGN(bool more, b->Next(&out));
      if (!more) break;
      rows += out.num_rows();
    }
    EXPECT_EQ(b->row_groups_skipped(), batches->row_groups_skipped()) << name_k;
    if (name_k) {
      EXPECT_EQ(rows, 300u);
    } else {
      EXPECT_GT(rows, 300u);
      EXPECT_EQ(b->pages_skipped(), 0);
    }
  }
}

TEST(ParquetRoundTripTest, MissingAndEmptyFilesAreErrors) {
  kl::testing::TempDir dir;
  auto missing = ParquetReader::Open(dir.Sub("absent.parquet"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("absent.parquet"), std::string::npos);
  KL_ASSERT_OK(WriteFile(dir.Sub("empty.parquet"), ""));
  auto empty = ParquetReader::Open(dir.Sub("empty.parquet"));
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(empty.status().IsCorruption()) << empty.status().ToString();
}

TEST(ParquetRoundTripTest, EmptyFileAndEmptyBatches) {
  RowType schema({{0, "a", DataType::Int(), ""}, {1, "b", DataType::Array(DataType::String()), ""}});
  std::string file;
  KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(&file, schema));
  KL_ASSERT_OK(writer->Write(ColumnBatch(schema)));
  KL_ASSERT_OK_AND_ASSIGN(ParquetWriteResult result, writer->Close());
  EXPECT_EQ(result.num_rows, 0);
  EXPECT_FALSE(result.column_stats[0].has_min_max);
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "empty.parquet"));
  EXPECT_EQ(reader->num_rows(), 0);
  EXPECT_EQ(reader->num_row_groups(), 0u);
  KL_ASSERT_OK_AND_ASSIGN(auto read, reader->ReadAll());
  EXPECT_EQ(read.num_rows(), 0u);
}

TEST(ParquetRoundTripTest, RejectsNullsInNotNullColumnsAndWrongShapes) {
  RowType schema({{0, "a", DataType::Int().NotNull(), ""}});
  ColumnBatch batch(RowType({{0, "a", DataType::Int(), ""}}));
  batch.AppendRow({Datum()});
  std::string file;
  KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::OpenInMemory(&file, schema));
  Status s = writer->Write(batch);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();

  RowType nested({{0, "r", DataType::Row({{1, "x", DataType::Int().NotNull(), ""}}), ""}});
  ColumnBatch bad(nested);
  bad.AppendRow({Datum::List({Datum()})});
  KL_ASSERT_OK_AND_ASSIGN(auto writer2, ParquetWriter::OpenInMemory(&file, nested));
  EXPECT_EQ(writer2->Write(bad).code(), StatusCode::kInvalidArgument);
  ColumnBatch wrong_kind(nested);
  wrong_kind.AppendRow({Datum::Int(3)});
  EXPECT_EQ(writer2->Write(wrong_kind).code(), StatusCode::kInvalidArgument);
}

TEST(ParquetRoundTripTest, WritesToAFile) {
  kl::testing::TempDir dir;
  RandomData data(5);
  RowType schema = data.Schema(5);
  ColumnBatch batch = data.Batch(schema, 100);
  std::string path = dir.Sub("data.parquet");
  KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::Open(path, schema));
  KL_ASSERT_OK(writer->Write(batch));
  KL_ASSERT_OK_AND_ASSIGN(ParquetWriteResult result, writer->Close());
  KL_ASSERT_OK_AND_ASSIGN(uint64_t size, FileSize(path));
  EXPECT_EQ(result.file_size, size);
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(path));
  KL_ASSERT_OK_AND_ASSIGN(auto read, reader->ReadAll());
  ExpectSameValues(batch, read, "file");
}

}  // namespace
}  // namespace kl::format::parquet
