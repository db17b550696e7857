// `kubelake table ...` as a user runs it: create a table from a schema file, write JSON lines
// (with row kinds), read back merged rows with projections, filters and dynamic options, list
// snapshots and files, compact and expire — and bad input that fails with a clear message and
// commits nothing. Also the warehouse queries on a directory that holds no warehouse.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <functional>

#include "common/file/file_util.h"
#include "common/json.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "table/operation/consumer.h"

namespace kl::cli {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class TableCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = JoinPath(testing::BinaryDir(), "src/cli/kubelake");
    if (!FileExists(binary_)) GTEST_SKIP() << binary_ << " not built";
    table_ = dir_.Sub("db/pods");
  }

  CommandResult Run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::string in = dir_.Sub("stdin"), out = dir_.Sub("stdout"), err = dir_.Sub("stderr");
    EXPECT_TRUE(WriteFile(in, stdin_text).ok());
    std::string cmd = Quote(binary_);
    for (const auto& a : args) cmd += " " + Quote(a);
    cmd += " <" + Quote(in) + " >" + Quote(out) + " 2>" + Quote(err);
    int status = std::system(cmd.c_str());
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(out).value_or("");
    r.err = ReadFile(err).value_or("");
    return r;
  }

  // The JSON lines of `kubelake table read --format jsonl`, one string per row: "name=count,...".
  std::vector<std::string> ReadRows(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"table", "read", table_, "--format", "jsonl"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> rows;
    for (const auto& line : Split(r.out, '\n', true)) {
      auto json = ParseJson(line);
      EXPECT_TRUE(json.ok()) << line;
      if (!json.ok()) continue;
      std::string row;
      for (const auto& [k, v] : json->members()) {
        row += (row.empty() ? "" : ",") + k + "=" + (v.is_null() ? "null" : v.is_string() ? v.as_string() : v.ToJson());
      }
      rows.push_back(row);
    }
    return rows;
  }

  void CreatePodsTable() {
    std::string schema = dir_.Sub("schema.json");
    ASSERT_TRUE(WriteFile(schema, R"({
      "fields": [{"name": "cluster", "type": "STRING NOT NULL"}, {"name": "uid", "type": "STRING NOT NULL"},
                 {"name": "name", "type": "STRING"}, {"name": "cpu", "type": "BIGINT"}],
      "partitionKeys": ["cluster"], "primaryKeys": ["cluster", "uid"],
      "options": {"bucket": "2", "file.format": "parquet"}})")
                    .ok());
    CommandResult r = Run({"table", "create", table_, "--schema", schema});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  testing::TempDir dir_;
  std::string binary_;
  std::string table_;
};

