// Streaming INSERT jobs end to end through SqlSession: Paimon tables followed
// as changelogs, the event log as a table, sinks per merge engine, restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/string_util.h"
#include "common/test_util.h"
#include "log/event_log.h"
#include "sql/functions/cast.h"
#include "sql/sql.h"

namespace kl::sql {
namespace {

class StreamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.warehouse = dir_.Sub("warehouse");
    auto e = SqlEngine::Create(o);
    ASSERT_TRUE(e.ok());
    engine_ = *e;
    session_ = engine_->NewSession();
    Exec("CREATE DATABASE kubelake");
    Exec("SET 'execution.checkpointing.interval' = '100 ms'");
  }
  void TearDown() override { engine_->StopJobs(); }

  StatementResult Exec(const std::string& sql) {
    auto r = session_->Execute(sql);
    EXPECT_TRUE(r.ok()) << sql << "\n" << r.status().ToString();
    return r.ok() ? *r : StatementResult();
  }
  Status Try(const std::string& sql) { return session_->Execute(sql).status(); }

  // Rows of a query as sorted text lines.
  std::vector<std::string> Rows(const std::string& sql) {
    auto r = session_->Execute(sql);
    EXPECT_TRUE(r.ok()) << sql << "\n" << r.status().ToString();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    ExecContext ctx;
    for (const auto& row : r->Rows()) {
      std::vector<std::string> cells;
      for (size_t c = 0; c < row.size(); ++c) {
        cells.push_back(row[c].is_null() ? "NULL" : ValueToText(ctx, row[c], r->columns.type(c)));
      }
      out.push_back(Join(cells, "|"));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Waits until job `name` has read and committed everything available since now.
  void WaitCaughtUp(const std::string& name, int64_t timeout_ms = 20000) {
    int64_t since = NowMillis();
    int64_t deadline = since + timeout_ms;
    while (NowMillis() < deadline) {
      for (const auto& j : engine_->Jobs()) {
        if (j.name != name) continue;
        ASSERT_FALSE(j.status.failed) << name << ": " << j.status.last_error;
        if (j.status.last_caught_up_ms > since + 50) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "job " << name << " did not catch up";
  }

  std::string JobError(const std::string& name, int64_t timeout_ms = 20000) {
    int64_t deadline = NowMillis() + timeout_ms;
    while (NowMillis() < deadline) {
      for (const auto& j : engine_->Jobs()) {
        if (j.name == name && j.status.failed) return j.status.last_error;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "";
  }

  kl::testing::TempDir dir_;
  std::shared_ptr<SqlEngine> engine_;
  std::unique_ptr<SqlSession> session_;
};

TEST_F(StreamingTest, FollowsAnAppendTableIntoAPrimaryKeyTable) {
  Exec("CREATE TABLE src (k STRING, v INT)");
  Exec("CREATE TABLE dst (k STRING PRIMARY KEY NOT ENFORCED, v INT)");
  Exec("INSERT INTO src VALUES ('a', 1), ('b', 2)");
  Exec("SET 'pipeline.name' = 'copy'");
  auto r = Exec("INSERT INTO dst SELECT k, v * 10 FROM src WHERE v > 0");
  EXPECT_EQ(r.message, "Job 'copy' started");
  WaitCaughtUp("copy");
  EXPECT_EQ(Rows("SELECT * FROM dst"), (std::vector<std::string>{"a|10", "b|20"}));
  Exec("INSERT INTO src VALUES ('a', 3), ('c', -1), ('d', 4)");
  WaitCaughtUp("copy");
  EXPECT_EQ(Rows("SELECT * FROM dst"), (std::vector<std::string>{"a|30", "b|20", "d|40"}));
  auto jobs = Rows("SHOW JOBS");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_NE(jobs[0].find("copy|RUNNING"), std::string::npos) << jobs[0];
}

}  // namespace
}  // namespace kl::sql
