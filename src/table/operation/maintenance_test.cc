// Snapshot expiry at every commit and consumers: what stays is whole, what
// goes leaves nothing behind, and readers that fall behind are waited for.
#include "table/operation/maintenance.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <map>
#include <set>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "table/operation/commit.h"
#include "table/operation/consumer.h"
#include "table/table_test_util.h"

namespace kl::table {
namespace {

using test_util::MakeTestTable;
using test_util::R;
using test_util::Rows;

// Every retained snapshot reads as it did when it was committed, its changes
// can be planned and read, and no file under the table is unreferenced.
void ExpectWholeAndClean(const std::shared_ptr<Table>& t, const std::map<int64_t, std::vector<std::string>>& expected) {
  auto ids = t->snapshots().ListIds();
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  for (int64_t id : *ids) {
    auto rows = t->ReadAll(id);
    ASSERT_TRUE(rows.ok()) << "snapshot " << id << ": " << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), expected.at(id)) << "snapshot " << id;
    auto changes = t->NewScan().PlanChanges(id);
    ASSERT_TRUE(changes.ok()) << "changes of snapshot " << id << ": " << changes.status().ToString();
    auto read = t->NewRead();
    ASSERT_TRUE(read.ok());
    auto changed = (*read)->ReadAll(*changes);
    ASSERT_TRUE(changed.ok()) << "changes of snapshot " << id << ": " << changed.status().ToString();
  }
  auto garbage = RemoveOrphanFiles(t->context(), NowMillis() + 60000, /*dry_run=*/true);
  ASSERT_TRUE(garbage.ok()) << garbage.status().ToString();
  EXPECT_TRUE(garbage->deleted.empty()) << garbage->deleted.size() << " unreferenced files, first "
                                        << garbage->deleted.front();
}

// Random upserts and deletes over a few keys, a commit each, with the table's
// own expiry running at every commit.
void RunExpiringWorkload(const std::shared_ptr<Table>& t, bool primary_key, uint64_t seed) {
  Random rng(seed);
  std::map<int64_t, std::vector<std::string>> expected;
  auto w = t->NewWriter("w");
  for (int c = 1; c <= 60; ++c) {
    int rows = 1 + static_cast<int>(rng.Uniform(6));
    for (int i = 0; i < rows; ++i) {
      int64_t id = static_cast<int64_t>(rng.Uniform(12));
      bool remove = primary_key && rng.Uniform(5) == 0;
      KL_ASSERT_OK(w->WriteRow(R(id, "eu", "v" + std::to_string(c), c),
                               remove ? format::RowKind::kDelete : format::RowKind::kInsert));
    }
    if (rng.Uniform(10) == 0) KL_ASSERT_OK(w->Compact(/*full=*/true));
    auto r = w->Commit(c);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto now = t->ReadAll();
    ASSERT_TRUE(now.ok()) << now.status().ToString();
    for (int64_t id : r->snapshot_ids) expected[id] = Rows(*now);
    auto ids = t->snapshots().ListIds();
    ASSERT_TRUE(ids.ok());
    EXPECT_LE(ids->size(), 5u) << "commit " << c;
    EXPECT_EQ(**t->snapshots().EarliestId(), ids->front());
    if (c % 10 == 0) ExpectWholeAndClean(t, expected);
  }
  ExpectWholeAndClean(t, expected);
}

const std::map<std::string, std::string> kRetainFew = {{"bucket", "2"},
                                                       {"snapshot.num-retained.min", "3"},
                                                       {"snapshot.num-retained.max", "5"},
                                                       {"num-sorted-run.compaction-trigger", "3"},
                                                       {"manifest.merge-min-count", "3"}};

TEST(ExpiryTest, EveryCommitExpiresPrimaryKeyTableWithChangelogCleanly) {
  testing::TempDir dir;
  auto options = kRetainFew;
  options["changelog-producer"] = "lookup";
  for (uint64_t seed : {1, 2, 3}) {
    auto t = MakeTestTable(dir.Sub("pk" + std::to_string(seed)), {"id"}, options);
    RunExpiringWorkload(t, /*primary_key=*/true, seed);
  }
}

TEST(ExpiryTest, EveryCommitExpiresAppendTableCleanly) {
  testing::TempDir dir;
  auto options = kRetainFew;
  options["bucket-key"] = "id";
  options["compaction.min.file-num"] = "3";
  auto t = MakeTestTable(dir.Sub("append"), {}, options);
  RunExpiringWorkload(t, /*primary_key=*/false, 7);
}

