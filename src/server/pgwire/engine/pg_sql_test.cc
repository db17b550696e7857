// The PostgreSQL server on kubelake's SQL engine, over a warehouse built by
// the pipeline's own table definitions: libpq from C++ (simple and extended
// queries, parameter types inferred by Describe, binary results, SQLSTATEs
// and positions, read-only refusals, search_path), psql's \dt, \d, \l, \dn,
// \df against the text a real PostgreSQL 15 prints for an equivalent table
// (and, when the Debian postgresql server can be started here, against that
// server live), and Python clients (testing/engine_clients.py: psycopg2,
// psycopg 3, SQLAlchemy reflection, Grafana's, Metabase's and pgjdbc's
// catalog queries).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <regex>

#include "common/file/file_util.h"
#include "common/string_util.h"
#include "common/testing/test_system_util.h"
#include "common/testing/test_util.h"
#include "pipeline/warehouse/warehouse.h"
#include "server/listen.h"
#include "server/pgwire/engine/sql_engine.h"
#include "server/pgwire/pg_server.h"
#include "server/pgwire/testing/libpq_test_util.h"
#include "sql/sql.h"
#include "table/table.h"

namespace kl::server {
namespace {

using testing::Conn;
using testing::Res;

using kl::testing::RunCommand;

const char kUnicode[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac";

class PgSqlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new kl::testing::TempDir();
    pipeline::WarehouseOptions wo;
    wo.warehouse = dir_->Sub("warehouse");
    ASSERT_TRUE(pipeline::CreateWarehouseTables(table::Catalog(wo.warehouse), wo).ok());
    // Rows through the Flink dialect, as `kubelake sql` writes them.
    sql::EngineOptions eo;
    eo.warehouse = wo.warehouse;
    auto engine = sql::SqlEngine::Create(eo);
    ASSERT_TRUE(engine.ok());
    auto s = (*engine)->NewSession();
    for (const std::string& statement : std::vector<std::string>{
             "INSERT INTO ads_kind_count VALUES ('prod-1', 'Pod', 120), ('prod-1', 'Node', 12), ('prod-2', 'Pod', 80), "
             "('prod-2', 'Node', CAST(NULL AS BIGINT))",
             "INSERT INTO dwd_objects (cluster, uid, kind, namespace, name, resource_version, rv, deleted, event_time) "
             "VALUES ('prod-1', 'u-1', 'Pod', 'team-a', '" +
                 std::string(kUnicode) +
                 "', '10', 10, FALSE, 1700000000000), "
                 "('prod-1', 'u-2', 'Pod', CAST(NULL AS STRING), 'plain', '11', 11, TRUE, 1700000001000), "
                 "('prod-2', 'u-3', 'Node', CAST(NULL AS STRING), 'node-7', '12', 12, FALSE, 1700000002000)",
             "CREATE DATABASE other",
             "CREATE TABLE other.notes (id BIGINT COMMENT 'the id', body VARCHAR(200), price DECIMAL(10, 2), "
             "at TIMESTAMP(3), PRIMARY KEY (id) NOT ENFORCED) COMMENT 'free text'",
             "INSERT INTO other.notes VALUES (1, 'first', 1.50, TIMESTAMP '2024-01-02 03:04:05.678')",
             "CREATE VIEW other.expensive AS SELECT id, price FROM other.notes WHERE price > 1"}) {
      auto r = s->Execute(statement);
      ASSERT_TRUE(r.ok()) << statement << ": " << r.status().ToString();
    }
    pg::PgEngineOptions po;
    po.warehouse = wo.warehouse;
    auto pg_engine = pg::PgSqlEngine::Create(po);
    ASSERT_TRUE(pg_engine.ok()) << pg_engine.status().ToString();
    engine_ = pg_engine->release();
    auto addr = ParseListenAddress("127.0.0.1:0", "test");
    auto server = PgServer::Start(**addr, PgServerOptions{}, engine_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete engine_;
    delete dir_;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }
  static std::string Conninfo(const std::string& db = "kubelake") {
    return "host=127.0.0.1 port=" + std::to_string(server_->port()) + " user=ops dbname=" + db;
  }
  static std::string Psql(const std::string& args, int* rc) {
    return RunCommand("PGCONNECT_TIMEOUT=10 psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " +
                          std::to_string(server_->port()) + " -U ops -d kubelake " + args + " 2>&1",
                      rc);
  }

  // psql's unaligned output of `sql` run as a script against kubelake (errors as psql prints them).
  static std::string PsqlScript(const std::string& sql) {
    std::string file = dir_->Sub("script.sql");
    if (!WriteFile(file, sql + ";\n").ok()) return "cannot write " + file;
    int rc = 0;
    return Psql("-A -t -f '" + file + "'", &rc);
  }

  static kl::testing::TempDir* dir_;
  static pg::PgSqlEngine* engine_;
  static PgServer* server_;
};
kl::testing::TempDir* PgSqlTest::dir_ = nullptr;
pg::PgSqlEngine* PgSqlTest::engine_ = nullptr;
PgServer* PgSqlTest::server_ = nullptr;

TEST_F(PgSqlTest, QueriesWithNullsAndUnicode) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  Res r(PQexec(c.c, "SELECT name, namespace, deleted, rv FROM dwd_objects ORDER BY namespace, rv"));
  ASSERT_EQ(r.status(), PGRES_TUPLES_OK) << r.error();
  ASSERT_EQ(r.rows(), 3);
  // PostgreSQL orders NULLs last when ascending.
  EXPECT_EQ(r.get(0, 0), kUnicode);
  EXPECT_EQ(r.get(0, 1), "team-a");
  EXPECT_TRUE(r.null(1, 1));
  EXPECT_TRUE(r.null(2, 1));
  EXPECT_EQ(r.get(1, 2), "t");
  EXPECT_EQ(PQftype(r.r, 3), 20u);  // int8
  EXPECT_EQ(PQftype(r.r, 2), 16u);  // bool
  Res agg(PQexec(c.c,
                 "SELECT cluster, sum(live_count), count(live_count), avg(live_count) FROM ads_kind_count "
                 "GROUP BY 1 ORDER BY 1"));
  ASSERT_EQ(agg.status(), PGRES_TUPLES_OK) << agg.error();
  EXPECT_EQ(agg.get(0, 1), "132");
  EXPECT_EQ(agg.get(1, 1), "80");
  EXPECT_EQ(agg.get(1, 2), "1");
  EXPECT_EQ(PQftype(agg.r, 1), 1700u);  // sum(bigint) is numeric, as in PostgreSQL
  EXPECT_EQ(std::string(PQfname(agg.r, 1)), "sum");
  EXPECT_EQ(agg.get(0, 3), "66.000000");
  // Session functions without FROM, and the version clients parse.
  Res fns(PQexec(c.c,
                 "SELECT current_schema(), current_database(), current_user, version(), "
                 "current_setting('server_version_num')::int / 100"));
  ASSERT_EQ(fns.status(), PGRES_TUPLES_OK) << fns.error();
  EXPECT_EQ(fns.get(0, 0), "kubelake");
  EXPECT_EQ(fns.get(0, 1), "kubelake");
  EXPECT_EQ(fns.get(0, 2), "ops");
  EXPECT_EQ(fns.get(0, 3).rfind("PostgreSQL 15.", 0), 0u) << fns.get(0, 3);
  EXPECT_NE(fns.get(0, 3).find("kubelake"), std::string::npos);
  EXPECT_EQ(fns.get(0, 4), "1500");
}

// The server keeps what it learnt of each table (latest schema and snapshot ids, parsed
// metadata) between queries; a commit or schema change made before a query starts must
// still be in its answer, at once, for a prepared statement run again as well.
TEST_F(PgSqlTest, CommitsAndSchemaChangesAreSeenAtOnce) {
  sql::EngineOptions eo;
  eo.warehouse = dir_->Sub("warehouse");
  auto writer_engine = sql::SqlEngine::Create(eo);
  ASSERT_TRUE(writer_engine.ok());
  auto writer = (*writer_engine)->NewSession();
  auto write = [&](const std::string& statement) {
    auto r = writer->Execute(statement);
    ASSERT_TRUE(r.ok()) << statement << ": " << r.status().ToString();
  };
  write("CREATE TABLE other.live (id BIGINT, v STRING, PRIMARY KEY (id) NOT ENFORCED)");
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  Res prep(PQprepare(c.c, "count", "SELECT count(*), max(id), max(v) FROM other.live", 0, nullptr));
  ASSERT_EQ(prep.status(), PGRES_COMMAND_OK) << prep.error();
  Res empty(PQexecPrepared(c.c, "count", 0, nullptr, nullptr, nullptr, 0));
  ASSERT_EQ(empty.status(), PGRES_TUPLES_OK) << empty.error();
  EXPECT_EQ(empty.get(0, 0), "0");
  // With a parameter the statement's plan is reused between executions (sql/planner/plan_cache.h).
  Res prep_since(
      PQprepare(c.c, "since", "SELECT count(*), max(id), max(v) FROM other.live WHERE id >= $1", 0, nullptr));
  ASSERT_EQ(prep_since.status(), PGRES_COMMAND_OK) << prep_since.error();
  auto since = [&](int from) {
    std::string text = std::to_string(from);
    const char* values[] = {text.c_str()};
    return Res(PQexecPrepared(c.c, "since", 1, values, nullptr, nullptr, 0));
  };
  for (int i = 1; i <= 12; ++i) {
    write("INSERT INTO other.live VALUES (" + std::to_string(i) + ", 'v" + std::to_string(100 + i) + "')");
    Res r(PQexecPrepared(c.c, "count", 0, nullptr, nullptr, nullptr, 0));
    ASSERT_EQ(r.status(), PGRES_TUPLES_OK) << r.error();
    EXPECT_EQ(r.get(0, 0), std::to_string(i));
    EXPECT_EQ(r.get(0, 1), std::to_string(i));
    EXPECT_EQ(r.get(0, 2), "v" + std::to_string(100 + i));
    Res later(since(i));
    ASSERT_EQ(later.status(), PGRES_TUPLES_OK) << later.error();
    EXPECT_EQ(later.get(0, 0), "1");
    EXPECT_EQ(later.get(0, 1), std::to_string(i));
    Res all(since(1));
    ASSERT_EQ(all.status(), PGRES_TUPLES_OK) << all.error();
    EXPECT_EQ(all.get(0, 0), std::to_string(i));
    // An update of a key (a new snapshot with the same count) shows its value too.
    write("INSERT INTO other.live VALUES (1, 'a" + std::to_string(i) + "')");
    Res one(PQexec(c.c, "SELECT v FROM other.live WHERE id = 1"));
    ASSERT_EQ(one.status(), PGRES_TUPLES_OK) << one.error();
    ASSERT_EQ(one.rows(), 1);
    EXPECT_EQ(one.get(0, 0), "a" + std::to_string(i));
  }
  // A column added by ALTER TABLE is there for the next query; old rows read it as NULL.
  write("ALTER TABLE other.live ADD extra INT");
  write("INSERT INTO other.live VALUES (50, 'x', 7)");
  Res altered(PQexec(c.c, "SELECT id, extra FROM other.live WHERE id IN (2, 50) ORDER BY id"));
  ASSERT_EQ(altered.status(), PGRES_TUPLES_OK) << altered.error();
  ASSERT_EQ(altered.rows(), 2);
  EXPECT_TRUE(altered.null(0, 1));
  EXPECT_EQ(altered.get(1, 1), "7");
  Res after(PQexecPrepared(c.c, "count", 0, nullptr, nullptr, nullptr, 0));
  ASSERT_EQ(after.status(), PGRES_TUPLES_OK) << after.error();
  EXPECT_EQ(after.get(0, 0), "13");
  Res after_since(since(12));
  ASSERT_EQ(after_since.status(), PGRES_TUPLES_OK) << after_since.error();
  EXPECT_EQ(after_since.get(0, 0), "2");
  EXPECT_EQ(after_since.get(0, 1), "50");
  // Dropped and made again under the same name: snapshot and schema ids start over.
  write("DROP TABLE other.live");
  write("CREATE TABLE other.live (id BIGINT, v STRING, PRIMARY KEY (id) NOT ENFORCED)");
  write("INSERT INTO other.live VALUES (900, 'again')");
  Res again(PQexecPrepared(c.c, "count", 0, nullptr, nullptr, nullptr, 0));
  ASSERT_EQ(again.status(), PGRES_TUPLES_OK) << again.error();
  EXPECT_EQ(again.get(0, 0), "1");
  EXPECT_EQ(again.get(0, 1), "900");
  EXPECT_EQ(again.get(0, 2), "again");
  Res again_since(since(12));
  ASSERT_EQ(again_since.status(), PGRES_TUPLES_OK) << again_since.error();
  EXPECT_EQ(again_since.get(0, 0), "1");
  EXPECT_EQ(again_since.get(0, 1), "900");
  Res gone(PQexec(c.c, "SELECT extra FROM other.live"));
  EXPECT_EQ(gone.status(), PGRES_FATAL_ERROR);
  write("DROP TABLE other.live");
}

TEST_F(PgSqlTest, DescribeInfersParameterTypes) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  Res prep(PQprepare(c.c, "q", "SELECT name, rv FROM dwd_objects WHERE kind = $1 AND rv > $2 ORDER BY rv LIMIT $3", 0,
                     nullptr));
  ASSERT_EQ(prep.status(), PGRES_COMMAND_OK) << prep.error();
  Res desc(PQdescribePrepared(c.c, "q"));
  ASSERT_EQ(PQnparams(desc.r), 3);
  EXPECT_EQ(PQparamtype(desc.r, 0), 25u);  // text, from kind
  EXPECT_EQ(PQparamtype(desc.r, 1), 20u);  // int8, from rv
  EXPECT_EQ(PQparamtype(desc.r, 2), 20u);  // LIMIT
  EXPECT_EQ(PQnfields(desc.r), 2);
  EXPECT_EQ(PQftype(desc.r, 1), 20u);
  const char* text_values[] = {"Pod", "10", "5"};
  Res t(PQexecPrepared(c.c, "q", 3, text_values, nullptr, nullptr, 0));
  ASSERT_EQ(t.status(), PGRES_TUPLES_OK) << t.error();
  ASSERT_EQ(t.rows(), 1);
  EXPECT_EQ(t.get(0, 0), "plain");
  // Binary parameters and results.
  uint64_t rv = htobe64(9), limit = htobe64(1);
  const char* bin_values[] = {"Pod", reinterpret_cast<const char*>(&rv), reinterpret_cast<const char*>(&limit)};
  int lengths[] = {3, 8, 8};
  int formats[] = {0, 1, 1};
  Res b(PQexecPrepared(c.c, "q", 3, bin_values, lengths, formats, 1));
  ASSERT_EQ(b.status(), PGRES_TUPLES_OK) << b.error();
  ASSERT_EQ(b.rows(), 1);
  EXPECT_EQ(std::string(PQgetvalue(b.r, 0, 0), PQgetlength(b.r, 0, 0)), kUnicode);
  uint64_t got;
  std::memcpy(&got, PQgetvalue(b.r, 0, 1), 8);
  EXPECT_EQ(be64toh(got), 10u);
  // Declared types win; a cast names the type; a comparison with a column of another type.
  Oid declared[] = {23};
  Res d2(PQprepare(c.c, "q2", "SELECT $1 + 1, $2::date, $3 IS NULL", 1, declared));
  ASSERT_EQ(d2.status(), PGRES_COMMAND_OK) << d2.error();
  Res desc2(PQdescribePrepared(c.c, "q2"));
  ASSERT_EQ(PQnparams(desc2.r), 3);
  EXPECT_EQ(PQparamtype(desc2.r, 0), 23u);
  EXPECT_EQ(PQparamtype(desc2.r, 1), 1082u);
  EXPECT_EQ(PQparamtype(desc2.r, 2), 25u);  // nothing says: text
  EXPECT_EQ(PQftype(desc2.r, 0), 23u);
  const char* v2[] = {"41", "2024-02-29", nullptr};
  Res r2(PQexecPrepared(c.c, "q2", 3, v2, nullptr, nullptr, 0));
  ASSERT_EQ(r2.status(), PGRES_TUPLES_OK) << r2.error();
  EXPECT_EQ(r2.get(0, 0), "42");
  EXPECT_EQ(r2.get(0, 1), "2024-02-29");
  EXPECT_EQ(r2.get(0, 2), "t");
}

