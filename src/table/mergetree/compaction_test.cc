// Universal compaction of primary-key buckets: how the levels restore, and
// what a streaming writer's tiny flushes cost in rewrites with few levels
// against more (why the warehouse's tables set num-levels).
#include "table/mergetree/compaction.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "table/mergetree/merge_reader.h"

namespace kl::table {
namespace {

DataFileMeta File(const std::string& name, int level, int64_t size, int64_t seq) {
  DataFileMeta f;
  f.file_name = name;
  f.level = level;
  f.file_size = size;
  f.row_count = size;
  f.min_sequence_number = seq;
  f.max_sequence_number = seq;
  return f;
}

TEST(LevelsTest, FilesAboveTheConfiguredLevelsKeepTheirLevels) {
  // Written with num-levels 10, opened with 6: levels 7 and 9 are two sorted
  // runs, and folding them into level 5 would make one "run" of overlapping files.
  Levels levels(6, {File("a", 0, 10, 30), File("b", 7, 100, 20), File("c", 9, 1000, 10), File("d", 3, 50, 25)});
  EXPECT_EQ(levels.num_levels(), 10);
  auto runs = levels.Runs();
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].level, 0);
  EXPECT_EQ(runs[1].level, 3);
  EXPECT_EQ(runs[2].level, 7);
  EXPECT_EQ(runs[3].level, 9);
  EXPECT_EQ(levels.NonEmptyHighestLevel(), 9);
  EXPECT_EQ(Levels(6, {}).num_levels(), 6);
}

// Bytes rewritten by compactions per byte flushed, for `groups` flushes of
// `group` level-0 files of `flush` bytes each on top of a bottom run of `base`
// bytes (merged sizes add up: a stream of new keys, the worst case).
double RewritesPerFlushedByte(int num_levels, int groups, int group, int64_t flush, int64_t base) {
  UniversalCompactionOptions o;
  Levels levels(num_levels, {File("base", num_levels - 1, base, 0)});
  int64_t seq = 1, rewritten = 0, flushed = 0, name = 0;
  for (int g = 0; g < groups; ++g) {
    for (int i = 0; i < group; ++i) {
      levels.AddLevel0(File("f" + std::to_string(name++), 0, flush, seq++));
      flushed += flush;
    }
    auto unit = PickUniversalCompaction(o, levels.num_levels(), levels.Runs());
    if (!unit || unit->files.size() < 2) continue;
    int64_t size = 0, max_seq = 0;
    for (const auto& f : unit->files) {
      size += f.file_size;
      max_seq = std::max(max_seq, f.max_sequence_number);
    }
    rewritten += size;
    levels.Update(unit->files, {File("c" + std::to_string(name++), unit->output_level, size, max_seq)});
  }
  return static_cast<double>(rewritten) / static_cast<double>(flushed);
}

TEST(UniversalCompactionTest, TinyFlushesRewriteLevelOneOverAndOverWithFewLevels) {
  // A streaming commit every 500 ms flushes ~32 KB per bucket; groups of 4
  // (kubelake.compaction.level0-file-num) over a 30 MB bucket. With Paimon's
  // default 6 levels, once levels 1-5 hold runs every group of level-0 files
  // must merge into level 1 (output never stays at level 0), which grows and
  // is rewritten at every compaction. With 16 levels the runs cascade as a
  // binary counter, and the size-amplification rule (a full compaction)
  // comes long before the levels fill up; 10 fill up after ~500 groups here.
  const int64_t kFlush = 32 << 10, kBase = 30 << 20;
  for (int groups : {250, 2000}) {
    double six = RewritesPerFlushedByte(6, groups, 4, kFlush, kBase);
    double sixteen = RewritesPerFlushedByte(16, groups, 4, kFlush, kBase);
    EXPECT_GT(six, 10 * sixteen) << groups << " groups: 6 levels " << six << " rewrites per flushed byte, 16 levels "
                                 << sixteen;
    EXPECT_LT(sixteen, 8) << groups << " groups";
  }
}

struct BatchCost {
  double rewrites_per_flushed_row = 0;
  size_t most_runs = 0;
};

