// The PostgreSQL server against real clients: libpq from C++ (trust, md5,
// SCRAM-SHA-256, TLS; simple and extended queries, parameters, binary
// results, errors with SQLSTATE, transactions, SET/SHOW, timeouts, cancel,
// row limits, 200 concurrent connections), psql, and psycopg2 / psycopg 3
// from Debian's python3 (clients_test.py). The engine is the test engine
// (testing/test_engine.h) until the SQL engine is plugged in.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/file/file_util.h"
#include "common/string_util.h"
#include "common/testing/test_system_util.h"
#include "common/testing/test_util.h"
#include "server/listen.h"
#include "server/pgwire/auth.h"
#include "server/pgwire/pg_server.h"
#include "server/pgwire/testing/libpq_test_util.h"
#include "server/pgwire/testing/test_engine.h"
#include "simulator/tls.h"

namespace kl::server {
namespace {

using testing::Conn;
using testing::Res;

std::unique_ptr<PgServer> StartServer(const PgServerOptions& options, QueryEngine* engine) {
  auto addr = ParseListenAddress("127.0.0.1:0", "test");
  EXPECT_TRUE(addr.ok());
  auto server = PgServer::Start(**addr, options, engine);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

class PgClientsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = new testing::TestEngine();
    server_ = StartServer(PgServerOptions{}, engine_).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete engine_;
  }
  std::string Conninfo(const std::string& extra = "") const {
    return "host=127.0.0.1 port=" + std::to_string(server_->port()) + " user=alice dbname=kubelake " + extra;
  }
  static testing::TestEngine* engine_;
  static PgServer* server_;
};
testing::TestEngine* PgClientsTest::engine_ = nullptr;
PgServer* PgClientsTest::server_ = nullptr;

TEST_F(PgClientsTest, SimpleQueryValuesNullsUnicode) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_STREQ(PQparameterStatus(c.c, "server_encoding"), "UTF8");
  EXPECT_STREQ(PQparameterStatus(c.c, "client_encoding"), "UTF8");
  EXPECT_STREQ(PQparameterStatus(c.c, "DateStyle"), "ISO, MDY");
  EXPECT_STREQ(PQparameterStatus(c.c, "integer_datetimes"), "on");
  EXPECT_STREQ(PQparameterStatus(c.c, "standard_conforming_strings"), "on");
  EXPECT_EQ(PQserverVersion(c.c), 150000);
  EXPECT_NE(PQbackendPID(c.c), 0);
  Res r(PQexec(c.c, "SELECT * FROM items"));
  ASSERT_EQ(r.status(), PGRES_TUPLES_OK) << PQresultErrorMessage(r.r);
  ASSERT_EQ(PQntuples(r.r), 4);
  ASSERT_EQ(PQnfields(r.r), 12);
  EXPECT_STREQ(PQfname(r.r, 1), "name");
  EXPECT_EQ(PQftype(r.r, 0), 20u);    // int8
  EXPECT_EQ(PQftype(r.r, 2), 1700u);  // numeric
  EXPECT_EQ(PQfmod(r.r, 2), ((10 << 16) | 2) + 4);
  EXPECT_EQ(r.get(0, 0), "1");
  EXPECT_EQ(r.get(0, 2), "19.99");
  EXPECT_EQ(r.get(0, 3), "0.5");
  EXPECT_EQ(r.get(0, 4), "t");
  EXPECT_EQ(r.get(0, 5), "2024-01-01");
  EXPECT_EQ(r.get(0, 6), "2024-01-02 03:04:05.123456");
  EXPECT_EQ(r.get(0, 7), "2024-01-02 03:04:05+00");
  EXPECT_EQ(r.get(0, 8), "\\x0001ff");
  EXPECT_EQ(r.get(0, 9), "{a,\"b c\",NULL}");
  EXPECT_EQ(r.get(0, 11), "{\"team\":\"infra\"}");
  EXPECT_EQ(r.get(1, 1), "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac");
  EXPECT_EQ(r.get(1, 2), "-0.05");
  EXPECT_EQ(r.get(1, 3), "-1.25e-07");
  EXPECT_EQ(r.get(1, 5), "1969-12-31");
  EXPECT_EQ(r.get(1, 7), "1969-12-31 23:59:59+00");
  EXPECT_EQ(r.get(1, 9), "{}");
  for (int col = 1; col < 12; ++col) EXPECT_TRUE(r.null(2, col)) << col;
  EXPECT_FALSE(r.null(1, 8));  // empty bytea is not NULL
  EXPECT_EQ(r.get(3, 0), "9007199254740993");
  EXPECT_EQ(r.get(3, 1), "quote ' and \" and \\ backslash");
  EXPECT_EQ(r.get(3, 9), "{\"NULL\",\"\"}");
  EXPECT_STREQ(PQcmdTuples(r.r), "4");
}

