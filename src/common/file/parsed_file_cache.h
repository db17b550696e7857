// Files parsed once and reused while they are still the file that was parsed
// (same inode, size and mtime): metadata files that never change once written
// (table schemas, snapshots) but are read again by every query. Alongside, the
// latest id last found per directory, a hint its users confirm before relying
// on it. Bounded by entries (cleared when full). Thread-safe.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/file/file_util.h"
#include "common/result.h"

namespace kl {

template <typename T>
class ParsedFileCache {
 public:
  // `parse(text, path)` turns a file's contents into T.
  using Parse = std::function<Result<T>(std::string_view text, std::string_view path)>;
  ParsedFileCache(Parse parse, size_t max_entries) : parse_(std::move(parse)), max_entries_(max_entries) {}

  Result<T> Read(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      KL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));  // names the file and the cause
      return parse_(text, path);
    }
    Stamp stamp{static_cast<uint64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = parsed_.find(path);
      if (it != parsed_.end() && it->second.first == stamp) return it->second.second;
    }
    KL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    KL_ASSIGN_OR_RETURN(T value, parse_(text, path));
    // Kept only when the file read is the one stat() saw (complete).
    if (static_cast<int64_t>(text.size()) == stamp.size) {
      std::lock_guard<std::mutex> lock(mu_);
      if (parsed_.size() >= max_entries_) parsed_.clear();
      parsed_[path] = {stamp, value};
    }
    return value;
  }

  std::optional<int64_t> LatestHint(const std::string& dir) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = latest_.find(dir);
    if (it == latest_.end()) return std::nullopt;
    return it->second;
  }
  void SetLatestHint(const std::string& dir, int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (latest_.size() >= 1024) latest_.clear();
    latest_[dir] = id;
  }

 private:
  struct Stamp {
    uint64_t inode = 0;
    int64_t size = 0, mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  Parse parse_;
  size_t max_entries_;
  std::mutex mu_;
  std::map<std::string, std::pair<Stamp, T>> parsed_;
  std::map<std::string, int64_t> latest_;
};

}  // namespace kl
