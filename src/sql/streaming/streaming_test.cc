// Streaming INSERT jobs end to end through SqlSession: Paimon tables followed
// as changelogs, the event log as a table, sinks per merge engine, restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "common/worker_pool.h"
#include "log/event_log.h"
#include "log/segment/segment_log.h"
#include "pipeline/runtime/job.h"
#include "pipeline/runtime/sink.h"
#include "sql/functions/cast.h"
#include "sql/parser/parser.h"
#include "sql/sql.h"
#include "sql/sql_test_util.h"
#include "sql/streaming/connectors.h"
#include "sql/streaming/operators.h"
#include "sql/streaming/postgres_test_util.h"
#include "table/schema/schema.h"
#include "table/table.h"

namespace kl::sql {
namespace {

class StreamingTest : public SqlEngineFixture {
 protected:
  void SetUp() override {
    SqlEngineFixture::SetUp();
    if (HasFatalFailure()) return;
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
  std::vector<std::string> Rows(const std::string& sql) { return SortedRows(session_.get(), sql); }

  // Opens the logs the tests' sources read.
  streaming::LogOpener Opener() {
    return [this](const std::string& u) { return engine_->OpenLog(u); };
  }
  // The log table `ev (columns)` over `uri`, read from its earliest offset.
  std::shared_ptr<CatalogObject> LogTable(const std::string& columns, const std::string& uri) {
    auto parsed = sql::ParseStatement("CREATE TEMPORARY TABLE ev (" + columns +
                                      ") WITH ('connector' = 'kubelake-log', 'uri' = '" + uri +
                                      "', 'scan.startup.mode' = 'earliest-offset')");
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    if (!parsed.ok()) return nullptr;
    auto ev = streaming::MakeConnectorTable(**parsed, "paimon", "kubelake", Opener());
    EXPECT_TRUE(ev.ok()) << ev.status().ToString();
    return ev.ok() ? *ev : nullptr;
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

// Appends records to the log at `uri` (key, value) and flushes.
void Produce(SqlEngine* engine, const std::string& uri,
             const std::vector<std::pair<std::string, std::string>>& records) {
  auto log = engine->OpenLog(uri);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto producer = (*log)->NewProducer();
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  for (const auto& [k, v] : records) {
    log::ProducerRecord r;
    r.key = k;
    r.value = v;
    KL_ASSERT_OK((*producer)->Send(r));
  }
  KL_ASSERT_OK((*producer)->Flush());
}

TEST_F(StreamingTest, ReadsTheEventLogAsATable) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=2&fsync=never";
  Exec(
      "CREATE TEMPORARY TABLE k8s_events (ingest_time BIGINT METADATA FROM 'timestamp', cluster STRING METADATA "
      "FROM 'key', content STRING, part INT METADATA FROM 'partition' VIRTUAL, off BIGINT METADATA FROM 'offset' "
      "VIRTUAL) WITH ('connector' = 'kubelake-log', 'uri' = '" +
      uri + "', 'scan.startup.mode' = 'earliest-offset')");
  Exec(
      "CREATE TABLE ods (ingest_time BIGINT, cluster STRING, content STRING) PARTITIONED BY (cluster) WITH "
      "('bucket' = '2', 'bucket-key' = 'ingest_time', 'file.format' = 'avro')");
  Produce(engine_.get(), uri, {{"c1", "{\"a\":1}"}, {"c2", "{\"a\":2}"}, {"c1", "{\"a\":3}"}});
  Exec("SET 'pipeline.name' = 'ods'");
  Exec("INSERT INTO ods SELECT ingest_time, cluster, content FROM k8s_events");
  WaitCaughtUp("ods");
  EXPECT_EQ(Rows("SELECT cluster, content FROM ods"),
            (std::vector<std::string>{"c1|{\"a\":1}", "c1|{\"a\":3}", "c2|{\"a\":2}"}));
  Produce(engine_.get(), uri, {{"c2", "{\"a\":4}"}});
  WaitCaughtUp("ods");
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM ods"), std::vector<std::string>{"4"});
  // The log read in batch: the same records, with their metadata.
  EXPECT_EQ(Rows("SELECT COUNT(*), MIN(part) >= 0 AND MAX(part) < 2, MIN(off) FROM k8s_events"),
            std::vector<std::string>{"4|TRUE|0"});
  EXPECT_EQ(Rows("SELECT JSON_VALUE(content, '$.a') FROM k8s_events WHERE cluster = 'c2'"),
            (std::vector<std::string>{"2", "4"}));
  // ingest_time is the append time.
  auto t = Rows("SELECT MIN(ingest_time) > 1600000000000 FROM ods");
  EXPECT_EQ(t, std::vector<std::string>{"TRUE"});
}

// Batches of a log table's columns stop at about a quarter megabyte of records (kept in
// cache on their way to the sink), and still bring every record once, in order, exactly.
TEST_F(StreamingTest, LogTableBatchesStopAtAQuarterMegabyteAndLoseNothing) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=1&fsync=never";
  auto ev = LogTable("content STRING, off BIGINT METADATA FROM 'offset'", uri);
  ASSERT_NE(ev, nullptr);
  auto opener = Opener();
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 12; ++i) {
    // One record is larger than a whole batch's share: it still comes, in a batch of its own
    // or after a smaller one.
    std::string value(i == 5 ? 300 << 10 : 100 << 10, static_cast<char>('a' + i));
    value.replace(0, 8, std::to_string(10000000 + i));
    records.emplace_back("c", value);
  }
  Produce(engine_.get(), uri, records);
  auto source = streaming::MakeLogTableSource(*ev, {0, 1}, "batches", opener);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ASSERT_TRUE((*source)->emits_batches());
  KL_ASSERT_OK((*source)->Restore(std::nullopt));
  size_t total = 0;
  for (int poll = 0; poll < 12 && total < records.size(); ++poll) {
    pipeline::ChangeBatch batch;
    KL_ASSERT_OK((*source)->PollBatch(1000, 10, &batch));
    ASSERT_GE(batch.size(), 1u);
    EXPECT_LE(batch.size(), 3u) << "poll " << poll;  // 100 KB records: at most 256 KB and one more
    for (size_t i = 0; i < batch.size(); ++i, ++total) {
      EXPECT_EQ(batch.rows.column(0).GetBytes(i), records[total].second) << "record " << total;
      EXPECT_EQ(batch.rows.column(1).GetInt(i), static_cast<int64_t>(total));
    }
    EXPECT_EQ((*source)->more_waiting(), total < records.size()) << "poll " << poll;
  }
  EXPECT_EQ(total, records.size());
  // Tapped values (parsed where the log read them, not copied) come a megabyte at a time:
  // the Calc reading them pays per batch.
  auto tapped = streaming::MakeLogTableSource(*ev, {0, 1}, "tapped", opener);
  ASSERT_TRUE(tapped.ok()) << tapped.status().ToString();
  auto tap = std::make_shared<streaming::LogValueTap>();
  tap->column = 0;
  ASSERT_TRUE(streaming::TapLogValues(tapped->get(), tap));
  KL_ASSERT_OK((*tapped)->Restore(std::nullopt));
  pipeline::ChangeBatch batch;
  KL_ASSERT_OK((*tapped)->PollBatch(1000, 10, &batch));
  EXPECT_GT(batch.size(), 3u);
  EXPECT_LE(batch.size(), 11u);  // 100 KB records: at most a megabyte and one more
  ASSERT_EQ(tap->records.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(tap->records[i].value, records[i].second) << "record " << i;
}

// A log table's source hands a job the records as columns when the job's operators and sink
// take batches. Through columns or through rows, polled a few records at a time from
// several partitions, with a restart after a commit and one after an uncommitted read (the
// read replayed), a job copies the log into equal tables, each record once: non-JSON
// values, BOOKMARKs, empty keys (NULL) and empty values alike; each poll leaves the
// source at the same position either way.
TEST_F(StreamingTest, LogTableSourcesGiveTheSameTableThroughColumnsAndRows) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=3&fsync=never";
  auto ev = LogTable(
      "content STRING, off BIGINT METADATA FROM 'offset', cluster STRING METADATA FROM 'key', at TIMESTAMP_LTZ(3) "
      "METADATA FROM 'timestamp', part INT METADATA FROM 'partition', ingest BIGINT METADATA FROM 'timestamp'",
      uri);
  ASSERT_NE(ev, nullptr);
  auto opener = Opener();
  const std::vector<int> columns = {0, 1, 2, 3, 4, 5};
  auto produce = [&](int from, int n) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = from; i < from + n; ++i) {
      std::string value = i % 7 == 0    ? "not json " + std::to_string(i)
                          : i % 5 == 0  ? "{\"type\":\"BOOKMARK\",\"n\":" + std::to_string(i) + "}"
                          : i % 11 == 0 ? ""
                                        : "{\"type\":\"ADDED\",\"uid\":\"u" + std::to_string(i) + "\"}";
      records.emplace_back(i % 4 == 0 ? "" : "c" + std::to_string(i % 3), value);
    }
    Produce(engine_.get(), uri, records);
  };
  produce(0, 60);