TEST_F(PgClientsTest, SeveralStatementsEmptyQueryAndErrors) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(PQsendQuery(c.c, "SELECT 1 AS a; SELECT 'two' AS b;; SELECT * FROM generate_series(3)"), 1);
  std::vector<std::string> firsts;
  while (PGresult* r = PQgetResult(c.c)) {
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
    firsts.push_back(PQgetvalue(r, 0, 0));
    PQclear(r);
  }
  EXPECT_EQ(firsts, (std::vector<std::string>{"1", "two", "1"}));
  EXPECT_EQ(Res(PQexec(c.c, "")).status(), PGRES_EMPTY_QUERY);
  EXPECT_EQ(Res(PQexec(c.c, "-- ping")).status(), PGRES_EMPTY_QUERY);
  Res missing(PQexec(c.c, "SELECT * FROM nope"));
  EXPECT_EQ(missing.status(), PGRES_FATAL_ERROR);
  EXPECT_EQ(missing.sqlstate(), "42P01");
  Res syntax(PQexec(c.c, "SELEKT 1"));
  EXPECT_EQ(syntax.sqlstate(), "42601");
  // An error stops the rest of a multi-statement query.
  Res stopped(PQexec(c.c, "SELECT * FROM nope; SELECT 1"));
  EXPECT_EQ(stopped.sqlstate(), "42P01");
  Res after(PQexec(c.c, "SELECT 42"));
  ASSERT_EQ(after.status(), PGRES_TUPLES_OK);
  EXPECT_EQ(after.get(0, 0), "42");
  Res mid(PQexec(c.c, "SELECT fail_after(3)"));
  EXPECT_EQ(mid.sqlstate(), "22012");
}

