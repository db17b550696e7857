// Table behaviour beyond merging: commits (idempotency, races), time travel,
// streaming scans, append tables, schema evolution, expiry and orphan
// cleanup, and errors on corrupt files.
#include "table/table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "format/avro/avro_file.h"
#include "table/data/binary_row.h"
#include "table/manifest/commit_signal.h"
#include "table/mergetree/compaction.h"
#include "table/mergetree/record_level_expire.h"
#include "table/operation/maintenance.h"
#include "table/operation/recent_files.h"
#include "table/table_test_util.h"

namespace kl::table {
namespace {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;

std::shared_ptr<Table> MakeTable(const std::string& path, std::vector<std::string> pk,
                                 std::map<std::string, std::string> options = {},
                                 std::vector<std::string> partition = {}) {
  options.emplace("file.format", "avro");
  return test_util::MakeTestTable(path, std::move(pk), std::move(options), std::move(partition));
}

using test_util::R;
using test_util::Rows;

// Every change `read` reads of the snapshots `stream` plans until it has no next one,
// as "snapshot: row".
std::vector<std::string> ReadChanges(StreamScan& stream, TableRead& read) {
  std::vector<std::string> all;
  while (true) {
    auto plan = stream.Next();
    EXPECT_TRUE(plan.ok());
    if (!plan.ok() || !plan->snapshot_id) break;
    auto rows = read.ReadAll(*plan);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) break;
    for (const auto& r : Rows(*rows)) all.push_back(std::to_string(*plan->snapshot_id) + ": " + r);
  }
  return all;
}

// Every change a stream from snapshot 1 reads, as "snapshot: row", with `projection`.
std::vector<std::string> StreamedChanges(const Table& t, const std::vector<std::string>& projection = {}) {
  auto stream = t.NewStreamScan(StreamStart::kFromSnapshot, 1);
  EXPECT_TRUE(stream.Next().ok());
  auto read = t.NewRead(projection);
  EXPECT_TRUE(read.ok());
  return read.ok() ? ReadChanges(stream, **read) : std::vector<std::string>();
}

// A one-bucket table keyed by id with the lookup changelog producer (data files not synced),
// and `options` besides.
std::shared_ptr<Table> MakeLookupTable(const std::string& path, const char* format,
                                       std::map<std::string, std::string> options = {}) {
  options.emplace("bucket", "1");
  options.emplace("file.format", format);
  options.emplace("changelog-producer", "lookup");
  options.emplace("kubelake.data-file.sync", "false");
  return test_util::MakeTestTable(path, {"id"}, std::move(options));
}

// The lookup changelog a commit should produce, given each key's last record in it (a value, or
// nullopt for a delete) and a model of the table before it, which is brought up to date: +I for a
// new key, -D for a deleted one, -U/+U for a changed one (and for an unchanged one unless
// `deduplicate`, as 'changelog-producer.row-deduplicate' drops those). `text` renders a row.
template <typename Value, typename Text>
std::vector<std::string> ExpectedLookupChangelog(std::map<int64_t, Value>* model,
                                                 const std::map<int64_t, std::optional<Value>>& last, bool deduplicate,
                                                 Text text) {
  std::vector<std::string> expected;
  for (const auto& [id, after] : last) {
    auto before = model->find(id);
    if (before == model->end()) {
      if (after) expected.push_back(text("+I", id, *after));
    } else if (!after) {
      expected.push_back(text("-D", id, before->second));
    } else if (!deduplicate || !(before->second == *after)) {
      expected.push_back(text("-U", id, before->second));
      expected.push_back(text("+U", id, *after));
    }
    if (after)
      (*model)[id] = *after;
    else
      model->erase(id);
  }
  std::sort(expected.begin(), expected.end());
  return expected;
}

TEST(TableTest, CommitWithSameIdentifierIsNotAppliedTwice) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"},
                     {{"bucket", "1"}, {"merge-engine", "aggregation"}, {"fields.n.aggregate-function", "sum"}});
  for (int attempt = 0; attempt < 3; ++attempt) {
    // A job that crashed after committing replays the same input with the same identifier.
    auto w = t->NewWriter("job-1");
    KL_ASSERT_OK(w->WriteRow(R(1, "eu", "a", 10)));
    auto r = w->Commit(7, {{0, 1234}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->already_committed, attempt > 0);
  }
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"eu\" \"a\" 10"}));
  auto latest = t->snapshots().Latest();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->log_offsets.at(0), 1234);
  EXPECT_EQ((*latest)->commit_identifier, 7);
  FileStoreCommit commit(t->context());
  auto last = commit.LatestCommitIdentifier("job-1");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 7);
}

// 'write-buffer-size' bounds what all buckets of a writer buffer together (as
// Paimon's shared write memory does): rows spread over four buckets, each
// holding less than the budget, still flush before the commit once their sum
// passes it, and nothing is lost.
TEST(TableTest, WriteBufferSizeBoundsAllBucketsTogether) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "4"}, {"write-buffer-size", "16kb"}});
  auto data_files = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.Sub("t"))) {
      if (e.path().filename().string().rfind("data-", 0) == 0) ++n;
    }
    return n;
  };
  auto w = t->NewWriter("job");
  const int rows = 600;
  for (int i = 0; i < rows; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "name-" + std::to_string(i), i)));
  EXPECT_GT(data_files(), 0u) << "four buckets' buffers together passed 16 KB: the fullest must have flushed";
  KL_ASSERT_OK(w->Commit(1).status());
  auto all = t->ReadAll();
  KL_ASSERT_OK(all.status());
  EXPECT_EQ(all->size(), static_cast<size_t>(rows));
}

// max, min, first_value… have no retraction. As in Paimon, inserts-only streams (the
// usual case: max of a timestamp) always write, and a retraction fails only once a
// merge meets it with another record of its key.
TEST(TableTest, AggregateFunctionsWithoutRetractionTakeInserts) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"},
                     {{"bucket", "1"},
                      {"merge-engine", "aggregation"},
                      {"fields.n.aggregate-function", "max"},
                      {"fields.name.aggregate-function", "first_value"}});
  for (int64_t i = 0; i < 3; ++i) {
    auto w = t->NewWriter("job");
    KL_ASSERT_OK(w->WriteRow(R(1, "eu", "n" + std::to_string(i), 10 - 3 * (i % 2))));
    KL_ASSERT_OK(w->WriteRow(R(2, "us", "m" + std::to_string(i), i)));
    auto r = w->Commit(i + 1);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"eu\" \"n0\" 10", "+I 2 \"us\" \"m0\" 2"}));

  // A lone retraction (the key's only record) merges with nothing: no error.
  auto w = t->NewWriter("job");
  KL_ASSERT_OK(w->WriteRow(R(3, "eu", "x", 4), RowKind::kDelete));
  ASSERT_TRUE(w->Commit(10).ok());
  ASSERT_TRUE(t->ReadAll().ok());
  // A retraction of a key that has values: the first merge that meets them (here the
  // commit's compaction, else a read) fails, naming why.
  w = t->NewWriter("job");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "n0", 10), RowKind::kUpdateBefore));
  auto committed = w->Commit(11);
  Status failed = committed.ok() ? t->ReadAll().status() : committed.status();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.ToString().find("column name: aggregate function first_value cannot take back a retracted"),
            std::string::npos)
      << failed.ToString();
  EXPECT_NE(failed.ToString().find("fields.name.ignore-retract"), std::string::npos) << failed.ToString();
}

// collect and merge_map take values back as Paimon's retract does: one element per retracted
// element, every retracted key — from what the merge that meets the retraction holds (records of
// one write buffer here; a retraction flushed apart from the values it names applies to what its
// own flush holds, as in Paimon, so results then depend on grouping).
TEST(TableTest, CollectAndMergeMapRetractAsPaimon) {
  testing::TempDir dir;
  auto schema = NewTableSchema({{0, "k", DataType::Int().NotNull(), ""},
                                {1, "a", DataType::Array(DataType::Int()), ""},
                                {2, "m", DataType::Map(DataType::Int().NotNull(), DataType::String()), ""}},
                               {}, {"k"},
                               {{"bucket", "1"},
                                {"merge-engine", "aggregation"},
                                {"fields.a.aggregate-function", "collect"},
                                {"fields.m.aggregate-function", "merge_map"}});
  ASSERT_TRUE(schema.ok());
  auto t = Table::Create(dir.Sub("t"), *schema);
  ASSERT_TRUE(t.ok());
  auto list = [](std::vector<int64_t> v) {
    format::DatumList items;
    for (int64_t x : v) items.push_back(Datum::Int(x));
    return Datum::List(std::move(items));
  };
  auto map = [](std::vector<std::pair<int64_t, std::string>> v) {
    format::DatumList items;
    for (auto& [k, s] : v) {
      items.push_back(Datum::Int(k));
      items.push_back(Datum::Bytes(s));
    }
    return Datum::List(std::move(items));
  };
  auto w = (*t)->NewWriter("job");
  KL_ASSERT_OK(w->WriteRow({Datum::Int(1), list({1, 2, 2}), map({{1, "a"}, {2, "b"}})}));
  KL_ASSERT_OK(w->WriteRow({Datum::Int(1), list({3, 1}), map({{2, "c"}, {3, "d"}})}));
  KL_ASSERT_OK(w->WriteRow({Datum::Int(1), list({2, 9}), map({{1, "x"}})}, RowKind::kUpdateBefore));
  ASSERT_TRUE(w->Commit(2).ok());
  auto rows = (*t)->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 [1, 2, 3, 1] [2, \"c\", 3, \"d\"]"}));
}

// listagg as Paimon defines it: blank inputs add nothing, distinct skips tokens the
// value already holds (whole tokens, untrimmed), an empty delimiter means a space.
TEST(TableTest, ListaggFollowsPaimonOnBlanksAndDistinct) {
  struct Case {
    std::map<std::string, std::string> options;
    std::vector<std::string> inputs;
    std::string want;
  };
  std::vector<Case> cases = {
      {{}, {"a", " ", "", "b", "a"}, "a,b,a"},
      {{}, {"  ", "a"}, "a"},
      {{{"fields.name.distinct", "true"}}, {"a,b", "b,c", "c,,d", " a"}, "a,b,c,d, a"},
      {{{"fields.name.distinct", "true"}, {"fields.name.list-agg-delimiter", ";"}}, {"x;x", "x;y"}, "x;x;y"},
      {{{"fields.name.list-agg-delimiter", ""}}, {"p", "q"}, "p q"},
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    testing::TempDir dir;
    std::map<std::string, std::string> options = {
        {"bucket", "1"}, {"merge-engine", "aggregation"}, {"fields.name.aggregate-function", "listagg"}};
    options.insert(cases[c].options.begin(), cases[c].options.end());
    auto t = MakeTable(dir.Sub("t"), {"id"}, options);
    // One commit per input: the values meet in compactions and reads, not only in one flush.
    for (size_t i = 0; i < cases[c].inputs.size(); ++i) {
      auto w = t->NewWriter("job");
      KL_ASSERT_OK(w->WriteRow(R(1, "eu", cases[c].inputs[i], 0)));
      ASSERT_TRUE(w->Commit(static_cast<int64_t>(i) + 1).ok());
    }
    auto rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(rows->rows.GetRow(0)[2], Datum::Bytes(cases[c].want))
        << "case " << c << ": got " << format::DatumDebugString(rows->rows.GetRow(0)[2]);
  }
}

// partial-update with remove-record-on-delete, as Paimon's PartialUpdateMergeFunction: a -D
// resets the row to the values the delete record carries, and a later insert updates its
// non-null fields on top of them. A delete and an insert of the key in one write buffer fold
// into one insert that partial-updates older values: columns that both leave null come back
// (as in Paimon); deletes carrying the row (Flink's changelog) give one result in every grouping.
TEST(TableTest, PartialUpdateDeleteThenInsertMatchesPaimon) {
  std::map<std::string, std::string> options = {
      {"bucket", "1"}, {"merge-engine", "partial-update"}, {"partial-update.remove-record-on-delete", "true"}};
  Row old_row = {Datum::Int(1), Datum::Bytes("eu"), Datum::Bytes("a"), Datum::Int(10)};
  Row key_only = {Datum::Int(1), Datum(), Datum(), Datum()};
  Row partial = {Datum::Int(1), Datum(), Datum::Bytes("b"), Datum()};
  struct Case {
    const char* what;
    Row deleted;
    bool one_commit;  // delete and insert in one write buffer
    const char* want;
  };
  std::vector<Case> cases = {
      {"delete carrying the row, apart", old_row, false, "+I 1 \"eu\" \"b\" 10"},
      {"delete carrying the row, one buffer", old_row, true, "+I 1 \"eu\" \"b\" 10"},
      {"key-only delete, apart", key_only, false, "+I 1 null \"b\" null"},
      {"key-only delete, one buffer", key_only, true, "+I 1 \"eu\" \"b\" 10"},
  };
  for (const auto& c : cases) {
    testing::TempDir dir;
    // Compaction only on demand, so the groupings are the ones the case names.
    auto opts = options;
    opts["num-sorted-run.compaction-trigger"] = "100";
    auto t = MakeTable(dir.Sub("t"), {"id"}, opts);
    auto w = t->NewWriter("job");
    KL_ASSERT_OK(w->WriteRow(old_row));
    ASSERT_TRUE(w->Commit(1).ok());
    KL_ASSERT_OK(w->WriteRow(c.deleted, RowKind::kDelete));
    if (!c.one_commit) {
      ASSERT_TRUE(w->Commit(2).ok());
    }
    KL_ASSERT_OK(w->WriteRow(partial));
    ASSERT_TRUE(w->Commit(3).ok());
    auto rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), (std::vector<std::string>{c.want})) << c.what;
    // A full compaction keeps the answer.
    KL_ASSERT_OK(w->Compact(true));
    ASSERT_TRUE(w->Commit(4).ok());
    rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), (std::vector<std::string>{c.want})) << c.what << ", compacted";
  }
}

