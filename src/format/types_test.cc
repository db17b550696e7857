#include "format/types.h"

#include <gtest/gtest.h>

namespace kl::format {
namespace {

TEST(DataTypeTest, ParsesPaimonSpellings) {
  struct Case {
    const char* text;
    const char* canonical;
  } cases[] = {
      {"INT", "INT"},
      {"int not null", "INT NOT NULL"},
      {"STRING NOT NULL", "STRING NOT NULL"},
      {"VARCHAR(10)", "VARCHAR(10)"},
      {"DECIMAL(2, 2)", "DECIMAL(2, 2)"},
      {"DECIMAL", "DECIMAL(10, 0)"},
      {"TIMESTAMP(3) WITH LOCAL TIME ZONE", "TIMESTAMP(3) WITH LOCAL TIME ZONE"},
      {"TIMESTAMP", "TIMESTAMP(6)"},
      {"BYTES", "BYTES"},
      {"ARRAY<INT NOT NULL>", "ARRAY<INT NOT NULL>"},
      {"MAP<STRING, BIGINT>", "MAP<STRING, BIGINT>"},
      {"ROW<`a` INT, b STRING>", "ROW<`a` INT, `b` STRING>"},
  };
  for (const auto& c : cases) {
    auto t = DataType::Parse(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status().ToString();
    EXPECT_EQ(t->ToString(), c.canonical);
    auto again = DataType::Parse(t->ToString());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *t) << c.text;
  }
}

TEST(DataTypeTest, RejectsBadTypesWithPosition) {
  for (const char* bad : {"INTEGRAL", "DECIMAL(40, 2)", "MAP<INT>", "ARRAY<INT", "INT NOT", ""}) {
    auto t = DataType::Parse(bad);
    EXPECT_FALSE(t.ok()) << bad;
  }
  auto t = DataType::Parse("MAP<INT>");
  EXPECT_NE(t.status().message().find("MAP<INT>"), std::string::npos);
}

TEST(DataTypeTest, SchemaJsonRoundTripForNestedTypes) {
  const char* json = R"({"type":"ROW","fields":[{"id":5,"name":"f0","type":"STRING"},
      {"id":7,"name":"f2","type":{"type":"ARRAY NOT NULL","element":"INT"}},
      {"id":8,"name":"m","type":{"type":"MAP","key":"INT NOT NULL","value":"DOUBLE"}}]})";
  auto parsed = ParseJson(json);
  ASSERT_TRUE(parsed.ok());
  auto t = DataType::FromJson(*parsed);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->root(), TypeRoot::kRow);
  ASSERT_EQ(t->fields().size(), 3u);
  EXPECT_EQ(t->fields()[1].id, 7);
  EXPECT_FALSE(t->fields()[1].type.nullable());
  EXPECT_EQ(t->fields()[2].type.key().ToString(), "INT NOT NULL");
  auto back = DataType::FromJson(t->ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *t);
}

TEST(RowTypeTest, LooksUpByNameAndId) {
  RowType row({{0, "a", DataType::Int(), ""}, {3, "b", DataType::String(), ""}});
  EXPECT_EQ(row.IndexOf("b"), 1);
  EXPECT_EQ(row.IndexOf("c"), -1);
  EXPECT_EQ(row.IndexOfId(3), 1);
  EXPECT_EQ(row.Project({1}).field(0).name, "b");
}

}  // namespace
}  // namespace kl::format