TEST_F(PgSqlTest, ErrorsCarrySqlstateAndPosition) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  struct Case {
    const char* sql;
    const char* sqlstate;
    int position;  // 0: none expected
  } cases[] = {
      {"SELECT name FROM dwd_objects WHERE", "42601", 35},
      {"SELEKT 1", "42601", 1},
      {"SELECT nope FROM dwd_objects", "42703", 8},
      {"SELECT * FROM nowhere", "42P01", 15},
      {"SELECT no_such_function(1)", "42883", 8},
      {"SELECT 1 WHERE 'a'", "42804", 0},
      {"SELECT 1 + 'a'::text", "42883", 0},
      {"SELECT 1 / 0", "22012", 0},
      {"SELECT 'x'::int", "22P02", 0},
      {"CREATE TABLE t (a INT)", "25006", 0},
      {"INSERT INTO ads_kind_count VALUES ('a', 'b', 1)", "25006", 0},
  };
  for (const auto& k : cases) {
    Res r(PQexec(c.c, k.sql));
    EXPECT_EQ(r.status(), PGRES_FATAL_ERROR) << k.sql;
    EXPECT_EQ(r.sqlstate(), k.sqlstate) << k.sql << ": " << r.error();
    if (k.position > 0) {
      EXPECT_EQ(r.field(PG_DIAG_STATEMENT_POSITION), std::to_string(k.position)) << k.sql;
    }
  }
  // Positions count from the start of the whole query string, in characters.
  Res second(PQexec(c.c, "SELECT 1; SELECT ✓nope FROM dwd_objects"));
  EXPECT_EQ(second.sqlstate(), "42703");
  EXPECT_EQ(second.field(PG_DIAG_STATEMENT_POSITION), "18") << second.error();
  // The session goes on.
  Res ok(PQexec(c.c, "SELECT count(*) FROM dwd_objects"));
  EXPECT_EQ(ok.get(0, 0), "3");
}

TEST_F(PgSqlTest, SchemasSearchPathAndCatalog) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(Res(PQexec(c.c, "SELECT * FROM notes")).sqlstate(), "42P01");
  Res qualified(PQexec(c.c, "SELECT body, price, at FROM other.notes"));
  ASSERT_EQ(qualified.status(), PGRES_TUPLES_OK) << qualified.error();
  EXPECT_EQ(qualified.get(0, 1), "1.50");
  EXPECT_EQ(qualified.get(0, 2), "2024-01-02 03:04:05.678");
  ASSERT_EQ(Res(PQexec(c.c, "SET search_path TO other, kubelake")).status(), PGRES_COMMAND_OK);
  Res found(PQexec(c.c, "SELECT id, current_schema() FROM notes"));
  ASSERT_EQ(found.status(), PGRES_TUPLES_OK) << found.error();
  EXPECT_EQ(found.get(0, 1), "other");
  // The catalog as clients read it: relations with stable oids, visibility, primary keys.
  Res rel(PQexec(c.c,
                 "SELECT c.relname, c.relkind, pg_table_is_visible(c.oid), c.oid = 'notes'::regclass, "
                 "obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname = 'other' ORDER BY 1"));
  ASSERT_EQ(rel.status(), PGRES_TUPLES_OK) << rel.error();
  ASSERT_EQ(rel.rows(), 3);
  EXPECT_EQ(rel.get(0, 0), "expensive");
  EXPECT_EQ(rel.get(0, 1), "v");
  EXPECT_EQ(rel.get(1, 0), "notes");
  EXPECT_EQ(rel.get(1, 2), "t");
  EXPECT_EQ(rel.get(1, 3), "t");
  EXPECT_EQ(rel.get(1, 4), "free text");
  EXPECT_EQ(rel.get(2, 0), "notes_pkey");
  EXPECT_EQ(rel.get(2, 1), "i");
  Res cols(PQexec(c.c,
                  "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                  "col_description(a.attrelid, a.attnum) FROM pg_attribute a WHERE a.attrelid = "
                  "'other.notes'::regclass AND a.attnum > 0 ORDER BY a.attnum"));
  ASSERT_EQ(cols.status(), PGRES_TUPLES_OK) << cols.error();
  ASSERT_EQ(cols.rows(), 4);
  EXPECT_EQ(cols.get(0, 1), "bigint");
  EXPECT_EQ(cols.get(0, 2), "t");
  EXPECT_EQ(cols.get(0, 3), "the id");
  EXPECT_EQ(cols.get(1, 1), "character varying(200)");
  EXPECT_EQ(cols.get(2, 1), "numeric(10,2)");
  EXPECT_EQ(cols.get(3, 1), "timestamp(3) without time zone");
  Res pk(PQexec(c.c,
                "SELECT pg_get_indexdef(i.indexrelid), pg_get_constraintdef(k.oid), i.indkey FROM pg_index i "
                "JOIN pg_constraint k ON k.conindid = i.indexrelid WHERE i.indrelid = 'other.notes'::regclass"));
  ASSERT_EQ(pk.status(), PGRES_TUPLES_OK) << pk.error();
  EXPECT_EQ(pk.get(0, 0), "CREATE UNIQUE INDEX notes_pkey ON other.notes USING btree (id)");
  EXPECT_EQ(pk.get(0, 1), "PRIMARY KEY (id)");
  // The same oids from a second connection.
  Conn c2(Conninfo("other"));
  ASSERT_TRUE(c2.ok()) << c2.error();
  Res again(PQexec(c2.c, "SELECT 'notes'::regclass::oid = (SELECT oid FROM pg_class WHERE relname = 'notes')"));
  EXPECT_EQ(again.get(0, 0), "t") << again.error();
  Conn missing(Conninfo("nosuchdb"));
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("does not exist"), std::string::npos) << missing.error();
}

