// Streaming = batch across kill -9: `kubelake sql -f jobs.sql` runs stateful
// streaming jobs (append copy, GROUP BY, Top-1, a regular join, PostgreSQL
// sinks) over a log the test keeps appending to, and is SIGKILLed at random
// moments and restarted, round after round. At the end every sink equals the
// batch query over the same input: each record counted once, each state
// restored exactly from its checkpoint.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "log/event_log.h"
#include "sql/functions/cast.h"
#include "sql/sql.h"
#include "sql/sql_test_util.h"
#include "sql/streaming/postgres_test_util.h"

namespace kl::sql {
namespace {

class Child {
 public:
  ~Child() { Signal(SIGKILL); }
  bool Start(const std::vector<std::string>& args, const std::string& log_path) {
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      FILE* out = std::fopen(log_path.c_str(), "a");
      if (out != nullptr) {
        ::dup2(::fileno(out), 1);
        ::dup2(::fileno(out), 2);
      }
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    return true;
  }
  // Sends `sig` and waits; the exit status (or 128 + signal).
  int Signal(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

TEST(StreamingE2eTest, SinksEqualBatchAfterKillNineRestarts) {
  kl::testing::TempDir dir;
  std::string warehouse = dir.Sub("warehouse");
  std::string log_uri = "dir:" + dir.Sub("log") + "?partitions=3&fsync=never";
  kl::testing::PostgresServer pg;
  std::string pg_why = pg.Start();
  bool with_pg = pg_why.empty();
  if (!with_pg) std::printf("PostgreSQL sinks left out: %s\n", pg_why.c_str());

  EngineOptions eo;
  eo.warehouse = warehouse;
  auto engine = SqlEngine::Create(eo);
  ASSERT_TRUE(engine.ok());
  auto batch = (*engine)->NewSession();
  auto exec = [&](const std::string& sql) {
    auto r = batch->Execute(sql);
    ASSERT_TRUE(r.ok()) << sql << "\n" << r.status().ToString();
  };
  exec("SET 'execution.runtime-mode' = 'batch'");
  exec("CREATE DATABASE kubelake");
  std::string log_table =
      "CREATE TEMPORARY TABLE ev (id BIGINT, k STRING, v INT, part INT METADATA FROM 'partition' "
      "VIRTUAL) WITH ('connector' = 'kubelake-log', 'uri' = '" +
      log_uri + "', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset')";
  exec(log_table);
  exec("CREATE TABLE raw (id BIGINT, k STRING, v INT)");
  exec("CREATE TABLE counts (k STRING PRIMARY KEY NOT ENFORCED, n BIGINT, s BIGINT, mx INT)");
  exec("CREATE TABLE best (k STRING PRIMARY KEY NOT ENFORCED, id BIGINT, v INT)");
  exec("CREATE TABLE dims (k STRING PRIMARY KEY NOT ENFORCED, label STRING) WITH ('changelog-producer' = 'lookup')");
  exec("CREATE TABLE joined (id BIGINT PRIMARY KEY NOT ENFORCED, k STRING, label STRING)");
  for (int i = 0; i < 13; i += 2) {
    exec("INSERT INTO dims VALUES ('key-" + std::to_string(i) + "', 'label-" + std::to_string(i) + "')");
  }
  if (with_pg) {
    ASSERT_TRUE(pg.Query("CREATE TABLE pg_raw (id BIGINT, k TEXT, v INTEGER)").empty());
    ASSERT_TRUE(pg.Query("CREATE TABLE pg_counts (k TEXT PRIMARY KEY, n BIGINT, s BIGINT)").empty());
  }
  std::string jobs = "SET 'execution.checkpointing.interval' = '150 ms';\n" + log_table + ";\n";
  if (with_pg) {
    jobs += "CREATE TEMPORARY TABLE pg_raw (id BIGINT, k STRING, v INT) WITH ('connector' = 'jdbc', 'url' = '" +
            pg.JdbcUrl() +
            "', 'table-name' = 'pg_raw', 'username' = 'postgres');\n"
            "CREATE TEMPORARY TABLE pg_counts (k STRING, n BIGINT, s BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH "
            "('connector' = 'jdbc', 'url' = '" +
            pg.JdbcUrl() + "', 'table-name' = 'pg_counts', 'username' = 'postgres');\n";
  }
  jobs += R"(
SET 'pipeline.name' = 'raw';
INSERT INTO raw SELECT id, k, v FROM ev;
SET 'pipeline.name' = 'counts';
INSERT INTO counts SELECT k, COUNT(*), SUM(v), MAX(v) FROM ev GROUP BY k;
SET 'pipeline.name' = 'best';
INSERT INTO best SELECT k, id, v FROM (SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC, id) AS rn FROM ev) WHERE rn = 1;
SET 'pipeline.name' = 'joined';
INSERT INTO joined SELECT e.id, e.k, d.label FROM ev e LEFT JOIN dims d ON e.k = d.k;
)";
  if (with_pg) {
    jobs +=
        "SET 'pipeline.name' = 'pg-raw';\nINSERT INTO pg_raw SELECT id, k, v FROM ev;\n"
        "SET 'pipeline.name' = 'pg-counts';\nINSERT INTO pg_counts SELECT k, COUNT(*), SUM(v) FROM ev GROUP BY k;\n";
  }
  std::string job_file = dir.Sub("jobs.sql");
  KL_ASSERT_OK(WriteFile(job_file, jobs));

