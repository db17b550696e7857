// Manifest merging at commit (manifest_merge.h): a model of the live files
// checked after every merge of random commits, the cases of Paimon's full and
// minor compaction one by one, and tables whose reads stay the same while
// their manifests are merged and their snapshots expire.
#include "table/manifest/manifest_merge.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "table/data/binary_row.h"
#include "table/operation/commit.h"
#include "table/operation/maintenance.h"
#include "table/table_test_util.h"

namespace kl::table {
namespace {

// Random sequences per property test: KUBELAKE_PROPERTY_SEQUENCES (the sanitizer pass runs fewer).
int Sequences(int fallback) {
  const char* env = std::getenv("KUBELAKE_PROPERTY_SEQUENCES");
  return env != nullptr ? std::max(1, std::atoi(env)) : fallback;
}

using format::DataType;
using format::Datum;

format::RowType PartitionType() { return format::RowType({{0, "p", DataType::String(), ""}}); }

std::string Partition(const std::string& p) { return SerializeBinaryRow({Datum::Bytes(p)}, {DataType::String()}); }

ManifestEntry Entry(FileKind kind, const std::string& partition, int bucket, int level, const std::string& name) {
  ManifestEntry e;
  e.kind = kind;
  e.partition = Partition(partition);
  e.bucket = bucket;
  e.total_buckets = 2;
  e.file.file_name = name;
  e.file.file_size = 1000;
  e.file.row_count = 10;
  e.file.level = level;
  e.file.key_stats = SimpleStats::Empty();
  e.file.value_stats = SimpleStats::Empty();
  return e;
}

// The live files the manifests name, as sorted identifiers.
std::set<std::string> Live(const ManifestIO& io, const std::vector<ManifestFileMeta>& metas) {
  std::vector<ManifestEntry> all;
  for (const auto& m : metas) {
    auto entries = io.ReadManifest(m.file_name);
    EXPECT_TRUE(entries.ok()) << entries.status().ToString();
    if (entries.ok()) all.insert(all.end(), entries->begin(), entries->end());
  }
  auto merged = MergeEntries(all);
  EXPECT_TRUE(merged.ok()) << merged.status().ToString();
  std::set<std::string> out;
  if (merged.ok()) {
    for (const auto& e : *merged) out.insert(e.Identifier());
  }
  return out;
}

std::vector<std::string> Names(const std::vector<ManifestFileMeta>& metas) {
  std::vector<std::string> out;
  for (const auto& m : metas) out.push_back(m.file_name);
  return out;
}

// Random commits (new files in three partitions, deletes of live ones, files
// moved up a level), each merged as a commit merges: the previous base and
// delta become the new base. After every merge the base and the latest delta
// name exactly the model's live files, and the base stays small.
TEST(ManifestMergeTest, RandomCommitsKeepTheLiveFilesOfTheModel) {
  testing::TempDir dir;
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(Sequences(12)); ++seed) {
    Random rng(seed);
    ManifestIO io(dir.Sub("m" + std::to_string(seed)), PartitionType(), "zstd", 0);
    ManifestMergeOptions o;
    o.target_file_size = 800 + static_cast<int64_t>(rng.Uniform(4000));
    o.min_count = 2 + static_cast<int>(rng.Uniform(6));
    o.full_compaction_threshold_size = 1500 + static_cast<int64_t>(rng.Uniform(30000));
    std::map<std::string, ManifestEntry> live;  // identifier -> ADD entry
    std::vector<ManifestFileMeta> base, delta;
    std::set<std::string> written_by_merges;
    int next_file = 0;
    for (int commit = 1; commit <= 80; ++commit) {
      std::vector<ManifestEntry> changes;
      int adds = static_cast<int>(rng.Uniform(8));
      for (int i = 0; i < adds; ++i) {
        std::string p = std::string(1, static_cast<char>('a' + rng.Uniform(3)));
        auto e = Entry(FileKind::kAdd, p, static_cast<int>(rng.Uniform(2)), 0, "data-" + std::to_string(next_file++));
        changes.push_back(e);
      }
      std::vector<std::string> ids;
      for (const auto& [id, e] : live) ids.push_back(id);
      for (const auto& id : ids) {
        uint64_t r = rng.Uniform(10);
        if (r == 0) {  // deleted (compacted away)
          ManifestEntry d = live.at(id);
          d.kind = FileKind::kDelete;
          changes.push_back(d);
        } else if (r == 1 && live.at(id).file.level < 5) {  // moved up a level, same file
          ManifestEntry d = live.at(id);
          d.kind = FileKind::kDelete;
          changes.push_back(d);
          ManifestEntry a = live.at(id);
          a.file.level += 1;
          changes.push_back(a);
        }
      }
      for (const auto& e : changes) {
        if (e.kind == FileKind::kDelete) live.erase(e.Identifier());
      }
      for (const auto& e : changes) {
        if (e.kind == FileKind::kAdd) live[e.Identifier()] = e;
      }
      std::vector<ManifestFileMeta> input = base;
      input.insert(input.end(), delta.begin(), delta.end());
      std::vector<std::string> written;
      auto merged = MergeManifests(io, input, o, &written);
      ASSERT_TRUE(merged.ok()) << merged.status().ToString();
      base = *merged;
      written_by_merges.insert(written.begin(), written.end());
      auto d = io.WriteManifests(changes, o.target_file_size);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      delta = *d;
      std::vector<ManifestFileMeta> all = base;
      all.insert(all.end(), delta.begin(), delta.end());
      std::set<std::string> expected;
      for (const auto& [id, e] : live) expected.insert(id);
      ASSERT_EQ(Live(io, all), expected) << "seed " << seed << " commit " << commit;
      // Everything written is in the result; inputs are never removed.
      for (const auto& name : written) {
        EXPECT_NE(std::find(Names(base).begin(), Names(base).end(), name), Names(base).end()) << name;
      }
      for (const auto& m : input) EXPECT_TRUE(FileExists(JoinPath(io.dir(), m.file_name))) << m.file_name;
      // Bounded: merged runs of at least the target size, and a tail shorter than min_count.
      int64_t bytes = 0;
      for (const auto& m : input) bytes += m.file_size;
      EXPECT_LE(base.size(), static_cast<size_t>(o.min_count) + static_cast<size_t>(bytes / o.target_file_size) + 1)
          << "seed " << seed << " commit " << commit;
    }
    EXPECT_FALSE(written_by_merges.empty()) << "seed " << seed << ": no merge happened";
  }
}

ManifestFileMeta WriteOne(const ManifestIO& io, const std::vector<ManifestEntry>& entries) {
  auto metas = io.WriteManifests(entries, 8 << 20);
  EXPECT_TRUE(metas.ok() && metas->size() == 1);
  return metas->front();
}

TEST(ManifestMergeTest, MinorCompactionMergesATailOfMinCountSmallManifests) {
  testing::TempDir dir;
  ManifestIO io(dir.path(), PartitionType(), "zstd", 0);
  ManifestMergeOptions o;  // 8 MB target, 30 min count, 16 MB full trigger: all of these are small
  o.min_count = 3;
  std::vector<ManifestFileMeta> input = {WriteOne(io, {Entry(FileKind::kAdd, "a", 0, 0, "f1")}),
                                         WriteOne(io, {Entry(FileKind::kAdd, "a", 0, 0, "f2")})};
  std::vector<std::string> written;
  auto kept = MergeManifests(io, input, o, &written);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(Names(*kept), Names(input)) << "fewer than min_count: kept as they are";
  EXPECT_TRUE(written.empty());

  input.push_back(WriteOne(io, {Entry(FileKind::kDelete, "a", 0, 0, "f1"), Entry(FileKind::kAdd, "a", 0, 1, "f1")}));
  auto merged = MergeManifests(io, input, o, &written);
  ASSERT_TRUE(merged.ok());
  ASSERT_EQ(merged->size(), 1u);
  EXPECT_EQ(written, Names(*merged));
  // ADD and DELETE of f1 at level 0 cancelled; f1 at level 1 and f2 remain.
  EXPECT_EQ(merged->front().num_added_files, 2);
  EXPECT_EQ(merged->front().num_deleted_files, 0);
  EXPECT_EQ(Live(io, *merged), Live(io, input));
}

TEST(ManifestMergeTest, MinorCompactionKeepsADeleteWhoseAddIsInAnEarlierRun) {
  testing::TempDir dir;
  ManifestIO io(dir.path(), PartitionType(), "zstd", 0);
  ManifestFileMeta first =
      WriteOne(io, {Entry(FileKind::kAdd, "a", 0, 0, "f1"), Entry(FileKind::kAdd, "a", 0, 0, "f2")});
  ManifestMergeOptions o;
  o.target_file_size = first.file_size;  // the first manifest is a run of its own
  o.min_count = 2;
  std::vector<ManifestFileMeta> input = {first, WriteOne(io, {Entry(FileKind::kDelete, "a", 0, 0, "f1")}),
                                         WriteOne(io, {Entry(FileKind::kAdd, "b", 0, 0, "f3")})};
  std::vector<std::string> written;
  auto merged = MergeManifests(io, input, o, &written);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  ASSERT_EQ(merged->size(), 2u);
  EXPECT_EQ(merged->front().file_name, first.file_name) << "a run of one manifest is kept";
  EXPECT_EQ((*merged)[1].num_deleted_files, 1) << "the DELETE of f1 stays: its ADD is in the first manifest";
  EXPECT_EQ(Live(io, *merged), Live(io, input));
}

TEST(ManifestMergeTest, FullCompactionCancelsEveryDeleteAndKeepsUntouchedLargeManifests) {
  testing::TempDir dir;
  ManifestIO io(dir.path(), PartitionType(), "zstd", 0);
  std::vector<ManifestEntry> big_a, big_b;
  for (int i = 0; i < 40; ++i) big_a.push_back(Entry(FileKind::kAdd, "a", 0, 5, "a-" + std::to_string(i)));
  for (int i = 0; i < 40; ++i) big_b.push_back(Entry(FileKind::kAdd, "b", 0, 5, "b-" + std::to_string(i)));
  ManifestFileMeta a = WriteOne(io, big_a), b = WriteOne(io, big_b);
  ManifestMergeOptions o;
  o.target_file_size = std::min(a.file_size, b.file_size);  // both large
  o.min_count = 100;
  std::vector<ManifestFileMeta> input = {a, b};
  // Small manifests: new files in b, and deletes of files of b only.
  for (int i = 0; i < 6; ++i) {
    input.push_back(WriteOne(io, {Entry(FileKind::kAdd, "b", 1, 0, "new-" + std::to_string(i)),
                                  Entry(FileKind::kDelete, "b", 0, 5, "b-" + std::to_string(i))}));
  }
  int64_t small = 0;
  for (size_t i = 2; i < input.size(); ++i) small += input[i].file_size;
  o.full_compaction_threshold_size = small + 1;
  std::vector<std::string> written;
  auto minor = MergeManifests(io, input, o, &written);
  ASSERT_TRUE(minor.ok());
  // Below the threshold: minor compaction keeps the large manifests, merges runs of small
  // ones, and the DELETEs of b's files stay (their ADDs are in b, outside those runs).
  ASSERT_GE(minor->size(), 3u);
  EXPECT_EQ((*minor)[0].file_name, a.file_name);
  EXPECT_EQ((*minor)[1].file_name, b.file_name);
  int64_t deletes = 0;
  for (const auto& m : *minor) deletes += m.num_deleted_files;
  EXPECT_EQ(deletes, 6);
  EXPECT_EQ(Live(io, *minor), Live(io, input));

  o.full_compaction_threshold_size = small;
  auto full = MergeManifests(io, input, o, &written);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(Live(io, *full), Live(io, input));
  std::vector<std::string> names = Names(*full);
  EXPECT_NE(std::find(names.begin(), names.end(), a.file_name), names.end())
      << "partition a had no deletes: its manifest stays";
  EXPECT_EQ(std::find(names.begin(), names.end(), b.file_name), names.end()) << "b lost files: rewritten";
  for (const auto& m : *full) EXPECT_EQ(m.num_deleted_files, 0) << m.file_name;
  EXPECT_EQ(full->size(), 2u) << "a, and one manifest of b's survivors and the new files";
}

// Tables committed to many times, with small manifests merged often and
// snapshots expiring at every commit: every retained snapshot reads as it did
// when committed (the model), the manifest directory holds only what they
// need, and the number of manifests stays bounded.
void RunMergingWorkload(const std::string& path, bool primary_key, uint64_t seed,
                        const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> options = {{"bucket", "2"},
                                                {"snapshot.num-retained.min", "2"},
                                                {"snapshot.num-retained.max", "4"},
                                                {"num-sorted-run.compaction-trigger", "3"},
                                                {"kubelake.data-file.sync", "false"}};
  for (const auto& [k, v] : extra) options[k] = v;
  if (!primary_key) options["bucket-key"] = "id";
  auto t = test_util::MakeTestTable(
      path, primary_key ? std::vector<std::string>{"id", "region"} : std::vector<std::string>{}, options, {"region"});
  Random rng(seed);
  std::map<std::pair<int64_t, std::string>, std::string> model;  // pk tables: key -> row
  std::multiset<std::string> appended;                           // append tables: every row
  std::map<int64_t, std::vector<std::string>> expected;          // snapshot -> rows
  auto w = t->NewWriter("w");
  size_t max_manifests = 0;
  for (int c = 1; c <= 50; ++c) {
    int rows = 1 + static_cast<int>(rng.Uniform(5));
    for (int i = 0; i < rows; ++i) {
      int64_t id = static_cast<int64_t>(rng.Uniform(15));
      std::string region = rng.Uniform(2) == 0 ? "eu" : "us";
      bool remove = primary_key && rng.Uniform(4) == 0;
      format::Row row = test_util::R(id, region, "v" + std::to_string(c), c);
      KL_ASSERT_OK(w->WriteRow(row, remove ? format::RowKind::kDelete : format::RowKind::kInsert));
      std::string text =
          "+I " + std::to_string(id) + " \"" + region + "\" \"v" + std::to_string(c) + "\" " + std::to_string(c);
      if (!primary_key) {
        appended.insert(text);
      } else if (remove) {
        model.erase({id, region});
      } else {
        model[{id, region}] = text;
      }
    }
    if (rng.Uniform(8) == 0) KL_ASSERT_OK(w->Compact(/*full=*/rng.Uniform(2) == 0));
    auto r = w->Commit(c);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> now;
    if (primary_key) {
      for (const auto& [k, v] : model) now.push_back(v);
    } else {
      now.assign(appended.begin(), appended.end());
    }
    std::sort(now.begin(), now.end());
    for (int64_t id : r->snapshot_ids) expected[id] = now;
    auto ids = t->snapshots().ListIds();
    ASSERT_TRUE(ids.ok());
    for (int64_t id : *ids) {
      auto rows_read = t->ReadAll(id);
      ASSERT_TRUE(rows_read.ok()) << rows_read.status().ToString();
      ASSERT_EQ(test_util::Rows(*rows_read), expected.at(id))
          << "seed " << seed << " commit " << c << " snapshot " << id;
    }
    auto files = ListDir(t->context()->paths().ManifestDir());
    ASSERT_TRUE(files.ok());
    max_manifests = std::max(max_manifests, files->size());
  }
  auto garbage = RemoveOrphanFiles(t->context(), NowMillis() + 60000, /*dry_run=*/true);
  ASSERT_TRUE(garbage.ok()) << garbage.status().ToString();
  EXPECT_TRUE(garbage->deleted.empty()) << garbage->deleted.size() << " unreferenced files, first "
                                        << garbage->deleted.front();
  // 4 snapshots of at most a base, a delta and a changelog list each, their
  // delta and changelog manifests, and a base that merging keeps short.
  EXPECT_LE(max_manifests, 60u) << "seed " << seed;
}

TEST(ManifestMergeTest, TablesReadTheSameWhileManifestsMergeAndSnapshotsExpire) {
  testing::TempDir dir;
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(Sequences(3)); ++seed) {
    // Minor compaction only (Paimon's defaults for size), with few manifests to a merge.
    RunMergingWorkload(dir.Sub("minor-pk" + std::to_string(seed)), true, seed, {{"manifest.merge-min-count", "3"}});
    // Full compaction at nearly every commit: tiny threshold and target.
    RunMergingWorkload(dir.Sub("full-pk" + std::to_string(seed)), true, seed,
                       {{"manifest.merge-min-count", "30"},
                        {"manifest.target-file-size", "2kb"},
                        {"manifest.full-compaction-threshold-size", "3kb"},
                        {"changelog-producer", "lookup"}});
    RunMergingWorkload(dir.Sub("full-append" + std::to_string(seed)), false, seed,
                       {{"manifest.target-file-size", "1kb"},
                        {"manifest.full-compaction-threshold-size", "2kb"},
                        {"compaction.min.file-num", "3"}});
  }
}

}  // namespace
}  // namespace kl::table
