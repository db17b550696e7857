// Prepared statements run again with other values reuse their plan, and answer exactly
// what a session that plans them afresh answers: for many values (NULL, values that
// prune everything, values of other types), for plans that must not be reused (values
// folded or read while binding, subqueries), and after the tables changed.
#include "sql/planner/plan_cache.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "sql/sql_test_util.h"
#include "table/table.h"

namespace kl::sql {
namespace {

using format::DataType;
using format::Datum;
using Params = std::vector<Datum>;
using Types = std::vector<std::optional<DataType>>;

// A result as text: the columns' names and types, then the rows in their order, or the error.
std::vector<std::string> Answer(SqlSession* session, const std::string& sql, const Params& params,
                                const Types& types = {}) {
  auto r = session->Execute(sql, params, types);
  if (!r.ok()) return {"error: " + r.status().message()};
  std::vector<std::string> out;
  std::string header;
  for (size_t c = 0; c < r->columns.size(); ++c) {
    header += r->columns.field(c).name + " " + r->columns.type(c).ToString() + ";";
  }
  out.push_back(header);
  AppendRowsAsText(*r, &out);
  return out;
}

std::string Show(const Params& params) {
  std::vector<std::string> parts;
  for (const auto& p : params) parts.push_back(p.is_null() ? "NULL" : format::DatumDebugString(p));
  return "(" + Join(parts, ", ") + ")";
}

class PlanCacheTest : public SqlEngineFixture {
 protected:
  void SetUp() override {
    SqlEngineFixture::SetUp();
    if (HasFatalFailure()) return;
    Run(session_.get(),
        "CREATE TABLE t (id BIGINT, name STRING, grp INT, price DOUBLE, ts TIMESTAMP(3), flag BOOLEAN, "
        "day STRING, PRIMARY KEY (day, id) NOT ENFORCED) PARTITIONED BY (day) WITH ('bucket' = '2')");
    std::string values;
    for (int i = 0; i < 60; ++i) {
      values += std::string(i ? ", " : "") + "(" + std::to_string(i) + ", 'n" + std::to_string(i % 7) + "', " +
                (i % 5 == 0 ? "NULL" : std::to_string(i % 4)) + ", " + std::to_string(i * 1.5) +
                ", TIMESTAMP '2024-01-0" + std::to_string(1 + i % 9) + " 10:00:00', " + (i % 3 ? "TRUE" : "FALSE") +
                ", 'd" + std::to_string(i % 3) + "')";
    }
    Run(session_.get(), "INSERT INTO t VALUES " + values);
    Run(session_.get(), "CREATE TABLE u (id BIGINT, label STRING) WITH ('bucket' = '3', 'bucket-key' = 'id')");
    Run(session_.get(), "INSERT INTO u VALUES (1, 'one'), (2, 'two'), (7, 'seven'), (14, 'fourteen'), (500, 'far')");
  }
  void Run(SqlSession* s, const std::string& sql) {
    auto r = s->Execute(sql);
    ASSERT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
  }