TEST(ExpiryTest, AFileMovedUpALevelOutlivesTheSnapshotsThatHadItAtLevelZero) {
  testing::TempDir dir;
  auto t = MakeTestTable(dir.Sub("t"), {"id"},
                         {{"bucket", "1"},
                          {"snapshot.num-retained.min", "1"},
                          {"snapshot.num-retained.max", "1"},
                          {"num-sorted-run.compaction-trigger", "1000"}});
  std::map<int64_t, std::vector<std::string>> expected;
  auto w = t->NewWriter("w");
  for (int i = 0; i < 20; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "x", i)));
  ASSERT_TRUE(w->Commit(1).ok());
  KL_ASSERT_OK(w->Compact(/*full=*/true));
  auto r = w->Commit(2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->snapshot_ids.size(), 1u);
  int64_t compacted = r->snapshot_ids[0];
  expected[compacted] = Rows(*t->ReadAll());
  // The compaction moved the one file up without rewriting it: the same name
  // leaves level 0 and arrives at the top level in one delta.
  auto snapshot = t->snapshots().Read(compacted);
  ASSERT_TRUE(snapshot.ok());
  auto delta = ReadDeltaEntries(t->NewScan().manifests(), *snapshot);
  ASSERT_TRUE(delta.ok()) << delta.status().ToString();
  ASSERT_EQ(delta->size(), 2u);
  EXPECT_EQ((*delta)[0].file.file_name, (*delta)[1].file.file_name);
  EXPECT_NE((*delta)[0].file.level, (*delta)[1].file.level);
  // Snapshot 1 (the file at level 0) expired at that commit; the file must not have gone with it.
  EXPECT_EQ(*t->snapshots().ListIds(), (std::vector<int64_t>{compacted}));
  ExpectWholeAndClean(t, expected);
}

TEST(ExpiryTest, WriteOnlyTablesDoNotExpire) {
  testing::TempDir dir;
  auto options = kRetainFew;
  options["write-only"] = "true";
  auto t = MakeTestTable(dir.Sub("t"), {"id"}, options);
  auto w = t->NewWriter("w");
  for (int c = 1; c <= 8; ++c) {
    KL_ASSERT_OK(w->WriteRow(R(c, "eu", "x", c)));
    ASSERT_TRUE(w->Commit(c).ok());
  }
  EXPECT_EQ(t->snapshots().ListIds()->size(), 8u);
}

TEST(ExpiryTest, ConsumersHoldSnapshotsUntilTheyMoveOnOrExpire) {
  testing::TempDir dir;
  auto options = kRetainFew;
  options["num-sorted-run.compaction-trigger"] = "1000";  // one snapshot per commit
  auto t = MakeTestTable(dir.Sub("t"), {"id"}, options);
  ConsumerManager consumers(t->path());
  KL_ASSERT_OK(consumers.Record("ads", 2));
  auto w = t->NewWriter("w");
  for (int c = 1; c <= 10; ++c) {
    KL_ASSERT_OK(w->WriteRow(R(c, "eu", "x", c)));
    ASSERT_TRUE(w->Commit(c).ok());
  }
  EXPECT_EQ(**t->snapshots().EarliestId(), 2) << "the consumer still needs snapshot 2";
  EXPECT_EQ(t->snapshots().ListIds()->size(), 9u);
  auto next = consumers.Read("ads");
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, 2);

  KL_ASSERT_OK(consumers.Record("ads", 7));
  KL_ASSERT_OK(consumers.Record("trend", 9));
  // A replace in flight (its temp file, still empty) is no consumer.
  KL_ASSERT_OK(WriteFile(consumers.ConsumerPath("ads") + ".tmp.123.4", ""));
  auto min = consumers.MinNextSnapshot();
  ASSERT_TRUE(min.ok());
  EXPECT_EQ(**min, 7);
  KL_ASSERT_OK(w->WriteRow(R(11, "eu", "x", 11)));
  ASSERT_TRUE(w->Commit(11).ok());
  EXPECT_EQ(**t->snapshots().EarliestId(), 7) << "the limit is the slowest consumer, not the newest";

  // A consumer not heard from within consumer.expiration-time stops holding snapshots.
  std::string stale = consumers.ConsumerPath("ads");
  struct utimbuf old_times = {0, 0};
  ASSERT_EQ(utime(stale.c_str(), &old_times), 0);
  ExpireOptions opts = ExpireOptions::FromTable(t->context()->options());
  opts.consumer_expire_millis = NowMillis() - 3600 * 1000;
  auto r = ExpireSnapshots(t->context(), opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->expired_consumers, (std::vector<std::string>{"ads"}));
  EXPECT_FALSE(FileExists(stale));
  EXPECT_EQ(**t->snapshots().EarliestId(), 7) << "retained: snapshot.num-retained.max is 5, 'trend' needs 9";
  EXPECT_EQ(t->snapshots().ListIds()->size(), 5u);

  EXPECT_FALSE(consumers.Record("a/b", 1).ok());
  KL_ASSERT_OK(WriteFile(consumers.ConsumerPath("broken"), "{\"next\": 1}"));
  auto broken = consumers.MinNextSnapshot();
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("consumer-broken"), std::string::npos) << broken.status().ToString();
}