// What PostgreSQL 15.20 prints for `\d kubelake.ads_kind_count` after
// CREATE TABLE kubelake.ads_kind_count (cluster text NOT NULL, kind text NOT NULL,
// live_count bigint, PRIMARY KEY (cluster, kind)).
const char kPostgresDescribe[] =
    "           Table \"kubelake.ads_kind_count\"\n"
    "   Column   |  Type  | Collation | Nullable | Default \n"
    "------------+--------+-----------+----------+---------\n"
    " cluster    | text   |           | not null | \n"
    " kind       | text   |           | not null | \n"
    " live_count | bigint |           |          | \n"
    "Indexes:\n"
    "    \"ads_kind_count_pkey\" PRIMARY KEY, btree (cluster, kind)\n"
    "\n";

TEST_F(PgSqlTest, PsqlDescribesLikePostgres) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  int rc = 0;
  std::string d = Psql("-c '\\d kubelake.ads_kind_count'", &rc);
  ASSERT_EQ(rc, 0) << d;
  EXPECT_EQ(d, kPostgresDescribe);
  std::string dt = Psql("-c '\\dt'", &rc);
  ASSERT_EQ(rc, 0) << dt;
  for (const char* t : {"ads_kind_count", "dwd_objects", "dws_topology", "trend_kind_count"}) {
    EXPECT_NE(dt.find(std::string(" kubelake | ") + t), std::string::npos) << t << "\n" << dt;
  }
  EXPECT_EQ(dt.find("notes"), std::string::npos) << "other.notes is not on the search path\n" << dt;
  std::string dtp = Psql("-c '\\dt+ other.*'", &rc);
  ASSERT_EQ(rc, 0) << dtp;
  EXPECT_NE(dtp.find("notes | table | kubelake | permanent   | paimon"), std::string::npos) << dtp;
  EXPECT_NE(dtp.find("free text"), std::string::npos) << dtp;
  std::string dplus = Psql("-c '\\d+ other.notes'", &rc);
  ASSERT_EQ(rc, 0) << dplus;
  EXPECT_NE(dplus.find(" id     | bigint                         |           | not null |"), std::string::npos)
      << dplus;
  EXPECT_NE(dplus.find("the id"), std::string::npos) << dplus;
  EXPECT_NE(dplus.find("Access method: paimon"), std::string::npos) << dplus;
  std::string l = Psql("-c '\\l'", &rc);
  ASSERT_EQ(rc, 0) << l;
  EXPECT_NE(l.find(" kubelake | kubelake | UTF8"), std::string::npos) << l;
  EXPECT_NE(l.find(" other    | kubelake | UTF8"), std::string::npos) << l;
  std::string dn = Psql("-c '\\dn'", &rc);
  ASSERT_EQ(rc, 0) << dn;
  EXPECT_NE(dn.find(" other"), std::string::npos) << dn;
  std::string df = Psql("-c '\\df'", &rc);
  EXPECT_EQ(rc, 0) << df;
  EXPECT_NE(df.find("(0 rows)"), std::string::npos) << df;
  std::string dv = Psql("-c '\\dv other.*' -c '\\d other.expensive'", &rc);
  ASSERT_EQ(rc, 0) << dv;
  EXPECT_NE(dv.find("expensive | view"), std::string::npos) << dv;
  EXPECT_NE(dv.find("View \"other.expensive\""), std::string::npos) << dv;
  std::string q = Psql("-A -F '|' -c 'SELECT name, namespace, deleted FROM dwd_objects ORDER BY rv'", &rc);
  ASSERT_EQ(rc, 0) << q;
  EXPECT_NE(q.find(std::string(kUnicode) + "|team-a|f"), std::string::npos) << q;
  EXPECT_NE(q.find("plain||t"), std::string::npos) << q;
  EXPECT_NE(q.find("(3 rows)"), std::string::npos) << q;
  std::string err = Psql("-c 'SELECT nope FROM dwd_objects'", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("LINE 1: SELECT nope FROM dwd_objects"), std::string::npos) << err;
  EXPECT_NE(err.find("       ^"), std::string::npos) << err;
}

// Every describe command of psql 15 runs: the catalogs and functions its queries
// read exist (empty where kubelake has no such objects), with PostgreSQL's names.
TEST_F(PgSqlTest, PsqlRunsEveryDescribeCommand) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  const char* commands[] = {"\\l",
                            "\\l+",
                            "\\dn+",
                            "\\dt+",
                            "\\dtS",
                            "\\dv",
                            "\\dm",
                            "\\di+",
                            "\\ds",
                            "\\dE+",
                            "\\df+",
                            "\\dfS",
                            "\\da",
                            "\\dA",
                            "\\dAc",
                            "\\dAf",
                            "\\dAo",
                            "\\dAp",
                            "\\db",
                            "\\dc",
                            "\\dC",
                            "\\dd",
                            "\\dD",
                            "\\ddp",
                            "\\dT+",
                            "\\dTS",
                            "\\du",
                            "\\dg",
                            "\\dl",
                            "\\dL",
                            "\\do",
                            "\\dO",
                            "\\dp",
                            "\\z",
                            "\\dP",
                            "\\drds",
                            "\\dRp",
                            "\\dRs",
                            "\\dx",
                            "\\dX",
                            "\\dy",
                            "\\des",
                            "\\det",
                            "\\deu",
                            "\\dew",
                            "\\dF",
                            "\\dFd",
                            "\\dFp",
                            "\\dFt",
                            "\\dconfig",
                            "\\lo_list",
                            "\\sf version",
                            "\\sv pg_tables",
                            "\\dS+ pg_class",
                            "\\d+ dwd_objects"};
  for (const char* command : commands) {
    int rc = 0;
    std::string out = Psql(std::string("-c '") + command + "'", &rc);
    EXPECT_EQ(rc, 0) << command << "\n" << out;
    EXPECT_EQ(out.find("ERROR"), std::string::npos) << command << "\n" << out;
  }
  int rc = 0;
  std::string sf = Psql("-c '\\sf version'", &rc);
  EXPECT_NE(sf.find("CREATE OR REPLACE FUNCTION pg_catalog.version()"), std::string::npos) << sf;
  std::string size = Psql(
      "-A -t -c 'SELECT pg_database_size(current_database()) > 0, pg_database_size(oid) = "
      "pg_database_size(datname) FROM pg_database WHERE datname = current_database()'",
      &rc);
  EXPECT_EQ(size, "t|t\n");
  std::string by_oid = Psql("-c 'SELECT pg_database_size(1)'", &rc);
  EXPECT_NE(by_oid.find("database with OID 1 does not exist"), std::string::npos) << by_oid;
  std::string other = Psql("-c \"SELECT pg_database_size('nope')\"", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(other.find("database \"nope\" does not exist"), std::string::npos) << other;
}

// PostgreSQL's JSON operators over json text (labels are JSON in the warehouse).
TEST_F(PgSqlTest, JsonOperators) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  Res r(PQexec(c.c,
               "SELECT '{\"a\":{\"b\":1}}'::json -> 'a' ->> 'b', "
               "'{\"a\":{\"b\":[1,\"x\",null,2.5,{\"c\":true}]}}'::json #> '{a,b,4}', "
               "'{\"a\":{\"b\":[1,\"x\",null]}}'::json #>> '{a,b,1}', '[1,2,3]'::json -> -1, "
               "'[1,2,3]'::json -> 5, '{\"a\":1}'::json -> 0, '{\"a\":null}'::json ->> 'a', "
               "'{\"a\":\"q\\\"\"}'::json -> 'a', '{\"a\":\"q\\\"\"}'::json ->> 'a', "
               "'[1,2]'::json #> ARRAY['1'], '{\"a\":1}'::json -> 'a' || 'x'"));
  ASSERT_EQ(r.status(), PGRES_TUPLES_OK) << r.error();
  EXPECT_EQ(r.get(0, 0), "1");
  EXPECT_EQ(r.get(0, 1), "{\"c\":true}");
  EXPECT_EQ(r.get(0, 2), "x");
  EXPECT_EQ(r.get(0, 3), "3");
  EXPECT_TRUE(r.null(0, 4));
  EXPECT_TRUE(r.null(0, 5));
  EXPECT_TRUE(r.null(0, 6));
  EXPECT_EQ(r.get(0, 7), "\"q\\\"\"");
  EXPECT_EQ(r.get(0, 8), "q\"");
  EXPECT_EQ(r.get(0, 9), "2");
  EXPECT_EQ(r.get(0, 10), "1x");
  Res labels(PQexec(c.c, "SELECT count(*) FROM dwd_objects WHERE labels ->> 'team' IS NOT NULL"));
  ASSERT_EQ(labels.status(), PGRES_TUPLES_OK) << labels.error();
  Res bad(PQexec(c.c, "SELECT 'nope'::json -> 'a'"));
  EXPECT_NE(bad.error().find("invalid input syntax for type json"), std::string::npos) << bad.error();
  Res not_text(PQexec(c.c, "SELECT 1 -> 'a'"));
  EXPECT_NE(not_text.error().find("must be json text"), std::string::npos) << not_text.error();
}

