#include "table/operation/recent_files.h"

#include <list>
#include <mutex>
#include <unordered_map>

#include "common/file/file_util.h"

namespace kl::table {

struct RecentFiles::Impl {
  struct Slot {
    std::shared_ptr<const FileRows> rows;
    FileStamp stamp;
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

size_t RecentFiles::max_file_bytes() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->budget / 2;
}

void RecentFiles::Put(const std::string& path, std::shared_ptr<const FileRows> rows) {
  size_t bytes = sizeof(FileRows);
  for (const auto& c : rows->chunks) bytes += c.UsedBytes();
  FileStamp stamp = StampFile(path);
  if (stamp.size < 0) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (bytes > impl_->budget / 2 || impl_->map.count(path) != 0) return;
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
  FileStamp stamp = StampFile(path);
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
