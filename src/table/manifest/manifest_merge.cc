#include "table/manifest/manifest_merge.h"

#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "table/data/binary_row.h"

namespace kl::table {
namespace {

using format::DataType;
using format::Datum;

// A manifest a full compaction rewrites in any case: small, or holding DELETE entries.
bool MustChange(const ManifestFileMeta& m, const ManifestMergeOptions& o) {
  return m.num_deleted_files > 0 || m.file_size < o.target_file_size;
}

// Whether a manifest whose partition statistics are `stats` may list a file of
// `partition`; unreadable or absent statistics admit everything.
bool MayHoldPartition(const SimpleStats& stats, const format::Row& partition, const std::vector<DataType>& types) {
  auto mins = DeserializeBinaryRow(stats.min_values, types);
  auto maxs = DeserializeBinaryRow(stats.max_values, types);
  if (!mins.ok() || !maxs.ok()) return true;
  for (size_t i = 0; i < types.size() && i < partition.size(); ++i) {
    const Datum& v = partition[i];
    if (v.is_null()) {
      bool no_nulls = stats.null_counts && i < stats.null_counts->size() && (*stats.null_counts)[i] &&
                      *(*stats.null_counts)[i] == 0;
      if (no_nulls) return false;
      continue;
    }
    const Datum& lo = (*mins)[i];
    const Datum& hi = (*maxs)[i];
    if (lo.is_null() || hi.is_null()) continue;  // no bounds recorded
    if (format::CompareDatum(v, lo) < 0 || format::CompareDatum(v, hi) > 0) return false;
  }
  return true;
}

Status AppendWritten(const ManifestIO& io, const std::vector<ManifestEntry>& entries, int64_t target_size,
                     std::vector<ManifestFileMeta>* result, std::vector<std::string>* written) {
  KL_ASSIGN_OR_RETURN(std::vector<ManifestFileMeta> metas, io.WriteManifests(entries, target_size));
  for (auto& m : metas) {
    written->push_back(m.file_name);
    result->push_back(std::move(m));
  }
  return Status::OK();
}

// The entries of `candidates` (in order) after ADD and DELETE of the same file
// cancel; a DELETE whose ADD is not among them stays (its ADD is in an earlier manifest).
Result<std::vector<ManifestEntry>> CancelWithin(const ManifestIO& io, const std::vector<ManifestFileMeta>& candidates) {
  std::vector<std::optional<ManifestEntry>> slots;
  std::unordered_map<std::string, size_t> index;  // identifier -> its slot
  for (const auto& m : candidates) {
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, io.ReadManifest(m.file_name));
    for (auto& e : entries) {
      std::string id = e.Identifier();
      auto it = index.find(id);
      if (it == index.end()) {
        index.emplace(std::move(id), slots.size());
        slots.push_back(std::move(e));
        continue;
      }
      ManifestEntry& earlier = *slots[it->second];
      if (earlier.kind == e.kind) {
        return Status::Corruption("manifest " + m.file_name + ": file " + e.file.file_name + " is " +
                                  (e.kind == FileKind::kAdd ? "added" : "deleted") + " twice");
      }
      // ADD then DELETE (or a DELETE met before its ADD): the file is neither live nor pending.
      slots[it->second].reset();
      index.erase(it);
    }
  }
  std::vector<ManifestEntry> out;
  out.reserve(index.size());
  for (auto& s : slots) {
    if (s) out.push_back(std::move(*s));
  }
  return out;
}

Status MergeCandidates(const ManifestIO& io, const std::vector<ManifestFileMeta>& candidates,
                       const ManifestMergeOptions& o, std::vector<ManifestFileMeta>* result,
                       std::vector<std::string>* written) {
  if (candidates.size() == 1) {
    result->push_back(candidates[0]);
    return Status::OK();
  }
  KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> merged, CancelWithin(io, candidates));
  if (merged.empty()) return Status::OK();
  return AppendWritten(io, merged, o.target_file_size, result, written);
}

