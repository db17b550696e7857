#include "table/mergetree/compaction.h"

#include <algorithm>
#include <set>

namespace kl::table {

Levels::Levels(int num_levels, std::vector<DataFileMeta> files) : num_levels_(std::max(num_levels, 2)) {
  // Files written with more levels (another writer's num-levels) keep theirs, as
  // Paimon restores them: each level above 0 is one sorted run, so two levels
  // folded into one would overlap.
  for (const auto& f : files) num_levels_ = std::max(num_levels_, f.level + 1);
  levels_.resize(static_cast<size_t>(num_levels_));
  for (auto& f : files) {
    if (f.level <= 0)
      level0_.push_back(std::move(f));
    else
      levels_[static_cast<size_t>(f.level)].push_back(std::move(f));
  }
}

std::vector<DataFileMeta> Levels::AllFiles() const {
  std::vector<DataFileMeta> all = level0_;
  for (const auto& l : levels_) all.insert(all.end(), l.begin(), l.end());
  return all;
}

int Levels::NonEmptyHighestLevel() const {
  for (int i = num_levels_ - 1; i > 0; --i) {
    if (!levels_[static_cast<size_t>(i)].empty()) return i;
  }
  return level0_.empty() ? -1 : 0;
}

void Levels::AddLevel0(const DataFileMeta& file) { level0_.push_back(file); }

void Levels::Update(const std::vector<DataFileMeta>& before, const std::vector<DataFileMeta>& after) {
  std::set<std::pair<int32_t, std::string>> removed;
  for (const auto& f : before) removed.emplace(f.level, f.file_name);
  auto drop = [&](std::vector<DataFileMeta>& v) {
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](const DataFileMeta& f) {
                             return removed.count({f.level, f.file_name}) != 0;
                           }),
            v.end());
  };
  drop(level0_);
  for (auto& l : levels_) drop(l);
  for (const auto& f : after) {
    if (f.level == 0)
      level0_.push_back(f);
    else
      levels_[static_cast<size_t>(std::min(f.level, num_levels_ - 1))].push_back(f);
  }
}

std::vector<Levels::Run> Levels::Runs() const {
  std::vector<Run> runs;
  std::vector<DataFileMeta> l0 = level0_;
  std::sort(l0.begin(), l0.end(),
            [](const DataFileMeta& a, const DataFileMeta& b) { return a.max_sequence_number > b.max_sequence_number; });
  for (const auto& f : l0) runs.push_back(Run{0, {f}, f.file_size});
  for (int i = 1; i < num_levels_; ++i) {
    const auto& files = levels_[static_cast<size_t>(i)];
    if (files.empty()) continue;
    Run r{i, files, 0};
    for (const auto& f : files) r.size += f.file_size;
    runs.push_back(std::move(r));
  }
  return runs;
}

UniversalCompactionOptions UniversalCompactionOptions::From(const TableOptions& options) {
  UniversalCompactionOptions o;
  o.max_size_amplification_percent = options.max_size_amplification_percent();
  o.size_ratio = options.size_ratio();
  o.num_run_compaction_trigger = options.num_sorted_run_compaction_trigger();
  return o;
}

namespace {

CompactUnit MakeUnit(int output_level, const std::vector<Levels::Run>& runs, size_t count) {
  CompactUnit unit;
  unit.output_level = output_level;
  for (size_t i = 0; i < count; ++i) {
    unit.files.insert(unit.files.end(), runs[i].files.begin(), runs[i].files.end());
    unit.runs.push_back(runs[i].files);
  }
  return unit;
}

CompactUnit CreateUnit(const std::vector<Levels::Run>& runs, int max_level, size_t run_count) {
  int output_level;
  if (run_count == runs.size()) {
    output_level = max_level;
  } else {
    output_level = std::max(0, runs[run_count].level - 1);
  }
  if (output_level == 0) {
    // Never write compaction output to level 0: take in runs up to the next non-zero level.
    for (size_t i = run_count; i < runs.size(); ++i) {
      ++run_count;
      if (runs[i].level != 0) {
        output_level = runs[i].level;
        break;
      }
    }
  }
  if (run_count == runs.size()) output_level = max_level;
  return MakeUnit(output_level, runs, run_count);
}

std::optional<CompactUnit> PickForSizeRatio(const UniversalCompactionOptions& o, int max_level,
                                            const std::vector<Levels::Run>& runs, size_t candidate_count,
                                            bool force_pick) {
  int64_t candidate_size = 0;
  for (size_t i = 0; i < candidate_count && i < runs.size(); ++i) candidate_size += runs[i].size;
  for (size_t i = candidate_count; i < runs.size(); ++i) {
    const auto& next = runs[i];
    if (static_cast<double>(candidate_size) * (100.0 + o.size_ratio) / 100.0 < static_cast<double>(next.size)) break;
    candidate_size += next.size;
    ++candidate_count;
  }
  if (force_pick || candidate_count > 1) return CreateUnit(runs, max_level, candidate_count);
  return std::nullopt;
}

}  // namespace

