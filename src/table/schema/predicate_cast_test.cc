// Row filters (parsing, SQL null semantics, statistics ranges) and the casts
// schema evolution applies (numbers, text, dates and zoned/unzoned timestamps,
// nested values by field id).
#include <gtest/gtest.h>

#include <cmath>

#include "common/testing/test_util.h"
#include "table/data/predicate.h"
#include "table/schema/cast.h"

namespace kl::table {
namespace {

using format::Column;
using format::DataType;
using format::Datum;
using format::RowType;
using format::Timestamp;

RowType Schema() {
  return RowType({{0, "k", DataType::Int().NotNull(), ""},
                  {1, "name", DataType::String(), ""},
                  {2, "score", DataType::Double(), ""},
                  {3, "ts", DataType::Timestamp(3), ""},
                  {4, "amount", DataType::Decimal(10, 2), ""}});
}

TEST(PredicateTest, ParsesConjunctionsWithTypedLiterals) {
  auto p = Predicate::Parse(
      "k >= 3 AND name = 'it''s AND more' and score < 1.5 AND ts > '2024-01-01 00:00:00' "
      "AND amount != 12.30 AND name IS NOT NULL",
      Schema());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto& l = p->leaves();
  ASSERT_EQ(l.size(), 6u);
  EXPECT_EQ(l[0].op, CompareOp::kGe);
  EXPECT_EQ(l[0].literal, Datum::Int(3));
  EXPECT_EQ(l[1].literal, Datum::Bytes("it's AND more")) << "AND inside quotes is text";
  EXPECT_EQ(l[2].literal, Datum::Double(1.5));
  EXPECT_EQ(l[3].literal.as_timestamp().millis, 1704067200000);
  EXPECT_EQ(l[4].op, CompareOp::kNe);
  EXPECT_EQ(l[4].literal, Datum::Decimal(1230));
  EXPECT_EQ(l[5].op, CompareOp::kIsNotNull);
  for (const char* bad : {"nope = 1", "k = 'x'", "k", "k = 1 AND", "score > abc"}) {
    EXPECT_FALSE(Predicate::Parse(bad, Schema()).ok()) << bad;
  }
}

TEST(PredicateTest, ComparisonsWithNullNeverPass) {
  Column c(DataType::Int());
  c.AppendInt(5);
  c.AppendNull();
  PredicateLeaf ne{"k", CompareOp::kNe, Datum::Int(4)};
  EXPECT_TRUE(LeafMatches(ne, c, 0));
  EXPECT_FALSE(LeafMatches(ne, c, 1));
  EXPECT_TRUE(LeafMatches({"k", CompareOp::kIsNull, {}}, c, 1));
  EXPECT_FALSE(LeafMatches({"k", CompareOp::kIsNull, {}}, c, 0));
  Column d(DataType::Double());
  d.AppendDouble(std::nan(""));
  EXPECT_FALSE(LeafMatches({"s", CompareOp::kGt, Datum::Double(0)}, d, 0));
  EXPECT_TRUE(LeafMatches({"s", CompareOp::kNe, Datum::Double(0)}, d, 0));
}

TEST(PredicateTest, RangesRuleOutOnlyWhatCannotMatch) {
  ValueRange r;
  r.has_min_max = true;
  r.min = Datum::Int(10);
  r.max = Datum::Int(20);
  r.has_null_count = true;
  r.null_count = 0;
  r.num_values = 100;
  auto may = [&](CompareOp op, int64_t v) { return LeafMayMatch({"k", op, Datum::Int(v)}, &r); };
  EXPECT_TRUE(may(CompareOp::kEq, 10));
  EXPECT_TRUE(may(CompareOp::kEq, 20));
  EXPECT_FALSE(may(CompareOp::kEq, 9));
  EXPECT_FALSE(may(CompareOp::kEq, 21));
  EXPECT_FALSE(may(CompareOp::kLt, 10));
  EXPECT_TRUE(may(CompareOp::kLt, 11));
  EXPECT_FALSE(may(CompareOp::kGt, 20));
  EXPECT_TRUE(may(CompareOp::kGe, 20));
  EXPECT_FALSE(may(CompareOp::kLe, 9));
  EXPECT_TRUE(may(CompareOp::kNe, 10));
  EXPECT_FALSE(LeafMayMatch({"k", CompareOp::kIsNull, {}}, &r));
  ValueRange single = r;
  single.max = Datum::Int(10);
  EXPECT_FALSE(LeafMayMatch({"k", CompareOp::kNe, Datum::Int(10)}, &single));
  ValueRange nulls;
  nulls.has_null_count = true;
  nulls.null_count = nulls.num_values = 5;
  EXPECT_FALSE(LeafMayMatch({"k", CompareOp::kEq, Datum::Int(1)}, &nulls));
  EXPECT_TRUE(LeafMayMatch({"k", CompareOp::kIsNull, {}}, &nulls));
  EXPECT_TRUE(LeafMayMatch({"k", CompareOp::kEq, Datum::Int(1)}, nullptr)) << "unknown statistics may match";
  ValueRange other_kind = r;
  other_kind.min = Datum::Bytes("a");
  other_kind.max = Datum::Bytes("b");
  EXPECT_TRUE(LeafMayMatch({"k", CompareOp::kEq, Datum::Int(1)}, &other_kind));
}

TEST(CastTest, TimeZoneOffsets) {
  EXPECT_EQ(*ParseTimeZoneOffset("UTC"), 0);
  EXPECT_EQ(*ParseTimeZoneOffset("Z"), 0);
  EXPECT_EQ(*ParseTimeZoneOffset("+08:00"), 8 * 3600000);
  EXPECT_EQ(*ParseTimeZoneOffset("-0530"), -(5 * 3600000 + 30 * 60000));
  EXPECT_EQ(*ParseTimeZoneOffset("GMT+8"), 8 * 3600000);
  EXPECT_FALSE(ParseTimeZoneOffset("Asia/Shanghai").ok()) << "named zones need a zone database";
  EXPECT_FALSE(ParseTimeZoneOffset("+25:00").ok());
}

Datum Cast(const Datum& d, const DataType& from, const DataType& to, int64_t tz_hours = 0) {
  CastOptions o;
  o.time_zone_offset_millis = tz_hours * 3600000;
  auto r = CastDatum(d, from, to, o);
  EXPECT_TRUE(r.ok()) << from.ToString() << " -> " << to.ToString() << ": " << r.status().ToString();
  return r.ok() ? *r : Datum();
}

TEST(CastTest, TimestampsFollowTheSessionZone) {
  DataType ts = DataType::Timestamp(9), ltz = DataType::TimestampLtz(9);
  Datum one_sec = Datum::Time({1000, 0});
  // A wall-clock time in UTC+8 is 8 hours earlier as an instant, and back.
  EXPECT_EQ(Cast(one_sec, ts, ltz, 8).as_timestamp().millis, 1000 - 8 * 3600000);
  EXPECT_EQ(Cast(one_sec, ltz, ts, 8).as_timestamp().millis, 1000 + 8 * 3600000);
  EXPECT_EQ(Cast(one_sec, ts, DataType::Int(), 8).as_int(), 1 - 8 * 3600);
  EXPECT_EQ(Cast(one_sec, ltz, DataType::Int(), 8).as_int(), 1);
  EXPECT_EQ(Cast(Datum::Int(-1), DataType::Int(), DataType::Timestamp(0), 8).as_timestamp().millis,
            -1000 + 8 * 3600000);
  EXPECT_EQ(Cast(Datum::Time({-1, 0}), ts, DataType::Date()).as_int(), -1) << "floor, not truncation";
  EXPECT_EQ(Cast(Datum::Time({4, 0}), ltz, DataType::Date(), -8).as_int(), -1);
  EXPECT_EQ(Cast(Datum::Time({0, 1000}), DataType::Timestamp(6), DataType::String()).as_bytes(),
            "1970-01-01 00:00:00.000001");
  EXPECT_EQ(Cast(Datum::Time({2, 0}), DataType::TimestampLtz(3), DataType::String(), 8).as_bytes(),
            "1970-01-01 08:00:00.002");
  EXPECT_EQ(Cast(Datum::Time({1999, 999999}), ts, DataType::Timestamp(0)).as_timestamp(), (Timestamp{1000, 0}));
  EXPECT_EQ(Cast(Datum::Bytes("1970-01-01 08:00:00"), DataType::String(), DataType::TimestampLtz(3), 8).as_timestamp(),
            (Timestamp{0, 0}));
}

TEST(CastTest, NumbersTextAndNestedValues) {
  EXPECT_EQ(Cast(Datum::Int(300), DataType::Int(), DataType::TinyInt()).as_int(), 44);
  EXPECT_EQ(Cast(Datum::Double(-12.9), DataType::Double(), DataType::Int()).as_int(), -12);
  EXPECT_EQ(Cast(Datum::Decimal(12345), DataType::Decimal(10, 2), DataType::Decimal(10, 1)).as_decimal(), 1234);
  EXPECT_EQ(Cast(Datum::Int(7), DataType::Int(), DataType::Decimal(5, 2)).as_decimal(), 700);
  EXPECT_EQ(Cast(Datum::Bool(true), DataType::Boolean(), DataType::String()).as_bytes(), "true");
  EXPECT_EQ(Cast(Datum::Bytes("42"), DataType::String(), DataType::BigInt()).as_int(), 42);
  EXPECT_EQ(Cast(Datum::Bytes("True"), DataType::String(), DataType::Boolean()), Datum::Bool(true));
  EXPECT_EQ(Cast(Datum::Bytes(" nO "), DataType::String(), DataType::Boolean()), Datum::Bool(false));
  EXPECT_EQ(Cast(Datum::Bytes("1"), DataType::String(), DataType::Boolean()), Datum::Bool(true));
  EXPECT_FALSE(CastDatum(Datum::Bytes("maybe"), DataType::String(), DataType::Boolean()).ok());
  EXPECT_FALSE(CastDatum(Datum::Bytes("x"), DataType::String(), DataType::BigInt()).ok());
  EXPECT_TRUE(Cast(Datum(), DataType::Int(), DataType::String()).is_null());
  // ROW fields by id: renamed and reordered fields keep their values, added ones are null.
  DataType from = DataType::Row({{10, "a", DataType::Int(), ""}, {11, "b", DataType::String(), ""}});
  DataType to = DataType::Row(
      {{11, "b2", DataType::String(), ""}, {12, "c", DataType::Int(), ""}, {10, "a", DataType::BigInt(), ""}});
  Datum row = Cast(Datum::List({Datum::Int(1), Datum::Bytes("x")}), from, to);
  ASSERT_EQ(row.as_list().size(), 3u);
  EXPECT_EQ(row.as_list()[0], Datum::Bytes("x"));
  EXPECT_TRUE(row.as_list()[1].is_null());
  EXPECT_EQ(row.as_list()[2], Datum::Int(1));
  // Arrays and maps cast element by element.
  Datum arr = Cast(Datum::List({Datum::Int(1), Datum()}), DataType::Array(DataType::Int()),
                   DataType::Array(DataType::String()));
  EXPECT_EQ(arr.as_list()[0], Datum::Bytes("1"));
  EXPECT_TRUE(arr.as_list()[1].is_null());
  // Differences in nested nullability need no conversion at all.
  EXPECT_TRUE(SameRepresentation(DataType::Map(DataType::Int().NotNull(), DataType::String()),
                                 DataType::Map(DataType::Int(), DataType::String())));
  EXPECT_FALSE(SameRepresentation(DataType::Int(), DataType::SmallInt()));
  EXPECT_TRUE(SameRepresentation(DataType::SmallInt(), DataType::BigInt()));
}

TEST(CastTest, ColumnsCastInBulk) {
  Column c(DataType::Int());
  c.AppendInt(1);
  c.AppendNull();
  c.AppendInt(-3);
  auto out = CastColumn(c, DataType::String());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->GetBytes(0), "1");
  EXPECT_TRUE(out->IsNull(1));
  EXPECT_EQ(out->GetBytes(2), "-3");
  auto widened = CastColumn(c, DataType::BigInt());
  ASSERT_TRUE(widened.ok());
  EXPECT_EQ(widened->type().root(), format::TypeRoot::kBigInt);
  EXPECT_EQ(widened->GetInt(2), -3);
  auto bad = CastColumn(c, DataType::Array(DataType::Int()));
  EXPECT_EQ(bad.status().code(), StatusCode::kNotSupported);
}

}  // namespace
}  // namespace kl::table