// PostgreSQL's date arithmetic in days.
TEST_F(PgSqlTest, DateArithmeticInDays) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  Res r(PQexec(c.c,
               "SELECT date '2024-03-01' - 1, 7 + date '2024-02-28', date '2024-03-01' - date '2024-01-01', "
               "date '2024-01-01' + (-1), pg_typeof(date '2024-03-01' - date '2024-01-01'), "
               "pg_typeof(date '2024-03-01' - 1), CAST(NULL AS DATE) + 1 IS NULL"));
  ASSERT_EQ(r.status(), PGRES_TUPLES_OK) << r.error();
  EXPECT_EQ(r.get(0, 0), "2024-02-29");
  EXPECT_EQ(r.get(0, 1), "2024-03-06");
  EXPECT_EQ(r.get(0, 2), "60");
  EXPECT_EQ(r.get(0, 3), "2023-12-31");
  EXPECT_EQ(r.get(0, 4), "integer");
  EXPECT_EQ(r.get(0, 5), "date");
  EXPECT_EQ(r.get(0, 6), "t");
  Res out(PQexec(c.c, "SELECT date '9999-12-31' + 1"));
  EXPECT_NE(out.error().find("date out of range"), std::string::npos) << out.error();
}

// DISTINCT ON keeps the first row of each group in the query's order (names, ordinals and
// output names in ORDER BY), with PostgreSQL's NULL order.
TEST_F(PgSqlTest, DistinctOn) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  const char* values = "(VALUES ('a', 1), ('a', 3), ('b', 2), ('b', NULL), ('c', 5)) AS t(g, v)";
  auto rows = [&](const std::string& sql) {
    Res r(PQexec(c.c, sql.c_str()));
    EXPECT_EQ(r.status(), PGRES_TUPLES_OK) << sql << ": " << r.error();
    std::string out;
    for (int i = 0; i < r.rows(); ++i) out += r.get(i, 0) + "=" + (r.null(i, 1) ? "NULL" : r.get(i, 1)) + " ";
    return out;
  };
  EXPECT_EQ(rows(std::string("SELECT DISTINCT ON (g) g, v FROM ") + values + " ORDER BY g, v DESC"), "a=3 b=NULL c=5 ");
  EXPECT_EQ(rows(std::string("SELECT DISTINCT ON (g) g, v FROM ") + values + " ORDER BY 1, 2"), "a=1 b=2 c=5 ");
  EXPECT_EQ(rows(std::string("SELECT DISTINCT ON (g) g, v AS w FROM ") + values + " ORDER BY g DESC, w DESC LIMIT 2"),
            "c=5 b=NULL ");
  EXPECT_EQ(
      rows(std::string("SELECT DISTINCT ON (v > 2) g, v FROM ") + values + " WHERE v IS NOT NULL ORDER BY v > 2, v"),
      "a=1 a=3 ");
  Res star(PQexec(c.c, (std::string("SELECT DISTINCT ON (g) * FROM ") + values + " ORDER BY g, 2").c_str()));
  EXPECT_NE(star.error().find("ORDER BY position 2"), std::string::npos) << star.error();
}

// Ordered aggregates sort each group's rows; WITHIN GROUP belongs to the ordered-set ones.
TEST_F(PgSqlTest, OrderedAggregates) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  Res r(PQexec(c.c,
               "SELECT string_agg(name, ',' ORDER BY name DESC), array_agg(rv ORDER BY rv DESC), "
               "percentile_cont(0.5) WITHIN GROUP (ORDER BY rv), percentile_disc(0.5) WITHIN GROUP (ORDER BY uid), "
               "mode() WITHIN GROUP (ORDER BY cluster) FROM dwd_objects"));
  ASSERT_EQ(r.status(), PGRES_TUPLES_OK) << r.error();
  EXPECT_EQ(r.get(0, 0), std::string("plain,node-7,") + kUnicode);
  EXPECT_EQ(r.get(0, 1), "{12,11,10}");
  EXPECT_EQ(r.get(0, 2), "11");
  EXPECT_EQ(r.get(0, 3), "u-2");
  EXPECT_EQ(r.get(0, 4), "prod-1");
  Res refused(PQexec(c.c, "SELECT array_agg(name) WITHIN GROUP (ORDER BY name) FROM dwd_objects"));
  EXPECT_EQ(refused.status(), PGRES_FATAL_ERROR);
  EXPECT_NE(refused.error().find("ARRAY_AGG is not an ordered-set aggregate"), std::string::npos) << refused.error();
}

// A PostgreSQL 15 started here (the Debian server, when installed) as the reference for
// the text the wire carries.
class RealPostgres {
 public:
  // Empty when started; otherwise why not.
  std::string Start() {
    for (const char* v : {"17", "16", "15"}) {
      std::string p = std::string("/usr/lib/postgresql/") + v + "/bin";
      if (FileExists(p + "/initdb") && FileExists(p + "/pg_ctl")) {
        bin_ = p;
        break;
      }
    }
    if (bin_.empty()) return "the Debian postgresql server is not installed";
    if (getuid() == 0) {
      if (getpwnam("postgres") == nullptr) return "running as root without a postgres user";
      as_user_ = "runuser -u postgres -- ";
      (void)std::system(("chown postgres '" + dir_.path() + "'").c_str());
    }
    int rc = 0;
    std::string out = RunCommand(as_user_ + bin_ + "/initdb -D '" + dir_.Sub("data") + "' -A trust -U postgres", &rc);
    if (rc != 0) return "initdb failed: " + out;
    int port = 20000 + static_cast<int>((getpid() + 7919) % 20000);
    out = RunCommand(as_user_ + bin_ + "/pg_ctl -D '" + dir_.Sub("data") + "' -o \"-p " + std::to_string(port) +
                         " -k '" + dir_.path() + "' -c listen_addresses=127.0.0.1 -c TimeZone=UTC\" -l '" +
                         dir_.Sub("log") + "' -w start",
                     &rc);
    if (rc != 0) return "the postgresql server did not start: " + out;
    started_ = true;
    psql_ = "psql -X -h 127.0.0.1 -p " + std::to_string(port) + " -U postgres -d postgres ";
    return "";
  }
  // psql's unaligned output of `sql` (errors as psql prints them).
  std::string Query(const std::string& sql) {
    std::string file = dir_.Sub("query.sql");
    if (!WriteFile(file, sql + ";\n").ok()) return "cannot write " + file;
    int rc = 0;
    return RunCommand(psql_ + "-A -t -f '" + file + "' 2>&1", &rc);
  }
  ~RealPostgres() {
    int rc = 0;
    if (started_) (void)RunCommand(as_user_ + bin_ + "/pg_ctl -D '" + dir_.Sub("data") + "' -m immediate stop", &rc);
  }

 private:
  kl::testing::TempDir dir_;
  std::string bin_, as_user_, psql_;
  bool started_ = false;
};

// What Grafana's and Metabase's time macros expand to, to_char, AT TIME ZONE, date_trunc,
// generate_series over timestamps and the ordered aggregates print, over the wire, exactly
// what a real PostgreSQL prints (psql's unaligned text, session time zone UTC).
TEST_F(PgSqlTest, TimeFunctionsAndOrderedAggregatesMatchARealPostgres) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  RealPostgres real;
  std::string why = real.Start();
  if (!why.empty()) GTEST_SKIP() << why;
  const std::string values =
      "(VALUES ('a', 3, 1.5, 'p', timestamp '2024-03-07 15:04:05.678'), ('a', 1, 2.5, 'q', timestamp "
      "'2024-03-07 15:09:59'), ('a', NULL, NULL, NULL, NULL), ('b', 5, -1.0, 'x', timestamp '2024-03-08 00:00:00'), "
      "('b', 5, 3.0, 'y', timestamp '2024-03-10 23:59:59.999'), ('b', 7, 4.0, 'y', timestamp '2024-01-01 00:00:00')) "
      "AS m(g, i, d, s, t)";
  const std::vector<std::string> queries = {
      // Grafana: $__timeGroup(t, '5m'), $__timeGroupAlias, $__timeEpoch, $__timeFilter.
      "SELECT floor(extract(epoch from t)/300)*300 AS \"time\", count(*) FROM " + values +
          " WHERE t BETWEEN '2024-03-07T00:00:00Z' AND '2024-03-09T00:00:00Z' GROUP BY 1 ORDER BY 1",
      "SELECT extract(epoch from t) AS \"time\", i FROM " + values + " ORDER BY 1, 2",
      "SELECT to_timestamp(floor(extract(epoch from t)/3600)*3600) AS \"time\", sum(i) FROM " + values +
          " WHERE t IS NOT NULL GROUP BY 1 ORDER BY 1",
      // Metabase: date_trunc by unit, weeks from Sunday via +/- a day, to_char for labels.
      "SELECT date_trunc('week', (t + INTERVAL '1 day')) - INTERVAL '1 day' AS w, count(*) FROM " + values +
          " GROUP BY 1 ORDER BY 1",
      "SELECT date_trunc('month', t), date_trunc('quarter', t), date_trunc('hour', t), date_trunc('minute', t), "
      "date_trunc('second', t), date_trunc('day', t) FROM " +
          values + " ORDER BY t",
      "SELECT to_char(t, 'YYYY-MM-DD HH24:MI:SS.MS'), to_char(t, 'FMMonth FMDD, YYYY HH12:MI AM'), "
      "to_char(t, 'Dy IW \"week\" IYYY Q'), to_char(t, 'FMDDth Mon'), to_char(t, 'US J SSSS') FROM " +
          values + " ORDER BY t",
      "SELECT t AT TIME ZONE 'UTC', (t AT TIME ZONE 'UTC') AT TIME ZONE 'America/New_York', "
      "t AT TIME ZONE 'Europe/Berlin', t AT TIME ZONE '+05:30' FROM " +
          values + " ORDER BY t",
      "SELECT extract(epoch from t AT TIME ZONE 'UTC'), to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS TZ OF') "
      "FROM " +
          values + " ORDER BY t",
      "SELECT * FROM generate_series(timestamp '2024-01-31 10:00', timestamp '2024-06-01', interval '1 month')",
      "SELECT generate_series(timestamp '2024-03-10 00:00', timestamp '2024-03-10 02:00', interval '30 minutes')",
      "SELECT generate_series('2024-03-10 00:00'::timestamptz, '2024-03-10 01:00'::timestamptz, '20 "
      "minutes'::interval)",
      "SELECT to_timestamp(1709823845.25), to_timestamp(0), extract(epoch from date '2024-03-07')",
      "SELECT extract(dow from t), extract(isodow from t), extract(week from t), extract(doy from t), "
      "extract(second from t), extract(milliseconds from t) FROM " +
          values + " ORDER BY t",
      // Ordered aggregates.
      "SELECT g, string_agg(s, ',' ORDER BY i DESC, s), array_agg(i ORDER BY i NULLS FIRST), "
      "array_agg(s ORDER BY t DESC) FROM " +
          values + " GROUP BY g ORDER BY g",
      "SELECT g, percentile_cont(0.5) WITHIN GROUP (ORDER BY i), percentile_cont(0.9) WITHIN GROUP (ORDER BY d), "
      "percentile_disc(0.5) WITHIN GROUP (ORDER BY t), mode() WITHIN GROUP (ORDER BY s) FROM " +
          values + " GROUP BY g ORDER BY g",
      "SELECT string_agg(DISTINCT s, '|' ORDER BY s DESC), percentile_cont(0.25) WITHIN GROUP (ORDER BY i DESC), "
      "percentile_disc(1) WITHIN GROUP (ORDER BY s) FROM " +
          values,
  };
  for (const std::string& q : queries) EXPECT_EQ(PsqlScript(q), real.Query(q)) << q;
}

