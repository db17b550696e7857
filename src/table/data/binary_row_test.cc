#include "table/data/binary_row.h"

#include <gtest/gtest.h>

#include "common/random.h"

namespace kl::table {
namespace {

using format::DataType;
using format::Datum;

// Bytes copied from manifests written by Java Paimon (pk_table_scan_and_read_mor).
TEST(BinaryRowTest, MatchesJavaPaimonBytes) {
  std::string partition = SerializeBinaryRow({Datum::Int(10)}, {DataType::Int().NotNull()});
  EXPECT_EQ(partition, std::string("\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\n\x00\x00\x00\x00\x00\x00\x00", 20));

  std::vector<DataType> key_types = {DataType::String().NotNull(), DataType::Int().NotNull()};
  std::string short_key = SerializeBinaryRow({Datum::Bytes("Alice"), Datum::Int(1)}, key_types);
  EXPECT_EQ(short_key, std::string("\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00"
                                   "Alice\x00\x00\x85\x01\x00\x00\x00\x00\x00\x00\x00",
                                   28));
  std::string text = "Two roads diverged in a wood, and I took the one less traveled by, And that has made all the difference.";
  std::string long_key = SerializeBinaryRow({Datum::Bytes(text), Datum::Int(1)}, key_types);
  std::string expected("\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00h\x00\x00\x00\x18\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00", 28);
  expected += text;
  EXPECT_EQ(long_key.substr(0, expected.size()), expected);
  EXPECT_EQ(long_key.size() % 8, 4u) << "variable part is padded to whole words";
}

// In that table (bucket-key f2, 2 buckets), rows with f2 = 1 live in bucket 0 and f2 = 0 in bucket 1.
TEST(BinaryRowTest, BucketAssignmentMatchesJavaPaimon) {
  std::vector<DataType> types = {DataType::Int().NotNull()};
  EXPECT_EQ(BucketOf(EncodeBinaryRow({Datum::Int(1)}, types), 2), 0);
  EXPECT_EQ(BucketOf(EncodeBinaryRow({Datum::Int(0)}, types), 2), 1);
}

TEST(BinaryRowTest, RoundTripsRandomRows) {
  Random rng(3);
  std::vector<DataType> types = {DataType::Boolean(), DataType::TinyInt(), DataType::SmallInt(), DataType::Int(),
                                 DataType::BigInt(),  DataType::Float(),   DataType::Double(),   DataType::String(),
                                 DataType::Bytes(),   DataType::Decimal(10, 2), DataType::Decimal(30, 5),
                                 DataType::Date(),    DataType::Timestamp(3), DataType::Timestamp(9)};
  for (int n = 0; n < 500; ++n) {
    format::Row row;
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Bool(rng.OneIn(2)));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Int(rng.Range(-128, 127)));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Int(rng.Range(-32768, 32767)));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Int(rng.Range(INT32_MIN, INT32_MAX)));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Int(static_cast<int64_t>(rng.Next())));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Double(static_cast<float>(rng.NextDouble())));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Double(rng.NextDouble()));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Bytes(rng.Alnum(rng.Uniform(20))));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Bytes(rng.Alnum(rng.Uniform(9))));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Decimal(rng.Range(-999999, 999999)));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Decimal(static_cast<format::Int128>(static_cast<int64_t>(rng.Next())) * 1000000007));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Int(rng.Range(-1000, 100000)));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Time({rng.Range(-1000000, 1000000), 0}));
    row.push_back(rng.OneIn(4) ? Datum() : Datum::Time({rng.Range(-1000000, 1000000), static_cast<int32_t>(rng.Uniform(1000000))}));
    auto back = DeserializeBinaryRow(SerializeBinaryRow(row, types), types);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(format::CompareRows(*back, row), 0) << n;
  }
}

TEST(BinaryRowTest, RejectsTruncatedRows) {
  std::vector<DataType> types = {DataType::String(), DataType::Int()};
  std::string bytes = SerializeBinaryRow({Datum::Bytes("a long string value"), Datum::Int(5)}, types);
  // Arity (4) + null bits (8) + two slots (16) + 19 string bytes; only word padding may be missing.
  const size_t needed = 4 + 8 + 16 + 19;
  for (size_t cut = 0; cut < needed; ++cut) {
    auto r = DeserializeBinaryRow(bytes.substr(0, cut), types);
    EXPECT_FALSE(r.ok()) << cut;
  }
  EXPECT_TRUE(DeserializeBinaryRow(bytes.substr(0, needed), types).ok());
}

}  // namespace
}  // namespace kl::table
