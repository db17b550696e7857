#include "sql/functions/datetime/interval.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "common/clock.h"

namespace kl::sql {
namespace {

std::string Text(std::string_view in) {
  auto v = ParseInterval(in);
  return v.ok() ? FormatInterval(*v) : v.status().message();
}

// Values printed by a PostgreSQL 15 for the same input.
TEST(IntervalTest, ReadsAndPrintsAsPostgres) {
  EXPECT_EQ(Text("1 day 02:03:04"), "1 day 02:03:04");
  EXPECT_EQ(Text("3 mons"), "3 mons");
  EXPECT_EQ(Text("P1DT2H"), "1 day 02:00:00");
  EXPECT_EQ(Text("-1 year +2 days"), "-1 years +2 days");
  EXPECT_EQ(Text("1.5 hours"), "01:30:00");
  EXPECT_EQ(Text("@ 1 hour ago"), "-01:00:00");
  EXPECT_EQ(Text("-1 sec"), "-00:00:01");
  EXPECT_EQ(Text("0"), "00:00:00");
  EXPECT_EQ(Text("1.5 months"), "1 mon 15 days");
  EXPECT_EQ(Text("0.5 weeks"), "3 days 12:00:00");
  EXPECT_EQ(Text("1:30.5"), "00:01:30.5");
  EXPECT_EQ(Text("-1 day +02:03"), "-1 days +02:03:00");
  EXPECT_EQ(Text("P1Y2M3DT4H5M6.5S"), "1 year 2 mons 3 days 04:05:06.5");
  EXPECT_EQ(Text("  10MIN  "), "00:10:00");
  EXPECT_EQ(Text("abc"), "invalid input syntax for type interval: \"abc\"");
  EXPECT_EQ(Text("1 year 2 years"), "invalid input syntax for type interval: \"1 year 2 years\"");
  EXPECT_EQ(Text("1 hour 01:00"), "invalid input syntax for type interval: \"1 hour 01:00\"");
  EXPECT_EQ(Text(""), "invalid input syntax for type interval: \"\"");
  EXPECT_EQ(Text("25:61"), "interval field value out of range: \"25:61\"");
  EXPECT_EQ(Text("99999999999999999999 months"), "interval field value out of range: \"99999999999999999999 months\"");
  EXPECT_EQ(Text("2147483648 days"), "interval field value out of range: \"2147483648 days\"");
  EXPECT_EQ(Text("2147483647 days 1 week"), "interval field value out of range: \"2147483647 days 1 week\"");
  EXPECT_EQ(Text("178956971 years"), "interval out of range");
  EXPECT_EQ(Text("-9223372036854775808 microseconds"), "-2562047788:00:54.775808");
  EXPECT_EQ(Text("9223372036854775808 microseconds"),
            "interval field value out of range: \"9223372036854775808 microseconds\"");
  EXPECT_EQ(Text("1 2:03:04"), "1 day 02:03:04");
  EXPECT_EQ(Text("-1 2:03:04"), "-1 days +02:03:04");
  EXPECT_EQ(Text("1.5 2:00"), "1 day 14:00:00");
  EXPECT_EQ(Text("2 1:30.5"), "2 days 00:01:30.5");
  EXPECT_EQ(Text("1 day 1 2:00"), "invalid input syntax for type interval: \"1 day 1 2:00\"");
  EXPECT_EQ(Text("1 2"), "invalid input syntax for type interval: \"1 2\"");
  EXPECT_EQ(Text("12:59:60.5"), "13:00:00.5");
  EXPECT_EQ(Text("12:59:61"), "interval field value out of range: \"12:59:61\"");
  EXPECT_EQ(Text("1:"), "01:00:00");
  EXPECT_EQ(Text("1:2:"), "01:02:00");
  EXPECT_EQ(Text("PT"), "00:00:00");
  EXPECT_EQ(Text("P"), "invalid input syntax for type interval: \"P\"");
  EXPECT_EQ(Text("1 ago"), "invalid input syntax for type interval: \"1 ago\"");
  EXPECT_EQ(Text("1:00 ago"), "-01:00:00");
  EXPECT_EQ(Text("+."), "invalid input syntax for type interval: \"+.\"");
  EXPECT_EQ(Text("1..5"), "invalid input syntax for type interval: \"1..5\"");
}

TEST(IntervalTest, KeysOrderByLengthAndKeepTheFields) {
  std::vector<Interval> values = {{0, 0, 0},
                                  {1, 0, 0},
                                  {0, 30, 0},
                                  {0, 0, -1},
                                  {-3, 40, 5},
                                  {12, -1, 86399999999},
                                  {kMaxIntervalMonths, INT32_MAX, INT64_MAX},
                                  {-kMaxIntervalMonths, INT32_MIN, INT64_MIN},
                                  {0, 1, -kIntervalMicrosPerDay}};
  for (const Interval& v : values) {
    auto key = IntervalKey(v);
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(IntervalFromKey(*key), v) << FormatInterval(v);
  }
  for (const Interval& a : values) {
    for (const Interval& b : values) {
      format::Int128 ka = *IntervalKey(a), kb = *IntervalKey(b);
      if (IntervalLength(a) < IntervalLength(b)) {
        EXPECT_LT(ka, kb) << FormatInterval(a) << " vs " << FormatInterval(b);
      }
    }
  }
  EXPECT_FALSE(IntervalKey(Interval{kMaxIntervalMonths + 1, 0, 0}).ok());
}

TEST(IntervalTest, ArithmeticAsPostgres) {
  auto text = [](Result<Interval> r) { return r.ok() ? FormatInterval(*r) : r.status().message(); };
  EXPECT_EQ(text(MultiplyInterval(*ParseInterval("1 mon 2 days 03:00"), 2)), "2 mons 4 days 06:00:00");
  EXPECT_EQ(text(DivideInterval(*ParseInterval("1 mon"), 7)), "4 days 06:51:25.6896");
  EXPECT_EQ(text(DivideInterval(*ParseInterval("1 day"), 0)), "division by zero");
  EXPECT_EQ(text(AddIntervals(Interval{0, INT32_MAX, 0}, Interval{0, 1, 0})), "interval out of range");
  EXPECT_EQ(text(JustifyInterval(*ParseInterval("-1 mon 40 days 25 hours"))), "11 days 01:00:00");
  EXPECT_EQ(text(JustifyDays(*ParseInterval("-65 days 1 hour"))), "-2 mons -5 days +01:00:00");
  EXPECT_EQ(text(JustifyHours(*ParseInterval("1 day -30 hours"))), "-06:00:00");
  // age: a borrowed month is as long as the earlier time's month.
  auto at = [](int64_t y, unsigned m, unsigned d) { return DaysFromCivil(y, m, d) * kIntervalMicrosPerDay; };
  EXPECT_EQ(text(Age(at(2024, 3, 31), at(2024, 2, 29))), "1 mon 2 days");
  EXPECT_EQ(text(Age(at(2024, 1, 31), at(2024, 3, 1))), "-1 mons -1 days");
  EXPECT_EQ(text(TimestampDifference(at(2024, 3, 1) + kMicrosPerHour * 12, at(2024, 1, 1))), "60 days 12:00:00");
  EXPECT_EQ(static_cast<int64_t>(AddMonthsAndDays(at(2024, 1, 31), 1, 0)), at(2024, 2, 29));
  EXPECT_EQ(static_cast<int64_t>(AddMonthsAndDays(at(2024, 1, 31), 1, 1)), at(2024, 3, 1));
  int scale = 0;
  auto epoch = ExtractFromInterval("epoch", *ParseInterval("1 year"), &scale);
  ASSERT_TRUE(epoch.ok());
  EXPECT_EQ(static_cast<int64_t>(*epoch), 31557600LL * 1000000);
  EXPECT_EQ(scale, 6);
  EXPECT_FALSE(ExtractFromInterval("week", Interval{}, &scale).ok());
}

}  // namespace
}  // namespace kl::sql
