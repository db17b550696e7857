// A table writer's buckets flush, compact and write their files side by side
// (TableWriter::SetParallelism) and still commit once: the same writes give the
// same snapshots — rows, changelog, record counts and every bucket's files —
// with one thread or several, and a bucket that fails fails the whole commit
// with its error, leaving the table as it was.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/file/file_util.h"
#include "common/testing/test_util.h"
#include "table/operation/scan.h"
#include "table/operation/table_read.h"
#include "table/operation/table_writer.h"
#include "table/table_test_util.h"

namespace kl::table {
namespace {

using test_util::MakeTestTable;
using test_util::R;
using test_util::Rows;

// What one snapshot holds, written so that equal content compares equal
// whatever the file names.
struct SnapshotContent {
  std::string kind_and_counts;
  std::vector<std::string> rows;
  std::vector<std::string> changes;
  std::vector<std::string> files;  // partition, bucket, level, rows, sequence range of every live file
};

Result<SnapshotContent> ContentOf(const Table& t, int64_t id) {
  SnapshotContent c;
  KL_ASSIGN_OR_RETURN(Snapshot s, t.NewScan().snapshots().Read(id));
  c.kind_and_counts = std::string(CommitKindName(s.commit_kind)) +
                      " total=" + std::to_string(s.total_record_count.value_or(-1)) +
                      " delta=" + std::to_string(s.delta_record_count.value_or(-1)) +
                      " changelog=" + std::to_string(s.changelog_record_count.value_or(-1));
  KL_ASSIGN_OR_RETURN(RowsWithKinds rows, t.ReadAll(id));
  c.rows = Rows(rows);
  KL_ASSIGN_OR_RETURN(ScanPlan changes, t.NewScan().PlanChanges(id));
  KL_ASSIGN_OR_RETURN(auto read, t.NewRead());
  KL_ASSIGN_OR_RETURN(RowsWithKinds changed, read->ReadAll(changes));
  c.changes = Rows(changed);
  KL_ASSIGN_OR_RETURN(ScanPlan full, t.NewScan().PlanSnapshotFull(id));
  for (const auto& split : full.splits) {
    for (const auto& f : split.files) {
      c.files.push_back(std::to_string(split.partition.size()) + ":" + split.partition + " bucket " +
                        std::to_string(split.bucket) + " level " + std::to_string(f.level) + " rows " +
                        std::to_string(f.row_count) + " seq " + std::to_string(f.min_sequence_number) + ".." +
                        std::to_string(f.max_sequence_number));
    }
  }
  std::sort(c.files.begin(), c.files.end());
  return c;
}

// Writes the same rounds of upserts, deletes and appends with `threads` and
// returns every snapshot's content.
std::vector<SnapshotContent> WriteRounds(const std::string& path, bool primary_key, int threads) {
  std::map<std::string, std::string> options = {{"bucket", primary_key ? "4" : "3"},
                                                {"bucket-key", "id"},
                                                // Small buffers: flushes over the budget between commits.
                                                {"write-buffer-size", "48 kb"},
                                                {"num-sorted-run.compaction-trigger", "3"},
                                                {"compaction.min.file-num", "3"}};
  if (primary_key) options["changelog-producer"] = "lookup";
  auto t = MakeTestTable(path, primary_key ? std::vector<std::string>{"id", "region"} : std::vector<std::string>{},
                         options, {"region"});
  auto w = t->NewWriter("writer");
  w->SetParallelism(threads);
  EXPECT_EQ(w->parallelism(), threads);
  uint64_t state = 42;
  auto next = [&](uint64_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % bound;
  };
  for (int round = 1; round <= 6; ++round) {
    format::ColumnBatch batch(t->schema().fields);
    std::vector<format::RowKind> kinds;
    for (int i = 0; i < 1500; ++i) {
      int64_t id = static_cast<int64_t>(next(1500));
      std::string region = next(3) == 0 ? "us" : "eu";
      batch.AppendRow(R(id, region, "name-" + std::to_string(next(100000)), static_cast<int64_t>(next(1000))));
      kinds.push_back(primary_key && next(10) == 0 ? format::RowKind::kDelete : format::RowKind::kInsert);
    }
    Status written = w->Write(batch, &kinds);
    EXPECT_TRUE(written.ok()) << written.ToString();
    if (round == 5) KL_EXPECT_OK(w->Compact(/*full=*/true));
    auto committed = w->Commit(round);
    EXPECT_TRUE(committed.ok()) << committed.status().ToString();
  }
  std::vector<SnapshotContent> out;
  auto latest = t->NewScan().snapshots().LatestId();
  EXPECT_TRUE(latest.ok() && latest->has_value());
  for (int64_t id = 1; latest.ok() && latest->has_value() && id <= **latest; ++id) {
    auto c = ContentOf(*t, id);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) out.push_back(std::move(c).value());
  }
  return out;
}

TEST(ParallelWriteTest, SeveralThreadsCommitWhatOneThreadCommits) {
  testing::TempDir dir;
  for (bool primary_key : {true, false}) {
    SCOPED_TRACE(primary_key ? "primary key, lookup changelog" : "append");
    std::string kind = primary_key ? "pk" : "append";
    std::vector<SnapshotContent> one = WriteRounds(dir.Sub(kind + "-1"), primary_key, 1);
    ASSERT_GE(one.size(), 6u);
    // More than one bucket and partition, levels above 0 and a changelog: the test covers them.
    ASSERT_FALSE(one.back().rows.empty());
    std::set<std::string> buckets;
    bool compacted = false;
    for (const auto& f : one.back().files) {
      buckets.insert(f.substr(0, f.find(" level")));
      compacted = compacted || f.find("level 0") == std::string::npos || !primary_key;
    }
    EXPECT_GE(buckets.size(), primary_key ? 8u : 6u);
    EXPECT_TRUE(compacted);
    if (primary_key) {
      EXPECT_FALSE(one.front().changes.empty());
    }
    for (int threads : {2, 5}) {
      SCOPED_TRACE(threads);
      std::vector<SnapshotContent> many =
          WriteRounds(dir.Sub(kind + "-" + std::to_string(threads)), primary_key, threads);
      ASSERT_EQ(many.size(), one.size());
      for (size_t s = 0; s < one.size(); ++s) {
        SCOPED_TRACE("snapshot " + std::to_string(s + 1));
        EXPECT_EQ(many[s].kind_and_counts, one[s].kind_and_counts);
        EXPECT_EQ(many[s].rows, one[s].rows);
        EXPECT_EQ(many[s].changes, one[s].changes);
        EXPECT_EQ(many[s].files, one[s].files);
      }
    }
  }
}

// A bucket whose directory cannot be written fails the commit with the error
// that names it; the other buckets' files are in no snapshot, and the writer
// refuses to go on. A new writer, once the directory is writable, commits once.
TEST(ParallelWriteTest, AFailingBucketFailsTheWholeCommit) {
  testing::TempDir dir;
  auto t = MakeTestTable(dir.Sub("t"), {"id"}, {{"bucket", "4"}, {"changelog-producer", "lookup"}});
  auto write = [&](TableWriter* w, int64_t from, int64_t to, const std::string& name) {
    for (int64_t id = from; id < to; ++id) KL_ASSERT_OK(w->WriteRow(R(id, "eu", name, id)));
  };
  {
    auto w = t->NewWriter("writer");
    w->SetParallelism(4);
    write(w.get(), 0, 400, "a");
    KL_ASSERT_OK(w->Commit(1).status());
  }
  KL_ASSERT_OK_AND_ASSIGN(RowsWithKinds before, t->ReadAll());
  ASSERT_EQ(before.size(), 400u);
  // Bucket 2's directory becomes a plain file: its reads and writes fail (even as root).
  std::string bucket_dir = JoinPath(dir.Sub("t"), "bucket-2");
  ASSERT_EQ(std::rename(bucket_dir.c_str(), (bucket_dir + ".away").c_str()), 0);
  KL_ASSERT_OK(WriteFileAtomic(bucket_dir, "not a directory"));
  for (int threads : {1, 4}) {
    SCOPED_TRACE(threads);
    auto w = t->NewWriter("writer");
    w->SetParallelism(threads);
    write(w.get(), 200, 800, "b");
    auto failed = w->Commit(2);
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.status().ToString().find("bucket-2"), std::string::npos) << failed.status().ToString();
    auto again = w->Commit(2);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), StatusCode::kAborted);
    KL_ASSERT_OK_AND_ASSIGN(std::optional<int64_t> latest, t->NewScan().snapshots().LatestId());
    EXPECT_EQ(latest, std::optional<int64_t>(1));
  }
  KL_ASSERT_OK(RemoveFile(bucket_dir));
  ASSERT_EQ(std::rename((bucket_dir + ".away").c_str(), bucket_dir.c_str()), 0);
  KL_ASSERT_OK_AND_ASSIGN(RowsWithKinds unchanged, t->ReadAll());
  EXPECT_EQ(Rows(unchanged), Rows(before));
  auto w = t->NewWriter("writer");
  w->SetParallelism(4);
  write(w.get(), 200, 800, "b");
  KL_ASSERT_OK_AND_ASSIGN(CommitResult result, w->Commit(2));
  ASSERT_EQ(result.snapshot_ids.size(), 1u);
  KL_ASSERT_OK_AND_ASSIGN(RowsWithKinds after, t->ReadAll());
  ASSERT_EQ(after.size(), 800u);
  for (size_t i = 0; i < after.size(); ++i) {
    int64_t id = after.rows.column(0).GetInt(i);
    EXPECT_EQ(after.rows.column(2).GetBytes(i), id < 200 ? "a" : "b") << id;
  }
  // The same commit identifier again is a no-op: the commit landed once.
  auto retry = t->NewWriter("writer");
  write(retry.get(), 900, 901, "c");
  KL_ASSERT_OK_AND_ASSIGN(CommitResult repeated, retry->Commit(2));
  EXPECT_TRUE(repeated.already_committed);
}

}  // namespace
}  // namespace kl::table