// The session time zone (SET TIME ZONE, SET TimeZone) as a real PostgreSQL applies it: the
// text of timestamptz values with the zone's offset then (summer time, offsets with minutes),
// casts to and from timestamp and date, date_trunc, extract and to_char on the zone's wall
// clock, AT TIME ZONE as before, SHOW and current_setting.
TEST_F(PgSqlTest, SessionTimeZoneMatchesARealPostgres) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  RealPostgres real;
  std::string why = real.Start();
  if (!why.empty()) GTEST_SKIP() << why;
  // Instants about Europe/Berlin's changes of 2026 (+01 -> +02 at 01:00 UTC on March 29,
  // back at 01:00 UTC on October 25), a day in India (+05:30) and in Newfoundland (-03:30).
  const std::string instants =
      "(VALUES ('2026-03-29 00:59:59.5+00'::timestamptz), ('2026-03-29 01:00:00+00'::timestamptz), "
      "('2026-10-25 00:30:00+00'::timestamptz), ('2026-10-25 01:30:00+00'::timestamptz), "
      "('2026-01-15 23:45:00+00'::timestamptz), ('1999-12-31 22:00:00-05'::timestamptz)) AS v(tz) ";
  const std::vector<std::string> queries = {
      "SELECT tz, tz::timestamp, tz::date, tz AT TIME ZONE 'UTC', tz AT TIME ZONE 'Asia/Tokyo' FROM " + instants +
          " ORDER BY v.tz",
      "SELECT date_trunc('day', tz), date_trunc('hour', tz), date_trunc('month', tz), date_trunc('week', tz) FROM " +
          instants + " ORDER BY v.tz",
      "SELECT extract(hour from tz), extract(day from tz), extract(minute from tz), extract(epoch from tz), "
      "extract(dow from tz) FROM " +
          instants + " ORDER BY v.tz",
      "SELECT to_char(tz, 'YYYY-MM-DD HH24:MI:SS TZ OF'), to_char(tz, 'Dy DD Mon HH12:MI AM TZH:TZM') FROM " +
          instants + " ORDER BY v.tz",
      // Wall-clock times read in the zone: one skipped and one repeated by Berlin's changes.
      "SELECT '2026-03-29 02:30:00'::timestamptz, '2026-10-25 02:30:00'::timestamptz, "
      "timestamp '2026-07-01 12:00'::timestamptz, date '2026-03-29'::timestamptz, "
      "timestamp '2026-07-01 12:00' AT TIME ZONE 'America/New_York'",
      "SELECT '2026-03-29 02:30:00'::timestamptz::timestamp, '2026-06-01 00:00+02'::timestamptz",
      "SELECT current_setting('TimeZone'), to_char(now(), 'OF') = to_char(current_timestamp, 'OF'), "
      "now()::timestamp = localtimestamp",
      "SHOW TimeZone",
      // A month step moves the wall clock (Berlin's April starts at 00:00+02); 2040 is
      // past the zone files' last transition, where their footer rule holds.
      "SELECT generate_series(date '2024-01-01', date '2024-12-01', interval '1 month')",
      "SELECT generate_series(timestamptz '2026-01-31 12:30+00', timestamptz '2026-12-31 00:00+00', "
      "interval '1 month')",
      "SELECT timestamptz '2040-07-01 12:00+00', timestamptz '2040-01-15 12:00+00', "
      "to_char(timestamptz '2040-07-01 12:00+00', 'TZ OF')",
      // As text: casts, || and concat print the offset as the wire does.
      "SELECT tz::text, 'at ' || tz, concat(tz, '!'), array[tz]::text FROM " + instants + " ORDER BY v.tz",
  };
  const std::vector<std::string> zones = {
      "SET TIME ZONE 'Europe/Berlin'",
      "SET TimeZone = 'Asia/Kolkata'",
      "SET TimeZone TO 'America/St_Johns'",
      "SET TIME ZONE 'America/New_York'",
      "SET TIME ZONE 'UTC'",
      "SET TIME ZONE '+03'",
      "SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE",
      "SET TimeZone = 5.5",
      "SET TIME ZONE LOCAL",
  };
  for (const std::string& zone : zones) {
    for (const std::string& q : queries) {
      std::string script = zone + ";\n" + q;
      EXPECT_EQ(PsqlScript(script), real.Query(script)) << script;
    }
  }
}

// Flink's time functions, available in PostgreSQL sessions too, follow a named session
// zone's offset at each value (summer and winter time in Berlin), as do casts of arrays.
TEST_F(PgSqlTest, FlinkTimeFunctionsFollowANamedSessionZone) {
  Conn c(Conninfo() + " options='-c TimeZone=Europe/Berlin'");
  ASSERT_TRUE(c.ok()) << c.error();
  Res r(PQexec(c.c,
               "SELECT unix_timestamp('2024-07-01 12:00:00'), unix_timestamp('2024-01-15 12:00:00'), "
               "from_unixtime(1719828000), from_unixtime(1705316400), "
               "date_format(timestamptz '2024-07-01 10:00:00+00', 'yyyy-MM-dd HH:mm Z'), "
               "date_format(timestamptz '2024-01-15 11:00:00+00', 'yyyy-MM-dd HH:mm Z'), "
               "CAST(ARRAY[t] AS timestamptz[]) FROM (VALUES ('2024-07-01 12:00:00')) AS v(t)"));
  ASSERT_EQ(r.status(), PGRES_TUPLES_OK) << r.error();
  EXPECT_EQ(r.get(0, 0), "1719828000");  // 12:00 CEST is 10:00 UTC
  EXPECT_EQ(r.get(0, 1), "1705316400");  // 12:00 CET is 11:00 UTC
  EXPECT_EQ(r.get(0, 2), "2024-07-01 12:00:00");
  EXPECT_EQ(r.get(0, 3), "2024-01-15 12:00:00");
  EXPECT_EQ(r.get(0, 4), "2024-07-01 12:00 +0200");
  EXPECT_EQ(r.get(0, 5), "2024-01-15 12:00 +0100");
  EXPECT_EQ(r.get(0, 6), "{\"2024-07-01 12:00:00+02\"}");
}

