#include "format/row_arena.h"

#include <cstring>

namespace kl::format {
namespace {
constexpr size_t kBlockSize = 4 << 20;
}  // namespace

RowArena::RowArena(RowType type) : type_(std::move(type)), null_bytes_((type_.size() + 7) / 8) {
  for (const auto& f : type_.fields()) kinds_.push_back(f.type.physical());
}

void RowArena::Clear() {
  // Keep the first block for reuse; a cleared buffer fills again soon.
  if (blocks_.size() > 1) blocks_.resize(1);
  block_used_ = 0;
  block_size_ = blocks_.empty() ? 0 : kBlockSize;
  rows_.clear();
  nested_.clear();
  used_bytes_ = 0;
}

char* RowArena::Reserve(size_t n) {
  if (block_used_ + n > block_size_) {
    size_t size = std::max(kBlockSize, n);
    blocks_.push_back(std::unique_ptr<char[]>(new char[size]));
    block_used_ = 0;
    block_size_ = size;
    if (size > kBlockSize) {
      // An oversized row gets a block of its own; the next row opens a new one.
      char* p = blocks_.back().get();
      block_used_ = block_size_;
      return p;
    }
  }
  char* p = blocks_.back().get() + block_used_;
  block_used_ += n;
  return p;
}

void RowArena::Append(const ColumnBatch& batch, size_t row) {
  size_t n = 0;
  for (size_t c = 0; c < kinds_.size(); ++c) {
    const Column& col = batch.column(c);
    if (col.IsNull(row)) continue;
    switch (kinds_[c]) {
      case PhysicalKind::kBytes: n += 4 + col.GetBytes(row).size(); break;
      case PhysicalKind::kDecimal: n += 16; break;
      case PhysicalKind::kTimestamp: n += 12; break;
      default: n += 8;
    }
  }
  n += null_bytes_;
  char* p = Reserve(n);
  rows_.push_back(p);
  used_bytes_ += n + sizeof(char*);
  std::memset(p, 0, null_bytes_);
  char* out = p + null_bytes_;
  for (size_t c = 0; c < kinds_.size(); ++c) {
    const Column& col = batch.column(c);
    if (col.IsNull(row)) {
      p[c / 8] = static_cast<char>(p[c / 8] | (1 << (c % 8)));
      continue;
    }
    switch (kinds_[c]) {
      case PhysicalKind::kInt: {
        int64_t v = col.GetInt(row);
        std::memcpy(out, &v, 8);
        out += 8;
        break;
      }
      case PhysicalKind::kDouble: {
        double v = col.GetDouble(row);
        std::memcpy(out, &v, 8);
        out += 8;
        break;
      }
      case PhysicalKind::kBytes: {
        std::string_view v = col.GetBytes(row);
        uint32_t len = static_cast<uint32_t>(v.size());
        std::memcpy(out, &len, 4);
        std::memcpy(out + 4, v.data(), v.size());
        out += 4 + v.size();
        break;
      }
      case PhysicalKind::kDecimal: {
        Int128 v = col.GetDecimal(row);
        std::memcpy(out, &v, 16);
        out += 16;
        break;
      }
      case PhysicalKind::kTimestamp: {
        Timestamp t = col.GetTimestamp(row);
        std::memcpy(out, &t.millis, 8);
        std::memcpy(out + 8, &t.nanos, 4);
        out += 12;
        break;
      }
      case PhysicalKind::kNested: {
        uint64_t index = nested_.size();
        nested_.push_back(col.GetNested(row));
        used_bytes_ += sizeof(Datum);
        std::memcpy(out, &index, 8);
        out += 8;
        break;
      }
    }
  }
}

void RowArena::DecodeInto(size_t index, ColumnBatch* out) const {
  const char* p = rows_[index];
  const char* in = p + null_bytes_;
  auto& cols = out->mutable_columns();
  for (size_t c = 0; c < kinds_.size(); ++c) {
    Column& col = cols[c];
    if (p[c / 8] & (1 << (c % 8))) {
      col.AppendNull();
      continue;
    }
    switch (kinds_[c]) {
      case PhysicalKind::kInt: {
        int64_t v;
        std::memcpy(&v, in, 8);
        col.AppendInt(v);
        in += 8;
        break;
      }
      case PhysicalKind::kDouble: {
        double v;
        std::memcpy(&v, in, 8);
        col.AppendDouble(v);
        in += 8;
        break;
      }
      case PhysicalKind::kBytes: {
        uint32_t len;
        std::memcpy(&len, in, 4);
        col.AppendBytes(std::string_view(in + 4, len));
        in += 4 + len;
        break;
      }
      case PhysicalKind::kDecimal: {
        Int128 v;
        std::memcpy(&v, in, 16);
        col.AppendDecimal(v);
        in += 16;
        break;
      }
      case PhysicalKind::kTimestamp: {
        Timestamp t;
        std::memcpy(&t.millis, in, 8);
        std::memcpy(&t.nanos, in + 8, 4);
        col.AppendTimestamp(t);
        in += 12;
        break;
      }
      case PhysicalKind::kNested: {
        uint64_t i;
        std::memcpy(&i, in, 8);
        col.AppendNested(nested_[i]);
        in += 8;
        break;
      }
    }
  }
  out->SetNumRows(out->num_rows() + 1);
}

}  // namespace kl::format
