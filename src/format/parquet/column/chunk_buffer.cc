#include "format/parquet/column/chunk_buffer.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/clock.h"
#include "common/memory.h"

namespace kl::format::parquet {
namespace {

// A block bigger than this many times the request stays for a larger chunk.
constexpr size_t kMaxOversize = 4;
constexpr size_t kMinBlockBytes = size_t{64} << 10;

class ChunkPool {
 public:
  static ChunkPool& Get() {
    static ChunkPool* pool = [] {
      AddFreeMemoryReleaser([] { ReleaseIdleChunkMemory(); });  // a process that stops writing frees it
      return new ChunkPool();                                   // never destroyed: writers may outlive statics
    }();
    return *pool;
  }

  // The smallest kept block of at least `n` bytes and at most kMaxOversize times `n` (null
  // when none).
  std::unique_ptr<char[]> Take(size_t n, size_t* capacity) {
    std::vector<Block> freed;  // freed outside the lock
    std::lock_guard<std::mutex> lock(mu_);
    DropIdle(&freed);
    size_t best = blocks_.size();
    for (size_t i = 0; i < blocks_.size(); ++i) {
      size_t c = blocks_[i].capacity;
      if (c >= n && c / kMaxOversize <= n && (best == blocks_.size() || c < blocks_[best].capacity)) best = i;
    }
    if (best == blocks_.size()) return nullptr;
    std::unique_ptr<char[]> out = std::move(blocks_[best].data);
    *capacity = blocks_[best].capacity;
    RemoveAt(best, nullptr);
    return out;
  }

  // Keeps `data`; when full, larger blocks push out smaller ones (a chunk grown once more
  // saves more), and a block smaller than all the kept ones is freed.
  void Give(std::unique_ptr<char[]> data, size_t capacity) {
    std::vector<Block> freed;
    std::lock_guard<std::mutex> lock(mu_);
    DropIdle(&freed);
    while (bytes_ + capacity > kChunkPoolMaxBytes && !blocks_.empty()) {
      size_t smallest = 0;
      for (size_t i = 1; i < blocks_.size(); ++i) {
        if (blocks_[i].capacity < blocks_[smallest].capacity) smallest = i;
      }
      if (blocks_[smallest].capacity >= capacity) break;
      RemoveAt(smallest, &freed);
    }
    if (bytes_ + capacity > kChunkPoolMaxBytes) return;  // `data` is freed here
    bytes_ += capacity;
    blocks_.push_back(Block{std::move(data), capacity, MonotonicMicros()});
  }

  void ReleaseIdle(int64_t idle_micros) {
    std::vector<Block> freed;
    std::lock_guard<std::mutex> lock(mu_);
    DropIdle(&freed, idle_micros);
  }

  size_t bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
    int64_t given_us = 0;
  };

  void RemoveAt(size_t i, std::vector<Block>* freed) {
    bytes_ -= blocks_[i].capacity;
    if (freed != nullptr) freed->push_back(std::move(blocks_[i]));
    blocks_[i] = std::move(blocks_.back());
    blocks_.pop_back();
  }
  void DropIdle(std::vector<Block>* freed, int64_t idle_micros = kChunkPoolIdleMicros) {
    const int64_t oldest = MonotonicMicros() - idle_micros;
    for (size_t i = 0; i < blocks_.size();) {
      if (blocks_[i].given_us <= oldest)
        RemoveAt(i, freed);
      else
        ++i;
    }
  }

  std::mutex mu_;
  std::vector<Block> blocks_;
  size_t bytes_ = 0;
};

}  // namespace

ChunkBuffer::~ChunkBuffer() {
  if (data_) ChunkPool::Get().Give(std::move(data_), capacity_);
}

char* ChunkBuffer::Extend(size_t n) {
  if (capacity_ - size_ < n) {
    // Grown geometrically, so a chunk written page by page is copied O(log n) times.
    const size_t want = std::max({size_ + n, 2 * capacity_, kMinBlockBytes});
    size_t capacity = 0;
    std::unique_ptr<char[]> bigger = ChunkPool::Get().Take(want, &capacity);
    if (!bigger) {
      capacity = want;
      bigger.reset(new char[capacity]);  // not zeroed
    }
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    if (data_) ChunkPool::Get().Give(std::move(data_), capacity_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }
  return data_.get() + size_;
}

void ChunkBuffer::Append(std::string_view v) {
  if (v.empty()) return;
  std::memcpy(Extend(v.size()), v.data(), v.size());
  size_ += v.size();
}

size_t ChunkPoolBytes() { return ChunkPool::Get().bytes(); }

void ReleaseIdleChunkMemory(int64_t idle_micros) { ChunkPool::Get().ReleaseIdle(idle_micros); }

}  // namespace kl::format::parquet