  // Runs `sql` with each of `values` in one session (twice over, the second time in reverse
  // order) and checks each answer against a new session's; returns the plans reused.
  int64_t Check(const std::string& sql, const std::vector<Params>& values, const Types& types = {},
                const std::string& dialect = "") {
    auto cached = engine_->NewSession();
    if (!dialect.empty()) (void)cached->Set(kDialectSetting, dialect);
    std::vector<Params> order = values;
    order.insert(order.end(), values.rbegin(), values.rend());
    for (const auto& p : order) {
      auto fresh = engine_->NewSession();
      if (!dialect.empty()) (void)fresh->Set(kDialectSetting, dialect);
      auto want = Answer(fresh.get(), sql, p, types);
      EXPECT_EQ(fresh->plans_reused(), 0);
      EXPECT_EQ(Answer(cached.get(), sql, p, types), want) << sql << " with " << Show(p);
    }
    return cached->plans_reused();
  }
};

TEST_F(PlanCacheTest, ReusedPlansAnswerAsFreshOnes) {
  // Plans that hold for any values of the parameters' types: reused.
  EXPECT_GT(Check("SELECT id, name FROM t WHERE id = $1",
                  {{Datum::Int(5)}, {Datum::Int(-1)}, {Datum::Int(59)}, {Datum()}, {Datum::Int(5)}, {Datum::Int(12)}}),
            3);
  EXPECT_GT(
      Check("SELECT id, grp FROM t WHERE day = $1 AND grp > $2 ORDER BY id", {{Datum::Bytes("d1"), Datum::Int(1)},
                                                                              {Datum::Bytes("nope"), Datum::Int(0)},
                                                                              {Datum::Bytes("d2"), Datum::Int(-5)},
                                                                              {Datum::Bytes("d0"), Datum()},
                                                                              {Datum::Bytes("d0"), Datum::Int(2)}}),
      3);
  EXPECT_GT(Check("SELECT count(*), sum(price), min(name) FROM t WHERE id IN ($1, $2, $3)",
                  {{Datum::Int(1), Datum::Int(2), Datum::Int(3)},
                   {Datum::Int(4), Datum::Int(4), Datum::Int(4)},
                   {Datum::Int(100), Datum::Int(-3), Datum::Int(7)},
                   {Datum::Int(9), Datum(), Datum::Int(10)},
                   {Datum::Int(58), Datum::Int(0), Datum::Int(30)}}),
            3);
  EXPECT_GT(Check("SELECT t.id, t.name, u.label FROM t LEFT JOIN u ON t.id = u.id WHERE t.name = $1 ORDER BY 1",
                  {{Datum::Bytes("n0")}, {Datum::Bytes("n1")}, {Datum::Bytes("zz")}, {Datum::Bytes("n0")}}),
            3);
  EXPECT_GT(Check("SELECT id, $1 AS tag, grp * $2 AS g FROM t WHERE id < $2 ORDER BY id",
                  {{Datum::Bytes("a"), Datum::Int(3)},
                   {Datum::Bytes("b"), Datum::Int(0)},
                   {Datum::Bytes("c"), Datum::Int(8)},
                   {Datum::Bytes("d"), Datum()}},
                  {DataType::String(), DataType::BigInt()}),
            3);
  // Expressions matched by their text (GROUP BY, ORDER BY) match by parameter, not by value.
  EXPECT_GT(Check("SELECT name || $1 AS k, count(*) AS n FROM t GROUP BY name || $1 ORDER BY name || $1",
                  {{Datum::Bytes("x")}, {Datum::Bytes("y")}, {Datum::Bytes("x")}}),
            3);
  EXPECT_EQ(Check("SELECT name || $1 AS k, count(*) AS n FROM t GROUP BY name || $2",
                  {{Datum::Bytes("x"), Datum::Bytes("x")}, {Datum::Bytes("x"), Datum::Bytes("y")}}),
            0);
  EXPECT_GT(Check("SELECT grp, count(*) AS n FROM t WHERE price >= $1 GROUP BY grp HAVING count(*) > $2 ORDER BY grp",
                  {{Datum::Double(10.0), Datum::Int(2)},
                   {Datum::Double(-1.0), Datum::Int(0)},
                   {Datum::Double(1e9), Datum::Int(0)},
                   {Datum::Double(30.5), Datum::Int(5)}}),
            3);
  EXPECT_GT(Check("SELECT id FROM t WHERE ts >= $1 AND flag = $2 ORDER BY id",
                  {{Datum::Time({1704103200000, 0}), Datum::Bool(true)},
                   {Datum::Time({1704103200000, 0}), Datum::Bool(false)},
                   {Datum::Time({0, 0}), Datum::Bool(true)},
                   {Datum::Time({4102444800000, 0}), Datum::Bool(true)}}),
            3);
  EXPECT_GT(Check("SELECT id FROM t WHERE id BETWEEN $1 AND $2 OR name = $3 ORDER BY id",
                  {{Datum::Int(3), Datum::Int(6), Datum::Bytes("n2")},
                   {Datum::Int(6), Datum::Int(3), Datum::Bytes("none")},
                   {Datum::Int(0), Datum::Int(100), Datum::Bytes("n2")}}),
            3);
  // Parameters of other kinds than the first execution's: planned again for those.
  EXPECT_GT(Check("SELECT id, price FROM t WHERE price > $1 ORDER BY id",
                  {{Datum::Double(80.0)}, {Datum::Int(85)}, {Datum::Double(85.5)}, {Datum::Int(70)}}),
            1);
  // Declared types (as a PostgreSQL client's Parse gives them) and the PostgreSQL dialect.
  EXPECT_GT(Check("SELECT id, name FROM t WHERE id = $1 AND day = $2",
                  {{Datum::Int(4), Datum::Bytes("d1")}, {Datum::Int(4), Datum::Bytes("d0")}, {Datum::Int(6), Datum()}},
                  {DataType::BigInt(), DataType::String()}, "postgresql"),
            1);
  // An array parameter (= ANY), empty and with a NULL element included.
  EXPECT_EQ(Check("SELECT id FROM t WHERE id = ANY($1) ORDER BY id",
                  {{Datum::List({Datum::Int(1), Datum::Int(5)})},
                   {Datum::List({})},
                   {Datum::List({Datum::Int(59), Datum(), Datum::Int(2)})}},
                  {DataType::Array(DataType::BigInt())}, "postgresql"),
            5);
  EXPECT_GT(Check("SELECT id FROM t WHERE grp = $1 ORDER BY id NULLS FIRST",
                  {{Datum::Int(1)}, {Datum::Int(3)}, {Datum::Int(9)}}, {DataType::Int()}, "postgresql"),
            3);
}

TEST_F(PlanCacheTest, ValueDependentPlansAreNotReused) {
  // LIMIT, a folded function or cast of a parameter, a function's constant argument (a LIKE
  // pattern), a string parameter cast to the column's type, a subquery (runs change it).
  EXPECT_EQ(Check("SELECT id FROM t WHERE name = $1 ORDER BY id LIMIT $2", {{Datum::Bytes("n3"), Datum::Int(2)},
                                                                            {Datum::Bytes("n3"), Datum::Int(0)},
                                                                            {Datum::Bytes("n4"), Datum::Int(9)}}),
            0);
  EXPECT_EQ(Check("SELECT upper($1) AS u, id FROM t WHERE id < 3 ORDER BY id",
                  {{Datum::Bytes("a")}, {Datum::Bytes("b")}, {Datum::Bytes("c")}}),
            0);
  EXPECT_EQ(Check("SELECT CAST($1 AS INT) + grp AS g FROM t WHERE id = 1", {{Datum::Bytes("5")}, {Datum::Bytes("7")}}),
            0);
  EXPECT_EQ(Check("SELECT id FROM t WHERE name LIKE $1 ORDER BY id",
                  {{Datum::Bytes("n1%")}, {Datum::Bytes("%2")}, {Datum::Bytes("n_")}}),
            0);
  EXPECT_EQ(Check("SELECT id FROM t WHERE id = $1", {{Datum::Bytes("5")}, {Datum::Bytes("6")}, {Datum::Bytes("x")}}),
            0);
  EXPECT_EQ(Check("SELECT id FROM t WHERE grp IN (SELECT grp FROM t WHERE id = $1) ORDER BY id",
                  {{Datum::Int(1)}, {Datum::Int(2)}, {Datum::Int(5)}}),
            0);
  EXPECT_EQ(Check("SELECT id, rn FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY day ORDER BY id DESC) AS rn FROM t) "
                  "WHERE rn <= $1 ORDER BY id",
                  {{Datum::Int(1)}, {Datum::Int(3)}}),
            0);
  // Without parameters a statement is planned each time.
  EXPECT_EQ(Check("SELECT count(*) FROM t WHERE id > 10", {{}, {}}), 0);
}

TEST_F(PlanCacheTest, ChangedTablesAreSeenByTheNextExecution) {
  auto s = engine_->NewSession();
  auto writer = engine_->NewSession();
  const std::string sql = "SELECT * FROM w WHERE id >= $1 ORDER BY id";
  Run(writer.get(), "CREATE TABLE w (id BIGINT, v STRING, PRIMARY KEY (id) NOT ENFORCED)");
  Run(writer.get(), "INSERT INTO w VALUES (1, 'a'), (2, 'b')");
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(0)}),
            (std::vector<std::string>{"id BIGINT NOT NULL;v STRING;", "1|a", "2|b"}));
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(2)}), (std::vector<std::string>{"id BIGINT NOT NULL;v STRING;", "2|b"}));
  EXPECT_EQ(s->plans_reused(), 1);
  // A commit: the same plan, the new rows.
  Run(writer.get(), "INSERT INTO w VALUES (3, 'c'), (2, 'B')");
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(2)}),
            (std::vector<std::string>{"id BIGINT NOT NULL;v STRING;", "2|B", "3|c"}));
  EXPECT_EQ(s->plans_reused(), 2);
  // A column added: planned again, with it.
  Run(writer.get(), "ALTER TABLE w ADD extra INT");
  Run(writer.get(), "INSERT INTO w VALUES (4, 'd', 40)");
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(3)}),
            (std::vector<std::string>{"id BIGINT NOT NULL;v STRING;extra INT;", "3|c|NULL", "4|d|40"}));
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(4)}),
            (std::vector<std::string>{"id BIGINT NOT NULL;v STRING;extra INT;", "4|d|40"}));
  EXPECT_EQ(s->plans_reused(), 3);
  // Dropped and made again under the same name, by another engine (another process's catalog).
  EngineOptions o;
  o.warehouse = dir_.Sub("warehouse");
  auto other = SqlEngine::Create(o);
  ASSERT_TRUE(other.ok());
  auto remote = (*other)->NewSession();
  Run(remote.get(), "DROP TABLE kubelake.w");
  Run(remote.get(), "CREATE TABLE kubelake.w (id BIGINT, label STRING, n DOUBLE, PRIMARY KEY (id) NOT ENFORCED)");
  Run(remote.get(), "INSERT INTO kubelake.w VALUES (7, 'x', 0.5)");
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(4)}),
            (std::vector<std::string>{"id BIGINT NOT NULL;label STRING;n DOUBLE;", "7|x|0.5"}));
  Run(remote.get(), "DROP TABLE kubelake.w");
  auto gone = Answer(s.get(), sql, {Datum::Int(4)});
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_NE(gone[0].find("does not exist"), std::string::npos) << gone[0];
  // A temporary view of that name now: read through the view.
  Run(s.get(), "CREATE TEMPORARY VIEW w AS SELECT id, name AS v FROM t WHERE id < 3");
  auto view = Answer(s.get(), sql, {Datum::Int(1)});
  EXPECT_EQ(std::vector<std::string>(view.begin() + 1, view.end()), (std::vector<std::string>{"1|n1", "2|n2"}));
  // The session's settings and current database are part of what a plan was made under.
  Run(s.get(), "CREATE DATABASE other");
  Run(s.get(), "CREATE TABLE other.w (id BIGINT, v STRING)");
  Run(s.get(), "INSERT INTO other.w VALUES (10, 'other')");
  Run(s.get(), "USE other");
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(1)}), (std::vector<std::string>{"id BIGINT;v STRING;", "10|other"}));
}

