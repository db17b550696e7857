// TZif files and the POSIX TZ rule of their footer, which holds after the last
// transition (2037 in full files, much earlier in slim ones).
#include "sql/functions/datetime/time_zone.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kl::sql {
namespace {

// 2040-07-01 12:00 and 2040-01-15 12:00 UTC.
constexpr int64_t kSummer2040 = 2224756800;
constexpr int64_t kWinter2040 = 2210241600;

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// A version 2 TZif file with one transition (2000-01-01, to the single type) and `footer`.
std::string TzifFile(int32_t offset, const std::string& abbreviation, const std::string& footer) {
  auto block = [&](bool wide) {
    std::string b = "TZif2" + std::string(15, '\0');
    for (uint32_t count : {0u, 0u, 0u, 1u, 1u, static_cast<uint32_t>(abbreviation.size() + 1)}) b += Be32(count);
    b += wide ? Be32(0) + Be32(946684800) : Be32(946684800);
    b += std::string(1, '\0');  // the transition's type
    b += Be32(static_cast<uint32_t>(offset)) + std::string(1, '\0') + std::string(1, '\0');
    b += abbreviation + std::string(1, '\0');
    return b;
  };
  return block(false) + block(true) + "\n" + footer + "\n";
}

class TimeZoneFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kl_tz_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_ / "Test");
    const char* old = std::getenv("TZDIR");
    if (old != nullptr) old_tzdir_ = old;
    setenv("TZDIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    if (old_tzdir_.empty()) {
      unsetenv("TZDIR");
    } else {
      setenv("TZDIR", old_tzdir_.c_str(), 1);
    }
    std::filesystem::remove_all(dir_);
  }
  void Write(const std::string& name, const std::string& data) {
    std::ofstream(dir_ / "Test" / name, std::ios::binary) << data;
  }
  std::filesystem::path dir_;
  std::string old_tzdir_;
};

TEST_F(TimeZoneFileTest, FooterRuleHoldsAfterTheLastTransition) {
  Write("Berlin", TzifFile(3600, "CET", "CET-1CEST,M3.5.0,M10.5.0/3"));
  auto zone = TimeZone::FromPostgresName("Test/Berlin");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ((*zone)->OffsetAtUtc(kSummer2040), 7200);
  EXPECT_EQ((*zone)->OffsetAtUtc(kWinter2040), 3600);
  EXPECT_EQ((*zone)->Abbreviation(kSummer2040), "CEST");
  EXPECT_EQ((*zone)->Abbreviation(kWinter2040), "CET");
  // 2040's changes: March 25 01:00 UTC and October 28 01:00 UTC (the last Sundays).
  EXPECT_EQ((*zone)->OffsetAtUtc(2216250000 - 1), 3600);
  EXPECT_EQ((*zone)->OffsetAtUtc(2216250000), 7200);
  EXPECT_EQ((*zone)->OffsetAtUtc(2234998800 - 1), 7200);
  EXPECT_EQ((*zone)->OffsetAtUtc(2234998800), 3600);
  // Wall times: 02:30 on March 25 is skipped (the offset before), 02:30 on October 28
  // is repeated (the offset after, as PostgreSQL).
  EXPECT_EQ((*zone)->OffsetAtLocal(2216250000 + 5400), 3600);
  EXPECT_EQ((*zone)->OffsetAtLocal(2234998800 + 5400), 3600);
  EXPECT_EQ((*zone)->OffsetAtLocal(kSummer2040), 7200);
  // Before the rule takes over, the transitions hold.
  EXPECT_EQ((*zone)->OffsetAtUtc(1000000000 - 100000000), 3600);
}

TEST_F(TimeZoneFileTest, SouthernHemisphereRule) {
  Write("Sydney", TzifFile(36000, "AEST", "AEST-10AEDT,M10.1.0,M4.1.0/3"));
  auto zone = TimeZone::FromPostgresName("test/SYDNEY");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ((*zone)->OffsetAtUtc(kSummer2040), 36000);
  EXPECT_EQ((*zone)->OffsetAtUtc(kWinter2040), 39600);
  EXPECT_EQ((*zone)->Abbreviation(kWinter2040), "AEDT");
}

TEST_F(TimeZoneFileTest, QuotedNamesAndNoDaylightTime) {
  Write("Istanbul", TzifFile(10800, "+03", "<+03>-3"));
  auto zone = TimeZone::FromPostgresName("Test/Istanbul");
  ASSERT_TRUE(zone.ok());
  EXPECT_EQ((*zone)->OffsetAtUtc(kSummer2040), 10800);
  EXPECT_EQ((*zone)->Abbreviation(kSummer2040), "+03");
}

TEST_F(TimeZoneFileTest, MalformedFooterKeepsTheLastType) {
  int n = 0;
  for (const char* footer : {"CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0", "C-1", "CET-1CEST,M3.5.0,M10.5.0/999",
                             "<+03-3", "CET-1CEST,M3.5.0,M10.5.0junk", "CET-1CEST,M3.5.8,M10.5.0"}) {
    std::string name = "Bad" + std::to_string(n++);  // a file of its own: zones are cached by file
    Write(name, TzifFile(3600, "CET", footer));
    auto zone = TimeZone::FromPostgresName("Test/" + name);
    ASSERT_TRUE(zone.ok()) << footer;
    EXPECT_EQ((*zone)->OffsetAtUtc(kSummer2040), 3600) << footer;
  }
}

