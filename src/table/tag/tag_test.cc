// Tags (tag.h, tag_auto_creation.h, maintenance.h): the files Paimon writes,
// names of automatic tags, reads of tagged snapshots after their snapshots
// expired, expiry that never deletes what a snapshot or tag needs (a property
// test over random commits, tags and deletions), and automatic creation.
#include "table/tag/tag.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "table/operation/maintenance.h"
#include "table/table_test_util.h"
#include "table/tag/tag_auto_creation.h"

namespace kl::table {
namespace {

// Random sequences per property test: KUBELAKE_PROPERTY_SEQUENCES (the sanitizer pass runs fewer).
int Sequences(int fallback) {
  const char* env = std::getenv("KUBELAKE_PROPERTY_SEQUENCES");
  return env != nullptr ? std::max(1, std::atoi(env)) : fallback;
}

using test_util::MakeTestTable;
using test_util::R;
using test_util::Rows;

constexpr int64_t kDay = 86400000;
constexpr int64_t kHour = 3600000;

// 2024-03-05T00:00:00 as a local date-time read as UTC.
const int64_t kMarch5 = DaysFromCivil(2024, 3, 5) * kDay;

TEST(TagTest, JsonIsTheSnapshotsWithTheTagFieldsOnlyWhenRetained) {
  std::string snapshot =
      "{\n  \"version\" : 3,\n  \"id\" : 7,\n  \"schemaId\" : 0,\n  \"baseManifestList\" : \"b\",\n"
      "  \"deltaManifestList\" : \"d\",\n  \"commitUser\" : \"u\",\n  \"commitIdentifier\" : 3,\n"
      "  \"commitKind\" : \"APPEND\",\n  \"timeMillis\" : 1000,\n  \"totalRecordCount\" : 5,\n"
      "  \"deltaRecordCount\" : 5,\n  \"statistics\" : \"stats-1\"\n}";
  EXPECT_EQ(Tag::ToJson(snapshot, kMarch5, std::nullopt), snapshot) << "no retention: the snapshot, as it is";
  std::string tag = Tag::ToJson(snapshot, kMarch5 + 10 * kHour + 15 * 60000 + 30123, 5000);
  EXPECT_NE(tag.find("\"statistics\" : \"stats-1\",\n  \"tagCreateTime\" : [ 2024, 3, 5, 10, 15, 30, 123000000 ],\n"
                     "  \"tagTimeRetained\" : 5.000000000\n}"),
            std::string::npos)
      << tag;
  auto parsed = Tag::FromJson("t", tag, "tag-t");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->snapshot.id, 7);
  EXPECT_EQ(parsed->create_time, kMarch5 + 10 * kHour + 15 * 60000 + 30123);
  EXPECT_EQ(parsed->time_retained_millis, 5000);
  // Jackson leaves out zero seconds and nanoseconds; other writers may use ISO text.
  EXPECT_NE(Tag::ToJson(snapshot, kMarch5 + kHour, 86400000).find("[ 2024, 3, 5, 1, 0 ]"), std::string::npos);
  std::string iso = snapshot.substr(0, snapshot.size() - 2) +
                    ",\n  \"tagCreateTime\" : \"2024-03-05T01:02:03.5\",\n  \"tagTimeRetained\" : \"PT1H30M\"\n}";
  auto from_iso = Tag::FromJson("t", iso, "tag-t");
  ASSERT_TRUE(from_iso.ok()) << from_iso.status().ToString();
  EXPECT_EQ(from_iso->create_time, kMarch5 + kHour + 2 * 60000 + 3500);
  EXPECT_EQ(from_iso->time_retained_millis, 90 * 60000);
  std::string bad = snapshot.substr(0, snapshot.size() - 2) + ",\n  \"tagCreateTime\" : [ 2024, 13, 1, 0, 0 ]\n}";
  EXPECT_FALSE(Tag::FromJson("t", bad, "tag-t").ok());
}

TEST(TagTest, PeriodsNameTagsAsPaimonDoes) {
  auto period = [](std::map<std::string, std::string> o) {
    auto p = TagPeriod::FromOptions(TableOptions(std::move(o)));
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return *p;
  };
  int64_t t = kMarch5 + 14 * kHour + 35 * 60000;  // 2024-03-05 14:35
  TagPeriod daily = period({});
  EXPECT_EQ(daily.TimeToTag(daily.NormalizeToPreviousTag(t)), "2024-03-04");
  EXPECT_EQ(daily.TagToTime("2024-03-04"), kMarch5 - kDay);
  EXPECT_EQ(daily.TagToTime("2024-03-04 17"), kMarch5 - kDay) << "Paimon reads the date before a space";
  EXPECT_FALSE(daily.IsAutoTag("2024-02-30"));
  EXPECT_FALSE(daily.IsAutoTag("release-1"));
  EXPECT_FALSE(daily.IsAutoTag("2024-3-05"));
  EXPECT_EQ(period({{"tag.period-formatter", "without_dashes"}}).TimeToTag(kMarch5), "20240305");
  TagPeriod hourly = period({{"tag.creation-period", "hourly"}});
  EXPECT_EQ(hourly.TimeToTag(hourly.NormalizeToPreviousTag(t)), "2024-03-05 13");
  EXPECT_EQ(hourly.TagToTime("2024-03-05 13"), kMarch5 + 13 * kHour);
  EXPECT_EQ(period({{"tag.creation-period", "hourly"}, {"tag.period-formatter", "without_dashes"}}).TimeToTag(t),
            "20240305 14");
  EXPECT_EQ(
      period({{"tag.creation-period", "hourly"}, {"tag.period-formatter", "without_dashes_and_spaces"}}).TimeToTag(t),
      "2024030514");
  TagPeriod two = period({{"tag.creation-period", "two-hours"}});
  EXPECT_EQ(two.TimeToTag(two.NormalizeToPreviousTag(t)), "2024-03-05 12");
  TagPeriod minutes = period({{"tag.creation-period-duration", "10 min"}, {"tag.creation-period", "daily"}});
  EXPECT_EQ(minutes.TimeToTag(minutes.NormalizeToPreviousTag(t)), "202403051420");
  EXPECT_EQ(minutes.TagToTime("202403051420"), kMarch5 + 14 * kHour + 20 * 60000);
  EXPECT_FALSE(
      TagPeriod::FromOptions(TableOptions(std::map<std::string, std::string>{{"tag.creation-period", "weekly"}})).ok());
  EXPECT_FALSE(
      TagPeriod::FromOptions(TableOptions(std::map<std::string, std::string>{{"tag.period-formatter", "slashes"}}))
          .ok());
}

std::map<std::string, std::string> RetainOne() {
  return {{"bucket", "1"},
          {"snapshot.num-retained.min", "1"},
          {"snapshot.num-retained.max", "1"},
          {"num-sorted-run.compaction-trigger", "2"},
          {"kubelake.data-file.sync", "false"}};
}

Result<RowsWithKinds> ReadTag(const std::shared_ptr<Table>& t, const std::string& tag) {
  KL_ASSIGN_OR_RETURN(ScanPlan plan, t->NewScan().PlanTag(tag));
  KL_ASSIGN_OR_RETURN(auto read, t->NewRead());
  return read->ReadAll(plan);
}

void ExpectNoOrphans(const std::shared_ptr<Table>& t) {
  auto garbage = RemoveOrphanFiles(t->context(), NowMillis() + 60000, /*dry_run=*/true);
  ASSERT_TRUE(garbage.ok()) << garbage.status().ToString();
  EXPECT_TRUE(garbage->deleted.empty()) << garbage->deleted.size() << " unreferenced files, first "
                                        << garbage->deleted.front();
}

int64_t CountFiles(const std::string& dir) {
  int64_t n = 0;
  auto names = ListDir(dir);
  if (!names.ok()) return 0;
  for (const auto& name : *names) {
    std::string p = JoinPath(dir, name);
    n += IsDirectory(p) ? CountFiles(p) : 1;
  }
  return n;
}

TEST(TagTest, ATagReadsItsSnapshotLongAfterItExpiredAndItsDeletionFreesItsFiles) {
  testing::TempDir dir;
  auto t = MakeTestTable(dir.Sub("t"), {"id"}, RetainOne());
  auto w = t->NewWriter("w");
  for (int i = 0; i < 5; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "first", i)));
  auto first = w->Commit(1);
  ASSERT_TRUE(first.ok());
  int64_t tagged = first->snapshot_ids.back();
  std::vector<std::string> rows_then = Rows(*t->ReadAll());
  TagManager tags(t->path());
  KL_ASSERT_OK(tags.Create("v1", tagged, std::nullopt, 0));
  EXPECT_EQ(tags.Create("v1", tagged, std::nullopt, 0).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(tags.Create("v0", tagged + 5, std::nullopt, 0).IsNotFound());
  EXPECT_FALSE(tags.Create("a/b", tagged, std::nullopt, 0).ok());
  // Every row rewritten many times, compacted: the tagged files would all be gone.
  for (int c = 2; c <= 12; ++c) {
    for (int i = 0; i < 5; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "v" + std::to_string(c), c)));
    if (c % 3 == 0) KL_ASSERT_OK(w->Compact(/*full=*/true));
    ASSERT_TRUE(w->Commit(c).ok());
  }
  EXPECT_FALSE(t->snapshots().Exists(tagged));
  auto rows = ReadTag(t, "v1");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Rows(*rows), rows_then);
  EXPECT_TRUE(ReadTag(t, "nope").status().IsNotFound());
  ExpectNoOrphans(t);

  int64_t before = CountFiles(t->path());
  auto deleted = DeleteTag(t->context(), "v1");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_GT(deleted->deleted_files, 0);
  EXPECT_EQ(CountFiles(t->path()), before - deleted->deleted_files - 1) << "and the tag file";
  EXPECT_TRUE(DeleteTag(t->context(), "v1").status().IsNotFound());
  ExpectNoOrphans(t);
  EXPECT_EQ(Rows(*t->ReadAll()).size(), 5u);
}