// A consumer's position is rewritten in place at every checkpoint: the same
// file (no new inode), JSON that Paimon's readers parse, and a write torn at
// any byte — or never reaching the disk in one half — reads as the position
// before or after it, never as another one.
TEST(ConsumerTest, RewrittenInPlaceAndReadableWhenTorn) {
  testing::TempDir dir;
  ConsumerManager consumers(dir.Sub("t"));
  std::string path = consumers.ConsumerPath("ads");
  KL_ASSERT_OK(consumers.Record("ads", 41));
  struct stat first;
  ASSERT_EQ(stat(path.c_str(), &first), 0);
  KL_ASSERT_OK(consumers.Record("ads", 1000));
  struct stat second;
  ASSERT_EQ(stat(path.c_str(), &second), 0);
  EXPECT_EQ(first.st_ino, second.st_ino) << "rewritten in place, not replaced";
  EXPECT_EQ(*ListDir(dir.Sub("t/consumer")), std::vector<std::string>{"consumer-ads"});
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, ConsumerManager::RecordText(1000));
  auto json = ParseJson(*text);  // what Paimon's Consumer.fromJson reads
  ASSERT_TRUE(json.ok()) << json.status().ToString() << " in " << *text;
  EXPECT_EQ(*json->GetInt("nextSnapshot"), 1000);

  auto read_torn = [&](const std::string& bytes) -> Result<std::optional<int64_t>> {
    KL_RETURN_IF_ERROR(WriteFile(path, bytes));
    return consumers.Read("ads");
  };
  Random rng(15);
  const std::vector<std::pair<int64_t, int64_t>> moves = {{999, 1000}, {129, 130}, {5, 123456789},
                                                          {1000, 999}, {7, 7},     {0, 9223372036854775807LL}};
  for (auto [before, after] : moves) {
    std::string old_text = ConsumerManager::RecordText(before);
    std::string new_text = ConsumerManager::RecordText(after);
    ASSERT_EQ(old_text.size(), new_text.size());
    size_t half = old_text.size() / 2;
    // The second half is written first: torn there, the first half still holds `before`.
    // Torn in the first half, the second already holds `after`. Bytes of a torn write
    // land in any order (a prefix, a random subset) or as zeros that never got written.
    for (int trial = 0; trial < 100; ++trial) {
      for (bool tail_torn : {true, false}) {
        std::string bytes = tail_torn ? old_text : old_text.substr(0, half) + new_text.substr(half);
        size_t from = tail_torn ? half : 0;
        int mode = trial % 3;
        size_t cut = from + rng.Uniform(half + 1);
        for (size_t i = from; i < from + half; ++i) {
          bool landed = mode == 0 ? i < cut : rng.Uniform(2) == 0;
          if (landed)
            bytes[i] = new_text[i];
          else if (mode == 2)
            bytes[i] = '\0';
        }
        auto got = read_torn(bytes);
        ASSERT_TRUE(got.ok()) << got.status().ToString() << " for " << bytes;
        ASSERT_TRUE(got->has_value());
        bool tail_complete = bytes.substr(half) == new_text.substr(half);
        int64_t expected = tail_torn && !tail_complete ? before : after;
        ASSERT_EQ(**got, expected) << (tail_torn ? "second" : "first") << " half torn: " << bytes;
      }
    }
  }

  // Both halves unreadable is an error naming the file, never a made-up position.
  auto garbled = read_torn(std::string(ConsumerManager::RecordText(5).size(), '\0'));
  ASSERT_FALSE(garbled.ok());
  EXPECT_NE(garbled.status().message().find("consumer-ads"), std::string::npos) << garbled.status().ToString();

  // Valid JSON whose numbers match neither checksum is no position either.
  std::string forged = ConsumerManager::RecordText(999);
  for (size_t at = forged.find("999"); at != std::string::npos; at = forged.find("999", at))
    forged.replace(at, 3, "998");
  ASSERT_TRUE(ParseJson(forged).ok()) << forged;
  auto forged_read = read_torn(forged);
  EXPECT_FALSE(forged_read.ok()) << (forged_read.ok() && forged_read->has_value() ? **forged_read : -1);

  // Paimon's own layout (Java writes it pretty-printed) reads, and the next record
  // replaces it with the in-place one.
  KL_ASSERT_OK(WriteFile(path, "{\n  \"nextSnapshot\" : 17\n}"));
  auto java = consumers.Read("ads");
  ASSERT_TRUE(java.ok() && java->has_value()) << java.status().ToString();
  EXPECT_EQ(**java, 17);
  KL_ASSERT_OK(consumers.Record("ads", 18));
  EXPECT_EQ(*ReadFile(path), ConsumerManager::RecordText(18));
  auto all = consumers.ReadAll();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::map<std::string, int64_t>{{"ads", 18}}));
}

