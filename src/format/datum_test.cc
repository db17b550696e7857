#include "format/datum.h"

#include <gtest/gtest.h>

#include "common/random.h"
#include "format/column.h"
#include "format/row_arena.h"

namespace kl::format {
namespace {

TEST(DatumTest, DecimalTextRoundTrip) {
  EXPECT_EQ(FormatDecimal(91, 2), "0.91");
  EXPECT_EQ(FormatDecimal(-5, 3), "-0.005");
  EXPECT_EQ(FormatDecimal(12300, 2), "123.00");
  EXPECT_EQ(*ParseDecimal("-0.005", 5, 3), -5);
  EXPECT_EQ(*ParseDecimal("1.239", 5, 2), 123);
  EXPECT_FALSE(ParseDecimal("1000", 3, 0).ok());
  EXPECT_FALSE(ParseDecimal("1.2.3", 5, 2).ok());
}

TEST(DatumTest, TimestampTextUsesJavaStyleFractions) {
  EXPECT_EQ(FormatTimestamp({1000, 0}), "1970-01-01T00:00:01");
  EXPECT_EQ(FormatTimestamp({1, 0}), "1970-01-01T00:00:00.001");
  EXPECT_EQ(FormatTimestamp(Timestamp::FromMicros(1)), "1970-01-01T00:00:00.000001");
  EXPECT_EQ(FormatTimestamp(Timestamp::FromNanos(-1)), "1969-12-31T23:59:59.999999999");
  for (auto ts : {Timestamp{1756267057573, 123456}, Timestamp{-86400001, 5}, Timestamp{0, 0}}) {
    auto back = ParseTimestamp(FormatTimestamp(ts));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, ts);
  }
}

TEST(DatumTest, JsonRoundTripForEveryType) {
  RowType schema({{0, "b", DataType::Boolean(), ""},
                  {1, "i", DataType::Int(), ""},
                  {2, "d", DataType::Double(), ""},
                  {3, "s", DataType::String(), ""},
                  {4, "dec", DataType::Decimal(10, 3), ""},
                  {5, "ts", DataType::Timestamp(9), ""},
                  {6, "dt", DataType::Date(), ""},
                  {7, "arr", DataType::Array(DataType::Int()), ""},
                  {8, "m", DataType::Map(DataType::String(), DataType::BigInt()), ""},
                  {9, "r", DataType::Row({{10, "x", DataType::Int(), ""}, {11, "y", DataType::String(), ""}}), ""}});
  auto json = ParseJson(
      R"([true, -7, 2.5, "h\u00e9", "-12.345", "2024-02-29T23:59:59.123456789", 19000, [1, null, 3],
          [["k", 9]], [1, "z"]])");
  ASSERT_TRUE(json.ok());
  Row row;
  for (size_t i = 0; i < schema.size(); ++i) {
    auto d = DatumFromJson(json->items()[i], schema.type(i));
    ASSERT_TRUE(d.ok()) << schema.field(i).name << ": " << d.status().ToString();
    row.push_back(*d);
  }
  JsonWriter w;
  w.BeginArray();
  for (size_t i = 0; i < schema.size(); ++i) WriteDatumJson(&w, row[i], schema.type(i));
  w.EndArray();
  auto reparsed = ParseJson(w.str());
  ASSERT_TRUE(reparsed.ok());
  for (size_t i = 0; i < schema.size(); ++i) {
    auto d = DatumFromJson(reparsed->items()[i], schema.type(i));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(CompareDatum(*d, row[i]), 0) << schema.field(i).name << " " << w.str();
  }
  EXPECT_FALSE(DatumFromJson(JsonValue::String("x"), DataType::Int()).ok());
  EXPECT_FALSE(DatumFromJson(JsonValue::Int(300), DataType::TinyInt()).ok());
  EXPECT_FALSE(DatumFromJson(JsonValue(), DataType::Int().NotNull()).ok());
}