// partial-update with an aggregate function without retraction (max) in a sequence group, as
// Paimon's PartialUpdateMergeFunction behind its ReducerMergeFunctionWrapper: a lone retraction
// passes unmerged (stored, never read as a row); a retraction whose group sequence is null skips
// the group; one that meets another record of its key fails naming the column and
// fields.<c>.ignore-retract, which makes it take back nothing from max.
TEST(TableTest, PartialUpdateSequenceGroupWithoutRetractionMatchesPaimon) {
  std::map<std::string, std::string> options = {{"bucket", "1"},
                                                {"merge-engine", "partial-update"},
                                                {"fields.n.sequence-group", "name"},
                                                {"fields.name.aggregate-function", "max"}};
  Row no_group = {Datum::Int(1), Datum(), Datum::Bytes("zz"), Datum()};
  for (bool ignore_retract : {false, true}) {
    SCOPED_TRACE(ignore_retract ? "ignore-retract" : "no ignore-retract");
    testing::TempDir dir;
    auto opts = options;
    if (ignore_retract) opts["fields.name.ignore-retract"] = "true";
    auto t = MakeTable(dir.Sub("t"), {"id"}, opts);
    auto w = t->NewWriter("job");
    KL_ASSERT_OK(w->WriteRow(R(1, "eu", "b", 1)));
    KL_ASSERT_OK(w->WriteRow(R(2, "us", "c", 5), RowKind::kUpdateBefore));  // lone -U
    KL_ASSERT_OK(w->WriteRow(R(3, "us", "d", 5), RowKind::kDelete));        // lone -D
    auto r = w->Commit(1);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    // Keys 2 and 3 hold only retractions: no row.
    auto rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"eu\" \"b\" 1"}));
    KL_ASSERT_OK(w->Compact(true));
    ASSERT_TRUE(w->Commit(2).ok());
    // A retraction without a group sequence touches no group, so max is never asked.
    KL_ASSERT_OK(w->WriteRow(no_group, RowKind::kUpdateBefore));
    r = w->Commit(3);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    KL_ASSERT_OK(w->Compact(true));
    ASSERT_TRUE(w->Commit(4).ok());
    rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"eu\" \"b\" 1"}));

    // A retraction of the group meeting the key's values (in this commit's buffer).
    KL_ASSERT_OK(w->WriteRow(R(1, "eu", "e", 2)));
    KL_ASSERT_OK(w->WriteRow(R(1, "eu", "e", 3), RowKind::kUpdateBefore));
    r = w->Commit(5);
    if (!ignore_retract) {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.status().ToString().find("column name: aggregate function max cannot take back"), std::string::npos)
          << r.status().ToString();
      EXPECT_NE(r.status().ToString().find("fields.name.ignore-retract"), std::string::npos);
      // Nothing of the failed commit is visible.
      rows = t->ReadAll();
      ASSERT_TRUE(rows.ok()) << rows.status().ToString();
      EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"eu\" \"b\" 1"}));
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    // The sequence moves on; max keeps what it had; region is outside every group and stays.
    rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"eu\" \"e\" 3"}));
    // The stored lone retraction of key 2 meets a later insert: ignored as well.
    KL_ASSERT_OK(w->WriteRow(R(2, "us", "x", 9)));
    ASSERT_TRUE(w->Commit(6).ok());
    KL_ASSERT_OK(w->Compact(true));
    ASSERT_TRUE(w->Commit(7).ok());
    rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"eu\" \"e\" 3", "+I 2 \"us\" \"x\" 9"}));
  }
  // Without ignore-retract, a stored lone retraction fails the first merge that meets it with
  // an insert of its key (Paimon's compaction fails the same way).
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, options);
  auto w = t->NewWriter("job");
  KL_ASSERT_OK(w->WriteRow(R(2, "us", "c", 5), RowKind::kUpdateBefore));
  ASSERT_TRUE(w->Commit(1).ok());
  KL_ASSERT_OK(w->WriteRow(R(2, "us", "a", 9)));
  auto r = w->Commit(2);
  Status failed = r.ok() ? t->ReadAll().status() : r.status();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.ToString().find("fields.name.ignore-retract"), std::string::npos) << failed.ToString();
}

// Options Paimon's partial-update refuses together, refused here too when the table is written.
TEST(TableTest, PartialUpdateConflictingDeleteOptionsAreRefused) {
  std::vector<std::pair<std::map<std::string, std::string>, std::string>> refused = {
      {{{"partial-update.remove-record-on-delete", "true"}, {"ignore-delete", "true"}},
       "ignore-delete and partial-update.remove-record-on-delete conflict"},
      {{{"partial-update.remove-record-on-delete", "true"}, {"fields.n.sequence-group", "name"}},
       "sequence groups and partial-update.remove-record-on-delete conflict"},
      {{{"partial-update.remove-record-on-sequence-group", "n"}, {"fields.n.sequence-group", "name"}},
       "partial-update.remove-record-on-sequence-group is not supported"},
  };
  for (auto [opts, want] : refused) {
    testing::TempDir dir;
    opts["merge-engine"] = "partial-update";
    opts["bucket"] = "1";
    auto t = MakeTable(dir.Sub("t"), {"id"}, opts);
    auto w = t->NewWriter("job");
    Status s = w->WriteRow(R(1, "eu", "a", 1));
    if (s.ok()) s = w->Commit(1).status();
    ASSERT_FALSE(s.ok()) << want;
    EXPECT_NE(s.ToString().find(want), std::string::npos) << s.ToString();
  }
}

TEST(TableTest, RacingWritersNeverLoseACommit) {
  testing::TempDir dir;
  // Concurrent writers append only (write-only), as with Paimon; compaction
  // races are covered by CompactionLosingARaceFailsCleanly.
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "2"}, {"write-only", "true"}});
  constexpr int kWriters = 4, kCommits = 15;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto table = Table::Open(t->path());
      if (!table.ok()) {
        ++failures;
        return;
      }
      for (int c = 1; c <= kCommits; ++c) {
        auto writer = (*table)->NewWriter("writer-" + std::to_string(w));
        Status s = writer->WriteRow(R(w * 1000 + c, "eu", "x", c));
        if (s.ok()) s = writer->Commit(c).status();
        if (!s.ok()) {
          ++failures;
          ADD_FAILURE() << "writer " << w << " commit " << c << ": " << s.ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), static_cast<size_t>(kWriters * kCommits));
  auto ids = t->snapshots().ListIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), static_cast<size_t>(kWriters * kCommits)) << "one snapshot per commit, no gaps, no doubles";
}

// A one-bucket primary-key table compacting only when asked, and writer "w", which committed
// rows 0-2 one at a time (three files).
auto ThreeOneRowCommits(const testing::TempDir& dir) {
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"num-sorted-run.compaction-trigger", "100"}});
  auto w = t->NewWriter("w");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(w->WriteRow(R(i, "eu", "x", i)).ok());
    EXPECT_TRUE(w->Commit(i + 1).ok());
  }
  return std::make_pair(std::move(t), std::move(w));
}

TEST(TableTest, CompactionLosingARaceFailsCleanly) {
  testing::TempDir dir;
  auto [t, w] = ThreeOneRowCommits(dir);
  // Two compactions from the same starting point: the second must detect that its inputs are gone.
  auto a = t->NewWriter("compact-a");
  auto b = t->NewWriter("compact-b");
  KL_ASSERT_OK(a->Compact(true));
  KL_ASSERT_OK(b->Compact(true));
  ASSERT_TRUE(a->Commit(1).ok());
  auto second = b->Commit(1);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsConflict()) << second.status().ToString();
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 3u);
  EXPECT_FALSE(b->WriteRow(R(9, "eu", "x", 9)).ok()) << "a writer whose commit failed must be recreated";
}

// A writer whose files another committer compacted away plans its next compaction on them:
// that commit's APPEND lands just before its COMPACT, yet the COMPACT's deletes are still
// checked (the latest snapshot being the writer's own says nothing of the ones between).
TEST(TableTest, CompactionPlannedOnFilesAnotherCommitterRemovedConflicts) {
  testing::TempDir dir;
  auto [t, w] = ThreeOneRowCommits(dir);
  auto other = t->NewWriter("other");
  KL_ASSERT_OK(other->Compact(true));
  ASSERT_TRUE(other->Commit(1).ok());
  KL_ASSERT_OK(w->WriteRow(R(3, "eu", "x", 3)));
  KL_ASSERT_OK(w->Compact(true));
  auto stale = w->Commit(4);
  ASSERT_FALSE(stale.ok()) << "the compaction rewrote files already compacted away";
  EXPECT_TRUE(stale.status().IsConflict()) << stale.status().ToString();
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 4u) << "the APPEND before the refused COMPACT stands";
}

// Compactions requested again before a commit take the first one's outputs as inputs: the
// commit must delete only committed files (once each) and add only the files that remain.
TEST(TableTest, RepeatedCompactionsBeforeOneCommit) {
  struct Case {
    const char* what;
    std::vector<std::string> pk;
    std::map<std::string, std::string> options;
  };
  std::vector<Case> cases = {
      {"primary key", {"id"}, {{"bucket", "1"}, {"num-sorted-run.compaction-trigger", "100"}}},
      {"primary key, lone files upgraded", {"id"}, {{"bucket", "1"}, {"num-sorted-run.compaction-trigger", "2"}}},
      {"append", {}, {{"bucket", "-1"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    testing::TempDir dir;
    auto t = MakeTable(dir.Sub("t"), c.pk, c.options);
    auto w = t->NewWriter("w");
    std::map<int64_t, std::string> model;
    auto write = [&](int64_t id, int64_t n) {
      KL_ASSERT_OK(w->WriteRow(R(id, "eu", "x", n)));
      if (c.pk.empty()) {
        model.emplace(id * 1000 + n, "+I " + std::to_string(id) + " \"eu\" \"x\" " + std::to_string(n));
      } else {
        model[id] = "+I " + std::to_string(id) + " \"eu\" \"x\" " + std::to_string(n);
      }
    };
    int64_t commit = 0;
    for (int i = 0; i < 3; ++i) {
      write(i, i);
      ASSERT_TRUE(w->Commit(++commit).ok());
    }
    // Full, write, full, full again, universal: one commit for all of it.
    KL_ASSERT_OK(w->Compact(true));
    write(1, 11);
    write(7, 7);
    KL_ASSERT_OK(w->Compact(true));
    KL_ASSERT_OK(w->Compact(true));
    write(2, 12);
    KL_ASSERT_OK(w->Compact(false));
    write(8, 8);
    KL_ASSERT_OK(w->Compact(true));
    auto r = w->Commit(++commit);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> want;
    for (const auto& [k, row] : model) want.push_back(row);
    std::sort(want.begin(), want.end());
    auto rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), want);
    // The intermediate outputs are gone from disk too: nothing is orphaned.
    auto orphans = RemoveOrphanFiles(t->context(), /*older_than_millis=*/NowMillis() + 1000, /*dry_run=*/true);
    ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
    EXPECT_EQ(orphans->deleted, std::vector<std::string>{});
    // The writer goes on: another round of compactions and a fresh writer's reads agree.
    write(9, 9);
    KL_ASSERT_OK(w->Compact(true));
    KL_ASSERT_OK(w->Compact(true));
    r = w->Commit(++commit);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    want.clear();
    for (const auto& [k, row] : model) want.push_back(row);
    std::sort(want.begin(), want.end());
    rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), want);
  }
}

TEST(TableTest, TimeTravelBySnapshotAndTime) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "first", 1)));
  ASSERT_TRUE(w->Commit(1).ok());
  int64_t between = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "second", 2)));
  ASSERT_TRUE(w->Commit(2).ok());
  auto s1 = t->ReadAll(1);
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(Rows(*s1), (std::vector<std::string>{"+I 1 \"eu\" \"first\" 1"}));
  auto plan = t->NewScan().PlanAsOfTime(between);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->snapshot_id, 1);
  auto missing = t->ReadAll(99);
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
}

// Time travel finds the newest snapshot at or before a time by binary search over
// the snapshots kept: check it against a linear scan at every commit instant.
TEST(TableTest, TimeTravelPicksTheNewestSnapshotAtOrBeforeATime) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"snapshot.num-retained.max", "12"}});
  auto w = t->NewWriter("w");
  for (int c = 1; c <= 30; ++c) {
    KL_ASSERT_OK(w->WriteRow(R(c, "eu", "x", c)));
    ASSERT_TRUE(w->Commit(c).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(c % 3 == 0 ? 3 : 0));
  }
  auto ids = t->snapshots().ListIds();
  ASSERT_TRUE(ids.ok());
  ASSERT_LE(ids->size(), 12u);
  std::vector<std::pair<int64_t, int64_t>> times;  // (time, id)
  for (int64_t id : *ids) times.emplace_back(t->snapshots().Read(id)->time_millis, id);
  for (int64_t probe = times.front().first - 1; probe <= times.back().first + 1; ++probe) {
    std::optional<int64_t> expected;
    for (const auto& [time, id] : times) {
      if (time <= probe) expected = id;
    }
    auto got = t->snapshots().AtOrBefore(probe);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->has_value(), expected.has_value()) << "at " << probe;
    if (expected) {
      EXPECT_EQ((*got)->id, *expected) << "at " << probe;
    }
  }
}

// A flush larger than the chunk the write buffer decodes records in, with each key's
// records (three, so keys straddle chunk ends) merged into the lookup changelog.
TEST(TableTest, LookupChangelogOfAFlushLargerThanADecodeChunk) {
  testing::TempDir dir;
  const int kKeys = 12000;
  for (const char* engine : {"deduplicate", "aggregation"}) {
    SCOPED_TRACE(engine);
    auto t = MakeTable(dir.Sub(engine), {"id"},
                       {{"bucket", "1"},
                        {"merge-engine", engine},
                        {"changelog-producer", "lookup"},
                        {"fields.n.aggregate-function", "sum"},
                        {"fields.name.aggregate-function", "last_value"},
                        {"fields.region.aggregate-function", "last_value"}});
    auto w = t->NewWriter("w");
    auto write_round = [&](int round) {
      for (int copy = 0; copy < 3; ++copy) {
        for (int k = 0; k < kKeys; ++k) KL_ASSERT_OK(w->WriteRow(R(k, "eu", "r" + std::to_string(round), copy + 1)));
      }
    };
    auto changes_of = [&](int64_t commit) {
      auto r = w->Commit(commit);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      std::map<std::string, int> kinds;
      std::vector<int64_t> after_values;
      auto changes = test_util::ChangesOfSnapshots(*t, r->snapshot_ids);
      EXPECT_TRUE(changes.ok()) << changes.status().ToString();
      for (const auto& rows : *changes) {
        for (size_t i = 0; i < rows.size(); ++i) {
          ++kinds[std::string(format::RowKindShortString(rows.kinds[i]))];
          if (!format::IsRetract(rows.kinds[i])) after_values.push_back(rows.rows.column(3).GetInt(i));
        }
      }
      return std::make_pair(kinds, after_values);
    };
    bool sums = std::string(engine) == "aggregation";
    write_round(1);
    auto [first_kinds, first_values] = changes_of(1);
    EXPECT_EQ(first_kinds, (std::map<std::string, int>{{"+I", kKeys}}));
    for (int64_t v : first_values) ASSERT_EQ(v, sums ? 6 : 3);
    write_round(2);
    auto [second_kinds, second_values] = changes_of(2);
    EXPECT_EQ(second_kinds, (std::map<std::string, int>{{"-U", kKeys}, {"+U", kKeys}}));
    for (int64_t v : second_values) ASSERT_EQ(v, sums ? 12 : 3);
    auto rows = t->ReadAll();
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), static_cast<size_t>(kKeys));
    for (size_t i = 0; i < rows->size(); ++i) {
      ASSERT_EQ(rows->rows.column(2).GetBytes(i), "r2");
      ASSERT_EQ(rows->rows.column(3).GetInt(i), sums ? 12 : 3);
    }
  }
}

