// Committed consumer-group offsets of the embedded log: one small JSON file
// per group under <log>/consumers/, replaced atomically on every commit, so a
// crash leaves either the old or the new offsets, never a mix.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

namespace kl::log {

// Group names become file names: letters, digits, '.', '_', '-'; 1-200 chars.
Status ValidateGroupName(const std::string& group);

class OffsetStore {
 public:
  explicit OffsetStore(std::string dir) : dir_(std::move(dir)) {}

  // partition -> next offset to read; empty when the group never committed.
  Result<std::map<int32_t, int64_t>> Load(const std::string& group) const;
  // Merges `offsets` into the group's committed offsets.
  Status Commit(const std::string& group, const std::map<int32_t, int64_t>& offsets, bool sync);
  // Every group with a file.
  Result<std::vector<std::string>> Groups() const;

 private:
  std::string PathFor(const std::string& group) const;
  std::string dir_;
  std::mutex mu_;  // read-modify-write of one group's file within this process
};

}  // namespace kl::log
