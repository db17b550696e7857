// Unit tests of the codec's building blocks: Thrift compact protocol, RLE /
// bit-packing, DELTA_* and BYTE_STREAM_SPLIT, codecs, and reading the legacy
// list layouts (2-level lists, bare repeated fields) older writers produce.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <map>
#include <string>

#include "common/coding.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "format/parquet/column/chunk_buffer.h"
#include "format/parquet/column/column_writer.h"
#include "format/parquet/column/compression.h"
#include "format/parquet/column/dictionary_index.h"
#include "format/parquet/column/encoding.h"
#include "format/parquet/metadata/metadata.h"
#include "format/parquet/metadata/thrift_compact.h"
#include "format/parquet/parquet.h"

namespace kl::format::parquet {
namespace {

TEST(ThriftCompactTest, RoundTripsAndSkipsUnknownFields) {
  std::string buf;
  CompactWriter w(&buf);
  w.BeginStruct();
  w.FieldI32(1, -7);
  w.FieldI64(40, std::numeric_limits<int64_t>::min());  // delta > 15: long field header
  w.FieldStructBegin(41);                               // unknown to the reader below: skipped
  w.FieldListBegin(1, ThriftType::kBinary, 20);         // long list header
  for (int i = 0; i < 20; ++i) w.Binary("item" + std::to_string(i));
  w.FieldBool(2, true);
  w.EndStruct();
  w.FieldBinary(42, "tail");
  w.EndStruct();

  CompactReader r(buf.data(), buf.size());
  r.BeginStruct();
  int16_t id;
  ThriftType type;
  std::vector<int16_t> seen;
  int32_t a = 0;
  int64_t b = 0;
  std::string tail;
  while (r.ReadFieldHeader(&id, &type)) {
    seen.push_back(id);
    if (id == 1)
      a = r.ReadI32();
    else if (id == 40)
      b = r.ReadI64();
    else if (id == 42)
      tail = std::string(r.ReadBinary());
    else
      r.Skip(type);
  }
  r.EndStruct();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(seen, (std::vector<int16_t>{1, 40, 41, 42}));
  EXPECT_EQ(a, -7);
  EXPECT_EQ(b, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(tail, "tail");
  EXPECT_EQ(r.consumed(), buf.size());
}

// The dictionary's index against a map: every value gets the entry it got first, new ones
// the next number, across growth, runs of one value, empty strings, values that differ only
// in their last byte or length, and integers whose probes collide.
TEST(DictionaryIndexTest, FindsWhatAMapFinds) {
  Random rng(7);
  for (int round = 0; round < 4; ++round) {
    DictionaryIndex bytes, ints;
    std::string storage;  // as a dictionary page: each new value appended where it was announced
    std::map<std::string, uint32_t> bytes_model;
    std::map<uint64_t, uint32_t> ints_model;
    std::string previous;
    for (int i = 0; i < 20000; ++i) {
      std::string v;
      if (rng.OneIn(4)) {
        v = previous;  // a run
      } else {
        size_t len = rng.Uniform(round == 0 ? 3 : 40);
        v.assign(len, 'k');
        if (len > 0) v.back() = static_cast<char>('a' + rng.Uniform(round == 3 ? 2 : 200));
        if (len > 1 && rng.OneIn(3)) v[len / 2] = static_cast<char>(rng.Uniform(256));
      }
      previous = v;
      auto [entry, added] = bytes.FindOrAdd(v, storage, storage.size() + 4);
      auto it = bytes_model.find(v);
      if (it == bytes_model.end()) {
        ASSERT_TRUE(added) << i;
        ASSERT_EQ(entry, bytes_model.size()) << i;
        bytes_model.emplace(v, entry);
        PutFixed32LE(&storage, static_cast<uint32_t>(v.size()));
        storage.append(v);
      } else {
        ASSERT_FALSE(added) << i;
        ASSERT_EQ(entry, it->second) << i;
      }
      uint64_t key = round == 1 ? (rng.Uniform(3000) << 20) : rng.Uniform(5000) - 2500;
      auto [int_entry, int_added] = ints.FindOrAdd(key);
      auto [jt, inserted] = ints_model.try_emplace(key, static_cast<uint32_t>(ints_model.size()));
      ASSERT_EQ(int_added, inserted) << i;
      ASSERT_EQ(int_entry, jt->second) << i;
    }
    EXPECT_EQ(bytes.size(), bytes_model.size());
    EXPECT_EQ(ints.size(), ints_model.size());
    bytes.Clear();
    EXPECT_EQ(bytes.size(), 0u);
    storage.clear();
    auto [entry, added] = bytes.FindOrAdd("k", storage, 0);
    EXPECT_TRUE(added);
    EXPECT_EQ(entry, 0u);
  }
}

TEST(ThriftCompactTest, RejectsHostileInput) {
  // A list claiming more elements than bytes left, and deep nesting.
  std::string list = {static_cast<char>(0x19), static_cast<char>(0xf8), static_cast<char>(0xff),
                      static_cast<char>(0x7f)};
  CompactReader r(list.data(), list.size());
  r.BeginStruct();
  int16_t id;
  ThriftType type;
  ASSERT_TRUE(r.ReadFieldHeader(&id, &type));
  r.Skip(type);
  EXPECT_FALSE(r.ok());
  std::string deep(200, static_cast<char>(0x1c));  // struct field inside struct field ...
  CompactReader d(deep.data(), deep.size());
  d.Skip(ThriftType::kStruct);
  EXPECT_FALSE(d.ok());
  EXPECT_NE(d.error().find("deeply"), std::string::npos) << d.error();
}

TEST(RleTest, RoundTripsEveryBitWidthAndRunShape) {
  Random rng(17);
  for (int width = 0; width <= 32; ++width) {
    uint64_t limit = width == 0 ? 1 : (width == 32 ? (1ULL << 32) : (1ULL << width));
    std::vector<uint32_t> values;
    while (values.size() < 3000) {
      uint32_t v = static_cast<uint32_t>(rng.Uniform(limit));
      size_t run = rng.OneIn(3) ? rng.Uniform(40) : 1;  // runs of 8+ become repeated runs
      values.insert(values.end(), run + 1, v);
    }
    std::string encoded;
    RleEncode(values.data(), values.size(), width, &encoded);
    std::vector<uint32_t> decoded(values.size());
    RleDecoder dec(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(), width);
    ASSERT_TRUE(dec.Get(decoded.data(), decoded.size())) << "width " << width << ": " << dec.error();
    ASSERT_EQ(decoded, values) << "width " << width;
    uint32_t extra;
    // Padding of the last literal group may still decode; reading far beyond must fail.
    std::vector<uint32_t> more(100);
    EXPECT_FALSE(dec.Get(more.data(), more.size()) && dec.Get(&extra, 1)) << "width " << width;
  }
}

TEST(RleTest, IsOneRunSeesARepeatedRunAndConsumesNothing) {
  std::vector<uint32_t> same(1000, 3), mixed(1000, 3);
  mixed[500] = 1;
  for (const auto* values : {&same, &mixed}) {
    std::string encoded;
    RleEncode(values->data(), values->size(), 2, &encoded);
    RleDecoder dec(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(), 2);
    uint32_t v = 0;
    bool one = dec.IsOneRun(values->size(), &v);
    EXPECT_EQ(one, values == &same);
    if (one) {
      EXPECT_EQ(v, 3u);
    }
    std::vector<uint32_t> decoded(values->size());
    ASSERT_TRUE(dec.Get(decoded.data(), decoded.size())) << dec.error();
    EXPECT_EQ(decoded, *values);
  }
  // A truncated header is no run, and Get still reports it.
  const uint8_t bad[] = {0x80};
  RleDecoder dec(bad, sizeof(bad), 2);
  uint32_t v = 0;
  EXPECT_FALSE(dec.IsOneRun(4, &v));
  uint32_t out[4];
  EXPECT_FALSE(dec.Get(out, 4));
  EXPECT_FALSE(dec.error().empty());
}

TEST(RleTest, RepeatedRunsStayCompact) {
  std::vector<uint32_t> values(100000, 1);
  std::string encoded;
  RleEncode(values.data(), values.size(), 1, &encoded);
  EXPECT_LE(encoded.size(), 5u);
}

TEST(DeltaBinaryPackedTest, ExtremesAndPartialBlocks) {
  for (bool int32 : {false, true}) {
    for (size_t n : {0, 1, 2, 127, 128, 129, 1000}) {
      std::vector<int64_t> values;
      Random rng(n + 1);
      for (size_t i = 0; i < n; ++i) {
        int64_t v;
        switch (i % 4) {
          case 0: v = int32 ? INT32_MIN : INT64_MIN; break;
          case 1: v = int32 ? INT32_MAX : INT64_MAX; break;
          default: v = static_cast<int64_t>(rng.Next()); break;
        }
        if (int32) v = static_cast<int32_t>(v);
        values.push_back(v);
      }
      std::string encoded;
      DeltaBinaryEncode(values.data(), values.size(), int32, &encoded);
      std::vector<int64_t> decoded;
      size_t used = 0;
      std::string error;
      ASSERT_TRUE(DeltaBinaryDecode(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(), n, &decoded,
                                    &used, &error))
          << error;
      if (int32) {
        for (auto& v : decoded) v = static_cast<int32_t>(static_cast<uint32_t>(v));
      }
      EXPECT_EQ(decoded, values) << "n " << n << " int32 " << int32;
      EXPECT_EQ(used, encoded.size());
      // Truncation anywhere fails cleanly.
      for (size_t cut = 0; cut + 1 < encoded.size(); cut += 7) {
        std::vector<int64_t> out;
        EXPECT_FALSE(DeltaBinaryDecode(reinterpret_cast<const uint8_t*>(encoded.data()), cut, n, &out, &used, &error) &&
                     out.size() == n && n > 1)
            << "cut " << cut;
      }
    }
  }
}

TEST(DeltaByteArrayTest, SharedPrefixesEmptyAndLongValues) {
  std::vector<std::string> owned = {"", "apple", "applesauce", "apply", "", std::string(5000, 'z'), "zz", "a"};
  std::vector<std::string_view> values(owned.begin(), owned.end());
  for (bool prefix : {false, true}) {
    std::string encoded;
    if (prefix)
      DeltaByteArrayEncode(values.data(), values.size(), &encoded);
    else
      DeltaLengthByteArrayEncode(values.data(), values.size(), &encoded);
    std::vector<std::string_view> decoded;
    std::string arena, error;
    const auto* data = reinterpret_cast<const uint8_t*>(encoded.data());
    bool ok = prefix ? DeltaByteArrayDecode(data, encoded.size(), values.size(), &decoded, &arena, &error)
                     : DeltaLengthByteArrayDecode(data, encoded.size(), values.size(), &decoded, &error);
    ASSERT_TRUE(ok) << error;
    ASSERT_EQ(decoded.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(decoded[i], values[i]) << i;
  }
}

TEST(ByteStreamSplitTest, RoundTrip) {
  std::vector<double> values = {0.0, -0.0, 1.5, -2.25, std::numeric_limits<double>::infinity(), 1e300};
  std::string encoded, decoded, error;
  ByteStreamSplitEncode(reinterpret_cast<const uint8_t*>(values.data()), values.size(), 8, &encoded);
  ASSERT_TRUE(ByteStreamSplitDecode(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(), values.size(), 8,
                                    &decoded, &error));
  EXPECT_EQ(decoded, std::string(reinterpret_cast<const char*>(values.data()), values.size() * 8));
  EXPECT_FALSE(ByteStreamSplitDecode(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size() - 1,
                                     values.size(), 8, &decoded, &error));
}

TEST(CompressionTest, EveryCodecRoundTripsAndRejectsGarbage) {
  std::string input;
  Random rng(5);
  for (int i = 0; i < 20000; ++i) input += rng.OneIn(3) ? rng.Alnum(5) : "kubelake";
  for (Codec codec :
       {Codec::kUncompressed, Codec::kSnappy, Codec::kGzip, Codec::kZstd, Codec::kLz4Raw, Codec::kLz4Hadoop}) {
    std::string compressed;
    KL_ASSERT_OK(Compress(codec, 0, input, &compressed));
    if (codec != Codec::kUncompressed) {
      EXPECT_LT(compressed.size(), input.size()) << CodecName(codec);
    }
    std::string out(input.size(), '\0');
    KL_ASSERT_OK(Decompress(codec, compressed, out.data(), out.size()));
    EXPECT_EQ(out, input) << CodecName(codec);
    std::string garbage = compressed.substr(0, compressed.size() / 2);
    EXPECT_FALSE(Decompress(codec, garbage, out.data(), out.size()).ok()) << CodecName(codec);
  }
  EXPECT_EQ(Decompress(Codec::kLzo, "x", nullptr, 0).code(), StatusCode::kNotSupported);
}

// CompressTo writes what Compress appends, into memory the caller places; codecs it cannot
// bound say so (0) and refuse, and too little room is an error, not an overrun.
TEST(CompressionTest, CompressToWritesWhatCompressAppends) {
  std::string input;
  Random rng(6);
  for (int i = 0; i < 30000; ++i) input += rng.OneIn(2) ? rng.Alnum(7) : "paimon";
  for (Codec codec :
       {Codec::kUncompressed, Codec::kSnappy, Codec::kGzip, Codec::kZstd, Codec::kLz4Raw, Codec::kLz4Hadoop}) {
    for (int level : {0, 1}) {
      std::string appended = "prefix";
      KL_ASSERT_OK(Compress(codec, level, input, &appended));
      size_t bound = MaxCompressedLength(codec, input.size());
      if (codec == Codec::kGzip || codec == Codec::kLz4Hadoop) {
        EXPECT_EQ(bound, 0u) << CodecName(codec);
        size_t n = 0;
        std::string out(input.size() * 2, '\0');
        EXPECT_FALSE(CompressTo(codec, level, input, out.data(), out.size(), &n).ok()) << CodecName(codec);
        continue;
      }
      ASSERT_GE(bound, input.size() / 2) << CodecName(codec);
      std::string out(bound + 16, '\x5a');
      size_t n = 0;
      KL_ASSERT_OK(CompressTo(codec, level, input, out.data(), bound, &n));
      EXPECT_EQ(std::string_view(out).substr(0, n), std::string_view(appended).substr(6)) << CodecName(codec);
      EXPECT_EQ(out.substr(bound), std::string(16, '\x5a')) << CodecName(codec) << " wrote past its room";
      EXPECT_FALSE(CompressTo(codec, level, input, out.data(), bound - 1, &n).ok()) << CodecName(codec);
    }
  }
}

TEST(CompressionTest, HadoopLz4WithSeveralBlocks) {
  // Hadoop's codec frames each block; parquet-mr files may hold several per page.
  std::string a(3000, 'a'), b = "kubelake-" + std::string(2000, 'b');
  std::string framed;
  for (const std::string* part : {&a, &b}) {
    std::string block;
    KL_ASSERT_OK(Compress(Codec::kLz4Raw, 0, *part, &block));
    PutFixed32BE(&framed, static_cast<uint32_t>(part->size()));
    PutFixed32BE(&framed, static_cast<uint32_t>(block.size()));
    framed += block;
  }
  std::string out(a.size() + b.size(), '\0');
  KL_ASSERT_OK(Decompress(Codec::kLz4Hadoop, framed, out.data(), out.size()));
  EXPECT_EQ(out, a + b);
}

// Builds a file from schema elements and hand-made (rep, def, value) entries per leaf, to
// read layouts kubelake itself never writes.
struct LeafEntries {
  std::vector<int16_t> rep, def;
  std::vector<int64_t> values;
};

std::string BuildFile(const std::vector<SchemaElement>& elements, const std::vector<LeafEntries>& leaves,
                      int64_t rows) {
  auto schema = FileSchema::Make(elements);
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  ParquetWriterOptions options;
  options.codec = Codec::kUncompressed;
  std::string file = "PAR1";
  FileMetaData meta;
  meta.schema = elements;
  meta.num_rows = rows;
  RowGroup group;
  group.num_rows = rows;
  for (size_t l = 0; l < leaves.size(); ++l) {
    const LeafInfo& leaf = schema->leaves()[l];
    ColumnChunkWriter w(leaf, schema->nodes()[leaf.node].path, options);
    size_t v = 0;
    for (size_t i = 0; i < leaves[l].def.size(); ++i) {
      w.AddLevels(leaves[l].rep.empty() ? 0 : leaves[l].rep[i], leaves[l].def[i]);
      if (leaves[l].def[i] == leaf.max_def) w.AddInt(leaves[l].values[v++]);
    }
    ColumnChunk chunk;
    ColumnIndex ci;
    OffsetIndex oi;
    bool has_ci;
    EXPECT_TRUE(w.Finish(static_cast<int64_t>(file.size()), &chunk, &ci, &oi, &has_ci).ok());
    file += w.dictionary_bytes();
    file += w.bytes();
    group.columns.push_back(chunk);
  }
  meta.row_groups.push_back(group);
  std::string footer;
  SerializeFileMetaData(meta, &footer);
  file += footer;
  PutFixed32LE(&file, static_cast<uint32_t>(footer.size()));
  return file + "PAR1";
}

SchemaElement Element(const std::string& name, Repetition rep, int children, std::optional<PhysicalType> type = {}) {
  SchemaElement e;
  e.name = name;
  e.repetition = rep;
  e.num_children = children;
  e.type = type;
  return e;
}

// Page and chunk statistics of a byte-string column equal the min and max of the values
// each page holds, whether a value is new to the dictionary, already in it from an
// earlier page or repeated within the page, when the dictionary is dropped mid-chunk,
// and in the next row group (the dictionary starts again).
TEST(ColumnChunkWriterTest, ByteStringStatisticsAreThoseOfEachPagesValues) {
  SchemaElement root = Element("schema", Repetition::kRequired, 1);
  root.repetition.reset();
  std::vector<SchemaElement> elements = {root, Element("s", Repetition::kOptional, 0, PhysicalType::kByteArray)};
  KL_ASSERT_OK_AND_ASSIGN(FileSchema schema, FileSchema::Make(elements));
  const LeafInfo& leaf = schema.leaves()[0];
  Random rnd(7);
  for (int round = 0; round < 12; ++round) {
    ParquetWriterOptions options;
    options.codec = Codec::kUncompressed;
    options.page_rows = 5 + static_cast<int64_t>(rnd.Uniform(60));
    // Values share long prefixes (compares tie on the first 8 bytes); some rounds
    // hold so many distinct values that the dictionary is dropped.
    const size_t distinct = round % 3 == 2 ? 5000 : 1 + rnd.Uniform(40);
    ColumnChunkWriter w(leaf, schema.nodes()[leaf.node].path, options);
    for (int group = 0; group < 2; ++group) {
      const size_t rows = 200 + rnd.Uniform(3000);
      std::vector<std::optional<std::string>> values;
      for (size_t r = 0; r < rows; ++r) {
        if (rnd.OneIn(9)) {
          values.emplace_back();
        } else {
          size_t k = rnd.Uniform(distinct);
          values.emplace_back(k % 4 == 0 ? std::string(k % 3, 'z') : "namespace-" + std::to_string(k));
        }
      }
      for (const auto& v : values) {
        w.AddLevels(0, v ? 1 : 0);
        if (v) w.AddBytes(*v);
        KL_ASSERT_OK(w.MaybeFlushPage());
      }
      ColumnChunk chunk;
      ColumnIndex ci;
      OffsetIndex oi;
      bool has_ci = false;
      KL_ASSERT_OK(w.Finish(0, &chunk, &ci, &oi, &has_ci));
      ASSERT_TRUE(has_ci);
      const size_t pages = oi.page_locations.size();
      ASSERT_EQ(ci.min_values.size(), pages);
      std::optional<std::string> chunk_lo, chunk_hi;
      for (size_t p = 0; p < pages; ++p) {
        size_t begin = static_cast<size_t>(oi.page_locations[p].first_row_index);
        size_t end = p + 1 < pages ? static_cast<size_t>(oi.page_locations[p + 1].first_row_index) : rows;
        std::optional<std::string> lo, hi;
        for (size_t r = begin; r < end; ++r) {
          if (!values[r]) continue;
          if (!lo || *values[r] < *lo) lo = values[r];
          if (!hi || *values[r] > *hi) hi = values[r];
        }
        ASSERT_EQ(ci.null_pages[p], !lo) << "round " << round << " page " << p;
        if (!lo) continue;
        EXPECT_EQ(ci.min_values[p], *lo) << "round " << round << " group " << group << " page " << p;
        EXPECT_EQ(ci.max_values[p], *hi) << "round " << round << " group " << group << " page " << p;
        if (!chunk_lo || *lo < *chunk_lo) chunk_lo = lo;
        if (!chunk_hi || *hi > *chunk_hi) chunk_hi = hi;
      }
      ASSERT_TRUE(chunk_lo.has_value());
      EXPECT_EQ(chunk.meta_data.statistics.min_value, chunk_lo) << "round " << round << " group " << group;
      EXPECT_EQ(chunk.meta_data.statistics.max_value, chunk_hi) << "round " << round << " group " << group;
      w.ResetForRowGroup();
    }
  }
}

TEST(LegacyListTest, TwoLevelListsAndBareRepeatedFields) {
  SchemaElement root = Element("schema", Repetition::kRequired, 2);
  root.repetition.reset();
  // a: optional group (LIST) { repeated int64 array }   -- 2-level list
  SchemaElement a = Element("a", Repetition::kOptional, 1);
  a.converted_type = ConvertedType::kList;
  SchemaElement a_items = Element("array", Repetition::kRepeated, 0, PhysicalType::kInt64);
  // b: repeated int64 b                                 -- bare repeated field
  SchemaElement b = Element("b", Repetition::kRepeated, 0, PhysicalType::kInt64);
  std::vector<SchemaElement> elements = {root, a, a_items, b};
  // Rows: a = [1, 2], b = [];  a = null, b = [7];  a = [], b = [8, 9]
  LeafEntries la{{0, 1, 0, 0}, {2, 2, 0, 1}, {1, 2}};
  LeafEntries lb{{0, 0, 0, 1}, {0, 1, 1, 1}, {7, 8, 9}};
  std::string file = BuildFile(elements, {la, lb}, 3);
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "legacy.parquet"));
  EXPECT_EQ(reader->schema().type(0).ToString(), "ARRAY<BIGINT NOT NULL>");
  EXPECT_EQ(reader->schema().type(1).ToString(), "ARRAY<BIGINT NOT NULL> NOT NULL");
  KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll());
  ASSERT_EQ(batch.num_rows(), 3u);
  EXPECT_TRUE(batch.column(0).Get(0) == Datum::List({Datum::Int(1), Datum::Int(2)}));
  EXPECT_TRUE(batch.column(0).Get(1).is_null());
  EXPECT_TRUE(batch.column(0).Get(2) == Datum::List({}));
  EXPECT_TRUE(batch.column(1).Get(0) == Datum::List({}));
  EXPECT_TRUE(batch.column(1).Get(1) == Datum::List({Datum::Int(7)}));
  EXPECT_TRUE(batch.column(1).Get(2) == Datum::List({Datum::Int(8), Datum::Int(9)}));
}

TEST(LegacyListTest, InconsistentLevelsAreCorruption) {
  SchemaElement root = Element("schema", Repetition::kRequired, 1);
  root.repetition.reset();
  SchemaElement b = Element("b", Repetition::kRepeated, 0, PhysicalType::kInt64);
  // A row that starts with a continuation (rep 1 first) cannot be assembled.
  LeafEntries lb{{1, 0}, {1, 1}, {7, 8}};
  std::string file = BuildFile({root, b}, {lb}, 2);
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::OpenBuffer(file, "bad-levels.parquet"));
  Status s = reader->ReadAll().status();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("bad-levels.parquet"), std::string::npos);
}