// The writer's counts of what its primary-key buckets did: flushes and their records, keys
// looked up in the lookup state and found there, compactions and their input rows.
TEST(TableTest, WriterCountsFlushesCompactionsAndLookups) {
  testing::TempDir dir;
  auto t = test_util::MakeTestTable(
      dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"changelog-producer", "lookup"}, {"kubelake.data-file.sync", "false"}});
  auto w = t->NewWriter("w");
  for (int64_t id = 0; id < 100; ++id) KL_ASSERT_OK(w->WriteRow(R(id, "eu", "a", id)));
  KL_ASSERT_OK(w->Commit(1).status());
  table::BucketWork work = w->cpu().work;
  EXPECT_EQ(work.flushes, 1);
  EXPECT_EQ(work.flushed_records, 100);
  EXPECT_EQ(work.lookups, 100);
  EXPECT_EQ(work.lookup_hits, 0);
  EXPECT_EQ(work.compactions, 0);
  // Keys 50..149, key 50 twice: 101 records of 100 keys, half of them already stored.
  for (int64_t id = 50; id < 150; ++id) KL_ASSERT_OK(w->WriteRow(R(id, "us", "b", id)));
  KL_ASSERT_OK(w->WriteRow(R(50, "us", "c", 0)));
  KL_ASSERT_OK(w->Commit(2).status());
  work = w->cpu().work;
  EXPECT_EQ(work.flushes, 2);
  EXPECT_EQ(work.flushed_records, 201);
  EXPECT_EQ(work.lookups, 200);
  EXPECT_EQ(work.lookup_hits, 50);
  EXPECT_EQ(work.lookup_block_reads, 0);  // a state this small stays plain
  EXPECT_EQ(work.compactions, 0);
  KL_ASSERT_OK(w->Compact(/*full=*/true));
  KL_ASSERT_OK(w->Commit(3).status());
  work = w->cpu().work;
  EXPECT_EQ(work.flushes, 2);
  EXPECT_EQ(work.compactions, 1);
  EXPECT_EQ(work.compacted_rows, 200);  // both level-0 files, 100 rows each
  EXPECT_GT(work.compacted_bytes, 0);
}

// The lookup changelog of flushes of every shape, against a model of the table: a first
// flush of only new keys larger than a decode chunk (its data and changelog go out as the
// decoded chunks' rows as they are), then flushes mixing new keys, updates, deletes of present and
// absent keys and several records of one key (rows gathered from the chunk and the state),
// one key with more records than a decode chunk.
TEST(TableTest, LookupChangelogMatchesAModelOfTheTable) {
  for (const char* format : {"avro", "parquet"}) {
    SCOPED_TRACE(format);
    testing::TempDir dir;
    auto t = MakeLookupTable(dir.Sub("t"), format);
    auto w = t->NewWriter("w");
    struct Value {
      std::string region, name;
      int64_t n;
      bool operator==(const Value&) const = default;
    };
    std::map<int64_t, Value> model;
    auto text = [](const char* kind, int64_t id, const Value& v) {
      return std::string(kind) + " " + std::to_string(id) + " \"" + v.region + "\" \"" + v.name + "\" " +
             std::to_string(v.n);
    };
    Random rng(29);
    const int kFirstKeys = 20000;
    for (int round = 0; round < 4; ++round) {
      SCOPED_TRACE(round);
      // Each key's last record this round: a value, or nullopt for a delete.
      std::map<int64_t, std::optional<Value>> last;
      auto write = [&](int64_t id, bool del) {
        Value v{rng.Uniform(2) ? "eu" : "us", "r" + std::to_string(round) + "-" + std::to_string(rng.Uniform(1000)),
                static_cast<int64_t>(rng.Uniform(100000))};
        KL_ASSERT_OK(w->WriteRow(R(id, v.region, v.name, v.n), del ? RowKind::kDelete : RowKind::kInsert));
        last[id] = del ? std::nullopt : std::optional<Value>(v);
      };
      if (round == 0) {
        for (int64_t id = 0; id < kFirstKeys; ++id) write(id * 7 % kFirstKeys, false);
      } else {
        for (int i = 0; i < 6000; ++i) {
          int64_t id = static_cast<int64_t>(rng.Uniform(kFirstKeys + 3000));
          write(id, rng.Uniform(8) == 0);
          if (rng.Uniform(5) == 0) write(id, rng.Uniform(4) == 0);  // another record of the key
          // A key with more records in the flush than a decode chunk (2,048 records) holds: the
          // chunk grows to take all of them, among other keys' records before and after.
          if (round >= 2 && i == 3000) {
            for (int k = 0; k < 2500; ++k) write(kFirstKeys / 2 + round, k == 2499 && round == 3);
          }
        }
      }
      std::vector<std::string> expected = ExpectedLookupChangelog(&model, last, /*deduplicate=*/false, text);
      auto r = w->Commit(round + 1);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      std::vector<std::string> got;
      auto changes = test_util::ChangesOfSnapshots(*t, r->snapshot_ids);
      ASSERT_TRUE(changes.ok()) << changes.status().ToString();
      for (const auto& rows : *changes) {
        // In the order read (Rows() sorts).
        for (size_t i = 0; i < rows.size(); ++i) {
          std::string line = std::string(format::RowKindShortString(rows.kinds[i]));
          for (const auto& d : rows.rows.GetRow(i)) line += " " + format::DatumDebugString(d);
          got.push_back(line);
        }
      }
      // Each +U comes right after its key's -U.
      for (size_t i = 0; i < got.size(); ++i) {
        if (got[i].rfind("+U ", 0) != 0) continue;
        std::string id = got[i].substr(3, got[i].find(' ', 3) - 3);
        ASSERT_GT(i, 0u) << got[i];
        EXPECT_EQ(got[i - 1].rfind("-U " + id + " ", 0), 0u) << got[i - 1] << " before " << got[i];
      }
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got.size(), expected.size());
      EXPECT_EQ(got, expected);
      auto all = t->ReadAll();
      ASSERT_TRUE(all.ok());
      std::vector<std::string> table = Rows(*all), modelled;
      for (const auto& [id, v] : model) modelled.push_back(text("+I", id, v));
      std::sort(table.begin(), table.end());
      std::sort(modelled.begin(), modelled.end());
      EXPECT_EQ(table, modelled);
    }
  }
}

// Changelog files written as a copy of the flush's data file: with changelog files written like
// level-0 files (the same format, compression and statistics), a flush of only new keys (an
// initial load, and new keys into a table that has rows) copies its data file rather than
// encoding the same records again; a flush that updates or deletes keys, or has several records
// of a key, writes its changelog as usual, also when that shows only in a later decode chunk
// (the changelog then catches up with the chunks before). The changelog read back, from the
// rows kept in memory and from the files on disk, matches a model of the table.
TEST(TableTest, LookupChangelogOfNewKeysIsACopyOfTheDataFile) {
  for (const char* format : {"avro", "parquet"}) {
    SCOPED_TRACE(format);
    testing::TempDir dir;
    auto t = MakeLookupTable(dir.Sub("t"), format,
                             {{"changelog-producer.row-deduplicate", "true"},
                              {"file.compression.per.level", "0:none"},
                              {"changelog-file.compression", "none"},
                              {"metadata.stats-mode.per.level", "0:none"},
                              {"changelog-file.stats-mode", "none"}});
    auto w = t->NewWriter("w");
    std::map<int64_t, std::pair<std::string, int64_t>> model;  // id -> (name, n)
    auto text = [](const char* kind, int64_t id, const std::pair<std::string, int64_t>& v) {
      return std::string(kind) + " " + std::to_string(id) + " \"eu\" \"" + v.first + "\" " + std::to_string(v.second);
    };
    int64_t copies = 0;
    // Writes `records` (id, name and n or nullopt for a delete) as one commit; checks its
    // changelog against the model and whether it was copied.
    auto commit = [&](int64_t id,
                      const std::vector<std::pair<int64_t, std::optional<std::pair<std::string, int64_t>>>>& records,
                      bool copied) {
      SCOPED_TRACE(id);
      std::map<int64_t, std::optional<std::pair<std::string, int64_t>>> last;
      for (const auto& [key, v] : records) {
        KL_ASSERT_OK(w->WriteRow(v ? R(key, "eu", v->first, v->second) : R(key, "eu", "", 0),
                                 v ? RowKind::kInsert : RowKind::kDelete));
        last[key] = v;
      }
      std::vector<std::string> expected = ExpectedLookupChangelog(&model, last, /*deduplicate=*/true, text);
      auto r = w->Commit(id);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      copies += copied ? 1 : 0;
      EXPECT_EQ(w->cpu().work.changelog_copies, copies);
      for (bool kept : {true, false}) {
        SCOPED_TRACE(kept ? "rows kept in memory" : "files on disk");
        if (!kept) RecentFiles::Get().SetBudget(0);  // every read decodes the files
        auto changes = test_util::ChangesOfSnapshots(*t, r->snapshot_ids);
        RecentFiles::Get().SetBudget(64u << 20);  // the default
        ASSERT_TRUE(changes.ok()) << changes.status().ToString();
        std::vector<std::string> got;
        for (const auto& rows : *changes) {
          for (const auto& line : Rows(rows)) got.push_back(line);
        }
        std::sort(got.begin(), got.end());
        EXPECT_EQ(got, expected);
      }
      auto all = t->ReadAll();
      ASSERT_TRUE(all.ok());
      std::vector<std::string> modelled;
      for (const auto& [key, v] : model) modelled.push_back(text("+I", key, v));
      std::sort(modelled.begin(), modelled.end());
      EXPECT_EQ(Rows(*all), modelled);
    };
    using Records = std::vector<std::pair<int64_t, std::optional<std::pair<std::string, int64_t>>>>;
    // An initial load larger than a decode chunk (2,048 records), out of key order; keys
    // 1000000.. sort after the next loads' new keys.
    Records load;
    for (int64_t i = 0; i < 17000; ++i) load.push_back({i * 7 % 17000, std::pair<std::string, int64_t>{"a", i}});
    for (int64_t i = 0; i < 100; ++i) load.push_back({1000000 + i, std::pair<std::string, int64_t>{"a", i}});
    commit(1, load, /*copied=*/true);
    {
      // The one changelog file holds the data file's bytes.
      std::string data, changelog;
      for (const auto& e : std::filesystem::directory_iterator(dir.Sub("t") + "/bucket-0")) {
        std::string name = e.path().filename().string();
        if (name.rfind("data-", 0) == 0) data = name;
        if (name.rfind("changelog-", 0) == 0) changelog = name;
      }
      ASSERT_FALSE(data.empty());
      ASSERT_FALSE(changelog.empty());
      auto a = ReadFile(dir.Sub("t") + "/bucket-0/" + data);
      auto b = ReadFile(dir.Sub("t") + "/bucket-0/" + changelog);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_TRUE(*a == *b);
    }
    // New keys only, into a table that has rows.
    Records fresh;
    for (int64_t i = 20000; i < 21000; ++i) fresh.push_back({i, std::pair<std::string, int64_t>{"b", i}});
    commit(2, fresh, /*copied=*/true);
    // A key written twice, though new: its changelog is not the data file's records.
    commit(3, {{30000, std::pair<std::string, int64_t>{"c", 1}}, {30000, std::pair<std::string, int64_t>{"c", 2}}},
           /*copied=*/false);
    // Mixed: new keys, updates, unchanged rows written again (deduplicated), deletes of
    // present and absent keys.
    Records mixed;
    for (int64_t i = 0; i < 3000; ++i) {
      int64_t key = i * 11 % 17000;  // of the initial load, each once
      if (i % 4 == 0) mixed.push_back({key, std::nullopt});
      if (i % 4 == 1) mixed.push_back({key, std::pair<std::string, int64_t>{"d", i}});
      if (i % 4 == 2) mixed.push_back({key, model.at(key)});
      if (i % 4 == 3) mixed.push_back({40000 + i, std::pair<std::string, int64_t>{"d", i}});
    }
    mixed.push_back({5000000, std::nullopt});
    commit(4, mixed, /*copied=*/false);
    // The first decode chunk only new keys, updates in the second.
    Records late;
    for (int64_t i = 100000; i < 116500; ++i) late.push_back({i, std::pair<std::string, int64_t>{"e", i}});
    for (int64_t i = 1000000; i < 1000050; ++i) late.push_back({i, std::pair<std::string, int64_t>{"e", i}});
    commit(5, late, /*copied=*/false);
  }
}

// A flush that rolls several data files copies each one (byte for byte) to its own changelog
// file; where changelog files are not written like level-0 files (another compression),
// nothing is copied and the changelog is encoded as usual.
TEST(TableTest, LookupChangelogCopiesEachRolledFileOnlyWhenWrittenAlike) {
  for (const char* format : {"avro", "parquet"}) {
    for (bool alike : {true, false}) {
      SCOPED_TRACE(std::string(format) + (alike ? " alike" : " other compression"));
      testing::TempDir dir;
      auto t = MakeLookupTable(dir.Sub("t"), format,
                               {{"target-file-size", "16kb"},
                                {"write-only", "true"},  // the level-0 files stay as written
                                {"file.compression.per.level", "0:none"},
                                {"changelog-file.compression", alike ? "none" : "zstd"},
                                {"metadata.stats-mode.per.level", "0:none"},
                                {"changelog-file.stats-mode", "none"}});
      auto w = t->NewWriter("w");
      const int64_t n = 36000;  // many decode chunks, rolled into several files
      for (int64_t i = 0; i < n; ++i) KL_ASSERT_OK(w->WriteRow(R(i * 7 % n, "eu", "a", i), RowKind::kInsert));
      auto r = w->Commit(1);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      std::multiset<std::string> data, changelog;
      for (const auto& e : std::filesystem::directory_iterator(dir.Sub("t") + "/bucket-0")) {
        std::string name = e.path().filename().string();
        auto bytes = ReadFile(e.path().string());
        ASSERT_TRUE(bytes.ok());
        if (name.rfind("data-", 0) == 0) data.insert(*bytes);
        if (name.rfind("changelog-", 0) == 0) changelog.insert(*bytes);
      }
      ASSERT_GE(data.size(), 2u);
      if (alike) {
        EXPECT_EQ(w->cpu().work.changelog_copies, static_cast<int64_t>(data.size()));
        EXPECT_TRUE(changelog == data);
      } else {
        EXPECT_EQ(w->cpu().work.changelog_copies, 0);
        for (const auto& c : changelog) EXPECT_EQ(data.count(c), 0u);
      }
      if (alike) {
        // The copies (hard links where the filesystem allows) outlive the data files, as when a
        // compaction removes those.
        for (const auto& e : std::filesystem::directory_iterator(dir.Sub("t") + "/bucket-0")) {
          if (e.path().filename().string().rfind("data-", 0) == 0) KL_ASSERT_OK(RemoveFile(e.path().string()));
        }
      }
      RecentFiles::Get().SetBudget(0);  // read the changelog files themselves
      auto changes = test_util::ChangesOfSnapshots(*t, r->snapshot_ids);
      RecentFiles::Get().SetBudget(64u << 20);
      ASSERT_TRUE(changes.ok()) << changes.status().ToString();
      std::vector<std::string> got;
      for (const auto& rows : *changes) {
        for (const auto& line : Rows(rows)) got.push_back(line);
      }
      std::vector<std::string> expected;
      for (int64_t i = 0; i < n; ++i) {
        int64_t id = i * 7 % n;
        expected.push_back("+I " + std::to_string(id) + " \"eu\" \"a\" " + std::to_string(i));
      }
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(got, expected);
    }
  }
}

