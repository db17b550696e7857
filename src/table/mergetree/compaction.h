// Compaction of a primary-key bucket, with Paimon's universal strategy: runs
// are compacted when their count passes num-sorted-run.compaction-trigger,
// when newer runs outgrow older ones (size ratio), or when the data outside
// the last level exceeds the size-amplification limit.
#pragma once

#include <optional>
#include <vector>

#include "table/manifest/manifest.h"
#include "table/schema/options.h"

namespace kl::table {

// The files of one bucket by level. Level 0 holds overlapping files.
class Levels {
 public:
  Levels(int num_levels, std::vector<DataFileMeta> files);

  int num_levels() const { return num_levels_; }
  int max_level() const { return num_levels_ - 1; }
  const std::vector<DataFileMeta>& level0() const { return level0_; }
  const std::vector<DataFileMeta>& level(int i) const { return levels_[static_cast<size_t>(i)]; }
  std::vector<DataFileMeta> AllFiles() const;
  // Highest level holding data (-1 when empty).
  int NonEmptyHighestLevel() const;
  void AddLevel0(const DataFileMeta& file);
  void Update(const std::vector<DataFileMeta>& before, const std::vector<DataFileMeta>& after);

  struct Run {
    int level;
    std::vector<DataFileMeta> files;
    int64_t size = 0;
  };
  // Level-0 files one run each (newest first), then each non-empty level.
  std::vector<Run> Runs() const;

 private:
  int num_levels_;
  std::vector<DataFileMeta> level0_;
  std::vector<std::vector<DataFileMeta>> levels_;
};

struct CompactUnit {
  int output_level = 0;
  std::vector<DataFileMeta> files;
  std::vector<std::vector<DataFileMeta>> runs;  // the picked runs, newest first
};

struct UniversalCompactionOptions {
  int max_size_amplification_percent = 200;
  int size_ratio = 1;
  int num_run_compaction_trigger = 5;

  static UniversalCompactionOptions From(const TableOptions& options);
};

std::optional<CompactUnit> PickUniversalCompaction(const UniversalCompactionOptions& options, int num_levels,
                                                   const std::vector<Levels::Run>& runs);
// Universal compaction if due, else every level-0 run (with the runs it must take along
// so the output lands above level 0): Paimon's "force up level 0", used where batch
// reads see only levels > 0 (deletion-vector and first-row tables).
std::optional<CompactUnit> PickForceUpLevel0Compaction(const UniversalCompactionOptions& options, int num_levels,
                                                       const std::vector<Levels::Run>& runs);
// Compaction of a bucket whose level-0 files wait until there are several of them
// (kubelake.compaction.level0-file-num > 1): those files are merged together in any case, so
// they start the pick as one candidate, which takes in the runs below while they are no
// larger than it (size ratio); size amplification first, as universal. Universal's run-count
// rule would let a level-0 batch of similar tiny files count as that many runs: whenever the
// newest file is a little smaller than the one before it (flushes vary in size), the size
// ratio does not start and the run count forces the batch into the next levels too,
// rewriting runs far larger than the batch. Here the runs above level 0 are bounded at twice
// num-sorted-run.compaction-trigger instead.
std::optional<CompactUnit> PickLevel0BatchCompaction(const UniversalCompactionOptions& options, int num_levels,
                                                     const std::vector<Levels::Run>& runs);
// Everything into the last level.
std::optional<CompactUnit> PickFullCompaction(int num_levels, const std::vector<Levels::Run>& runs);

// Append tables: which files of a bucket (in sequence order) to merge next, as
// a range [first, last] of consecutive files, so merged files keep covering
// consecutive sequence numbers. Files of at least half the target size are
// done. The others form tiers of similar size (in rows): walking from the newest,
// a file joins the tier of the newer ones unless it has more than twice their
// average row count. The newest tier of `min_file_num` files (at most `max_file_num`, and
// no more than the target size) is merged, so each byte is rewritten about
// log(min_file_num) of (target / commit size) times, not once per commit; a bucket
// with more than `max_file_num` small files merges its newest ones regardless.
std::optional<std::pair<size_t, size_t>> PickAppendCompaction(const std::vector<DataFileMeta>& files_in_sequence_order,
                                                              int64_t target_file_size, int min_file_num,
                                                              int max_file_num);

}  // namespace kl::table
