// Snapshots: snapshot/snapshot-N JSON files, each naming the manifest lists
// that make up the table at commit N. A snapshot file appears atomically and
// is never rewritten; EARLIEST/LATEST are hints that may lag behind.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace kl::table {

enum class CommitKind : unsigned char { kAppend, kCompact, kOverwrite, kAnalyze };

std::string_view CommitKindName(CommitKind kind);

struct Snapshot {
  static constexpr int kVersion = 3;

  int64_t id = 0;
  int64_t schema_id = 0;
  std::string base_manifest_list;
  std::optional<int64_t> base_manifest_list_size;
  std::string delta_manifest_list;
  std::optional<int64_t> delta_manifest_list_size;
  std::optional<std::string> changelog_manifest_list;
  std::optional<int64_t> changelog_manifest_list_size;
  std::optional<std::string> index_manifest;
  std::string commit_user;
  int64_t commit_identifier = 0;
  CommitKind commit_kind = CommitKind::kAppend;
  int64_t time_millis = 0;
  // Offsets of the log the commit has consumed, by log partition (Paimon's logOffsets).
  std::map<int32_t, int64_t> log_offsets;
  std::optional<int64_t> total_record_count;
  std::optional<int64_t> delta_record_count;
  std::optional<int64_t> changelog_record_count;
  std::optional<int64_t> watermark;
  std::optional<int64_t> next_row_id;

  std::string ToJson() const;
  static Result<Snapshot> FromJson(std::string_view json, std::string_view what);
};

class SnapshotManager {
 public:
  explicit SnapshotManager(std::string table_path);

  const std::string& table_path() const { return table_path_; }
  std::string SnapshotDir() const;
  std::string SnapshotPath(int64_t id) const;

  Result<Snapshot> Read(int64_t id) const;
  bool Exists(int64_t id) const;
  // Latest / earliest snapshot id; nullopt for an empty table.
  Result<std::optional<int64_t>> LatestId() const;
  Result<std::optional<int64_t>> EarliestId() const;
  Result<std::optional<Snapshot>> Latest() const;
  // All snapshot ids present, ascending.
  Result<std::vector<int64_t>> ListIds() const;
  // The newest snapshot committed at or before `time_millis`.
  Result<std::optional<Snapshot>> AtOrBefore(int64_t time_millis) const;

  // Publishes snapshot-<snapshot.id>; Conflict when that id already exists.
  Status Commit(const Snapshot& snapshot) const;
  Status WriteLatestHint(int64_t id) const;
  Status WriteEarliestHint(int64_t id) const;

 private:
  Result<std::optional<int64_t>> ReadHint(const std::string& name) const;

  std::string table_path_;
};

}  // namespace kl::table
