#include "format/row_arena.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/coding.h"

namespace kl::format {
namespace {

// Blocks grow from kFirstBlockSize by 4x to kBlockSize: a buffer that only ever holds a
// few rows (a dimension, an aggregate) faults in and zeroes tens of KiB, not 4 MiB.
constexpr size_t kFirstBlockSize = 64 << 10;
constexpr size_t kBlockSize = 4 << 20;

size_t RegularBlockSize(size_t regular_blocks) {
  return regular_blocks >= 4 ? kBlockSize : std::min(kBlockSize, kFirstBlockSize << (2 * regular_blocks));
}

// Blocks come from malloc without huge-page advice. A fresh 2 MiB huge page costs its
// fault far more than the TLB misses it saves the random-order read-back: on a virtual
// machine whose host reclaims freed memory, each took ~20 ms (pipeline_bench: 52 such
// faults were ~1 CPU-s of the DWD job), and the flush's read-back ran no slower without.
char* NewBlock(size_t size) {
  void* p = std::malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<char*>(p);
}
constexpr size_t kSlotBytes = 8;

inline void StoreSlot(char* slot, uint32_t offset, uint32_t length) {
  std::memcpy(slot, &offset, 4);
  std::memcpy(slot + 4, &length, 4);
}

inline void LoadSlot(const char* slot, uint32_t* offset, uint32_t* length) {
  std::memcpy(offset, slot, 4);
  std::memcpy(length, slot + 4, 4);
}

}  // namespace

void RowArena::BlockDeleter::operator()(char* p) const { std::free(p); }

RowArena::RowArena(RowType type) : type_(std::move(type)), null_bytes_((type_.size() + 7) / 8) {
  for (const auto& f : type_.fields()) kinds_.push_back(f.type.physical());
  fixed_bytes_ = null_bytes_ + kSlotBytes * kinds_.size();
  column_nulls_.assign(kinds_.size(), 0);
  var_bytes_.assign(kinds_.size(), 0);
}

void RowArena::Clear() {
  // The first block ends up last, taken first by the rows to come; oversized ones go.
  for (auto b = blocks_.rbegin(); b != blocks_.rend(); ++b) {
    if (b->size <= kBlockSize) spare_.push_back(std::move(*b));
  }
  blocks_.clear();
  regular_blocks_ = 0;
  block_used_ = 0;
  block_size_ = 0;
  rows_.clear();
  nested_.clear();
  used_bytes_ = 0;
  std::fill(column_nulls_.begin(), column_nulls_.end(), 0);
  std::fill(var_bytes_.begin(), var_bytes_.end(), 0);
}

size_t RowArena::ReservedBytes() const {
  size_t n = 0;
  for (const auto& b : blocks_) n += b.size;
  for (const auto& b : spare_) n += b.size;
  return n;
}

void RowArena::ReleaseMemory() {
  size_t keep = std::max<size_t>(1, peak_blocks_);
  for (size_t peak : past_peaks_) keep = std::max(keep, peak);
  for (size_t i = kReleaseWindow - 2; i > 0; --i) past_peaks_[i] = past_peaks_[i - 1];
  past_peaks_[0] = peak_blocks_;
  // The blocks used first are last in spare_.
  if (spare_.size() > keep) spare_.erase(spare_.begin(), spare_.end() - static_cast<std::ptrdiff_t>(keep));
  peak_blocks_ = blocks_.size();
}

char* RowArena::Reserve(size_t n) {
  if (block_used_ + n > block_size_) {
    size_t size = std::max(RegularBlockSize(regular_blocks_), n);
    if (size <= kBlockSize) ++regular_blocks_;
    if (size <= kBlockSize && !spare_.empty() && spare_.back().size >= n) {
      size = spare_.back().size;
      blocks_.push_back(std::move(spare_.back()));
      spare_.pop_back();
    } else {
      blocks_.push_back(Block{std::unique_ptr<char, BlockDeleter>(NewBlock(size)), size});
    }
    block_used_ = 0;
    block_size_ = size;
    peak_blocks_ = std::max(peak_blocks_, blocks_.size());
    if (size > kBlockSize) {
      // An oversized row gets a block of its own; the next row opens a new one.
      char* p = blocks_.back().data.get();
      block_used_ = block_size_;
      return p;
    }
  }
  char* p = blocks_.back().data.get() + block_used_;
  block_used_ += n;
  return p;
}

size_t RowArena::RowBytes(const ColumnBatch& batch, size_t row) const {
  size_t n = fixed_bytes_;
  for (size_t c = 0; c < kinds_.size(); ++c) {
    switch (kinds_[c]) {
      case PhysicalKind::kBytes: {
        const Column& col = batch.column(c);
        if (!col.IsNull(row)) n += col.GetBytes(row).size();
        break;
      }
      case PhysicalKind::kDecimal: n += 16; break;
      case PhysicalKind::kTimestamp: n += 12; break;
      default: break;
    }
  }
  return n;
}

void RowArena::Encode(const ColumnBatch& batch, size_t row, char* p) {
  std::memset(p, 0, null_bytes_);
  char* slots = p + null_bytes_;
  size_t var = fixed_bytes_;
  for (size_t c = 0; c < kinds_.size(); ++c) {
    const Column& col = batch.column(c);
    char* slot = slots + kSlotBytes * c;
    if (col.IsNull(row)) {
      p[c / 8] = static_cast<char>(p[c / 8] | (1 << (c % 8)));
      column_nulls_[c] = 1;
      continue;
    }
    switch (kinds_[c]) {
      case PhysicalKind::kInt: {
        int64_t v = col.GetInt(row);
        std::memcpy(slot, &v, 8);
        break;
      }
      case PhysicalKind::kDouble: {
        double v = col.GetDouble(row);
        std::memcpy(slot, &v, 8);
        break;
      }
      case PhysicalKind::kBytes: {
        std::string_view v = col.GetBytes(row);
        StoreSlot(slot, static_cast<uint32_t>(var), static_cast<uint32_t>(v.size()));
        CopyShortValue(p + var, v.data(), v.size());
        var += v.size();
        var_bytes_[c] += v.size();
        break;
      }
      case PhysicalKind::kDecimal: {
        Int128 v = col.GetDecimal(row);
        StoreSlot(slot, static_cast<uint32_t>(var), 16);
        std::memcpy(p + var, &v, 16);
        var += 16;
        break;
      }
      case PhysicalKind::kTimestamp: {
        Timestamp t = col.GetTimestamp(row);
        StoreSlot(slot, static_cast<uint32_t>(var), 12);
        std::memcpy(p + var, &t.millis, 8);
        std::memcpy(p + var + 8, &t.nanos, 4);
        var += 12;
        break;
      }
      case PhysicalKind::kNested: {
        uint64_t index = nested_.size();
        nested_.push_back(col.GetNested(row));
        used_bytes_ += sizeof(Datum);
        std::memcpy(slot, &index, 8);
        break;
      }
    }
  }
}

void RowArena::Append(const ColumnBatch& batch, size_t row) {
  size_t n = RowBytes(batch, row);
  char* p = Reserve(n);
  rows_.push_back(p);
  used_bytes_ += n + sizeof(char*);
  Encode(batch, row, p);
}

void RowArena::AppendRange(const ColumnBatch& batch, size_t begin, size_t end) {
  // Grown geometrically: callers append slices of a batch, and a reserve of each slice's exact
  // size would move the whole index once per slice.
  const size_t need = rows_.size() + (end - begin);
  if (need > rows_.capacity()) rows_.reserve(std::max(need, 2 * rows_.capacity()));
  for (size_t row = begin; row < end; ++row) Append(batch, row);
}

void RowArena::DecodeRows(const size_t* indexes, size_t n, ColumnBatch* out) const {
  if (n == 0) return;
  auto& cols = out->mutable_columns();
  const size_t ncols = kinds_.size();
  // Size every column once; the row loop then stores by index.
  std::vector<size_t> start(ncols), pos(ncols);
  for (size_t c = 0; c < ncols; ++c) {
    Column& col = cols[c];
    col.Flatten();  // rows are decoded as plain values
    size_t s0 = col.size_;
    start[c] = s0;
    if (column_nulls_[c] || !col.nulls_.empty()) col.nulls_.resize(s0 + n, 0);
    switch (kinds_[c]) {
      case PhysicalKind::kInt: col.ints_.resize(s0 + n); break;
      case PhysicalKind::kDouble: col.doubles_.resize(s0 + n); break;
      case PhysicalKind::kBytes: {
        col.offsets_.resize(s0 + 1 + n);
        pos[c] = col.bytes_.size();
        size_t average = rows_.empty() ? 0 : var_bytes_[c] / rows_.size() + 1;
        col.bytes_.resize(pos[c] + n * average);
        break;
      }
      case PhysicalKind::kDecimal: col.decimals_.resize(s0 + n); break;
      case PhysicalKind::kTimestamp:
        col.ints_.resize(s0 + n);
        col.nanos_.resize(s0 + n);
        break;
      case PhysicalKind::kNested: col.nested_.resize(s0 + n); break;
    }
  }
  // Rows sit at random places: fetch the lines of a row some rows ahead, and its
  // entry in rows_ (random too) further ahead still.
  constexpr size_t kAhead = 12;
  for (size_t k = 0; k < n; ++k) {
    if (k + 2 * kAhead < n) __builtin_prefetch(&rows_[indexes[k + 2 * kAhead]]);
    if (k + kAhead < n) {
      const char* next = rows_[indexes[k + kAhead]];
      for (size_t line = 0; line < fixed_bytes_ + 128; line += 64) __builtin_prefetch(next + line);
    }
    const char* p = rows_[indexes[k]];
    const char* slots = p + null_bytes_;
    for (size_t c = 0; c < ncols; ++c) {
      Column& col = cols[c];
      size_t i = start[c] + k;
      const char* slot = slots + kSlotBytes * c;
      if (p[c / 8] & (1 << (c % 8))) {
        // Null: the value slots keep their zero fill; a string is empty.
        col.nulls_[i] = 1;
        if (kinds_[c] == PhysicalKind::kBytes) col.offsets_[i + 1] = pos[c];
        continue;
      }
      switch (kinds_[c]) {
        case PhysicalKind::kInt: std::memcpy(&col.ints_[i], slot, 8); break;
        case PhysicalKind::kDouble: std::memcpy(&col.doubles_[i], slot, 8); break;
        case PhysicalKind::kBytes: {
          uint32_t offset, length;
          LoadSlot(slot, &offset, &length);
          if (pos[c] + length > col.bytes_.size()) col.bytes_.resize(std::max(2 * col.bytes_.size(), pos[c] + length));
          CopyShortValue(col.bytes_.data() + pos[c], p + offset, length);
          pos[c] += length;
          col.offsets_[i + 1] = pos[c];
          break;
        }
        case PhysicalKind::kDecimal: {
          uint32_t offset, length;
          LoadSlot(slot, &offset, &length);
          std::memcpy(&col.decimals_[i], p + offset, 16);
          break;
        }
        case PhysicalKind::kTimestamp: {
          uint32_t offset, length;
          LoadSlot(slot, &offset, &length);
          std::memcpy(&col.ints_[i], p + offset, 8);
          std::memcpy(&col.nanos_[i], p + offset + 8, 4);
          break;
        }
        case PhysicalKind::kNested: {
          uint64_t index;
          std::memcpy(&index, slot, 8);
          col.nested_[i] = nested_[index];
          break;
        }
      }
    }
  }
  for (size_t c = 0; c < ncols; ++c) {
    Column& col = cols[c];
    col.size_ += n;
    if (kinds_[c] == PhysicalKind::kBytes) col.bytes_.resize(pos[c]);
  }
  out->SetNumRows(out->num_rows() + n);
}

}  // namespace kl::format
