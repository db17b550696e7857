// Universal compaction of primary-key buckets: how the levels restore, and
// what a streaming writer's tiny flushes cost in rewrites with few levels
// against more (why the warehouse's tables set num-levels).
#include "table/mergetree/compaction.h"

#include <gtest/gtest.h>

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