// Random upserts, deletes and compactions, a commit each with expiry keeping
// one to three snapshots; tags created on the latest snapshot and deleted at
// random. After every commit, every retained snapshot and every tag reads as
// it did when committed, and no file is left that nothing references.
TEST(TagTest, ExpiryNeverDeletesWhatASnapshotOrTagNeeds) {
  testing::TempDir dir;
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(Sequences(6)); ++seed) {
    Random rng(seed);
    auto options = RetainOne();
    options["bucket"] = "2";
    options["snapshot.num-retained.max"] = std::to_string(1 + rng.Uniform(3));
    options["manifest.merge-min-count"] = std::to_string(2 + rng.Uniform(4));
    if (seed % 2 == 0) options["changelog-producer"] = "lookup";
    if (seed % 3 == 0) {
      options["manifest.target-file-size"] = "2kb";
      options["manifest.full-compaction-threshold-size"] = "3kb";
    }
    auto t = MakeTestTable(dir.Sub("t" + std::to_string(seed)), {"id"}, options);
    auto w = t->NewWriter("w");
    TagManager tags(t->path());
    std::map<int64_t, std::vector<std::string>> expected;  // snapshot -> rows
    std::map<std::string, int64_t> live_tags;              // tag -> snapshot
    int next_tag = 0;
    for (int c = 1; c <= 60; ++c) {
      int rows = 1 + static_cast<int>(rng.Uniform(6));
      for (int i = 0; i < rows; ++i) {
        int64_t id = static_cast<int64_t>(rng.Uniform(10));
        bool remove = rng.Uniform(5) == 0;
        KL_ASSERT_OK(w->WriteRow(R(id, "eu", "v" + std::to_string(c), c),
                                 remove ? format::RowKind::kDelete : format::RowKind::kInsert));
      }
      if (rng.Uniform(6) == 0) KL_ASSERT_OK(w->Compact(/*full=*/rng.Uniform(2) == 0));
      auto r = w->Commit(c);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      std::vector<std::string> now = Rows(*t->ReadAll());
      for (int64_t id : r->snapshot_ids) expected[id] = now;
      if (rng.Uniform(4) == 0) {
        std::string name = "t" + std::to_string(next_tag++);
        int64_t latest = **t->snapshots().LatestId();
        KL_ASSERT_OK(tags.Create(name, latest, std::nullopt, 0));
        live_tags[name] = latest;
        // Sometimes a second tag of the same snapshot.
        if (rng.Uniform(3) == 0) {
          std::string twin = "t" + std::to_string(next_tag++);
          KL_ASSERT_OK(tags.Create(twin, latest, std::nullopt, 0));
          live_tags[twin] = latest;
        }
      }
      if (!live_tags.empty() && rng.Uniform(6) == 0) {
        auto it = live_tags.begin();
        std::advance(it, static_cast<long>(rng.Uniform(live_tags.size())));
        auto deleted = DeleteTag(t->context(), it->first);
        ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
        live_tags.erase(it);
      }
      auto ids = t->snapshots().ListIds();
      ASSERT_TRUE(ids.ok());
      for (int64_t id : *ids) {
        auto read = t->ReadAll(id);
        ASSERT_TRUE(read.ok()) << "seed " << seed << " snapshot " << id << ": " << read.status().ToString();
        ASSERT_EQ(Rows(*read), expected.at(id)) << "seed " << seed << " snapshot " << id;
      }
      for (const auto& [name, id] : live_tags) {
        auto read = ReadTag(t, name);
        ASSERT_TRUE(read.ok()) << "seed " << seed << " commit " << c << " tag " << name << ": "
                               << read.status().ToString();
        ASSERT_EQ(Rows(*read), expected.at(id)) << "seed " << seed << " commit " << c << " tag " << name;
      }
      if (c % 10 == 0) ExpectNoOrphans(t);
    }
    ExpectNoOrphans(t);
    // Without tags, the table comes back to what its retained snapshots need.
    for (const auto& [name, id] : live_tags) ASSERT_TRUE(DeleteTag(t->context(), name).ok());
    ExpectNoOrphans(t);
  }
}