TEST_F(PgClientsTest, ExtendedQueryParametersAndBinaryResults) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok());
  // Text parameter, text result.
  const char* text_values[] = {"2"};
  Res t(PQexecParams(c.c, "SELECT * FROM items WHERE id = $1", 1, nullptr, text_values, nullptr, nullptr, 0));
  ASSERT_EQ(t.status(), PGRES_TUPLES_OK) << PQresultErrorMessage(t.r);
  ASSERT_EQ(PQntuples(t.r), 1);
  EXPECT_EQ(t.get(0, 2), "-0.05");
  // Binary int8 parameter, binary results.
  uint64_t id = htobe64(1);
  const char* bin_values[] = {reinterpret_cast<const char*>(&id)};
  int lengths[] = {8};
  int formats[] = {1};
  Oid types[] = {20};
  Res b(PQexecParams(c.c, "SELECT * FROM items WHERE id = $1", 1, types, bin_values, lengths, formats, 1));
  ASSERT_EQ(b.status(), PGRES_TUPLES_OK) << PQresultErrorMessage(b.r);
  ASSERT_EQ(PQntuples(b.r), 1);
  EXPECT_EQ(PQfformat(b.r, 0), 1);
  uint64_t got;
  std::memcpy(&got, PQgetvalue(b.r, 0, 0), 8);
  EXPECT_EQ(be64toh(got), 1u);
  EXPECT_EQ(std::string(PQgetvalue(b.r, 0, 1), PQgetlength(b.r, 0, 1)), "alpha");
  EXPECT_EQ(PQgetlength(b.r, 0, 4), 1);
  EXPECT_EQ(PQgetvalue(b.r, 0, 4)[0], 1);
  uint32_t days;
  std::memcpy(&days, PQgetvalue(b.r, 0, 5), 4);
  EXPECT_EQ(static_cast<int32_t>(be32toh(days)), 19723 - 10957);  // days since 2000-01-01
  // Parameters echoed back with declared types.
  const char* echo[] = {"7", "hi ✓", nullptr, "2024-02-29"};
  Res e(PQexecParams(c.c, "SELECT $1::int4 AS a, $2 AS b, $3::int8 AS c, $4::date AS d", 4, nullptr, echo, nullptr,
                     nullptr, 0));
  ASSERT_EQ(e.status(), PGRES_TUPLES_OK) << PQresultErrorMessage(e.r);
  EXPECT_EQ(e.get(0, 0), "7");
  EXPECT_EQ(e.get(0, 1), "hi ✓");
  EXPECT_TRUE(e.null(0, 2));
  EXPECT_EQ(e.get(0, 3), "2024-02-29");
  EXPECT_EQ(PQftype(e.r, 0), 23u);
  // A parameter that does not parse as its type: 22P02, and the session goes on.
  const char* bad[] = {"seven"};
  Res wrong(PQexecParams(c.c, "SELECT $1::int4", 1, nullptr, bad, nullptr, nullptr, 0));
  EXPECT_EQ(wrong.sqlstate(), "22P02");
  // Prepared statements: describe, execute twice, deallocate.
  Res prep(PQprepare(c.c, "by_id", "SELECT * FROM items WHERE id = $1", 0, nullptr));
  ASSERT_EQ(prep.status(), PGRES_COMMAND_OK) << PQresultErrorMessage(prep.r);
  Res desc(PQdescribePrepared(c.c, "by_id"));
  EXPECT_EQ(PQnparams(desc.r), 1);
  EXPECT_EQ(PQparamtype(desc.r, 0), 20u);
  EXPECT_EQ(PQnfields(desc.r), 12);
  for (const char* v : {"1", "3"}) {
    const char* values[] = {v};
    Res r(PQexecPrepared(c.c, "by_id", 1, values, nullptr, nullptr, 0));
    ASSERT_EQ(r.status(), PGRES_TUPLES_OK);
    EXPECT_EQ(r.get(0, 0), v);
  }
  Res dup(PQprepare(c.c, "by_id", "SELECT 1", 0, nullptr));
  EXPECT_EQ(dup.sqlstate(), "42P05");
  EXPECT_EQ(Res(PQexec(c.c, "DEALLOCATE by_id")).status(), PGRES_COMMAND_OK);
  const char* one[] = {"1"};
  Res gone(PQexecPrepared(c.c, "by_id", 1, one, nullptr, nullptr, 0));
  EXPECT_EQ(gone.sqlstate(), "26000");
}

TEST_F(PgClientsTest, TransactionsSetShow) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(PQtransactionStatus(c.c), PQTRANS_IDLE);
  EXPECT_EQ(Res(PQexec(c.c, "BEGIN")).status(), PGRES_COMMAND_OK);
  EXPECT_EQ(PQtransactionStatus(c.c), PQTRANS_INTRANS);
  EXPECT_EQ(Res(PQexec(c.c, "SELECT * FROM nope")).sqlstate(), "42P01");
  EXPECT_EQ(PQtransactionStatus(c.c), PQTRANS_INERROR);
  EXPECT_EQ(Res(PQexec(c.c, "SELECT 1")).sqlstate(), "25P02");
  Res rb(PQexec(c.c, "ROLLBACK"));
  EXPECT_EQ(rb.status(), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQcmdStatus(rb.r), "ROLLBACK");
  EXPECT_EQ(PQtransactionStatus(c.c), PQTRANS_IDLE);
  // SET of a reported setting comes back as ParameterStatus.
  EXPECT_EQ(Res(PQexec(c.c, "SET DateStyle TO 'ISO, DMY'")).status(), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQparameterStatus(c.c, "DateStyle"), "ISO, DMY");
  EXPECT_EQ(Res(PQexec(c.c, "SET application_name = 'reports'")).status(), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQparameterStatus(c.c, "application_name"), "reports");
  Res show(PQexec(c.c, "SHOW application_name"));
  ASSERT_EQ(show.status(), PGRES_TUPLES_OK);
  EXPECT_EQ(show.get(0, 0), "reports");
  Res all(PQexec(c.c, "SHOW ALL"));
  EXPECT_GT(PQntuples(all.r), 10);
  EXPECT_EQ(Res(PQexec(c.c, "SET client_encoding = 'LATIN1'")).sqlstate(), "22023");
  EXPECT_EQ(Res(PQexec(c.c, "SET server_version = '1'")).sqlstate(), "55P02");
  EXPECT_EQ(Res(PQexec(c.c, "RESET ALL")).status(), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQparameterStatus(c.c, "DateStyle"), "ISO, MDY");
  EXPECT_EQ(Res(PQexec(c.c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")).status(), PGRES_COMMAND_OK);
  EXPECT_EQ(Res(PQexec(c.c, "SHOW TRANSACTION ISOLATION LEVEL")).get(0, 0), "read committed");
}

TEST_F(PgClientsTest, StatementTimeoutAndCancel) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(Res(PQexec(c.c, "SET statement_timeout = 200")).status(), PGRES_COMMAND_OK);
  auto start = std::chrono::steady_clock::now();
  Res slow(PQexec(c.c, "SELECT sleep(10000)"));
  EXPECT_EQ(slow.sqlstate(), "57014");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_EQ(Res(PQexec(c.c, "SET statement_timeout = 0")).status(), PGRES_COMMAND_OK);
  // A CancelRequest on another connection stops the running statement.
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    PGcancel* cancel = PQgetCancel(c.c);
    char err[256];
    EXPECT_EQ(PQcancel(cancel, err, sizeof(err)), 1) << err;
    PQfreeCancel(cancel);
  });
  start = std::chrono::steady_clock::now();
  Res cancelled(PQexec(c.c, "SELECT sleep(20000)"));
  canceller.join();
  EXPECT_EQ(cancelled.sqlstate(), "57014");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(Res(PQexec(c.c, "SELECT 1")).status(), PGRES_TUPLES_OK);
}