// A kept plan's tables are checked on each execution as their names resolve: a temporary
// view made under the name of a table that still exists is what the next execution reads,
// in that session only, and the table again once the view is dropped.
TEST_F(PlanCacheTest, TemporaryViewsOverTablesAreSeenByTheNextExecution) {
  auto s = engine_->NewSession();
  auto other = engine_->NewSession();
  const std::string sql = "SELECT id, label FROM u WHERE id >= $1 ORDER BY id";
  const std::vector<std::string> from_u = {"id BIGINT;label STRING;", "14|fourteen", "500|far"};
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(7)}),
            (std::vector<std::string>{"id BIGINT;label STRING;", "7|seven", "14|fourteen", "500|far"}));
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(8)}), from_u);
  EXPECT_EQ(s->plans_reused(), 1);
  Run(s.get(), "CREATE TEMPORARY VIEW u AS SELECT id, name AS label FROM t WHERE id < 3");
  auto view = Answer(s.get(), sql, {Datum::Int(1)});
  EXPECT_EQ(std::vector<std::string>(view.begin() + 1, view.end()), (std::vector<std::string>{"1|n1", "2|n2"}));
  EXPECT_EQ(s->plans_reused(), 1);
  EXPECT_EQ(Answer(other.get(), sql, {Datum::Int(8)}), from_u);
  Run(s.get(), "DROP TEMPORARY VIEW u");
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(8)}), from_u);
  EXPECT_EQ(Answer(s.get(), sql, {Datum::Int(8)}), from_u);
  EXPECT_EQ(s->plans_reused(), 2);
}