// Rewrites a committed snapshot's commit time and watermark (what a writer
// running at that time would have written).
void SetSnapshotTime(const std::shared_ptr<Table>& t, int64_t id, int64_t millis,
                     std::optional<int64_t> watermark = std::nullopt) {
  auto s = t->snapshots().Read(id);
  ASSERT_TRUE(s.ok());
  s->time_millis = millis;
  s->watermark = watermark;
  KL_ASSERT_OK(WriteFile(t->snapshots().SnapshotPath(id), s->ToJson()));
}

TEST(TagTest, AutomaticTagsFollowCommitTimeAndKeepTheNewestFew) {
  testing::TempDir dir;
  auto options = RetainOne();
  options["snapshot.num-retained.max"] = "100";
  options["num-sorted-run.compaction-trigger"] = "1000";  // one APPEND snapshot per commit
  options["snapshot.time-retained"] = "36500 d";          // commit times in 2024 are not expired
  auto t = MakeTestTable(dir.Sub("t"), {"id"}, options);
  auto w = t->NewWriter("w");
  // Commit times (UTC): Mar 5 10:00, Mar 5 23:00, Mar 6 00:30, Mar 6 09:00, Mar 8 01:00, Mar 9 02:00.
  std::vector<int64_t> times = {kMarch5 + 10 * kHour,       kMarch5 + 23 * kHour,       kMarch5 + kDay + kHour / 2,
                                kMarch5 + kDay + 9 * kHour, kMarch5 + 3 * kDay + kHour, kMarch5 + 4 * kDay + 2 * kHour};
  std::vector<int64_t> ids;
  for (size_t c = 0; c < times.size(); ++c) {
    KL_ASSERT_OK(w->WriteRow(R(static_cast<int64_t>(c), "eu", "x", 1)));
    auto r = w->Commit(static_cast<int64_t>(c) + 1);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->snapshot_ids.size(), 1u);
    ids.push_back(r->snapshot_ids[0]);
    SetSnapshotTime(t, ids.back(), times[c]);
  }
  auto tagged = Table::Open(t->path(), {{"tag.automatic-creation", "process-time"},
                                        {"tag.creation-period", "daily"},
                                        {"sink.process-time-zone", "UTC"},
                                        {"tag.num-retained-max", "2"}});
  ASSERT_TRUE(tagged.ok());
  auto creation = TagAutoCreation::Create((*tagged)->context());
  ASSERT_TRUE(creation.ok()) << creation.status().ToString();
  ASSERT_NE(*creation, nullptr);
  auto created = (*creation)->Run();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // The first snapshot tags the day before it; then the first snapshot of each new day tags the day before.
  EXPECT_EQ(*created, (std::vector<std::string>{"2024-03-04", "2024-03-05", "2024-03-07", "2024-03-08"}));
  TagManager tags(t->path());
  EXPECT_EQ(*tags.ListNames(), (std::vector<std::string>{"2024-03-07", "2024-03-08"})) << "only the newest 2 stay";
  EXPECT_EQ(tags.Read("2024-03-07")->snapshot.id, ids[4]);
  EXPECT_EQ(tags.Read("2024-03-08")->snapshot.id, ids[5]);
  // A manual tag does not count towards the maximum and is never dropped.
  KL_ASSERT_OK(tags.Create("keep", ids[5], std::nullopt, 0));

  // A restarted writer resumes after the newest automatic tag.
  KL_ASSERT_OK(w->WriteRow(R(9, "eu", "x", 1)));
  auto r = w->Commit(100);
  ASSERT_TRUE(r.ok());
  SetSnapshotTime(t, r->snapshot_ids[0], kMarch5 + 4 * kDay + 3 * kHour);
  auto again = TagAutoCreation::Create((*tagged)->context());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->Run()->empty()) << "March 9 is not over";
  KL_ASSERT_OK(w->WriteRow(R(10, "eu", "x", 1)));
  r = w->Commit(101);
  ASSERT_TRUE(r.ok());
  SetSnapshotTime(t, r->snapshot_ids[0], kMarch5 + 5 * kDay + 3 * kHour);
  EXPECT_EQ(*(*again)->Run(), (std::vector<std::string>{"2024-03-09"}));
  EXPECT_EQ(*tags.ListNames(), (std::vector<std::string>{"2024-03-08", "2024-03-09", "keep"}));
}