TEST(ColumnTest, MatchesRowModelUnderRandomAppends) {
  Random rng(99);
  RowType schema({{0, "i", DataType::BigInt(), ""},
                  {1, "s", DataType::String(), ""},
                  {2, "d", DataType::Double(), ""},
                  {3, "t", DataType::Timestamp(6), ""}});
  ColumnBatch batch(schema);
  std::vector<Row> model;
  for (int n = 0; n < 2000; ++n) {
    Row row;
    row.push_back(rng.OneIn(5) ? Datum() : Datum::Int(static_cast<int64_t>(rng.Next())));
    row.push_back(rng.OneIn(5) ? Datum() : Datum::Bytes(rng.Alnum(rng.Uniform(20))));
    row.push_back(rng.OneIn(5) ? Datum() : Datum::Double(rng.NextDouble()));
    row.push_back(rng.OneIn(5) ? Datum()
                               : Datum::Time(Timestamp::FromMicros(static_cast<int64_t>(rng.Uniform(1ULL << 50)))));
    batch.AppendRow(row);
    model.push_back(row);
  }
  ColumnBatch copy(schema);
  for (size_t c = 0; c < schema.size(); ++c) {
    copy.mutable_column(c).AppendRange(batch.column(c), 0, 1000);
    for (size_t i = 1000; i < 2000; ++i) copy.mutable_column(c).AppendFrom(batch.column(c), i);
  }
  copy.SetNumRows(2000);
  ASSERT_EQ(batch.num_rows(), model.size());
  for (size_t i = 0; i < model.size(); ++i) {
    EXPECT_EQ(CompareRows(batch.GetRow(i), model[i]), 0) << i;
    EXPECT_EQ(CompareRows(copy.GetRow(i), model[i]), 0) << i;
    for (size_t c = 0; c < schema.size(); ++c) {
      size_t j = (i * 7) % model.size();
      EXPECT_EQ(batch.column(c).CompareAt(i, batch.column(c), j), CompareDatum(model[i][c], model[j][c]));
    }
  }
}

}  // namespace
}  // namespace kl::format