  // Polled side by side, the two ways give the same rows and positions.
  {
    auto by_rows = streaming::MakeLogTableSource(*ev, columns, "side-rows", opener);
    auto by_columns = streaming::MakeLogTableSource(*ev, columns, "side-columns", opener);
    ASSERT_TRUE(by_rows.ok() && by_columns.ok());
    EXPECT_TRUE((*by_columns)->emits_batches());
    KL_ASSERT_OK((*by_rows)->Restore(std::nullopt));
    KL_ASSERT_OK((*by_columns)->Restore(std::nullopt));
    size_t total = 0;
    for (int poll = 0; poll < 40; ++poll) {
      pipeline::Changes rows;
      pipeline::ChangeBatch batch;
      KL_ASSERT_OK((*by_rows)->Poll(7, 10, &rows));
      KL_ASSERT_OK((*by_columns)->PollBatch(7, 10, &batch));
      ASSERT_EQ(batch.size(), rows.size()) << "poll " << poll;
      for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(batch.kinds[i], format::RowKind::kInsert);
        EXPECT_EQ(batch.rows.GetRow(i), rows[i].row) << "poll " << poll << " row " << i;
      }
      EXPECT_EQ((*by_columns)->position(), (*by_rows)->position()) << "poll " << poll;
      EXPECT_EQ((*by_columns)->more_waiting(), (*by_rows)->more_waiting()) << "poll " << poll;
      total += rows.size();
    }
    EXPECT_EQ(total, 60u);
  }

  struct RowsOnly : pipeline::Source {
    explicit RowsOnly(std::unique_ptr<pipeline::Source> in) : in(std::move(in)) {}
    std::string name() const override { return in->name(); }
    const format::RowType& output_type() const override { return in->output_type(); }
    Status Restore(const std::optional<pipeline::SourcePosition>& p) override { return in->Restore(p); }
    Status Poll(size_t max, int64_t timeout_ms, pipeline::Changes* out) override {
      return in->Poll(max, timeout_ms, out);
    }
    Status PollBatch(size_t max, int64_t timeout_ms, pipeline::ChangeBatch* out) override {
      ++*batch_polls;
      return in->PollBatch(max, timeout_ms, out);
    }
    bool emits_batches() const override { return !rows_only && in->emits_batches(); }
    pipeline::SourcePosition position() const override { return in->position(); }
    bool more_waiting() const override { return in->more_waiting(); }
    Status Committed(const pipeline::SourcePosition& p) override { return in->Committed(p); }
    std::unique_ptr<pipeline::Source> in;
    bool rows_only = false;
    int* batch_polls = nullptr;
  };
  std::map<bool, std::shared_ptr<table::Table>> tables;
  for (bool rows_only : {false, true}) {
    SCOPED_TRACE(rows_only ? "rows" : "columns");
    auto schema = table::NewTableSchema(
        ev->schema.fields(), {}, {}, {{"bucket", "-1"}, {"file.format", "avro"}, {"kubelake.data-file.sync", "false"}});
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    auto t = table::Table::Create(dir_.Sub(rows_only ? "by-rows" : "by-columns"), *schema);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tables[rows_only] = *t;
    int batch_polls = 0;
    const std::string job = rows_only ? "copy-rows" : "copy-columns";
    auto factory = [&]() -> Result<pipeline::JobParts> {
      pipeline::JobParts parts;
      KL_ASSIGN_OR_RETURN(auto source, streaming::MakeLogTableSource(*ev, columns, job, opener));
      auto wrapped = std::make_unique<RowsOnly>(std::move(source));
      wrapped->rows_only = rows_only;
      wrapped->batch_polls = &batch_polls;
      parts.source = std::move(wrapped);
      parts.sink = std::make_unique<pipeline::TableSink>(*t, job);
      return parts;
    };
    pipeline::JobOptions options;
    options.max_batch = 9;
    options.poll_timeout_ms = 10;
    options.commit_interval_ms = 0;
    {
      pipeline::Job first(job, factory, options);
      for (int i = 0; i < 4; ++i) KL_ASSERT_OK(first.Step().status());
      KL_ASSERT_OK(first.Checkpoint());
    }
    if (!rows_only) produce(60, 45);
    {
      // Reads without committing, then stops: the next start reads it again.
      pipeline::JobOptions lazy = options;
      lazy.commit_interval_ms = 3'600'000;
      lazy.idle_commit_ms = 3'600'000;
      pipeline::Job uncommitted(job, factory, lazy);
      for (int i = 0; i < 3; ++i) KL_ASSERT_OK(uncommitted.Step().status());
    }
    {
      pipeline::Job last(job, factory, options);
      for (int i = 0; i < 30; ++i) KL_ASSERT_OK(last.Step().status());
      KL_ASSERT_OK(last.Checkpoint());
    }
    EXPECT_EQ(batch_polls > 0, !rows_only);
  }
  auto sorted = [](const std::shared_ptr<table::Table>& t) {
    auto read = t->ReadAll();
    EXPECT_TRUE(read.ok()) << read.status().ToString();
    std::vector<format::Row> rows;
    if (!read.ok()) return rows;
    for (size_t i = 0; i < read->size(); ++i) rows.push_back(read->rows.GetRow(i));
    // By partition, then offset: each record once.
    std::sort(rows.begin(), rows.end(), [](const format::Row& a, const format::Row& b) {
      return std::make_pair(a[4].as_int(), a[1].as_int()) < std::make_pair(b[4].as_int(), b[1].as_int());
    });
    return rows;
  };
  std::vector<format::Row> by_columns = sorted(tables[false]), by_rows = sorted(tables[true]);
  ASSERT_EQ(by_columns.size(), 105u);
  ASSERT_EQ(by_rows.size(), 105u);
  for (size_t i = 0; i < by_rows.size(); ++i) EXPECT_EQ(by_columns[i], by_rows[i]) << i;
  for (size_t i = 1; i < by_rows.size(); ++i) {
    EXPECT_TRUE(by_rows[i][4] != by_rows[i - 1][4] || by_rows[i][1].as_int() == by_rows[i - 1][1].as_int() + 1) << i;
  }
}

// A streaming job computing JSON fields of a log table's records (a vectorised Calc taking
// the source's column batches) gives what the batch query over the log gives: several
// partitions, non-JSON values and BOOKMARKs, across a restart, each record once.
TEST_F(StreamingTest, JsonFieldsOfTheLogsColumnsMatchTheBatchQuery) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=3&fsync=never";
  Exec(
      "CREATE TEMPORARY TABLE ev (ingest BIGINT METADATA FROM 'timestamp', cluster STRING METADATA FROM 'key', "
      "content STRING, part INT METADATA FROM 'partition' VIRTUAL, off BIGINT METADATA FROM 'offset' VIRTUAL) "
      "WITH ('connector' = 'kubelake-log', 'uri' = '" +
      uri + "', 'scan.startup.mode' = 'earliest-offset')");
  Exec("CREATE TABLE objs (part INT, off BIGINT, cluster STRING, type STRING, uid STRING, n BIGINT, ingest BIGINT)");
  auto produce = [&](int from, int n) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = from; i < from + n; ++i) {
      std::string value = i % 7 == 0   ? "not json " + std::to_string(i)
                          : i % 5 == 0 ? "{\"type\":\"BOOKMARK\",\"n\":" + std::to_string(i) + "}"
                                       : "{\"type\":\"" + std::string(i % 2 ? "ADDED" : "MODIFIED") + "\",\"uid\":\"u" +
                                             std::to_string(i % 13) + "\",\"n\":" + std::to_string(i) + "}";
      records.emplace_back(i % 4 == 0 ? "" : "c" + std::to_string(i % 3), value);
    }
    Produce(engine_.get(), uri, records);
  };
  const std::string select =
      "SELECT part, off, cluster, JSON_VALUE(content, '$.type'), JSON_VALUE(content, '$.uid'), JSON_VALUE(content, "
      "'$.n' RETURNING BIGINT), ingest FROM ev WHERE JSON_VALUE(content, '$.type') IS NULL OR JSON_VALUE(content, "
      "'$.type') <> 'BOOKMARK'";
  produce(0, 3000);
  Exec("SET 'pipeline.name' = 'objs'");
  Exec("INSERT INTO objs " + select);
  WaitCaughtUp("objs");
  engine_->StopJobs();
  produce(3000, 2000);
  Exec("INSERT INTO objs " + select);
  WaitCaughtUp("objs");
  std::vector<std::string> want = Rows(select);
  EXPECT_EQ(want.size(), 4143u);  // the BOOKMARKs (every fifth but the non-JSON) left out
  EXPECT_EQ(Rows("SELECT * FROM objs"), want);
}

// A log source whose value column is tapped (the planner does so for a first Calc that reads
// it only as JSON documents) leaves each batch's values in the tap, in row order and padded
// for the parser, and empty strings in the column; the other columns are as without a tap.
// Only the value can be tapped; a batch holding tapped values is not polled into.
TEST_F(StreamingTest, TappedLogValuesAreTheRecordsValuesInRowOrder) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=2&fsync=never";
  auto ev = LogTable("cluster STRING METADATA FROM 'key', content STRING, off BIGINT METADATA FROM 'offset'", uri);
  ASSERT_NE(ev, nullptr);
  auto opener = Opener();
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 50; ++i) {
    records.emplace_back("c" + std::to_string(i % 2), i % 9 == 0 ? "" : "{\"i\":" + std::to_string(i) + "}");
  }
  Produce(engine_.get(), uri, records);
  auto plain = streaming::MakeLogTableSource(*ev, {0, 1, 2}, "plain", opener);
  auto tapped = streaming::MakeLogTableSource(*ev, {0, 1, 2}, "tapped", opener);
  ASSERT_TRUE(plain.ok() && tapped.ok());
  auto tap = std::make_shared<streaming::LogValueTap>();
  for (int c : {0, 2, 3}) {
    tap->column = c;
    EXPECT_FALSE(streaming::TapLogValues(tapped->get(), tap)) << c;  // metadata, or no column
  }
  tap->column = 1;
  ASSERT_TRUE(streaming::TapLogValues(tapped->get(), tap));
  KL_ASSERT_OK((*plain)->Restore(std::nullopt));
  KL_ASSERT_OK((*tapped)->Restore(std::nullopt));
  size_t total = 0;
  for (int poll = 0; poll < 20 && total < records.size(); ++poll) {
    pipeline::ChangeBatch want, got;
    KL_ASSERT_OK((*plain)->PollBatch(7, 10, &want));
    KL_ASSERT_OK((*tapped)->PollBatch(7, 10, &got));
    ASSERT_EQ(got.size(), want.size());
    ASSERT_TRUE(tap->filled);
    ASSERT_EQ(tap->records.size(), got.size());
    EXPECT_EQ(tap->padding, log::SegmentLog::kValuePadding);
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got.rows.column(0).Get(i), want.rows.column(0).Get(i));
      EXPECT_EQ(got.rows.column(2).Get(i), want.rows.column(2).Get(i));
      EXPECT_EQ(got.rows.column(1).GetBytes(i), "");
      EXPECT_EQ(tap->records[i].value, want.rows.column(1).GetBytes(i)) << "poll " << poll << " row " << i;
    }
    total += got.size();
    // The batch holds tapped values: adding to it would leave the new rows' values nowhere.
    EXPECT_EQ((*tapped)->PollBatch(7, 10, &got).code(), StatusCode::kInternal);
    tap->filled = false;  // as the Calc does once it has read them
    tap->records = log::RecordBatch();
  }
  EXPECT_EQ(total, records.size());
}

// The DWD job's Calc over the events' content, whose documents come from the log's read
// buffers (a tap), gives what the batch query gives, for documents of many sizes (read
// chunks ending anywhere, a megabyte's poll of them split across the Calc's threads),
// empty and non-JSON values; and so does a Calc that also outputs the content, untapped.
// That the first read its documents from the tap and the second did not is told by the count
// of tapped documents, as the results are the same either way.
TEST_F(StreamingTest, JsonFieldsOfTappedLogValuesMatchTheBatchQuery) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=2&fsync=never";
  Exec(
      "CREATE TEMPORARY TABLE ev (ingest BIGINT METADATA FROM 'timestamp', cluster STRING METADATA FROM 'key', "
      "content STRING, off BIGINT METADATA FROM 'offset' VIRTUAL) WITH ('connector' = 'kubelake-log', 'uri' = '" +
      uri + "', 'scan.startup.mode' = 'earliest-offset')");
  Exec("CREATE TABLE objs (cluster STRING, off BIGINT, uid STRING, pad INT, n BIGINT, labels STRING)");
  Exec("CREATE TABLE raw (off BIGINT, uid STRING, content STRING)");
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 5000; ++i) {
    std::string value = i % 97 == 0   ? ""
                        : i % 89 == 0 ? "{\"uid\":\"cut" + std::to_string(i)
                                      : "{\"uid\":\"u" + std::to_string(i) + "\",\"pad\":\"" +
                                            std::string(static_cast<size_t>((i * 7919) % 500), 'x') +
                                            "\",\"n\":" + std::to_string(i) + ",\"obj\":{\"labels\":{\"a\":\"" +
                                            std::to_string(i % 5) + "\"}}}";
    records.emplace_back("c" + std::to_string(i % 3), value);
  }
  Produce(engine_.get(), uri, records);
  const std::string select =
      "SELECT cluster, off, JSON_VALUE(content, '$.uid'), CHAR_LENGTH(JSON_VALUE(content, '$.pad')), "
      "JSON_VALUE(content, '$.n' RETURNING BIGINT), JSON_QUERY(content, '$.obj.labels') FROM ev WHERE "
      "JSON_VALUE(content, '$.uid') IS NULL OR JSON_VALUE(content, '$.uid') <> 'u5'";
  const std::string raw = "SELECT off, JSON_VALUE(content, '$.uid'), content FROM ev WHERE off % 10 = 3";
  const uint64_t tapped_before = streaming::CalcTappedDocuments();
  Exec("SET 'pipeline.name' = 'objs'");
  Exec("INSERT INTO objs " + select);
  Exec("SET 'pipeline.name' = 'raw'");
  Exec("INSERT INTO raw " + raw);
  WaitCaughtUp("objs");
  WaitCaughtUp("raw");
  // Every record's document, once: all of objs' (tapped), none of raw's (it outputs them).
  EXPECT_EQ(streaming::CalcTappedDocuments() - tapped_before, records.size());
  std::vector<std::string> want = Rows(select);
  EXPECT_EQ(want.size(), 4999u);
  EXPECT_EQ(Rows("SELECT * FROM objs"), want);
  EXPECT_EQ(Rows("SELECT * FROM raw"), Rows(raw));
}