TEST(TagTest, WatermarkTagsPassOverSnapshotsWithoutOneAndDelayWaits) {
  testing::TempDir dir;
  auto options = RetainOne();
  options["snapshot.num-retained.max"] = "100";
  options["num-sorted-run.compaction-trigger"] = "1000";  // one APPEND snapshot per commit
  options["snapshot.time-retained"] = "36500 d";          // commit times in 2024 are not expired
  auto t = MakeTestTable(dir.Sub("t"), {"id"}, options);
  auto w = t->NewWriter("w");
  std::vector<std::optional<int64_t>> watermarks = {std::nullopt, kMarch5 + kHour, kMarch5 + 2 * kHour + 5 * 60000,
                                                    kMarch5 + 2 * kHour + 20 * 60000};
  std::vector<int64_t> ids;
  for (size_t c = 0; c < watermarks.size(); ++c) {
    KL_ASSERT_OK(w->WriteRow(R(static_cast<int64_t>(c), "eu", "x", 1)));
    auto r = w->Commit(static_cast<int64_t>(c) + 1);
    ASSERT_TRUE(r.ok());
    ids.push_back(r->snapshot_ids[0]);
    SetSnapshotTime(t, ids.back(), NowMillis(), watermarks[c]);
  }
  auto tagged = Table::Open(t->path(), {{"tag.automatic-creation", "watermark"},
                                        {"tag.creation-period", "hourly"},
                                        {"tag.creation-delay", "10 min"},
                                        {"tag.default-time-retained", "1 h"}});
  ASSERT_TRUE(tagged.ok());
  auto creation = TagAutoCreation::Create((*tagged)->context());
  ASSERT_TRUE(creation.ok());
  auto created = (*creation)->Run();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // Snapshot 1 has no watermark; 2 (01:00) tags hour 00; 3 (02:05) is within the
  // delay after hour 01 ended; 4 (02:20) is past it and tags hour 01.
  EXPECT_EQ(*created, (std::vector<std::string>{"2024-03-05 00", "2024-03-05 01"}));
  TagManager tags(t->path());
  EXPECT_EQ(tags.Read("2024-03-05 00")->snapshot.id, ids[1]);
  EXPECT_EQ(tags.Read("2024-03-05 01")->snapshot.id, ids[3]);
  auto tag = tags.Read("2024-03-05 01");
  ASSERT_TRUE(tag->create_time.has_value());
  EXPECT_EQ(tag->time_retained_millis, kHour);
  // Time expiry removes them an hour after their creation, not before.
  auto none = ExpireTagsByTime(t->context(), *tag->create_time + kHour / 2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto both = ExpireTagsByTime(t->context(), *tag->create_time + 2 * kHour);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->size(), 2u);
  EXPECT_TRUE(tags.ListNames()->empty());
}

TEST(TagTest, AutomaticCreationRefusesBadOptions) {
  testing::TempDir dir;
  auto t = MakeTestTable(dir.Sub("t"), {"id"}, RetainOne());
  for (const auto& bad : std::vector<std::map<std::string, std::string>>{
           {{"tag.automatic-creation", "sometimes"}},
           {{"tag.automatic-creation", "process-time"}, {"tag.creation-period", "weekly"}},
           {{"tag.automatic-creation", "process-time"}, {"sink.process-time-zone", "Mars/Olympus"}}}) {
    auto opened = Table::Open(t->path(), bad);
    ASSERT_TRUE(opened.ok());
    EXPECT_FALSE(TagAutoCreation::Create((*opened)->context()).ok()) << bad.begin()->second;
  }
  auto none = TagAutoCreation::Create(t->context());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
}

}  // namespace
}  // namespace kl::table
