// The write buffer of a primary-key bucket. Each record's full row is packed
// in a RowArena; its key columns (and sequence fields), sequence number and
// kind go to a small columnar batch. A flush sorts an index of the records
// whose entries carry the first key column normalized to an unsigned 64-bit
// prefix, so most comparisons are one integer compare that touches no
// column; rows then leave the arena in that order, a chunk at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "format/row_arena.h"
#include "table/data/kv.h"

namespace kl::table {

class WriteBuffer {
 public:
  // `key_columns`: the columns of `type` the records are ordered by (key and sequence
  // fields), in `type` order; `comparator` orders rows of those columns.
  WriteBuffer(const format::RowType& type, std::vector<int> key_columns, KeyComparator comparator);

  // Row `row` of `rows` (columns of the buffer's type), with its sequence number and kind.
  void Append(const format::ColumnBatch& rows, size_t row, int64_t seq, format::RowKind kind);
  // Rows [begin, end), sequence numbers counting up from `first_seq`; `kinds` is indexed
  // by row of `rows` (all +I when null).
  void AppendRange(const format::ColumnBatch& rows, size_t begin, size_t end, int64_t first_seq,
                   const std::vector<format::RowKind>* kinds);

  size_t size() const { return keys_.size(); }
  // Bytes the buffered records take (what write-buffer-size bounds).
  size_t UsedBytes() const { return rows_.UsedBytes() + keys_.values.UsedBytes() + keys_.size() * 9; }
  // The records' key columns, sequence numbers and kinds, in arrival order: enough
  // for merge functions that pick one record of a key.
  const KvBatch& keys() const { return keys_; }

  // Record indexes in (key, sequence) order, and for each position of `order` whether
  // its key equals the previous one's.
  void Sort(std::vector<size_t>* order, std::vector<uint8_t>* same_key_as_previous) const;
  // Appends the full records `indexes[0..n)` to `out`, in that order.
  void Gather(const size_t* indexes, size_t n, KvBatch* out) const;
  // Forgets the records; the memory stays for the next ones (see ReleaseMemory).
  void Clear();
  // Gives back what Clear() kept beyond the most the records since the last call took.
  void ReleaseMemory() { rows_.ReleaseMemory(); }

 private:
  uint64_t Prefix(size_t row) const;

  std::vector<int> key_columns_;
  KeyComparator cmp_;
  KvBatch keys_;
  format::RowArena rows_;
  int prefix_column_ = -1;      // the first key column in keys_, when it normalizes to a prefix
  bool prefix_is_key_ = false;  // the prefix alone decides key order (one integer key column)
};

}  // namespace kl::table