TEST_F(TimeZoneFileTest, SpellingsOfOneZoneShareTheCachedZone) {
  Write("Lisbon", TzifFile(0, "WET", "WET0WEST,M3.5.0/1,M10.5.0"));
  auto a = TimeZone::FromPostgresName("Test/Lisbon");
  auto b = TimeZone::FromPostgresName("TEST/lisbon");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->OffsetAtUtc(kSummer2040), 3600);
}

// zic's slim files stop at the last change of rules (here 1996) and leave the rest to
// the footer.
TEST_F(TimeZoneFileTest, SlimFilesOfZic) {
  if (std::system("zic --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "zic is not installed";
  std::ofstream(dir_ / "source") << "Rule EU 1981 max - Mar lastSun 1:00u 1:00 S\n"
                                    "Rule EU 1996 max - Oct lastSun 1:00u 0 -\n"
                                    "Zone Test/Slim 1:00 EU CE%sT\n";
  std::string command = "zic -b slim -d '" + dir_.string() + "' '" + (dir_ / "source").string() + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto zone = TimeZone::FromPostgresName("Test/Slim");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ((*zone)->OffsetAtUtc(kSummer2040), 7200);
  EXPECT_EQ((*zone)->OffsetAtUtc(kWinter2040), 3600);
  EXPECT_EQ((*zone)->OffsetAtUtc(1719835200), 7200);  // 2024-07-01 12:00 UTC
  EXPECT_EQ((*zone)->OffsetAtUtc(1705320000), 3600);  // 2024-01-15 12:00 UTC
  EXPECT_EQ((*zone)->Abbreviation(1719835200), "CEST");
  // 2024-03-31 02:30 is skipped: the offset before the change.
  EXPECT_EQ((*zone)->OffsetAtLocal(1711852200), 3600);
}

TEST(TimeZoneRuleTest, ParsesEveryDateForm) {
  TimeZone::Rule rule;
  ASSERT_TRUE(TimeZone::ParseRule("EST5EDT,M3.2.0,M11.1.0", &rule));
  EXPECT_EQ(rule.standard.offset, -18000);
  EXPECT_EQ(rule.daylight.offset, -14400);
  EXPECT_EQ(rule.start.time, 7200);
  ASSERT_TRUE(TimeZone::ParseRule("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", &rule));  // America/Nuuk
  EXPECT_EQ(rule.standard.abbreviation, "-03");
  EXPECT_EQ(rule.daylight.offset, -7200);
  EXPECT_EQ(rule.start.time, -7200);
  ASSERT_TRUE(TimeZone::ParseRule("EST5EDT,0/0,J365/25", &rule));  // daylight time all year (version 3)
  EXPECT_EQ(rule.end.kind, TimeZone::RuleDate::kJulianNoLeap);
  EXPECT_EQ(rule.end.time, 25 * 3600);
  EXPECT_EQ(TimeZone::RuleTypeAt(rule, kWinter2040).offset, -14400);
  EXPECT_EQ(TimeZone::RuleTypeAt(rule, kSummer2040).offset, -14400);
  // Jn never counts February 29: J60 is March 1 also in 2040, a leap year; n counts it.
  ASSERT_TRUE(TimeZone::ParseRule("XST0XDT,J60/0,J61/0", &rule));
  EXPECT_EQ(TimeZone::RuleTypeAt(rule, 2214172800 + 3600).abbreviation, "XDT");  // 2040-03-01 01:00
  EXPECT_EQ(TimeZone::RuleTypeAt(rule, 2214086400 + 3600).abbreviation, "XST");  // 2040-02-29 01:00
  ASSERT_TRUE(TimeZone::ParseRule("XST0XDT,59/0,60/0", &rule));
  EXPECT_EQ(TimeZone::RuleTypeAt(rule, 2214086400 + 3600).abbreviation, "XDT");  // 2040-02-29 is day 59
  EXPECT_FALSE(TimeZone::ParseRule("", &rule));
  EXPECT_FALSE(TimeZone::ParseRule("CET", &rule));
  EXPECT_FALSE(TimeZone::ParseRule("CET-1CEST,J0,J365", &rule));
}

// The system's tz database, when it is installed: Debian's full files end in 2037.
TEST(SystemTimeZoneTest, RuleAfter2037) {
  if (!std::filesystem::exists("/usr/share/zoneinfo/Europe/Berlin") || std::getenv("TZDIR") != nullptr) {
    GTEST_SKIP() << "no system tz database";
  }
  auto berlin = TimeZone::FromPostgresName("Europe/Berlin");
  auto new_york = TimeZone::FromPostgresName("America/New_York");
  ASSERT_TRUE(berlin.ok() && new_york.ok());
  EXPECT_EQ((*berlin)->OffsetAtUtc(kSummer2040), 7200);
  EXPECT_EQ((*berlin)->OffsetAtUtc(kWinter2040), 3600);
  EXPECT_EQ((*new_york)->OffsetAtUtc(kSummer2040), -14400);
  EXPECT_EQ((*new_york)->OffsetAtUtc(kWinter2040), -18000);
}

}  // namespace
}  // namespace kl::sql
