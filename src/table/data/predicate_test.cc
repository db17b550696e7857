// IN leaves: exact row tests (strings and numbers, NULLs), statistics tests that
// skip exactly the ranges holding none of the values, validation and printing.
#include "table/data/predicate.h"

#include <gtest/gtest.h>

namespace kl::table {
namespace {

using format::Column;
using format::DataType;
using format::Datum;

TEST(InLeafTest, MatchesRowsAndRangesHoldingAValue) {
  PredicateLeaf in = InLeaf("s", {Datum::Bytes("b"), Datum(), Datum::Bytes("d"), Datum::Bytes("b")});
  ASSERT_EQ(in.literals.size(), 2u);  // NULL and the duplicate dropped, sorted
  EXPECT_EQ(in.literals[0].as_bytes(), "b");
  Column s(DataType::String());
  for (const char* v : {"a", "b", "c", "d", "e"}) s.Append(Datum::Bytes(v));
  s.AppendNull();
  std::vector<bool> got;
  for (size_t i = 0; i < s.size(); ++i) got.push_back(LeafMatches(in, s, i));
  EXPECT_EQ(got, (std::vector<bool>{false, true, false, true, false, false}));

  PredicateLeaf nums = InLeaf("n", {Datum::Int(30), Datum::Int(-5), Datum::Int(10)});
  Column n(DataType::BigInt());
  for (int64_t v : {-5, 0, 10, 30, 31}) n.Append(Datum::Int(v));
  got.clear();
  for (size_t i = 0; i < n.size(); ++i) got.push_back(LeafMatches(nums, n, i));
  EXPECT_EQ(got, (std::vector<bool>{true, false, true, true, false}));

  auto range = [](int64_t lo, int64_t hi) {
    ValueRange r;
    r.has_min_max = true;
    r.min = Datum::Int(lo);
    r.max = Datum::Int(hi);
    return r;
  };
  ValueRange r1 = range(11, 29), r2 = range(0, 10), r3 = range(31, 40), r4 = range(-10, -6);
  EXPECT_FALSE(LeafMayMatch(nums, &r1));
  EXPECT_TRUE(LeafMayMatch(nums, &r2));
  EXPECT_FALSE(LeafMayMatch(nums, &r3));
  EXPECT_FALSE(LeafMayMatch(nums, &r4));
  EXPECT_TRUE(LeafMayMatch(nums, nullptr));
  ValueRange all_null;
  all_null.has_null_count = true;
  all_null.null_count = all_null.num_values = 4;
  EXPECT_FALSE(LeafMayMatch(nums, &all_null));
  PredicateLeaf empty = InLeaf("n", {});
  EXPECT_FALSE(LeafMayMatch(empty, &r2));
  EXPECT_FALSE(LeafMatches(empty, n, 0));

  format::RowType type({{0, "s", DataType::String(), ""}, {1, "n", DataType::BigInt(), ""}});
  EXPECT_TRUE(Predicate({in, nums}).Validate(type).ok());
  EXPECT_FALSE(Predicate({InLeaf("n", {Datum::Bytes("x")})}).Validate(type).ok());
  EXPECT_EQ(Predicate({nums}).ToString(), "n IN (-5, 10, 30)");
}

}  // namespace
}  // namespace kl::table
