// Runs the SQL logic tests (*.test beside this file) in the sqllogictest
// format: each file gets a fresh warehouse with an empty database `kubelake`.
//
//   statement ok | statement error <text the error must contain>
//   <SQL, up to a blank line>
//
//   query <one letter per column: I integer, R real/decimal, T text, B boolean, D date/time> [rowsort]
//   <SQL>
//   ----
//   <expected rows, values separated by tabs; NULL, (empty) for '', true/false>
//
// KUBELAKE_SLT_REWRITE=1 writes the actual results back into the files (for
// reviewing new tests; never in CI).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/file_util.h"
#include "common/string_util.h"
#include "common/test_util.h"
#include "sql/binder/types.h"
#include "sql/functions/cast.h"
#include "sql/sql.h"

namespace kl::sql {
namespace {

std::string SourceTestDir() { return JoinPath(kl::testing::SourceDir(), "src/sql/test"); }

std::vector<std::string> TestFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(SourceTestDir(), ec)) {
    if (e.path().extension() == ".test") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Cell(const format::Datum& d, const format::DataType& t) {
  if (d.is_null()) return "NULL";
  ExecContext ctx;
  std::string s;
  if (t.root() == format::TypeRoot::kBoolean) {
    s = d.as_int() != 0 ? "true" : "false";
  } else {
    s = ValueToText(ctx, d, t);
  }
  if (s.empty()) return "(empty)";
  for (auto& c : s) {
    if (c == '\t' || c == '\n') c = ' ';
  }
  return s;
}

struct Record {
  enum Kind { kStatementOk, kStatementError, kQuery } kind;
  int line = 0;  // of the directive
  std::string sql;
  std::string expected_error;
  std::string types;
  bool rowsort = false;
  std::vector<std::string> expected;
  size_t sql_end_line = 0;     // index of the "----" line (query) in the file's lines
  size_t result_end_line = 0;  // one past the last result line
};

std::vector<Record> Parse(const std::vector<std::string>& lines, std::string* error) {
  std::vector<Record> out;
  size_t i = 0;
  while (i < lines.size()) {
    std::string line(Trim(lines[i]));
    if (line.empty() || line[0] == '#') {
      ++i;
      continue;
    }
    Record r;
    r.line = static_cast<int>(i + 1);
    if (line == "statement ok") {
      r.kind = Record::kStatementOk;
    } else if (line.rfind("statement error", 0) == 0) {
      r.kind = Record::kStatementError;
      r.expected_error = std::string(Trim(line.substr(15)));
    } else if (line.rfind("query ", 0) == 0) {
      r.kind = Record::kQuery;
      auto parts = Split(line.substr(6), ' ', true);
      if (parts.empty()) {
        *error = "line " + std::to_string(i + 1) + ": query needs column types";
        return {};
      }
      r.types = parts[0];
      r.rowsort = parts.size() > 1 && parts[1] == "rowsort";
    } else {
      *error = "line " + std::to_string(i + 1) + ": unknown directive: " + line;
      return {};
    }
    ++i;
    std::string sql;
    while (i < lines.size() && !Trim(lines[i]).empty() && Trim(lines[i]) != "----") {
      sql += lines[i] + "\n";
      ++i;
    }
    r.sql = sql;
    if (r.kind == Record::kQuery) {
      r.sql_end_line = i;
      if (i < lines.size() && Trim(lines[i]) == "----") {
        ++i;
        while (i < lines.size() && !lines[i].empty()) r.expected.push_back(lines[i++]);
      }
      r.result_end_line = i;
    }
    out.push_back(std::move(r));
  }
  return out;
}

class SqlLogicTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SqlLogicTest, Run) {
  std::string path = JoinPath(SourceTestDir(), GetParam());
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  std::vector<std::string> lines = Split(*text, '\n');
  std::string parse_error;
  auto records = Parse(lines, &parse_error);
  ASSERT_TRUE(parse_error.empty()) << GetParam() << ": " << parse_error;
  ASSERT_FALSE(records.empty()) << GetParam() << " has no records";
  kl::testing::TempDir dir;
  EngineOptions o;
  o.warehouse = dir.Sub("warehouse");
  auto engine = SqlEngine::Create(o);
  ASSERT_TRUE(engine.ok());
  auto session = (*engine)->NewSession();
  ASSERT_TRUE(session->Execute("CREATE DATABASE kubelake").ok());
  bool rewrite = std::getenv("KUBELAKE_SLT_REWRITE") != nullptr;
  std::vector<std::pair<size_t, std::vector<std::string>>> rewrites;  // (record index, new result lines)
  int checked = 0;
  for (size_t k = 0; k < records.size(); ++k) {
    const Record& r = records[k];
    std::string where = GetParam() + ":" + std::to_string(r.line);
    std::string sql = r.sql;
    // ${TEST_DIR}: the file's scratch directory (for CREATE CATALOG warehouses).
    for (size_t p; (p = sql.find("${TEST_DIR}")) != std::string::npos;) sql.replace(p, 11, dir.path());
    auto result = session->Execute(sql);
    ++checked;
    switch (r.kind) {
      case Record::kStatementOk:
        EXPECT_TRUE(result.ok()) << where << ": " << result.status().ToString() << "\n" << sql;
        break;
      case Record::kStatementError:
        if (result.ok()) {
          ADD_FAILURE() << where << ": expected an error containing '" << r.expected_error << "'\n" << sql;
        } else {
          EXPECT_NE(result.status().message().find(r.expected_error), std::string::npos)
              << where << ": error\n  " << result.status().message() << "\nlacks '" << r.expected_error << "'";
        }
        break;
      case Record::kQuery: {
        if (!result.ok()) {
          ADD_FAILURE() << where << ": " << result.status().ToString() << "\n" << sql;
          break;
        }
        EXPECT_EQ(result->columns.size(), r.types.size()) << where << ": column count";
        std::vector<std::string> got;
        for (const auto& row : result->Rows()) {
          std::vector<std::string> cells;
          for (size_t c = 0; c < row.size(); ++c) cells.push_back(Cell(row[c], result->columns.type(c)));
          got.push_back(Join(cells, "\t"));
        }
        std::vector<std::string> want = r.expected;
        if (r.rowsort) {
          std::sort(got.begin(), got.end());
          std::sort(want.begin(), want.end());
        }
        if (rewrite) {
          rewrites.push_back({k, got});
        } else {
          EXPECT_EQ(Join(got, "\n"), Join(want, "\n")) << where << "\n" << sql;
        }
        break;
      }
    }
  }
  EXPECT_GT(checked, 0);
  if (rewrite && !rewrites.empty()) {
    std::vector<std::string> out;
    size_t next = 0;
    for (const auto& [k, got] : rewrites) {
      const Record& r = records[k];
      for (; next < r.sql_end_line; ++next) out.push_back(lines[next]);
      out.push_back("----");
      for (const auto& g : got) out.push_back(g);
      next = r.result_end_line;
    }
    for (; next < lines.size(); ++next) out.push_back(lines[next]);
    std::ofstream f(path);
    f << Join(out, "\n");
  }
}

INSTANTIATE_TEST_SUITE_P(Files, SqlLogicTest, ::testing::ValuesIn(TestFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           for (auto& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace kl::sql
