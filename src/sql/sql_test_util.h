// Helpers for tests of the SQL engine: a fixture with an engine over a scratch
// warehouse, one session and the database `kubelake`, and a query's rows as
// sorted text lines to compare with what a test expects.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "sql/functions/cast.h"
#include "sql/sql.h"

namespace kl::sql {

// Appends the rows of `r` in their order as text lines, cells joined by '|' ("NULL"
// for nulls).
inline void AppendRowsAsText(const StatementResult& r, std::vector<std::string>* out) {
  ExecContext ctx;
  for (const auto& row : r.Rows()) {
    std::vector<std::string> cells;
    for (size_t c = 0; c < row.size(); ++c) {
      cells.push_back(row[c].is_null() ? "NULL" : ValueToText(ctx, row[c], r.columns.type(c)));
    }
    out->push_back(Join(cells, "|"));
  }
}

// The rows of `sql` as text lines (AppendRowsAsText), sorted; a failed query fails
// the test and gives no rows.
inline std::vector<std::string> SortedRows(SqlSession* session, const std::string& sql) {
  auto r = session->Execute(sql);
  EXPECT_TRUE(r.ok()) << sql << "\n" << r.status().ToString();
  std::vector<std::string> out;
  if (!r.ok()) return out;
  AppendRowsAsText(*r, &out);
  std::sort(out.begin(), out.end());
  return out;
}

// A fixture: an engine over <scratch>/warehouse and a session on it in which the
// database `kubelake` exists. A derived SetUp calls this one first and returns
// when it failed (HasFatalFailure()).
class SqlEngineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.warehouse = dir_.Sub("warehouse");
    auto e = SqlEngine::Create(o);
    ASSERT_TRUE(e.ok());
    engine_ = *e;
    session_ = engine_->NewSession();
    auto created = session_->Execute("CREATE DATABASE kubelake");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  kl::testing::TempDir dir_;
  std::shared_ptr<SqlEngine> engine_;
  std::unique_ptr<SqlSession> session_;
};

}  // namespace kl::sql