namespace kl::format {
namespace {

// A few rows take a small block, not a huge page; blocks grow as rows come, are reused
// after Clear() in the order they were first used, and ReleaseMemory() keeps the first ones.
TEST(RowArenaTest, BlocksGrowFromSmallAndTheFirstAreKept) {
  RowType schema({{0, "i", DataType::BigInt(), ""}, {1, "s", DataType::String(), ""}});
  ColumnBatch in(schema);
  Random rng(9);
  for (int n = 0; n < 60000; ++n) in.AppendRow({Datum::Int(n), Datum::Bytes(rng.Alnum(rng.Uniform(200)))});
  RowArena arena(schema);
  arena.AppendRange(in, 0, 10);
  EXPECT_LE(arena.ReservedBytes(), size_t{64} << 10);
  auto check = [&](size_t rows) {
    ASSERT_EQ(arena.size(), rows);
    std::vector<size_t> order(rows);
    for (size_t i = 0; i < rows; ++i) order[i] = i;
    ColumnBatch out(schema);
    arena.DecodeRows(order.data(), rows, &out);
    for (size_t i = 0; i < rows; ++i) ASSERT_EQ(CompareRows(out.GetRow(i), in.GetRow(i)), 0) << i;
  };
  arena.AppendRange(in, 10, in.num_rows());
  check(in.num_rows());
  size_t full = arena.ReservedBytes();
  EXPECT_GT(full, size_t{4} << 20);
  EXPECT_LT(full, arena.UsedBytes() + (size_t{4} << 20));
  arena.Clear();
  arena.AppendRange(in, 0, in.num_rows());  // refills the same blocks
  check(in.num_rows());
  EXPECT_EQ(arena.ReservedBytes(), full);
  arena.Clear();
  arena.ReleaseMemory();  // the peak since the start needed every block
  EXPECT_EQ(arena.ReservedBytes(), full);
  // Calls with no rows since keep the blocks until the full peak is kReleaseWindow calls
  // back: then the first block stays.
  for (size_t i = 1; i < RowArena::kReleaseWindow; ++i) {
    arena.ReleaseMemory();
    EXPECT_EQ(arena.ReservedBytes(), full) << i;
  }
  arena.ReleaseMemory();
  EXPECT_LE(arena.ReservedBytes(), size_t{64} << 10);
  arena.AppendRange(in, 0, 10);
  check(10);
}

// A buffer that takes big and small loads in turn (a job catching up commits big and
// small intervals) keeps the blocks of the big ones: refilling takes no new block.
TEST(RowArenaTest, AlternatingLoadsKeepTheBigOnesBlocks) {
  RowType schema({{0, "i", DataType::BigInt(), ""}, {1, "s", DataType::String(), ""}});
  ColumnBatch in(schema);
  Random rng(11);
  for (int n = 0; n < 40000; ++n) in.AppendRow({Datum::Int(n), Datum::Bytes(rng.Alnum(rng.Uniform(200)))});
  RowArena arena(schema);
  arena.AppendRange(in, 0, in.num_rows());
  const size_t full = arena.ReservedBytes();
  for (int round = 0; round < 6; ++round) {
    arena.Clear();
    arena.ReleaseMemory();
    arena.AppendRange(in, 0, 10);  // a small interval
    arena.Clear();
    arena.ReleaseMemory();
    EXPECT_EQ(arena.ReservedBytes(), full) << round;
    arena.AppendRange(in, 0, in.num_rows());  // a big one again
    EXPECT_EQ(arena.ReservedBytes(), full) << round;
    std::vector<size_t> order(in.num_rows());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    ColumnBatch out(schema);
    arena.DecodeRows(order.data(), order.size(), &out);
    for (size_t i = 0; i < order.size(); i += 997) ASSERT_EQ(CompareRows(out.GetRow(i), in.GetRow(i)), 0) << i;
  }
}

TEST(RowArenaTest, DecodesWhatWasAppended) {
  Random rng(5);
  RowType schema({{0, "i", DataType::BigInt(), ""},
                  {1, "s", DataType::String(), ""},
                  {2, "d", DataType::Double(), ""},
                  {3, "t", DataType::Timestamp(9), ""},
                  {4, "dec", DataType::Decimal(30, 2), ""},
                  {5, "a", DataType::Array(DataType::Int()), ""}});
  ColumnBatch in(schema);
  for (int n = 0; n < 3000; ++n) {
    Row row;
    row.push_back(rng.OneIn(5) ? Datum() : Datum::Int(static_cast<int64_t>(rng.Next())));
    // Some rows far larger than an arena block exercise oversized rows.
    row.push_back(rng.OneIn(5) ? Datum() : Datum::Bytes(rng.Alnum(n % 1000 == 7 ? (5 << 20) : rng.Uniform(30))));
    row.push_back(rng.OneIn(5) ? Datum() : Datum::Double(rng.NextDouble()));
    row.push_back(rng.OneIn(5) ? Datum() : Datum::Time(Timestamp{rng.Range(-100000, 100000), 7}));
    row.push_back(rng.OneIn(5) ? Datum()
                               : Datum::Decimal(static_cast<Int128>(rng.Range(-1000000, 1000000)) * 1000000007));
    row.push_back(rng.OneIn(5) ? Datum() : Datum::List({Datum::Int(n), Datum()}));
    in.AppendRow(row);
  }
  RowArena arena(schema);
  for (size_t i = 0; i < in.num_rows(); ++i) arena.Append(in, i);
  ColumnBatch out(schema);
  for (size_t i = in.num_rows(); i-- > 0;) arena.DecodeInto(i, &out);
  ASSERT_EQ(out.num_rows(), in.num_rows());
  for (size_t i = 0; i < in.num_rows(); ++i) {
    ASSERT_EQ(CompareRows(out.GetRow(in.num_rows() - 1 - i), in.GetRow(i)), 0) << i;
  }
  // Bulk: a range appended at once, decoded in a shuffled order onto a batch that has rows.
  RowArena bulk(schema);
  bulk.AppendRange(in, 0, in.num_rows());
  std::vector<size_t> order(in.num_rows());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Uniform(i)]);
  ColumnBatch shuffled(schema);
  shuffled.AppendRowFrom(in, 11);
  bulk.DecodeRows(order.data(), 1000, &shuffled);
  bulk.DecodeRows(order.data() + 1000, order.size() - 1000, &shuffled);
  ASSERT_EQ(shuffled.num_rows(), in.num_rows() + 1);
  EXPECT_EQ(CompareRows(shuffled.GetRow(0), in.GetRow(11)), 0);
  for (size_t i = 0; i < order.size(); ++i) {
    ASSERT_EQ(CompareRows(shuffled.GetRow(i + 1), in.GetRow(order[i])), 0) << i;
  }
  for (size_t c = 0; c < schema.size(); ++c) EXPECT_EQ(shuffled.column(c).size(), in.num_rows() + 1);
  // Slices of uneven sizes, as a writer appends them, read back in order.
  RowArena sliced(schema);
  for (size_t begin = 0, step = 1; begin < in.num_rows(); begin += step, step = step * 3 % 1031 + 1)
    sliced.AppendRange(in, begin, std::min(in.num_rows(), begin + step));
  ASSERT_EQ(sliced.size(), in.num_rows());
  ColumnBatch in_order(schema);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  sliced.DecodeRows(order.data(), order.size(), &in_order);
  for (size_t i = 0; i < in.num_rows(); ++i) ASSERT_EQ(CompareRows(in_order.GetRow(i), in.GetRow(i)), 0) << i;
  arena.Clear();
  EXPECT_EQ(arena.size(), 0u);
  arena.Append(in, 3);
  ColumnBatch again(schema);
  arena.DecodeInto(0, &again);
  EXPECT_EQ(CompareRows(again.GetRow(0), in.GetRow(3)), 0);
}

}  // namespace
}  // namespace kl::format