// Record-level expiry ('record-level.expire-time' on time field n) against a model: full
// compactions drop the records whose time is past the expire time, with no changelog; a null
// time never expires; the lookup state forgets the dropped keys, and a key written again after
// its expiry comes back as +I. The first commit of a writer checks for expired records itself.
TEST(TableTest, RecordLevelExpiryMatchesAModel) {
  for (const char* format : {"avro", "parquet"}) {
    SCOPED_TRACE(format);
    testing::TempDir dir;
    auto t = test_util::MakeTestTable(dir.Sub("t"), {"id"},
                                      {{"bucket", "2"},
                                       {"file.format", format},
                                       {"changelog-producer", "lookup"},
                                       {"record-level.expire-time", "1 h"},
                                       {"record-level.time-field", "n"},
                                       {"kubelake.data-file.sync", "false"}});
    auto w = t->NewWriter("w");
    // n: null (never expires), a time within the hour or one past it, in milliseconds or
    // seconds (BIGINT below 10^12 is seconds, as in Paimon).
    const int64_t now_ms = NowMillis();
    std::map<int64_t, std::optional<int64_t>> model;  // id -> n
    auto expired = [&](const std::optional<int64_t>& n) {
      if (!n) return false;
      int64_t seconds = *n >= 1'000'000'000'000LL ? *n / 1000 : *n;
      return NowMillis() / 1000 > seconds + 3600;
    };
    auto text = [](const char* kind, int64_t id, const std::optional<int64_t>& n) {
      return std::string(kind) + " " + std::to_string(id) + " \"r\" \"x\" " + (n ? std::to_string(*n) : "null");
    };
    Random rng(41);
    for (int round = 0; round < 8; ++round) {
      SCOPED_TRACE(round);
      std::map<int64_t, std::optional<int64_t>> last;
      const int writes = round == 0 ? 5000 : 1500;
      for (int i = 0; i < writes; ++i) {
        int64_t id = static_cast<int64_t>(rng.Uniform(6000));
        std::optional<int64_t> n;
        switch (rng.Uniform(5)) {
          case 0: n = now_ms - 2 * 3600 * 1000; break;                            // expired, ms
          case 1: n = now_ms / 1000 - 2 * 3600; break;                            // expired, s
          case 2: n = now_ms - static_cast<int64_t>(rng.Uniform(600000)); break;  // live, ms
          case 3: n = now_ms / 1000 - 60; break;                                  // live, s
          default: break;                                                         // null: never expires
        }
        format::Row row{Datum::Int(id), Datum::Bytes("r"), Datum::Bytes("x"), n ? Datum::Int(*n) : Datum()};
        KL_ASSERT_OK(w->WriteRow(row));
        last[id] = n;
      }
      std::vector<std::string> expected;
      for (const auto& [id, after] : last) {
        auto before = model.find(id);
        if (before == model.end()) {
          expected.push_back(text("+I", id, after));
        } else {  // (a record of the same values too: no changelog-producer.row-deduplicate)
          expected.push_back(text("-U", id, before->second));
          expected.push_back(text("+U", id, after));
        }
        model[id] = after;
      }
      // Round 0: the writer's first commit checks by itself; odd rounds: a full compaction.
      const bool expires = round == 0 || round % 2 == 1;
      if (round % 2 == 1) KL_ASSERT_OK(w->Compact(true));
      auto r = w->Commit(round + 1);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      std::vector<std::string> got;
      auto changes = test_util::ChangesOfSnapshots(*t, r->snapshot_ids);
      ASSERT_TRUE(changes.ok()) << changes.status().ToString();
      for (const auto& rows : *changes) {
        for (const auto& line : Rows(rows)) got.push_back(line);
      }
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(got, expected);
      size_t dropped = 0;
      if (expires) {
        for (auto it = model.begin(); it != model.end();) {
          if (expired(it->second)) {
            it = model.erase(it);
            ++dropped;
          } else {
            ++it;
          }
        }
        EXPECT_GT(dropped, 0u);
      }
      auto all = t->ReadAll();
      ASSERT_TRUE(all.ok());
      std::vector<std::string> table = Rows(*all), modelled;
      for (const auto& [id, n] : model) modelled.push_back(text("+I", id, n));
      std::sort(modelled.begin(), modelled.end());
      EXPECT_EQ(table, modelled);
      EXPECT_EQ(w->lookup_state_keys(), model.size());
    }
    // A new writer's lookup states, loaded from the files, hold the same keys (new keys in
    // each bucket make it load them).
    auto w2 = t->NewWriter("w2");
    for (int64_t id = -1; id >= -20; --id)
      KL_ASSERT_OK(w2->WriteRow(format::Row{Datum::Int(id), Datum::Bytes("r"), Datum::Bytes("x"), Datum()}));
    ASSERT_TRUE(w2->Commit(1).ok());
    EXPECT_EQ(w2->lookup_state_keys(), model.size() + 20);
  }
}

// The time of Paimon's record-level expiry by type: INT seconds, BIGINT seconds or
// milliseconds, TIMESTAMP; null never expires; and the options a table must get right.
TEST(TableTest, RecordLevelExpiryTimesAndOptions) {
  auto schema_with = [](format::DataType type, std::map<std::string, std::string> options) {
    return NewTableSchema({{0, "id", DataType::BigInt(), ""}, {1, "t", std::move(type), ""}}, {}, {"id"},
                          std::move(options));
  };
  std::map<std::string, std::string> opts = {{"record-level.expire-time", "10 s"}, {"record-level.time-field", "t"}};
  const int64_t now = 2'000'000'000;  // seconds
  struct Case {
    DataType type;
    Datum value;
    bool expired;
  };
  std::vector<Case> cases = {
      {DataType::Int(), Datum::Int(now - 10), false},
      {DataType::Int(), Datum::Int(now - 11), true},
      {DataType::BigInt(), Datum::Int(now - 11), true},
      {DataType::BigInt(), Datum::Int((now - 10) * 1000), false},
      {DataType::BigInt(), Datum::Int((now - 11) * 1000 + 999), true},
      {DataType::Timestamp(3), Datum::Time({(now - 11) * 1000, 0}), true},
      {DataType::Timestamp(3), Datum::Time({(now - 10) * 1000, 0}), false},
      {DataType::BigInt(), Datum(), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type.ToString() + " " + format::DatumDebugString(c.value));
    auto schema = schema_with(c.type, opts);
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    auto expire = RecordLevelExpire::Create(*schema);
    ASSERT_TRUE(expire.ok() && expire->has_value());
    format::Column column(c.type);
    column.Append(c.value);
    EXPECT_EQ((*expire)->Expired(column, 0, now), c.expired);
  }
  EXPECT_FALSE(schema_with(DataType::BigInt(), {{"record-level.expire-time", "1 h"}}).ok());
  EXPECT_FALSE(
      schema_with(DataType::BigInt(), {{"record-level.expire-time", "1 h"}, {"record-level.time-field", "u"}}).ok());
  EXPECT_FALSE(schema_with(DataType::String(), opts).ok());
  EXPECT_FALSE(
      schema_with(DataType::BigInt(), {{"record-level.expire-time", "soon"}, {"record-level.time-field", "t"}}).ok());
  auto none = schema_with(DataType::BigInt(), {});
  ASSERT_TRUE(none.ok());
  auto expire = RecordLevelExpire::Create(*none);
  ASSERT_TRUE(expire.ok());
  EXPECT_FALSE(expire->has_value());
}

// An Avro data file's value statistics (the writer computes them) against the rows written:
// least and greatest of each column and its null count, nulls and empty strings among them.
TEST(TableTest, AvroDataFileStatisticsMatchTheRows) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"kubelake.data-file.sync", "false"}});
  auto w = t->NewWriter("w");
  Random rng(17);
  std::vector<Row> rows;
  for (int64_t id = 0; id < 9000; ++id) {
    Row r{Datum::Int(id * 13 % 9000 - 4000), rng.OneIn(7) ? Datum() : Datum::Bytes(rng.Alnum(rng.Uniform(6))),
          rng.OneIn(3) ? Datum() : Datum::Bytes(std::string(1, static_cast<char>('a' + rng.Uniform(26))) + "x"),
          rng.OneIn(5) ? Datum() : Datum::Int(static_cast<int64_t>(rng.Next() % 2000001) - 1000000)};
    KL_ASSERT_OK(w->WriteRow(r));
    rows.push_back(std::move(r));
  }
  ASSERT_TRUE(w->Commit(1).ok());
  auto plan = t->NewScan().PlanLatest();
  ASSERT_TRUE(plan.ok());
  std::vector<DataType> types = {DataType::BigInt(), DataType::String(), DataType::String(), DataType::BigInt()};
  int files = 0;
  for (const auto& split : plan->splits) {
    for (const auto& f : split.files) {
      ++files;
      ASSERT_EQ(f.row_count, 9000);
      auto lo = DeserializeBinaryRow(f.value_stats.min_values, types);
      auto hi = DeserializeBinaryRow(f.value_stats.max_values, types);
      ASSERT_TRUE(lo.ok() && hi.ok() && f.value_stats.null_counts.has_value());
      for (size_t c = 0; c < types.size(); ++c) {
        Datum want_lo, want_hi;
        int64_t nulls = 0;
        for (const Row& r : rows) {
          if (r[c].is_null()) {
            ++nulls;
            continue;
          }
          if (want_lo.is_null() || format::CompareDatum(r[c], want_lo) < 0) want_lo = r[c];
          if (want_hi.is_null() || format::CompareDatum(r[c], want_hi) > 0) want_hi = r[c];
        }
        EXPECT_EQ(format::CompareDatum((*lo)[c], want_lo), 0) << "column " << c;
        EXPECT_EQ(format::CompareDatum((*hi)[c], want_hi), 0) << "column " << c;
        EXPECT_EQ((*f.value_stats.null_counts)[c], nulls) << "column " << c;
      }
    }
  }
  EXPECT_EQ(files, 1);
}

TEST(TableTest, StreamingScanFollowsDeltasAndChangelog) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"changelog-producer", "lookup"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "a", 1)));
  ASSERT_TRUE(w->Commit(1).ok());
  auto stream = t->NewStreamScan(StreamStart::kLatestFull);
  auto read = t->NewRead();
  ASSERT_TRUE(read.ok());
  auto full = stream.Next();
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->snapshot_id, 1);
  EXPECT_EQ(Rows(*(*read)->ReadAll(*full)), (std::vector<std::string>{"+I 1 \"eu\" \"a\" 1"}));
  auto idle = stream.Next();
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->snapshot_id.has_value()) << "no new snapshot yet";
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "b", 2)));
  KL_ASSERT_OK(w->WriteRow(R(2, "us", "c", 3)));
  ASSERT_TRUE(w->Commit(2).ok());
  auto next = stream.Next();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->snapshot_id, 2);
  EXPECT_EQ(Rows(*(*read)->ReadAll(*next)),
            (std::vector<std::string>{"+I 2 \"us\" \"c\" 3", "+U 1 \"eu\" \"b\" 2", "-U 1 \"eu\" \"a\" 1"}));
}

TEST(TableTest, AppendTablesKeepEveryRowInOrder) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {}, {{"bucket", "-1"}, {"target-file-size", "4kb"}}, {"region"});
  auto w = t->NewWriter("w");
  for (int c = 0; c < 4; ++c) {
    for (int i = 0; i < 200; ++i) KL_ASSERT_OK(w->WriteRow(R(c * 200 + i, i % 2 ? "eu" : "us", "row", i)));
    ASSERT_TRUE(w->Commit(c + 1).ok());
  }
  KL_ASSERT_OK(w->Compact(true));
  ASSERT_TRUE(w->Commit(5).ok());
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 800u);
  // Within a partition, rows come back in write order.
  int64_t last_eu = -1;
  for (size_t i = 0; i < rows->size(); ++i) {
    if (rows->rows.column(1).GetBytes(i) != "eu") continue;
    EXPECT_GT(rows->rows.column(0).GetInt(i), last_eu);
    last_eu = rows->rows.column(0).GetInt(i);
  }
  // Streaming: each append snapshot's delta holds exactly that commit's rows.
  auto stream = t->NewStreamScan(StreamStart::kFromSnapshot, 2);
  ASSERT_TRUE(stream.Next().ok());  // the start plan is empty
  auto delta = stream.Next();
  ASSERT_TRUE(delta.ok());
  EXPECT_EQ(delta->snapshot_id, 2);
  auto read = t->NewRead({"id"});
  EXPECT_EQ((*read)->ReadAll(*delta)->size(), 200u);
  EXPECT_FALSE(w->WriteRow(R(1, "eu", "x", 1), RowKind::kDelete).ok()) << "append tables take +I only";
}

