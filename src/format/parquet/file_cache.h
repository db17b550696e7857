// Opened Parquet files (mapped, footer parsed) kept for reuse, shared by every
// reader in the process. A point query reads a few rows of a file that the
// query before it read too; opening it again would map it, parse its footer and
// unmap it (a TLB shootdown across cores) every time. A cached file is reused
// only while its identity (device, inode, size, modification time) stays the
// same, so a file replaced under its name is opened afresh.
//
// Bounded by files and by mapped bytes (least recently used leave first), and a
// file unused for `max_idle_ms` leaves at the next open: a file deleted on disk
// (an expired snapshot's) keeps its blocks allocated only while it is mapped.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "format/parquet/parquet_reader.h"

namespace kl::format::parquet {

class ParquetFileCache {
 public:
  struct Limits {
    size_t max_files = 256;
    uint64_t max_mapped_bytes = uint64_t{1} << 30;
    int64_t max_idle_ms = 60000;
  };
  struct Stats {
    int64_t hits = 0;
    int64_t misses = 0;
    size_t files = 0;
    uint64_t mapped_bytes = 0;
  };

  explicit ParquetFileCache(Limits limits) : limits_(limits) {}
  // The process's cache, which ParquetReader::OpenShared uses.
  static ParquetFileCache& Global();

  // The file at `path`, opened now or reused. Errors are those of ParquetReader::Open
  // (and are not cached).
  Result<std::shared_ptr<const ParquetReader>> Open(const std::string& path);

  void SetLimits(Limits limits);
  void Clear();
  Stats stats() const;

 private:
  struct Identity {
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Identity&) const = default;
  };
  struct Entry {
    std::string path;
    Identity identity;
    std::shared_ptr<const ParquetReader> file;
    int64_t last_used_ms = 0;
  };
  using Lru = std::list<Entry>;  // most recently used first

  // Drops entries beyond the limits or idle too long (mu_ held).
  void Trim(int64_t now_ms);
  void Erase(Lru::iterator it);

  mutable std::mutex mu_;
  Limits limits_;
  Lru lru_;
  std::map<std::string, Lru::iterator> by_path_;
  uint64_t mapped_bytes_ = 0;
  int64_t hits_ = 0, misses_ = 0;
};

}  // namespace kl::format::parquet
