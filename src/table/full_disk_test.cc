// A disk that fills up in the middle of a commit: the commit fails with an error naming the
// file, the table keeps exactly what it had, no partial file is left behind, and the same
// commit retried once there is room again applies once.
#include <gtest/gtest.h>

#include "common/random.h"
#include "common/testing/test_util.h"
#include "table/operation/maintenance.h"
#include "table/table.h"

namespace kl::table {
namespace {

using format::DataType;
using format::Datum;
using format::Row;

std::shared_ptr<Table> MakePodsTable(const std::string& path, const std::string& file_format) {
  auto schema = NewTableSchema({{0, "uid", DataType::String().NotNull(), ""}, {1, "spec", DataType::String(), ""}}, {},
                               {"uid"}, {{"bucket", "1"}, {"file.format", file_format}});
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  auto t = Table::Create(path, *schema);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return *t;
}

// Rows whose random text does not compress, so the data file outgrows the limit.
std::vector<Row> RandomRows(Random& rng, int first, int count) {
  std::vector<Row> rows;
  for (int i = first; i < first + count; ++i) {
    std::string spec;
    for (int k = 0; k < 200; ++k) spec += static_cast<char>('a' + rng.Uniform(26));
    rows.push_back({Datum::Bytes("uid-" + std::to_string(i)), Datum::Bytes(spec)});
  }
  return rows;
}

size_t RowCount(const Table& t) {
  auto rows = t.ReadAll();
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? rows->size() : 0;
}

TEST(FullDiskTest, AFailedCommitLeavesTheTableAsItWasAndARetryAppliesOnce) {
  for (const char* file_format : {"parquet", "avro"}) {
    SCOPED_TRACE(file_format);
    testing::TempDir dir;
    auto t = MakePodsTable(dir.Sub("pods"), file_format);
    Random rng(7);
    {
      auto w = t->NewWriter("job");
      for (const auto& r : RandomRows(rng, 0, 100)) KL_ASSERT_OK(w->WriteRow(r));
      KL_ASSERT_OK(w->Commit(1, {{0, 100}}).status());
    }
    ASSERT_EQ(RowCount(*t), 100u);

    std::vector<Row> batch = RandomRows(rng, 100, 2000);  // ~400 KB of text
    {
      testing::FileSizeLimit full(64 * 1024);
      auto w = t->NewWriter("job");
      for (const auto& r : batch) KL_ASSERT_OK(w->WriteRow(r));
      auto failed = w->Commit(2, {{0, 2100}});
      ASSERT_FALSE(failed.ok());
      EXPECT_NE(failed.status().message().find(dir.Sub("pods")), std::string::npos) << failed.status().ToString();
      // The writer refuses to go on after a failed commit: its state is unknown.
      EXPECT_FALSE(w->Commit(3).ok());
    }

    // Nothing of the failed commit is visible; the last committed offsets are intact.
    EXPECT_EQ(RowCount(*t), 100u);
    KL_ASSERT_OK_AND_ASSIGN(auto latest, t->snapshots().Latest());
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->id, 1);
    EXPECT_EQ(latest->log_offsets.at(0), 100);

    // The writer took its partial files back: maintenance finds no orphans, and a pass of it
    // keeps every file the table needs.
    KL_ASSERT_OK_AND_ASSIGN(OrphanResult orphans, RemoveOrphanFiles(t->context(), 0));
    EXPECT_TRUE(orphans.deleted.empty()) << orphans.deleted.front();
    EXPECT_EQ(RowCount(*t), 100u);

    // Room again: the job replays from its committed offsets with the same identifier.
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto w = t->NewWriter("job");
      for (const auto& r : batch) KL_ASSERT_OK(w->WriteRow(r));
      KL_ASSERT_OK_AND_ASSIGN(CommitResult result, w->Commit(2, {{0, 2100}}));
      EXPECT_EQ(result.already_committed, attempt > 0);
    }
    EXPECT_EQ(RowCount(*t), 2100u);
    KL_ASSERT_OK_AND_ASSIGN(latest, t->snapshots().Latest());
    EXPECT_EQ(latest->log_offsets.at(0), 2100);
  }
}

}  // namespace
}  // namespace kl::table