// Append tables of a row format encode rows as they are written and hold the encoded file
// in memory until a flush: nothing is on disk before it, a writer dropped uncommitted
// leaves nothing behind, a small write buffer flushes held files early, and the rows read
// back are those a Parquet table (which buffers rows) keeps, in the same order.
TEST(TableTest, AppendTablesOfRowFormatsHoldEncodedRowsUntilFlushed) {
  auto data_files = [](const std::string& root) {
    size_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (e.path().filename().string().rfind("data-", 0) == 0) ++n;
    }
    return n;
  };
  auto write_batches = [](TableWriter* w, int64_t first, int batches) -> Status {
    format::ColumnBatch batch(format::RowType({{0, "id", DataType::BigInt(), ""},
                                               {1, "region", DataType::String(), ""},
                                               {2, "name", DataType::String(), ""},
                                               {3, "n", DataType::BigInt(), ""}}));
    for (int b = 0; b < batches; ++b) {
      batch.Clear();
      for (int i = 0; i < 50; ++i) {
        int64_t id = first + b * 50 + i;
        batch.AppendRow(
            R(id, id % 3 ? "eu" : "us", std::string(static_cast<size_t>(100 + id % 200), 'a' + id % 26), id));
      }
      KL_RETURN_IF_ERROR(w->Write(batch));
    }
    return Status::OK();
  };
  testing::TempDir dir;
  const std::map<std::string, std::string> options = {{"bucket", "4"}, {"bucket-key", "id"}};
  auto avro = MakeTable(dir.Sub("avro"), {}, options, {"region"});
  {
    auto dropped = avro->NewWriter("w");
    KL_ASSERT_OK(write_batches(dropped.get(), 0, 4));
    EXPECT_EQ(data_files(dir.Sub("avro")), 0u) << "encoded rows are held in memory";
  }
  EXPECT_EQ(data_files(dir.Sub("avro")), 0u) << "a writer dropped uncommitted leaves no file";
  auto w = avro->NewWriter("w");
  KL_ASSERT_OK(write_batches(w.get(), 0, 10));
  EXPECT_EQ(data_files(dir.Sub("avro")), 0u);
  ASSERT_TRUE(w->Commit(1).ok());
  EXPECT_EQ(data_files(dir.Sub("avro")), 8u) << "one file per partition and bucket";
  KL_ASSERT_OK(write_batches(w.get(), 500, 10));
  ASSERT_TRUE(w->Commit(2).ok());

  // A write buffer smaller than what a bucket encodes flushes held files before the commit.
  auto small = MakeTable(dir.Sub("small"), {}, {{"bucket", "4"}, {"bucket-key", "id"}, {"write-buffer-size", "8kb"}},
                         {"region"});
  auto ws = small->NewWriter("w");
  KL_ASSERT_OK(write_batches(ws.get(), 0, 20));
  EXPECT_GT(data_files(dir.Sub("small")), 8u) << "held files past the write buffer size are written";
  ASSERT_TRUE(ws->Commit(1).ok());

  std::map<std::string, std::string> parquet_options = options;
  parquet_options["file.format"] = "parquet";
  auto parquet = test_util::MakeTestTable(dir.Sub("parquet"), {}, parquet_options, {"region"});
  auto wp = parquet->NewWriter("w");
  KL_ASSERT_OK(write_batches(wp.get(), 0, 10));
  ASSERT_TRUE(wp->Commit(1).ok());
  KL_ASSERT_OK(write_batches(wp.get(), 500, 10));
  ASSERT_TRUE(wp->Commit(2).ok());

  auto held_rows = avro->ReadAll();
  auto buffered_rows = parquet->ReadAll();
  ASSERT_TRUE(held_rows.ok()) << held_rows.status().ToString();
  ASSERT_TRUE(buffered_rows.ok()) << buffered_rows.status().ToString();
  ASSERT_EQ(held_rows->size(), 1000u);
  EXPECT_EQ(Rows(*held_rows), Rows(*buffered_rows));
  // Each bucket's rows in write order, with the sequence numbers counting them.
  auto plan = avro->NewScan().PlanLatest();
  ASSERT_TRUE(plan.ok());
  for (const auto& split : plan->splits) {
    int64_t next_seq = 0;
    std::vector<DataFileMeta> files = split.files;
    std::sort(files.begin(), files.end(), [](const DataFileMeta& a, const DataFileMeta& b) {
      return a.min_sequence_number < b.min_sequence_number;
    });
    for (const auto& f : files) {
      EXPECT_EQ(f.min_sequence_number, next_seq) << f.file_name;
      next_seq = f.max_sequence_number + 1;
      EXPECT_EQ(f.max_sequence_number - f.min_sequence_number + 1, f.row_count) << f.file_name;
    }
  }
  auto small_rows = small->ReadAll();
  ASSERT_TRUE(small_rows.ok()) << small_rows.status().ToString();
  ASSERT_EQ(small_rows->size(), 1000u);
  EXPECT_EQ(Rows(*small_rows), Rows(*buffered_rows));
}

// Append tables compact small files at commit (Avro by copying blocks, Parquet
// by rewriting rows): the file count stays bounded over many commits, rows
// stay in write order, statistics of merged files stay exact enough for filters.
TEST(TableTest, AppendTablesCompactSmallFilesAtCommit) {
  for (const char* format : {"avro", "parquet"}) {
    SCOPED_TRACE(format);
    testing::TempDir dir;
    auto t = test_util::MakeTestTable(dir.Sub("t"), {},
                                      {{"bucket", "1"},
                                       {"bucket-key", "id"},
                                       {"file.format", format},
                                       {"kubelake.data-file.sync", "false"},
                                       {"snapshot.num-retained.max", "5"}});
    auto w = t->NewWriter("w");
    int64_t next = 0;
    size_t most_files = 0;
    const int commits = 120;
    for (int c = 1; c <= commits; ++c) {
      // Commits of varying size, so tiers see files of different sizes.
      int rows = 5 + (c * 7) % 40;
      for (int i = 0; i < rows; ++i, ++next) KL_ASSERT_OK(w->WriteRow(R(next, "eu", c % 2 ? "odd" : "even", c)));
      auto r = w->Commit(c);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      auto plan = t->NewScan().PlanLatest();
      ASSERT_TRUE(plan.ok());
      size_t files = 0;
      for (const auto& split : plan->splits) files += split.files.size();
      most_files = std::max(most_files, files);
    }
    EXPECT_LT(most_files, 25u) << "files of " << commits << " commits should be merged in tiers";
    auto rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(static_cast<int64_t>(rows->size()), next);
    for (size_t i = 0; i < rows->size(); ++i) ASSERT_EQ(rows->rows.column(0).GetInt(i), static_cast<int64_t>(i));
    // Filters use the merged files' statistics and stay exact.
    auto filter = Predicate::Parse("n >= 100 AND name = 'odd'", t->schema().fields);
    ASSERT_TRUE(filter.ok()) << filter.status().ToString();
    auto filtered = t->ReadAll(std::nullopt, {}, *filter);
    ASSERT_TRUE(filtered.ok()) << filtered.status().ToString();
    size_t expected = 0;
    for (int c = 100; c <= commits; ++c) expected += c % 2 ? static_cast<size_t>(5 + (c * 7) % 40) : 0;
    EXPECT_EQ(filtered->size(), expected);
  }
}

TEST(CompactionTest, AppendCompactionMergesTiersOfSimilarSize) {
  auto files = [](std::vector<int64_t> sizes) {
    std::vector<DataFileMeta> out;
    for (size_t i = 0; i < sizes.size(); ++i) {
      DataFileMeta f;
      f.file_name = "f" + std::to_string(i);
      f.file_size = sizes[i];
      f.row_count = sizes[i];
      f.min_sequence_number = f.max_sequence_number = static_cast<int64_t>(i);
      out.push_back(f);
    }
    return out;
  };
  using Range = std::optional<std::pair<size_t, size_t>>;
  const int64_t target = 1000000;
  EXPECT_EQ(PickAppendCompaction(files({10, 10, 10, 10}), target, 5, 50), Range());
  EXPECT_EQ(PickAppendCompaction(files({10, 12, 9, 10, 11}), target, 5, 50), Range(std::make_pair(0, 4)));
  // Done files (half the target or more) end tiers and are never picked.
  EXPECT_EQ(PickAppendCompaction(files({600000, 10, 10, 10, 10, 10}), target, 5, 50), Range(std::make_pair(1, 5)));
  EXPECT_EQ(PickAppendCompaction(files({10, 10, 10, 600000, 10, 10}), target, 5, 50), Range());
  // The newest tier of enough files first; a bigger older file starts another tier.
  EXPECT_EQ(PickAppendCompaction(files({500, 50, 50, 50, 50, 10, 10, 10, 10, 10}), target, 5, 50),
            Range(std::make_pair(5, 9)));
  EXPECT_EQ(PickAppendCompaction(files({500, 50, 50, 50, 50, 50, 10, 10}), target, 5, 50), Range(std::make_pair(1, 5)));
  // At most max_file_num files, the newest.
  EXPECT_EQ(PickAppendCompaction(files(std::vector<int64_t>(60, 10)), target, 5, 50), Range(std::make_pair(10, 59)));
  // Never past the target size.
  EXPECT_EQ(PickAppendCompaction(files({400000, 400000, 400000, 400000, 400000}), target, 5, 50), Range());
}

std::string Describe(const SimpleStats& s) {
  std::string out = s.min_values + "|" + s.max_values + "|";
  if (s.null_counts) {
    for (const auto& c : *s.null_counts) out += c ? std::to_string(*c) + "," : "null,";
  } else {
    out += "none";
  }
  return out;
}

std::string Describe(const ManifestEntry& e) {
  const DataFileMeta& f = e.file;
  std::string out =
      std::to_string(static_cast<int>(e.kind)) + " " + e.partition + " " + std::to_string(e.bucket) + " " +
      std::to_string(e.total_buckets) + " " + f.file_name + " " + std::to_string(f.file_size) + " " +
      std::to_string(f.row_count) + " " + f.min_key + " " + f.max_key + " " + Describe(f.key_stats) + " " +
      Describe(f.value_stats) + " " + std::to_string(f.min_sequence_number) + " " +
      std::to_string(f.max_sequence_number) + " " + std::to_string(f.schema_id) + " " + std::to_string(f.level) + " " +
      std::to_string(f.creation_time_millis.value_or(-1)) + " " + std::to_string(f.delete_row_count.value_or(-1)) +
      " " + std::to_string(f.file_source.value_or(-1)) + " " + std::to_string(f.extra_files.size());
  return out;
}

// Manifests are cached as written; what a fresh decode of the file gives must be the same.
TEST(TableTest, ManifestsCachedAsWrittenEqualTheirDecodedFiles) {
  testing::TempDir dir;
  for (bool pk : {true, false}) {
    auto t = MakeTable(
        dir.Sub(pk ? "pk" : "append"), pk ? std::vector<std::string>{"id", "region"} : std::vector<std::string>{},
        {{"bucket", "2"}, {"bucket-key", "id"}, {"changelog-producer", pk ? "lookup" : "none"}}, {"region"});
    auto w = t->NewWriter("w");
    for (int c = 1; c <= 8; ++c) {
      for (int i = 0; i < 30; ++i) KL_ASSERT_OK(w->WriteRow(R(i * c, i % 3 ? "eu" : "us", "v" + std::to_string(c), c)));
      ASSERT_TRUE(w->Commit(c).ok());
    }
    TableScan scan = t->NewScan();
    const ManifestIO& io = scan.manifests();
    auto latest = t->snapshots().Latest();
    ASSERT_TRUE(latest.ok() && latest->has_value());
    std::vector<std::string> lists = {(*latest)->base_manifest_list, (*latest)->delta_manifest_list};
    if ((*latest)->changelog_manifest_list) lists.push_back(*(*latest)->changelog_manifest_list);
    int compared = 0;
    for (const auto& list : lists) {
      auto metas = io.ReadManifestList(list);
      auto fresh_metas = io.ReadManifestListUncached(JoinPath(io.dir(), list));
      ASSERT_TRUE(metas.ok() && fresh_metas.ok());
      ASSERT_EQ(metas->size(), fresh_metas->size());
      for (size_t m = 0; m < metas->size(); ++m) {
        EXPECT_EQ((*metas)[m].file_name, (*fresh_metas)[m].file_name);
        EXPECT_EQ((*metas)[m].num_added_files, (*fresh_metas)[m].num_added_files);
        EXPECT_EQ(Describe((*metas)[m].partition_stats), Describe((*fresh_metas)[m].partition_stats));
        EXPECT_EQ((*metas)[m].max_level, (*fresh_metas)[m].max_level);
        auto entries = io.ReadManifest((*metas)[m].file_name);
        auto fresh = io.ReadManifestUncached(JoinPath(io.dir(), (*metas)[m].file_name));
        ASSERT_TRUE(entries.ok() && fresh.ok());
        ASSERT_EQ(entries->size(), fresh->size());
        for (size_t i = 0; i < entries->size(); ++i, ++compared) {
          EXPECT_EQ(Describe((*entries)[i]), Describe((*fresh)[i]));
        }
      }
    }
    EXPECT_GT(compared, 4);
  }
}

// A file that reaches the target size mid-write rolls to the next one; every
// row lands in exactly one file (rolling used to write the staged rows twice).
TEST(TableTest, RollingFilesKeepEachRowOnce) {
  for (bool pk : {false, true}) {
    testing::TempDir dir;
    auto t = MakeTable(
        dir.Sub("t"), pk ? std::vector<std::string>{"id"} : std::vector<std::string>{},
        {{"bucket", "1"}, {"bucket-key", "id"}, {"target-file-size", "1kb"}, {"kubelake.data-file.sync", "false"}});
    auto w = t->NewWriter("w");
    for (int i = 0; i < 10000; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "x", i)));
    ASSERT_TRUE(w->Commit(1).ok());
    auto plan = t->NewScan().PlanLatest();
    size_t files = 0;
    for (const auto& split : plan->splits) files += split.files.size();
    if (!pk) {
      EXPECT_GT(files, 1u) << "files should have rolled";
    }
    for (int commit = 1; commit <= 2; ++commit) {
      auto rows = t->ReadAll();
      ASSERT_TRUE(rows.ok()) << rows.status().ToString();
      EXPECT_EQ(rows->size(), 10000u) << (pk ? "primary-key table" : "append table") << ", commit " << commit;
      KL_ASSERT_OK(w->Compact(/*full=*/true));
      ASSERT_TRUE(w->Commit(commit + 1).ok());
    }
  }
}

// changelog-file.compression and changelog-file.stats-mode (Paimon's options)
// apply to changelog files only; data files keep the table's.
TEST(TableTest, ChangelogFilesTakeTheirOwnCompressionAndStatsMode) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"},
                     {{"bucket", "1"},
                      {"changelog-producer", "lookup"},
                      {"changelog-file.compression", "none"},
                      {"changelog-file.stats-mode", "none"}});
  auto w = t->NewWriter("w");
  for (int i = 0; i < 20; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "a", i)));
  ASSERT_TRUE(w->Commit(1).ok());
  for (int i = 0; i < 5; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "us", "b", i + 100)));
  ASSERT_TRUE(w->Commit(2).ok());
  auto stream = t->NewStreamScan(StreamStart::kFromSnapshot, 1);
  ASSERT_TRUE(stream.Next().ok());
  auto first = stream.Next();
  auto second = stream.Next();
  ASSERT_TRUE(first.ok() && second.ok());
  auto read = t->NewRead();
  ASSERT_TRUE(read.ok());
  auto changes = (*read)->ReadAll(*second);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  ASSERT_EQ(changes->size(), 10u);
  EXPECT_EQ(Rows(*changes)[0], "+U 0 \"us\" \"b\" 100");
  for (const auto& split : second->splits) {
    for (const auto& f : split.files) {
      auto reader =
          format::avro::AvroReader::Open(t->context()->paths().DataFilePath(split.partition, split.bucket, f));
      ASSERT_TRUE(reader.ok());
      EXPECT_EQ((*reader)->codec(), format::avro::AvroCodec::kNull) << f.file_name;
      ASSERT_TRUE(f.value_stats.null_counts.has_value());
      for (const auto& c : *f.value_stats.null_counts) EXPECT_FALSE(c.has_value()) << "stats mode none";
      EXPECT_FALSE(f.key_stats.min_values.empty()) << "key statistics stay";
    }
  }
  auto plan = t->NewScan().PlanLatest();
  ASSERT_TRUE(plan.ok());
  for (const auto& split : plan->splits) {
    for (const auto& f : split.files) {
      auto reader =
          format::avro::AvroReader::Open(t->context()->paths().DataFilePath(split.partition, split.bucket, f));
      ASSERT_TRUE(reader.ok());
      EXPECT_EQ((*reader)->codec(), format::avro::AvroCodec::kZstandard) << f.file_name;
    }
  }
}