Result<std::vector<ManifestFileMeta>> MinorCompaction(const ManifestIO& io, const std::vector<ManifestFileMeta>& input,
                                                      const ManifestMergeOptions& o,
                                                      std::vector<std::string>* written) {
  std::vector<ManifestFileMeta> result, candidates;
  int64_t total = 0;
  for (const auto& m : input) {
    total += m.file_size;
    candidates.push_back(m);
    if (total >= o.target_file_size) {
      KL_RETURN_IF_ERROR(MergeCandidates(io, candidates, o, &result, written));
      candidates.clear();
      total = 0;
    }
  }
  if (candidates.size() >= static_cast<size_t>(std::max(1, o.min_count))) {
    KL_RETURN_IF_ERROR(MergeCandidates(io, candidates, o, &result, written));
  } else {
    result.insert(result.end(), candidates.begin(), candidates.end());
  }
  return result;
}

Result<std::optional<std::vector<ManifestFileMeta>>> FullCompaction(const ManifestIO& io,
                                                                    const std::vector<ManifestFileMeta>& input,
                                                                    const ManifestMergeOptions& o,
                                                                    std::vector<std::string>* written) {
  using Out = std::optional<std::vector<ManifestFileMeta>>;
  int64_t must_change_size = 0;
  for (const auto& m : input) {
    if (MustChange(m, o)) must_change_size += m.file_size;
  }
  if (must_change_size < std::max<int64_t>(1, o.full_compaction_threshold_size)) return Out();

  // Every file some DELETE entry removes, and the partitions they were in.
  std::unordered_set<std::string> deleted;
  std::unordered_set<std::string> deleted_partitions;
  for (const auto& m : input) {
    if (m.num_deleted_files == 0) continue;
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, io.ReadManifest(m.file_name));
    for (const auto& e : entries) {
      if (e.kind != FileKind::kDelete) continue;
      deleted.insert(e.Identifier());
      deleted_partitions.insert(e.partition);
    }
  }
  std::vector<DataType> types = TypesOf(io.partition_type());
  std::vector<format::Row> partitions;
  bool unknown_partition = false;
  for (const auto& p : deleted_partitions) {
    auto row = DeserializeBinaryRow(p, types);
    if (row.ok())
      partitions.push_back(std::move(row).value());
    else
      unknown_partition = true;
  }
  // Large manifests without DELETEs that no deleted file can be in stay unread.
  std::vector<ManifestFileMeta> result, to_merge;
  for (const auto& m : input) {
    bool may_change = MustChange(m, o);
    if (!may_change && !deleted.empty()) {
      may_change = types.empty() || unknown_partition;
      for (size_t i = 0; !may_change && i < partitions.size(); ++i) {
        may_change = MayHoldPartition(m.partition_stats, partitions[i], types);
      }
    }
    (may_change ? to_merge : result).push_back(m);
  }
  if (to_merge.size() <= 1) return Out();

  std::vector<ManifestEntry> rewritten;
  for (const auto& m : to_merge) {
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, io.ReadManifest(m.file_name));
    bool change = MustChange(m, o);
    std::vector<ManifestEntry> kept;
    kept.reserve(entries.size());
    for (auto& e : entries) {
      if (e.kind == FileKind::kDelete) continue;
      if (deleted.count(e.Identifier()) != 0) {
        change = true;
      } else {
        kept.push_back(std::move(e));
      }
    }
    if (change) {
      rewritten.insert(rewritten.end(), std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
    } else {
      result.push_back(m);
    }
  }
  KL_RETURN_IF_ERROR(AppendWritten(io, rewritten, o.target_file_size, &result, written));
  return Out(std::move(result));
}

}  // namespace

ManifestMergeOptions ManifestMergeOptions::FromTable(const TableOptions& options) {
  ManifestMergeOptions o;
  o.target_file_size = options.manifest_target_size();
  o.min_count = options.manifest_merge_min_count();
  o.full_compaction_threshold_size = options.manifest_full_compaction_threshold_size();
  return o;
}

Result<std::vector<ManifestFileMeta>> MergeManifests(const ManifestIO& io, const std::vector<ManifestFileMeta>& input,
                                                     const ManifestMergeOptions& options,
                                                     std::vector<std::string>* written) {
  KL_ASSIGN_OR_RETURN(auto full, FullCompaction(io, input, options, written));
  if (full) return std::move(*full);
  return MinorCompaction(io, input, options, written);
}

}  // namespace kl::table
