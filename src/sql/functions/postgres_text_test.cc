// PostgreSQL's bytea hex form and the reading of one-dimensional array text,
// against the forms PostgreSQL itself prints and accepts.
#include "sql/functions/postgres_text.h"

#include <gtest/gtest.h>

#include <vector>

namespace kl::sql {
namespace {

TEST(PostgresTextTest, ByteaHex) {
  EXPECT_EQ(PostgresByteaHex(""), "\\x");
  EXPECT_EQ(PostgresByteaHex(std::string("\x00\x7f\x80\xff", 4)), "\\x007f80ff");
  EXPECT_EQ(PostgresByteaHex("kl"), "\\x6b6c");
}

// Elements as text ("<null>" for NULL), or the error: "malformed:<kind>" or the element error.
std::vector<std::string> Read(std::string_view text, const std::string& fail_on = "\x01") {
  std::vector<std::string> out;
  Status s = ForEachArrayTextElement(
      text,
      [&](std::optional<std::string_view> e) -> Status {
        if (e && *e == fail_on) return Status::InvalidArgument("bad element " + std::string(*e));
        out.push_back(e ? std::string(*e) : "<null>");
        return Status::OK();
      },
      [](ArrayTextError error) {
        return Status::InvalidArgument("malformed:" + std::to_string(static_cast<int>(error)));
      });
  if (!s.ok()) out.push_back("error " + s.message());
  return out;
}

using V = std::vector<std::string>;

TEST(PostgresTextTest, ArrayElements) {
  EXPECT_EQ(Read("{}"), V{});
  EXPECT_EQ(Read("  { }  "), V{});
  EXPECT_EQ(Read("{1,2,3}"), (V{"1", "2", "3"}));
  EXPECT_EQ(Read("{ a , b }"), (V{"a", "b"}));
  EXPECT_EQ(Read("{NULL,null,\"NULL\"}"), (V{"<null>", "<null>", "NULL"}));
  EXPECT_EQ(Read("{\"b c\",\" x \",\"q\\\"\\\\\"}"), (V{"b c", " x ", "q\"\\"}));
  EXPECT_EQ(Read("{\"\"}"), (V{""}));
  EXPECT_EQ(Read("{,}"), (V{"", ""}));
  EXPECT_EQ(Read("{\"a,b\",c}"), (V{"a,b", "c"}));
}

TEST(PostgresTextTest, MalformedArrays) {
  EXPECT_EQ(Read(""), (V{"error malformed:0"}));
  EXPECT_EQ(Read("1,2"), (V{"error malformed:0"}));
  EXPECT_EQ(Read("{1,2"), (V{"error malformed:0"}));
  EXPECT_EQ(Read("{{1},{2}}"), (V{"error malformed:1"}));
  EXPECT_EQ(Read("{\"abc}"), (V{"error malformed:2"}));
}

TEST(PostgresTextTest, ElementErrorStopsInOrder) {
  // The element error comes before a later structural error, and no later element is read.
  EXPECT_EQ(Read("{ok,bad,{x}}", "bad"), (V{"ok", "error bad element bad"}));
  EXPECT_EQ(Read("{ok,bad,more}", "bad"), (V{"ok", "error bad element bad"}));
}

}  // namespace
}  // namespace kl::sql