TEST(PgServerLimits, RowLimitAndServerTimeout) {
  testing::TestEngine engine;
  PgServerOptions o;
  o.max_rows = 100;
  o.statement_timeout_ms = 300;
  auto server = StartServer(o, &engine);
  Conn c("host=127.0.0.1 port=" + std::to_string(server->port()) + " user=bob");
  ASSERT_TRUE(c.ok()) << c.error();
  Res ok(PQexec(c.c, "SELECT * FROM generate_series(100)"));
  EXPECT_EQ(PQntuples(ok.r), 100);
  Res over(PQexec(c.c, "SELECT * FROM generate_series(101)"));
  EXPECT_EQ(over.sqlstate(), "54000");
  // A session may lower the server's timeout, not raise it.
  ASSERT_EQ(Res(PQexec(c.c, "SET statement_timeout = '1h'")).status(), PGRES_COMMAND_OK);
  Res slow(PQexec(c.c, "SELECT sleep(5000)"));
  EXPECT_EQ(slow.sqlstate(), "57014");
}

TEST(PgServerAuth, Md5ScramCleartextAndUnknownDatabase) {
  kl::testing::TempDir dir;
  std::string users = dir.Sub("users");
  ASSERT_TRUE(WriteFile(users, "# kubelake users\nmd5user:" + pg::Md5Verifier("md5user", "s3cret") +
                                   "\nscramuser:" + pg::ScramVerifierString("pässword ✓") + "\n")
                  .ok());
  testing::TestEngine engine;
  PgServerOptions o;
  o.users_file = users;
  auto server = StartServer(o, &engine);
  std::string base = "host=127.0.0.1 port=" + std::to_string(server->port()) + " ";
  {
    Conn c(base + "user=md5user password=s3cret");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(Res(PQexec(c.c, "SELECT 1")).get(0, 0), "1");
  }
  {
    Conn c(base + "user=md5user password=wrong");
    EXPECT_FALSE(c.ok());
    EXPECT_NE(c.error().find("password authentication failed"), std::string::npos) << c.error();
  }
  {
    Conn c(base + "user=scramuser password='pässword ✓'");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(Res(PQexec(c.c, "SELECT 1")).get(0, 0), "1");
  }
  {
    Conn c(base + "user=scramuser password=nope");
    EXPECT_FALSE(c.ok());
  }
  {
    Conn c(base + "user=nobody password=x");
    EXPECT_FALSE(c.ok());
    EXPECT_NE(c.error().find("password authentication failed"), std::string::npos) << c.error();
  }
  {
    Conn c(base + "user=scramuser password='pässword ✓' dbname=nosuchdb");
    EXPECT_FALSE(c.ok());
    EXPECT_NE(c.error().find("does not exist"), std::string::npos) << c.error();
  }
  PgServerOptions clear = o;
  clear.cleartext_passwords = true;
  auto server2 = StartServer(clear, &engine);
  Conn good("host=127.0.0.1 port=" + std::to_string(server2->port()) + " user=scramuser password='pässword ✓'");
  EXPECT_TRUE(good.ok()) << good.error();
  Conn bad("host=127.0.0.1 port=" + std::to_string(server2->port()) + " user=md5user password=nope");
  EXPECT_FALSE(bad.ok());
  // A users file that is wrong fails the start with the line named.
  ASSERT_TRUE(WriteFile(users, "ok:" + pg::Md5Verifier("ok", "x") + "\nplain:hunter2\n").ok());
  auto addr = ParseListenAddress("127.0.0.1:0", "test");
  auto refused = PgServer::Start(**addr, o, &engine);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("line 2"), std::string::npos) << refused.status().ToString();
}

