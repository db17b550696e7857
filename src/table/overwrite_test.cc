// Overwrite commits (Paimon's INSERT OVERWRITE): one OVERWRITE snapshot deletes the live
// files of the whole table, of the written partitions, or of a partition spec, and adds the
// new ones; earlier snapshots keep the old rows; streaming reads pass over the overwrite.
#include <gtest/gtest.h>

#include "common/file/file_util.h"
#include "common/testing/test_util.h"
#include "table/index/index_manifest.h"
#include "table/table.h"
#include "table/table_test_util.h"

namespace kl::table {
namespace {

using format::Datum;
using test_util::R;
using test_util::Rows;

std::shared_ptr<Table> MakeTable(const std::string& path, std::vector<std::string> pk,
                                 std::map<std::string, std::string> options = {},
                                 std::vector<std::string> partition = {}) {
  options.emplace("file.format", "avro");
  options.emplace("kubelake.data-file.sync", "false");
  return test_util::MakeTestTable(path, std::move(pk), std::move(options), std::move(partition));
}

Status WriteAndCommit(const Table& t, const std::vector<format::Row>& rows,
                      std::optional<OverwriteScope> overwrite = std::nullopt) {
  static int64_t commit_identifier = 0;  // one writer per call: each commits a new identifier
  auto w = t.NewWriter("w");
  if (overwrite) KL_RETURN_IF_ERROR(w->Overwrite(*overwrite));
  for (const auto& r : rows) KL_RETURN_IF_ERROR(w->WriteRow(r));
  return w->Commit(++commit_identifier).status();
}

OverwriteScope Scope(OverwriteScope::Kind kind, std::map<std::string, Datum> spec = {}) {
  OverwriteScope s;
  s.kind = kind;
  s.spec = std::move(spec);
  return s;
}

CommitKind KindOf(const Table& t, int64_t id) {
  auto s = t.snapshots().Read(id);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? s->commit_kind : CommitKind::kAnalyze;
}

int64_t LatestId(const Table& t) {
  auto id = t.snapshots().LatestId();
  EXPECT_TRUE(id.ok());
  return id.ok() && *id ? **id : 0;
}

std::vector<std::string> Read(const Table& t, std::optional<int64_t> snapshot = std::nullopt) {
  auto rows = t.ReadAll(snapshot);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? Rows(*rows) : std::vector<std::string>{"<error>"};
}

TEST(OverwriteTest, ReplacesAnUnpartitionedAppendTableInOneSnapshot) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {});
  KL_ASSERT_OK(WriteAndCommit(*t, {R(1, "eu", "a", 1), R(2, "us", "b", 2)}));
  KL_ASSERT_OK(WriteAndCommit(*t, {R(3, "eu", "c", 3)}));
  KL_ASSERT_OK(WriteAndCommit(*t, {R(9, "ap", "z", 9)}, Scope(OverwriteScope::Kind::kTable)));
  EXPECT_EQ(LatestId(*t), 3);
  EXPECT_EQ(KindOf(*t, 3), CommitKind::kOverwrite);
  EXPECT_EQ(Read(*t), (std::vector<std::string>{"+I 9 \"ap\" \"z\" 9"}));
  EXPECT_EQ(Read(*t, 2).size(), 3u) << "time travel sees the old content";
  auto s3 = t->snapshots().Read(3);
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->total_record_count, 1);
  EXPECT_EQ(s3->delta_record_count, 1 - 3);
  // Its delta deletes the two old files and adds one.
  auto delta = ReadDeltaEntries(t->NewScan().manifests(), *s3);
  ASSERT_TRUE(delta.ok());
  int adds = 0, deletes = 0;
  for (const auto& e : *delta) (e.kind == FileKind::kAdd ? adds : deletes)++;
  EXPECT_EQ(adds, 1);
  EXPECT_EQ(deletes, 2);

  // An empty overwrite empties the table, in a snapshot of its own.
  KL_ASSERT_OK(WriteAndCommit(*t, {}, Scope(OverwriteScope::Kind::kTable)));
  EXPECT_EQ(LatestId(*t), 4);
  EXPECT_TRUE(Read(*t).empty());
  EXPECT_EQ(Read(*t, 3).size(), 1u);
}

