#include "table/operation/recent_files.h"

#include <sys/stat.h>

#include <list>
#include <mutex>
#include <unordered_map>

namespace kl::table {
namespace {

struct Stamp {
  int64_t size = -1;
  int64_t mtime_ns = 0;
  bool operator==(const Stamp& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
};

Stamp StampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<int64_t>(st.st_mtim.tv_nsec)};
}

}  // namespace

struct RecentFiles::Impl {
  struct Slot {
    std::shared_ptr<const FileRows> rows;
    Stamp stamp;
    size_t bytes;
    std::list<std::string>::iterator lru;
  };
  std::mutex mu;
  std::list<std::string> lru;
  std::unordered_map<std::string, Slot> map;
  size_t used = 0;
  size_t budget = 64u << 20;

  void Evict() {
    while (used > budget && !lru.empty()) {
      auto it = map.find(lru.back());
      used -= it->second.bytes;
      map.erase(it);
      lru.pop_back();
    }
  }
};

RecentFiles::RecentFiles() : impl_(std::make_unique<Impl>()) {}

RecentFiles& RecentFiles::Get() {
  static RecentFiles* files = new RecentFiles();
  return *files;
}

void RecentFiles::SetBudget(size_t bytes) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->budget = bytes;
  impl_->Evict();
}

void RecentFiles::Put(const std::string& path, std::shared_ptr<const FileRows> rows) {
  size_t bytes = sizeof(FileRows);
  for (const auto& c : rows->chunks) bytes += c.UsedBytes();
  Stamp stamp = StampOf(path);
  if (stamp.size < 0) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (bytes > impl_->budget / 4 || impl_->map.count(path) != 0) return;
  impl_->lru.push_front(path);
  impl_->map.emplace(path, Impl::Slot{std::move(rows), stamp, bytes, impl_->lru.begin()});
  impl_->used += bytes;
  impl_->Evict();
}

std::shared_ptr<const FileRows> RecentFiles::Find(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->map.count(path) == 0) return nullptr;
  }
  Stamp stamp = StampOf(path);
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->map.find(path);
  if (it == impl_->map.end()) return nullptr;
  if (!(it->second.stamp == stamp)) {
    impl_->used -= it->second.bytes;
    impl_->lru.erase(it->second.lru);
    impl_->map.erase(it);
    return nullptr;
  }
  impl_->lru.splice(impl_->lru.begin(), impl_->lru, it->second.lru);
  return it->second.rows;
}

}  // namespace kl::table