// JSON calls over one document share its parse; calls that differ only in their
// options (RETURNING, ON EMPTY / ON ERROR, the wrapper) still compute apart.
TEST_F(StreamingTest, JsonCallsDifferingOnlyInTheirOptionsStayApart) {
  Exec("CREATE TABLE docs (id INT, doc STRING)");
  Exec("INSERT INTO docs VALUES (1, '{\"i\":5,\"a\":[\"x\"]}'), (2, '{\"i\":\"x\"}'), (3, 'not json')");
  Exec("CREATE TABLE out (id INT PRIMARY KEY NOT ENFORCED, s STRING, n BIGINT, d STRING, w STRING, q STRING)");
  const std::string select =
      "SELECT id, JSON_VALUE(doc, '$.i'), JSON_VALUE(doc, '$.i' RETURNING BIGINT), JSON_VALUE(doc, '$.i' DEFAULT "
      "'bad' ON ERROR), JSON_QUERY(doc, '$.a' WITH ARRAY WRAPPER), JSON_QUERY(doc, '$.a') FROM docs";
  Exec("SET 'pipeline.name' = 'json-options'");
  Exec("INSERT INTO out " + select);
  WaitCaughtUp("json-options");
  EXPECT_EQ(Rows("SELECT * FROM out"), (std::vector<std::string>{"1|5|5|5|[[\"x\"]]|[\"x\"]", "2|x|NULL|x|NULL|NULL",
                                                                 "3|NULL|NULL|bad|NULL|NULL"}));
  EXPECT_EQ(Rows("SELECT * FROM out"), Rows(select));
}

// The streaming Calc evaluates the JSON calls over one document together, walking
// the leading keys and indexes their paths share once; its answers are the batch
// query's, whose calls each walk their own path: lax and strict paths, wildcards
// after a shared prefix, arrays met by key steps, missing steps within a shared
// prefix, scalars under keys, bad JSON, NULL documents.
TEST_F(StreamingTest, JsonCallsSharingPathStepsMatchTheBatchQuery) {
  Exec("CREATE TABLE docs (id INT, doc STRING)");
  Exec(
      "INSERT INTO docs VALUES (1, "
      "'{\"a\":{\"b\":{\"c\":1,\"d\":\"x\"},\"e\":[{\"f\":\"g\"},{\"f\":\"h\"}],\"t\":true,\"i\":12345678901,\"dbl\":1."
      "5,\"s\":\"42\"}}'), (2, '{\"a\":[{\"b\":{\"c\":2}},{\"b\":{\"c\":3}}]}'), (3, "
      "'{\"a\":{\"b\":[{\"c\":4}],\"e\":{\"f\":\"obj\"}}}'), (4, '{\"a\":\"scalar\"}'), (5, '{}'), (6, 'not json'), "
      "(7, NULL), (8, '{\"a\":{\"b\":{\"c\":null,\"d\":false}}}'), (9, '[1,2]'), (10, '{\"a\":{\"b\":{\"c\":\"He said "
      "\\\\\"hi\\\\\"\\\\n\",\"d\":\"  12 \"},\"i\":-9223372036854775808,\"s\":\"-0\"}}'), (11, "
      "'{\"a\":{\"b\":{\"c\":[1,2,{\"x\":1}]},\"e\":[],\"i\":9223372036854775807}}'), (12, "
      "'{\"a\":{\"b\":{\"c\":1},\"b\":{\"c\":2}}}'), (13, '{\"a\":{\"\\u0062\":{\"c\":5,\"d\":\"y\"},\"b\":{\"c\":6},"
      "\"t\":false,\"t\":true}}'), (14, "
      "'{\"x\":1,\"a\":{\"e\":[{\"f\":\"k\"}],\"b\":{\"d\":\"z\",\"c\":7}},\"a\":{\"b\":"
      "{\"c\":8}}}')");
  Exec(
      "CREATE TABLE out (id INT PRIMARY KEY NOT ENFORCED, c0 STRING, c1 STRING, c2 STRING, c3 STRING, c4 STRING, c5 "
      "STRING, c6 STRING, c7 STRING, c8 STRING, c9 STRING, c10 STRING, c11 STRING, c12 STRING, c13 STRING, c14 STRING, "
      "c15 STRING, c16 STRING, c17 BIGINT, c18 BIGINT, c19 BIGINT, c20 BOOLEAN, c21 STRING, c22 STRING, c23 STRING, "
      "c24 STRING, c25 BOOLEAN, c26 STRING, c27 STRING, c28 STRING, c29 STRING, c30 STRING)");
  const std::string select =
      "SELECT id, JSON_VALUE(doc, '$.a.b.c'), JSON_VALUE(doc, '$.a.b.d'), JSON_VALUE(doc, '$.a.b'), JSON_VALUE(doc, "
      "'$.a.b.c[0]'), JSON_VALUE(doc, '$.a.b.c[1]'), JSON_VALUE(doc, '$.a.b.c[2].x'), JSON_VALUE(doc, '$.a.e[0].f'), "
      "JSON_VALUE(doc, '$.a.e[1].f'), JSON_VALUE(doc, '$.a.e.f'), JSON_QUERY(doc, '$.a.e[*].f' WITH ARRAY WRAPPER), "
      "JSON_QUERY(doc, '$.a.b'), JSON_QUERY(doc, '$.a'), JSON_VALUE(doc, '$.a[0].b.c'), JSON_VALUE(doc, '$.a[1].b.c'), "
      "JSON_VALUE(doc, '$.a.t'), JSON_VALUE(doc, '$.a.i'), JSON_VALUE(doc, '$.a.dbl'), JSON_VALUE(doc, '$.a.i' "
      "RETURNING BIGINT), JSON_VALUE(doc, '$.a.dbl' RETURNING BIGINT), JSON_VALUE(doc, '$.a.s' RETURNING BIGINT), "
      "JSON_VALUE(doc, '$.a.t' RETURNING BOOLEAN), JSON_VALUE(doc, 'strict $.a.b.c'), JSON_VALUE(doc, '$.a.zz' DEFAULT "
      "'empty' ON EMPTY), JSON_VALUE(doc, '$[''a''][''b''][''d'']'), JSON_VALUE(doc, '$[0]'), JSON_EXISTS(doc, "
      "'$.a.b.c'), JSON_QUERY(doc, '$.a.e[*]' WITH ARRAY WRAPPER), JSON_QUERY(doc, '$.a.*' WITH ARRAY WRAPPER), "
      "JSON_QUERY(doc, '$.a.b.*' WITH CONDITIONAL ARRAY WRAPPER), JSON_QUERY(doc, '$.a[*].b.c' WITH ARRAY WRAPPER), "
      "JSON_VALUE(doc, '$.a.b.c[last]') FROM docs";
  Exec("SET 'pipeline.name' = 'json-paths'");
  Exec("INSERT INTO out " + select);
  WaitCaughtUp("json-paths");
  auto streamed = Rows("SELECT * FROM out");
  ASSERT_EQ(streamed.size(), 14u);
  EXPECT_EQ(streamed, Rows(select));
  // Spot checks of the shared walks; an object's keys found in one scan, each the first of
  // its name (escaped or not).
  EXPECT_EQ(Rows("SELECT c0, c6, c8, c12, c13 FROM out WHERE id IN (1, 2, 3)"),
            (std::vector<std::string>{"1|g|NULL|1|NULL", "4|obj|obj|4|NULL", "NULL|NULL|NULL|2|3"}));
  EXPECT_EQ(Rows("SELECT c0, c1, c14, c6 FROM out WHERE id IN (12, 13, 14)"),
            (std::vector<std::string>{"1|NULL|NULL|NULL", "5|y|false|NULL", "7|z|NULL|k"}));
}

// K8S_SUM_*(JSON_QUERY(doc, path WITH ARRAY WRAPPER)) is summed by the streaming Calc
// from the elements the path selects, without the array's text; its answers are the
// batch query's, which writes the array and parses it again: escaped strings, elements
// that are not strings, nothing selected, a scalar where an array was expected (lax),
// strict paths that fail, bad JSON, NULL documents; and calls that are not fused (other
// wrappers and ON EMPTY, a JSON_QUERY selected beside its sum).
TEST_F(StreamingTest, SumsOfJsonArraysMatchTheBatchQuery) {
  Exec("CREATE TABLE docs (id INT, doc STRING)");
  Exec(
      "INSERT INTO docs VALUES (1, '{\"c\":[{\"r\":{\"cpu\":\"100m\",\"mem\":\"1Gi\"}},{\"r\":{\"cpu\":\"2\","
      "\"mem\":\"512Mi\"}}]}'), (2, '{\"c\":[{\"r\":{\"cpu\":\"1\\u0030m\",\"mem\":1024}},{\"r\":{\"cpu\":"
      "null}},{\"r\":{\"cpu\":[\"5\"]}},{\"r\":{\"cpu\":\"bad\"}},{\"x\":1}]}'), (3, '{\"c\":{\"r\":{\"cpu\":"
      "\"250m\",\"mem\":\"1k\"}}}'), (4, '{\"c\":[]}'), (5, '{}'), (6, 'not json'), (7, NULL), (8, '{\"c\":\"3\"}'), "
      "(9, '{\"c\":[{\"r\":{\"cpu\":\"1.5\",\"mem\":\"1e3\"}}],\"c\":[{\"r\":{\"cpu\":\"7\"}}]}'), (10, "
      "'[{\"c\":[{\"r\":{\"cpu\":\"3m\"}}]}]'), (11, '{\"c\":[{\"r\":{\"mem\":\"5Ei\"}},{\"r\":{\"mem\":\"5Ei\"}}]}')");
  Exec(
      "CREATE TABLE out (id INT PRIMARY KEY NOT ENFORCED, a BIGINT, b BIGINT, c BIGINT, d BIGINT, e BIGINT, f BIGINT, "
      "g "
      "BIGINT, h STRING, i BIGINT)");
  const std::string select =
      "SELECT id, K8S_SUM_CPU_MILLIS(JSON_QUERY(doc, '$.c[*].r.cpu' WITH ARRAY WRAPPER)), "
      "K8S_SUM_MEMORY_BYTES(JSON_QUERY(doc, '$.c[*].r.mem' WITH ARRAY WRAPPER)), "
      "K8S_SUM_CPU_MILLIS(JSON_QUERY(doc, 'strict $.c[*].r.cpu' WITH ARRAY WRAPPER)), "
      "K8S_SUM_CPU_MILLIS(JSON_QUERY(doc, '$.c' WITH ARRAY WRAPPER)), "
      "K8S_SUM_CPU_MILLIS(JSON_QUERY(doc, '$.c[*].r.cpu' WITH CONDITIONAL ARRAY WRAPPER)), "
      "K8S_SUM_CPU_MILLIS(JSON_QUERY(doc, '$.c[*].r.cpu' WITH ARRAY WRAPPER EMPTY ARRAY ON EMPTY)), "
      "CASE WHEN JSON_VALUE(doc, '$.c[0].r.cpu') = '100m' THEN K8S_SUM_MEMORY_BYTES(JSON_QUERY(doc, '$.c[*].r.mem' "
      "WITH ARRAY WRAPPER)) ELSE -1 END, JSON_QUERY(doc, '$.c[*].r.cpu' WITH ARRAY WRAPPER), "
      "K8S_SUM_CPU_MILLIS(JSON_QUERY(doc, '$[*].c[*].r.cpu' WITH ARRAY WRAPPER)) FROM docs";
  Exec("SET 'pipeline.name' = 'json-sums'");
  Exec("INSERT INTO out " + select);
  WaitCaughtUp("json-sums");
  auto streamed = Rows("SELECT * FROM out");
  ASSERT_EQ(streamed.size(), 11u);
  EXPECT_EQ(streamed, Rows(select));
  EXPECT_EQ(Rows("SELECT a, b FROM out WHERE id IN (1, 2, 3, 6, 7, 11)"),
            (std::vector<std::string>{"0|0", "0|0", "0|9223372036854775807", "10|0", "2100|1610612736", "250|1000"}));
}