// file.compression.per.level (Paimon's option) sets the compression of the files of the levels it
// names; other levels keep file.compression. A file moving to a level written otherwise is
// rewritten, not just relabelled, and every row reads back the same.
TEST(TableTest, CompressionPerLevel) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"file.compression.per.level", " 0 : none "}});
  auto codecs_by_level = [&] {
    std::map<int, std::set<format::avro::AvroCodec>> out;
    auto plan = t->NewScan().PlanLatest();
    EXPECT_TRUE(plan.ok());
    if (!plan.ok()) return out;
    for (const auto& split : plan->splits) {
      for (const auto& f : split.files) {
        auto reader =
            format::avro::AvroReader::Open(t->context()->paths().DataFilePath(split.partition, split.bucket, f));
        EXPECT_TRUE(reader.ok());
        if (reader.ok()) out[f.level].insert((*reader)->codec());
      }
    }
    return out;
  };
  using Codec = format::avro::AvroCodec;
  auto w = t->NewWriter("w");
  for (int i = 0; i < 50; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "a", i)));
  ASSERT_TRUE(w->Commit(1).ok());
  auto level0 = codecs_by_level();
  ASSERT_EQ(level0.size(), 1u);
  EXPECT_EQ(level0.begin()->first, 0);
  EXPECT_EQ(level0.begin()->second, std::set<Codec>{Codec::kNull});
  // One level-0 file alone: compacted to the bottom level, it is rewritten with zstd.
  KL_ASSERT_OK(w->Compact(/*full=*/true));
  ASSERT_TRUE(w->Commit(2).ok());
  auto bottom = codecs_by_level();
  ASSERT_EQ(bottom.size(), 1u);
  EXPECT_GT(bottom.begin()->first, 0);
  EXPECT_EQ(bottom.begin()->second, std::set<Codec>{Codec::kZstandard});
  for (int i = 25; i < 75; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "us", "b", i + 100)));
  ASSERT_TRUE(w->Commit(3).ok());
  auto both = codecs_by_level();
  EXPECT_EQ(both[0], std::set<Codec>{Codec::kNull});
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 75u);
  KL_ASSERT_OK(w->Compact(/*full=*/true));
  ASSERT_TRUE(w->Commit(4).ok());
  for (const auto& [level, codecs] : codecs_by_level()) {
    EXPECT_GT(level, 0);
    EXPECT_EQ(codecs, std::set<Codec>{Codec::kZstandard});
  }
  auto compacted = t->ReadAll();
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  EXPECT_EQ(Rows(*compacted), Rows(*rows));
  auto all = Rows(*compacted);
  EXPECT_NE(std::find(all.begin(), all.end(), "+I 30 \"us\" \"b\" 130"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "+I 10 \"eu\" \"a\" 10"), all.end());
}

// A value that is not level:compression pairs, or names a compression the format cannot
// write, fails the table's creation, naming the option.
TEST(TableTest, CompressionPerLevelRejectsMalformedValues) {
  for (const char* bad : {"zero:none", "0", "0:", "-1:none", "0:none,x", "1:brotli"}) {
    SCOPED_TRACE(bad);
    auto schema = NewTableSchema({{0, "id", format::DataType::BigInt(), ""}}, {}, {"id"},
                                 {{"bucket", "1"}, {"file.format", "parquet"}, {"file.compression.per.level", bad}});
    ASSERT_FALSE(schema.ok());
    EXPECT_EQ(schema.status().code(), StatusCode::kInvalidArgument) << schema.status().ToString();
    EXPECT_EQ(schema.status().message().rfind("option file.compression.per.level = \"" + std::string(bad) + "\": ", 0),
              0u)
        << schema.status().ToString();
  }
}

// metadata.stats-mode.per.level (Paimon's option) sets the value statistics of a key-value file
// by the level it is written at: here none for level 0 (the flushes) and counts for the bottom
// level; a compaction's output elsewhere keeps metadata.stats-mode. Key statistics stay, and
// every row reads back the same as in a table without the option.
TEST(TableTest, StatsModePerLevel) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"},
                     {{"bucket", "1"},
                      {"num-levels", "3"},
                      {"num-sorted-run.compaction-trigger", "2"},
                      {"compaction.size-ratio", "50"},
                      {"metadata.stats-mode", "full"},
                      {"metadata.stats-mode.per.level", " 0 : none , 2:counts"}});
  auto plain = MakeTable(dir.Sub("plain"), {"id"}, {{"bucket", "1"}, {"num-levels", "3"}});
  // Per level: "none" (null counts unknown, no bounds), "counts" (null counts, no bounds) or
  // "full" (null counts and bounds) for every file of the level.
  using Shapes = std::map<int, std::set<std::string>>;
  auto shapes_by_level = [&] {
    Shapes out;
    auto plan = t->NewScan().PlanLatest();
    EXPECT_TRUE(plan.ok());
    if (!plan.ok()) return out;
    auto types = TypesOf(t->schema().fields);
    for (const auto& split : plan->splits) {
      for (const auto& f : split.files) {
        EXPECT_FALSE(f.key_stats.min_values.empty()) << "key statistics stay";
        EXPECT_TRUE(f.value_stats.null_counts.has_value());
        if (!f.value_stats.null_counts) continue;
        bool counts = std::all_of(f.value_stats.null_counts->begin(), f.value_stats.null_counts->end(),
                                  [](const auto& c) { return c.has_value(); });
        bool unknown = std::none_of(f.value_stats.null_counts->begin(), f.value_stats.null_counts->end(),
                                    [](const auto& c) { return c.has_value(); });
        auto mins = DeserializeBinaryRow(f.value_stats.min_values, types);
        EXPECT_TRUE(mins.ok());
        bool bounds = mins.ok() && std::all_of(mins->begin(), mins->end(), [](const auto& d) { return !d.is_null(); });
        bool no_bounds =
            mins.ok() && std::all_of(mins->begin(), mins->end(), [](const auto& d) { return d.is_null(); });
        out[f.level].insert(unknown && no_bounds  ? "none"
                            : counts && no_bounds ? "counts"
                            : counts && bounds    ? "full"
                                                  : "mixed");
      }
    }
    return out;
  };
  auto w = t->NewWriter("w");
  auto pw = plain->NewWriter("w");
  auto write = [&](int from, int to, const std::string& region, int64_t commit) {
    for (int i = from; i < to; ++i) {
      KL_ASSERT_OK(w->WriteRow(R(i, region, "v" + std::to_string(commit), i + commit)));
      KL_ASSERT_OK(pw->WriteRow(R(i, region, "v" + std::to_string(commit), i + commit)));
    }
    ASSERT_TRUE(w->Commit(commit).ok());
    ASSERT_TRUE(pw->Commit(commit).ok());
  };
  auto same_rows = [&] {
    auto rows = t->ReadAll();
    auto expected = plain->ReadAll();
    ASSERT_TRUE(rows.ok() && expected.ok());
    EXPECT_EQ(Rows(*rows), Rows(*expected));
  };
  write(0, 50, "eu", 1);
  EXPECT_EQ(shapes_by_level(), (Shapes{{0, {"none"}}}));
  same_rows();
  // A lone level-0 file moves to the bottom level without being rewritten: it keeps the
  // statistics it was written with.
  KL_ASSERT_OK(w->Compact(/*full=*/true));
  ASSERT_TRUE(w->Commit(2).ok());
  EXPECT_EQ(shapes_by_level(), (Shapes{{2, {"none"}}}));
  // Overlapping rows make the commit's compaction (two sorted runs of like size) merge them
  // into a new file at the bottom level: counts there.
  write(25, 1000, "us", 3);
  EXPECT_EQ(shapes_by_level(), (Shapes{{2, {"counts"}}}));
  same_rows();
  // Two small level-0 files merge into level 1, which is not listed: metadata.stats-mode.
  write(2000, 2010, "eu", 4);
  EXPECT_EQ(shapes_by_level(), (Shapes{{0, {"none"}}, {2, {"counts"}}}));
  write(2010, 2020, "eu", 5);
  EXPECT_EQ(shapes_by_level(), (Shapes{{1, {"full"}}, {2, {"counts"}}}));
  same_rows();
  KL_ASSERT_OK(w->Compact(/*full=*/true));
  ASSERT_TRUE(w->Commit(6).ok());
  EXPECT_EQ(shapes_by_level(), (Shapes{{2, {"counts"}}}));
  same_rows();
}

// A value that is not level:mode pairs of Paimon's modes fails the table's creation, naming
// the option and its value.
TEST(TableTest, StatsModePerLevelRejectsMalformedValues) {
  for (const char* bad :
       {"zero:none", "0", "0:", "-1:none", "0:none,x", "1:truncate", "1:truncate(0)", "1:truncate(x)", "1:minmax"}) {
    SCOPED_TRACE(bad);
    auto schema = NewTableSchema({{0, "id", format::DataType::BigInt(), ""}}, {}, {"id"},
                                 {{"bucket", "1"}, {"metadata.stats-mode.per.level", bad}});
    ASSERT_FALSE(schema.ok());
    EXPECT_EQ(schema.status().code(), StatusCode::kInvalidArgument) << schema.status().ToString();
    EXPECT_EQ(
        schema.status().message().rfind("option metadata.stats-mode.per.level = \"" + std::string(bad) + "\": ", 0), 0u)
        << schema.status().ToString();
  }
  for (const char* good : {"0:none", "0:counts,3:full", "1:truncate(32)", ""}) {
    SCOPED_TRACE(good);
    auto schema = NewTableSchema({{0, "id", format::DataType::BigInt(), ""}}, {}, {"id"},
                                 {{"bucket", "1"}, {"metadata.stats-mode.per.level", good}});
    EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  }
}

// A two-bucket table of `format` with a lookup changelog whose files this process keeps in
// memory (RecentFiles) after writing them.
std::shared_ptr<Table> KeptChangelogTable(testing::TempDir& dir, const char* format) {
  return test_util::MakeTestTable(dir.Sub("t"), {"id"},
                                  {{"bucket", "2"},
                                   {"file.format", format},
                                   {"changelog-producer", "lookup"},
                                   {"kubelake.data-file.sync", "false"}});
}

// Changelog files are read back from the rows the writer kept in memory; the
// same reads from the files themselves (nothing kept) give the same changes.
TEST(TableTest, ChangelogReadFromKeptRowsEqualsReadFromFiles) {
  for (const char* format : {"avro", "parquet"}) {
    SCOPED_TRACE(format);
    testing::TempDir dir;
    auto t = KeptChangelogTable(dir, format);
    auto w = t->NewWriter("w");
    Random rng(11);
    for (int c = 1; c <= 6; ++c) {
      for (int i = 0; i < 300; ++i) {
        int64_t id = static_cast<int64_t>(rng.Uniform(200));
        KL_ASSERT_OK(w->WriteRow(R(id, rng.Uniform(2) ? "eu" : "us", "v" + std::to_string(c), c),
                                 rng.Uniform(10) == 0 ? RowKind::kDelete : RowKind::kInsert));
      }
      ASSERT_TRUE(w->Commit(c).ok());
    }
    auto changes = [&](const std::vector<std::string>& projection) { return StreamedChanges(*t, projection); };
    auto kept = changes({});
    auto kept_projected = changes({"n", "id"});
    RecentFiles::Get().SetBudget(0);  // nothing kept: every read decodes the files
    auto decoded = changes({});
    auto decoded_projected = changes({"n", "id"});
    RecentFiles::Get().SetBudget(256u << 20);
    EXPECT_GT(kept.size(), 600u);
    EXPECT_EQ(kept, decoded);
    EXPECT_EQ(kept_projected, decoded_projected);
  }
}

// Followers that share decodes (TableRead::ShareDecodes) decode each file the cache lacks
// once, with the columns of them all, and read it from there: the full snapshot's data
// files and the changelog files, followed from several threads at once with different
// columns and filters, give the same changes as reads that decode every file on their own;
// a reader alone does not decode for others, nor does one that did not ask to share.
TEST(TableTest, FollowersDecodeAFileTheCacheLacksOnceForAll) {
  using Changes = std::vector<std::string>;
  auto follow = [](const Table& t, const std::vector<std::string>& projection, const Predicate& filter, bool share) {
    auto stream = t.NewStreamScan(StreamStart::kFromSnapshotFull, 2);
    auto r = t.NewRead(projection, filter);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return Changes();
    if (share) (*r)->ShareDecodes();
    return ReadChanges(stream, **r);
  };
  for (const char* format : {"avro", "parquet"}) {
    SCOPED_TRACE(format);
    testing::TempDir dir;
    RecentFiles::Get().SetBudget(0);  // the writer keeps nothing: every file is to be decoded
    auto t = KeptChangelogTable(dir, format);
    auto w = t->NewWriter("w");
    Random rng(31);
    for (int c = 1; c <= 5; ++c) {
      for (int i = 0; i < 200; ++i) {
        int64_t id = static_cast<int64_t>(rng.Uniform(150));
        Row row = R(id, rng.Uniform(2) ? "eu" : "us", "v" + std::to_string(rng.Uniform(9)), c);
        if (rng.Uniform(6) == 0) row[2] = Datum();
        KL_ASSERT_OK(w->WriteRow(row, rng.Uniform(8) == 0 ? RowKind::kDelete : RowKind::kInsert));
      }
      ASSERT_TRUE(w->Commit(c).ok());
    }
    struct Follower {
      std::vector<std::string> projection;
      Predicate filter;
    };
    const std::vector<Follower> followers = {
        {{"id", "n"}, Predicate({PredicateLeaf{"region", CompareOp::kEq, Datum::Bytes("eu"), {}}})},
        {{"name"}, Predicate({PredicateLeaf{"name", CompareOp::kIsNotNull, Datum(), {}}})},
        {{}, Predicate()},
        {{"n", "region"}, Predicate({PredicateLeaf{"n", CompareOp::kGe, Datum::Int(3), {}}})}};
    std::vector<Changes> alone;  // each decoding every file itself
    for (const auto& f : followers) alone.push_back(follow(*t, f.projection, f.filter, /*share=*/false));
    ASSERT_GT(alone[2].size(), 400u);
    RecentFiles::Get().SetBudget(64u << 20);  // the default: decoded files are kept
    const RecentFiles::Stats before = RecentFiles::Get().stats();
    EXPECT_EQ(follow(*t, followers[0].projection, followers[0].filter, /*share=*/true), alone[0]);
    EXPECT_EQ(RecentFiles::Get().stats().decodes, before.decodes) << "a reader alone decodes for nobody";

    std::vector<Changes> shared(followers.size());
    {
      // Registered before any reads, as the jobs of a process are built before they run.
      std::vector<std::unique_ptr<TableRead>> registered;
      for (int k = 0; k < 2; ++k) {
        auto r = t->NewRead({"id"});
        ASSERT_TRUE(r.ok());
        (*r)->ShareDecodes();
        registered.push_back(std::move(r).value());
      }
      std::vector<std::thread> threads;
      for (size_t f = 0; f < followers.size(); ++f) {
        threads.emplace_back(
            [&, f] { shared[f] = follow(*t, followers[f].projection, followers[f].filter, /*share=*/true); });
      }
      for (auto& th : threads) th.join();
      // And one more afterwards, while the decoded files are kept.
      EXPECT_EQ(follow(*t, followers[1].projection, followers[1].filter, /*share=*/true), alone[1]);
    }
    for (size_t f = 0; f < followers.size(); ++f) EXPECT_EQ(shared[f], alone[f]) << "follower " << f;
    const RecentFiles::Stats after = RecentFiles::Get().stats();
    // Each file of the plans was decoded once (the full snapshot's data files and the
    // changelog files after it), not once per follower.
    size_t files = 0;
    {
      auto stream = t->NewStreamScan(StreamStart::kFromSnapshotFull, 2);
      while (true) {
        auto plan = stream.Next();
        ASSERT_TRUE(plan.ok());
        if (!plan->snapshot_id) break;
        for (const auto& split : plan->splits) files += split.files.size();
      }
    }
    ASSERT_GT(files, 4u);
    EXPECT_EQ(after.decodes - before.decodes, static_cast<int64_t>(files));
    // A reader that did not ask to share reads the files itself, as before.
    RecentFiles::Get().SetBudget(0);
    RecentFiles::Get().SetBudget(64u << 20);
    EXPECT_EQ(follow(*t, followers[3].projection, followers[3].filter, /*share=*/false), alone[3]);
    EXPECT_EQ(RecentFiles::Get().stats().decodes, after.decodes);
    // Rows the cache could not keep are dropped as they are decoded: nothing is kept, the
    // followers that waited read the files on their own, and every one gets its own rows.
    RecentFiles::Get().SetBudget(2);
    {
      std::vector<std::thread> threads;
      for (size_t f = 0; f < followers.size(); ++f) {
        threads.emplace_back(
            [&, f] { shared[f] = follow(*t, followers[f].projection, followers[f].filter, /*share=*/true); });
      }
      for (auto& th : threads) th.join();
    }
    for (size_t f = 0; f < followers.size(); ++f) EXPECT_EQ(shared[f], alone[f]) << "follower " << f;
    RecentFiles::Get().SetBudget(64u << 20);
  }
}