// Intervals as values (PostgreSQL's input forms and output style, timestamp - timestamp,
// timestamp and interval arithmetic, age, make_interval, justify_*, extract, date_part,
// date_trunc, comparisons, ORDER BY, GROUP BY, DISTINCT, aggregates, NULLs, errors) print
// over the wire exactly what a real PostgreSQL prints; months and days of a timestamptz move
// the session zone's wall clock.
TEST_F(PgSqlTest, IntervalsMatchARealPostgres) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  RealPostgres real;
  std::string why = real.Start();
  if (!why.empty()) GTEST_SKIP() << why;
  const std::vector<std::string> queries = {
      "SELECT interval '1 day 02:03:04', '3 mons'::interval, 'P1DT2H'::interval, '-1 year +2 "
      "days'::interval, '1.5 hours'::interval, '@ 1 hour ago'::interval, interval '-1 sec', interval '0'",
      "SELECT interval '1 year 2 mons 3 days 04:05:06.789', interval '-1 day +02:03', interval '1 day "
      "-02:03', interval '-1 mon -2 days -03:00', interval '1.5 days', interval '1.5 months', interval "
      "'1.5 years'",
      "SELECT interval '0.5 weeks', interval '1 week 2 days', interval '10', interval '90 minutes', "
      "interval '1:30', interval '1:30.5', interval '100:00:00'",
      "SELECT 'P1Y2M3DT4H5M6.5S'::interval, 'PT1.5S'::interval, 'P2W'::interval, 'P-1D'::interval, '@ 2 "
      "days 3 hours ago'::interval, '1 millisecond'::interval, '3 microseconds'::interval, '1 "
      "decade'::interval, '2 centuries'::interval",
      "SELECT interval '1' hour, interval '2' day, interval '3' month, interval '-4' minute, CAST('5 "
      "minutes' AS interval), CAST(interval '1 mon 2 days' AS text)",
      "SELECT timestamp '2024-03-01 12:00' - timestamp '2024-01-01', timestamp '2024-01-01' - timestamp "
      "'2024-03-01 12:00', timestamp '2024-03-01 00:00:00.5' - timestamp '2024-03-01 00:00:01', date "
      "'2024-03-01' - date '2024-01-01', timestamp '2024-03-01' - date '2024-01-01', timestamp "
      "'2024-03-01' - '2024-01-01'",
      "SELECT timestamptz '2024-03-31 12:00+02' - timestamptz '2024-03-30 12:00+01', timestamptz "
      "'2024-01-01 00:00+00' - timestamp '2023-12-31 23:00'",
      "SELECT timestamp '2024-01-31' + interval '1 month', timestamp '2024-01-31' + interval '1 mon 1 "
      "day', timestamp '2023-01-31' + interval '1 month', timestamp '2024-02-29' + interval '1 year', "
      "timestamp '2024-03-01' - interval '1 day 1 hour', interval '1 hour' + timestamp '2024-01-01', date "
      "'2024-01-31' + interval '1 month', timestamp '2024-01-01' + '1 day'",
      "SELECT timestamp '2024-03-31 10:00' - interval '1 mon', timestamp '2024-12-31 23:59:59.999999' + "
      "interval '1 microsecond', timestamptz '2024-01-31 10:00+00' + interval '1 mon -1 day 02:00'",
      "SELECT interval '1 day' + interval '2 hours', interval '1 mon' - interval '1 day', - interval '1 "
      "mon 2 days 03:00', interval '1 mon 2 days 03:00' * 2, interval '1 mon' * 0.5, interval '1 day' / 3, "
      "2.5 * interval '1 hour', interval '1 mon' / 7, interval '-1 mon 3 days' * -1.5",
      "SELECT age(timestamp '2024-03-31', timestamp '2024-02-29'), age(timestamp '2024-02-29', timestamp "
      "'2023-02-28'), age(timestamp '2024-01-31', timestamp '2024-03-01'), age(timestamp '2024-03-01', "
      "timestamp '2024-01-31'), age(timestamp '2024-03-01 10:00', timestamp '2023-12-31 23:59:59.5'), "
      "age(timestamp '2000-02-29', timestamp '2024-02-28 12:00')",
      "SELECT age(timestamp '2023-03-01', timestamp '2023-02-28'), age(timestamp '2024-03-01', timestamp "
      "'2024-02-28'), age(date '2024-05-31', date '2024-04-30'), age(timestamptz '2024-03-01 00:00+00', "
      "timestamptz '2024-01-15 12:00+00')",
      "SELECT make_interval(1, 2, 3, 4, 5, 6, 7.5), make_interval(0, 0, 0, 0, 0, 0, 0), make_interval(0, "
      "0, 0, 0, 0, 90), make_interval(1), make_interval(0, -13), make_interval()",
      "SELECT justify_days(interval '65 days'), justify_days(interval '-65 days 1 hour'), "
      "justify_days(interval '1 mon -35 days'), justify_hours(interval '50 hours'), justify_hours(interval "
      "'1 day -30 hours'), justify_interval(interval '1 mon -1 hour'), justify_interval(interval '-1 mon "
      "40 days 25 hours'), justify_interval(interval '40 days 50 hours')",
      "SELECT extract(epoch from interval '1 year 2 mons 3 days 04:05:06.5'), extract(day from interval "
      "'40 days 5 hours'), extract(hour from interval '-1 day -05:30'), extract(minute from interval "
      "'05:30:20'), extract(second from interval '00:00:20.25'), extract(month from interval '14 mons'), "
      "extract(year from interval '14 mons'), extract(epoch from interval '-1 mon')",
      "SELECT extract(milliseconds from interval '1.5 seconds'), extract(microseconds from interval '1.5 "
      "seconds'), extract(quarter from interval '7 mons'), extract(century from interval '250 years'), "
      "extract(epoch from timestamp '2024-03-01' - timestamp '2024-01-01')",
      "SELECT date_part('epoch', interval '1 day 1 sec'), date_part('hour', interval '26 hours'), "
      "date_part('epoch', timestamp '2024-01-01 00:00:01.5'), date_part('day', timestamp '2024-03-07'), "
      "date_trunc('hour', interval '1 day 05:30:20'), date_trunc('year', interval '3 years 5 mons 2 "
      "days'), date_trunc('month', interval '-1 mon -3 days')",
      "SELECT CASE WHEN interval '1 mon' = interval '30 days' THEN 'eq' ELSE 'ne' END, CASE WHEN interval "
      "'1 day' < interval '25 hours' THEN 'lt' ELSE 'ge' END, CASE WHEN interval '1 year' > interval '364 "
      "days' THEN 'gt' ELSE 'le' END, CASE WHEN interval '2 hours' BETWEEN interval '1 hour' AND interval "
      "'3 hours' THEN 'in' ELSE 'out' END, CASE WHEN interval '-1 day' < '0' THEN 'neg' ELSE 'pos' END",
      "SELECT i FROM (VALUES (interval '1 day'), (interval '30 days'), (interval '-2 hours'), (NULL), "
      "(interval '1 year -1 day'), (interval '25 hours')) AS v(i) ORDER BY i",
      "SELECT i FROM (VALUES (interval '1 day'), (interval '-2 hours'), (NULL), (interval '1 year -1 "
      "day'), (interval '25 hours')) AS v(i) ORDER BY i DESC NULLS LAST",
      "SELECT min(i), max(i), sum(i), avg(i), count(i) FROM (VALUES (interval '1 day 02:00'), (interval '3 "
      "mons'), (interval '-5 hours'), (NULL)) AS v(i)",
      "SELECT g, sum(i), avg(i), min(i), max(i) FROM (VALUES ('a', interval '1 hour'), ('a', interval '2 "
      "days'), ('b', interval '1 mon 1 sec'), ('b', interval '1 mon'), ('b', interval '1 mon')) AS v(g, i) "
      "GROUP BY g ORDER BY g",
      "SELECT DISTINCT i FROM (VALUES (interval '2 hours'), (interval '2 hours'), (interval '1 day'), "
      "(interval '-3 days')) AS v(i) ORDER BY i",
      "SELECT i, count(*) FROM (VALUES (interval '2 hours'), (interval '1 day'), (interval '2 hours')) AS "
      "v(i) GROUP BY i ORDER BY i",
      "SELECT time '10:00' + interval '1 hour', interval '1 h' + time '23:30', time '10:00' - interval '90 "
      "minutes', time '10:00' + interval '1 mon 2 days 25 hours', time '10:00' - interval '-1000 hours'",
      "SELECT interval '1 day' IS DISTINCT FROM interval '24 hours', interval '1 day' IS NOT DISTINCT FROM "
      "interval '24 hours', interval '1 day' = ANY(ARRAY[interval '24 hours']), interval '1 day' IN (SELECT "
      "interval '24 hours'), interval '1 mon' NOT IN (SELECT interval '30 days')",
      "SELECT '-9223372036854775808 microseconds'::interval, '1 2:03:04'::interval, '-1 2:03:04'::interval, "
      "'12:59:60.5'::interval, '1:'::interval, 'PT'::interval, '1:00 ago'::interval",
      "SELECT coalesce(NULL::interval, '1 day'), CASE WHEN false THEN interval '1 day' ELSE '2 days' END",
      "SELECT NULL::interval + interval '1 day', interval '1 day' + NULL, age(NULL::timestamp, timestamp "
      "'2024-01-01'), justify_days(NULL), extract(epoch from NULL::interval), make_interval(1, NULL)",
      "SELECT count(*) FROM generate_series(timestamp '2024-01-01', timestamp '2024-01-02', interval '1 "
      "hour') AS t(x) WHERE x - timestamp '2024-01-01' < interval '3 hours'",
      "SELECT coalesce(NULL, interval '1 day'), greatest(interval '1 day', interval '23 hours'), CASE WHEN "
      "true THEN interval '1 hour' ELSE NULL END",
      "SELECT t2 - t1, age(t2, t1), extract(epoch from t2 - t1), t1 + (t2 - t1) = t2, justify_interval(t2 "
      "- t1) FROM (VALUES (timestamp '2024-01-31 10:00', timestamp '2024-03-01 09:00'), (timestamp "
      "'2023-12-31 23:59:59', timestamp '2024-02-29 00:00:01.25'), (timestamp '2024-05-05', timestamp "
      "'2020-02-29 12:00'), (NULL, timestamp '2024-01-01')) AS v(t1, t2) ORDER BY t2 - t1 NULLS FIRST",
      "SELECT t2 - t1 AS d, count(*) FROM (VALUES (timestamp '2024-01-01', timestamp '2024-01-02'), "
      "(timestamp '2024-02-01', timestamp '2024-02-02'), (timestamp '2024-01-01', timestamp '2024-01-01 "
      "06:00')) AS v(t1, t2) GROUP BY 1 ORDER BY 1 DESC",
      "SELECT i, -i, i * 3, i / 4, justify_hours(i), justify_days(i), extract(epoch from i), extract(hour "
      "from i), date_trunc('day', i) FROM (VALUES (interval '1 year 2 mons 3 days 04:05:06.789'), "
      "(interval '-1 mon +40 days -50:00:00'), (interval '-00:00:00.000001'), (interval '0'), (NULL)) AS "
      "v(i) ORDER BY i",
      "SELECT date '2024-01-31' + interval '1 month', timestamp '2024-12-31 23:59:59.999999' + interval '1 "
      "microsecond', timestamptz '2024-01-31 10:00+00' + interval '1 mon -1 day 02:00', now() - interval "
      "'1 hour' < now(), pg_typeof(interval '1 day'), pg_typeof(timestamp '2024-01-01' - timestamp "
      "'2023-01-01')",
      "SELECT format_type(1186, NULL), extract(epoch from interval '1 year'), interval '1 mon' / 7, "
      "interval '1 day' * 1.5, make_interval(0, 0, 0, 0, 0, 0, 0.000001)",
  };
  for (const std::string& q : queries) EXPECT_EQ(PsqlScript(q), real.Query(q)) << q;
  // Errors: PostgreSQL's messages (the operator's type names aside).
  const std::vector<std::string> errors = {
      "SELECT 'abc'::interval",
      "SELECT interval '1 day' / 0",
      "SELECT '1 year 2 years'::interval",
      "SELECT interval '2147483647 days' + interval '1 day'",
      "SELECT extract(week from interval '1 day')",
      "SELECT interval '1 day' * interval '1 day'",
      "SELECT interval '1 day' - timestamp '2024-01-01'",
  };
  for (const std::string& q : errors) {
    std::string want = real.Query(q);
    std::string got = PsqlScript(q);
    ASSERT_NE(want.find("ERROR:"), std::string::npos) << q;
    // "ERROR:  message" of the first line (psql names its script before it); PostgreSQL names
    // `timestamp without time zone` in full.
    auto message = [](const std::string& text) {
      std::string line = text.substr(0, text.find('\n'));
      size_t error = line.find("ERROR:");
      return error == std::string::npos ? line : line.substr(error);
    };
    std::string first = message(want);
    size_t full = first.find(" without time zone");
    if (full != std::string::npos) first.erase(full, 18);
    EXPECT_EQ(message(got), first) << q;
  }
  for (const char* zone : {"SET TIME ZONE 'Europe/Berlin'", "SET TIME ZONE 'America/New_York'"}) {
    for (const std::string& q : std::vector<std::string>{
             "SELECT timestamptz '2026-03-28 12:00+00' + interval '1 day', timestamptz '2026-03-28 12:00+00' + "
             "interval '24 hours', timestamptz '2026-03-30 12:00+00' - timestamptz '2026-03-28 12:00+00', "
             "age(timestamptz '2026-04-01 00:00+00', timestamptz '2026-03-01 00:00+00'), timestamptz '2026-10-24 "
             "12:00+00' + interval '1 mon 1 day'",
             "SELECT generate_series(timestamptz '2026-03-27 12:00+00', timestamptz '2026-03-31 12:00+00', "
             "interval '1 day')",
             "SELECT generate_series(timestamptz '2026-01-31 12:30+00', timestamptz '2026-11-30 00:00+00', "
             "interval '1 mon 1 day 01:00')",
             "SELECT x - lag(x) OVER (ORDER BY x), age(x, timestamptz '2026-01-31 12:30+00') FROM "
             "generate_series(timestamptz '2026-03-27 12:00+00', timestamptz '2026-03-31 12:00+00', interval '1 day') "
             "AS s(x) ORDER BY x",
         }) {
      std::string script = std::string(zone) + ";\n" + q;
      EXPECT_EQ(PsqlScript(script), real.Query(script)) << script;
    }
  }
}