TEST(OverwriteTest, StreamingReadsPassOverOverwrites) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {});
  KL_ASSERT_OK(WriteAndCommit(*t, {R(1, "eu", "a", 1)}));
  KL_ASSERT_OK(WriteAndCommit(*t, {R(2, "eu", "b", 2)}, Scope(OverwriteScope::Kind::kTable)));
  KL_ASSERT_OK(WriteAndCommit(*t, {R(3, "eu", "c", 3)}));
  auto stream = t->NewStreamScan(StreamStart::kFromSnapshot, 1);
  ASSERT_TRUE(stream.Next().ok());
  std::vector<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    auto plan = stream.Next();
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan->snapshot_id) break;
    auto read = t->NewRead();
    ASSERT_TRUE(read.ok());
    auto rows = (*read)->ReadAll(*plan);
    ASSERT_TRUE(rows.ok());
    for (auto& r : Rows(*rows)) seen.push_back(std::to_string(*plan->snapshot_id) + ": " + r);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1: +I 1 \"eu\" \"a\" 1", "3: +I 3 \"eu\" \"c\" 3"}));

  // 'streaming-read-overwrite' would read the overwrite as changes, which kubelake does not do: it says so.
  auto opened = Table::Open(t->path(), {{"streaming-read-overwrite", "true"}});
  ASSERT_TRUE(opened.ok());
  auto strict = (*opened)->NewStreamScan(StreamStart::kFromSnapshot, 2);
  ASSERT_TRUE(strict.Next().ok());
  auto refused = strict.Next();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find("streaming-read-overwrite"), std::string::npos);
}

TEST(OverwriteTest, PartitionScopesOfAPrimaryKeyTable) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id", "region"}, {{"bucket", "2"}}, {"region"});
  KL_ASSERT_OK(WriteAndCommit(*t, {R(1, "eu", "a", 1), R(2, "eu", "b", 2), R(3, "us", "c", 3), R(4, "ap", "d", 4)}));

  // Written partitions: only eu is replaced; key 2 is gone, key 1 takes its new value.
  KL_ASSERT_OK(WriteAndCommit(*t, {R(1, "eu", "a2", 10)}, Scope(OverwriteScope::Kind::kWrittenPartitions)));
  EXPECT_EQ(Read(*t),
            (std::vector<std::string>{"+I 1 \"eu\" \"a2\" 10", "+I 3 \"us\" \"c\" 3", "+I 4 \"ap\" \"d\" 4"}));
  // Written partitions with nothing written: no snapshot, nothing replaced.
  int64_t before = LatestId(*t);
  KL_ASSERT_OK(WriteAndCommit(*t, {}, Scope(OverwriteScope::Kind::kWrittenPartitions)));
  EXPECT_EQ(LatestId(*t), before);

  // A partition spec: us is emptied, even with no rows.
  KL_ASSERT_OK(WriteAndCommit(*t, {}, Scope(OverwriteScope::Kind::kPartitionSpec, {{"region", Datum::Bytes("us")}})));
  EXPECT_EQ(KindOf(*t, LatestId(*t)), CommitKind::kOverwrite);
  EXPECT_EQ(Read(*t), (std::vector<std::string>{"+I 1 \"eu\" \"a2\" 10", "+I 4 \"ap\" \"d\" 4"}));

  // Rows outside the spec are refused, and nothing is committed.
  before = LatestId(*t);
  Status outside = WriteAndCommit(*t, {R(5, "eu", "e", 5)},
                                  Scope(OverwriteScope::Kind::kPartitionSpec, {{"region", Datum::Bytes("ap")}}));
  EXPECT_FALSE(outside.ok());
  EXPECT_EQ(LatestId(*t), before);
  EXPECT_FALSE(WriteAndCommit(*t, {}, Scope(OverwriteScope::Kind::kPartitionSpec, {{"name", Datum::Bytes("x")}})).ok())
      << "name is not a partition column";

  // The whole table; later plain writes merge with the new content only.
  KL_ASSERT_OK(WriteAndCommit(*t, {R(7, "us", "g", 7), R(7, "us", "g2", 8)}, Scope(OverwriteScope::Kind::kTable)));
  KL_ASSERT_OK(WriteAndCommit(*t, {R(1, "eu", "a3", 11)}));
  EXPECT_EQ(Read(*t), (std::vector<std::string>{"+I 1 \"eu\" \"a3\" 11", "+I 7 \"us\" \"g2\" 8"}));
}

