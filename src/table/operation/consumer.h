// Consumers: named streaming readers of a table that record the next
// snapshot they need, as Paimon does (`<table>/consumer/consumer-<id>`,
// JSON {"nextSnapshot": N}). Snapshot expiry keeps every snapshot from the
// smallest recorded one on, so a reader that falls behind (or is stopped for
// a while) finds its changelog still there when it resumes.
//
// kubelake writes the JSON as a fixed-size record rewritten in place (no new
// file per checkpoint) whose two halves each carry the position and its
// checksum; Paimon's readers see {"nextSnapshot": N, ...} and ignore the
// rest. Files in Paimon's plain layout are read too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl::table {

class ConsumerManager {
 public:
  explicit ConsumerManager(std::string table_path);

  // Records that consumer `id` next reads snapshot `next_snapshot`: in place
  // once the file exists, so that a write torn anywhere leaves the position
  // before it or after it, never another one.
  Status Record(const std::string& id, int64_t next_snapshot) const;
  // The consumer's next snapshot; nullopt when it has none recorded.
  Result<std::optional<int64_t>> Read(const std::string& id) const;
  // Every consumer's next snapshot, by id.
  Result<std::map<std::string, int64_t>> ReadAll() const;
  // Deletes consumers last recorded before `millis` (stale readers must not pin
  // snapshots forever); returns their ids.
  Result<std::vector<std::string>> ExpireRecordedBefore(int64_t millis) const;
  // The smallest next snapshot of all consumers, if there are any.
  Result<std::optional<int64_t>> MinNextSnapshot() const;

  std::string ConsumerPath(const std::string& id) const;
  // The whole text Record leaves in a consumer file for `next_snapshot`.
  static std::string RecordText(int64_t next_snapshot);
  // The position a consumer file's text holds (either layout); `path` names it in errors.
  static Result<int64_t> ParseRecord(std::string_view text, const std::string& path);

 private:
  std::string dir_;
};

}  // namespace kl::table