// Intervals on the wire: type OID 1186, the binary form (int64 microseconds, int32 days,
// int32 months) both ways, text and binary parameters, COPY's text, SQLSTATEs as PostgreSQL's,
// and psycopg 3 reading binary intervals as timedeltas.
TEST_F(PgSqlTest, IntervalsOverTheWire) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  auto be = [](const char* p, int bytes) {
    int64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return bytes == 4 ? static_cast<int64_t>(static_cast<int32_t>(v)) : v;
  };
  Res binary(PQexecParams(c.c,
                          "SELECT interval '-1 year 2 mons -3 days 04:05:06.789', timestamp '2024-03-01' - "
                          "timestamp '2024-01-01 00:00:00.5'",
                          0, nullptr, nullptr, nullptr, nullptr, 1));
  ASSERT_EQ(binary.status(), PGRES_TUPLES_OK) << binary.error();
  EXPECT_EQ(PQftype(binary.r, 0), 1186u);
  ASSERT_EQ(PQgetlength(binary.r, 0, 0), 16);
  const char* v = PQgetvalue(binary.r, 0, 0);
  EXPECT_EQ(be(v, 8), ((4 * 60 + 5) * 60 + 6) * 1000000LL + 789000);
  EXPECT_EQ(be(v + 8, 4), -3);
  EXPECT_EQ(be(v + 12, 4), -10);
  const char* d = PQgetvalue(binary.r, 0, 1);
  EXPECT_EQ(be(d, 8), 86400000000LL - 500000);  // 59 days 23:59:59.5
  EXPECT_EQ(be(d + 8, 4), 59);
  EXPECT_EQ(be(d + 12, 4), 0);

  // A binary interval parameter comes back as text and as the same bytes.
  std::string param;
  for (int64_t x : {int64_t{90061000001}, int64_t{-2}, int64_t{14}}) {
    int bytes = x == 90061000001 ? 8 : 4;
    for (int i = bytes - 1; i >= 0; --i)
      param.push_back(static_cast<char>((static_cast<uint64_t>(x) >> (8 * i)) & 0xff));
  }
  const char* values[] = {param.data()};
  int lengths[] = {16};
  int formats[] = {1};
  Oid types[] = {1186};
  Res echoed(PQexecParams(c.c, "SELECT $1::text, $1 + interval '1 day'", 1, types, values, lengths, formats, 0));
  ASSERT_EQ(echoed.status(), PGRES_TUPLES_OK) << echoed.error();
  EXPECT_EQ(echoed.get(0, 0), "1 year 2 mons -2 days +25:01:01.000001");
  EXPECT_EQ(echoed.get(0, 1), "1 year 2 mons -1 days +25:01:01.000001");
  Res round(PQexecParams(c.c, "SELECT $1", 1, types, values, lengths, formats, 1));
  ASSERT_EQ(round.status(), PGRES_TUPLES_OK) << round.error();
  EXPECT_EQ(std::string(PQgetvalue(round.r, 0, 0), PQgetlength(round.r, 0, 0)), param);
  const char* text_values[] = {"P1DT2H"};
  Oid text_types[] = {1186};
  Res text(PQexecParams(c.c, "SELECT $1, pg_typeof($1)", 1, text_types, text_values, nullptr, nullptr, 0));
  ASSERT_EQ(text.status(), PGRES_TUPLES_OK) << text.error();
  EXPECT_EQ(text.get(0, 0), "1 day 02:00:00");
  EXPECT_EQ(text.get(0, 1), "interval");

  const struct {
    const char* sql;
    const char* sqlstate;
  } errors[] = {
      {"SELECT 'soon'::interval", "22007"},
      {"SELECT interval '1 hour' / 0", "22012"},
      {"SELECT interval '2147483647 days' + interval '1 day'", "22008"},
      {"SELECT timestamp '9999-12-31' + interval '1 day'", "22008"},
      {"SELECT timestamp '2024-01-01' + interval '212765098 days'", "22008"},
      {"SELECT date '2024-01-01' + interval '212765098 days'", "22008"},
      {"SELECT '2147483648 days'::interval", "22015"},
      {"SELECT '1..5'::interval", "22007"},
      {"SELECT '1 ago'::interval", "22007"},
      {"SELECT interval '1 day' * interval '1 day'", "42883"},
  };
  for (const auto& e : errors) {
    Res r(PQexec(c.c, e.sql));
    EXPECT_EQ(r.status(), PGRES_FATAL_ERROR) << e.sql;
    EXPECT_EQ(r.sqlstate(), e.sqlstate) << e.sql << ": " << r.error();
  }

  if (std::system("psql --version > /dev/null 2>&1") == 0) {
    int rc = 0;
    std::string copied = Psql(
        "-c \"COPY (SELECT i, -i FROM (VALUES (interval '1 day 02:00'), (NULL), (interval '-3 mons')) AS v(i)) TO "
        "STDOUT\"",
        &rc);
    EXPECT_EQ(rc, 0) << copied;
    EXPECT_EQ(copied, "1 day 02:00:00\t-1 days -02:00:00\n\\N\t\\N\n-3 mons\t3 mons\n");
  }
  if (std::system("/usr/bin/python3 -c 'import psycopg' > /dev/null 2>&1") == 0) {
    std::string script = dir_->Sub("intervals.py");
    ASSERT_TRUE(WriteFile(script,
                          "import datetime, sys, psycopg\n"
                          "conn = psycopg.connect(host='127.0.0.1', port=int(sys.argv[1]), user='ops', "
                          "dbname='kubelake')\n"
                          "with conn.cursor(binary=True) as cur:\n"
                          "    cur.execute(\"SELECT timestamp '2024-03-01 12:00' - timestamp '2024-01-01', "
                          "%s::interval * 2\", [datetime.timedelta(hours=-1, microseconds=5)])\n"
                          "    row = cur.fetchone()\n"
                          "    assert row == (datetime.timedelta(days=60, hours=12), "
                          "datetime.timedelta(hours=-2, microseconds=10)), row\n"
                          "print('psycopg intervals ok')\n")
                    .ok());
    int rc = 0;
    std::string out = RunCommand("/usr/bin/python3 '" + script + "' " + std::to_string(server_->port()) + " 2>&1", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("psycopg intervals ok"), std::string::npos) << out;
  }
}

// The zone from the StartupMessage (options=-c TimeZone=...), reported back in
// ParameterStatus, again after SET; an unknown zone refused as PostgreSQL refuses it;
// binary timestamptz values stay UTC microseconds whatever the zone.
TEST_F(PgSqlTest, SessionTimeZoneFromStartupAndSet) {
  Conn c(Conninfo() + " options='-c TimeZone=Asia/Kolkata'");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_STREQ(PQparameterStatus(c.c, "TimeZone"), "Asia/Kolkata");
  Res shown(PQexec(c.c, "SELECT '2026-03-29 01:00:00+00'::timestamptz, current_setting('TimeZone')"));
  ASSERT_EQ(shown.status(), PGRES_TUPLES_OK) << shown.error();
  EXPECT_EQ(shown.get(0, 0), "2026-03-29 06:30:00+05:30");
  EXPECT_EQ(shown.get(0, 1), "Asia/Kolkata");

  Res set(PQexec(c.c, "SET TIME ZONE 'America/St_Johns'"));
  ASSERT_EQ(set.status(), PGRES_COMMAND_OK) << set.error();
  EXPECT_STREQ(PQparameterStatus(c.c, "TimeZone"), "America/St_Johns");
  Res winter(PQexec(c.c, "SELECT '2026-01-15 12:00:00+00'::timestamptz"));
  EXPECT_EQ(winter.get(0, 0), "2026-01-15 08:30:00-03:30");

  Res bad(PQexec(c.c, "SET TIME ZONE 'Foo/Bar'"));
  EXPECT_EQ(bad.sqlstate(), "22023");
  EXPECT_EQ(bad.field(PG_DIAG_MESSAGE_PRIMARY), "invalid value for parameter \"TimeZone\": \"Foo/Bar\"");
  Res bad_set(PQexec(c.c, "SET TimeZone = 'Mars/Olympus'"));
  EXPECT_EQ(bad_set.sqlstate(), "22023");
  EXPECT_STREQ(PQparameterStatus(c.c, "TimeZone"), "America/St_Johns");

  // A text parameter without an offset is a wall-clock time in the session zone; binary
  // results are UTC microseconds since 2000.
  const char* values[] = {"2026-01-15 08:30:00"};
  int formats[] = {0};
  Res binary(PQexecParams(c.c, "SELECT $1::timestamptz", 1, nullptr, values, nullptr, formats, 1));
  ASSERT_EQ(binary.status(), PGRES_TUPLES_OK) << binary.error();
  ASSERT_EQ(PQgetlength(binary.r, 0, 0), 8);
  const auto* b = reinterpret_cast<const unsigned char*>(PQgetvalue(binary.r, 0, 0));
  int64_t micros = 0;
  for (int i = 0; i < 8; ++i) micros = (micros << 8) | b[i];
  const int64_t k2026_01_15_12_00_utc = (1768478400LL - 946684800LL) * 1000000LL;
  EXPECT_EQ(micros, k2026_01_15_12_00_utc);

  Res local(PQexec(c.c, "SET TIME ZONE DEFAULT"));
  ASSERT_EQ(local.status(), PGRES_COMMAND_OK) << local.error();
  Res back(PQexec(c.c, "SHOW TimeZone"));
  EXPECT_EQ(back.get(0, 0), "Asia/Kolkata");  // the session's starting value, as PostgreSQL's RESET
}

