// The bytes of a column chunk until its row group is written, in memory that earlier chunks
// already faulted in: a flush or compaction writes 80-130 MB of chunks, and growing each one
// into fresh pages (which the kernel zeroes on first touch) was a tenth of a Parquet write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace kl::format::parquet {

// Grown without zeroing; takes and gives back its memory through a process-wide pool. The pool
// keeps at most kChunkPoolMaxBytes, and frees what no writer took for kChunkPoolIdleMicros, so a
// long-running process that stops writing Parquet (or writes only small files) does not keep a
// large compaction's chunks for good.
class ChunkBuffer {
 public:
  ChunkBuffer() = default;
  ~ChunkBuffer();
  ChunkBuffer(const ChunkBuffer&) = delete;
  ChunkBuffer& operator=(const ChunkBuffer&) = delete;

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  std::string_view view() const { return std::string_view(data_.get(), size_); }
  void Clear() { size_ = 0; }
  void Append(std::string_view v);
  // Room for `n` more bytes after size(), which stays as it is until Resize; the pointer is
  // good until the next Append or Extend.
  char* Extend(size_t n);
  // Sets the size; at most size() plus the room of the last Extend.
  void Resize(size_t n) { size_ = n; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0, capacity_ = 0;
};

constexpr size_t kChunkPoolMaxBytes = size_t{192} << 20;  // a 128 MiB row group and its chunks' slack
constexpr int64_t kChunkPoolIdleMicros = 10'000'000;

// Bytes the pool holds for the next chunks.
size_t ChunkPoolBytes();
// Frees the pool's blocks no writer took for `idle_micros`. Done on every take and give, and
// by kl::ReleaseFreeMemory (which jobs call after their commits).
void ReleaseIdleChunkMemory(int64_t idle_micros = kChunkPoolIdleMicros);

}  // namespace kl::format::parquet
