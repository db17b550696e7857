#include "table/operation/recent_files.h"

#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <set>
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
  // AddReader's readers: id -> table path, columns.
  std::map<int64_t, std::pair<std::string, std::vector<std::string>>> readers;
  int64_t last_reader = 0;
  std::set<std::string> decoding;  // paths a DecodeOnce is decoding
  std::condition_variable decoded;
  Stats stats;

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

std::shared_ptr<const FileRows> RecentFiles::Find(const std::string& path) { return Lookup(path, /*count=*/true); }

std::shared_ptr<const FileRows> RecentFiles::Lookup(const std::string& path, bool count) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->map.count(path) == 0) {
      if (count) ++impl_->stats.misses;
      return nullptr;
    }
  }
  FileStamp stamp = StampFile(path);
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->map.find(path);
  if (it == impl_->map.end() || !(it->second.stamp == stamp)) {
    if (it != impl_->map.end()) {
      impl_->used -= it->second.bytes;
      impl_->lru.erase(it->second.lru);
      impl_->map.erase(it);
    }
    if (count) ++impl_->stats.misses;
    return nullptr;
  }
  impl_->lru.splice(impl_->lru.begin(), impl_->lru, it->second.lru);
  if (count) ++impl_->stats.hits;
  return it->second.rows;
}

int64_t RecentFiles::AddReader(const std::string& table_path, std::vector<std::string> columns) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  int64_t id = ++impl_->last_reader;
  impl_->readers[id] = {table_path, std::move(columns)};
  return id;
}

void RecentFiles::RemoveReader(int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->readers.erase(id);
}

std::vector<std::string> RecentFiles::SharedColumns(const std::string& table_path) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::set<std::string> all;
  int readers = 0;
  for (const auto& [id, reader] : impl_->readers) {
    if (reader.first != table_path) continue;
    ++readers;
    all.insert(reader.second.begin(), reader.second.end());
  }
  if (readers < 2) return {};
  return std::vector<std::string>(all.begin(), all.end());
}

Result<std::shared_ptr<const FileRows>> RecentFiles::DecodeOnce(
    const std::string& path, const std::function<Result<std::shared_ptr<const FileRows>>()>& decode) {
  {
    std::unique_lock<std::mutex> lock(impl_->mu);
    bool waited = false;
    if (impl_->decoding.count(path) != 0) {
      ++impl_->stats.waits;
      impl_->decoded.wait(lock, [&] { return impl_->decoding.count(path) == 0; });
      waited = true;
    }
    if (impl_->map.count(path) != 0) {
      lock.unlock();
      // The caller's Find counted this read (a miss): it is not counted again.
      return Lookup(path, /*count=*/false);  // null if the file changed since
    }
    // Not kept after all (too large, or the decode failed): the caller reads on its own.
    if (waited) return std::shared_ptr<const FileRows>();
    impl_->decoding.insert(path);
  }
  // However the decode ends, even by an exception, the readers waiting for it go on.
  struct DecodeDone {
    Impl* impl;
    const std::string& path;
    ~DecodeDone() {
      {
        std::lock_guard<std::mutex> lock(impl->mu);
        impl->decoding.erase(path);
        ++impl->stats.decodes;
      }
      impl->decoded.notify_all();
    }
  } done{impl_.get(), path};
  Result<std::shared_ptr<const FileRows>> rows = decode();
  if (rows.ok() && *rows) Put(path, *rows);
  return rows;
}

RecentFiles::Stats RecentFiles::stats() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

}  // namespace kl::table