// A batch of many chunks is evaluated by several threads (each with its own JSON
// parser), its chunks in order: the job writes what the batch query answers,
// whatever the number of threads. A JSON result several outputs pass on as it is (itself, a
// COALESCE with no NULL) goes to each, the chunk's column taken by the last.
TEST_F(StreamingTest, CalcsOverManyChunksMatchTheBatchQueryOnAnyNumberOfThreads) {
  std::string values;
  for (int i = 0; i < 12000; ++i) {
    if (i > 0) values += ", ";
    values += "(" + std::to_string(i) + ", '{\"k\":\"" + (i % 7 == 0 ? "skip" : "keep") +
              "\",\"n\":" + std::to_string(i * 3) + ",\"o\":{\"s\":\"v" + std::to_string(i % 97) + "\"}}')";
  }
  Exec("CREATE TABLE many (id INT, doc STRING)");
  Exec("INSERT INTO many VALUES " + values);
  const std::string select =
      "SELECT id, JSON_VALUE(doc, '$.o.s'), JSON_VALUE(doc, '$.n' RETURNING BIGINT) + id, UPPER(JSON_VALUE(doc, "
      "'$.k')), COALESCE(JSON_VALUE(doc, '$.o.s'), 'none'), JSON_VALUE(doc, '$.k') FROM many WHERE JSON_VALUE(doc, "
      "'$.k') <> 'skip'";
  for (int threads : {1, 4}) {
    WorkerPool::SetDefaultParallelism(threads);
    std::string t = "calc" + std::to_string(threads);
    Exec("CREATE TABLE " + t +
         " (id INT PRIMARY KEY NOT ENFORCED, s STRING, n BIGINT, k STRING, s2 STRING, k2 STRING)");
    Exec("SET 'pipeline.name' = '" + t + "'");
    Exec("INSERT INTO " + t + " " + select);
    WaitCaughtUp(t);
    auto streamed = Rows("SELECT * FROM " + t);
    EXPECT_EQ(streamed.size(), 12000u - 12000u / 7 - 1);
    EXPECT_EQ(streamed, Rows(select)) << threads << " threads";
  }
  WorkerPool::SetDefaultParallelism(0);
}

// Functions that keep something between rows — compiled regular expressions
// for per-row patterns, RAND's generator, the parser of a JSON call over a
// computed document (not one of the Calc's shared JSON walks) — stay correct
// when several threads evaluate one bound expression. COALESCE evaluates a value
// that differs each time (RAND) once per row, so it is never NULL with a default.
TEST_F(StreamingTest, StatefulFunctionsMatchTheBatchQueryOnSeveralThreads) {
  std::string values;
  for (int i = 0; i < 12000; ++i) {
    if (i > 0) values += ", ";
    values += "(" + std::to_string(i) + ", 'v" + std::to_string(i % 97) + "-" + std::to_string(i) + "', '{\"s\":\"w" +
              std::to_string(i % 13) + "\"}')";
  }
  Exec("CREATE TABLE varied (id INT, name STRING, doc STRING)");
  Exec("INSERT INTO varied VALUES " + values);
  const std::string select =
      "SELECT id, REGEXP_EXTRACT(name, CASE WHEN id % 2 = 0 THEN 'v(\\d+)' ELSE '-(\\d+)' END, 1), "
      "REGEXP_LIKE(name, CASE WHEN id % 3 = 0 THEN '^v1' ELSE '9$' END), "
      "JSON_VALUE(CONCAT('{\"x\":', doc, '}'), '$.x.s'), RAND() < 2, "
      "COALESCE(IF(RAND() < 0.5, CAST(NULL AS INT), id), -1) IS NULL FROM varied";
  WorkerPool::SetDefaultParallelism(4);
  Exec(
      "CREATE TABLE varied_out (id INT PRIMARY KEY NOT ENFORCED, e STRING, l BOOLEAN, j STRING, r BOOLEAN, c "
      "BOOLEAN)");
  Exec("SET 'pipeline.name' = 'varied_out'");
  Exec("INSERT INTO varied_out " + select);
  WaitCaughtUp("varied_out");
  auto streamed = Rows("SELECT * FROM varied_out");
  EXPECT_EQ(streamed.size(), 12000u);
  EXPECT_EQ(streamed, Rows(select));
  WorkerPool::SetDefaultParallelism(0);
}

// Filters of columns against constants are decided on each row without a batch;
// their answers are the batch query's, NULLs included (a row passes only when the
// condition is TRUE).
TEST_F(StreamingTest, RowFiltersMatchTheBatchQuery) {
  Exec("CREATE TABLE src (id INT, s STRING, n BIGINT, b BOOLEAN)");
  Exec(
      "INSERT INTO src VALUES (1, 'Pod', 1, TRUE), (2, 'Node', 0, FALSE), (3, NULL, NULL, NULL), (4, '', -1, TRUE), "
      "(5, 'pod', 2, NULL), (6, 'Pod', NULL, FALSE)");
  const std::vector<std::string> filters = {
      "b IS NOT TRUE AND s IS NOT NULL AND n IS NOT NULL",
      "s = 'Pod' AND b IS NOT FALSE",
      "s <> 'Pod' AND n <> 0",
      "s IN ('Pod', 'Node') AND n IS NULL",
      "s NOT IN ('Pod', '') AND b IS UNKNOWN",
      "n IN (1, 2, NULL)",
      "n NOT IN (0, NULL)",
      "b IS TRUE AND s IS NULL",
      "b IS NOT UNKNOWN AND s <> ''",
      "b = TRUE AND 1 = n",
  };
  for (size_t i = 0; i < filters.size(); ++i) {
    std::string t = "f" + std::to_string(i);
    Exec("CREATE TABLE " + t + " (id INT PRIMARY KEY NOT ENFORCED, s STRING, b BOOLEAN)");
    Exec("SET 'pipeline.name' = '" + t + "'");
    Exec("INSERT INTO " + t + " SELECT id, s, b FROM src WHERE " + filters[i]);
  }
  for (size_t i = 0; i < filters.size(); ++i) {
    std::string t = "f" + std::to_string(i);
    WaitCaughtUp(t);
    EXPECT_EQ(Rows("SELECT * FROM " + t), Rows("SELECT id, s, b FROM src WHERE " + filters[i])) << filters[i];
  }
  EXPECT_EQ(Rows("SELECT id FROM f0"), (std::vector<std::string>{"2", "5"}));
  EXPECT_EQ(Rows("SELECT id FROM f6"), std::vector<std::string>{});
}

TEST_F(StreamingTest, GroupByRetractsAndMatchesTheBatchQuery) {
  Exec(
      "CREATE TABLE objs (uid STRING PRIMARY KEY NOT ENFORCED, kind STRING, live BOOLEAN) WITH "
      "('changelog-producer' = 'lookup')");
  Exec("CREATE TABLE counts (kind STRING PRIMARY KEY NOT ENFORCED, n BIGINT, m INT)");
  Exec("INSERT INTO objs VALUES ('a', 'Pod', true), ('b', 'Pod', true), ('c', 'Node', true)");
  Exec("SET 'pipeline.name' = 'counts'");
  Exec("INSERT INTO counts SELECT kind, COUNT(*), MAX(CHAR_LENGTH(uid)) FROM objs WHERE live GROUP BY kind");
  WaitCaughtUp("counts");
  EXPECT_EQ(Rows("SELECT * FROM counts"), (std::vector<std::string>{"Node|1|1", "Pod|2|1"}));
  // An object changes kind, one goes, one dies: -U/+U and -D reach the sink.
  Exec("INSERT INTO objs VALUES ('a', 'Node', true), ('c', 'Node', false), ('dd', 'Pod', true)");
  WaitCaughtUp("counts");
  std::string batch = "SELECT kind, COUNT(*), MAX(CHAR_LENGTH(uid)) FROM objs WHERE live GROUP BY kind";
  EXPECT_EQ(Rows("SELECT * FROM counts"), Rows(batch));
  EXPECT_EQ(Rows("SELECT * FROM counts"), (std::vector<std::string>{"Node|1|1", "Pod|2|2"}));
  Exec("INSERT INTO objs VALUES ('a', 'Node', false)");
  WaitCaughtUp("counts");
  EXPECT_EQ(Rows("SELECT * FROM counts"), (std::vector<std::string>{"Pod|2|2"})) << "the emptied group is deleted";
}

TEST_F(StreamingTest, Top1DedupOverTheLogKeepsTheNewestVersion) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=1&fsync=never";
  Exec("CREATE TEMPORARY TABLE ev (content STRING) WITH ('connector' = 'kubelake-log', 'uri' = '" + uri +
       "', 'scan.startup.mode' = 'earliest-offset')");
  Exec("CREATE TABLE latest (uid STRING PRIMARY KEY NOT ENFORCED, rv BIGINT, type STRING)");
  auto ev = [](const std::string& uid, int rv, const std::string& type) {
    return std::pair<std::string, std::string>{
        "c", "{\"uid\":\"" + uid + "\",\"rv\":\"" + std::to_string(rv) + "\",\"type\":\"" + type + "\"}"};
  };
  Produce(engine_.get(), uri,
          {ev("a", 1, "ADDED"), ev("a", 3, "MODIFIED"), ev("a", 2, "MODIFIED"), ev("b", 5, "ADDED")});
  Exec("SET 'pipeline.name' = 'dedup'");
  Exec(
      "INSERT INTO latest SELECT uid, rv, type FROM (SELECT uid, rv, type, ROW_NUMBER() OVER (PARTITION BY uid "
      "ORDER BY rv DESC) AS rn FROM (SELECT JSON_VALUE(content, '$.uid') AS uid, CAST(JSON_VALUE(content, '$.rv') "
      "AS BIGINT) AS rv, JSON_VALUE(content, '$.type') AS type FROM ev)) WHERE rn = 1");
  WaitCaughtUp("dedup");
  EXPECT_EQ(Rows("SELECT * FROM latest"), (std::vector<std::string>{"a|3|MODIFIED", "b|5|ADDED"}));
  Produce(engine_.get(), uri, {ev("b", 4, "MODIFIED"), ev("b", 6, "DELETED"), ev("a", 3, "ADDED")});
  WaitCaughtUp("dedup");
  EXPECT_EQ(Rows("SELECT * FROM latest"), (std::vector<std::string>{"a|3|MODIFIED", "b|6|DELETED"}))
      << "lower or equal versions change nothing";
}