TEST(PgServerTls, NegotiatedAndRequired) {
  kl::testing::TempDir dir;
  auto material = simulator::GenerateTlsMaterial("kubelake-test-ca");
  ASSERT_TRUE(material.ok());
  ASSERT_TRUE(WriteFile(dir.Sub("cert.pem"), material->server_cert_pem).ok());
  ASSERT_TRUE(WriteFile(dir.Sub("key.pem"), material->server_key_pem).ok());
  ASSERT_TRUE(WriteFile(dir.Sub("ca.pem"), material->ca_cert_pem).ok());
  testing::TestEngine engine;
  PgServerOptions o;
  o.tls_cert = dir.Sub("cert.pem");
  o.tls_key = dir.Sub("key.pem");
  o.require_tls = true;
  auto server = StartServer(o, &engine);
  std::string base = "host=127.0.0.1 port=" + std::to_string(server->port()) + " user=tls ";
  Conn verified(base + "sslmode=verify-full sslrootcert=" + dir.Sub("ca.pem"));
  ASSERT_TRUE(verified.ok()) << verified.error();
  EXPECT_EQ(PQsslInUse(verified.c), 1);
  Res r(PQexec(verified.c, "SELECT * FROM items"));
  EXPECT_EQ(PQntuples(r.r), 4);
  Conn plain(base + "sslmode=disable");
  EXPECT_FALSE(plain.ok());
  EXPECT_NE(plain.error().find("TLS"), std::string::npos) << plain.error();
}

TEST_F(PgClientsTest, TwoHundredConcurrentConnections) {
  constexpr int kClients = 200;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      Conn c(Conninfo("connect_timeout=20"));
      if (!c.ok()) return;
      while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      Res r(PQexec(c.c, ("SELECT * FROM generate_series(" + std::to_string(100 + i) + ")").c_str()));
      if (r.status() == PGRES_TUPLES_OK && PQntuples(r.r) == 100 + i) ++good;
    });
  }
  // Wait until every client is connected, then let them all query at once.
  for (int i = 0; i < 400 && server_->connections() < kClients; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_GE(server_->connections(), kClients);
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kClients);
}

using kl::testing::RunCommand;

TEST_F(PgClientsTest, Psql) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  std::string cmd = "PGCONNECT_TIMEOUT=10 psql -X -A -F '|' -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " +
                    std::to_string(server_->port()) + " -U alice -d kubelake -c 'SELECT * FROM items' 2>&1";
  int rc = 0;
  std::string out = RunCommand(cmd, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("1|alpha|19.99|0.5|t|2024-01-01|"), std::string::npos) << out;
  EXPECT_NE(out.find("2|h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac|-0.05"), std::string::npos)
      << out;
  EXPECT_NE(out.find("3|||||||||||"), std::string::npos) << out;  // NULLs print empty
  EXPECT_NE(out.find("(4 rows)"), std::string::npos) << out;
  std::string err = RunCommand("psql -X -h 127.0.0.1 -p " + std::to_string(server_->port()) +
                                   " -U alice -v ON_ERROR_STOP=1 -c 'SELECT * FROM nope' 2>&1",
                               &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("relation \"nope\" does not exist"), std::string::npos) << err;
}

