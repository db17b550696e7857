// The engine's API as a server uses it (streams, parameters, describe, row
// limit, cancellation, timeout, extra catalogs, databases and functions), and
// LIMIT stopping the scan: a query that needs one row never opens the file
// that a full scan fails on.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "common/file/file_util.h"
#include "common/testing/test_util.h"
#include "sql/functions/helpers.h"
#include "sql/sql.h"
#include "sql/sql_test_util.h"
#include "table/data/binary_row.h"
#include "table/index/bucket_assigner.h"

namespace kl::sql {
namespace {

using format::DataField;
using format::Datum;
using format::RowType;

class SqlEngineTest : public SqlEngineFixture {
 protected:
  void SetUp() override {
    SqlEngineFixture::SetUp();
    if (HasFatalFailure()) return;
    Run("CREATE TABLE t (id BIGINT, s STRING) WITH ('bucket' = '4', 'bucket-key' = 'id', 'kubelake.data-file.sync' = "
        "'false')");
    std::string values;
    for (int i = 0; i < 400; ++i)
      values += (i ? ", (" : "(") + std::to_string(i) + ", 'v" + std::to_string(i % 7) + "')";
    Run("INSERT INTO t VALUES " + values);
  }
  StatementResult Run(const std::string& sql) {
    auto r = session_->Execute(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    return r.ok() ? *r : StatementResult{};
  }
};

TEST_F(SqlEngineTest, StreamsBatchesAndDescribes) {
  auto stream = session_->Query("SELECT id, s FROM t WHERE id >= 100");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ((*stream)->columns().names(), (std::vector<std::string>{"id", "s"}));
  size_t rows = 0;
  format::ColumnBatch b;
  while (true) {
    auto more = (*stream)->Next(&b);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    rows += b.num_rows();
  }
  EXPECT_EQ(rows, 300u);
  auto cols = session_->Describe("SELECT COUNT(*) AS n, MAX(s) FROM t");
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ(cols->field(0).name, "n");
  EXPECT_EQ(cols->type(0).root(), format::TypeRoot::kBigInt);
  EXPECT_EQ(cols->type(1).root(), format::TypeRoot::kVarChar);
}

TEST_F(SqlEngineTest, Parameters) {
  auto r = session_->Execute("SELECT COUNT(*) FROM t WHERE s = $1 AND id < $2", {Datum::Bytes("v3"), Datum::Int(50)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Rows()[0][0].as_int(), 7);  // 3, 10, 17, 24, 31, 38, 45
  EXPECT_FALSE(session_->Execute("SELECT $3").ok());
}

TEST_F(SqlEngineTest, RowLimitCancellationAndTimeout) {
  session_->set_row_limit(10);
  auto r = session_->Execute("SELECT id FROM t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->num_rows(), 10u);
  EXPECT_TRUE(r->truncated);
  session_->set_row_limit(-1);
  std::atomic<bool> cancel{true};
  session_->set_cancel_flag(&cancel);
  auto c = session_->Execute("SELECT COUNT(*) FROM t a JOIN t b ON a.s = b.s");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("cancelled"), std::string::npos) << c.status().ToString();
  session_->set_cancel_flag(nullptr);
  ASSERT_TRUE(session_->Set("sql.query-timeout", "1 ms").ok());
  // A cross join of 400^3 rows cannot finish in a millisecond.
  auto t = session_->Execute("SELECT COUNT(*) FROM t a, t b, t c WHERE a.id + b.id + c.id < 0");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("time limit"), std::string::npos) << t.status().ToString();
}

TEST_F(SqlEngineTest, ExtraDatabasesCatalogsAndFunctions) {
  auto virt = std::make_shared<VirtualCatalog>();
  RowType schema(
      {DataField{0, "relname", format::DataType::String(), ""}, DataField{1, "oid", format::DataType::BigInt(), ""}});
  virt->AddTable("pg_catalog", "pg_class", schema, [schema](ExecContext&) -> Result<format::ColumnBatch> {
    format::ColumnBatch b(schema);
    b.AppendRow({Datum::Bytes("t"), Datum::Int(16384)});
    b.AppendRow({Datum::Bytes("u"), Datum::Int(16385)});
    return b;
  });
  engine_->RegisterGlobalDatabase("pg_catalog", virt, "pg_catalog", /*searched=*/true);
  engine_->RegisterScalarFunction("version",
                                  FixedBinder("", 0, format::DataType::String(),
                                              [](ExecContext&, const Datum*, Datum* o) {
                                                *o = Datum::Bytes("PostgreSQL 15.0 (kubelake)");
                                                return Status::OK();
                                              }),
                                  "VERSION()");
  auto session = engine_->NewSession();
  auto r = session->Execute("SELECT c.relname, version() FROM pg_catalog.pg_class c WHERE c.oid > 16384");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->num_rows(), 1u);
  EXPECT_EQ(r->Rows()[0][0].as_bytes(), "u");
  EXPECT_EQ(r->Rows()[0][1].as_bytes(), "PostgreSQL 15.0 (kubelake)");
  auto bare = session->Execute("SELECT COUNT(*) FROM pg_class");  // searched after the current database
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->Rows()[0][0].as_int(), 2);
  // A virtual table joins a Paimon table.
  auto joined = session->Execute("SELECT COUNT(*) FROM t JOIN pg_class p ON t.s = p.relname");
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  auto other = engine_->RegisterCatalog("virt", virt);
  ASSERT_TRUE(other.ok());
  auto three = session->Execute("SELECT relname FROM virt.pg_catalog.pg_class ORDER BY oid");
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  EXPECT_EQ(three->num_rows(), 2u);
}

TEST_F(SqlEngineTest, LimitStopsTheScanBeforeABrokenFile) {
  // Break every data file but one: a full scan fails naming a file, LIMIT 1 reads only
  // the first split and succeeds.
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.Sub("warehouse/kubelake.db/t"))) {
    if (e.path().filename().string().rfind("data-", 0) == 0) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 4u);
  // Splits are read bucket by bucket in order; keep bucket-0's file.
  for (const auto& f : files) {
    if (f.find("bucket-0/") != std::string::npos) continue;
    ASSERT_TRUE(WriteFile(f, "not a parquet file").ok());
  }
  auto full = session_->Execute("SELECT COUNT(*) FROM t");
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.status().ToString().find("data-"), std::string::npos) << full.status().ToString();
  auto one = session_->Execute("SELECT id, s FROM t LIMIT 1");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->num_rows(), 1u);
}