TEST_F(StreamingTest, JoinsTwoStreamsWithState) {
  Exec("CREATE TABLE pods (pod STRING, node STRING)");
  Exec("CREATE TABLE nodes (node STRING PRIMARY KEY NOT ENFORCED, zone STRING) WITH ('changelog-producer' = 'lookup')");
  Exec("CREATE TABLE placed (pod STRING PRIMARY KEY NOT ENFORCED, node STRING, zone STRING)");
  Exec("INSERT INTO pods VALUES ('p1', 'n1'), ('p2', 'n2'), ('p3', NULL)");
  Exec("INSERT INTO nodes VALUES ('n1', 'z1')");
  Exec("SET 'pipeline.name' = 'placed'");
  Exec("INSERT INTO placed SELECT p.pod, p.node, n.zone FROM pods p LEFT JOIN nodes n ON p.node = n.node");
  WaitCaughtUp("placed");
  std::string batch = "SELECT p.pod, p.node, n.zone FROM pods p LEFT JOIN nodes n ON p.node = n.node";
  EXPECT_EQ(Rows("SELECT * FROM placed"), (std::vector<std::string>{"p1|n1|z1", "p2|n2|NULL", "p3|NULL|NULL"}));
  // A node that arrives later fills the padded row; a node's zone changes.
  Exec("INSERT INTO nodes VALUES ('n2', 'z2'), ('n1', 'z9')");
  WaitCaughtUp("placed");
  EXPECT_EQ(Rows("SELECT * FROM placed"), Rows(batch));
  EXPECT_EQ(Rows("SELECT * FROM placed"), (std::vector<std::string>{"p1|n1|z9", "p2|n2|z2", "p3|NULL|NULL"}));
}

TEST_F(StreamingTest, LookupJoinReadsTheDimensionAsOfProcessingTime) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=1&fsync=never";
  Exec(
      "CREATE TEMPORARY TABLE ev (cluster STRING METADATA FROM 'key', content STRING, proc_time AS PROCTIME()) WITH "
      "('connector' = 'kubelake-log', 'uri' = '" +
      uri + "', 'scan.startup.mode' = 'earliest-offset')");
  Exec("CREATE TABLE dim (cluster STRING PRIMARY KEY NOT ENFORCED, region STRING)");
  Exec("CREATE TABLE out1 (content STRING PRIMARY KEY NOT ENFORCED, cluster STRING, region STRING)");
  Exec("CREATE TABLE out2 (content STRING PRIMARY KEY NOT ENFORCED, region STRING)");
  Exec("INSERT INTO dim VALUES ('c1', 'eu')");
  Produce(engine_.get(), uri, {{"c1", "x"}, {"c2", "y"}});
  Exec("SET 'pipeline.name' = 'left'");
  Exec(
      "INSERT INTO out1 SELECT e.content, e.cluster, d.region FROM ev AS e LEFT JOIN dim FOR SYSTEM_TIME AS OF "
      "e.proc_time AS d ON e.cluster = d.cluster");
  Exec("SET 'pipeline.name' = 'inner'");
  Exec(
      "INSERT INTO out2 SELECT e.content, UPPER(d.region) FROM ev AS e JOIN dim FOR SYSTEM_TIME AS OF e.proc_time "
      "AS d ON e.cluster = d.cluster WHERE d.region <> 'xx'");
  WaitCaughtUp("left");
  WaitCaughtUp("inner");
  EXPECT_EQ(Rows("SELECT * FROM out1"), (std::vector<std::string>{"x|c1|eu", "y|c2|NULL"}));
  EXPECT_EQ(Rows("SELECT * FROM out2"), (std::vector<std::string>{"x|EU"}));
  auto plan = Rows(
      "EXPLAIN INSERT INTO out1 SELECT e.content, e.cluster, d.region FROM ev AS e LEFT JOIN dim FOR "
      "SYSTEM_TIME AS OF e.proc_time AS d ON e.cluster = d.cluster");
  bool lookup = false;
  for (const auto& l : plan) lookup = lookup || l.find("LookupJoin left") != std::string::npos;
  EXPECT_TRUE(lookup) << Join(plan, "\n");
}

TEST_F(StreamingTest, SinksFollowTheirMergeEngine) {
  Exec("CREATE TABLE src (k STRING PRIMARY KEY NOT ENFORCED, g STRING, v INT) WITH ('changelog-producer' = 'lookup')");
  // aggregation: -U retracts; the sum equals the batch sum.
  Exec(
      "CREATE TABLE agg (g STRING PRIMARY KEY NOT ENFORCED, total INT) WITH ('merge-engine' = 'aggregation', "
      "'fields.total.aggregate-function' = 'sum')");
  // ignore-delete (an older name): the row stays when its source row goes.
  Exec(
      "CREATE TABLE keep (k STRING PRIMARY KEY NOT ENFORCED, v INT) WITH ('partial-update.ignore-delete' = 'true', "
      "'merge-engine' = 'partial-update')");
  // deduplicate: an upsert sink.
  Exec("CREATE TABLE dedup (k STRING PRIMARY KEY NOT ENFORCED, v INT)");
  Exec("INSERT INTO src VALUES ('a', 'x', 1), ('b', 'x', 2), ('c', 'y', 5)");
  Exec("SET 'pipeline.name' = 'agg'");
  Exec("INSERT INTO agg SELECT g, v FROM src");
  Exec("SET 'pipeline.name' = 'keep'");
  Exec("INSERT INTO keep SELECT k, v FROM src WHERE v < 10");
  Exec("SET 'pipeline.name' = 'dedup'");
  Exec("INSERT INTO dedup SELECT k, v FROM src WHERE v < 10");
  for (const char* j : {"agg", "keep", "dedup"}) WaitCaughtUp(j);
  Exec("INSERT INTO src VALUES ('a', 'x', 7), ('b', 'x', 20)");
  for (const char* j : {"agg", "keep", "dedup"}) WaitCaughtUp(j);
  EXPECT_EQ(Rows("SELECT * FROM agg"), (std::vector<std::string>{"x|27", "y|5"}));
  EXPECT_EQ(Rows("SELECT * FROM keep"), (std::vector<std::string>{"a|7", "b|2", "c|5"}))
      << "b left the filter: its -U is dropped by ignore-delete";
  EXPECT_EQ(Rows("SELECT * FROM dedup"), (std::vector<std::string>{"a|7", "c|5"}))
      << "b left the filter: a -U whose key does not come back deletes the row";
}

TEST_F(StreamingTest, NotNullEnforcerFailsOrDrops) {
  Exec("CREATE TABLE src (k STRING, v INT)");
  Exec("CREATE TABLE strict1 (k STRING PRIMARY KEY NOT ENFORCED, v INT NOT NULL)");
  Exec("CREATE TABLE strict2 (k STRING PRIMARY KEY NOT ENFORCED, v INT NOT NULL)");
  Exec("INSERT INTO src VALUES ('a', 1), ('b', NULL)");
  Exec("SET 'pipeline.name' = 'fails'");
  Exec("INSERT INTO strict1 SELECT k, v FROM src");
  std::string err = JobError("fails");
  EXPECT_NE(err.find("column `v` of strict1 is NOT NULL"), std::string::npos) << err;
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM strict1"), std::vector<std::string>{"0"}) << "nothing of the failed batch";
  Exec("SET 'table.exec.sink.not-null-enforcer' = 'DROP'");
  Exec("SET 'pipeline.name' = 'drops'");
  Exec("INSERT INTO strict2 SELECT k, v FROM src");
  WaitCaughtUp("drops");
  EXPECT_EQ(Rows("SELECT * FROM strict2"), std::vector<std::string>{"a|1"});
  EXPECT_FALSE(Try("SET 'table.exec.sink.not-null-enforcer' = 'MAYBE'").ok());
  Exec("SET 'table.exec.sink.upsert-materialize' = 'NONE'");
}

// A Calc computing its columns hands them to the sink as column batches: NOT NULL
// violations dropped there, -U rows of a changelog paired with their +U (row by row),
// an append table's rows, all as the row path gives them.
TEST_F(StreamingTest, ComputedColumnsReachTheSinkAsBatches) {
  Exec("CREATE TABLE src (k STRING PRIMARY KEY NOT ENFORCED, v INT) WITH ('changelog-producer' = 'lookup')");
  Exec("CREATE TABLE up (k STRING PRIMARY KEY NOT ENFORCED, v INT NOT NULL, w STRING)");
  Exec("CREATE TABLE src2 (k STRING, v INT)");
  Exec("CREATE TABLE app (k STRING, v INT, w STRING)");
  Exec("INSERT INTO src VALUES ('a', 1), ('b', CAST(NULL AS INT)), ('c', 3)");
  Exec("INSERT INTO src2 VALUES ('x', 1), ('y', 2), ('z', CAST(NULL AS INT))");
  Exec("SET 'table.exec.sink.not-null-enforcer' = 'DROP'");
  Exec("SET 'pipeline.name' = 'up'");
  Exec("INSERT INTO up SELECT k, NULLIF(v, 3), UPPER(k) FROM src");
  Exec("SET 'pipeline.name' = 'app'");
  Exec("INSERT INTO app SELECT k, v * 2, CONCAT(k, '!') FROM src2 WHERE v > 1 OR v IS NULL");
  WaitCaughtUp("up");
  WaitCaughtUp("app");
  EXPECT_EQ(Rows("SELECT * FROM up"), std::vector<std::string>{"a|1|A"}) << "b and c have a NULL v: dropped";
  EXPECT_EQ(Rows("SELECT * FROM app"), (std::vector<std::string>{"y|4|y!", "z|NULL|z!"}));
  Exec("INSERT INTO src VALUES ('a', 5), ('c', 4), ('b', 3)");
  WaitCaughtUp("up");
  EXPECT_EQ(Rows("SELECT * FROM up"), (std::vector<std::string>{"a|5|A", "c|4|C"}));
  Exec("SET 'table.exec.sink.not-null-enforcer' = 'ERROR'");
}

// A poll whose every row the filter drops leaves the batch path with an empty batch
// (no columns): the rest of the chain and the sink must skip it.
TEST_F(StreamingTest, BatchesFilteredToNothingReachNoSink) {
  Exec("CREATE TABLE src (k STRING, v INT)");
  Exec("CREATE TABLE up (k STRING PRIMARY KEY NOT ENFORCED, v INT)");
  Exec("SET 'pipeline.name' = 'up'");
  Exec("INSERT INTO up SELECT k, v * 2 FROM src WHERE v > 100");
  Exec("INSERT INTO src VALUES ('a', 1)");
  WaitCaughtUp("up");
  EXPECT_TRUE(Rows("SELECT * FROM up").empty());
  Exec("INSERT INTO src VALUES ('b', 2), ('c', 3)");
  WaitCaughtUp("up");
  Exec("INSERT INTO src VALUES ('d', 200), ('e', 4)");
  WaitCaughtUp("up");
  EXPECT_EQ(Rows("SELECT * FROM up"), std::vector<std::string>{"d|400"});
}

TEST_F(StreamingTest, RestartsResumeExactlyWithTheirState) {
  Exec("CREATE TABLE src (k STRING, v INT)");
  Exec("CREATE TABLE sums (k STRING PRIMARY KEY NOT ENFORCED, n BIGINT, s INT)");
  Exec("INSERT INTO src VALUES ('a', 1), ('b', 2), ('a', 3)");
  std::string insert = "INSERT INTO sums SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k";
  Exec("SET 'pipeline.name' = 'sums'");
  Exec(insert);
  WaitCaughtUp("sums");
  Exec("STOP JOB 'sums'");
  Exec("INSERT INTO src VALUES ('a', 10), ('c', 1)");
  // Restarted with the same name: from its last commit, with its groups' state.
  Exec(insert);
  WaitCaughtUp("sums");
  EXPECT_EQ(Rows("SELECT * FROM sums"), Rows("SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k"));
  EXPECT_EQ(Rows("SELECT * FROM sums"), (std::vector<std::string>{"a|3|14", "b|1|2", "c|1|1"}));
  Exec("STOP JOB 'sums'");
  // Another query under the same name does not load state saved for this one.
  auto other = Try("INSERT INTO sums SELECT k, COUNT(*), MAX(v) FROM src GROUP BY k");
  EXPECT_FALSE(other.ok());
  EXPECT_NE(other.message().find("is not the one its state"), std::string::npos) << other.ToString();
}

