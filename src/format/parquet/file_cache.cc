#include "format/parquet/file_cache.h"

#include <sys/stat.h>

#include "common/clock.h"

namespace kl::format::parquet {

ParquetFileCache& ParquetFileCache::Global() {
  static ParquetFileCache* cache = new ParquetFileCache(Limits{});
  return *cache;
}

Result<std::shared_ptr<const ParquetReader>> ParquetFileCache::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    // Missing or unreadable: ParquetReader::Open says which, with the path.
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = by_path_.find(path); it != by_path_.end()) Erase(it->second);
    ++misses_;
    KL_ASSIGN_OR_RETURN(auto file, ParquetReader::Open(path));
    return std::shared_ptr<const ParquetReader>(std::move(file));
  }
  Identity id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
              static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  int64_t now = MonotonicMicros() / 1000;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Trim(now);
    auto it = by_path_.find(path);
    if (it != by_path_.end()) {
      if (it->second->identity == id) {
        ++hits_;
        it->second->last_used_ms = now;
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->file;
      }
      Erase(it->second);  // replaced on disk
    }
    ++misses_;
  }
  // Opened outside the lock: another thread may open the same file meanwhile (both work).
  KL_ASSIGN_OR_RETURN(auto opened, ParquetReader::Open(path));
  std::shared_ptr<const ParquetReader> file(std::move(opened));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_path_.find(path);
  if (it != by_path_.end()) {
    if (it->second->identity == id) return it->second->file;
    Erase(it->second);
  }
  lru_.push_front(Entry{path, id, file, now});
  by_path_[path] = lru_.begin();
  mapped_bytes_ += id.size;
  Trim(now);
  return file;
}

void ParquetFileCache::Erase(Lru::iterator it) {
  mapped_bytes_ -= it->identity.size;
  by_path_.erase(it->path);
  lru_.erase(it);
}

void ParquetFileCache::Trim(int64_t now_ms) {
  while (!lru_.empty()) {
    const Entry& last = lru_.back();
    bool over = lru_.size() > limits_.max_files || mapped_bytes_ > limits_.max_mapped_bytes;
    bool idle = now_ms - last.last_used_ms > limits_.max_idle_ms;
    if (!over && !idle) break;
    Erase(std::prev(lru_.end()));
  }
}

void ParquetFileCache::SetLimits(Limits limits) {
  std::lock_guard<std::mutex> lock(mu_);
  limits_ = limits;
  Trim(MonotonicMicros() / 1000);
}

void ParquetFileCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  lru_.clear();
  by_path_.clear();
  mapped_bytes_ = 0;
}

ParquetFileCache::Stats ParquetFileCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{hits_, misses_, lru_.size(), mapped_bytes_};
}

}  // namespace kl::format::parquet