// While jobs that share decodes follow a table, its writer keeps of each changelog file only
// the columns they read: a file whose whole rows the cache would refuse (a wide column none
// of them reads) is kept and read in place with no decode; a reader of that other column reads
// the file itself; every reader gets what it gets from the files alone.
TEST(TableTest, ChangelogRowsAreKeptWithTheColumnsOfTheFollowers) {
  for (const char* format : {"avro", "parquet"}) {
    SCOPED_TRACE(format);
    testing::TempDir dir;
    auto t = KeptChangelogTable(dir, format);
    std::vector<std::unique_ptr<TableRead>> followers;
    for (const std::vector<std::string>& projection : {std::vector<std::string>{"id", "n"}, {"region"}}) {
      auto r = t->NewRead(projection);
      ASSERT_TRUE(r.ok());
      (*r)->ShareDecodes();
      followers.push_back(std::move(r).value());
    }
    // ~300 rows a bucket per commit, with ~2 KB in `name`: ~600 KB of whole rows a file,
    // ~20 KB of the followers' columns; the cache takes files up to half of 256 KB.
    RecentFiles::Get().SetBudget(256u << 10);
    auto w = t->NewWriter("w");
    Random rng(41);
    for (int c = 1; c <= 3; ++c) {
      for (int i = 0; i < 600; ++i) {
        int64_t id = static_cast<int64_t>(rng.Uniform(400));
        KL_ASSERT_OK(w->WriteRow(R(id, rng.Uniform(2) ? "eu" : "us", std::string(2000, 'a' + c), c),
                                 rng.Uniform(10) == 0 ? RowKind::kDelete : RowKind::kInsert));
      }
      ASSERT_TRUE(w->Commit(c).ok());
    }
    auto read_with = [&](TableRead& r) {
      std::vector<std::string> all;
      auto stream = t->NewStreamScan(StreamStart::kFromSnapshot, 1);
      EXPECT_TRUE(stream.Next().ok());
      while (true) {
        auto plan = stream.Next();
        EXPECT_TRUE(plan.ok());
        if (!plan.ok() || !plan->snapshot_id) break;
        auto rows = r.ReadAll(*plan);
        EXPECT_TRUE(rows.ok()) << rows.status().ToString();
        if (!rows.ok()) break;
        for (const auto& row : Rows(*rows)) all.push_back(std::to_string(*plan->snapshot_id) + ": " + row);
      }
      return all;
    };
    const RecentFiles::Stats before = RecentFiles::Get().stats();
    auto first = read_with(*followers[0]);
    auto second = read_with(*followers[1]);
    const RecentFiles::Stats after = RecentFiles::Get().stats();
    EXPECT_EQ(after.decodes, before.decodes) << "the kept rows were read, no file decoded";
    EXPECT_GE(after.hits - before.hits, 12) << "two followers, three commits, two buckets";
    auto names = StreamedChanges(*t, {"name", "id"});  // not sharing: reads the files
    RecentFiles::Get().SetBudget(0);                   // nothing kept: the files themselves
    EXPECT_EQ(first, StreamedChanges(*t, {"id", "n"}));
    EXPECT_EQ(second, StreamedChanges(*t, {"region"}));
    EXPECT_EQ(names, StreamedChanges(*t, {"name", "id"}));
    EXPECT_GT(first.size(), 1000u);
    RecentFiles::Get().SetBudget(64u << 20);  // the default
  }
}

// A change read with a filter takes from changelog rows kept in memory only the rows that
// pass, filtered where they are kept: over random rows with nulls and every form of
// condition, the same changes (rows, order, kinds) as reading every row and filtering
// afterwards by a simple model, and as the same filtered read of the files themselves.
TEST(TableTest, FilteredChangelogReadFromKeptRowsEqualsFilteringEveryRow) {
  using Change = std::tuple<int64_t, RowKind, Row>;  // snapshot, kind, row
  auto read = [](const Table& t, const std::vector<std::string>& projection, const Predicate& filter) {
    std::vector<Change> all;
    auto stream = t.NewStreamScan(StreamStart::kFromSnapshot, 1);
    EXPECT_TRUE(stream.Next().ok());  // as StreamedChanges: the changes from the next plan on
    auto r = t.NewRead(projection, filter);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    while (r.ok()) {
      auto plan = stream.Next();
      EXPECT_TRUE(plan.ok());
      if (!plan.ok() || !plan->snapshot_id) break;
      auto rows = (*r)->ReadAll(*plan);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      if (!rows.ok()) break;
      for (size_t i = 0; i < rows->size(); ++i)
        all.emplace_back(*plan->snapshot_id, rows->kinds[i], rows->rows.GetRow(i));
    }
    return all;
  };
  // SQL semantics, written out: a comparison with null is not true.
  auto matches = [](const PredicateLeaf& l, const Datum& v) {
    if (l.op == CompareOp::kIsNull) return v.is_null();
    if (l.op == CompareOp::kIsNotNull) return !v.is_null();
    if (v.is_null()) return false;
    if (l.op == CompareOp::kIn) {
      return std::any_of(l.literals.begin(), l.literals.end(),
                         [&](const Datum& x) { return format::CompareDatum(v, x) == 0; });
    }
    int c = format::CompareDatum(v, l.literal);
    switch (l.op) {
      case CompareOp::kEq: return c == 0;
      case CompareOp::kNe: return c != 0;
      case CompareOp::kLt: return c < 0;
      case CompareOp::kLe: return c <= 0;
      case CompareOp::kGt: return c > 0;
      case CompareOp::kGe: return c >= 0;
      default: return false;
    }
  };
  const std::vector<std::string> names = {"id", "region", "name", "n"};
  for (const char* format : {"avro", "parquet"}) {
    SCOPED_TRACE(format);
    testing::TempDir dir;
    auto t = KeptChangelogTable(dir, format);
    auto w = t->NewWriter("w");
    Random rng(23);
    auto value = [&](int column) {
      if (column == 0) return Datum::Int(static_cast<int64_t>(rng.Uniform(200)));
      if (column == 1) {
        const char* regions[] = {"ap", "eu", "us"};
        return Datum::Bytes(regions[rng.Uniform(3)]);
      }
      if (column == 2) return Datum::Bytes("v" + std::to_string(rng.Uniform(40)));
      return Datum::Int(static_cast<int64_t>(rng.Uniform(11)) - 5);
    };
    for (int c = 1; c <= 6; ++c) {
      for (int i = 0; i < 300; ++i) {
        Row row = {value(0), value(1), value(2), value(3)};
        for (size_t k = 1; k < row.size(); ++k) {
          if (rng.Uniform(5) == 0) row[k] = Datum();
        }
        KL_ASSERT_OK(w->WriteRow(row, rng.Uniform(10) == 0 ? RowKind::kDelete : RowKind::kInsert));
      }
      ASSERT_TRUE(w->Commit(c).ok());
    }
    const std::vector<Change> every = read(*t, {}, Predicate());
    ASSERT_GT(every.size(), 600u);
    std::vector<Predicate> filters;
    const CompareOp ops[] = {CompareOp::kEq, CompareOp::kNe,     CompareOp::kLt,        CompareOp::kLe, CompareOp::kGt,
                             CompareOp::kGe, CompareOp::kIsNull, CompareOp::kIsNotNull, CompareOp::kIn};
    for (int column = 0; column < 4; ++column) {
      for (CompareOp op : ops) {
        PredicateLeaf leaf{names[static_cast<size_t>(column)], op, value(column), {}};
        if (op == CompareOp::kIn) leaf = InLeaf(leaf.field, {value(column), value(column), value(column)});
        filters.push_back(Predicate({leaf}));
      }
    }
    for (int f = 0; f < 30; ++f) {  // conjunctions of two or three conditions
      Predicate p;
      for (int l = 0, n = 2 + static_cast<int>(rng.Uniform(2)); l < n; ++l) {
        const auto& one = filters[rng.Uniform(filters.size())].leaves()[0];
        p.And(one);
      }
      filters.push_back(p);
    }
    const std::vector<std::vector<std::string>> projections = {{}, {"n", "id"}, {"name"}};
    std::map<std::pair<size_t, size_t>, std::vector<Change>> wanted;  // (filter, projection)
    for (size_t f = 0; f < filters.size(); ++f) {
      for (size_t p = 0; p < projections.size(); ++p) {
        const auto& projection = projections[p];
        SCOPED_TRACE(filters[f].ToString() + " projection of " + std::to_string(projection.size()));
        std::vector<Change> want;
        for (const auto& [snapshot, kind, row] : every) {
          bool pass = true;
          for (const auto& l : filters[f].leaves()) {
            size_t column = static_cast<size_t>(std::find(names.begin(), names.end(), l.field) - names.begin());
            pass = pass && matches(l, row[column]);
          }
          if (!pass) continue;
          Row projected;
          for (const auto& name : projection.empty() ? names : projection) {
            projected.push_back(row[static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin())]);
          }
          want.emplace_back(snapshot, kind, projected);
        }
        EXPECT_EQ(read(*t, projection, filters[f]), want);
        wanted[{f, p}] = std::move(want);
      }
    }
    // The files themselves (nothing kept) read the same, filtered after decoding.
    RecentFiles::Get().SetBudget(0);
    EXPECT_EQ(read(*t, {}, Predicate()), every);
    for (size_t f = 0; f < filters.size(); f += 4) {
      SCOPED_TRACE(filters[f].ToString());
      EXPECT_EQ(read(*t, projections[1], filters[f]), (wanted[{f, 1}]));
    }
    RecentFiles::Get().SetBudget(64u << 20);  // the default
  }
}

// A changelog file that outgrows what the row cache takes (half its budget) stops
// being kept while it is written: its rows are read from the file, and the rows kept of
// files that fit are whole. Each budget below cuts at another place (before the first
// staged batch, between batches, never); every one reads the same changes.
TEST(TableTest, ChangelogTooLargeForTheRowCacheIsReadFromItsFile) {
  testing::TempDir dir;
  auto t = test_util::MakeTestTable(dir.Sub("t"), {"id"},
                                    {{"changelog-producer", "lookup"}, {"kubelake.data-file.sync", "false"}});
  auto w = t->NewWriter("w");
  for (int c = 1; c <= 3; ++c) {
    // 10,000 keys in one flush: the changelog file is written in several staged batches.
    for (int64_t id = 0; id < 10000; ++id)
      KL_ASSERT_OK(w->WriteRow(R(id * c % 12000, "eu", "v" + std::to_string(c), c)));
    ASSERT_TRUE(w->Commit(c).ok());
  }
  auto changes = [&]() { return StreamedChanges(*t); };
  RecentFiles::Get().SetBudget(0);
  auto from_files = changes();
  EXPECT_GT(from_files.size(), 20000u);
  for (size_t budget : {size_t{64} << 10, size_t{1} << 20, size_t{4} << 20, size_t{256} << 20}) {
    SCOPED_TRACE(budget);
    RecentFiles::Get().SetBudget(budget);
    // Written again under this budget (a new table: files are kept as they are written).
    testing::TempDir again;
    auto t2 = test_util::MakeTestTable(again.Sub("t"), {"id"},
                                       {{"changelog-producer", "lookup"}, {"kubelake.data-file.sync", "false"}});
    auto w2 = t2->NewWriter("w");
    for (int c = 1; c <= 3; ++c) {
      for (int64_t id = 0; id < 10000; ++id)
        KL_ASSERT_OK(w2->WriteRow(R(id * c % 12000, "eu", "v" + std::to_string(c), c)));
      ASSERT_TRUE(w2->Commit(c).ok());
    }
    std::swap(t, t2);
    EXPECT_EQ(changes(), from_files);
    std::swap(t, t2);
  }
  RecentFiles::Get().SetBudget(64u << 20);  // the default
}