TEST(ExpiryTest, AnInterruptedExpiryIsFinishedByTheNextOne) {
  testing::TempDir dir;
  auto options = kRetainFew;
  options["snapshot.num-retained.max"] = "100";
  options["changelog-producer"] = "input";
  auto t = MakeTestTable(dir.Sub("t"), {"id"}, options);
  std::map<int64_t, std::vector<std::string>> expected;
  auto w = t->NewWriter("w");
  for (int c = 1; c <= 12; ++c) {
    KL_ASSERT_OK(w->WriteRow(R(c % 4, "eu", "v" + std::to_string(c), c)));
    auto r = w->Commit(c);
    ASSERT_TRUE(r.ok());
    for (int64_t id : r->snapshot_ids) expected[id] = Rows(*t->ReadAll());
  }
  auto ids = *t->snapshots().ListIds();
  ASSERT_GT(ids.size(), 6u);
  ExpireOptions opts = ExpireOptions::FromTable(t->context()->options());
  opts.retain_max = 3;
  // A manifest of the oldest snapshot's delta that the snapshots kept no longer
  // list (manifests were merged): the run deletes it after the data files. A
  // non-empty directory in its place makes that deletion fail, as a crash there would.
  TableScan scan = t->NewScan();
  auto manifests_of = [&](const std::string& list) {
    auto metas = scan.manifests().ReadManifestList(list);
    EXPECT_TRUE(metas.ok()) << metas.status().ToString();
    std::vector<std::string> names;
    if (metas.ok()) {
      for (const auto& m : *metas) names.push_back(m.file_name);
    }
    return names;
  };
  auto first_kept = t->snapshots().Read(ids[ids.size() - 3]);
  auto oldest = t->snapshots().Read(ids.front());
  ASSERT_TRUE(first_kept.ok() && oldest.ok());
  std::set<std::string> kept;
  for (const auto& name : manifests_of(first_kept->base_manifest_list)) kept.insert(name);
  for (const auto& name : manifests_of(first_kept->delta_manifest_list)) kept.insert(name);
  std::string blocked;
  for (const auto& name : manifests_of(oldest->delta_manifest_list)) {
    if (kept.count(name) == 0) blocked = JoinPath(t->context()->paths().ManifestDir(), name);
  }
  ASSERT_FALSE(blocked.empty()) << "no merged-away manifest to block";
  KL_ASSERT_OK(RemoveFile(blocked));
  ASSERT_EQ(mkdir(blocked.c_str(), 0755), 0);
  KL_ASSERT_OK(WriteFile(JoinPath(blocked, "x"), "x"));
  auto failed = ExpireSnapshots(t->context(), opts);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find(BaseName(blocked)), std::string::npos) << failed.status().ToString();
  EXPECT_EQ(t->snapshots().ListIds()->size(), ids.size()) << "snapshot files go last";
  KL_ASSERT_OK(RemoveAll(blocked));
  auto done = ExpireSnapshots(t->context(), opts);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(t->snapshots().ListIds()->size(), 3u);
  ExpectWholeAndClean(t, expected);
}

}  // namespace
}  // namespace kl::table