  auto log = log::OpenEventLog(log_uri);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto producer = (*log)->NewProducer();
  ASSERT_TRUE(producer.ok());
  int64_t produced = 0;
  Random rng(20261206);
  auto produce = [&](int n) {
    for (int i = 0; i < n; ++i) {
      int64_t id = ++produced;
      std::string k = "key-" + std::to_string(rng.Uniform(13));
      std::string value =
          "{\"id\":" + std::to_string(id) + ",\"k\":\"" + k + "\",\"v\":" + std::to_string(rng.Uniform(1000)) + "}";
      log::ProducerRecord r;
      r.key = k;
      r.value = value;
      KL_ASSERT_OK((*producer)->Send(r));
    }
    KL_ASSERT_OK((*producer)->Flush());
  };
  std::string binary = JoinPath(kl::testing::BinaryDir(), "src/cli/kubelake");
  std::vector<std::string> args = {binary, "sql", "--warehouse", warehouse, "-f", job_file};
  std::string child_log = dir.Sub("child.log");
  const int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    Child child;
    ASSERT_TRUE(child.Start(args, child_log));
    int64_t until = MonotonicMicros() + static_cast<int64_t>(300 + rng.Uniform(1700)) * 1000;
    while (MonotonicMicros() < until) {
      produce(static_cast<int>(20 + rng.Uniform(80)));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng.Uniform(60)));
    }
    child.Signal(SIGKILL);
  }
  produce(100);
  // A last run catches up and stops cleanly on SIGTERM.
  Child last;
  ASSERT_TRUE(last.Start(args, child_log));
  int64_t deadline = NowMillis() + 120000;
  auto caught_up = [&] {
    auto raw = SortedRows(batch.get(), "SELECT COUNT(*) FROM raw");
    auto counts = SortedRows(batch.get(), "SELECT SUM(n) FROM counts");
    auto joined = SortedRows(batch.get(), "SELECT COUNT(*) FROM joined");
    std::string want = std::to_string(produced);
    bool pg_done = !with_pg || (pg.Query("SELECT COUNT(*) FROM pg_raw") == std::vector<std::string>{want} &&
                                pg.Query("SELECT SUM(n) FROM pg_counts") == std::vector<std::string>{want});
    return raw == std::vector<std::string>{want} && counts == std::vector<std::string>{want} &&
           joined == std::vector<std::string>{want} && pg_done;
  };
  while (NowMillis() < deadline && !caught_up()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // anything written twice would show now
  EXPECT_EQ(last.Signal(SIGTERM), 0) << "a clean stop on SIGTERM";
  auto tail = ReadFile(child_log);
  std::string text = tail.ok() ? *tail : "";
  std::string last_lines = text.substr(text.size() > 3000 ? text.size() - 3000 : 0);

  std::string n = std::to_string(produced);
  EXPECT_EQ(SortedRows(batch.get(), "SELECT COUNT(*), COUNT(DISTINCT id) FROM raw"),
            std::vector<std::string>{n + "|" + n})
      << last_lines;
  EXPECT_EQ(SortedRows(batch.get(), "SELECT COUNT(*) FROM ev"), std::vector<std::string>{n});
  EXPECT_EQ(SortedRows(batch.get(), "SELECT * FROM counts"),
            SortedRows(batch.get(), "SELECT k, COUNT(*), SUM(v), MAX(v) FROM ev GROUP BY k"));
  EXPECT_EQ(SortedRows(batch.get(), "SELECT * FROM best"),
            SortedRows(batch.get(),
                       "SELECT k, id, v FROM (SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v "
                       "DESC, id) AS rn FROM ev) WHERE rn = 1"));
  EXPECT_EQ(SortedRows(batch.get(), "SELECT * FROM joined"),
            SortedRows(batch.get(), "SELECT e.id, e.k, d.label FROM ev e LEFT JOIN dims d ON e.k = d.k"));
  if (with_pg) {
    EXPECT_EQ(pg.Query("SELECT COUNT(*), COUNT(DISTINCT id) FROM pg_raw"), std::vector<std::string>{n + "|" + n});
    auto want = SortedRows(batch.get(), "SELECT k, COUNT(*), SUM(v) FROM ev GROUP BY k");
    auto got = pg.Query("SELECT k, n, s FROM pg_counts");
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
  }
  std::printf("%lld records, %d kill -9 rounds: every sink equals its batch query\n", static_cast<long long>(produced),
              kRounds);
}

}  // namespace
}  // namespace kl::sql