TEST_F(TableCliTest, WritesReadsFiltersAndMaintainsATable) {
  CreatePodsTable();
  CommandResult w1 = Run({"table", "write", table_},
                         "{\"cluster\":\"a\",\"uid\":\"1\",\"name\":\"web-1\",\"cpu\":100}\n"
                         "{\"cluster\":\"a\",\"uid\":\"2\",\"name\":\"web-2\",\"cpu\":200}\n"
                         "{\"cluster\":\"b\",\"uid\":\"3\",\"name\":\"db-0\",\"cpu\":1000}\n");
  ASSERT_EQ(w1.exit_code, 0) << w1.err;
  CommandResult w2 = Run({"table", "write", table_},
                         "{\"cluster\":\"a\",\"uid\":\"2\",\"name\":\"web-2\",\"cpu\":250,\"_kind\":\"+U\"}\n"
                         "{\"cluster\":\"a\",\"uid\":\"1\",\"_kind\":\"-D\"}\n");
  ASSERT_EQ(w2.exit_code, 0) << w2.err;

  EXPECT_EQ(ReadRows(),
            (std::vector<std::string>{"cluster=a,uid=2,name=web-2,cpu=250", "cluster=b,uid=3,name=db-0,cpu=1000"}));
  EXPECT_EQ(ReadRows({"--snapshot", "1"}),
            (std::vector<std::string>{"cluster=a,uid=1,name=web-1,cpu=100", "cluster=a,uid=2,name=web-2,cpu=200",
                                      "cluster=b,uid=3,name=db-0,cpu=1000"}));
  EXPECT_EQ(ReadRows({"--columns", "uid,cpu", "--where", "cpu >= 250 AND cluster = 'b'"}),
            (std::vector<std::string>{"uid=3,cpu=1000"}));
  // Dynamic options apply to this read only; Paimon's scan options choose what it reads.
  EXPECT_EQ(ReadRows({"--columns", "uid", "--option", "scan.snapshot-id=1", "--option", "bucket = 2"}).size(), 3u);
  EXPECT_EQ(ReadRows({"--columns", "uid", "--option", "scan.version=1"}).size(), 3u);
  EXPECT_EQ(ReadRows({"--columns", "uid"}).size(), 2u);

  CommandResult snapshots = Run({"table", "snapshots", table_, "--format", "jsonl"});
  ASSERT_EQ(snapshots.exit_code, 0) << snapshots.err;
  EXPECT_EQ(Split(snapshots.out, '\n', true).size(), 2u) << snapshots.out;

  CommandResult compact = Run({"table", "compact", table_, "--full"});
  ASSERT_EQ(compact.exit_code, 0) << compact.err;
  CommandResult files = Run({"table", "files", table_, "--format", "jsonl"});
  ASSERT_EQ(files.exit_code, 0) << files.err;
  std::vector<std::string> file_lines = Split(files.out, '\n', true);
  ASSERT_FALSE(file_lines.empty());
  for (const auto& line : file_lines) {
    auto json = ParseJson(line);
    ASSERT_TRUE(json.ok()) << line;
    EXPECT_EQ(json->GetIntOr("level", -1), 5) << line;  // everything in the last level after --full
  }
  EXPECT_EQ(ReadRows().size(), 2u);

  // A tag keeps snapshot 1 readable through the expiries that follow.
  CommandResult tag = Run({"table", "tag", "create", table_, "first", "--snapshot", "1"});
  ASSERT_EQ(tag.exit_code, 0) << tag.err;
  EXPECT_NE(tag.out.find("created tag first of snapshot 1"), std::string::npos) << tag.out;
  CommandResult again = Run({"table", "tag", "create", table_, "first"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already has a tag 'first'"), std::string::npos) << again.err;
  ASSERT_EQ(Run({"table", "tag", "create", table_, "week", "--time-retained", "7d"}).exit_code, 0);

  // A streaming reader that still needs snapshot 2 holds expiry back until it is deleted.
  KL_ASSERT_OK(table::ConsumerManager(table_).Record("follower", 2));
  CommandResult held = Run({"table", "expire", table_, "--retain-min", "1", "--retain-max", "1"});
  ASSERT_EQ(held.exit_code, 0) << held.err;
  snapshots = Run({"table", "snapshots", table_, "--format", "jsonl"});
  size_t held_count = Split(snapshots.out, '\n', true).size();
  EXPECT_GT(held_count, 1u) << snapshots.out;
  CommandResult consumers = Run({"table", "consumers", table_});
  ASSERT_EQ(consumers.exit_code, 0) << consumers.err;
  EXPECT_NE(consumers.out.find("follower"), std::string::npos) << consumers.out;
  CommandResult unknown = Run({"table", "consumers", table_, "--delete", "nobody"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("no consumer 'nobody'"), std::string::npos) << unknown.err;
  ASSERT_EQ(Run({"table", "consumers", table_, "--delete", "follower"}).exit_code, 0);

  CommandResult expire = Run({"table", "expire", table_, "--retain-min", "1", "--retain-max", "1"});
  ASSERT_EQ(expire.exit_code, 0) << expire.err;
  snapshots = Run({"table", "snapshots", table_, "--format", "jsonl"});
  EXPECT_EQ(Split(snapshots.out, '\n', true).size(), 1u) << snapshots.out;
  EXPECT_EQ(ReadRows().size(), 2u);
  EXPECT_EQ(ReadRows({"--tag", "first"}),
            (std::vector<std::string>{"cluster=a,uid=1,name=web-1,cpu=100", "cluster=a,uid=2,name=web-2,cpu=200",
                                      "cluster=b,uid=3,name=db-0,cpu=1000"}));
  CommandResult tag_files = Run({"table", "files", table_, "--tag", "first", "--format", "jsonl"});
  ASSERT_EQ(tag_files.exit_code, 0) << tag_files.err;
  EXPECT_FALSE(Split(tag_files.out, '\n', true).empty());
  CommandResult tags = Run({"table", "tag", "list", table_, "--format", "jsonl"});
  ASSERT_EQ(tags.exit_code, 0) << tags.err;
  std::vector<std::string> tag_lines = Split(tags.out, '\n', true);
  ASSERT_EQ(tag_lines.size(), 2u) << tags.out;
  auto first = ParseJson(tag_lines[0]);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->GetStringOr("tag", ""), "first");
  EXPECT_FALSE(first->GetBool("snapshot_live").value_or(true)) << "snapshot 1 expired; the tag keeps it";
  auto week = ParseJson(tag_lines[1]);
  ASSERT_TRUE(week.ok());
  EXPECT_EQ(week->GetIntOr("time_retained_ms", 0), 7 * 86400000LL);
  CommandResult both = Run({"table", "read", table_, "--tag", "first", "--snapshot", "1"});
  EXPECT_NE(both.exit_code, 0);
  CommandResult missing = Run({"table", "read", table_, "--tag", "nope"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("no tag 'nope'"), std::string::npos) << missing.err;
  // Deleting the tags frees what only they held: nothing is left unreferenced.
  CommandResult deleted = Run({"table", "tag", "delete", table_, "first", "week"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  CommandResult orphans = Run({"table", "remove-orphans", table_, "--older-than", "0s", "--dry-run"});
  ASSERT_EQ(orphans.exit_code, 0) << orphans.err;
  EXPECT_NE(orphans.out.find("0 orphan files"), std::string::npos) << orphans.out;
  EXPECT_EQ(ReadRows().size(), 2u);
}

TEST_F(TableCliTest, BadInputFailsClearlyAndCommitsNothing) {
  CreatePodsTable();
  ASSERT_EQ(Run({"table", "write", table_}, "{\"cluster\":\"a\",\"uid\":\"1\",\"cpu\":1}\n").exit_code, 0);

  CommandResult malformed = Run({"table", "write", table_}, "{\"cluster\":\"a\",\"uid\":\"2\"}\n{\"cluster\": \n");
  EXPECT_NE(malformed.exit_code, 0);
  EXPECT_NE(malformed.err.find("line 2"), std::string::npos) << malformed.err;
  CommandResult bad_kind = Run({"table", "write", table_}, "{\"cluster\":\"a\",\"uid\":\"2\",\"_kind\":\"+X\"}\n");
  EXPECT_NE(bad_kind.exit_code, 0);
  EXPECT_EQ(ReadRows().size(), 1u);  // neither failed write committed anything

  CommandResult bad_filter = Run({"table", "read", table_, "--where", "no_such_column = 1"});
  EXPECT_NE(bad_filter.exit_code, 0);
  EXPECT_NE(bad_filter.err.find("no_such_column"), std::string::npos) << bad_filter.err;
  CommandResult bad_option = Run({"table", "read", table_, "--option", "bucket"});
  EXPECT_NE(bad_option.exit_code, 0);
  EXPECT_NE(bad_option.err.find("key=value"), std::string::npos) << bad_option.err;
  CommandResult not_a_table = Run({"table", "read", dir_.Sub("nowhere")});
  EXPECT_NE(not_a_table.exit_code, 0);
  EXPECT_NE(not_a_table.err.find("nowhere"), std::string::npos) << not_a_table.err;
}

// A Java-written table whose data files sit under another machine's external path reads once
// the path is rewritten with --option.
TEST_F(TableCliTest, ReadsAMovedJavaTableWithRewrittenExternalPath) {
  KL_REQUIRE_SHARED("paimon-compat/tables/parquet/pk_dv_index_in_data_with_external.db", db);
  table_ = JoinPath(db, "pk_dv_index_in_data_with_external");
  CommandResult plain = Run({"table", "read", table_});
  EXPECT_NE(plain.exit_code, 0) << "reads without the rewrite: " << plain.out;
  std::vector<std::string> rows = ReadRows({"--columns", "f0,f1", "--where", "f1 = 20", "--option",
                                            "kubelake.external-path.rewrite.from=FILE:///tmp/external", "--option",
                                            "kubelake.external-path.rewrite.to=" + JoinPath(db, "external")});
  EXPECT_EQ(rows, (std::vector<std::string>{"f0=Lucy,f1=20", "f0=Paul,f1=20"}));
}

// `table files` lists every live file of a snapshot, so its row counts add up to the snapshot's
// totalRecordCount — also where a batch read skips level 0 (first-row, deletion vectors).
class FilesAddUp : public TableCliTest {
 protected:
  // Checks every snapshot of the table; false when `table files` refuses the table.
  bool CheckEverySnapshot(const std::string& table, int* snapshots_checked, int* skipped_files) {
    CommandResult snaps = Run({"table", "snapshots", table, "--format", "jsonl"});
    if (snaps.exit_code != 0) return false;
    for (const auto& line : Split(snaps.out, '\n', true)) {
      auto snap = ParseJson(line, "snapshot");
      EXPECT_TRUE(snap.ok()) << line;
      if (!snap.ok() || snap->Find("total_record_count") == nullptr) continue;
      int64_t id = snap->GetInt("id").value_or(-1);
      CommandResult files = Run({"table", "files", table, "--snapshot", std::to_string(id), "--format", "jsonl"});
      if (files.exit_code != 0) return false;
      int64_t rows = 0;
      for (const auto& f : Split(files.out, '\n', true)) {
        auto file = ParseJson(f, "file");
        EXPECT_TRUE(file.ok()) << f;
        if (!file.ok()) continue;
        rows += file->GetInt("row_count").value_or(0);
        *skipped_files += !file->GetBool("batch_read").value_or(true);
      }
      EXPECT_EQ(rows, snap->GetInt("total_record_count").value_or(-1)) << table << " snapshot " << id;
      ++*snapshots_checked;
    }
    return true;
  }
};

TEST_F(FilesAddUp, KubelakeWrittenFirstRowTable) {
  std::string schema = dir_.Sub("first_row.json");
  ASSERT_TRUE(WriteFile(schema, R"({"fields": [{"name": "k", "type": "INT NOT NULL"}, {"name": "v", "type": "STRING"}],
      "primaryKeys": ["k"], "options": {"bucket": "1", "merge-engine": "first-row", "file.format": "avro"}})")
                  .ok());
  ASSERT_EQ(Run({"table", "create", table_, "--schema", schema}).exit_code, 0);
  for (int i = 0; i < 3; ++i) {
    CommandResult w = Run({"table", "write", table_, "--commit-identifier", std::to_string(i + 1)},
                          "{\"k\": " + std::to_string(i) + ", \"v\": \"a\"}\n{\"k\": 7, \"v\": \"b\"}\n");
    ASSERT_EQ(w.exit_code, 0) << w.err;
  }
  int snapshots = 0, skipped = 0;
  ASSERT_TRUE(CheckEverySnapshot(table_, &snapshots, &skipped));
  EXPECT_GE(snapshots, 3);
  EXPECT_GE(skipped, 1) << "an APPEND snapshot of a first-row table holds level-0 files";
}

TEST_F(FilesAddUp, EveryJavaWrittenTable) {
  KL_REQUIRE_SHARED("paimon-compat/tables", root);
  std::vector<std::string> tables;
  std::function<void(const std::string&, int)> find = [&](const std::string& dir, int depth) {
    if (IsDirectory(JoinPath(dir, "schema")) && IsDirectory(JoinPath(dir, "snapshot"))) {
      tables.push_back(dir);
      return;
    }
    if (depth == 0) return;
    for (const auto& name : ListDir(dir).value_or(std::vector<std::string>{})) {
      if (IsDirectory(JoinPath(dir, name))) find(JoinPath(dir, name), depth - 1);
    }
  };
  find(root, 4);
  int readable = 0, snapshots = 0, skipped = 0;
  for (const auto& t : tables) readable += CheckEverySnapshot(t, &snapshots, &skipped);
  EXPECT_GE(readable, 30) << "of " << tables.size() << " tables";
  EXPECT_GE(skipped, 1) << "pk_09 and the first-row table have level-0 files a batch read skips";
  std::printf("table files: %d tables, %d snapshots add up to totalRecordCount\n", readable, snapshots);
}

// Every query on an empty, missing or unrelated directory says there is no warehouse there and how
// to make one, instead of naming a file deep inside it; once a warehouse exists, it answers.
TEST_F(TableCliTest, QueriesWithoutAWarehouseSaySoAndHowToMakeOne) {
  std::string empty = dir_.Sub("empty");
  ASSERT_TRUE(CreateDirs(empty).ok());
  ASSERT_TRUE(CreateDirs(dir_.Sub("other/warehouse/kubelake.db")).ok());
  const std::vector<std::vector<std::string>> queries = {{"query", "audit"},
                                                         {"query", "audit", "--by-namespace"},
                                                         {"query", "topology", "--user", "u1"},
                                                         {"query", "topology", "--cluster", "c", "--node", "n"},
                                                         {"query", "trend"},
                                                         {"query", "trend", "--user", "u1"}};
  const std::vector<std::vector<std::string>> places = {{"--data-dir", empty},
                                                        {"--data-dir", dir_.Sub("missing")},
                                                        {"--data-dir", dir_.Sub("other")},
                                                        {"--warehouse", dir_.Sub("db")}};
  for (const auto& q : queries) {
    for (const auto& place : places) {
      std::vector<std::string> args = q;
      args.insert(args.end(), place.begin(), place.end());
      CommandResult r = Run(args);
      EXPECT_EQ(r.exit_code, 1) << Join(args, " ");
      EXPECT_NE(r.err.find("no kubelake warehouse at "), std::string::npos) << Join(args, " ") << ": " << r.err;
      EXPECT_NE(r.err.find("`kubelake run`"), std::string::npos) << r.err;
      EXPECT_EQ(r.err.find("schema/"), std::string::npos) << r.err;
    }
  }
  // kubelake sql says so too before the engine's "database does not exist".
  CommandResult sql = Run({"sql", "--data-dir", empty, "-e", "SELECT * FROM ads_kind_count"});
  EXPECT_NE(sql.exit_code, 0);
  EXPECT_NE(sql.err.find("no kubelake warehouse at " + JoinPath(empty, "warehouse")), std::string::npos) << sql.err;
  // A warehouse made by `kubelake pipeline` answers (no objects yet: no rows, exit 0).
  std::string data = dir_.Sub("data");
  CommandResult made = Run({"pipeline", "--data-dir", data, "--duration", "0.3", "--status-interval", "0",
                            "--listen-http", "off", "--listen-pg", "off"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  for (const auto& q : queries) {
    std::vector<std::string> args = q;
    args.insert(args.end(), {"--data-dir", data});
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Join(args, " ") << ": " << r.err;
  }
  // A warehouse missing one table names it.
  ASSERT_TRUE(RemoveAll(JoinPath(data, "warehouse/kubelake.db/dws_topology")).ok());
  CommandResult r = Run({"query", "topology", "--user", "u1", "--data-dir", data});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has no table dws_topology"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kl::cli