// COPY of a table (with a column list, names quoted or not) runs its SELECT on the engine.
TEST_F(PgSqlTest, CopyOfATableAndItsColumns) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  int rc = 0;
  std::string copied =
      Psql("-c 'COPY kubelake.dwd_objects (name, \"namespace\", deleted) TO STDOUT (FORMAT csv)'", &rc);
  ASSERT_EQ(rc, 0) << copied;
  std::string selected = Psql("-A -t -F , -c 'SELECT name, namespace, deleted FROM kubelake.dwd_objects'", &rc);
  ASSERT_EQ(rc, 0) << selected;
  std::vector<std::string> a = Split(copied, '\n', true), b = Split(selected, '\n', true);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 3u) << copied;
  std::string err = Psql("-c 'COPY dwd_objects (nope) TO STDOUT'", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("nope"), std::string::npos) << err;
}

// `tableoid` is on every pg_catalog table by name, never in *; an untyped NULL
// takes the type a function declares; fewer column aliases rename the first columns.
TEST_F(PgSqlTest, CatalogSystemColumnsAndUntypedNulls) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  Res oids(PQexec(c.c, "SELECT count(*), min(tableoid), max(tableoid), min(tableoid::regclass::text) FROM pg_class"));
  ASSERT_EQ(oids.status(), PGRES_TUPLES_OK) << oids.error();
  EXPECT_NE(oids.get(0, 0), "0");
  EXPECT_EQ(oids.get(0, 1), "1259");
  EXPECT_EQ(oids.get(0, 2), "1259");
  EXPECT_EQ(oids.get(0, 3), "pg_class");
  Res star(PQexec(c.c, "SELECT n.* FROM pg_namespace n, pg_namespace m WHERE n.oid = m.oid LIMIT 1"));
  ASSERT_EQ(star.status(), PGRES_TUPLES_OK) << star.error();
  EXPECT_EQ(PQnfields(star.r), 4);
  for (int i = 0; i < PQnfields(star.r); ++i) EXPECT_STRNE(PQfname(star.r, i), "tableoid");
  Res natural(PQexec(c.c, "SELECT count(*) FROM pg_namespace NATURAL JOIN pg_am"));
  ASSERT_EQ(natural.status(), PGRES_TUPLES_OK) << natural.error();
  EXPECT_EQ(natural.get(0, 0), "0") << "tableoid differs and must not be a NATURAL JOIN column";
  Res aliased(PQexec(c.c, "SELECT a, nspname, tableoid FROM pg_namespace AS n(a) WHERE nspname = 'pg_catalog'"));
  ASSERT_EQ(aliased.status(), PGRES_TUPLES_OK) << aliased.error();
  EXPECT_EQ(aliased.get(0, 0), "11");
  EXPECT_EQ(aliased.get(0, 2), "2615");
  Res too_many(PQexec(c.c, "SELECT * FROM pg_namespace AS n(a, b, c, d, e)"));
  EXPECT_EQ(too_many.status(), PGRES_FATAL_ERROR);
  EXPECT_NE(too_many.error().find("the alias names 5 columns but pg_namespace has 4"), std::string::npos)
      << too_many.error();
  Res typed(PQexec(c.c, "SELECT format_type(25, NULL), format_type(NULL, NULL) IS NULL"));
  ASSERT_EQ(typed.status(), PGRES_TUPLES_OK) << typed.error();
  EXPECT_EQ(typed.get(0, 0), "text");
  EXPECT_EQ(typed.get(0, 1), "t");
  EXPECT_EQ(Res(PQexec(c.c, "SELECT format_type('x', 1)")).sqlstate(), "42804");
}

// Starts the Debian postgresql server in a scratch directory (as the postgres user when run
// as root) and compares psql's \d of the same table on both servers.
TEST_F(PgSqlTest, PsqlDescribeMatchesARealPostgres) {
  std::string bin;
  for (const char* v : {"17", "16", "15"}) {
    std::string p = std::string("/usr/lib/postgresql/") + v + "/bin";
    if (FileExists(p + "/initdb") && FileExists(p + "/pg_ctl")) {
      bin = p;
      break;
    }
  }
  if (bin.empty()) GTEST_SKIP() << "the Debian postgresql server is not installed";
  std::string as_user;
  if (getuid() == 0) {
    if (getpwnam("postgres") == nullptr) GTEST_SKIP() << "running as root without a postgres user";
    as_user = "runuser -u postgres -- ";
  }
  kl::testing::TempDir pgdir;
  if (!as_user.empty()) (void)std::system(("chown postgres '" + pgdir.path() + "'").c_str());
  int rc = 0;
  std::string data = pgdir.Sub("data");
  std::string out = RunCommand(as_user + bin + "/initdb -D '" + data + "' -A trust -U postgres", &rc);
  if (rc != 0) GTEST_SKIP() << "initdb failed: " << out;
  int port = 20000 + static_cast<int>(getpid() % 20000);
  out = RunCommand(as_user + bin + "/pg_ctl -D '" + data + "' -o \"-p " + std::to_string(port) + " -k '" +
                       pgdir.path() + "' -c listen_addresses=127.0.0.1\" -l '" + pgdir.Sub("log") + "' -w start",
                   &rc);
  if (rc != 0) GTEST_SKIP() << "the postgresql server did not start: " << out;
  std::string psql = "psql -X -h 127.0.0.1 -p " + std::to_string(port) + " -U postgres -d postgres ";
  out = RunCommand(psql +
                       "-c 'CREATE SCHEMA kubelake' -c 'CREATE TABLE kubelake.ads_kind_count (cluster text NOT NULL, "
                       "kind text NOT NULL, live_count bigint, PRIMARY KEY (cluster, kind))' 2>&1",
                   &rc);
  std::string real = rc == 0 ? RunCommand(psql + "-c '\\d kubelake.ads_kind_count' 2>&1", &rc) : out;
  // COPY ... TO STDOUT: the same bytes in every format and the same first line of each error.
  std::vector<std::string> copies = {
      "(SELECT 'a,b\"c' AS q, CAST(NULL AS TEXT) AS n, E'tab\\tx\\\\y\\nz\\rw' AS e, 1 AS i, "
      "CAST(2.5 AS DOUBLE PRECISION) AS d, true AS b, '' AS empty, '\\.' AS dot, 'x|y' AS pipe) TO STDOUT",
      "(SELECT 'a,b\"c' AS q, CAST(NULL AS TEXT) AS n, E'x\\ny' AS e, '' AS empty) TO STDOUT WITH (FORMAT csv, HEADER)",
      "(SELECT 'a,b\"c' AS q, CAST(NULL AS TEXT) AS n, E'x\\ny' AS e, '' AS empty, 'it''s' AS s) TO STDOUT "
      "WITH (FORMAT csv, FORCE_QUOTE *, NULL 'NULL', DELIMITER '|', QUOTE '''', ESCAPE '\\')",
      "(SELECT 'x|y' AS pipe, CAST(NULL AS TEXT) AS n, 3 AS i) TO STDOUT WITH DELIMITER '|' NULL 'nil' HEADER",
      "(SELECT '\\.' AS dot) TO STDOUT CSV",
      "(SELECT 'a' AS q, CAST(NULL AS TEXT) AS n, 1 AS i, CAST(2.5 AS DOUBLE PRECISION) AS d, true AS b, "
      "CAST(7 AS BIGINT) AS big) TO STDOUT (FORMAT binary)",
      "(SELECT 1 AS i) TO STDOUT (FORMAT binary, HEADER)",
      "(SELECT 1 AS i) TO STDOUT (FORMAT text, QUOTE '\"')",
      "(SELECT 1 AS i) TO STDOUT (FORMAT csv, DELIMITER ',', QUOTE ',')",
      "(SELECT 1 AS i) TO STDOUT (FORMAT xml)",
      "(SELECT 1 AS i) TO STDOUT (DELIMITER 'ab')",
      "(SELECT 1 AS i) TO STDOUT (FORMAT csv, HEADER false, HEADER true)",
      "(SELECT 1 AS i) TO STDOUT (NULL 'a\tb', DELIMITER E'\\t')",
  };
  auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n')); };
  std::vector<std::string> real_copies;
  for (const auto& copy : copies) {
    std::string file = pgdir.Sub("copy.sql");
    ASSERT_TRUE(WriteFile(file, "COPY " + copy + ";\n").ok());
    real_copies.push_back(RunCommand(psql + "-f '" + file + "' 2>&1", &rc));
  }
  (void)RunCommand(as_user + bin + "/pg_ctl -D '" + data + "' -m immediate stop", &rc);
  ASSERT_NE(real.find("Table \"kubelake.ads_kind_count\""), std::string::npos) << real;
  std::string ours = Psql("-c '\\d kubelake.ads_kind_count'", &rc);
  EXPECT_EQ(ours, real);
  for (size_t i = 0; i < copies.size(); ++i) {
    std::string file = pgdir.Sub("copy.sql");
    ASSERT_TRUE(WriteFile(file, "COPY " + copies[i] + ";\n").ok());
    std::string mine = Psql("-f '" + file + "'", &rc);
    if (real_copies[i].find("ERROR:") != std::string::npos) {
      // psql names the file and line before the message: compare from "ERROR:" on.
      std::string theirs = first_line(real_copies[i].substr(real_copies[i].find("ERROR:")));
      ASSERT_NE(mine.find("ERROR:"), std::string::npos) << copies[i] << "\n" << mine;
      EXPECT_EQ(first_line(mine.substr(mine.find("ERROR:"))), theirs) << copies[i];
    } else {
      EXPECT_EQ(mine, real_copies[i]) << copies[i];
    }
  }
}

TEST_F(PgSqlTest, PythonClients) {
  if (std::system("/usr/bin/python3 -c 'import psycopg2, psycopg, sqlalchemy' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-psycopg2 / python3-psycopg / python3-sqlalchemy are not installed";
  }
  std::string script = JoinPath(kl::testing::SourceDir(), "src/server/pgwire/engine/testing/engine_clients.py");
  int rc = 0;
  std::string out = RunCommand("/usr/bin/python3 '" + script + "' " + std::to_string(server_->port()) + " 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  for (const char* want : {"psycopg2 ok", "psycopg3 ok", "sqlalchemy ok", "grafana ok", "metabase ok", "pgjdbc ok"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
  }
}

}  // namespace
}  // namespace kl::server
