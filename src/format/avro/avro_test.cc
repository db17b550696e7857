#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "common/file/file_util.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "format/avro/avro_file.h"

namespace kl::format::avro {
namespace {

RowType AllTypesRow() {
  return RowType(
      {{0, "b", DataType::Boolean(), ""},
       {1, "ti", DataType::TinyInt(), ""},
       {2, "i", DataType::Int().NotNull(), ""},
       {3, "l", DataType::BigInt(), ""},
       {4, "f", DataType::Float(), ""},
       {5, "d", DataType::Double(), ""},
       {6, "s", DataType::String(), ""},
       {7, "bin", DataType::Bytes(), ""},
       {8, "dec", DataType::Decimal(20, 4), ""},
       {9, "dt", DataType::Date(), ""},
       {10, "ts3", DataType::Timestamp(3), ""},
       {11, "ts6", DataType::Timestamp(6), ""},
       {12, "ltz", DataType::TimestampLtz(6), ""},
       {13, "arr", DataType::Array(DataType::String()), ""},
       {14, "m", DataType::Map(DataType::String().NotNull(), DataType::BigInt()), ""},
       {15, "mi", DataType::Map(DataType::Int().NotNull(), DataType::String()), ""},
       {16, "r", DataType::Row({{17, "x", DataType::Int(), ""}, {18, "y", DataType::Array(DataType::Double()), ""}}),
        ""}});
}

Datum RandomValue(Random& rng, const DataType& t, int depth = 0) {
  if (t.nullable() && rng.OneIn(6)) return Datum();
  switch (t.root()) {
    case TypeRoot::kBoolean: return Datum::Bool(rng.OneIn(2));
    case TypeRoot::kTinyInt: return Datum::Int(rng.Range(-128, 127));
    case TypeRoot::kInt: return Datum::Int(rng.Range(INT32_MIN, INT32_MAX));
    case TypeRoot::kBigInt: {
      int64_t extremes[] = {INT64_MIN, INT64_MAX, 0, -1};
      return Datum::Int(rng.OneIn(4) ? extremes[rng.Uniform(4)] : static_cast<int64_t>(rng.Next()));
    }
    case TypeRoot::kFloat: return Datum::Double(static_cast<float>(rng.NextDouble() * 1e6 - 5e5));
    case TypeRoot::kDouble: return Datum::Double(rng.OneIn(10) ? -0.0 : (rng.NextDouble() - 0.5) * 1e300);
    case TypeRoot::kVarChar: {
      size_t len = rng.OneIn(10) ? 5000 + rng.Uniform(5000) : rng.Uniform(12);
      return Datum::Bytes(rng.Alnum(len));
    }
    case TypeRoot::kVarBinary: {
      std::string s(rng.Uniform(20), '\0');
      for (auto& c : s) c = static_cast<char>(rng.Uniform(256));
      return Datum::Bytes(s);
    }
    case TypeRoot::kDecimal: {
      Int128 v = static_cast<Int128>(static_cast<int64_t>(rng.Next())) * 1000;
      return Datum::Decimal(rng.OneIn(2) ? -v : v);
    }
    case TypeRoot::kDate: return Datum::Int(rng.Range(-100000, 100000));
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: {
      int64_t millis = rng.Range(-(int64_t{1} << 40), int64_t{1} << 40);
      int32_t nanos = t.precision() > 3 ? static_cast<int32_t>(rng.Uniform(1000)) * 1000 : 0;
      return Datum::Time(Timestamp{millis, nanos});
    }
    case TypeRoot::kArray: {
      DatumList items;
      size_t n = rng.Uniform(4);
      for (size_t i = 0; i < n; ++i) items.push_back(RandomValue(rng, t.element(), depth + 1));
      return Datum::List(std::move(items));
    }
    case TypeRoot::kMap: {
      DatumList items;
      size_t n = rng.Uniform(4);
      for (size_t i = 0; i < n; ++i) {
        items.push_back(RandomValue(rng, t.key(), depth + 1));
        items.push_back(RandomValue(rng, t.value(), depth + 1));
      }
      return Datum::List(std::move(items));
    }
    case TypeRoot::kRow: {
      DatumList items;
      for (const auto& f : t.fields()) items.push_back(RandomValue(rng, f.type, depth + 1));
      return Datum::List(std::move(items));
    }
    default: return Datum();
  }
}

std::vector<Row> RandomRows(Random& rng, const RowType& type, size_t n) {
  std::vector<Row> rows;
  for (size_t i = 0; i < n; ++i) {
    Row row;
    for (const auto& f : type.fields()) row.push_back(RandomValue(rng, f.type));
    rows.push_back(std::move(row));
  }
  return rows;
}

TEST(AvroTest, RoundTripsEveryTypeWithEveryCodec) {
  RowType type = AllTypesRow();
  for (AvroCodec codec : {AvroCodec::kNull, AvroCodec::kDeflate, AvroCodec::kSnappy, AvroCodec::kZstandard}) {
    Random rng(static_cast<uint64_t>(codec) + 1);
    std::vector<Row> rows = RandomRows(rng, type, 700);
    AvroWriterOptions opts;
    opts.codec = codec;
    opts.block_bytes = 4096;  // many blocks
    auto writer = AvroWriter::InMemory(type, opts);
    ASSERT_TRUE(writer.ok());
    ColumnBatch batch(type);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i % 2 == 0)
        batch.AppendRow(rows[i]);
      else {
        KL_ASSERT_OK((*writer)->Write(batch));
        batch.Clear();
        KL_ASSERT_OK((*writer)->WriteRow(rows[i]));
      }
    }
    KL_ASSERT_OK((*writer)->Write(batch));
    ASSERT_TRUE((*writer)->Close().ok());
    auto reader = AvroReader::FromBuffer("mem", (*writer)->buffer());
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ((*reader)->codec(), codec);
    auto read = (*reader)->ReadAll(type);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_FALSE((*reader)->decoding_flat()) << "nested fields take the general decoder";
    ASSERT_EQ(read->num_rows(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      Row got = read->GetRow(i);
      for (size_t c = 0; c < type.size(); ++c) {
        ASSERT_EQ(CompareDatum(got[c], rows[i][c]), 0)
            << "codec " << AvroCodecName(codec) << " row " << i << " column " << type.field(c).name << ": "
            << DatumToString(got[c], type.type(c)) << " vs " << DatumToString(rows[i][c], type.type(c));
      }
    }
  }
}

// zstd blocks are compressed into one buffer kept from block to block: blocks of very
// different sizes (a large incompressible one, then small ones, a copied raw block between
// them) each read back as written, and a level zstd does not have is refused.
TEST(AvroTest, ZstdBlocksOfChangingSizesReadBack) {
  RowType type({{0, "id", DataType::BigInt().NotNull(), ""}, {1, "text", DataType::String(), ""}});
  Random rng(7);
  auto text = [&rng](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng.Uniform(256));
    return s;
  };
  std::vector<Row> rows;
  for (size_t n : {size_t{200} << 10, size_t{10}, size_t{3000}, size_t{90} << 10, size_t{1}, size_t{0}, size_t{40}}) {
    rows.push_back({Datum::Int(static_cast<int64_t>(rows.size())), Datum::Bytes(text(n))});
  }
  AvroWriterOptions opts;
  opts.codec = AvroCodec::kZstandard;
  opts.level = -3;
  opts.block_bytes = 1;  // a block per row
  auto writer = AvroWriter::InMemory(type, opts);
  ASSERT_TRUE(writer.ok());
  for (size_t i = 0; i < rows.size(); ++i) {
    KL_ASSERT_OK((*writer)->WriteRow(rows[i]));
    if (i == 2) {
      // A raw block copied from another file goes through the same buffer: the next
      // compressed block must not carry its leftovers.
      auto one = AvroWriter::InMemory(type, opts);
      ASSERT_TRUE(one.ok());
      KL_ASSERT_OK((*one)->WriteRow(rows[i]));
      ASSERT_TRUE((*one)->Close().ok());
      auto r = AvroReader::FromBuffer("one", (*one)->buffer());
      ASSERT_TRUE(r.ok());
      int64_t count = 0;
      std::string_view payload;
      auto more = (*r)->NextRawBlock(&count, &payload);
      ASSERT_TRUE(more.ok() && *more);
      KL_ASSERT_OK((*writer)->AppendRawBlock(count, payload));
    }
  }
  ASSERT_TRUE((*writer)->Close().ok());
  auto reader = AvroReader::FromBuffer("mem", (*writer)->buffer());
  ASSERT_TRUE(reader.ok());
  auto read = (*reader)->ReadAll(type);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  std::vector<Row> want = rows;
  want.insert(want.begin() + 3, rows[2]);
  ASSERT_EQ(read->num_rows(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(CompareRows(read->GetRow(i), want[i]), 0) << "row " << i;

  opts.level = 1000;
  auto bad = AvroWriter::InMemory(type, opts);
  ASSERT_TRUE(bad.ok());
  Status s = (*bad)->WriteRow(rows[1]);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
}

// Batches (encoded with a plan per column) and single rows (encoded value by value from
// datums) give the same bytes, block for block, for every type with and without nulls.
TEST(AvroTest, BatchesEncodeAsRowsDo) {
  RowType type = AllTypesRow();
  std::vector<DataField> fields = type.fields();
  fields.push_back({19, "s_nn", DataType::String().NotNull(), ""});
  fields.push_back({20, "l_nn", DataType::BigInt().NotNull(), ""});
  fields.push_back({21, "b_nn", DataType::Boolean().NotNull(), ""});
  type = RowType(fields);
  Random rng(41);
  std::vector<Row> rows = RandomRows(rng, type, 900);
  AvroWriterOptions opts;
  opts.codec = AvroCodec::kNull;
  opts.block_bytes = 2048;
  auto by_batch = AvroWriter::InMemory(type, opts);
  auto by_row = AvroWriter::InMemory(type, opts);
  ASSERT_TRUE(by_batch.ok() && by_row.ok());
  ColumnBatch batch(type);
  for (const Row& r : rows) {
    batch.AppendRow(r);
    KL_ASSERT_OK((*by_row)->WriteRow(r));
  }
  KL_ASSERT_OK((*by_batch)->WriteRows(batch, 0, 400));
  KL_ASSERT_OK((*by_batch)->WriteRows(batch, 400, rows.size()));
  ASSERT_TRUE((*by_batch)->Close().ok());
  ASSERT_TRUE((*by_row)->Close().ok());
  // Each writer ends its header and every block with a random sync marker of 16 bytes.
  std::string a = (*by_batch)->buffer(), b = (*by_row)->buffer();
  ASSERT_GT(a.size(), 16u);
  ASSERT_EQ(a.size(), b.size());
  const std::string sync_a = a.substr(a.size() - 16), sync_b = b.substr(b.size() - 16);
  for (size_t at = a.find(sync_a); at != std::string::npos; at = a.find(sync_a, at + 16)) a.replace(at, 16, sync_b);
  EXPECT_TRUE(a == b) << "the batch encoding differs from the row encoding";
}

TEST(AvroTest, ProjectsAndFillsMissingNullableColumns) {
  RowType type = AllTypesRow();
  Random rng(5);
  std::vector<Row> rows = RandomRows(rng, type, 50);
  auto writer = AvroWriter::InMemory(type);
  ASSERT_TRUE(writer.ok());
  for (const auto& r : rows) KL_ASSERT_OK((*writer)->WriteRow(r));
  ASSERT_TRUE((*writer)->Close().ok());
  RowType projected({{6, "s", DataType::String(), ""},
                     {2, "i", DataType::Int().NotNull(), ""},
                     {99, "added_later", DataType::BigInt(), ""}});
  auto reader = AvroReader::FromBuffer("mem", (*writer)->buffer());
  ASSERT_TRUE(reader.ok());
  auto read = (*reader)->ReadAll(projected);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->num_rows(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(CompareDatum(read->column(0).Get(i), rows[i][6]), 0);
    EXPECT_EQ(read->column(1).GetInt(i), rows[i][2].as_int());
    EXPECT_TRUE(read->column(2).IsNull(i));
  }
  RowType required({{98, "not_there", DataType::Int().NotNull(), ""}});
  auto reader2 = AvroReader::FromBuffer("mem", (*writer)->buffer());
  EXPECT_TRUE((*reader2)->ReadAll(required).status().IsCorruption());
}

// Primitive and nullable primitive fields only: such files decode through the flat
// record decoder (a chunk of records at a time into the columns).
RowType FlatRow() {
  return RowType({{0, "b", DataType::Boolean(), ""},
                  {1, "ti", DataType::TinyInt(), ""},
                  {2, "i", DataType::Int().NotNull(), ""},
                  {3, "l", DataType::BigInt(), ""},
                  {4, "f", DataType::Float(), ""},
                  {5, "d", DataType::Double().NotNull(), ""},
                  {6, "s", DataType::String(), ""},
                  {7, "bin", DataType::Bytes(), ""},
                  {9, "dt", DataType::Date(), ""}});
}

TEST(AvroTest, FlatRecordsDecodeInChunksAcrossBlocks) {
  RowType type = FlatRow();
  for (AvroCodec codec : {AvroCodec::kNull, AvroCodec::kZstandard}) {
    Random rng(static_cast<uint64_t>(codec) + 40);
    std::vector<Row> rows = RandomRows(rng, type, 900);
    // No null in the first rows of a column, so a chunk appends to a column with no nulls yet.
    for (size_t i = 0; i < 60; ++i) {
      for (size_t c = 0; c < type.size(); ++c) {
        if (rows[i][c].is_null()) rows[i][c] = RandomValue(rng, type.type(c).NotNull());
      }
    }
    AvroWriterOptions opts;
    opts.codec = codec;
    opts.block_bytes = 3000;  // many blocks, chunks ending inside and at their ends
    auto writer = AvroWriter::InMemory(type, opts);
    ASSERT_TRUE(writer.ok());
    for (const auto& r : rows) KL_ASSERT_OK((*writer)->WriteRow(r));
    ASSERT_TRUE((*writer)->Close().ok());
    for (size_t chunk : {size_t{1}, size_t{7}, size_t{64}, size_t{100000}}) {
      auto reader = AvroReader::FromBuffer("mem", (*writer)->buffer());
      ASSERT_TRUE(reader.ok());
      ColumnBatch batch(type);
      while (true) {
        auto n = (*reader)->Read(chunk, &batch);
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        if (*n == 0) break;
        ASSERT_LE(*n, chunk);
      }
      EXPECT_TRUE((*reader)->decoding_flat());
      ASSERT_EQ(batch.num_rows(), rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        for (size_t c = 0; c < type.size(); ++c) {
          ASSERT_EQ(batch.column(c).size(), rows.size());
          ASSERT_EQ(CompareDatum(batch.column(c).Get(i), rows[i][c]), 0)
              << "chunk " << chunk << " row " << i << " column " << type.field(c).name;
        }
      }
    }
    // Projected, reordered, widened (BIGINT read as DOUBLE) and a column the file lacks.
    RowType projected({{6, "s", DataType::String(), ""},
                       {3, "l", DataType::Double(), ""},
                       {99, "added_later", DataType::String(), ""},
                       {0, "b", DataType::Boolean(), ""}});
    auto reader = AvroReader::FromBuffer("mem", (*writer)->buffer());
    auto read = (*reader)->ReadAll(projected);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_EQ(read->num_rows(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(CompareDatum(read->column(0).Get(i), rows[i][6]), 0) << i;
      if (rows[i][3].is_null())
        EXPECT_TRUE(read->column(1).IsNull(i)) << i;
      else
        EXPECT_EQ(read->column(1).GetDouble(i), static_cast<double>(rows[i][3].as_int())) << i;
      EXPECT_TRUE(read->column(2).IsNull(i));
      EXPECT_EQ(CompareDatum(read->column(3).Get(i), rows[i][0]), 0) << i;
    }
  }
}

TEST(AvroTest, CorruptFlatRecordsGiveTheGeneralDecodersVerdict) {
  RowType type = FlatRow();
  Random rng(12);
  std::vector<Row> rows = RandomRows(rng, type, 300);
  auto writer = AvroWriter::InMemory(type, {.codec = AvroCodec::kNull, .block_bytes = 2048});
  for (const auto& r : rows) KL_ASSERT_OK((*writer)->WriteRow(r));
  ASSERT_TRUE((*writer)->Close().ok());
  const std::string good = (*writer)->buffer();
  auto read = [&](const std::string& bytes, bool flat) -> Result<ColumnBatch> {
    KL_ASSIGN_OR_RETURN(auto reader, AvroReader::FromBuffer("flat.avro", bytes));
    reader->set_flat_decoding(flat);
    ColumnBatch batch(type);
    while (true) {
      KL_ASSIGN_OR_RETURN(size_t n, reader->Read(37, &batch));
      if (reader->decoding_flat() != flat) return Status::Internal("decoded with the other decoder");
      if (n == 0) return batch;
    }
  };
  int errors = 0;
  for (int trial = 0; trial < 600; ++trial) {
    std::string bad = good;
    if (trial % 3 == 0) {
      bad.resize(rng.Uniform(good.size()));
    } else {
      for (int k = 0; k < 1 + trial % 4; ++k) bad[rng.Uniform(bad.size())] ^= static_cast<char>(1 + rng.Uniform(255));
    }
    auto flat = read(bad, true);
    auto general = read(bad, false);
    ASSERT_EQ(flat.ok(), general.ok()) << "trial " << trial << ": " << flat.status().ToString() << " vs "
                                       << general.status().ToString();
    if (!flat.ok()) {
      ++errors;
      EXPECT_NE(flat.status().message().find("flat.avro"), std::string::npos) << flat.status().ToString();
      continue;
    }
    ASSERT_EQ(flat->num_rows(), general->num_rows());
    for (size_t i = 0; i < flat->num_rows(); ++i) {
      for (size_t c = 0; c < type.size(); ++c) {
        ASSERT_EQ(CompareDatum(flat->column(c).Get(i), general->column(c).Get(i)), 0)
            << trial << " " << i << " " << c << ": " << DatumToString(flat->column(c).Get(i), type.type(c)) << " vs "
            << DatumToString(general->column(c).Get(i), type.type(c));
      }
    }
  }
  EXPECT_GT(errors, 150);
  // A union branch that is neither null nor the value, and a length past the block.
  std::string one = [&] {
    auto w = AvroWriter::InMemory(RowType({{0, "s", DataType::String(), ""}}), {.codec = AvroCodec::kNull});
    KL_EXPECT_OK((*w)->WriteRow({Datum::Bytes("abc")}));
    (void)(*w)->Close();
    return (*w)->buffer();
  }();
  size_t at = one.find("abc");
  ASSERT_NE(at, std::string::npos);
  // The record is: branch 1 (zigzag 2), length 3 (zigzag 6), "abc".
  ASSERT_EQ(one[at - 2], 2);
  ASSERT_EQ(one[at - 1], 6);
  std::string branch = one;
  branch[at - 2] = 4;
  auto r1 = AvroReader::FromBuffer("branch.avro", branch);
  Status s1 = (*r1)->ReadAll(RowType({{0, "s", DataType::String(), ""}})).status();
  EXPECT_TRUE(s1.IsCorruption()) << s1.ToString();
  EXPECT_NE(s1.message().find("union branch 2 out of range"), std::string::npos) << s1.ToString();
  std::string length = one;
  length[at - 1] = 40;
  auto r2 = AvroReader::FromBuffer("length.avro", length);
  Status s2 = (*r2)->ReadAll(RowType({{0, "s", DataType::String(), ""}})).status();
  EXPECT_TRUE(s2.IsCorruption()) << s2.ToString();
  EXPECT_NE(s2.message().find("exceeds the block"), std::string::npos) << s2.ToString();
}

// Blocks copied as stored from several files make one file holding every record in order.
TEST(AvroTest, RawBlocksConcatenateFiles) {
  RowType type = AllTypesRow();
  Random rng(9);
  AvroWriterOptions options;
  options.block_bytes = 512;  // several blocks per file
  std::vector<Row> all;
  std::vector<std::string> files;
  for (int f = 0; f < 3; ++f) {
    std::vector<Row> rows = RandomRows(rng, type, 40 + f);
    auto writer = AvroWriter::InMemory(type, options);
    ASSERT_TRUE(writer.ok());
    for (const auto& r : rows) KL_ASSERT_OK((*writer)->WriteRow(r));
    ASSERT_TRUE((*writer)->Close().ok());
    files.push_back((*writer)->buffer());
    all.insert(all.end(), rows.begin(), rows.end());
  }
  auto out = AvroWriter::InMemory(type, options);
  ASSERT_TRUE(out.ok());
  int blocks = 0;
  for (const auto& bytes : files) {
    auto reader = AvroReader::FromBuffer("mem", bytes);
    ASSERT_TRUE(reader.ok());
    int64_t count = 0;
    std::string_view payload;
    while (true) {
      auto more = (*reader)->NextRawBlock(&count, &payload);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      if (!*more) break;
      KL_ASSERT_OK((*out)->AppendRawBlock(count, payload));
      ++blocks;
    }
  }
  ASSERT_TRUE((*out)->Close().ok());
  EXPECT_GT(blocks, 3);
  EXPECT_EQ((*out)->rows_written(), all.size());
  auto reader = AvroReader::FromBuffer("mem", (*out)->buffer());
  ASSERT_TRUE(reader.ok());
  auto read = (*reader)->ReadAll(type);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->num_rows(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(CompareRows(read->GetRow(i), all[i]), 0) << "row " << i;
  // A damaged sync marker is caught while copying.
  std::string damaged = files[0];
  damaged[damaged.size() - 3] ^= 0x55;
  auto bad = AvroReader::FromBuffer("damaged", damaged);
  ASSERT_TRUE(bad.ok());
  Status seen;
  int64_t count = 0;
  std::string_view payload;
  while (true) {
    auto more = (*bad)->NextRawBlock(&count, &payload);
    if (!more.ok()) {
      seen = more.status();
      break;
    }
    if (!*more) break;
  }
  EXPECT_TRUE(seen.IsCorruption()) << seen.ToString();
}

// A writer holding its file until Close() creates nothing before then, and writes the
// same bytes a writer straight to the file writes (apart from the random sync marker).
TEST(AvroTest, HeldFileIsWrittenAtCloseWithTheSameRows) {
  RowType type = AllTypesRow();
  Random rng(17);
  std::vector<Row> rows = RandomRows(rng, type, 300);
  testing::TempDir dir;
  AvroWriterOptions options;
  options.block_bytes = 1024;  // several blocks
  options.hold_until_close = true;
  const std::string held_path = dir.path() + "/held.avro";
  auto held = AvroWriter::Open(held_path, type, options);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ColumnBatch batch(type);
  for (const auto& r : rows) batch.AppendRow(r);
  KL_ASSERT_OK((*held)->WriteRows(batch, 0, 120));
  KL_ASSERT_OK((*held)->WriteRows(batch, 120, rows.size()));
  EXPECT_FALSE(FileExists(held_path)) << "a held file exists only once closed";
  EXPECT_GT((*held)->MemoryBytes(), (*held)->EstimatedSize() / 2);
  auto size = (*held)->Close();
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  auto bytes = ReadFile(held_path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), *size);
  options.hold_until_close = false;
  const std::string direct_path = dir.path() + "/direct.avro";
  auto direct = AvroWriter::Open(direct_path, type, options);
  ASSERT_TRUE(direct.ok());
  KL_ASSERT_OK((*direct)->WriteRows(batch, 0, rows.size()));
  auto direct_size = (*direct)->Close();
  ASSERT_TRUE(direct_size.ok());
  EXPECT_EQ(*direct_size, *size) << "same blocks, same framing";
  for (const std::string& path : {held_path, direct_path}) {
    auto reader = AvroReader::Open(path);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto read = (*reader)->ReadAll(type);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_EQ(read->num_rows(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i)
      EXPECT_EQ(CompareRows(read->GetRow(i), rows[i]), 0) << path << " row " << i;
  }
  // A held file whose directory is gone fails at Close, naming the file, and stays failed.
  options.hold_until_close = true;
  auto lost = AvroWriter::Open(dir.path() + "/gone/x.avro", type, options);
  ASSERT_TRUE(lost.ok()) << "nothing is created before Close";
  KL_ASSERT_OK((*lost)->WriteRows(batch, 0, 10));
  auto failed = (*lost)->Close();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().ToString().find("x.avro"), std::string::npos) << failed.status().ToString();
  EXPECT_FALSE((*lost)->Close().ok());
}

TEST(AvroTest, CorruptFilesGiveErrorsNamingTheFile) {
  RowType type = AllTypesRow();
  Random rng(11);
  std::vector<Row> rows = RandomRows(rng, type, 200);
  for (AvroCodec codec : {AvroCodec::kNull, AvroCodec::kSnappy, AvroCodec::kZstandard, AvroCodec::kDeflate}) {
    AvroWriterOptions opts;
    opts.codec = codec;
    opts.block_bytes = 2048;
    auto writer = AvroWriter::InMemory(type, opts);
    for (const auto& r : rows) KL_ASSERT_OK((*writer)->WriteRow(r));
    ASSERT_TRUE((*writer)->Close().ok());
    const std::string good = (*writer)->buffer();
    int errors = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::string bad = good;
      if (trial % 3 == 0) {
        bad.resize(rng.Uniform(good.size()));
      } else {
        for (int k = 0; k < 1 + trial % 4; ++k) bad[rng.Uniform(bad.size())] ^= static_cast<char>(1 + rng.Uniform(255));
      }
      auto reader = AvroReader::FromBuffer("bad.avro", bad);
      Status s = reader.ok() ? (*reader)->ReadAll(type).status() : reader.status();
      if (!s.ok()) {
        ++errors;
        EXPECT_NE(s.message().find("bad.avro"), std::string::npos) << s.ToString();
      }
    }
    // Uncompressed data can absorb some flips silently; truncations and most flips must be caught.
    EXPECT_GT(errors, 100) << AvroCodecName(codec);
  }
}

TEST(AvroTest, SchemaMatchesPaimonNaming) {
  RowType type({{0, "f11", DataType::Row({{1, "f0", DataType::Boolean(), ""}}), ""},
                {2, "k", DataType::String().NotNull(), ""}});
  auto schema = AvroSchemaFromRowType(type);
  EXPECT_EQ(AvroSchemaToJson(*schema),
            R"({"type":"record","name":"record","namespace":"org.apache.paimon.avro.generated","fields":[)"
            R"({"name":"f11","type":["null",{"type":"record","name":"record_f11","fields":[)"
            R"({"name":"f0","type":["null","boolean"],"default":null}]}],"default":null},)"
            R"({"name":"k","type":"string"}]})");
  auto reparsed = ParseAvroSchema(AvroSchemaToJson(*schema));
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(AvroSchemaToJson(**reparsed), AvroSchemaToJson(*schema));
}

TEST(AvroTest, RefusesSchemasAndCountsPaimonCannotHold) {
  // A self-referencing record is legal Avro but no Paimon type; it must be refused, not walked.
  auto recursive =
      ParseAvroSchema(R"({"type":"record","name":"node","fields":[{"name":"next","type":["null","node"]}]})");
  ASSERT_FALSE(recursive.ok());
  EXPECT_NE(recursive.status().message().find("recursive Avro type \"node\""), std::string::npos)
      << recursive.status().ToString();
  // A sibling reference to an already complete record is fine.
  auto sibling =
      ParseAvroSchema(R"({"type":"record","name":"pair","fields":[)"
                      R"({"name":"a","type":{"type":"record","name":"leaf","fields":[{"name":"x","type":"int"}]}},)"
                      R"({"name":"b","type":"leaf"}]})");
  EXPECT_TRUE(sibling.ok()) << sibling.status().ToString();

  // Header metadata map whose block count is the most negative long (zig-zag of all ones).
  std::string bad("Obj\x01", 4);
  bad += std::string(9, '\xff') + '\x01';
  auto reader = AvroReader::FromBuffer("min-count.avro", bad);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("min-count.avro"), std::string::npos) << reader.status().ToString();
}

// Files written by Java Paimon: manifests (both generations) and data files.
TEST(AvroTest, ReadsJavaPaimonFiles) {
  KL_REQUIRE_SHARED("paimon-compat/tables/avro", dir);
  auto manifest = AvroReader::Open(dir + "/manifest/manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ((*manifest)->codec(), AvroCodec::kZstandard);
  auto row_type = (*manifest)->FileRowType();
  ASSERT_TRUE(row_type.ok());
  auto rows = (*manifest)->ReadAll(*row_type);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->num_rows(), 30u);
  int file_col = row_type->IndexOf("_FILE");
  ASSERT_GE(file_col, 0);
  const auto& file = rows->column(static_cast<size_t>(file_col)).GetNested(0).as_list();
  EXPECT_EQ(file[0].as_bytes(), "data-34e63285-bacc-4039-ad66-3a81d961973e-0.aliorc");
  EXPECT_EQ(file[2].as_int(), 3450000);

  // Paimon 0.9 wrote records as ["null", record].
  auto old = AvroReader::Open(dir + "/manifest/avro_manifest_09");
  ASSERT_TRUE(old.ok());
  auto old_type = (*old)->FileRowType();
  ASSERT_TRUE(old_type.ok());
  auto old_rows = (*old)->ReadAll(*old_type);
  ASSERT_TRUE(old_rows.ok()) << old_rows.status().ToString();
  ASSERT_EQ(old_rows->num_rows(), 1u);
  EXPECT_EQ(old_rows->column(5).GetNested(0).as_list()[0].as_bytes(),
            "data-dd28db13-0f8f-43a5-a0df-684e7dc93c55-0.avro");

  auto data = AvroReader::Open(dir + "/data/avro_all_types");
  ASSERT_TRUE(data.ok());
  auto data_type = (*data)->FileRowType();
  ASSERT_TRUE(data_type.ok());
  auto data_rows = (*data)->ReadAll(*data_type);
  ASSERT_TRUE(data_rows.ok()) << data_rows.status().ToString();
  ASSERT_EQ(data_rows->num_rows(), 3u);
  const RowType& t = *data_type;
  EXPECT_EQ(data_rows->column(static_cast<size_t>(t.IndexOf("f3"))).GetInt(0), 2147483647);
  EXPECT_EQ(data_rows->column(static_cast<size_t>(t.IndexOf("f7"))).GetBytes(0), "aa");
  size_t f14 = static_cast<size_t>(t.IndexOf("f14"));
  EXPECT_EQ(FormatDecimal(data_rows->column(f14).GetDecimal(1), t.type(f14).scale()), "-0.22");
  size_t f16 = static_cast<size_t>(t.IndexOf("f16"));
  EXPECT_EQ(FormatDecimal(data_rows->column(f16).GetDecimal(0), t.type(f16).scale()), "0.1234567890987654321");
  size_t f12 = static_cast<size_t>(t.IndexOf("f12"));
  EXPECT_EQ(FormatTimestamp(data_rows->column(f12).GetTimestamp(0)), "1970-01-01T00:02:03.123123");
  size_t f10 = static_cast<size_t>(t.IndexOf("f10"));
  EXPECT_EQ(data_rows->column(f10).GetNested(1).as_list().size(), 5u);
  EXPECT_TRUE(data_rows->column(f10).GetNested(1).as_list()[2].is_null());
}

// An independent Avro implementation (Debian's python3-avro) must read what kubelake writes.
TEST(AvroTest, IndependentReaderReadsKubelakeFiles) {
  if (std::system("/usr/bin/python3 -c 'import avro, zstandard' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-avro / python3-zstandard not installed";
  }
  testing::TempDir dir;
  RowType type({{0, "id", DataType::BigInt().NotNull(), ""},
                {1, "name", DataType::String(), ""},
                {2, "score", DataType::Double(), ""},
                {3, "tags", DataType::Array(DataType::String()), ""},
                {4, "price", DataType::Decimal(10, 2), ""},
                {5, "attrs", DataType::Map(DataType::String().NotNull(), DataType::Int()), ""}});
  // The last: zstd's fast level -3 in blocks of 1 MB, as the ODS table writes.
  const AvroCodec codecs[] = {AvroCodec::kNull, AvroCodec::kDeflate, AvroCodec::kSnappy, AvroCodec::kZstandard,
                              AvroCodec::kZstandard};
  for (size_t variant = 0; variant < std::size(codecs); ++variant) {
    const AvroCodec codec = codecs[variant];
    const bool fast_large = variant == 4;
    std::string path = dir.Sub("f" + std::to_string(variant) + "." + std::string(AvroCodecName(codec)));
    AvroWriterOptions opts;
    opts.codec = codec;
    opts.block_bytes = fast_large ? size_t{1} << 20 : 256;
    if (fast_large) opts.level = -3;
    auto writer = AvroWriter::Open(path, type, opts);
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 100; ++i) {
      Row row{Datum::Int(i * 1000003LL - 50),
              i % 7 == 0 ? Datum() : Datum::Bytes("name-" + std::to_string(i) + "-\xc3\xa9"),
              Datum::Double(i / 4.0),
              Datum::List({Datum::Bytes("a"), Datum::Bytes(std::to_string(i))}),
              Datum::Decimal(i * 101 - 5000),
              Datum::List({Datum::Bytes("k"), Datum::Int(i)})};
      KL_ASSERT_OK((*writer)->WriteRow(row));
    }
    ASSERT_TRUE((*writer)->Close().ok());
    std::string script = dir.Sub("dump.py");
    KL_ASSERT_OK(WriteFile(script,
                           "import avro.datafile, avro.io, sys\n"
                           "r = avro.datafile.DataFileReader(open(sys.argv[1], 'rb'), avro.io.DatumReader())\n"
                           "n = 0; total = 0; names = 0; dec = 0\n"
                           "for rec in r:\n"
                           "    assert rec['tags'][1] == str(n), rec\n"
                           "    assert rec['attrs'] == {'k': n}, rec\n"
                           "    assert abs(rec['score'] - n / 4.0) < 1e-12\n"
                           "    total += rec['id']; names += rec['name'] is not None; dec += rec['price']\n"
                           "    n += 1\n"
                           "print(n, total, names, dec)\n"));
    std::string out_path = dir.Sub("out.txt");
    std::string cmd = "/usr/bin/python3 " + script + " " + path + " > " + out_path + " 2>&1";
    int rc = std::system(cmd.c_str());
    auto out = ReadFile(out_path);
    ASSERT_EQ(rc, 0) << AvroCodecName(codec) << ": " << (out.ok() ? *out : "");
    // ids: sum(i*1000003 - 50) for i < 100; 85 non-null names; sum(i*101 - 5000) / 100.
    EXPECT_EQ(*out, "100 4950009850 85 -0.50\n") << AvroCodecName(codec);
  }
}

}  // namespace
}  // namespace kl::format::avro
