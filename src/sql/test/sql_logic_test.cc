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
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
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

// Streaming = batch: every query of the files that reads tables and that a
// streaming job can run is run as one — INSERT INTO a 'print' table that keeps
// its changelog — and the changelog, materialised (+I/+U add a row, -U/-D take
// one away), must equal the batch result. A top-level ORDER BY without LIMIT is
// dropped for the streaming run (results are compared as multisets).
class StreamingMatchesBatch : public ::testing::TestWithParam<std::string> {};

// The query without a trailing top-level ORDER BY (when no LIMIT follows it).
std::string WithoutFinalOrderBy(const std::string& sql) {
  std::string upper = sql;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int depth = 0;
  size_t last = std::string::npos;
  bool in_string = false;
  for (size_t i = 0; i < upper.size(); ++i) {
    char c = upper[i];
    if (c == '\'') in_string = !in_string;
    if (in_string) continue;
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && upper.compare(i, 8, "ORDER BY") == 0) last = i;
  }
  if (last == std::string::npos) return sql;
  std::string tail = upper.substr(last);
  if (tail.find("LIMIT") != std::string::npos || tail.find("FETCH") != std::string::npos) return sql;
  return sql.substr(0, last);
}

TEST_P(StreamingMatchesBatch, Run) {
  std::string path = JoinPath(SourceTestDir(), GetParam());
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  std::string parse_error;
  auto records = Parse(Split(*text, '\n'), &parse_error);
  ASSERT_TRUE(parse_error.empty());
  kl::testing::TempDir dir;
  EngineOptions o;
  o.warehouse = dir.Sub("warehouse");
  auto engine = SqlEngine::Create(o);
  ASSERT_TRUE(engine.ok());
  auto batch = (*engine)->NewSession();
  auto streaming = (*engine)->NewSession();
  ASSERT_TRUE(batch->Execute("CREATE DATABASE kubelake").ok());
  ASSERT_TRUE(batch->Execute("SET 'execution.runtime-mode' = 'batch'").ok());
  ASSERT_TRUE(streaming->Execute("SET 'execution.checkpointing.interval' = '50 ms'").ok());
  int compared = 0, skipped = 0;
  for (const Record& r : records) {
    std::string sql = r.sql;
    for (size_t p; (p = sql.find("${TEST_DIR}")) != std::string::npos;) sql.replace(p, 11, dir.path());
    if (r.kind != Record::kQuery) {
      (void)batch->Execute(sql);
      // What lives in a session (temporary tables and views, the current database) goes to both.
      std::string head(Trim(sql).substr(0, 16));
      for (auto& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (head.rfind("CREATE TEMPORARY", 0) == 0 || head.rfind("DROP TEMPORARY", 0) == 0 ||
          head.rfind("USE ", 0) == 0) {
        (void)streaming->Execute(sql);
      }
      continue;
    }
    auto want = batch->Execute(sql);
    if (!want.ok() || !want->has_rows) continue;
    if (sql.find("scan.snapshot-id") != std::string::npos || sql.find("scan.timestamp") != std::string::npos) {
      ++skipped;  // in a streaming job these name where reading starts, not the snapshot read
      continue;
    }
    std::string stream_sql = WithoutFinalOrderBy(sql);
    auto columns = streaming->Describe(stream_sql);
    if (!columns.ok() || columns->size() == 0) {
      ++skipped;
      continue;
    }
    bool storable = true;  // a print table's columns: an interval is no column type
    for (size_t c = 0; c < columns->size(); ++c)
      storable = storable && columns->type(c).root() != format::TypeRoot::kInterval;
    if (!storable) {
      ++skipped;
      continue;
    }
    std::string name = "q" + std::to_string(r.line);
    std::string changelog = dir.Sub(name + ".changelog");
    std::vector<std::string> defs;
    for (size_t c = 0; c < columns->size(); ++c) {
      defs.push_back("c" + std::to_string(c) + " " + columns->type(c).WithNullable(true).ToString());
    }
    auto created = streaming->Execute("CREATE TEMPORARY TABLE " + name + " (" + Join(defs, ", ") +
                                      ") WITH ('connector' = 'print', 'kubelake.path' = '" + changelog + "')");
    ASSERT_TRUE(created.ok()) << GetParam() << ":" << r.line << " " << created.status().ToString();
    ASSERT_TRUE(streaming->Execute("SET 'pipeline.name' = '" + name + "'").ok());
    int64_t started = NowMillis();
    auto job = streaming->Execute("INSERT INTO " + name + " " + stream_sql);
    if (!job.ok() || job->message.rfind("Job ", 0) != 0) {
      // Not a streaming shape (no table read, ORDER BY without LIMIT, windows, ...).
      ++skipped;
      continue;
    }
    bool caught_up = false;
    std::string failure;
    // Up to a minute: a busy machine (tests in parallel, sanitizers) can be slow to start a job.
    for (int i = 0; i < 6000 && !caught_up && failure.empty(); ++i) {
      for (const auto& j : (*engine)->Jobs()) {
        if (j.name != name) continue;
        if (j.status.failed) failure = j.status.last_error;
        caught_up = j.status.last_caught_up_ms > started + 30;
      }
      if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    (void)(*engine)->StopJob(name);
    std::string where = GetParam() + ":" + std::to_string(r.line);
    if (!failure.empty()) {
      // Failing where the batch query succeeds is a mismatch too.
      ADD_FAILURE() << where << ": the streaming job failed: " << failure << "\n" << sql;
      continue;
    }
    ASSERT_TRUE(caught_up) << where;
    // Materialise the changelog.
    std::multiset<std::string> got;
    auto lines = ReadFile(changelog);
    bool bad_retraction = false;
    if (lines.ok()) {
      for (const auto& line : Split(*lines, '\n', true)) {
        std::string kind = line.substr(0, 2);
        std::string row = line.size() > 3 ? line.substr(3) : "";
        if (kind == "+I" || kind == "+U") {
          got.insert(row);
        } else {
          auto it = got.find(row);
          if (it == got.end()) {
            bad_retraction = true;
          } else {
            got.erase(it);
          }
        }
      }
    }
    EXPECT_FALSE(bad_retraction) << where << ": a retraction of a row never emitted\n" << sql;
    std::multiset<std::string> expected;
    ExecContext ctx;
    for (const auto& row : want->Rows()) {
      std::vector<std::string> cells;
      for (size_t c = 0; c < row.size(); ++c) {
        if (row[c].is_null()) {
          cells.push_back("\\N");
          continue;
        }
        std::string v = ValueToText(ctx, row[c], want->columns.type(c));
        std::string esc;
        for (char ch : v) {
          if (ch == '\\') {
            esc += "\\\\";
          } else if (ch == '\t') {
            esc += "\\t";
          } else if (ch == '\n') {
            esc += "\\n";
          } else {
            esc.push_back(ch);
          }
        }
        cells.push_back(esc);
      }
      expected.insert(Join(cells, "\t"));
    }
    EXPECT_EQ(Join(std::vector<std::string>(got.begin(), got.end()), "\n"),
              Join(std::vector<std::string>(expected.begin(), expected.end()), "\n"))
        << where << "\n"
        << stream_sql;
    ++compared;
  }
  std::printf("%s: %d queries compared streaming = batch, %d are not streaming shapes\n", GetParam().c_str(), compared,
              skipped);
}

INSTANTIATE_TEST_SUITE_P(Files, StreamingMatchesBatch, ::testing::ValuesIn(TestFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           for (auto& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

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