// The cache of recent files' rows: a hit gives the rows put; a file replaced on disk (another
// size or modification time) or removed is never served from it; the least recently used
// files leave once the budget is exceeded, and a file over half the budget is not taken.
TEST(TableTest, RecentFilesServeOnlyUnchangedFilesWithinTheirBudget) {
  testing::TempDir dir;
  format::RowType type({{0, "v", format::DataType::BigInt(), ""}});
  auto rows_of = [&](int64_t first, size_t n) {
    auto rows = std::make_shared<FileRows>();
    rows->type = type;
    format::ColumnBatch batch(type);
    for (size_t i = 0; i < n; ++i) batch.mutable_column(0).Append(Datum::Int(first + static_cast<int64_t>(i)));
    batch.SetNumRows(n);
    rows->chunks.push_back(std::move(batch));
    rows->rows = static_cast<int64_t>(n);
    return rows;
  };
  auto values_of = [](const std::shared_ptr<const FileRows>& rows) {
    std::vector<int64_t> out;
    for (const auto& c : rows->chunks) {
      for (size_t i = 0; i < c.num_rows(); ++i) out.push_back(c.column(0).GetInt(i));
    }
    return out;
  };
  RecentFiles& cache = RecentFiles::Get();
  cache.SetBudget(1u << 20);
  EXPECT_EQ(cache.max_file_bytes(), size_t{512} << 10);
  std::string a = dir.Sub("a"), b = dir.Sub("b"), c = dir.Sub("c"), big = dir.Sub("big");
  for (const auto& p : {a, b, c, big}) KL_ASSERT_OK(WriteFile(p, "file " + p));
  cache.Put(a, rows_of(0, 1000));
  auto hit = cache.Find(a);
  ASSERT_NE(hit, nullptr);
  std::vector<int64_t> want(1000);
  for (int64_t i = 0; i < 1000; ++i) want[static_cast<size_t>(i)] = i;
  EXPECT_EQ(values_of(hit), want);
  // Replaced under the same name: another size.
  KL_ASSERT_OK(WriteFile(a, "another, longer content"));
  EXPECT_EQ(cache.Find(a), nullptr);
  EXPECT_EQ(cache.Find(a), nullptr) << "the stale entry is gone";
  cache.Put(b, rows_of(7, 10));
  KL_ASSERT_OK(RemoveFile(b));
  EXPECT_EQ(cache.Find(b), nullptr);
  // Over half the budget: not taken.
  cache.Put(big, rows_of(0, 80000));  // 640 KB of values
  EXPECT_EQ(cache.Find(big), nullptr);
  // Two files of ~400 KB fit a 1 MB budget, a third evicts the least recently used.
  KL_ASSERT_OK(WriteFile(a, "a again"));
  KL_ASSERT_OK(WriteFile(b, "b again"));
  cache.Put(a, rows_of(0, 50000));
  cache.Put(b, rows_of(1, 50000));
  ASSERT_NE(cache.Find(a), nullptr);  // a is now the most recently used
  cache.Put(c, rows_of(2, 50000));
  EXPECT_NE(cache.Find(a), nullptr);
  EXPECT_EQ(cache.Find(b), nullptr);
  auto kept_c = cache.Find(c);
  ASSERT_NE(kept_c, nullptr);
  EXPECT_EQ(values_of(kept_c).front(), 2);
  EXPECT_EQ(values_of(kept_c).size(), 50000u);
  cache.SetBudget(64u << 20);  // the default
}

// One read of a file counts once: a Find that misses, then DecodeOnce finding the rows
// another reader put (or a stale entry of them), is one miss, not a miss and a hit (or two).
TEST(TableTest, RecentFilesCountAReadOnceThroughDecodeOnce) {
  testing::TempDir dir;
  format::RowType type({{0, "v", format::DataType::BigInt(), ""}});
  auto rows = std::make_shared<FileRows>();
  rows->type = type;
  RecentFiles& cache = RecentFiles::Get();
  std::string p = dir.Sub("p"), q = dir.Sub("q");
  for (const auto& f : {p, q}) KL_ASSERT_OK(WriteFile(f, "file " + f));
  int decodes = 0;
  auto decode = [&]() -> Result<std::shared_ptr<const FileRows>> {
    ++decodes;
    return std::shared_ptr<const FileRows>(rows);
  };
  const RecentFiles::Stats before = cache.stats();
  // Kept by another reader between this one's Find and its DecodeOnce.
  EXPECT_EQ(cache.Find(p), nullptr);
  cache.Put(p, rows);
  auto got = cache.DecodeOnce(p, decode);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, rows);
  // Kept, then changed on disk: the stale entry is dropped, and the reader reads the file.
  EXPECT_EQ(cache.Find(q), nullptr);
  cache.Put(q, rows);
  KL_ASSERT_OK(WriteFile(q, "another, longer content"));
  got = cache.DecodeOnce(q, decode);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, nullptr);
  const RecentFiles::Stats after = cache.stats();
  EXPECT_EQ(after.misses - before.misses, 2);
  EXPECT_EQ(after.hits - before.hits, 0);
  EXPECT_EQ(decodes, 0);
  // Not kept at all: this reader decodes it, still one miss.
  KL_ASSERT_OK(RemoveFile(q));
  KL_ASSERT_OK(WriteFile(q, "q again"));
  EXPECT_EQ(cache.Find(q), nullptr);
  got = cache.DecodeOnce(q, decode);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(decodes, 1);
  EXPECT_EQ(cache.stats().misses - after.misses, 1);
  EXPECT_EQ(cache.stats().hits, after.hits);
  EXPECT_EQ(cache.stats().decodes - after.decodes, 1);
}

TEST(TableTest, FixedBucketsRouteByKeyHash) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "4"}});
  auto w = t->NewWriter("w");
  for (int i = 0; i < 100; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "x", i)));
  ASSERT_TRUE(w->Commit(1).ok());
  auto plan = t->NewScan().PlanLatest();
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->splits.size(), 4u);
  // Reading a single bucket returns only keys that hash there.
  for (const auto& split : plan->splits) {
    auto read = t->NewRead();
    ScanPlan one;
    one.splits = {split};
    auto rows = (*read)->ReadAll(one);
    ASSERT_TRUE(rows.ok());
    for (size_t i = 0; i < rows->size(); ++i) {
      std::string key = EncodeBinaryRow({Datum::Int(rows->rows.column(0).GetInt(i))}, {DataType::BigInt().NotNull()});
      EXPECT_EQ(BucketOf(key, 4), split.bucket);
    }
  }
}

TEST(TableTest, CommitsWakeReadersWaitingInThisProcess) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}});
  const uint64_t before = SnapshotsCommittedHere(t->path());
  // Nothing committed: the wait ends by its timeout, the count unchanged.
  WaitForSnapshotCommittedHere(t->path(), before, 10);
  EXPECT_EQ(SnapshotsCommittedHere(t->path()), before);
  uint64_t seen_by_reader = before;
  std::thread reader([&] {
    // Far longer than the test: only the commit below ends this wait in time.
    WaitForSnapshotCommittedHere(t->path(), before, 600000);
    seen_by_reader = SnapshotsCommittedHere(t->path());
  });
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "a", 5)));
  ASSERT_TRUE(w->Commit(1).ok());
  reader.join();
  EXPECT_EQ(seen_by_reader, before + 1);
  // Counted per table: another table's commit leaves this one's count alone.
  auto other = MakeTable(dir.Sub("other"), {"id"}, {{"bucket", "1"}});
  auto w2 = other->NewWriter("w");
  KL_ASSERT_OK(w2->WriteRow(R(1, "eu", "a", 5)));
  ASSERT_TRUE(w2->Commit(1).ok());
  EXPECT_EQ(SnapshotsCommittedHere(t->path()), before + 1);
  // A commit that changes nothing writes no snapshot and signals nothing.
  ASSERT_TRUE(w->Commit(2).ok());
  EXPECT_EQ(SnapshotsCommittedHere(t->path()), before + 1);
}

TEST(TableTest, SchemaEvolutionReadsOldFilesByFieldId) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "old", 5)));
  ASSERT_TRUE(w->Commit(1).ok());
  // Schema 1: rename name -> title, drop region, widen nothing, add a column.
  TableSchema next = t->schema();
  next.id = 1;
  auto& fields = next.fields.mutable_fields();
  fields[2].name = "title";
  fields.erase(fields.begin() + 1);
  fields.push_back({4, "added", DataType::String(), ""});
  next.highest_field_id = 4;
  KL_ASSERT_OK(SchemaManager(t->path()).Commit(next));
  auto evolved = Table::Open(t->path());
  ASSERT_TRUE(evolved.ok());
  auto w2 = (*evolved)->NewWriter("w");
  KL_ASSERT_OK(w2->WriteRow({Datum::Int(2), Datum::Bytes("new"), Datum::Int(6), Datum::Bytes("x")}));
  ASSERT_TRUE(w2->Commit(2).ok());
  auto rows = (*evolved)->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"old\" 5 null", "+I 2 \"new\" 6 \"x\""}));
}

TEST(TableTest, ExpiryKeepsEverythingRetainedSnapshotsNeed) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"num-sorted-run.compaction-trigger", "2"}});
  auto w = t->NewWriter("w");
  std::map<int64_t, std::vector<std::string>> expected;
  for (int c = 1; c <= 12; ++c) {
    KL_ASSERT_OK(w->WriteRow(R(c % 5, "eu", "v" + std::to_string(c), c)));
    auto r = w->Commit(c);
    ASSERT_TRUE(r.ok());
    auto rows = t->ReadAll();
    for (int64_t id : r->snapshot_ids) expected[id] = Rows(*rows);
  }
  ExpireOptions opts;
  opts.retain_min = 3;
  opts.retain_max = 3;
  auto result = ExpireSnapshots(t->context(), opts);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GT(result->deleted_files, 0);
  auto ids = t->snapshots().ListIds();
  ASSERT_EQ(ids->size(), 3u);
  for (int64_t id : *ids) {
    auto rows = t->ReadAll(id);
    ASSERT_TRUE(rows.ok()) << "snapshot " << id << ": " << rows.status().ToString();
    EXPECT_EQ(Rows(*rows), expected[id]) << "snapshot " << id;
  }
  auto earliest = t->snapshots().EarliestId();
  EXPECT_EQ(**earliest, ids->front());
  // Orphans: files nothing references (a failed write) go; referenced ones stay.
  std::string orphan = JoinPath(t->path(), "bucket-0/data-orphan.avro");
  KL_ASSERT_OK(WriteFile(orphan, "junk"));
  auto orphans = RemoveOrphanFiles(t->context(), NowMillis() + 1000);
  ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
  EXPECT_EQ(orphans->deleted, (std::vector<std::string>{"bucket-0/data-orphan.avro"}));
  for (int64_t id : *ids) EXPECT_TRUE(t->ReadAll(id).ok());
}

// A bucket filter leaves out the other buckets' splits and nothing else: the plan is the
// full plan's splits of the accepted buckets, file for file.
TEST(TableTest, BucketFilterPlansOnlyAcceptedBuckets) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "4"}});
  auto w = t->NewWriter("w");
  for (int i = 0; i < 200; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "x", i)));
  ASSERT_TRUE(w->Commit(1).ok());
  auto full = t->NewScan().PlanLatest();
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->splits.size(), 4u);
  TableScan scan = t->NewScan();
  scan.SetBucketFilter([](int32_t bucket, int32_t) { return bucket == 1 || bucket == 3; });
  auto some = scan.PlanLatest();
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->splits.size(), 2u);
  EXPECT_EQ(some->snapshot_id, full->snapshot_id);
  for (const auto& split : some->splits) {
    auto same = std::find_if(full->splits.begin(), full->splits.end(), [&](const DataSplit& s) {
      return s.bucket == split.bucket && s.partition == split.partition;
    });
    ASSERT_NE(same, full->splits.end());
    EXPECT_TRUE(split.bucket == 1 || split.bucket == 3);
    ASSERT_EQ(split.files.size(), same->files.size());
    for (size_t f = 0; f < split.files.size(); ++f) EXPECT_EQ(split.files[f].file_name, same->files[f].file_name);
  }
  // A filter accepting none plans an empty read of the same snapshot; it is told the bucket
  // count each file was written with.
  std::set<int32_t> totals;
  scan.SetBucketFilter([&totals](int32_t, int32_t total_buckets) {
    totals.insert(total_buckets);
    return false;
  });
  auto none = scan.PlanLatest();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->splits.empty());
  EXPECT_EQ(none->snapshot_id, full->snapshot_id);
  EXPECT_EQ(totals, std::set<int32_t>{4});
}

TEST(TableTest, CorruptFilesGiveErrorsNamingTheFile) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}});
  auto w = t->NewWriter("w");
  for (int i = 0; i < 50; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "x", i)));
  ASSERT_TRUE(w->Commit(1).ok());
  auto plan = t->NewScan().PlanLatest();
  ASSERT_TRUE(plan.ok());
  std::string data = t->context()->paths().DataFilePath(plan->splits[0].partition, 0, plan->splits[0].files[0]);
  auto snapshot = t->snapshots().Read(1);
  std::string list = JoinPath(t->context()->paths().ManifestDir(), snapshot->delta_manifest_list);
  std::string snap = t->snapshots().SnapshotPath(1);
  for (const std::string& victim : {data, list, snap}) {
    auto original = ReadFile(victim);
    ASSERT_TRUE(original.ok());
    for (size_t cut : {size_t{0}, original->size() / 2, original->size() - 1}) {
      KL_ASSERT_OK(WriteFile(victim, original->substr(0, cut)));
      auto reopened = Table::Open(t->path());
      Status s = reopened.ok() ? (*reopened)->ReadAll().status() : reopened.status();
      EXPECT_FALSE(s.ok()) << victim << " cut at " << cut;
      EXPECT_NE(s.message().find(BaseName(victim)), std::string::npos) << s.ToString();
    }
    KL_ASSERT_OK(WriteFile(victim, *original));
  }
  EXPECT_TRUE(t->ReadAll().ok());
}

// Tables written by Java Paimon: every snapshot's manifests decode, and the
// live files' row counts add up to the snapshot's record count.
TEST(JavaTablesTest, ManifestsDecodeAndCountsAgree) {
  KL_REQUIRE_SHARED("paimon-compat/tables", root);
  std::vector<std::string> tables;
  for (std::string group : {"parquet", "avro"}) {
    auto dbs = ListDir(JoinPath(root, group));
    if (!dbs.ok()) continue;
    for (const auto& db : *dbs) {
      auto names = ListDir(JoinPath(JoinPath(root, group), db));
      for (const auto& n : names.value_or(std::vector<std::string>{})) {
        tables.push_back(JoinPath(JoinPath(JoinPath(root, group), db), n));
      }
    }
  }
  int checked = 0, orc_tables = 0;
  for (const auto& path : tables) {
    auto schema = SchemaManager(path).Latest();
    if (!schema.ok()) continue;
    if (schema->table_options().manifest_format() == "orc") ++orc_tables;
    // Data-evolution tables are refused by design (their files hold parts of rows).
    if (schema->table_options().GetBool("data-evolution.enabled", false)) continue;
    auto t = Table::Open(path);
    ASSERT_TRUE(t.ok()) << path << ": " << t.status().ToString();
    auto ids = (*t)->snapshots().ListIds();
    ASSERT_TRUE(ids.ok());
    for (int64_t id : *ids) {
      auto s = (*t)->snapshots().Read(id);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      auto plan = (*t)->NewScan().PlanSnapshotFull(id);
      ASSERT_TRUE(plan.ok()) << path << " snapshot " << id << ": " << plan.status().ToString();
      int64_t rows = 0;
      for (const auto& split : plan->splits) {
        for (const auto& f : split.files) rows += f.row_count;
      }
      if (s->total_record_count) {
        EXPECT_EQ(rows, *s->total_record_count) << path << " snapshot " << id;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 50) << "snapshots checked";
  EXPECT_GT(orc_tables, 3) << "tables with ORC manifests";
  std::printf("checked %d snapshots; %d tables have ORC manifests\n", checked, orc_tables);
}

}  // namespace
}  // namespace kl::table