// A join's table of its right input (a dimension joined to look-ups) kept between
// executions of a reused plan is that of the tables' current snapshots: commits to the
// dimension (new rows, a row updated, rows removed by an overwrite, by this engine and by
// another one on the same warehouse) and to the look-up's table between executions are seen
// by the very next execution, exactly as a new session sees them.
TEST_F(PlanCacheTest, KeptJoinTablesFollowCommits) {
  auto s = engine_->NewSession();
  auto writer = engine_->NewSession();
  EngineOptions o;
  o.warehouse = dir_.Sub("warehouse");
  auto other = SqlEngine::Create(o);
  ASSERT_TRUE(other.ok());
  auto remote = (*other)->NewSession();
  Run(writer.get(), "SET 'execution.runtime-mode' = 'batch'");  // for INSERT OVERWRITE
  Run(writer.get(), "CREATE TABLE dim (id INT, label STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('bucket' = '2')");
  Run(writer.get(), "INSERT INTO dim VALUES (0, 'zero'), (1, 'one'), (2, 'two')");
  const std::string sql =
      "SELECT t.id, t.grp, z.label, z.n FROM t LEFT JOIN "
      "(SELECT id, MAX(COALESCE(label, '')) AS label, COUNT(*) AS n FROM dim GROUP BY id) z "
      "ON t.grp = z.id WHERE t.id < $1 ORDER BY 1";
  struct Step {
    SqlSession* by;
    std::string write;
    const char* expect;  // text the answer holds after the write
  };
  std::vector<Step> steps = {
      {nullptr, "", "two"},
      {nullptr, "", "two"},
      {nullptr, "", "two"},
      {nullptr, "", "two"},
      {writer.get(), "INSERT INTO dim VALUES (3, 'three')", "three"},
      {nullptr, "", "three"},
      {nullptr, "", "three"},
      {nullptr, "", "three"},
      {writer.get(), "INSERT INTO dim VALUES (1, 'uno')", "uno"},
      {nullptr, "", "uno"},
      {nullptr, "", "uno"},
      {remote.get(), "INSERT INTO kubelake.dim VALUES (2, 'dos')", "dos"},
      {nullptr, "", "dos"},
      {nullptr, "", "dos"},
      {nullptr, "", "dos"},
      {writer.get(), "INSERT OVERWRITE dim VALUES (0, 'cero'), (1, NULL)", "cero"},
      {nullptr, "", "cero"},
      {nullptr, "", "cero"},
      {writer.get(), "INSERT INTO t VALUES (-1, 'new', 3, 0.0, TIMESTAMP '2024-01-01 00:00:00', TRUE, 'd9')",
       "-1|3|NULL"},
      {nullptr, "", "cero"},
      {nullptr, "", "cero"},
      {remote.get(), "INSERT INTO kubelake.dim VALUES (3, 'tres')", "tres"},
      {nullptr, "", "tres"},
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    if (step.by) Run(step.by, step.write);
    Params p = {Datum::Int(static_cast<int64_t>(12 + i % 5))};
    auto fresh = engine_->NewSession();
    auto want = Answer(fresh.get(), sql, p);
    auto got = Answer(s.get(), sql, p);
    EXPECT_EQ(got, want) << "step " << i << " after '" << step.write << "'";
    EXPECT_NE(Join(got, "\n").find(step.expect), std::string::npos) << "step " << i << ": " << Join(got, "\n");
  }
  EXPECT_EQ(s->plans_reused(), static_cast<int64_t>(steps.size()) - 1);
  // Each run of unchanged snapshots past its first two executions took the kept table.
  EXPECT_GE(s->join_tables_reused(), 5);
  // A right input that reads a parameter is never kept: its table differs by value.
  auto t = engine_->NewSession();
  const std::string by_value =
      "SELECT t.id, z.label FROM t JOIN (SELECT id, label FROM dim WHERE id <> $1) z ON t.grp = z.id "
      "WHERE t.id < 12 ORDER BY 1";
  for (int64_t v : {0, 1, 3, 0, 1, 3, 2, 2, 2}) {
    auto fresh = engine_->NewSession();
    EXPECT_EQ(Answer(t.get(), by_value, {Datum::Int(v)}), Answer(fresh.get(), by_value, {Datum::Int(v)})) << v;
  }
  EXPECT_GT(t->plans_reused(), 0);
  EXPECT_EQ(t->join_tables_reused(), 0);
}