// The chunk pool: a freed chunk's memory serves the next chunk of about its size, not a much
// smaller one, keeps what was written, and goes back to the system once idle.
TEST(ChunkBufferTest, PoolReusesFittingBlocksAndFreesIdleOnes) {
  ReleaseIdleChunkMemory(0);
  ASSERT_EQ(ChunkPoolBytes(), 0u);
  size_t big_capacity = 0;
  {
    ChunkBuffer big;
    std::string page(300 << 10, 'p');
    for (int i = 0; i < 4; ++i) big.Append(page);
    ASSERT_EQ(big.size(), 4 * page.size());
    EXPECT_EQ(big.view(), page + page + page + page);
    big_capacity = big.capacity();
  }
  // Its last block is kept (the smaller ones it grew out of were given back too).
  EXPECT_GE(ChunkPoolBytes(), big_capacity);
  {
    ChunkBuffer small;
    small.Append("header");
    EXPECT_LT(small.capacity(), big_capacity) << "a small chunk took a block four times its size";
    ChunkBuffer again;
    std::memset(again.Extend(big_capacity - 1000), 'x', big_capacity - 1000);
    again.Resize(big_capacity - 1000);
    EXPECT_EQ(again.capacity(), big_capacity) << "the kept block was not reused";
    EXPECT_EQ(again.view(), std::string(big_capacity - 1000, 'x'));
    EXPECT_EQ(small.view(), "header");
  }
  EXPECT_GT(ChunkPoolBytes(), 0u);
  ReleaseIdleChunkMemory(/*idle_micros=*/0);
  EXPECT_EQ(ChunkPoolBytes(), 0u);
}

}  // namespace
}  // namespace kl::format::parquet