// IN lists and the keys of a join's small left input narrow scans to the buckets that
// can hold them: with every other bucket's file broken, such queries still answer.
TEST_F(SqlEngineTest, InListsAndSmallJoinInputsReadOnlyTheirBuckets) {
  auto bucket_of = [](int64_t id) {
    return table::BucketOf(table::EncodeBinaryRow({Datum::Int(id)}, {format::DataType::BigInt().NotNull()}), 4);
  };
  std::vector<int64_t> ids;  // three ids of one bucket
  for (int64_t id = 0; id < 400 && ids.size() < 3; ++id) {
    if (bucket_of(id) == bucket_of(7)) ids.push_back(id);
  }
  ASSERT_EQ(ids.size(), 3u);
  std::string list = std::to_string(ids[0]) + ", " + std::to_string(ids[1]) + ", " + std::to_string(ids[2]);
  std::string values = "(" + std::to_string(ids[0]) + "), (" + std::to_string(ids[1]) + "), (" +
                       std::to_string(ids[2]) + "), (CAST(NULL AS BIGINT))";
  std::string keep = "bucket-" + std::to_string(bucket_of(7)) + "/";
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.Sub("warehouse/kubelake.db/t"))) {
    std::string f = e.path().string();
    if (e.path().filename().string().rfind("data-", 0) != 0 || f.find(keep) != std::string::npos) continue;
    ASSERT_TRUE(WriteFile(f, "not a parquet file").ok());
  }
  ASSERT_FALSE(session_->Execute("SELECT COUNT(*) FROM t").ok());
  auto in = session_->Execute("SELECT COUNT(*) FROM t WHERE id IN (" + list + ", NULL)");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->Rows()[0][0].as_int(), 3);
  auto plan = session_->Execute("EXPLAIN SELECT s FROM t WHERE id IN (" + list + ")");
  ASSERT_TRUE(plan.ok());
  std::string text;
  for (const auto& row : plan->Rows()) text += std::string(row[0].as_bytes()) + "\n";
  EXPECT_NE(text.find("id IN ("), std::string::npos) << text;
  // The join reads its left input (four rows) first and narrows the right scan to their
  // keys, through the aggregate and projections of a subquery too.
  auto inner = session_->Execute("SELECT l.x, t.s FROM (VALUES " + values + ") AS l(x) JOIN t ON t.id = l.x");
  ASSERT_TRUE(inner.ok()) << inner.status().ToString();
  EXPECT_EQ(inner->num_rows(), 3u);
  auto left = session_->Execute("SELECT l.x, z.n FROM (VALUES " + values + ", (100000)) AS l(x) LEFT JOIN " +
                                "(SELECT id, COUNT(*) AS n FROM t GROUP BY id) z ON z.id = l.x ORDER BY l.x");
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  auto rows = left->Rows();
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(rows[0][0].is_null() && rows[0][1].is_null());  // NULL key: padded, never matched
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(rows[i][1].as_int(), 1) << i;
  EXPECT_EQ(rows[4][0].as_int(), 100000);
  EXPECT_TRUE(rows[4][1].is_null());
  // An empty left input narrows the right one to nothing.
  auto none =
      session_->Execute("SELECT COUNT(*) FROM (SELECT x FROM (VALUES (1)) AS v(x) WHERE x > 5) l JOIN t ON t.id = l.x");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->Rows()[0][0].as_int(), 0);
}

}  // namespace
}  // namespace kl::sql
