// RowArena: rows of one RowType packed back to back in large blocks. Write
// buffers keep rows here (and only their keys in columns) so that emitting
// them in sorted key order reads each row from one place instead of
// touching every column of a large columnar buffer at random.
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
  void Clear();

  // Appends row `row` of `batch` (columns of type()).
  void Append(const ColumnBatch& batch, size_t row);
  // Appends the fields of stored row `index` to the columns of `out`.
  void DecodeInto(size_t index, ColumnBatch* out) const;

 private:
  char* Reserve(size_t n);

  RowType type_;
  std::vector<PhysicalKind> kinds_;
  size_t null_bytes_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_used_ = 0;
  size_t block_size_ = 0;
  std::vector<const char*> rows_;
  std::vector<Datum> nested_;  // nested values live here; rows hold their index
  size_t used_bytes_ = 0;
};

}  // namespace kl::format