TEST_F(StreamingTest, CountsIntoASummingTableAsDeltas) {
  Exec("CREATE TABLE objs (uid STRING PRIMARY KEY NOT ENFORCED, kind STRING) WITH ('changelog-producer' = 'lookup')");
  Exec(
      "CREATE TABLE n (kind STRING PRIMARY KEY NOT ENFORCED, cnt BIGINT) WITH ('merge-engine' = 'aggregation', "
      "'fields.cnt.aggregate-function' = 'sum')");
  Exec("INSERT INTO objs VALUES ('a', 'Pod'), ('b', 'Pod')");
  Exec("SET 'pipeline.name' = 'n'");
  auto plan = Rows("EXPLAIN INSERT INTO n SELECT kind, COUNT(*) FROM objs GROUP BY kind");
  bool delta = false;
  for (const auto& l : plan) delta = delta || l.find("DeltaAggregate") != std::string::npos;
  EXPECT_TRUE(delta) << Join(plan, "\n");
  Exec("INSERT INTO n SELECT kind, COUNT(*) FROM objs GROUP BY kind");
  WaitCaughtUp("n");
  Exec("INSERT INTO objs VALUES ('a', 'Node'), ('c', 'Pod')");
  WaitCaughtUp("n");
  EXPECT_EQ(Rows("SELECT * FROM n"), (std::vector<std::string>{"Node|1", "Pod|2"}));
}

// Counts under a filter of columns against constants (the scan's pushed-down
// conditions included) fold it into the delta extraction, which reads the group
// keys as columns: no Calc. A group key computed by an expression keeps its Calc.
// Both follow a changelog with retractions exactly.
TEST_F(StreamingTest, DeltaCountsFoldTheirFilterOrComputeTheirKeys) {
  Exec(
      "CREATE TABLE objs (uid STRING PRIMARY KEY NOT ENFORCED, kind STRING, deleted BOOLEAN, cpu BIGINT) WITH "
      "('changelog-producer' = 'lookup')");
  Exec(
      "CREATE TABLE live (kind STRING PRIMARY KEY NOT ENFORCED, cnt BIGINT, cpu BIGINT) WITH ('merge-engine' = "
      "'aggregation', 'fields.cnt.aggregate-function' = 'sum', 'fields.cpu.aggregate-function' = 'sum')");
  Exec(
      "CREATE TABLE lower_kinds (k STRING PRIMARY KEY NOT ENFORCED, cnt BIGINT) WITH ('merge-engine' = "
      "'aggregation', 'fields.cnt.aggregate-function' = 'sum')");
  Exec(
      "INSERT INTO objs VALUES ('a', 'Pod', FALSE, 100), ('b', 'Pod', CAST(NULL AS BOOLEAN), 50), "
      "('c', 'Node', TRUE, 7)");
  const std::string live =
      "INSERT INTO live SELECT kind, COUNT(*), SUM(cpu) FROM objs WHERE deleted IS NOT TRUE AND kind IS NOT NULL "
      "GROUP BY kind";
  std::string plan = Join(Rows("EXPLAIN " + live), "\n");
  EXPECT_NE(plan.find("DeltaAggregate (sums deltas into the aggregation table; no state) where"), std::string::npos)
      << plan;
  EXPECT_EQ(plan.find("Calc"), std::string::npos) << plan;  // the scan's IS NOT NULL folds in too
  const std::string lower =
      "INSERT INTO lower_kinds SELECT LOWER(kind), COUNT(*) FROM objs WHERE deleted IS NOT TRUE AND kind IS NOT NULL "
      "GROUP BY LOWER(kind)";
  plan = Join(Rows("EXPLAIN " + lower), "\n");
  EXPECT_NE(plan.find("Calc group keys"), std::string::npos) << plan;
  Exec("SET 'pipeline.name' = 'live'");
  Exec(live);
  Exec("SET 'pipeline.name' = 'lower'");
  Exec(lower);
  WaitCaughtUp("live");
  WaitCaughtUp("lower");
  EXPECT_EQ(Rows("SELECT * FROM live"), (std::vector<std::string>{"Pod|2|150"}));
  // a goes, b changes, c comes back, d has no kind.
  Exec(
      "INSERT INTO objs VALUES ('a', 'Pod', TRUE, 100), ('b', 'Pod', FALSE, 70), ('c', 'Node', FALSE, 7), "
      "('d', CAST(NULL AS STRING), FALSE, 5)");
  WaitCaughtUp("live");
  WaitCaughtUp("lower");
  EXPECT_EQ(Rows("SELECT * FROM live"), (std::vector<std::string>{"Node|1|7", "Pod|1|70"}));
  EXPECT_EQ(Rows("SELECT * FROM lower_kinds"), (std::vector<std::string>{"node|1", "pod|1"}));
}

// Followers of a changelog whose operators all take column batches (a filtering,
// passing-through Calc; a delta aggregate with its filter folded in) get the table
// source's reads as batches: after every round of random upserts (updates, rows
// leaving and entering the filter, NULLs) each equals the batch query over the table.
TEST_F(StreamingTest, BatchFollowersMatchTheBatchQueryAcrossRandomChanges) {
  Exec(
      "CREATE TABLE objs (uid STRING PRIMARY KEY NOT ENFORCED, kind STRING, ns STRING, deleted BOOLEAN, cpu "
      "BIGINT) WITH ('changelog-producer' = 'lookup')");
  Exec(
      "CREATE TABLE counts (kind STRING, ns STRING, cnt BIGINT, cpu BIGINT, PRIMARY KEY (kind, ns) NOT ENFORCED) "
      "WITH ('merge-engine' = 'aggregation', 'fields.cnt.aggregate-function' = 'sum', "
      "'fields.cpu.aggregate-function' = 'sum')");
  Exec("CREATE TABLE pods (uid STRING PRIMARY KEY NOT ENFORCED, ns STRING, same STRING, cpu BIGINT)");
  const std::string counts =
      "SELECT kind, ns, COUNT(*), SUM(cpu) FROM objs WHERE deleted IS NOT TRUE AND kind IS NOT NULL AND ns IS NOT "
      "NULL GROUP BY kind, ns";
  const std::string pods = "SELECT uid, ns, ns, cpu FROM objs WHERE deleted IS NOT TRUE AND kind = 'Pod'";
  Exec("SET 'pipeline.name' = 'counts'");
  Exec("INSERT INTO counts " + counts);
  Exec("SET 'pipeline.name' = 'pods'");
  Exec("INSERT INTO pods " + pods);
  Random rnd(20261207);
  auto pick = [&](std::vector<std::string> v) { return v[rnd.Uniform(v.size())]; };
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string values;
    for (int i = 0; i < 25; ++i) {
      values += (i ? ", " : "") + std::string("('u") + std::to_string(rnd.Uniform(30)) + "', " +
                pick({"'Pod'", "'Pod'", "'Node'", "CAST(NULL AS STRING)"}) + ", " +
                pick({"'a'", "'b'", "CAST(NULL AS STRING)"}) + ", " +
                pick({"FALSE", "FALSE", "TRUE", "CAST(NULL AS BOOLEAN)"}) + ", " +
                (rnd.OneIn(5) ? "CAST(NULL AS BIGINT)" : std::to_string(rnd.Range(0, 1000))) + ")";
    }
    Exec("INSERT INTO objs VALUES " + values);
    WaitCaughtUp("counts");
    WaitCaughtUp("pods");
    // The summing table keeps keys whose count went to zero, and sums deltas (NULLs add 0).
    EXPECT_EQ(Rows("SELECT * FROM counts WHERE cnt <> 0"),
              Rows("SELECT kind, ns, COUNT(*), COALESCE(SUM(cpu), 0) FROM objs WHERE deleted IS NOT TRUE AND kind IS "
                   "NOT NULL AND ns IS NOT NULL GROUP BY kind, ns"));
    EXPECT_EQ(Rows("SELECT * FROM pods"), Rows(pods));
  }
}

// The conditions pushed into a followed table's scan are decided by its source on the
// read's columns, before rows are built; the changes that pass are the ones the SQL
// filter keeps, retractions of rows that leave the filter included (an object that
// stops being a Node, a row whose column becomes NULL).
TEST_F(StreamingTest, FollowedTablesFilterChangesInTheirSource) {
  Exec(
      "CREATE TABLE objs (uid STRING PRIMARY KEY NOT ENFORCED, kind STRING, name STRING, deleted BOOLEAN) WITH "
      "('changelog-producer' = 'lookup')");
  Exec("CREATE TABLE nodes (uid STRING PRIMARY KEY NOT ENFORCED, name STRING)");
  Exec(
      "INSERT INTO objs VALUES ('a', 'Node', 'n1', FALSE), ('b', 'Pod', 'p1', FALSE), ('c', 'Node', 'n2', TRUE), "
      "('d', 'Node', CAST(NULL AS STRING), FALSE), ('e', 'Node', 'n5', CAST(NULL AS BOOLEAN))");
  const std::string select =
      "SELECT uid, name FROM objs WHERE kind = 'Node' AND deleted IS NOT TRUE AND name IS NOT NULL";
  std::string plan = Join(Rows("EXPLAIN INSERT INTO nodes " + select), "\n");
  EXPECT_NE(plan.find(" filter=[kind = \"Node\" AND name IS NOT NULL]"), std::string::npos) << plan;
  Exec("SET 'pipeline.name' = 'nodes'");
  Exec("INSERT INTO nodes " + select);
  WaitCaughtUp("nodes");
  EXPECT_EQ(Rows("SELECT * FROM nodes"), (std::vector<std::string>{"a|n1", "e|n5"}));
  // a becomes a Pod, b a Node, c comes back, d gets a name, e loses it.
  Exec(
      "INSERT INTO objs VALUES ('a', 'Pod', 'n1', FALSE), ('b', 'Node', 'p1', FALSE), ('c', 'Node', 'n2', FALSE), "
      "('d', 'Node', 'n4', FALSE), ('e', 'Node', CAST(NULL AS STRING), FALSE)");
  WaitCaughtUp("nodes");
  EXPECT_EQ(Rows("SELECT * FROM nodes"), Rows(select));
  EXPECT_EQ(Rows("SELECT * FROM nodes"), (std::vector<std::string>{"b|p1", "c|n2", "d|n4"}));
}