// All of a COPY ... TO STDOUT's CopyData, or the error; `status` gets PQresultStatus of the start.
std::string CopyOut(PGconn* c, const std::string& sql, ExecStatusType* status, std::string* error = nullptr,
                    std::vector<std::string>* messages = nullptr) {
  Res start(PQexec(c, sql.c_str()));
  *status = start.status();
  if (start.status() != PGRES_COPY_OUT) {
    if (error != nullptr) *error = start.sqlstate() + " " + start.error();
    return "";
  }
  std::string out;
  char* buf = nullptr;
  int n = 0;
  while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (messages != nullptr) messages->emplace_back(buf, static_cast<size_t>(n));
    PQfreemem(buf);
  }
  EXPECT_EQ(n, -1) << "the copy ends with CopyDone";
  Res done(PQgetResult(c));
  EXPECT_EQ(done.status(), PGRES_COMMAND_OK) << done.error();
  if (error != nullptr) *error = PQcmdTuples(done.r);
  while (PGresult* more = PQgetResult(c)) PQclear(more);
  return out;
}

TEST_F(PgClientsTest, CopyToStdoutInTextCsvAndBinary) {
  Conn c(Conninfo());
  ASSERT_TRUE(c.ok()) << c.error();
  ExecStatusType status;
  std::string tuples;
  std::string text = CopyOut(c.c, "COPY (SELECT * FROM items) TO STDOUT", &status, &tuples);
  ASSERT_EQ(status, PGRES_COPY_OUT);
  EXPECT_EQ(tuples, "4");
  std::vector<std::string> lines = Split(text, '\n', true);
  ASSERT_EQ(lines.size(), 4u) << text;
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(lines[0],
            "1\talpha\t19.99\t0.5\tt\t2024-01-01\t2024-01-02 03:04:05.123456\t2024-01-02 03:04:05+00\t\\\\x0001ff\t"
            "{a,\"b c\",NULL}\t-7\t{\"team\":\"infra\"}");
  EXPECT_EQ(lines[2], "3\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N");
  EXPECT_NE(lines[3].find("\tquote ' and \" and \\\\ backslash\t"), std::string::npos) << lines[3];

  std::string csv = CopyOut(c.c, "COPY items TO STDOUT WITH (FORMAT csv, HEADER)", &status);
  ASSERT_EQ(status, PGRES_COPY_OUT);
  lines = Split(csv, '\n', true);
  ASSERT_EQ(lines.size(), 5u) << csv;
  EXPECT_EQ(lines[0], "id,name,price,ratio,active,born,seen,seen_tz,data,tags,small,labels") << csv;
  EXPECT_EQ(lines[1],
            "1,alpha,19.99,0.5,t,2024-01-01,2024-01-02 03:04:05.123456,2024-01-02 03:04:05+00,\\x0001ff,"
            "\"{a,\"\"b c\"\",NULL}\",-7,\"{\"\"team\"\":\"\"infra\"\"}\"");
  EXPECT_EQ(lines[3], "3,,,,,,,,,,,");
  EXPECT_NE(lines[4].find(",\"quote ' and \"\" and \\ backslash\","), std::string::npos) << lines[4];
  std::string legacy =
      CopyOut(c.c, "copy items to stdout with csv delimiter as ';' null as 'nil' force quote name", &status);
  EXPECT_EQ(legacy.substr(0, 10), "1;\"alpha\";") << legacy;
  EXPECT_NE(legacy.find("\n3;nil;nil;"), std::string::npos) << legacy;

  std::string binary = CopyOut(c.c, "COPY (SELECT * FROM items LIMIT 1) TO STDOUT (FORMAT binary)", &status);
  ASSERT_EQ(status, PGRES_COPY_OUT);
  ASSERT_GT(binary.size(), 21u);
  EXPECT_EQ(binary.substr(0, 11), std::string("PGCOPY\n\xff\r\n\0", 11));
  EXPECT_EQ(binary.substr(11, 8), std::string(8, '\0'));
  EXPECT_EQ(binary.substr(19, 2), std::string("\0\x0c", 2));                          // twelve fields
  EXPECT_EQ(binary.substr(21, 12), std::string("\0\0\0\x08\0\0\0\0\0\0\0\x01", 12));  // int8 1
  EXPECT_EQ(binary.substr(binary.size() - 2), "\xff\xff");
  // As PostgreSQL sends them: the signature in the first row's CopyData, the trailer alone;
  // with no rows, signature and trailer in one.
  std::vector<std::string> messages;
  (void)CopyOut(c.c, "COPY (SELECT * FROM items LIMIT 1) TO STDOUT (FORMAT binary)", &status, nullptr, &messages);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].substr(19, 2), std::string("\0\x0c", 2));
  EXPECT_EQ(messages[1], "\xff\xff");
  messages.clear();
  (void)CopyOut(c.c, "COPY (SELECT * FROM items LIMIT 0) TO STDOUT (FORMAT binary)", &status, nullptr, &messages);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].size(), 21u);
  messages.clear();
  (void)CopyOut(c.c, "COPY (SELECT * FROM items LIMIT 1) TO STDOUT (FORMAT csv, HEADER)", &status, nullptr, &messages);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].substr(0, 8), "id,name,");

  std::string error;
  (void)CopyOut(c.c, "COPY items FROM STDIN", &status, &error);
  EXPECT_EQ(status, PGRES_FATAL_ERROR);
  EXPECT_EQ(error.substr(0, 5), "0A000") << error;
  (void)CopyOut(c.c, "COPY items TO '/tmp/kubelake-copy-test'", &status, &error);
  EXPECT_EQ(error.substr(0, 5), "42501") << error;
  EXPECT_FALSE(FileExists("/tmp/kubelake-copy-test"));
  (void)CopyOut(c.c, "COPY items TO STDOUT (FORMAT csv, FORCE_QUOTE (nope))", &status, &error);
  EXPECT_EQ(error.substr(0, 5), "42703") << error;
  (void)CopyOut(c.c, "COPY items TO STDOUT (FORMAT text, QUOTE '\"')", &status, &error);
  EXPECT_NE(error.find("COPY quote available only in CSV mode"), std::string::npos) << error;
  (void)CopyOut(c.c, "COPY (SELECT * FROM nope) TO STDOUT", &status, &error);
  EXPECT_EQ(error.substr(0, 5), "42P01") << error;
  // Through Parse/Bind/Execute it is refused, and the connection goes on.
  Res extended(PQexecParams(c.c, "COPY items TO STDOUT", 0, nullptr, nullptr, nullptr, nullptr, 0));
  EXPECT_EQ(extended.sqlstate(), "0A000") << extended.error();
  Res after(PQexec(c.c, "SELECT 1"));
  EXPECT_EQ(after.status(), PGRES_TUPLES_OK) << after.error();
}

