// RowArena: rows of one RowType packed back to back in large blocks. Write
// buffers keep rows here so that emitting them in sorted key order reads
// each row from one place: a permutation gathered from columns would take a
// cache and TLB miss per value, from rows about one per row.
//
// A row is its null bits, one 8-byte slot per field (the value of an integer
// or double; offset and length in the row of anything longer), then the
// variable-length part, so any field is found without walking the row.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format/column.h"

namespace kl::format {

class RowArena {
 public:
  explicit RowArena(RowType type);

  const RowType& type() const { return type_; }
  size_t size() const { return rows_.size(); }
  size_t UsedBytes() const { return used_bytes_; }
  // Bytes of the blocks held, in use or kept for reuse.
  size_t ReservedBytes() const;
  // Forgets every row but keeps the blocks for the rows to come: a buffer that fills
  // again soon reuses pages already faulted in (the kernel zeroes a fresh page on first
  // touch, which cost as much as encoding the rows into it).
  void Clear();
  // Frees the blocks Clear() kept beyond what the rows needed at most over the last
  // kReleaseWindow calls: a buffer that refills as much keeps its pages, one gone quiet
  // for that many calls gives them back. One call's peak is not enough: a job catching
  // up commits big and small intervals in turn, and would fault in its pages again at
  // every big one.
  void ReleaseMemory();
  static constexpr size_t kReleaseWindow = 4;

  // Appends row `row` of `batch` (columns of type()).
  void Append(const ColumnBatch& batch, size_t row);
  // Appends rows [begin, end) of `batch`.
  void AppendRange(const ColumnBatch& batch, size_t begin, size_t end);
  // Appends the fields of stored row `index` to the columns of `out`.
  void DecodeInto(size_t index, ColumnBatch* out) const { DecodeRows(&index, 1, out); }
  // Appends stored rows `indexes[0..n)`, in that order, to the columns of `out`.
  void DecodeRows(const size_t* indexes, size_t n, ColumnBatch* out) const;

 private:
  char* Reserve(size_t n);
  // Bytes row `row` of `batch` takes in the arena.
  size_t RowBytes(const ColumnBatch& batch, size_t row) const;
  // Writes the fields of row `row` of `batch` into `p` (RowBytes() long).
  void Encode(const ColumnBatch& batch, size_t row, char* p);

  RowType type_;
  std::vector<PhysicalKind> kinds_;
  size_t null_bytes_;
  size_t fixed_bytes_;                 // null bits + slots
  std::vector<uint8_t> column_nulls_;  // per field: some stored row has a null there
  std::vector<uint64_t> var_bytes_;    // per byte-string field: total length stored
  struct BlockDeleter {
    void operator()(char* p) const;
  };
  struct Block {
    std::unique_ptr<char, BlockDeleter> data;
    size_t size = 0;
  };
  std::vector<Block> blocks_;                   // in use; the last one is being filled
  std::vector<Block> spare_;                    // kept by Clear(), none oversized; the next to use last
  size_t regular_blocks_ = 0;                   // blocks not oversized in blocks_ (the next one's size grows with it)
  size_t peak_blocks_ = 0;                      // most blocks in use since the last ReleaseMemory()
  size_t past_peaks_[kReleaseWindow - 1] = {};  // peak_blocks_ at the calls before, newest first
  size_t block_used_ = 0;
  size_t block_size_ = 0;
  std::vector<const char*> rows_;
  std::vector<Datum> nested_;  // nested values live here; rows hold their index
  size_t used_bytes_ = 0;
};

}  // namespace kl::format