// What a kept join table is made from: a Paimon source names its current snapshot, and a
// scan given that snapshot reads exactly it, commits after it notwithstanding.
TEST_F(PlanCacheTest, ScansReadTheSnapshotTheyAreGiven) {
  Run(session_.get(), "CREATE TABLE pinned (id BIGINT, v STRING, PRIMARY KEY (id) NOT ENFORCED)");
  Run(session_.get(), "INSERT INTO pinned VALUES (1, 'a'), (2, 'b')");
  auto table = table::Catalog(dir_.Sub("warehouse")).GetTable("kubelake", "pinned");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto source = NewPaimonSource(*table, {});
  auto first = source->CurrentSnapshot();
  ASSERT_TRUE(first.ok() && *first);
  Run(session_.get(), "INSERT INTO pinned VALUES (2, 'B'), (3, 'c')");
  auto second = source->CurrentSnapshot();
  ASSERT_TRUE(second.ok() && *second);
  EXPECT_GT((*second)->id, (*first)->id);
  auto read = [&](std::shared_ptr<const table::Snapshot> snapshot) {
    ScanRequest r;
    r.columns = {0, 1};
    r.snapshot = std::move(snapshot);
    ExecContext ctx;
    std::string rows;
    auto reader = source->Open(r, ctx);
    if (!reader.ok()) return "error: " + reader.status().ToString();
    format::ColumnBatch b;
    while (true) {
      auto more = (*reader)->Next(&b);
      if (!more.ok()) return "error: " + more.status().ToString();
      if (!*more) break;
      for (size_t i = 0; i < b.num_rows(); ++i) {
        rows += std::to_string(b.column(0).GetInt(i)) + "=" + std::string(b.column(1).GetBytes(i)) + " ";
      }
    }
    return rows;
  };
  EXPECT_EQ(read(*first), "1=a 2=b ");
  EXPECT_EQ(read(*second), "1=a 2=B 3=c ");
  EXPECT_EQ(read(nullptr), "1=a 2=B 3=c ");
  // Reads as of a time or with options name no snapshot (nothing is kept from them).
  ReadOptions as_of;
  as_of.as_of_millis = NowMillis();
  auto travel = NewPaimonSource(*table, as_of)->CurrentSnapshot();
  ASSERT_TRUE(travel.ok());
  EXPECT_EQ(*travel, nullptr);
}

}  // namespace
}  // namespace kl::sql
