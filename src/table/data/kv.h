// Key-value records of primary-key tables. A KvBatch holds records column by
// column: the table's value columns (which include the key fields), plus the
// sequence number and row kind of each record. Keys are compared through
// the key columns of the values, so no key copy is kept in memory.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "format/column.h"
#include "format/datum.h"

namespace kl::table {

struct KvBatch {
  format::ColumnBatch values;
  std::vector<int64_t> seq;
  std::vector<format::RowKind> kinds;
  // True when the records are results of earlier merges (read from files or
  // the lookup state); false for raw input in a write buffer. Only the
  // `count` aggregate cares: raw inputs count 1 each, stored counts add up.
  bool merged = true;

  KvBatch() = default;
  explicit KvBatch(format::RowType type, bool merged_records = true)
      : values(std::move(type)), merged(merged_records) {}

  size_t size() const { return seq.size(); }
  void Append(const KvBatch& src, size_t row) {
    values.AppendRowFrom(src.values, row);
    seq.push_back(src.seq[row]);
    kinds.push_back(src.kinds[row]);
  }
  // Copies records `rows[0..n)` of `src`, column by column.
  void AppendGather(const KvBatch& src, const size_t* rows, size_t n) {
    for (size_t c = 0; c < values.num_columns(); ++c) {
      values.mutable_column(c).AppendGather(src.values.column(c), rows, n);
    }
    values.SetNumRows(values.num_rows() + n);
    for (size_t k = 0; k < n; ++k) {
      seq.push_back(src.seq[rows[k]]);
      kinds.push_back(src.kinds[rows[k]]);
    }
  }
  void AppendRow(const format::Row& row, int64_t sequence, format::RowKind kind) {
    values.AppendRow(row);
    seq.push_back(sequence);
    kinds.push_back(kind);
  }
  void Clear() {
    values.Clear();
    seq.clear();
    kinds.clear();
  }
};

// One record inside a batch.
struct KvRef {
  const KvBatch* batch = nullptr;
  size_t row = 0;

  int64_t seq() const { return batch->seq[row]; }
  format::RowKind kind() const { return batch->kinds[row]; }
  const format::Column& column(size_t i) const { return batch->values.column(i); }
};

// Orders records by key, then by the user sequence fields, then by sequence number.
class KeyComparator {
 public:
  KeyComparator() = default;
  KeyComparator(std::vector<int> key_indexes, std::vector<int> sequence_indexes, bool sequence_descending)
      : keys_(std::move(key_indexes)),
        sequence_(std::move(sequence_indexes)),
        descending_(sequence_descending) {}

  const std::vector<int>& key_indexes() const { return keys_; }
  const std::vector<int>& sequence_indexes() const { return sequence_; }

  int CompareKey(const KvRef& a, const KvRef& b) const {
    for (int k : keys_) {
      int c = a.column(static_cast<size_t>(k)).CompareAt(a.row, b.column(static_cast<size_t>(k)), b.row);
      if (c != 0) return c;
    }
    return 0;
  }

  // Merge order of two records of the same key.
  int CompareSequence(const KvRef& a, const KvRef& b) const {
    for (int s : sequence_) {
      int c = a.column(static_cast<size_t>(s)).CompareAt(a.row, b.column(static_cast<size_t>(s)), b.row);
      if (c != 0) return descending_ ? -c : c;
    }
    int64_t x = a.seq(), y = b.seq();
    return x < y ? -1 : (x > y ? 1 : 0);
  }

  int Compare(const KvRef& a, const KvRef& b) const {
    int c = CompareKey(a, b);
    return c != 0 ? c : CompareSequence(a, b);
  }

 private:
  std::vector<int> keys_;
  std::vector<int> sequence_;
  bool descending_ = false;
};

}  // namespace kl::table