TEST_F(PgClientsTest, PsqlCopiesToAFile) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  kl::testing::TempDir dir;
  std::string file = dir.Sub("items.csv");
  int rc = 0;
  std::string out =
      RunCommand("PGCONNECT_TIMEOUT=10 psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + std::to_string(server_->port()) +
                     " -U alice -d kubelake -c \"\\copy items to '" + file + "' csv header\" 2>&1",
                 &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "COPY 4\n");
  auto written = ReadFile(file);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->substr(0, 22), "id,name,price,ratio,ac") << *written;
  EXPECT_NE(written->find("\n1,alpha,19.99,"), std::string::npos) << *written;
  EXPECT_EQ(Split(*written, '\n', true).size(), 5u) << *written;
}

TEST_F(PgClientsTest, PsycopgTwoAndThree) {
  if (std::system("/usr/bin/python3 -c 'import psycopg2, psycopg' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-psycopg2 / python3-psycopg are not installed";
  }
  kl::testing::TempDir dir;
  std::string users = dir.Sub("users");
  ASSERT_TRUE(WriteFile(users, "py:" + pg::ScramVerifierString("py-secret") + "\n").ok());
  PgServerOptions o;
  o.users_file = users;
  auto scram_server = StartServer(o, engine_);
  std::string script = JoinPath(kl::testing::SourceDir(), "src/server/pgwire/testing/clients_test.py");
  int rc = 0;
  std::string out = RunCommand("/usr/bin/python3 '" + script + "' " + std::to_string(server_->port()) + " " +
                                   std::to_string(scram_server->port()) + " 2>&1",
                               &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("psycopg2 ok"), std::string::npos) << out;
  EXPECT_NE(out.find("psycopg3 ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace kl::server