TEST_F(StreamingTest, ScanModesAndConsumers) {
  Exec("CREATE TABLE src (k INT)");
  Exec("CREATE TABLE a1 (k INT PRIMARY KEY NOT ENFORCED)");
  Exec("CREATE TABLE a2 (k INT PRIMARY KEY NOT ENFORCED)");
  Exec("CREATE TABLE a3 (k INT PRIMARY KEY NOT ENFORCED)");
  Exec("INSERT INTO src VALUES (1)");
  Exec("INSERT INTO src VALUES (2)");
  Exec("SET 'pipeline.name' = 'latest'");
  Exec("INSERT INTO a1 SELECT k FROM src /*+ OPTIONS('scan.mode' = 'latest') */");
  Exec("SET 'pipeline.name' = 'from2'");
  Exec("INSERT INTO a2 SELECT k FROM src /*+ OPTIONS('scan.snapshot-id' = '2', 'consumer-id' = 'c2') */");
  WaitCaughtUp("latest");
  WaitCaughtUp("from2");
  Exec("INSERT INTO src VALUES (3)");
  WaitCaughtUp("latest");
  WaitCaughtUp("from2");
  EXPECT_EQ(Rows("SELECT * FROM a1"), std::vector<std::string>{"3"});
  EXPECT_EQ(Rows("SELECT * FROM a2"), (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(Rows("SELECT consumer_id FROM `src$consumers`"), std::vector<std::string>{"c2"});
  // A new job with that consumer id starts where the consumer is.
  Exec("STOP JOB 'from2'");
  Exec("INSERT INTO src VALUES (4)");
  Exec("SET 'pipeline.name' = 'consumer'");
  Exec("INSERT INTO a3 SELECT k FROM src /*+ OPTIONS('consumer-id' = 'c2') */");
  WaitCaughtUp("consumer");
  EXPECT_EQ(Rows("SELECT * FROM a3"), std::vector<std::string>{"4"});
  EXPECT_FALSE(Try("INSERT INTO a3 SELECT k FROM src /*+ OPTIONS('scan.mode' = 'sideways') */").ok());
}

TEST_F(StreamingTest, ProcessingTimeFunctionsTakeTheTimeOfProcessing) {
  Exec("CREATE TABLE src (k INT)");
  Exec("CREATE TABLE t (k INT PRIMARY KEY NOT ENFORCED, secs BIGINT, ts TIMESTAMP_LTZ(3))");
  Exec("INSERT INTO src VALUES (1)");
  Exec("SET 'pipeline.name' = 't'");
  Exec("INSERT INTO t SELECT k, UNIX_TIMESTAMP(), NOW() FROM src");
  WaitCaughtUp("t");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Exec("INSERT INTO src VALUES (2)");
  WaitCaughtUp("t");
  auto rows = Rows("SELECT k, secs, UNIX_TIMESTAMP(CAST(ts AS STRING)) FROM t ORDER BY k");
  ASSERT_EQ(rows.size(), 2u);
  auto secs = [](const std::string& r) { return std::stoll(Split(r, '|')[1]); };
  EXPECT_GT(secs(rows[1]), secs(rows[0])) << "the second row was processed later: " << rows[0] << " " << rows[1];
  EXPECT_GT(secs(rows[0]), NowMillis() / 1000 - 60);
}

TEST_F(StreamingTest, StatementSetsAndErrors) {
  Exec("CREATE TABLE src (k INT)");
  Exec("CREATE TABLE o1 (k INT PRIMARY KEY NOT ENFORCED)");
  Exec("CREATE TABLE o2 (k INT)");
  Exec("INSERT INTO src VALUES (1), (2)");
  Exec("EXECUTE STATEMENT SET BEGIN INSERT INTO o1 SELECT k FROM src; INSERT INTO o2 SELECT k * 2 FROM src; END");
  WaitCaughtUp("insert-into-o1");
  WaitCaughtUp("insert-into-o2");
  EXPECT_EQ(Rows("SELECT * FROM o2"), (std::vector<std::string>{"2", "4"}));
  auto err = Try("INSERT INTO o2 SELECT k, COUNT(*) FROM src GROUP BY k");
  EXPECT_FALSE(err.ok());
  Exec("CREATE TABLE o3 (k INT, n BIGINT)");
  err = Try("INSERT INTO o3 SELECT k, COUNT(*) FROM src GROUP BY k");
  EXPECT_NE(err.message().find("no primary key"), std::string::npos) << err.ToString();
  err = Try("INSERT INTO o1 SELECT k FROM src ORDER BY k");
  EXPECT_NE(err.message().find("ORDER BY without LIMIT"), std::string::npos) << err.ToString();
  // Batch mode runs to completion.
  Exec("SET 'execution.runtime-mode' = 'batch'");
  auto r = Exec("INSERT INTO o3 SELECT k, COUNT(*) FROM src GROUP BY k");
  EXPECT_EQ(r.rows_affected, 2);
  EXPECT_EQ(Rows("SELECT * FROM o3"), (std::vector<std::string>{"1|1", "2|1"}));
}

// The changelog a 'print' table received (kind and values, one line per change).
std::vector<std::string> Changelog(const std::string& path) {
  auto text = ReadFile(path);
  std::vector<std::string> out;
  if (!text.ok()) return out;
  for (auto& l : Split(*text, '\n', true)) {
    for (auto& c : l) {
      if (c == '\t') c = ' ';
    }
    out.push_back(l);
  }
  return out;
}

class ChangelogTest : public StreamingTest {
 protected:
  // Starts `select` into a print table of `columns`; returns the file it prints to.
  std::string Start(const std::string& name, const std::string& columns, const std::string& select) {
    std::string path = dir_.Sub(name + ".changelog");
    Exec("CREATE TEMPORARY TABLE " + name + " (" + columns + ") WITH ('connector' = 'print', 'kubelake.path' = '" +
         path + "')");
    Exec("SET 'pipeline.name' = '" + name + "'");
    Exec("INSERT INTO " + name + " " + select);
    WaitCaughtUp(name);
    return path;
  }
  // Runs `insert` on the source and waits for the job to see it.
  void Step(const std::string& insert, const std::string& job) {
    Exec(insert);
    WaitCaughtUp(job);
  }
};

TEST_F(ChangelogTest, Top1EmitsInsertThenUpdatePairsForStrictlyBetterRows) {
  Exec("CREATE TABLE src (k STRING, v INT)");
  std::string path = Start("top1", "k STRING, v INT",
                           "SELECT k, v FROM (SELECT k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn "
                           "FROM src) WHERE rn = 1");
  Step("INSERT INTO src VALUES ('a', 1)", "top1");
  Step("INSERT INTO src VALUES ('a', 3)", "top1");
  Step("INSERT INTO src VALUES ('a', 2)", "top1");  // worse: nothing
  Step("INSERT INTO src VALUES ('a', 3)", "top1");  // equal: nothing
  Step("INSERT INTO src VALUES ('b', 7)", "top1");
  EXPECT_EQ(Changelog(path), (std::vector<std::string>{"+I a 1", "-U a 1", "+U a 3", "+I b 7"}));
}

TEST_F(ChangelogTest, TopNWithoutRowNumberInsertsAndDeletes) {
  Exec("CREATE TABLE src (k STRING, v INT)");
  std::string path = Start("top2", "k STRING, v INT",
                           "SELECT k, v FROM (SELECT k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn "
                           "FROM src) WHERE rn <= 2");
  Step("INSERT INTO src VALUES ('a', 1)", "top2");
  Step("INSERT INTO src VALUES ('a', 5)", "top2");
  Step("INSERT INTO src VALUES ('a', 3)", "top2");
  Step("INSERT INTO src VALUES ('a', 0)", "top2");
  EXPECT_EQ(Changelog(path), (std::vector<std::string>{"+I a 1", "+I a 5", "-D a 1", "+I a 3"}));
}

TEST_F(ChangelogTest, TopNWithRowNumberUpdatesEachRank) {
  Exec("CREATE TABLE src (k STRING, v INT)");
  std::string path = Start("top2rn", "k STRING, v INT, rn BIGINT",
                           "SELECT k, v, rn FROM (SELECT k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS "
                           "rn FROM src) WHERE rn <= 2");
  Step("INSERT INTO src VALUES ('a', 1)", "top2rn");
  Step("INSERT INTO src VALUES ('a', 5)", "top2rn");
  Step("INSERT INTO src VALUES ('a', 3)", "top2rn");
  EXPECT_EQ(Changelog(path),
            (std::vector<std::string>{"+I a 1 1", "-U a 1 1", "+U a 5 1", "+I a 1 2", "-U a 1 2", "+U a 3 2"}));
}

TEST_F(ChangelogTest, Top1OverAChangelogRetracts) {
  Exec("CREATE TABLE src (id STRING PRIMARY KEY NOT ENFORCED, k STRING, v INT) WITH ('changelog-producer' = 'lookup')");
  std::string path = Start("top1r", "k STRING, id STRING",
                           "SELECT k, id FROM (SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn "
                           "FROM src) WHERE rn = 1");
  Step("INSERT INTO src VALUES ('x', 'a', 5), ('y', 'a', 3)", "top1r");
  // The best row drops below the other: the other takes its place.
  Step("INSERT INTO src VALUES ('x', 'a', 1)", "top1r");
  // The top row moves to another partition, then the last one does too.
  Step("INSERT INTO src VALUES ('y', 'b', 3)", "top1r");
  Step("INSERT INTO src VALUES ('x', 'b', 1)", "top1r");
  EXPECT_EQ(Changelog(path),
            (std::vector<std::string>{"+I a x", "-U a x", "+U a y", "-U a y", "+U a x", "+I b y", "-D a x"}))
      << "x joins b's partition below y: nothing changes there";
}

TEST_F(ChangelogTest, GroupByEmitsRetractions) {
  Exec("CREATE TABLE src (id STRING PRIMARY KEY NOT ENFORCED, g STRING) WITH ('changelog-producer' = 'lookup')");
  std::string path = Start("counts", "g STRING, n BIGINT", "SELECT g, COUNT(*) FROM src GROUP BY g");
  Step("INSERT INTO src VALUES ('a', 'x')", "counts");
  Step("INSERT INTO src VALUES ('b', 'x')", "counts");
  Step("INSERT INTO src VALUES ('a', 'y')", "counts");
  Step("INSERT INTO src VALUES ('b', 'y')", "counts");
  EXPECT_EQ(Changelog(path), (std::vector<std::string>{"+I x 1", "-U x 1", "+U x 2", "-U x 2", "+U x 1", "+I y 1",
                                                       "-D x 1", "-U y 1", "+U y 2"}));
}

// The reference design's statements as its teams write them — backtick
// three-part names, varchar, inline primary key, PARTITIONED BY, ORC options,
// OPTIONS hints, upsert-materialize NONE, json_value, cast(... as bigint),
// UNIX_TIMESTAMP(), the nested ROW_NUMBER dedup, CASE — over the log table.
// They give Flink's results, ±1 counting included: a modified object counts 0
// and the count of a history with a relist and an inferred deletion ends at -1
// where one object lives.
TEST_F(StreamingTest, ReferenceDesignStatementsRunAsWritten) {
  std::string uri = "dir:" + dir_.Sub("log") + "?partitions=2&fsync=never";
  std::string ref = dir_.Sub("ref");
  Exec("CREATE CATALOG paimon_catalog WITH ('type' = 'paimon', 'warehouse' = '" + ref + "')");
  Exec("CREATE DATABASE IF NOT EXISTS `paimon_catalog`.`k8s_db`");
  Exec(
      "CREATE TEMPORARY TABLE k8s_events (ingest_time BIGINT METADATA FROM 'timestamp', cluster VARCHAR METADATA FROM "
      "'key', content VARCHAR, proc_time AS PROCTIME()) WITH ('connector' = 'kubelake-log', 'uri' = '" +
      uri + "', 'scan.startup.mode' = 'earliest-offset', 'properties.group.id' = 'k8s-etl')");
  Exec(R"(CREATE TABLE IF NOT EXISTS `paimon_catalog`.`k8s_db`.`ods_k8s_events` (
            `ingest_time` BIGINT,
            `cluster` VARCHAR,
            `content` VARCHAR
          ) PARTITIONED BY (`cluster`) WITH (
            'bucket' = '8',
            'bucket-key' = 'ingest_time',
            'file.format' = 'avro',
            'orc.write.batch-size' = '1024',
            'orc.compress' = 'zstd'
          ))");
  Exec(R"(CREATE TABLE IF NOT EXISTS `paimon_catalog`.`k8s_db`.`dim_cluster` (
            `cluster` VARCHAR PRIMARY KEY NOT ENFORCED,
            `cluster_id` VARCHAR,
            `region` VARCHAR,
            `zone` VARCHAR
          ) WITH ('bucket' = '1'))");
  Exec(R"(CREATE TABLE IF NOT EXISTS `paimon_catalog`.`k8s_db`.`dwd_k8s_objects` (
            `uid` VARCHAR PRIMARY KEY NOT ENFORCED,
            `type` VARCHAR,
            `kind` VARCHAR,
            `namespace` VARCHAR,
            `name` VARCHAR,
            `resourceversion` VARCHAR,
            `time_milli` BIGINT,
            `region_id` VARCHAR,
            `cluster` VARCHAR,
            `collect_time` BIGINT,
            `cluster_id` VARCHAR,
            `region` VARCHAR,
            `zone` VARCHAR
          ) WITH (
            'bucket' = '4',
            'merge-engine' = 'partial-update',
            'changelog-producer' = 'lookup',
            'partial-update.ignore-delete' = 'true',
            'orc.bloom.filter.columns' = 'uid'
          ))");
  Exec(R"(CREATE TABLE IF NOT EXISTS `paimon_catalog`.`k8s_db`.`ads_k8s_workload` (
            `kind` VARCHAR,
            `cluster` VARCHAR,
            `workload_num` BIGINT,
            PRIMARY KEY (`kind`, `cluster`) NOT ENFORCED
          ) WITH (
            'bucket' = '1',
            'merge-engine' = 'aggregation',
            'fields.workload_num.aggregate-function' = 'sum',
            'changelog-producer' = 'lookup'
          ))");
  Exec(
      "INSERT INTO `paimon_catalog`.`k8s_db`.`dim_cluster` VALUES ('prod-1', 'c-001', 'cn-hangzhou', 'cn-hangzhou-b')");
  Exec("SET 'table.exec.sink.upsert-materialize' = 'NONE'");
  Exec("SET 'pipeline.name' = 'ref-ods'");
  Exec(R"(INSERT INTO `paimon_catalog`.`k8s_db`.`ods_k8s_events` /*+ OPTIONS('sink.parallelism' = '8') */
          SELECT ingest_time, cluster, content FROM k8s_events)");
  Exec("SET 'pipeline.name' = 'ref-dwd'");
  Exec(R"(INSERT INTO `paimon_catalog`.`k8s_db`.`dwd_k8s_objects`
          SELECT uid, type, kind, namespace, name, resourceversion, time_milli, region_id, cluster, collect_time,
                 cluster_id, region, zone
          FROM (
            SELECT *,
                   ROW_NUMBER() OVER (PARTITION BY uid
                                      ORDER BY cast(resourceversion as bigint) DESC, time_milli DESC,
                                               CASE WHEN type = 'DELETED' THEN 1 ELSE 0 END DESC) AS rn
            FROM (
              SELECT json_value(e.content, '$.uid') AS uid,
                     json_value(e.content, '$.type') AS type,
                     json_value(e.content, '$.kind') AS kind,
                     json_value(e.content, '$.namespace') AS namespace,
                     json_value(e.content, '$.name') AS name,
                     json_value(e.content, '$.resourceversion') AS resourceversion,
                     cast(json_value(e.content, '$.__time_milli__') as bigint) AS time_milli,
                     d.region AS region_id,
                     e.cluster AS cluster,
                     UNIX_TIMESTAMP() * 1000 AS collect_time,
                     d.cluster_id AS cluster_id,
                     d.region AS region,
                     d.zone AS zone
              FROM k8s_events AS e
              LEFT JOIN `paimon_catalog`.`k8s_db`.`dim_cluster` FOR SYSTEM_TIME AS OF e.proc_time AS d
                ON e.cluster = d.cluster
            ) t
          ) WHERE rn = 1)");
  Exec("SET 'pipeline.name' = 'ref-ads'");
  Exec(R"(INSERT INTO `paimon_catalog`.`k8s_db`.`ads_k8s_workload`
          SELECT kind, cluster,
                 CASE WHEN type = 'ADDED' THEN 1 WHEN type = 'DELETED' THEN -1 ELSE 0 END AS workload_num
          FROM `paimon_catalog`.`k8s_db`.`dwd_k8s_objects` /*+ OPTIONS('consumer-id' = 'ads') */)");
  struct Ev {
    std::string type, uid;
    int rv;
  };
  // ads_exactness_test's history: a relist re-sends ADDED, b's deletion is inferred at relist.
  std::vector<Ev> history = {{"ADDED", "a", 10},    {"ADDED", "b", 11},   {"MODIFIED", "a", 12},
                             {"ADDED", "a", 12},    {"ADDED", "b", 11},   {"DELETED", "b", 20},
                             {"MODIFIED", "a", 21}, {"DELETED", "a", 30}, {"ADDED", "c", 31}};
  int64_t t = 1000;
  for (const auto& e : history) {
    t += 1000;
    std::string content = R"({"type":")" + e.type + R"(","obj":{},"group":"","version":"v1","kind":"Pod",)" +
                          R"("namespace":"ns","name":")" + e.uid + R"(","resourceversion":")" + std::to_string(e.rv) +
                          R"(","uid":")" + e.uid + R"(","watchname":"core/v1/pods","watchsetuptimestamp":1,)" +
                          R"("__time_milli__":)" + std::to_string(t) + "}";
    Produce(engine_.get(), uri, {{"prod-1", content}});
    // One event at a time through every layer, as the reference's checkpoints would see them.
    WaitCaughtUp("ref-ods");
    WaitCaughtUp("ref-dwd");
    WaitCaughtUp("ref-ads");
  }
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM `paimon_catalog`.`k8s_db`.`ods_k8s_events`"), std::vector<std::string>{"9"});
  EXPECT_EQ(Rows("SELECT uid, type, resourceversion, time_milli, cluster_id, region, zone FROM "
                 "`paimon_catalog`.`k8s_db`.`dwd_k8s_objects`"),
            (std::vector<std::string>{"a|DELETED|30|9000|c-001|cn-hangzhou|cn-hangzhou-b",
                                      "b|DELETED|20|7000|c-001|cn-hangzhou|cn-hangzhou-b",
                                      "c|ADDED|31|10000|c-001|cn-hangzhou|cn-hangzhou-b"}));
  // Flink's ±1 count on the changelog: one pod lives, the count says -1.
  EXPECT_EQ(Rows("SELECT * FROM `paimon_catalog`.`k8s_db`.`ads_k8s_workload`"),
            std::vector<std::string>{"Pod|prod-1|-1"});
  EXPECT_EQ(Rows("SELECT workload_num FROM `paimon_catalog`.`k8s_db`.`ads_k8s_workload` ORDER BY workload_num DESC "
                 "LIMIT 100"),
            std::vector<std::string>{"-1"});
  // The ORC options are kept as given.
  auto ddl = Rows("SHOW CREATE TABLE `paimon_catalog`.`k8s_db`.`ods_k8s_events`");
  ASSERT_EQ(ddl.size(), 1u);
  EXPECT_NE(ddl[0].find("'orc.write.batch-size' = '1024'"), std::string::npos) << ddl[0];
  // collect_time is UNIX_TIMESTAMP() at processing: within this test's run.
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM `paimon_catalog`.`k8s_db`.`dwd_k8s_objects` WHERE collect_time > " +
                 std::to_string((NowMillis() - 600000) / 1000 * 1000)),
            std::vector<std::string>{"3"});
}