std::optional<CompactUnit> PickUniversalCompaction(const UniversalCompactionOptions& o, int num_levels,
                                                   const std::vector<Levels::Run>& runs) {
  int max_level = num_levels - 1;
  if (runs.size() < static_cast<size_t>(o.num_run_compaction_trigger) || runs.empty()) return std::nullopt;
  // 1. Size amplification: data above the last run against the last run.
  int64_t candidate_size = 0;
  for (size_t i = 0; i + 1 < runs.size(); ++i) candidate_size += runs[i].size;
  int64_t earliest = runs.back().size;
  if (candidate_size * 100 > static_cast<int64_t>(o.max_size_amplification_percent) * earliest) {
    return MakeUnit(max_level, runs, runs.size());
  }
  // 2. Size ratio.
  if (auto unit = PickForSizeRatio(o, max_level, runs, 1, false)) return unit;
  // 3. Run count.
  if (runs.size() > static_cast<size_t>(o.num_run_compaction_trigger)) {
    size_t candidate_count = runs.size() - static_cast<size_t>(o.num_run_compaction_trigger) + 1;
    return PickForSizeRatio(o, max_level, runs, candidate_count, true);
  }
  return std::nullopt;
}

std::optional<CompactUnit> PickForceUpLevel0Compaction(const UniversalCompactionOptions& o, int num_levels,
                                                       const std::vector<Levels::Run>& runs) {
  if (auto unit = PickUniversalCompaction(o, num_levels, runs)) return unit;
  size_t level0_runs = 0;
  while (level0_runs < runs.size() && runs[level0_runs].level == 0) ++level0_runs;
  if (level0_runs == 0) return std::nullopt;
  // CreateUnit moves the output above level 0, taking in the next run if it must.
  return CreateUnit(runs, num_levels - 1, level0_runs);
}

std::optional<CompactUnit> PickLevel0BatchCompaction(const UniversalCompactionOptions& o, int num_levels,
                                                     const std::vector<Levels::Run>& runs) {
  size_t level0_runs = 0;
  while (level0_runs < runs.size() && runs[level0_runs].level == 0) ++level0_runs;
  if (level0_runs < 2) return PickUniversalCompaction(o, num_levels, runs);
  const int max_level = num_levels - 1;
  // 1. Size amplification, as universal: data above the last run against the last run.
  int64_t candidate_size = 0;
  for (size_t i = 0; i + 1 < runs.size(); ++i) candidate_size += runs[i].size;
  if (candidate_size * 100 > static_cast<int64_t>(o.max_size_amplification_percent) * runs.back().size) {
    return MakeUnit(max_level, runs, runs.size());
  }
  // 2. The level-0 batch, taking in the runs below while the size ratio allows, and as many
  // more as keep the runs bounded.
  const size_t bound = 2 * static_cast<size_t>(std::max(1, o.num_run_compaction_trigger));
  size_t candidate_count = level0_runs;
  if (runs.size() > bound) candidate_count = std::max(candidate_count, runs.size() - bound + 1);
  return PickForSizeRatio(o, max_level, runs, candidate_count, /*force_pick=*/true);
}

std::optional<CompactUnit> PickFullCompaction(int num_levels, const std::vector<Levels::Run>& runs) {
  if (runs.empty()) return std::nullopt;
  // Already one run at the last level: nothing to do.
  if (runs.size() == 1 && runs[0].level == num_levels - 1) return std::nullopt;
  return MakeUnit(num_levels - 1, runs, runs.size());
}

std::optional<std::pair<size_t, size_t>> PickAppendCompaction(const std::vector<DataFileMeta>& files,
                                                              int64_t target_file_size, int min_file_num,
                                                              int max_file_num) {
  const size_t min_files = static_cast<size_t>(std::max(2, min_file_num));
  const size_t max_files = std::max(min_files, static_cast<size_t>(std::max(2, max_file_num)));
  auto small = [&](size_t i) { return files[i].file_size < target_file_size / 2; };
  // Tiers from the newest file back; a done file ends the tier.
  size_t small_count = 0;
  std::optional<std::pair<size_t, size_t>> newest_small_run;  // for the cap on small files
  size_t i = files.size();
  while (i > 0) {
    if (!small(i - 1)) {
      --i;
      continue;
    }
    // Tiers compare row counts: they add up exactly when files merge, where
    // compressed sizes may barely grow (a merged file then kept matching the
    // newest files' tier and was rewritten at every merge).
    auto weight = [&](size_t k) { return std::max<int64_t>(1, files[k].row_count); };
    size_t last = i - 1, first = last;
    int64_t total = weight(last), bytes = files[last].file_size;
    while (first > 0 && small(first - 1) && last - first + 1 < max_files) {
      int64_t w = weight(first - 1);
      size_t count = last - first + 1;
      if (w > 2 * total / static_cast<int64_t>(count) || bytes + files[first - 1].file_size > target_file_size) break;
      total += w;
      bytes += files[first - 1].file_size;
      --first;
    }
    if (last - first + 1 >= min_files) return std::make_pair(first, last);
    // The whole run of consecutive small files this tier belongs to, for the cap.
    size_t run_first = first;
    while (run_first > 0 && small(run_first - 1)) --run_first;
    if (!newest_small_run) newest_small_run = std::make_pair(run_first, last);
    for (size_t k = first; k <= last; ++k) ++small_count;
    i = first;
  }
  if (small_count > max_files && newest_small_run) {
    auto [first, last] = *newest_small_run;
    if (last - first + 1 >= 2) {
      if (last - first + 1 > max_files) first = last + 1 - max_files;
      return std::make_pair(first, last);
    }
  }
  return std::nullopt;
}

}  // namespace kl::table