TEST(OverwriteTest, WriterTakesTheOverwriteBeforeWritingAndCommitsItOnce) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "a", 1)));
  EXPECT_FALSE(w->Overwrite(Scope(OverwriteScope::Kind::kTable)).ok());
  auto o = t->NewWriter("o");
  KL_ASSERT_OK(o->Overwrite(Scope(OverwriteScope::Kind::kTable)));
  KL_ASSERT_OK(o->WriteRow(R(2, "eu", "b", 2)));
  ASSERT_TRUE(o->Commit(1).ok());
  EXPECT_FALSE(o->WriteRow(R(3, "eu", "c", 3)).ok());
  EXPECT_FALSE(o->Commit(2).ok());
  // A retry of a landed overwrite (same user and identifier) is not applied twice.
  auto again = t->NewWriter("o");
  KL_ASSERT_OK(again->Overwrite(Scope(OverwriteScope::Kind::kTable)));
  auto r = again->Commit(1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->already_committed);
  EXPECT_EQ(Read(*t), (std::vector<std::string>{"+I 2 \"eu\" \"b\" 2"}));
}

// Dynamic bucket mode: the replaced partitions' HASH index files go with their data files,
// and the new content's keys are indexed afresh.
TEST(OverwriteTest, DynamicBucketIndexIsReplacedWithThePartitions) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id", "region"}, {{"dynamic-bucket.target-row-num", "2"}}, {"region"});
  KL_ASSERT_OK(WriteAndCommit(*t, {R(1, "eu", "a", 1), R(2, "eu", "b", 2), R(3, "eu", "c", 3), R(4, "us", "d", 4)}));
  KL_ASSERT_OK(WriteAndCommit(*t, {R(9, "eu", "z", 9)}, Scope(OverwriteScope::Kind::kWrittenPartitions)));
  auto latest = t->snapshots().Latest();
  ASSERT_TRUE(latest.ok() && *latest && (*latest)->index_manifest);
  auto entries = ReadIndexManifest(JoinPath(t->context()->paths().ManifestDir(), *(*latest)->index_manifest));
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  // Live data buckets and HASH files agree, one file per (partition, bucket), rows counted.
  std::map<std::pair<std::string, int32_t>, int64_t> hash_rows;
  for (const auto& e : *entries) {
    EXPECT_EQ(e.kind, FileKind::kAdd);
    EXPECT_EQ(e.file.index_type, kHashIndex);
    EXPECT_EQ(hash_rows.count({e.partition, e.bucket}), 0u);
    hash_rows[{e.partition, e.bucket}] = e.file.row_count;
  }
  auto plan = t->NewScan().PlanLatest();
  ASSERT_TRUE(plan.ok());
  std::map<std::pair<std::string, int32_t>, int64_t> data_buckets;
  for (const auto& s : plan->splits) data_buckets[{s.partition, s.bucket}] = 0;
  EXPECT_EQ(hash_rows.size(), data_buckets.size());
  for (const auto& [k, v] : data_buckets) EXPECT_EQ(hash_rows.count(k), 1u);
  int64_t total = 0;
  for (const auto& [k, n] : hash_rows) total += n;
  EXPECT_EQ(total, 2) << "eu holds one key (9), us one (4)";
  // Later upserts find their keys.
  KL_ASSERT_OK(WriteAndCommit(*t, {R(9, "eu", "z2", 90), R(1, "eu", "a2", 10), R(4, "us", "d2", 40)}));
  EXPECT_EQ(Read(*t),
            (std::vector<std::string>{"+I 1 \"eu\" \"a2\" 10", "+I 4 \"us\" \"d2\" 40", "+I 9 \"eu\" \"z2\" 90"}));
}

}  // namespace
}  // namespace kl::table