// The 'jdbc' sink against a real PostgreSQL 15: upserts by the declared key,
// deletes applied, the job's position in the same transaction as the rows.
TEST_F(StreamingTest, JdbcSinkUpsertsIntoPostgreSQL) {
  kl::testing::PostgresServer pg;
  std::string why = pg.Start();
  if (!why.empty()) GTEST_SKIP() << why;
  ASSERT_EQ(pg.Query("CREATE TABLE topo (pod TEXT PRIMARY KEY, node TEXT, cpu BIGINT, ts TIMESTAMP)").size(), 0u);
  ASSERT_EQ(pg.Query("CREATE TABLE log_rows (k TEXT, v INTEGER, ok BOOLEAN)").size(), 0u);
  Exec(
      "CREATE TABLE pods (pod STRING PRIMARY KEY NOT ENFORCED, node STRING, cpu BIGINT, live BOOLEAN) WITH "
      "('changelog-producer' = 'lookup')");
  Exec("CREATE TABLE rows_src (k STRING, v INT)");
  Exec(
      "CREATE TEMPORARY TABLE pg_topo (pod STRING, node STRING, cpu BIGINT, ts TIMESTAMP(3), PRIMARY KEY (pod) NOT "
      "ENFORCED) WITH ('connector' = 'jdbc', 'url' = '" +
      pg.JdbcUrl() + "', 'table-name' = 'topo', 'username' = 'postgres', 'password' = '')");
  Exec("CREATE TEMPORARY TABLE pg_rows (k STRING, v INT, ok BOOLEAN) WITH ('connector' = 'jdbc', 'url' = '" +
       pg.JdbcUrl() + "?ApplicationName=kubelake', 'table-name' = 'public.log_rows', 'username' = 'postgres')");
  Exec("INSERT INTO pods VALUES ('p1', 'n1', 100, true), ('p2', 'n1', 200, true), ('p3', 'n2', 50, false)");
  Exec("INSERT INTO rows_src VALUES ('a', 1), ('b', 2)");
  Exec("SET 'pipeline.name' = 'pg-topo'");
  Exec("INSERT INTO pg_topo SELECT pod, node, cpu, TIMESTAMP '2024-05-01 10:00:00' FROM pods WHERE live");
  Exec("SET 'pipeline.name' = 'pg-rows'");
  Exec("INSERT INTO pg_rows SELECT k, v, v > 1 FROM rows_src");
  WaitCaughtUp("pg-topo");
  WaitCaughtUp("pg-rows");
  EXPECT_EQ(pg.Query("SELECT pod, node, cpu, ts FROM topo ORDER BY pod"),
            (std::vector<std::string>{"p1|n1|100|2024-05-01 10:00:00", "p2|n1|200|2024-05-01 10:00:00"}));
  // An update, a row that leaves the filter (deleted in PostgreSQL), one that enters.
  Exec("INSERT INTO pods VALUES ('p1', 'n9', 150, true), ('p2', 'n1', 200, false), ('p3', 'n2', 55, true)");
  Exec("INSERT INTO rows_src VALUES ('c', 3)");
  WaitCaughtUp("pg-topo");
  WaitCaughtUp("pg-rows");
  EXPECT_EQ(pg.Query("SELECT pod, node, cpu FROM topo ORDER BY pod"),
            (std::vector<std::string>{"p1|n9|150", "p3|n2|55"}));
  EXPECT_EQ(pg.Query("SELECT k, v, ok FROM log_rows ORDER BY k"),
            (std::vector<std::string>{"a|1|f", "b|2|t", "c|3|t"}));
  // Positions live beside the rows; a restarted job resumes from them, writing nothing twice.
  auto positions = pg.Query("SELECT job, identifier > 0 FROM kubelake_sink_positions ORDER BY job");
  EXPECT_EQ(positions, (std::vector<std::string>{"pg-rows|t", "pg-topo|t"}));
  Exec("STOP JOB 'pg-rows'");
  Exec("INSERT INTO rows_src VALUES ('d', 4)");
  Exec("INSERT INTO pg_rows SELECT k, v, v > 1 FROM rows_src");
  WaitCaughtUp("pg-rows");
  EXPECT_EQ(pg.Query("SELECT k, v FROM log_rows ORDER BY k"), (std::vector<std::string>{"a|1", "b|2", "c|3", "d|4"}));
  // Batch INSERT into PostgreSQL: one transaction.
  Exec("SET 'execution.runtime-mode' = 'batch'");
  auto r = Exec("INSERT INTO pg_rows VALUES ('z', 26, true)");
  EXPECT_EQ(r.rows_affected, 1);
  EXPECT_EQ(pg.Query("SELECT COUNT(*) FROM log_rows"), std::vector<std::string>{"5"});
  // A PostgreSQL error names the table's problem; an unreachable server is retried, not fatal.
  Exec("CREATE TEMPORARY TABLE pg_missing (a INT) WITH ('connector' = 'jdbc', 'url' = '" + pg.JdbcUrl() +
       "', 'table-name' = 'no_such_table', 'username' = 'postgres')");
  auto missing = Try("INSERT INTO pg_missing VALUES (1)");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("no_such_table"), std::string::npos) << missing.ToString();
}

}  // namespace
}  // namespace kl::sql