// A streaming table of `keys` keys whose flushes update random keys: `flush` rows on
// average, each flush's size off by up to 30 % either way (commits vary), compacted once
// `batch` level-0 files wait. A merge's output holds the keys of its inputs once
// (the expected size of the union of independent random key sets).
BatchCost UpdatesOverBoundedKeys(bool batch_picker, int batch, int64_t keys, int64_t flush, int flushes) {
  UniversalCompactionOptions o;
  const int num_levels = 16;
  Levels levels(num_levels, {File("base", num_levels - 1, keys, 0)});
  uint64_t state = 12345;
  auto next_fraction = [&] {  // deterministic, in [0, 1)
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  BatchCost cost;
  int64_t flushed = 0, rewritten = 0, name = 0;
  for (int i = 0; i < flushes; ++i) {
    int64_t rows = static_cast<int64_t>(static_cast<double>(flush) * (0.7 + 0.6 * next_fraction()));
    levels.AddLevel0(File("f" + std::to_string(name++), 0, rows, i + 1));
    flushed += rows;
    cost.most_runs = std::max(cost.most_runs, levels.Runs().size());
    if (levels.level0().size() < static_cast<size_t>(batch)) continue;
    auto unit = batch_picker ? PickLevel0BatchCompaction(o, num_levels, levels.Runs())
                             : PickUniversalCompaction(o, num_levels, levels.Runs());
    if (!unit || unit->files.size() < 2) continue;
    double absent = 1;
    int64_t max_seq = 0;
    for (const auto& f : unit->files) {
      absent *= 1 - static_cast<double>(f.row_count) / static_cast<double>(keys);
      max_seq = std::max(max_seq, f.max_sequence_number);
    }
    auto merged = static_cast<int64_t>(static_cast<double>(keys) * (1 - absent));
    rewritten += merged;
    levels.Update(unit->files, {File("c" + std::to_string(name++), unit->output_level, merged, max_seq)});
  }
  cost.rewrites_per_flushed_row = static_cast<double>(rewritten) / static_cast<double>(flushed);
  return cost;
}

TEST(UniversalCompactionTest, LevelZeroBatchMergesFirstInsteadOfDraggingInLevelsBelow) {
  // DWD's buckets at the soak's scale (~50 K keys, ~100 rows a flush) and at a million
  // objects (~250 K keys, ~250 rows a flush), level-0 files compacted four at a time.
  for (auto [keys, flush] : {std::pair<int64_t, int64_t>{50000, 100}, {250000, 250}}) {
    BatchCost universal = UpdatesOverBoundedKeys(false, 4, keys, flush, 20000);
    BatchCost batch = UpdatesOverBoundedKeys(true, 4, keys, flush, 20000);
    std::printf("%lld keys, %lld rows a flush: rewrites per flushed row %.2f (universal %.2f), most runs %zu (%zu)\n",
                static_cast<long long>(keys), static_cast<long long>(flush), batch.rewrites_per_flushed_row,
                universal.rewrites_per_flushed_row, batch.most_runs, universal.most_runs);
    EXPECT_LT(batch.rewrites_per_flushed_row, 0.75 * universal.rewrites_per_flushed_row)
        << keys << " keys: batch " << batch.rewrites_per_flushed_row << " rewrites per flushed row, universal "
        << universal.rewrites_per_flushed_row;
    // Runs stay bounded: at most twice the trigger above level 0, plus the batch waiting.
    EXPECT_LE(batch.most_runs, 2u * 5u + 4u) << keys << " keys";
  }
}

TEST(UniversalCompactionTest, LevelZeroBatchKeepsSizeAmplificationAndNeverWritesLevelZero) {
  UniversalCompactionOptions o;
  // Upper runs larger than twice the last: everything into the last level.
  auto full = PickLevel0BatchCompaction(
      o, 16, Levels(16, {File("a", 0, 300, 3), File("b", 0, 300, 2), File("c", 15, 100, 1)}).Runs());
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->output_level, 15);
  EXPECT_EQ(full->files.size(), 3u);
  // Tiny level-0 files above a large level 1: the batch must take level 1 along (output never
  // stays at level 0), but not the far larger level 5.
  auto up = PickLevel0BatchCompaction(
      o, 16,
      Levels(16, {File("a", 0, 9, 4), File("b", 0, 10, 3), File("c", 1, 500, 2), File("d", 5, 100000, 1)}).Runs());
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->output_level, 1);
  EXPECT_EQ(up->files.size(), 3u);
  // Room above level 5: the batch lands just above it, level 1 untouched.
  auto above = PickLevel0BatchCompaction(
      o, 16, Levels(16, {File("a", 0, 9, 4), File("b", 0, 10, 3), File("d", 5, 100000, 1)}).Runs());
  ASSERT_TRUE(above.has_value());
  EXPECT_EQ(above->output_level, 4);
  EXPECT_EQ(above->files.size(), 2u);
}

TEST(MergeReadTest, ManyRunsShareTheRowsAMergeHoldsAtOnce) {
  // One or two runs read whole chunks; more share a budget, never below a floor.
  EXPECT_EQ(RunChunkRows(1), 16384u);
  EXPECT_EQ(RunChunkRows(2), 16384u);
  for (size_t runs : {3, 4, 8, 24}) EXPECT_LE(RunChunkRows(runs) * runs, 32768u) << runs;
  EXPECT_EQ(RunChunkRows(4), 8192u);
  EXPECT_EQ(RunChunkRows(100), 1024u);
}

}  // namespace
}  // namespace kl::table
